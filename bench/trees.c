/* trees.c — workloads 4 and 8: allocation-heavy programs that make no
 * cycles at all, in recycle (-DSYS_RECYCLE), the Boehm GC (-DSYS_BOEHM) and
 * malloc/free (-DSYS_MALLOC with -DALLOC_GLIBC, -DALLOC_MIMALLOC through
 * mi_malloc/mi_free, or -DALLOC_JEMALLOC through mallocx/dallocx).
 *
 *   --case=gcbench   Boehm and Ellis's GCBench: a stretch tree of depth 18,
 *                    a long-lived tree of depth 16 and an array of 500,000
 *                    doubles, then binary trees of depth 4, 6, .. 16 built
 *                    top-down (Populate) and bottom-up (MakeTree) and dropped,
 *                    2 * TreeSize(18) / TreeSize(d) of each.  Nodes: left,
 *                    right and two ints.
 *   --case=bintrees  The Benchmarks Game's binary-trees (--depth=N, default
 *                    18): a stretch tree, a long-lived tree, then 2^(N-d+4)
 *                    trees of each depth d = 4, 6, .. N, each checked by
 *                    counting its nodes.  Nodes: left, right.
 *   --label=NAME     the case's name in the JSON results (bench/run runs
 *                    binary-trees at two depths: bintrees18, bintrees).
 *
 * recycle: --gc=on (Python's rules, the default), --gc=off (automatic
 * collection disabled) or --gc=adaptive (RC_POLICY_ADAPTIVE); the ratio
 * on/off is what the collector costs a program without cycles (workload 8).
 * Trees are freed by counting (recycle), by the collector (Boehm), or by a
 * recursive free (malloc).  Checked: node counts, checksums, and that the
 * memory of every dropped tree came back (bytes in use, or allocations
 * minus frees, after each depth).
 */
#include "common.h"

#if defined(SYS_RECYCLE)
#include <recycle.h>
#elif defined(SYS_BOEHM)
#include <gc.h>
#elif defined(SYS_MALLOC)
/* ALLOC and FREE: common.h */
#else
#error "compile with -DSYS_RECYCLE, -DSYS_BOEHM or -DSYS_MALLOC"
#endif

typedef struct Node {
    struct Node *left, *right;
    int          i, j; /* GCBench's payload; binary-trees leaves them 0 */
} Node;

static long nodes_made; /* nodes allocated */

/* ------------------------------------------------------------------ */
/* The three memory managers behind new_node / drop_tree / the array   */
/* ------------------------------------------------------------------ */
#if defined(SYS_RECYCLE)
static rc_heap *h;
static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Node *n = obj;
    int r;
    if (n->left && (r = visit((void **)&n->left, arg))) return r;
    if (n->right && (r = visit((void **)&n->right, arg))) return r;
    return 0;
}
static const rc_type node_type = {"Node", sizeof(Node), node_traverse, NULL, NULL, 0};
static const rc_type array_type = {"array", 0, NULL, NULL, NULL, 0};

