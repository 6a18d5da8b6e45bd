/* sites-bench.c — what allocation sites cost rc_new and the free path:
 * off, file:line:function, and native backtraces of depth 8 (every
 * allocation, and sampled 1 in 64).
 *
 *   cc -O2 -Iinclude tools/sites-bench.c build/release/librecycle.a -lpthread \
 *      -o /tmp/sites-bench && /tmp/sites-bench [--quick] [--only=off]
 *
 * Two workloads, each reported in ns per object (rc_new + rc_decref):
 *   churn   allocate and free at once: the side table stays small;
 *   hold    allocate 1M objects, then free them all: the table holds 1M
 *           entries (cache misses, growth).
 * Median of 5 runs, configurations interleaved; it checks the sites it
 * claims to record.
 */
#define _POSIX_C_SOURCE 200809L
#include <recycle.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const rc_type small_type = {"small", 32, NULL, NULL, NULL, 0};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct conf {
    const char *name;
    int         sites, depth;
    unsigned    sample;
} conf;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "sites-bench: did not do its work: %s\n", what);
        exit(2);
    }
}

static rc_heap *heap_for(const conf *c)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.sites = c->sites;
    cfg.site_depth = c->depth;
    cfg.site_sample = c->sample;
    rc_heap *h = rc_heap_new(&cfg);
    check(h != NULL, "rc_heap_new");
    return h;
}

static double churn(const conf *c, long n)
{
    rc_heap *h = heap_for(c);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        void *o = rc_new(h, &small_type);
        rc_decref(o);
    }
    double t = now() - t0;
    void *o = rc_new(h, &small_type);
    rc_site s;
    check((rc_site_of(o, &s) == 0) == (c->sites != 0), "a site per object");
    check(!c->sites || (c->depth == 0) == (s.nframes == 0), "backtraces");
    rc_decref(o);
    rc_heap_free(h);
    return t * 1e9 / (double)n;
}

static double hold(const conf *c, long n)
{
    rc_heap *h = heap_for(c);
    void **v = malloc((size_t)n * sizeof *v);
    check(v != NULL, "malloc");
    double t0 = now();
    for (long i = 0; i < n; i++) v[i] = rc_new(h, &small_type);
    for (long i = 0; i < n; i++) rc_decref(v[i]);
    double t = now() - t0;
    free(v);
    rc_heap_free(h);
    return t * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *only = NULL; /* --only=off: one configuration */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
    }
    long n_churn = quick ? 200000 : 4000000, n_hold = quick ? 100000 : 1000000;
    const conf confs[] = {
        {"off", 0, 0, 0},
        {"file:line", 1, 0, 0},
        {"backtrace 8", 1, 8, 1},
        {"backtrace 8, 1/64", 1, 8, 64},
    };
    enum { NC = sizeof confs / sizeof confs[0], RUNS = 5 };
    double r_churn[NC][RUNS], r_hold[NC][RUNS];
    for (int run = 0; run < RUNS; run++) {
        for (int k = 0; k < NC; k++) {
            if (only && strcmp(only, confs[k].name) != 0) continue;
            long scale = confs[k].depth && confs[k].sample == 1 ? 20 : 1; /* slow: fewer */
            r_churn[k][run] = churn(&confs[k], n_churn / scale);
            r_hold[k][run] = hold(&confs[k], n_hold / scale);
        }
    }
    printf("%-20s %14s %14s   (ns per object: rc_new + rc_decref, median of %d)\n", "sites",
           "churn", "hold 1M", RUNS);
    double base_c = 0, base_h = 0;
    for (int k = 0; k < NC; k++) {
        if (only && strcmp(only, confs[k].name) != 0) continue;
        qsort(r_churn[k], RUNS, sizeof(double), cmp);
        qsort(r_hold[k], RUNS, sizeof(double), cmp);
        double c = r_churn[k][RUNS / 2], hh = r_hold[k][RUNS / 2];
        if (k == 0) {
            base_c = c;
            base_h = hh;
        }
        printf("%-20s %8.1f %5.2fx %8.1f %5.2fx\n", confs[k].name, c, c / base_c, hh,
               hh / base_h);
    }
    return 0;
}
