/* alloc.c — workload 5: the cost of one allocation and one free, with a
 * working set of live objects, in recycle (-DSYS_RECYCLE: rc_new, and the
 * free that follows the count reaching zero) and malloc/free (-DSYS_MALLOC
 * with -DALLOC_GLIBC, -DALLOC_MIMALLOC: mi_malloc/mi_free, -DALLOC_JEMALLOC:
 * mallocx/dallocx).
 *
 * For each object size S (16, 64, 256 bytes, what the program asks for)
 * and working set W (10,000 and 1,000,000 live objects): fill W slots, then
 * OPS times free the object in a pseudo-random slot and allocate a new one
 * there, writing its first word.  Reported: ns per free+allocate pair.
 * recycle objects are atomic (untracked) by default; --tracked makes them
 * containers (tracked, automatic collection on, Python's rules), which adds
 * the tracked-array slot and the young collections they trigger.  rc_new
 * zeroes the object; --calloc makes the malloc versions zero too (calloc,
 * mi_zalloc, mallocx with MALLOCX_ZERO), for the like-for-like comparison.
 * Also the mixed churn (alloc_mixed_10k): 10,000 live objects of random
 * sizes 16-256 B, each op dropping a random one and allocating its
 * replacement at a new random size — issue 13's container churn with
 * --tracked, the same churn with atomic objects without (--mixed-only runs
 * it alone, for profiles; --size=S and --live=W run one fixed size and
 * working set alone).
 * Checked: every freed object carries the id written when it was allocated
 * (their sum is compared), and recycle's bytes in use return to zero.
 */
#include "common.h"

#if defined(SYS_RECYCLE)
#include <recycle.h>
#elif defined(SYS_MALLOC)
/* ALLOC and FREE: common.h */
#else
#error "compile with -DSYS_RECYCLE or -DSYS_MALLOC"
#endif

static const size_t SIZES[] = {16, 64, 256};
enum { NSIZES = sizeof SIZES / sizeof SIZES[0] };
enum { MIXED = NSIZES }; /* size index: a random size, 16..256 B, per object */

/* The size of the next object for size index k. */
static inline size_t next_size(int k, uint64_t *rng)
{
    return k == MIXED ? 16 + (size_t)(bench_xs(rng) % 241) : SIZES[k];
}

#if defined(SYS_RECYCLE)
static rc_heap *h;
static rc_type  types[NSIZES + 1]; /* types[MIXED]: size 0, rc_new_var */
static int traverse_none(void *obj, rc_visit_fn visit, void *arg)
{
    (void)obj, (void)visit, (void)arg;
    return 0;
}
static void sys_init(int tracked)
{
    h = rc_heap_new(NULL);
    BENCH_VERIFY(h != NULL);
    for (int k = 0; k <= NSIZES; k++) {
        types[k].name = "obj";
        types[k].size = k == MIXED ? 0 : SIZES[k];
        types[k].traverse = tracked ? traverse_none : NULL;
    }
}
static inline uint64_t *obj_new(int k, size_t size)
{
    uint64_t *p = rc_new_var(h, &types[k], size);
    BENCH_VERIFY(p != NULL);
    return p;
}
static inline void obj_free(uint64_t *p) { rc_decref(p); }
static size_t in_use(void)
{
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    return ms.bytes_in_use;
}
static void sys_done(void)
{
    BENCH_VERIFY(in_use() == 0);
    rc_heap_free(h);
}
#else
static int zeroed;
static void sys_init(int tracked) { zeroed = bench_opt("calloc") != NULL; (void)tracked; }
static inline uint64_t *obj_new(int k, size_t size)
{
    (void)k;
    uint64_t *p = zeroed ? ALLOC_ZEROED(size) : ALLOC(size);
    BENCH_VERIFY(p != NULL);
    return p;
}
static inline void obj_free(uint64_t *p) { FREE(p); }
static size_t in_use(void) { return 0; }
static void sys_done(void) {}
#endif

/* The slots of the working set, kept from case to case (the largest
 * working set's): an array of 1M slots allocated afresh by each 1M case was
 * 8 MB of the harness's own first touches, 2,048 page faults, in every
 * system's kernel time for that case. */
static uint64_t **slot;
static size_t nslots;

/* One (size, working set) pair: ns per free+allocate. */
static double churn(int k, size_t w, long ops)
{
    if (w > nslots) {
        free(slot);
        slot = malloc(w * sizeof *slot);
        BENCH_VERIFY(slot != NULL);
        nslots = w;
    }
    uint64_t id = 0, sum_in = 0, sum_out = 0, rng = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < w; i++) {
        slot[i] = obj_new(k, next_size(k, &rng));
        slot[i][0] = ++id;
        sum_in += id;
    }
    double t0 = bench_now();
    for (long n = 0; n < ops; n++) {
        size_t i = (size_t)(bench_xs(&rng) % w);
        uint64_t *p = slot[i];
        sum_out += p[0];
        obj_free(p);
        p = obj_new(k, next_size(k, &rng));
        p[0] = ++id;
        sum_in += id;
        slot[i] = p;
    }
    double t = bench_now() - t0;
    for (size_t i = 0; i < w; i++) {
        sum_out += slot[i][0];
        obj_free(slot[i]);
    }
    BENCH_VERIFY(sum_in == sum_out && id == w + (uint64_t)ops);
    BENCH_VERIFY(in_use() == 0);
    return t * 1e9 / (double)ops;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    int quick = bench_quick();
    int tracked = bench_opt("tracked") != NULL;
    long ops = bench_opt_long("ops", quick ? 20000 : 1000000);
    const size_t sets[2] = {10000, quick ? 100000 : 1000000};
    const char *set_names[2] = {"10k", quick ? "100k" : "1M"};
    sys_init(tracked);
    int fixed = bench_opt("mixed-only") == NULL; /* --mixed-only: for profiles */
    /* --size=S: only the fixed size S, --live=W: only working set W (for
     * profiles too: instructions per op are the difference of two --ops). */
    long only_size = bench_opt_long("size", 0), only_live = bench_opt_long("live", 0);
    for (int s = 0; s < 2 && fixed; s++)
        for (int k = 0; k < NSIZES; k++) {
            if ((only_size && (size_t)only_size != SIZES[k]) ||
                (only_live && (size_t)only_live != sets[s]))
                continue;
            double ns = churn(k, sets[s], ops);
            char name[64];
            snprintf(name, sizeof name, "alloc_%zu_%s", SIZES[k], set_names[s]);
            bench_emit(name, ",\"ns\":%.2f,\"ops\":%ld,\"size\":%zu,\"live\":%zu", ns, ops,
                       SIZES[k], sets[s]);
        }
    if (only_size || only_live) {
        free(slot);
        sys_done();
        return 0;
    }
    double ns = churn(MIXED, sets[0], ops);
    bench_emit("alloc_mixed_10k", ",\"ns\":%.2f,\"ops\":%ld,\"size\":0,\"live\":%zu", ns,
               ops, sets[0]);
    free(slot);
    sys_done();
    return 0;
}