/* A new node holding l and r (their references move into it). */
static inline Node *new_node(Node *l, Node *r)
{
    Node *n = rc_new(h, &node_type);
    BENCH_VERIFY(n != NULL);
    n->left = l;
    n->right = r;
    nodes_made++;
    return n;
}
static inline void drop_tree(Node *t) { rc_decref(t); }
static double *new_array(size_t n)
{
    double *a = rc_new_var(h, &array_type, n * sizeof(double));
    BENCH_VERIFY(a != NULL);
    return a;
}
static void drop_array(double *a) { rc_decref(a); }
static size_t in_use(void)
{
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    return ms.bytes_in_use;
}
static void sys_init(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    const char *gc = bench_opt("gc");
    if (gc && strcmp(gc, "off") == 0) cfg.gc_enabled = 0;
    else if (gc && strcmp(gc, "adaptive") == 0) cfg.policy = RC_POLICY_ADAPTIVE;
    else BENCH_VERIFY(!gc || strcmp(gc, "on") == 0);
    h = rc_heap_new(&cfg);
    BENCH_VERIFY(h != NULL);
}
/* The collections that ran, as JSON fields. */
static void sys_stats(char *buf, size_t n)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    snprintf(buf, n, ",\"collections\":%llu,\"collected\":%llu,\"gc_ns\":%llu",
             (unsigned long long)(st[0].collections + st[1].collections + st[2].collections),
             (unsigned long long)(st[0].collected + st[1].collected + st[2].collected),
             (unsigned long long)(st[0].pause_ns_total + st[1].pause_ns_total +
                                  st[2].pause_ns_total));
}
static void sys_done(void)
{
    BENCH_VERIFY(in_use() == 0); /* every tree was freed by counting */
    rc_heap_free(h);
}
#elif defined(SYS_BOEHM)
static inline Node *new_node(Node *l, Node *r)
{
    Node *n = GC_MALLOC(sizeof(Node));
    BENCH_VERIFY(n != NULL);
    n->left = l;
    n->right = r;
    nodes_made++;
    return n;
}
static inline void drop_tree(Node *t) { (void)t; }
static double *new_array(size_t n)
{
    double *a = GC_MALLOC_ATOMIC(n * sizeof(double));
    BENCH_VERIFY(a != NULL);
    return a;
}
static void drop_array(double *a) { (void)a; }
static size_t in_use(void) { return GC_get_heap_size(); }
static void sys_init(void) { GC_INIT(); }
static void sys_stats(char *buf, size_t n)
{
    snprintf(buf, n, ",\"collections\":%lu,\"heap_bytes\":%zu", (unsigned long)GC_get_gc_no(),
             (size_t)GC_get_heap_size());
}
static void sys_done(void) {}

#else /* SYS_MALLOC */
static long nodes_freed; /* nodes freed explicitly */
static inline Node *new_node(Node *l, Node *r)
{
    Node *n = ALLOC(sizeof(Node));
    BENCH_VERIFY(n != NULL);
    n->left = l;
    n->right = r;
    n->i = n->j = 0;
    nodes_made++;
    return n;
}
static void drop_tree(Node *t)
{
    if (t->left) {
        drop_tree(t->left);
        drop_tree(t->right);
    }
    FREE(t);
    nodes_freed++;
}
static double *new_array(size_t n)
{
    double *a = ALLOC(n * sizeof(double));
    BENCH_VERIFY(a != NULL);
    return a;
}
static void drop_array(double *a) { FREE(a); }
static size_t in_use(void) { return 0; }
static void sys_stats(char *buf, size_t n) { snprintf(buf, n, ",\"frees\":%ld", nodes_freed); }
static void sys_init(void) {}
static void sys_done(void) { BENCH_VERIFY(nodes_freed == nodes_made); }
#endif

/* ------------------------------------------------------------------ */
/* GCBench (Hans Boehm's C version of John Ellis's and Pete Kovac's)   */
/* ------------------------------------------------------------------ */

static long tree_size(int d) { return (1L << (d + 1)) - 1; }

static void populate(int depth, Node *n) /* top-down */
{
    if (depth-- <= 0) return;
    n->left = new_node(NULL, NULL);
    n->right = new_node(NULL, NULL);
    populate(depth, n->left);
    populate(depth, n->right);
}
static Node *make_tree(int depth) /* bottom-up */
{
    if (depth <= 0) return new_node(NULL, NULL);
    Node *l = make_tree(depth - 1);
    return new_node(l, make_tree(depth - 1));
}
static long count(const Node *t) { return t ? 1 + count(t->left) + count(t->right) : 0; }

static double gcbench(int stretch, int long_lived, int min_depth, int max_depth)
{
    const size_t array_size = 500000;
    long expect = 0;
    double t0 = bench_now();

    Node *temp = make_tree(stretch); /* stretch the memory space quickly */
    drop_tree(temp);
    expect += tree_size(stretch);

    Node *longlived = new_node(NULL, NULL); /* a long-lived data structure */
    populate(long_lived, longlived);
    expect += tree_size(long_lived);
    double *array = new_array(array_size); /* a long-lived array */
    for (size_t i = 0; i < array_size / 2; i++) array[i] = 1.0 / (double)(i + 1);
    size_t base = in_use();

    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(stretch) / tree_size(d);
        for (long i = 0; i < iters; i++) {
            temp = new_node(NULL, NULL);
            populate(d, temp);
            drop_tree(temp);
        }
        for (long i = 0; i < iters; i++) {
            temp = make_tree(d);
            drop_tree(temp);
        }
        expect += 2 * iters * tree_size(d);
#if defined(SYS_RECYCLE)
        BENCH_VERIFY(in_use() == base); /* the dropped trees came back */
#elif defined(SYS_MALLOC)
        BENCH_VERIFY(nodes_made - nodes_freed == tree_size(long_lived));
#endif
    }
    BENCH_VERIFY(array[1000] == 1.0 / 1001.0);
    BENCH_VERIFY(count(longlived) == tree_size(long_lived));
    double t = bench_now() - t0;
