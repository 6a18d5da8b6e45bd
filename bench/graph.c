/* graph.c — workloads 1-3: what one collection of a given object graph
 * costs, in recycle (-DSYS_RECYCLE), the Boehm GC (-DSYS_BOEHM), and the
 * floor (-DSYS_FLOOR): one bare depth-first marking pass with an explicit
 * stack over the same graph built of malloc'd nodes.  CPython runs the same
 * graphs in bench/py/graph.py.
 *
 *   --case=gc_collect    pyperformance's bm_gc_collect: 100 rings of 21
 *                        nodes (next, prev), dropped, then one collection
 *                        timed; median of the loops of one process.
 *   --case=gc_traversal  pyperformance's bm_gc_traversal: 1,000 lists, list
 *                        k (0..999) holding k references to list k-1
 *                        (499,500 in all), all live; one collection timed,
 *                        median of the loops.
 *   --case=heap --n=N    N nodes of 3 references (the next node, so all is
 *                        reachable from the first, and two hashed ones): one
 *                        full collection with all live (median of 3), then
 *                        the whole heap dropped and reclaimed as cyclic
 *                        garbage; peak resident memory of the process.
 *   --case=edges --n=N --out=FILE   writes the heap's hashed edges for
 *                        bench/py/graph.py (2N uint32s).
 *
 * Each result is checked: the objects found (recycle, CPython), sample
 * objects' disappearing links (Boehm), the nodes marked (floor), and the
 * bytes in use before and after.
 */
#include "common.h"

#if defined(SYS_RECYCLE)
#include <recycle.h>
#elif defined(SYS_BOEHM)
#include <gc.h>
#elif defined(SYS_FLOOR)
#else
#error "compile with -DSYS_RECYCLE, -DSYS_BOEHM or -DSYS_FLOOR"
#endif

enum { CYCLES = 100, LINKS = 20, LEVELS = 1000 };

/* The node shapes, shared by recycle and Boehm (the floor adds a mark word
 * and a slot count in front, which is all a traversal needs). */
typedef struct ring_node { void *next, *prev; } ring_node;
typedef struct list_node { size_t n; void *items[]; } list_node;
typedef struct heap_node { void *s[3]; } heap_node;

/* Rings (gc_collect) or sample nodes (heap) a conservative collector kept
 * alive (Boehm only). */
static size_t retained;

static size_t list_refs(void) { return (size_t)LEVELS * (LEVELS - 1) / 2; }

/* ================================================================== */
#if defined(SYS_RECYCLE)

static rc_heap *h;

static int ring_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    ring_node *r = obj;
    int e;
    if (r->next && (e = visit(&r->next, arg))) return e;
    if (r->prev && (e = visit(&r->prev, arg))) return e;
    return 0;
}
static int list_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    list_node *l = obj;
    for (size_t i = 0; i < l->n; i++) {
        int e;
        if (l->items[i] && (e = visit(&l->items[i], arg))) return e;
    }
    return 0;
}
static int heap_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    heap_node *p = obj;
    for (int i = 0; i < 3; i++) {
        int e;
        if (p->s[i] && (e = visit(&p->s[i], arg))) return e;
    }
    return 0;
}
static const rc_type ring_type = {"Node", sizeof(ring_node), ring_traverse, NULL, NULL, 0};
static const rc_type list_type = {"list", sizeof(list_node), list_traverse, NULL, NULL, 0};
static const rc_type heap_type = {"node", sizeof(heap_node), heap_traverse, NULL, NULL, 0};

static void *mk(const rc_type *t)
{
    void *p = rc_new(h, t);
    BENCH_VERIFY(p != NULL);
    return p;
}
static size_t in_use(void)
{
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    return ms.bytes_in_use;
}
static size_t tracked(void)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    return (size_t)(st[0].tracked + st[1].tracked + st[2].tracked);
}

/* pyperformance's create_gc_cycles, then `del all_cycles`. */
static void make_rings(void)
{
    ring_node *cycles[CYCLES];
    for (int c = 0; c < CYCLES; c++) {
        ring_node *node = mk(&ring_type), *cur = node;
        cycles[c] = node;
        for (int i = 0; i < LINKS; i++) {
            ring_node *next = mk(&ring_type);
            rc_setref(&cur->next, next); /* current.link_next(next_node) */
            rc_setref(&next->prev, cur);
            if (cur != node) rc_decref(cur); /* `current = next_node` drops it */
            cur = next;
        }
        rc_setref(&cur->next, node);
        rc_setref(&node->prev, cur);
        rc_decref(cur);
    }
    for (int c = 0; c < CYCLES; c++) rc_decref(cycles[c]);
}

