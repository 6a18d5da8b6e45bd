/* churn.c — workload 6: short-lived cycles allocated at a steady rate while
 * a large old generation stays alive, in recycle (-DSYS_RECYCLE, automatic
 * collection under Python's rules) and the Boehm GC (-DSYS_BOEHM); CPython
 * runs it in bench/py/churn.py.
 *
 * The old generation: --old=N nodes (default 1,000,000) of 3 references, the
 * graph of workload 2, built first.  Then --cycles=M (default 2,000,000)
 * times: two new nodes that refer to each other and to one old node, then
 * dropped.  Reported: throughput (cycles per second, whole loop) and every
 * automatic collection's pause (recycle: RC_GC_STOP's duration_ns through
 * rc_gc_callback_add; Boehm: GC_EVENT_START to GC_EVENT_END), as median, p99
 * and max; --pauses=FILE writes them all (ns, one a line) for the plot.
 * Checked: every cycle was collected (recycle: the collected counts; Boehm:
 * the heap stayed bounded, so the garbage was reused), and the old
 * generation is intact.
 */
#include "common.h"

#if defined(SYS_RECYCLE)
#include <recycle.h>
#elif defined(SYS_BOEHM)
#include <gc.h>
#else
#error "compile with -DSYS_RECYCLE or -DSYS_BOEHM"
#endif

typedef struct node { void *s[3]; } node;

static double  *pauses;
static size_t   npauses, cappauses;

static void add_pause(double ns)
{
    if (npauses == cappauses) {
        cappauses = cappauses ? 2 * cappauses : 4096;
        pauses = realloc(pauses, cappauses * sizeof *pauses);
        BENCH_VERIFY(pauses != NULL);
    }
    pauses[npauses++] = ns;
}

#if defined(SYS_RECYCLE)
static rc_heap *h;
static uint64_t collected_auto;
static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *p = obj;
    for (int i = 0; i < 3; i++) {
        int e;
        if (p->s[i] && (e = visit(&p->s[i], arg))) return e;
    }
    return 0;
}
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, 0};
static void on_gc(rc_heap *hh, int phase, const rc_gc_info *info, void *data)
{
    (void)hh, (void)data;
    if (phase != RC_GC_STOP) return;
    add_pause((double)info->duration_ns);
    collected_auto += info->collected;
}
static node *mk(void)
{
    node *p = rc_new(h, &node_type);
    BENCH_VERIFY(p != NULL);
    return p;
}
static node **old;
static size_t nold;
static void build_old(size_t n)
{
    h = rc_heap_new(NULL);
    BENCH_VERIFY(h != NULL);
    rc_gc_disable(h);
    old = malloc(n * sizeof *old);
    BENCH_VERIFY(old != NULL);
    for (size_t i = 0; i < n; i++) old[i] = mk();
    for (size_t i = 0; i < n; i++) {
        rc_setref(&old[i]->s[0], old[(i + 1) % n]);
        rc_setref(&old[i]->s[1], old[bench_edge(i, 1, n)]);
        rc_setref(&old[i]->s[2], old[bench_edge(i, 2, n)]);
    }
    nold = n; /* the program keeps its references to all of them */
    rc_gc_collect(h, 2); /* the old generation is old */
    rc_gc_enable(h);
    BENCH_VERIFY(rc_gc_callback_add(h, on_gc, NULL) == 0);
}
static void churn(size_t m)
{
    for (size_t i = 0; i < m; i++) {
        node *a = mk(), *b = mk();
        rc_setref(&a->s[0], b);
        rc_setref(&b->s[0], a);
        rc_setref(&a->s[1], old[i % nold]);
        rc_decref(a);
        rc_decref(b);
    }
}
static void check(size_t m)
{
    rc_gc_callback_remove(h, on_gc, NULL);
    long rest = rc_gc_collect(h, 2);
    BENCH_VERIFY(rest >= 0 && collected_auto + (uint64_t)rest == 2 * (uint64_t)m);
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    BENCH_VERIFY(st[0].tracked + st[1].tracked + st[2].tracked == nold);
    for (size_t i = 0; i < nold; i++) BENCH_VERIFY(rc_refcount(old[i]) >= 2);
    for (size_t i = 0; i < nold; i++) rc_decref(old[i]);
    free(old);
    BENCH_VERIFY(rc_gc_collect(h, 2) == (long)nold);
    rc_heap_free(h);
}