#if defined(SYS_BOEHM)
    /* The heap stayed within a few times the live data: garbage was reused. */
    BENCH_VERIFY(in_use() < 16 * ((size_t)tree_size(stretch) * 32 + array_size * 8));
#endif
    (void)base;
    BENCH_VERIFY(nodes_made == expect);
    drop_tree(longlived);
    drop_array(array);
    return t;
}

/* ------------------------------------------------------------------ */
/* binary-trees (the Benchmarks Game)                                  */
/* ------------------------------------------------------------------ */

static Node *bottom_up_tree(int depth)
{
    if (depth <= 0) return new_node(NULL, NULL);
    Node *l = bottom_up_tree(depth - 1);
    return new_node(l, bottom_up_tree(depth - 1));
}
static long item_check(const Node *t)
{
    return t->left ? 1 + item_check(t->left) + item_check(t->right) : 1;
}

static double bintrees(int n, long *checksum)
{
    const int min_depth = 4;
    int max_depth = n > min_depth + 2 ? n : min_depth + 2;
    long sum = 0;
    double t0 = bench_now();

    Node *stretch = bottom_up_tree(max_depth + 1);
    long c = item_check(stretch);
    BENCH_VERIFY(c == tree_size(max_depth + 1));
    sum += c;
    drop_tree(stretch);

    Node *longlived = bottom_up_tree(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + min_depth), check = 0;
        for (long i = 0; i < iters; i++) {
            Node *t = bottom_up_tree(d);
            check += item_check(t);
            drop_tree(t);
        }
        BENCH_VERIFY(check == iters * tree_size(d));
        sum += check;
    }
    c = item_check(longlived);
    BENCH_VERIFY(c == tree_size(max_depth));
    sum += c;
    double t = bench_now() - t0;
    drop_tree(longlived);
    *checksum = sum;
    return t;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    int quick = bench_quick();
    const char *kase = bench_case("gcbench");
    const char *label = bench_opt("label"); /* the case's name in the results */
    if (!label || !*label) label = kase;
    sys_init();
    long rss0 = bench_rss();
    char stats[256];
    if (strcmp(kase, "gcbench") == 0) {
        int stretch = (int)bench_opt_long("stretch", quick ? 10 : 18);
        int long_lived = (int)bench_opt_long("long", quick ? 8 : 16);
        int max_depth = (int)bench_opt_long("depth", quick ? 8 : 16);
        double t = gcbench(stretch, long_lived, 4, max_depth);
        sys_stats(stats, sizeof stats);
        bench_emit(label, ",\"ns\":%.0f,\"nodes\":%ld,\"depth\":%d,\"peak_rss\":%ld,\"rss0\":%ld%s",
                   t * 1e9, nodes_made, max_depth, bench_peak_rss(), rss0, stats);
    } else if (strcmp(kase, "bintrees") == 0) {
        int depth = (int)bench_opt_long("depth", quick ? 8 : 18);
        long sum;
        double t = bintrees(depth, &sum);
        sys_stats(stats, sizeof stats);
        bench_emit(label, ",\"ns\":%.0f,\"nodes\":%ld,\"depth\":%d,\"check\":%ld,\"peak_rss\":%ld,"
                   "\"rss0\":%ld%s",
                   t * 1e9, nodes_made, depth, sum, bench_peak_rss(), rss0, stats);
    } else {
        fprintf(stderr, "trees: unknown case %s\n", kase);
        return 1;
    }
    sys_done();
    return 0;
}