static double gc_collect_once(void)
{
    rc_gc_collect(h, 2);
    size_t before = in_use();
    make_rings();
    double t0 = bench_now();
    long found = rc_gc_collect(h, 2);
    double t = bench_now() - t0;
    BENCH_VERIFY(found == CYCLES * (LINKS + 1));
    BENCH_VERIFY(in_use() == before);
    return t;
}

static list_node *volatile traversal_root;
static void traversal_setup(void)
{
    list_node *cur = mk(&list_type);
    for (size_t k = 1; k < LEVELS; k++) {
        list_node *l = rc_new_var(h, &list_type, sizeof(list_node) + k * sizeof(void *));
        BENCH_VERIFY(l != NULL);
        l->n = k;
        for (size_t i = 0; i < k; i++) rc_setref(&l->items[i], cur);
        rc_decref(cur);
        cur = l;
    }
    traversal_root = cur;
    BENCH_VERIFY(tracked() == LEVELS);
}
static double gc_traversal_once(void)
{
    double t0 = bench_now();
    long found = rc_gc_collect(h, 2);
    double t = bench_now() - t0;
    BENCH_VERIFY(found == 0 && tracked() == LEVELS);
    return t;
}

static heap_node *volatile heap_root;
static void heap_build(size_t n)
{
    rc_gc_disable(h);
    heap_node **v = calloc(n, sizeof *v);
    BENCH_VERIFY(v != NULL);
    for (size_t i = 0; i < n; i++) v[i] = mk(&heap_type);
    for (size_t i = 0; i < n; i++) {
        rc_setref(&v[i]->s[0], v[(i + 1) % n]);
        rc_setref(&v[i]->s[1], v[bench_edge(i, 1, n)]);
        rc_setref(&v[i]->s[2], v[bench_edge(i, 2, n)]);
    }
    heap_root = v[0];
    for (size_t i = 1; i < n; i++) rc_decref(v[i]); /* only the graph holds them */
    free(v);
    rc_gc_enable(h);
}
static double heap_live_once(size_t n)
{
    double t0 = bench_now();
    long found = rc_gc_collect(h, 2);
    double t = bench_now() - t0;
    BENCH_VERIFY(found == 0 && tracked() == n);
    return t;
}
static double heap_garbage(size_t n, double *first)
{
    size_t before = in_use();
    rc_decref(heap_root); /* every node is still held by its predecessor */
    BENCH_VERIFY(tracked() == n && in_use() == before);
    double t0 = bench_now();
    long found = rc_gc_collect(h, 2);
    double t = bench_now() - t0;
    BENCH_VERIFY(found == (long)n);
    BENCH_VERIFY(tracked() == 0 && in_use() == 0);
    *first = t;
    return t;
}
static void sys_init(void) { h = rc_heap_new(NULL); BENCH_VERIFY(h != NULL); }
static void sys_done(void) { rc_heap_free(h); }

/* ================================================================== */
#elif defined(SYS_BOEHM)

/* Roots live in the data segment, which Boehm scans (volatile: they are
 * never read, and the compiler would drop the stores); the arrays used while
 * building live in malloc'd memory, which it does not.  Disappearing links
 * on sample objects (hidden pointers, cleared when the object is found
 * unreachable) check what each collection decided. */
enum { SAMPLES = 1024 };
static GC_hidden_pointer links[SAMPLES];
static size_t nlinks;

static void link_sample(void *obj)
{
    BENCH_VERIFY(nlinks < SAMPLES);
    links[nlinks] = GC_HIDE_POINTER(obj);
    BENCH_VERIFY(GC_general_register_disappearing_link((void **)&links[nlinks], obj) ==
                 GC_SUCCESS);
    nlinks++;
}
/* How many sampled objects are still alive; unregisters the dead links. */
static size_t links_alive(int forget)
{
    size_t alive = 0;
    for (size_t i = 0; i < nlinks; i++) {
        if (links[i]) {
            alive++;
            if (forget) GC_unregister_disappearing_link((void **)&links[i]);
        }
    }
    if (forget) nlinks = 0;
    return alive;
}
static void *mk(size_t size)
{
    void *p = GC_MALLOC(size);
    BENCH_VERIFY(p != NULL);
    return p;
}

