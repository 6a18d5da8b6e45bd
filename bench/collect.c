/* collect.c — one full collection of a large live heap, against the floor
 * any collector of that heap stands on: a bare depth-first marking pass over
 * the same graph of malloc'd nodes.  Then the same heap as cyclic garbage,
 * reclaimed.  Each node holds 3 references: the next node (so everything is
 * reachable from the first) and two random ones.
 *
 *   bench/collect [N] [--quick]      median of 5 runs
 */
#include "common.h"

#include <recycle.h>

typedef struct node {
    void *s[3];
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (int i = 0; i < 3; i++) {
        if (n->s[i]) {
            int r = visit(&n->s[i], arg);
            if (r) return r;
        }
    }
    return 0;
}
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, 0};

static unsigned long long rng = 88172645463325252ull;
static size_t rnd(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}

/* The floor: malloc'd nodes with a mark bit, an explicit stack. */
typedef struct pnode {
    struct pnode *s[3];
    int           mark;
} pnode;

static size_t dfs(pnode *root, pnode **stack)
{
    size_t sp = 0, marked = 0;
    stack[sp++] = root;
    root->mark = 1;
    while (sp) {
        pnode *p = stack[--sp];
        marked++;
        for (int i = 0; i < 3; i++) {
            pnode *c = p->s[i];
            if (c && !c->mark) {
                c->mark = 1;
                stack[sp++] = c;
            }
        }
    }
    return marked;
}

int main(int argc, char **argv)
{
    int quick = bench_quick(argc, argv);
    size_t n = quick ? 20000 : 1000000;
    if (argc > 1 && argv[1][0] != '-') n = (size_t)strtoull(argv[1], NULL, 10);
    enum { RUNS = 5 };

    /* recycle */
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    node **v = malloc(n * sizeof *v);
    BENCH_VERIFY(h && v && n > 1);
    for (size_t i = 0; i < n; i++) BENCH_VERIFY((v[i] = rc_new(h, &node_type)) != NULL);
    for (size_t i = 0; i < n; i++) {
        rc_setref(&v[i]->s[0], v[(i + 1) % n]);
        rc_setref(&v[i]->s[1], v[rnd(n)]);
        rc_setref(&v[i]->s[2], v[rnd(n)]);
    }
    node *root = v[0];
    for (size_t i = 1; i < n; i++) rc_decref(v[i]); /* only the graph holds them */
    double live[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now();
        long found = rc_gc_collect(h, 2);
        live[r] = bench_now() - t0;
        BENCH_VERIFY(found == 0);
    }
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    BENCH_VERIFY(st[2].tracked == n);

    /* the floor, same shape and the same edges */
    pnode **stack = malloc(n * sizeof *stack);
    pnode **pp = malloc(n * sizeof *pp);
    BENCH_VERIFY(stack && pp);
    for (size_t i = 0; i < n; i++) BENCH_VERIFY((pp[i] = calloc(1, sizeof(pnode))) != NULL);
    rng = 88172645463325252ull; /* replay: the same edges as recycle's heap */
    for (size_t i = 0; i < n; i++) {
        pp[i]->s[0] = pp[(i + 1) % n];
        pp[i]->s[1] = pp[rnd(n)];
        pp[i]->s[2] = pp[rnd(n)];
    }
    double floor_t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        for (size_t i = 0; i < n; i++) pp[i]->mark = 0;
        double t0 = bench_now();
        size_t marked = dfs(pp[0], stack);
        floor_t[r] = bench_now() - t0;
        BENCH_VERIFY(marked == n);
    }

    /* the same recycle heap turned into cyclic garbage */
    rc_memory_stats before, after;
    rc_heap_memory_stats(h, &before);
    rc_decref(root);
    double t0 = bench_now();
    long found = rc_gc_collect(h, 2);
    double garbage_t = bench_now() - t0;
    rc_heap_memory_stats(h, &after);
    BENCH_VERIFY(found == (long)n);
    BENCH_VERIFY(after.bytes_in_use < before.bytes_in_use);

    double ml = bench_median(live, RUNS), mf = bench_median(floor_t, RUNS);
    printf("collect: %zu live containers, 3 references each (median of %d)\n", n, RUNS);
    printf("  recycle full collection   %8.1f ms  %6.1f ns/object  (min %.1f, max %.1f ms)\n",
           ml * 1e3, ml * 1e9 / (double)n, live[0] * 1e3, live[RUNS - 1] * 1e3);
    printf("  bare DFS floor            %8.1f ms  %6.1f ns/object\n", mf * 1e3,
           mf * 1e9 / (double)n);
    printf("  ratio recycle/floor       %8.2fx\n", ml / mf);
    printf("  reclaiming it as garbage  %8.1f ms  %6.1f ns/object (one run)\n",
           garbage_t * 1e3, garbage_t * 1e9 / (double)n);
    printf("  bytes in live blocks: %zu before, %zu after\n", before.bytes_in_use,
           after.bytes_in_use);

    for (size_t i = 0; i < n; i++) free(pp[i]);
    free(pp);
    free(stack);
    free(v);
    rc_heap_free(h);
    return 0;
}
