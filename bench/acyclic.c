/* acyclic.c — what automatic collection costs a program that never makes a
 * cycle: a GCBench-shaped run (Boehm and Ellis: binary trees of depth 4..16
 * built top-down and bottom-up and dropped, beside a long-lived tree and a
 * long-lived array), with automatic collection off, on under Python's rules
 * (the default), and on under RC_POLICY_ADAPTIVE.  The cost is the ratio
 * on/off.  CPython 3.11 runs this shape about 2.0x slower with its gc on.
 *
 *   bench/acyclic [--quick]      median of 5 runs, alternating the three
 */
#include "common.h"

#include <recycle.h>

typedef struct tnode {
    void *l, *r;
} tnode;

static int tnode_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    tnode *t = obj;
    int r;
    if (t->l && (r = visit(&t->l, arg))) return r;
    if (t->r && (r = visit(&t->r, arg))) return r;
    return 0;
}
static const rc_type tnode_type = {"tnode", sizeof(tnode), tnode_traverse, NULL, NULL, 0};
static const rc_type array_type = {"array", 0, NULL, NULL, NULL, 0};

static rc_heap *h;

static tnode *leaf(void)
{
    tnode *t = rc_new(h, &tnode_type);
    BENCH_VERIFY(t != NULL);
    return t;
}
static void populate(int depth, tnode *t) /* top-down */
{
    if (depth-- <= 0) return;
    t->l = leaf();
    t->r = leaf();
    populate(depth, t->l);
    populate(depth, t->r);
}
static tnode *make_tree(int depth) /* bottom-up */
{
    tnode *t = leaf();
    if (depth > 0) {
        t->l = make_tree(depth - 1);
        t->r = make_tree(depth - 1);
    }
    return t;
}
static long count(const tnode *t) { return t ? 1 + count(t->l) + count(t->r) : 0; }
static long tree_size(int d) { return (1L << (d + 1)) - 1; }

static double run(int policy, int enabled, int max_depth, long *checksum)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.policy = policy;
    cfg.gc_enabled = enabled;
    h = rc_heap_new(&cfg);
    BENCH_VERIFY(h != NULL);
    double t0 = bench_now();
    long sum = 0;
    tnode *longlived = leaf();
    populate(max_depth, longlived);
    double *array = rc_new_var(h, &array_type, 500000 * sizeof(double));
    BENCH_VERIFY(array != NULL);
    for (int i = 0; i < 250000; i++) array[i] = 1.0 / (i + 1);
    for (int d = 4; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(max_depth) / tree_size(d);
        for (long i = 0; i < iters; i++) {
            tnode *t = leaf();
            populate(d, t);
            sum += count(t);
            rc_decref(t);
            t = make_tree(d);
            sum += count(t);
            rc_decref(t);
        }
    }
    sum += count(longlived);
    BENCH_VERIFY(array[1000] == 1.0 / 1001);
    double t = bench_now() - t0;
    rc_decref(longlived);
    rc_decref(array);
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    BENCH_VERIFY(ms.bytes_in_use == 0); /* every tree was freed by counting */
    rc_heap_free(h);
    *checksum = sum;
    return t;
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    int depth = quick ? 10 : 16;
    enum { RUNS = 5 };
    double off[RUNS], py[RUNS], ad[RUNS];
    long expect = 0, sum;
    for (int d = 4; d <= depth; d += 2)
        expect += 2 * (2 * tree_size(depth) / tree_size(d)) * tree_size(d);
    expect += tree_size(depth);
    for (int r = 0; r < RUNS; r++) {
        off[r] = run(RC_POLICY_PYTHON, 0, depth, &sum);
        BENCH_VERIFY(sum == expect);
        py[r] = run(RC_POLICY_PYTHON, 1, depth, &sum);
        BENCH_VERIFY(sum == expect);
        ad[r] = run(RC_POLICY_ADAPTIVE, 1, depth, &sum);
        BENCH_VERIFY(sum == expect);
    }
    double mo = bench_median(off, RUNS), mp = bench_median(py, RUNS), ma = bench_median(ad, RUNS);
    printf("acyclic: GCBench shape, depth %d, %ld nodes checked (median of %d)\n", depth, expect,
           RUNS);
    printf("  automatic collection off     %8.1f ms\n", mo * 1e3);
    printf("  on, Python's rules (default) %8.1f ms  %.2fx of off\n", mp * 1e3, mp / mo);
    printf("  on, RC_POLICY_ADAPTIVE       %8.1f ms  %.2fx of off\n", ma * 1e3, ma / mo);
    return 0;
}