static ring_node *volatile cycles[CYCLES];
static void __attribute__((noinline)) make_rings(void)
{
    for (int c = 0; c < CYCLES; c++) {
        ring_node *node = mk(sizeof(ring_node)), *cur = node;
        cycles[c] = node;
        link_sample(node);
        for (int i = 0; i < LINKS; i++) {
            ring_node *next = mk(sizeof(ring_node));
            cur->next = next;
            next->prev = cur;
            cur = next;
        }
        cur->next = node;
        node->prev = cur;
    }
}
static void scrub_stack(void);
static double gc_collect_once(void)
{
    GC_gcollect();
    make_rings();
    for (int c = 0; c < CYCLES; c++) cycles[c] = NULL; /* del all_cycles */
    scrub_stack();
    GC_word gc0 = GC_get_gc_no();
    double t0 = bench_now();
    GC_gcollect();
    double t = bench_now() - t0;
    BENCH_VERIFY(GC_get_gc_no() > gc0);
    /* Scanning the stack conservatively, Boehm may keep a ring that a stale
     * register or stack word still points to (one, now and then). */
    size_t kept = links_alive(1);
    BENCH_VERIFY(kept <= 1);
    retained += kept;
    return t;
}

static list_node *volatile traversal_root;
static void __attribute__((noinline)) traversal_setup(void)
{
    list_node *cur = mk(sizeof(list_node));
    link_sample(cur);
    for (size_t k = 1; k < LEVELS; k++) {
        list_node *l = mk(sizeof(list_node) + k * sizeof(void *));
        l->n = k;
        for (size_t i = 0; i < k; i++) l->items[i] = cur;
        cur = l;
        if (k % 8 == 0) link_sample(l);
    }
    traversal_root = cur;
}
static double gc_traversal_once(void)
{
    size_t n0 = nlinks;
    GC_word gc0 = GC_get_gc_no();
    double t0 = bench_now();
    GC_gcollect();
    double t = bench_now() - t0;
    BENCH_VERIFY(GC_get_gc_no() > gc0 && links_alive(0) == n0);
    return t;
}

static heap_node *volatile heap_root;
static void __attribute__((noinline)) heap_build(size_t n)
{
    GC_disable();
    heap_node **v = calloc(n, sizeof *v);
    BENCH_VERIFY(v != NULL);
    for (size_t i = 0; i < n; i++) v[i] = mk(sizeof(heap_node));
    for (size_t i = 0; i < n; i++) {
        v[i]->s[0] = v[(i + 1) % n];
        v[i]->s[1] = v[bench_edge(i, 1, n)];
        v[i]->s[2] = v[bench_edge(i, 2, n)];
    }
    heap_root = v[0];
    for (size_t i = 0; i < n; i += (n + SAMPLES - 1) / SAMPLES) link_sample(v[i]);
    /* Boehm may scan the memory malloc handed out (the brk heap lies in
     * its data roots): clear the array in a way no compiler may elide. */
    explicit_bzero(v, n * sizeof *v);
    free(v);
    GC_enable();

}
static double heap_live_once(size_t n)
{
    (void)n;
    size_t n0 = nlinks;
    double t0 = bench_now();
    GC_gcollect();
    double t = bench_now() - t0;
    BENCH_VERIFY(links_alive(0) == n0);
    return t;
}
/* Boehm sweeps lazily: a collection that finds everything dead only marks
 * (nothing) and leaves the sweeping to later allocations.  The next
 * GC_gcollect finishes every pending sweep before it marks, so reclaiming
 * the heap is timed as two collections; *first is the first alone. */
/* Zeroes the dead stack below the caller: stale pointers left there by
 * earlier, deeper calls would be seen by the collector's own frames. */
static void __attribute__((noinline)) scrub_stack(void)
{
    char buf[64 * 1024];
    explicit_bzero(buf, sizeof buf);
}
static double heap_garbage(size_t n, double *first)
{
    (void)n;
    heap_root = NULL;
    scrub_stack();
    size_t heap0 = GC_get_memory_use();
    double t0 = bench_now();
    GC_gcollect();
    double t1 = bench_now();
    GC_gcollect();
    double t2 = bench_now();
    /* A conservative collector may find a stale pointer to one node in its
     * roots, and then keeps the whole heap (every node reaches every other).
     * That is reported (the report shows no time for it), not hidden. */
    retained = links_alive(1);
    if (retained == 0) BENCH_VERIFY(GC_get_memory_use() < heap0 / 4);
    *first = t1 - t0;
    return t2 - t0;
}
static void sys_init(void)
{
    GC_INIT();
    GC_set_free_space_divisor(3); /* Boehm's default */
}
static void sys_done(void) {}

