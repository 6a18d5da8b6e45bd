/* dominators.c — what retained sizes cost: rc_top_retainers (the whole
 * dominator tree of the heap, src/tools/retained.c) on a heap of N objects.
 *
 *   cc -O2 -Iinclude bench/dominators.c build/release/librecycle.a -lpthread -o /tmp/dom
 *   /tmp/dom [--n=1000000] [--runs=3]
 *
 * The heap: a tree (each object hangs off one of the 1,000 made before it,
 * as programs build structures), plus for half the objects a reference to
 * a random earlier object (sharing across the heap) and for 1 in 16 one to
 * a later object (cycles); 1 in 32 is an atomic 48-byte blob.  One object,
 * the tree's root, is held by the program.  About 1.6 references per
 * object.
 *
 * Prints one JSON line per run and one summary: wall and user seconds of
 * rc_top_retainers(h, out, 10), and the growth of the peak resident memory
 * it caused, per object.  The machine is shared: quote the medians, and
 * user time before wall time.  Checks what it measured: the root retains
 * every object.
 */
#define _POSIX_C_SOURCE 200809L
#include <recycle.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct vec {
    void *s[4]; /* first child, next sibling, shared, later */
} vec;
static int vec_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    vec *v = obj;
    for (int i = 0; i < 4; i++) {
        int r = visit(&v->s[i], arg);
        if (r) return r;
    }
    return 0;
}
static const rc_type vec_type = {"vec", sizeof(vec), vec_traverse, NULL, NULL, 0, NULL};
static const rc_type blob_type = {"blob", 48, NULL, NULL, NULL, 0, NULL};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double user_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--n=", 4) == 0) n = strtoull(argv[i] + 4, NULL, 10);
        else if (strncmp(argv[i], "--runs=", 7) == 0) runs = atoi(argv[i] + 7);
        else if (strcmp(argv[i], "--quick") == 0) n = 20000, runs = 2;
        else {
            fprintf(stderr, "dominators: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (n < 2 || runs < 1 || runs > 99) return 2;
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    void **o = malloc(n * sizeof *o);
    if (!h || !o) return 1;
    size_t refs = 0;
    for (size_t i = 0; i < n; i++) {
        bool blob = i > 0 && next() % 32 == 0;
        o[i] = blob ? rc_new(h, &blob_type) : rc_new(h, &vec_type);
        if (!o[i]) return 1;
        if (i == 0) continue;
        size_t parent = i - 1 - next() % (i < 1000 ? i : 1000);
        while (rc_type_of(o[parent]) == &blob_type || (blob && ((vec *)o[parent])->s[2]))
            parent = parent ? parent - 1 : i - 1; /* o[0] is a vec; some vec has room */
        vec *p = o[parent];
        if (blob) { /* a blob hangs off slot 2 */
            rc_setref(&p->s[2], o[i]);
            refs++;
            rc_decref(o[i]);
            continue;
        }
        /* parent's children: a list through first child / next sibling */
        if (p->s[0]) {
            rc_setref(&((vec *)o[i])->s[1], p->s[0]);
            refs++;
        }
        rc_setref(&p->s[0], o[i]);
        refs++;
        rc_decref(o[i]); /* the tree holds it */
    }
    /* Extra references: slot 2 to a random earlier object, slot 3 to a later one. */
    for (size_t i = 1; i < n; i++) {
        if (rc_type_of(o[i]) == &blob_type) continue;
        vec *v = o[i];
        if (next() % 2 == 0 && !v->s[2]) {
            rc_setref(&v->s[2], o[next() % i]);
            refs++;
        }
        if (next() % 16 == 0) {
            rc_setref(&v->s[3], o[i + (next() % (n - i))]);
            refs++;
        }
    }
    rc_retainer top[10];
    double wall[99], user[99];
    long rss_before = maxrss_kib();
    size_t objects = 0;
    for (int r = 0; r < runs; r++) {
        double w0 = now(), u0 = user_secs();
        long k = rc_top_retainers(h, top, 10);
        wall[r] = now() - w0;
        user[r] = user_secs() - u0;
        if (k < 1 || top[0].obj != o[0]) {
            fprintf(stderr, "dominators: the root is not the top retainer\n");
            return 1;
        }
        objects = top[0].retained.objects;
        printf("{\"case\":\"dominators\",\"n\":%zu,\"objects\":%zu,\"run\":%d,\"wall_s\":%.3f,"
               "\"user_s\":%.3f}\n",
               n, objects, r + 1, wall[r], user[r]);
    }
    long rss_after = maxrss_kib();
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    qsort(wall, (size_t)runs, sizeof *wall, cmp_double);
    qsort(user, (size_t)runs, sizeof *user, cmp_double);
    printf("{\"case\":\"dominators\",\"n\":%zu,\"objects\":%zu,\"references\":%zu,\"runs\":%d,"
           "\"median_wall_s\":%.3f,\"median_user_s\":%.3f,\"peak_rss_growth_bytes_per_object\":%.1f}\n",
           n, objects, refs, runs, wall[runs / 2], user[runs / 2],
           (double)(rss_after - rss_before) * 1024.0 / (double)objects);
    rc_decref(o[0]);
    free(o);
    rc_heap_free(h);
    return 0;
}