#else /* SYS_BOEHM */
static node *volatile *old; /* GC_MALLOC'd: scanned */
static size_t nold;
static uint64_t t_start;
static void on_gc(GC_EventType e)
{
    if (e == GC_EVENT_START) t_start = bench_now_ns();
    else if (e == GC_EVENT_END) add_pause((double)(bench_now_ns() - t_start));
}
static node *mk(void)
{
    node *p = GC_MALLOC(sizeof(node));
    BENCH_VERIFY(p != NULL);
    return p;
}
static size_t heap_built;
static void build_old(size_t n)
{
    GC_INIT();
    GC_disable();
    old = GC_MALLOC(n * sizeof *old);
    BENCH_VERIFY(old != NULL);
    for (size_t i = 0; i < n; i++) old[i] = mk();
    for (size_t i = 0; i < n; i++) {
        old[i]->s[0] = old[(i + 1) % n];
        old[i]->s[1] = old[bench_edge(i, 1, n)];
        old[i]->s[2] = old[bench_edge(i, 2, n)];
    }
    nold = n;
    GC_enable();
    GC_gcollect();
    heap_built = GC_get_heap_size();
    GC_set_on_collection_event(on_gc);
}
static void churn(size_t m)
{
    for (size_t i = 0; i < m; i++) {
        node *a = mk(), *b = mk();
        a->s[0] = b;
        b->s[0] = a;
        a->s[1] = old[i % nold];
    }
}
static void check(size_t m)
{
    GC_set_on_collection_event(0);
    /* 2m nodes of 32 bytes went through a heap that grew by far less. */
    size_t grown = GC_get_heap_size() - heap_built;
    BENCH_VERIFY(npauses > 0 && grown < 2 * m * sizeof(node) / 2);
    for (size_t i = 0; i < nold; i++) BENCH_VERIFY(old[i]->s[0] == old[(i + 1) % nold]);
}
#endif

static double pct(double *v, size_t n, double p)
{
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    int quick = bench_quick();
    size_t n_old = (size_t)bench_opt_long("old", quick ? 20000 : 1000000);
    size_t m = (size_t)bench_opt_long("cycles", quick ? 50000 : 2000000);
    build_old(n_old);
    double t0 = bench_now();
    churn(m);
    double t = bench_now() - t0;
    size_t n = npauses;
    double *sorted = malloc((n ? n : 1) * sizeof *sorted);
    BENCH_VERIFY(sorted != NULL);
    memcpy(sorted, pauses, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, bench_cmp);
    double total = 0;
    for (size_t i = 0; i < n; i++) total += sorted[i];
    const char *file = bench_opt("pauses");
    if (file && *file) {
        FILE *f = fopen(file, "w");
        BENCH_VERIFY(f != NULL);
        for (size_t i = 0; i < n; i++) fprintf(f, "%.0f\n", pauses[i]);
        fclose(f);
    }
    check(m);
    bench_emit("churn",
               ",\"ns\":%.0f,\"cycles\":%zu,\"old\":%zu,\"per_sec\":%.0f,\"pauses\":%zu,"
               "\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"max_ns\":%.0f,\"pause_total_ns\":%.0f,"
               "\"peak_rss\":%ld",
               t * 1e9, m, n_old, (double)m / t, n, pct(sorted, n, 0.5), pct(sorted, n, 0.99),
               n ? sorted[n - 1] : 0.0, total, bench_peak_rss());
    free(sorted);
    free(pauses);
    return 0;
}