/* ================================================================== */
#else /* SYS_FLOOR */

typedef struct fnode {
    uint32_t      mark, n;
    struct fnode *s[];
} fnode;

static fnode **all; /* every node, to reset marks and free */
static size_t  nall, capall;
static fnode **stack;

static fnode *mk(uint32_t n)
{
    fnode *f = calloc(1, sizeof(fnode) + n * sizeof(fnode *));
    BENCH_VERIFY(f != NULL);
    f->n = n;
    if (nall == capall) {
        capall = capall ? 2 * capall : 1024;
        all = realloc(all, capall * sizeof *all);
        stack = realloc(stack, capall * sizeof *stack);
        BENCH_VERIFY(all && stack);
    }
    all[nall++] = f;
    return f;
}
static void release_all(void)
{
    for (size_t i = 0; i < nall; i++) free(all[i]);
    nall = 0;
}
static void unmark_all(void)
{
    for (size_t i = 0; i < nall; i++) all[i]->mark = 0;
}
/* The floor: mark everything reachable from roots[0..nroots). */
static size_t dfs(fnode **roots, size_t nroots)
{
    size_t sp = 0, marked = 0;
    for (size_t r = 0; r < nroots; r++) {
        if (roots[r]->mark) continue;
        roots[r]->mark = 1;
        stack[sp++] = roots[r];
        while (sp) {
            fnode *p = stack[--sp];
            marked++;
            for (uint32_t i = 0; i < p->n; i++) {
                fnode *c = p->s[i];
                if (c && !c->mark) {
                    c->mark = 1;
                    stack[sp++] = c;
                }
            }
        }
    }
    return marked;
}

static fnode *cycles[CYCLES];
static double gc_collect_once(void)
{
    for (int c = 0; c < CYCLES; c++) { /* slot 0 = next, slot 1 = prev */
        fnode *node = mk(2), *cur = node;
        cycles[c] = node;
        for (int i = 0; i < LINKS; i++) {
            fnode *next = mk(2);
            cur->s[0] = next;
            next->s[1] = cur;
            cur = next;
        }
        cur->s[0] = node;
        node->s[1] = cur;
    }
    double t0 = bench_now();
    size_t marked = dfs(cycles, CYCLES);
    double t = bench_now() - t0;
    BENCH_VERIFY(marked == CYCLES * (LINKS + 1));
    release_all();
    return t;
}

static fnode *traversal_root;
static void traversal_setup(void)
{
    fnode *cur = mk(0);
    for (uint32_t k = 1; k < LEVELS; k++) {
        fnode *l = mk(k);
        for (uint32_t i = 0; i < k; i++) l->s[i] = cur;
        cur = l;
    }
    traversal_root = cur;
}
static double gc_traversal_once(void)
{
    unmark_all();
    double t0 = bench_now();
    size_t marked = dfs(&traversal_root, 1);
    double t = bench_now() - t0;
    BENCH_VERIFY(marked == LEVELS);
    return t;
}

static fnode *heap_root;
static void heap_build(size_t n)
{
    for (size_t i = 0; i < n; i++) mk(3);
    for (size_t i = 0; i < n; i++) {
        all[i]->s[0] = all[(i + 1) % n];
        all[i]->s[1] = all[bench_edge(i, 1, n)];
        all[i]->s[2] = all[bench_edge(i, 2, n)];
    }
    heap_root = all[0];
}
static double heap_live_once(size_t n)
{
    unmark_all();
    double t0 = bench_now();
    size_t marked = dfs(&heap_root, 1);
    double t = bench_now() - t0;
    BENCH_VERIFY(marked == n);
    return t;
}
/* The floor of reclaiming: mark, then free every node. */
static double heap_garbage(size_t n, double *first)
{
    unmark_all();
    double t0 = bench_now();
    size_t marked = dfs(&heap_root, 1);
    release_all();
    double t = bench_now() - t0;
    BENCH_VERIFY(marked == n && nall == 0);
    *first = t;
    return t;
}
static void sys_init(void) {}
static void sys_done(void)
{
    free(all);
    free(stack);
}
#endif

