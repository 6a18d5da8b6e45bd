/* common.h — what every benchmark program shares: a clock, medians, the
 * command line, the process's resident memory, the edge hash that gives every
 * system the same graph, JSON output, and a check that stops the run when a
 * benchmark did not do the work it claims.
 *
 * Every program measures one system (chosen when it is compiled: -DSYS_*)
 * in one process per run; bench/run alternates the systems run by run and
 * bench/report.py pairs the runs.  A program prints one JSON object per line
 * on stdout, each with "case", "sys" and "run"; anything else goes to stderr.
 */
#ifndef RC_BENCH_COMMON_H
#define RC_BENCH_COMMON_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline uint64_t bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and returns its median. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A benchmark whose result is not checked is not a benchmark. */
#define BENCH_VERIFY(cond)                                                   \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: benchmark did not do its work: %s\n",    \
                    __FILE__, __LINE__, #cond);                              \
            exit(2);                                                         \
        }                                                                    \
    } while (0)

/* ------------------------------------------------------------------ */
/* Command line: --quick, --run=N, --case=NAME, --KEY=VALUE            */
/* ------------------------------------------------------------------ */

static int    bench_argc;
static char **bench_argv;

static inline void bench_init(int argc, char **argv)
{
    bench_argc = argc;
    bench_argv = argv;
}

/* The value of --key=value, or NULL; a bare --key gives "". */
static inline const char *bench_opt(const char *key)
{
    size_t k = strlen(key);
    for (int i = 1; i < bench_argc; i++) {
        const char *a = bench_argv[i];
        if (a[0] != '-' || a[1] != '-' || strncmp(a + 2, key, k) != 0) continue;
        if (a[2 + k] == '=') return a + 3 + k;
        if (a[2 + k] == '\0') return "";
    }
    return NULL;
}

static inline long bench_opt_long(const char *key, long dflt)
{
    const char *v = bench_opt(key);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* --quick (CI's smoke run under the debug build) shrinks every workload. */
static inline int bench_quick(void) { return bench_opt("quick") != NULL; }
static inline int bench_run_no(void) { return (int)bench_opt_long("run", 1); }
static inline const char *bench_case(const char *dflt)
{
    const char *c = bench_opt("case");
    return c && *c ? c : dflt;
}

/* ------------------------------------------------------------------ */
/* Resident memory, from /proc/self/status, in bytes                   */
/* ------------------------------------------------------------------ */

static inline long bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t k = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, k) == 0 && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}
static inline long bench_rss(void) { return bench_status_kib("VmRSS") * 1024; }
static inline long bench_peak_rss(void) { return bench_status_kib("VmHWM") * 1024; }

/* Resets VmHWM to the current RSS (Linux >= 4.0), so that the peak of one
 * phase can be read apart from what came before. */
static inline void bench_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* ------------------------------------------------------------------ */
/* The same pseudo-random graph in every system (and in bench/py/)     */
/* ------------------------------------------------------------------ */

/* A 32-bit integer hash (lowbias32): edges are hash(2i+k) % n, which the
 * Python side computes identically. */
static inline uint32_t bench_hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
/* The k-th random edge (k = 1, 2) of node i in a graph of n nodes. */
static inline size_t bench_edge(size_t i, int k, size_t n)
{
    return bench_hash((uint32_t)(2 * i + (size_t)k)) % n;
}

/* xorshift64: a fast stream for access patterns. */
static inline uint64_t bench_xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ------------------------------------------------------------------ */
/* JSON lines                                                          */
/* ------------------------------------------------------------------ */

#ifndef BENCH_SYS
#error "compile with -DBENCH_SYS='\"name\"' (bench/run does)"
#endif

/* The system's name in the results: BENCH_SYS, or --sys=NAME for a variant
 * (e.g. recycle/off, recycle with automatic collection off). */
static inline const char *bench_sys(void)
{
    const char *s = bench_opt("sys");
    return s && *s ? s : BENCH_SYS;
}

/* Prints {"case":CASE,"sys":SYS,"run":N, then the rest (a printf format of
 * ,"key":value pairs), then the user and kernel CPU time the process spent
 * since the previous line (or its start), "user_ns" and "sys_ns", and the
 * page faults it took in that time, "minflt" (kernel time alone depends on
 * the machine: on a virtual machine, first touches of memory the host took
 * back cost several times more than the same faults straight after), then }. */
static inline void bench_emit(const char *kase, const char *fmt, ...)
{
    static int64_t user0, sys0, flt0;
    struct rusage ru;
    int64_t user = 0, sys = 0, flt = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        user = (int64_t)ru.ru_utime.tv_sec * 1000000000 + (int64_t)ru.ru_utime.tv_usec * 1000;
        sys = (int64_t)ru.ru_stime.tv_sec * 1000000000 + (int64_t)ru.ru_stime.tv_usec * 1000;
        flt = (int64_t)ru.ru_minflt;
    }
    printf("{\"case\":\"%s\",\"sys\":\"%s\",\"run\":%d", kase, bench_sys(), bench_run_no());
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(",\"user_ns\":%lld,\"sys_ns\":%lld,\"minflt\":%lld}\n",
           (long long)(user - user0), (long long)(sys - sys0), (long long)(flt - flt0));
    user0 = user;
    sys0 = sys;
    flt0 = flt;
    fflush(stdout);
}
/* -DSYS_MALLOC: ALLOC and FREE are malloc/free of the allocator named by
 * -DALLOC_MIMALLOC (mi_malloc/mi_free), -DALLOC_JEMALLOC (mallocx/dallocx)
 * or neither (glibc), one executable per allocator; ALLOC_ZEROED is its
 * calloc (what rc_new does: the memory comes zeroed).  -DALLOC_PAD=16 makes
 * every mimalloc request 16 bytes larger: recycle's memory footprint (its
 * header) with mimalloc's code, which splits recycle's distance to mimalloc
 * into what the header's bytes cost and what recycle's code costs. */
#if defined(SYS_MALLOC)
#ifndef ALLOC_PAD
#define ALLOC_PAD 0
#endif
#if defined(ALLOC_MIMALLOC)
#include <mimalloc.h>
#define ALLOC(sz) mi_malloc((sz) + ALLOC_PAD)
#define ALLOC_ZEROED(sz) mi_zalloc((sz) + ALLOC_PAD)
#define FREE(p)   mi_free(p)
#elif defined(ALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define ALLOC(sz) mallocx((sz), 0)
#define ALLOC_ZEROED(sz) mallocx((sz), MALLOCX_ZERO)
#define FREE(p)   dallocx((p), 0)
#else
#define ALLOC(sz) malloc(sz)
#define ALLOC_ZEROED(sz) calloc(1, (sz))
#define FREE(p)   free(p)
#endif
#endif

#endif