/* ================================================================== */

static void report_loops(const char *kase, double *t, int loops, size_t n, size_t refs)
{
    double med = bench_median(t, loops);
    bench_emit(kase, ",\"ns\":%.0f,\"min_ns\":%.0f,\"max_ns\":%.0f,\"loops\":%d,\"n\":%zu,\"refs\":%zu",
               med * 1e9, t[0] * 1e9, t[loops - 1] * 1e9, loops, n, refs);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    int quick = bench_quick();
    const char *kase = bench_case("gc_collect");
    long rss0 = bench_rss();
    sys_init();

    if (strcmp(kase, "gc_collect") == 0) {
        int loops = (int)bench_opt_long("loops", quick ? 5 : 51);
        double *t = malloc((size_t)loops * sizeof *t);
        BENCH_VERIFY(t != NULL);
        for (int i = 0; i < loops; i++) t[i] = gc_collect_once();
        report_loops(kase, t, loops, CYCLES * (LINKS + 1), 2 * CYCLES * (LINKS + 1));
        if (retained) fprintf(stderr, "graph: %zu rings of %d kept by stale pointers\n",
                              retained, loops * CYCLES);
        free(t);
    } else if (strcmp(kase, "gc_traversal") == 0) {
        int loops = (int)bench_opt_long("loops", quick ? 3 : 31);
        double *t = malloc((size_t)loops * sizeof *t);
        BENCH_VERIFY(t != NULL);
        traversal_setup();
        gc_traversal_once(); /* pyperformance collects once before timing */
        for (int i = 0; i < loops; i++) t[i] = gc_traversal_once();
        report_loops(kase, t, loops, LEVELS, list_refs());
        free(t);
    } else if (strcmp(kase, "heap") == 0) {
        size_t n = (size_t)bench_opt_long("n", quick ? 20000 : 1000000);
        int loops = (int)bench_opt_long("loops", 3);
        double t[16], first;
        BENCH_VERIFY(loops >= 1 && loops <= 16 && n > 1);
        heap_build(n);
        long rss_built = bench_rss();
        for (int i = 0; i < loops; i++) t[i] = heap_live_once(n);
        char name[64];
        snprintf(name, sizeof name, "live_%s", bench_opt("label") ? bench_opt("label") : "n");
        double med = bench_median(t, loops);
        double g = heap_garbage(n, &first);
        long peak = bench_peak_rss(), rss_end = bench_rss();
        bench_emit(name,
                   ",\"ns\":%.0f,\"min_ns\":%.0f,\"max_ns\":%.0f,\"loops\":%d,\"n\":%zu,"
                   "\"refs\":%zu,\"rss0\":%ld,\"rss_built\":%ld,\"peak_rss\":%ld",
                   med * 1e9, t[0] * 1e9, t[loops - 1] * 1e9, loops, n, 3 * n, rss0, rss_built,
                   peak);
        snprintf(name, sizeof name, "garbage_%s", bench_opt("label") ? bench_opt("label") : "n");
        bench_emit(name,
                   ",\"ns\":%.0f,\"first_ns\":%.0f,\"n\":%zu,\"rss_built\":%ld,\"rss_after\":%ld,"
                   "\"retained\":%zu",
                   g * 1e9, first * 1e9, n, rss_built, rss_end, retained);
        if (retained)
            fprintf(stderr, "graph: the garbage was kept alive by a stale pointer (%zu samples)\n",
                    retained);
    } else if (strcmp(kase, "edges") == 0) {
        /* The hashed edges of an N-node heap as 2N little-endian uint32s, so
         * that bench/py/graph.py need not compute 2N hashes in Python. */
        size_t n = (size_t)bench_opt_long("n", 1000000);
        const char *path = bench_opt("out");
        BENCH_VERIFY(path && *path && n > 1);
        FILE *f = fopen(path, "wb");
        BENCH_VERIFY(f != NULL);
        for (size_t i = 0; i < n; i++) {
            uint32_t e[2] = {(uint32_t)bench_edge(i, 1, n), (uint32_t)bench_edge(i, 2, n)};
            BENCH_VERIFY(fwrite(e, sizeof e, 1, f) == 1);
        }
        BENCH_VERIFY(fclose(f) == 0);
    } else {
        fprintf(stderr, "graph: unknown case %s\n", kase);
        return 1;
    }
    sys_done();
    return 0;
}
