/* test_retained.c — retained sizes (src/tools/retained.c): rc_retained_of and
 * rc_top_retainers against a brute-force oracle on random graphs (cycles,
 * shared subgraphs, objects held from outside, the garbage list, cyclic
 * garbage not yet collected), with the predecessor lists cut down so the
 * windowed and single-vertex passes run too; the memory bound; the group
 * totals; bad input.
 *
 * The oracle shares no code with the library: it knows the graph because
 * it built it.  For an object x, drop every hold on x — the program's, the
 * garbage list's, other objects' — and count the objects that a search
 * from the roots (objects the program holds, the garbage list's) reached
 * before and does not reach now.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "vec.h"
#include "internal.h"
#include "tools/tools.h"

/* ------------------------------------------------------------------ */
/* A container with a variable number of slots, and atomic blobs       */
/* ------------------------------------------------------------------ */

static const rc_type vec_type = {"vec", sizeof(vec), vec_traverse, NULL, NULL, 0};
static const rc_type blob_type = {"blob", 8, NULL, NULL, NULL, 0};

static size_t block_bytes(const void *obj)
{
    return rc__block_size(rc__block_of(RC__HEAD(obj)));
}

/* ------------------------------------------------------------------ */
/* Random graphs and the oracle                                        */
/* ------------------------------------------------------------------ */

#define MAXN 48
#define MAXK 6

typedef struct graph {
    int    n;
    void  *obj[MAXN];
    int    nout[MAXN], out[MAXN][MAXK]; /* the edges, as built */
    int    held[MAXN];                  /* references the test holds */
    bool   garbage[MAXN];               /* in the garbage list */
} graph;

/* Reached from the roots, with every hold on `cut` dropped (-1: none). */
static void reach(const graph *g, int cut, bool *seen)
{
    int stack[MAXN], sp = 0;
    memset(seen, 0, MAXN * sizeof *seen);
    for (int i = 0; i < g->n; i++)
        if (i != cut && (g->held[i] > 0 || g->garbage[i])) {
            seen[i] = true;
            stack[sp++] = i;
        }
    while (sp > 0) {
        int v = stack[--sp];
        for (int k = 0; k < g->nout[v]; k++) {
            int w = g->out[v][k];
            if (w == cut || seen[w]) continue;
            seen[w] = true;
            stack[sp++] = w;
        }
    }
}

static rc_retained oracle(const graph *g, int x, bool *set)
{
    bool before[MAXN], after[MAXN];
    rc_retained r = {0, 0};
    reach(g, -1, before);
    reach(g, x, after);
    for (int i = 0; i < g->n; i++) {
        set[i] = before[i] && !after[i];
        if (set[i]) {
            r.objects++;
            r.bytes += block_bytes(g->obj[i]);
        }
    }
    return r;
}

/* A random graph in a fresh heap: sizes vary, edges may repeat or point
 * back; some objects go to the garbage list (SAVEALL collection of what
 * the program dropped), some cycles stay uncollected. */
static rc_heap *random_graph(uint64_t *rng, graph *g)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    memset(g, 0, sizeof *g);
    g->n = 2 + (int)(check_rand(rng) % (MAXN - 1));
    int shape = (int)(check_rand(rng) % 4); /* 0: sparse, 1: dense, 2: chains, 3: mixed */
    for (int i = 0; i < g->n; i++) {
        if (check_rand(rng) % 6 == 0) {
            g->obj[i] = rc_new_var(h, &blob_type, 8 + (size_t)(check_rand(rng) % 200));
            g->nout[i] = -1; /* atomic: no slots */
        } else {
            vec *v = rc_new_var(h, &vec_type, sizeof(vec) + MAXK * sizeof(void *) +
                                                  (size_t)(check_rand(rng) % 100));
            REQUIRE(v != NULL);
            v->n = MAXK;
            g->obj[i] = v;
        }
        REQUIRE(g->obj[i] != NULL);
        g->held[i] = 1; /* rc_new's reference */
    }
    for (int i = 0; i < g->n; i++) {
        if (g->nout[i] < 0) {
            g->nout[i] = 0;
            continue;
        }
        int k = (int)(check_rand(rng) % (shape == 1 ? MAXK + 1 : 3));
        for (int j = 0; j < k; j++) {
            int w;
            if (shape == 2) w = (i + 1 + (int)(check_rand(rng) % 2)) % g->n;
            else w = (int)(check_rand(rng) % (uint64_t)g->n);
            rc_setref(&((vec *)g->obj[i])->s[j], g->obj[w]);
            g->out[i][g->nout[i]++] = w;
        }
    }
    /* Drop most of the program's references: what stays held are roots. */
    for (int i = 0; i < g->n; i++) {
        if (check_rand(rng) % 4 == 0) continue;
        rc_decref(g->obj[i]); /* may free a whole subgraph */
        g->held[i] = 0;
    }
    return h;
}

/* Objects still alive: freed ones leave the graph (and their edges). */
static void prune(graph *g, const bool *alive)
{
    for (int i = 0; i < g->n; i++) {
        if (!alive[i]) {
            g->obj[i] = NULL;
            g->nout[i] = 0;
        }
    }
}

/* What counting left alive: everything reachable from the held objects,
 * and every cycle the counts cannot free.  The library knows; the oracle
 * asks rc_heap_check-free questions: an object is alive iff it is reached
 * from a held one, or lies in (or hangs off) a cycle among the unreached.
 * Instead of predicting it, the test numbers the heap's live objects. */
typedef struct alive_ctx {
    graph *g;
    bool  *alive;
} alive_ctx;
static int mark_alive(void *block, void *arg)
{
    alive_ctx *c = arg;
    void *o = rc__obj_of(rc__head_of_block(block));
    for (int i = 0; i < c->g->n; i++)
        if (c->g->obj[i] == o) c->alive[i] = true;
    return 0;
}

/* Compacts the graph to its live objects, renumbering the edges. */
static void compact(graph *g)
{
    int map[MAXN], n = 0;
    for (int i = 0; i < g->n; i++) map[i] = g->obj[i] ? n++ : -1;
    graph c;
    memset(&c, 0, sizeof c);
    c.n = n;
    for (int i = 0; i < g->n; i++) {
        int j = map[i];
        if (j < 0) continue;
        c.obj[j] = g->obj[i];
        c.held[j] = g->held[i];
        c.garbage[j] = g->garbage[i];
        for (int k = 0; k < g->nout[i]; k++)
            if (map[g->out[i][k]] >= 0) c.out[j][c.nout[j]++] = map[g->out[i][k]];
    }
    *g = c;
}

static void settle(rc_heap *h, graph *g, uint64_t *rng)
{
    bool alive[MAXN] = {false};
    /* Half the time, a SAVEALL collection moves the unreachable objects
     * to the garbage list; then more objects are dropped, leaving cyclic
     * garbage for no collection yet. */
    if (check_rand(rng) % 2) {
        rc_gc_set_debug(h, RC_DEBUG_SAVEALL);
        rc_gc_collect(h, 2);
        rc_gc_set_debug(h, 0);
        for (size_t i = 0; i < rc_gc_garbage_count(h); i++)
            for (int j = 0; j < g->n; j++)
                if (g->obj[j] == rc_gc_garbage_get(h, i)) g->garbage[j] = true;
        for (int i = 0; i < g->n; i++) {
            if (g->held[i] && check_rand(rng) % 3 == 0) {
                rc_decref(g->obj[i]);
                g->held[i] = 0;
            }
        }
    }
    alive_ctx c = {g, alive};
    rc__alloc_walk(h->alloc, mark_alive, &c);
    prune(g, alive);
    compact(g);
}

static void finish_graph(rc_heap *h, graph *g)
{
    for (int i = 0; i < g->n; i++)
        while (g->held[i]-- > 0) rc_decref(g->obj[i]);
    rc_gc_garbage_clear(h);
    rc_heap_free(h);
}

/* Checks every object of g, and the top retainers, against the oracle.
 * max_preds > 0 cuts the predecessor lists (windows, single passes);
 * max_stack > 0 makes the depth-first search give up its lists and what it
 * keeps for the semidominators once its stack grows past that. */
static bool check_graph(rc_heap *h, const graph *g, size_t max_preds, size_t max_stack,
                        bool public_calls)
{
    bool ok = true, set[MAXN][MAXN];
    rc_retained want[MAXN];
    for (int x = 0; x < g->n; x++) want[x] = oracle(g, x, set[x]);

    rc__dom d;
    REQUIRE(rc__dom_build_with(&d, h, max_preds, max_stack) == 0);
    for (int x = 0; x < g->n && ok; x++) {
        uint32_t v = rc__dom_vertex(&d, g->obj[x]);
        size_t objects = v ? d.count[v] : 0, bytes = v ? (size_t)d.bytes[v] : 0;
        if (objects != want[x].objects || bytes != want[x].bytes) {
            fprintf(stderr, "object %d: retained %zu objects %zu bytes, oracle %zu %zu "
                            "(max_preds %zu, max_stack %zu)\n",
                    x, objects, bytes, want[x].objects, want[x].bytes, max_preds, max_stack);
            ok = false;
        }
    }
    CHECK_LE(d.peak, d.budget);
    rc__dom_free(&d);
    if (!ok || max_preds || max_stack || !public_calls) return ok;

    /* The public calls agree, and leave the heap as it was. */
    for (int x = 0; x < g->n; x++) {
        rc_retained r;
        CHECK_EQ(rc_retained_of(h, g->obj[x], &r), 0);
        CHECK_UEQ(r.objects, want[x].objects);
        CHECK_UEQ(r.bytes, want[x].bytes);
    }
    CHECK_EQ(rc_heap_check(h, stderr), 0);

    /* Top retainers: the objects in no other's set, largest first. */
    bool top[MAXN];
    int ntop = 0;
    for (int x = 0; x < g->n; x++) {
        top[x] = want[x].objects > 0;
        for (int y = 0; y < g->n && top[x]; y++)
            if (y != x && set[y][x]) top[x] = false;
        ntop += top[x];
    }
    rc_retainer out[MAXN + 1];
    size_t ask = 1 + (size_t)(g->n % 5);
    long k = rc_top_retainers(h, out, ask);
    CHECK_EQ(k, (long)(ntop < (int)ask ? ntop : (int)ask));
    for (long i = 0; i < k; i++) {
        int x = -1;
        for (int j = 0; j < g->n; j++)
            if (g->obj[j] == out[i].obj) x = j;
        REQUIRE(x >= 0);
        CHECK(top[x]);
        CHECK_UEQ(out[i].retained.bytes, want[x].bytes);
        CHECK_UEQ(out[i].retained.objects, want[x].objects);
        if (i > 0) CHECK(out[i - 1].retained.bytes >= out[i].retained.bytes);
        top[x] = false; /* every one not returned is no larger than the last */
    }
    for (int x = 0; x < g->n; x++)
        if (top[x] && k > 0) CHECK(want[x].bytes <= out[k - 1].retained.bytes);
    return ok;
}

TEST(retained_sizes_match_the_oracle_on_random_graphs)
{
    uint64_t seed = check_seed(), rng = seed;
    const char *env = getenv("RETAINED_GRAPHS");
#if defined(__SANITIZE_ADDRESS__) || (defined(RC_VALGRIND) && RC_VALGRIND)
    long graphs = env ? atol(env) : 1000; /* instrumented: the release build runs 10,000 */
#else
    long graphs = env ? atol(env) : 10000;
#endif
    long garbage_lists = 0, uncollected = 0, shared = 0;
    for (long i = 0; i < graphs; i++) {
        graph g;
        rc_heap *h = random_graph(&rng, &g);
        settle(h, &g, &rng);
        bool any_garbage = false, any_unreached = false, any_shared = false, seen[MAXN];
        reach(&g, -1, seen);
        int indeg[MAXN] = {0};
        for (int v = 0; v < g.n; v++) {
            any_garbage |= g.garbage[v];
            any_unreached |= !seen[v];
            for (int k = 0; k < g.nout[v]; k++) indeg[g.out[v][k]]++;
        }
        for (int v = 0; v < g.n; v++) any_shared |= seen[v] && indeg[v] > 1;
        garbage_lists += any_garbage;
        uncollected += any_unreached;
        shared += any_shared;
        /* Every graph against the tree; one in 8 through every public call
         * too (a tree per object: the slow part in debug builds). */
        bool ok = check_graph(h, &g, 0, 0, i % 8 == 0);
        /* Tiny predecessor room: one window per vertex or less. */
        ok = ok && check_graph(h, &g, 1 + (size_t)(i % 3), 0, false);
        /* A stack that must give way: the search keeps nothing for 3. */
        if (i % 2 == 0) ok = ok && check_graph(h, &g, 0, 1 + (size_t)(i % 5), false);
        if (!ok) {
            fprintf(stderr, "graph %ld of seed %llu differs\n", i, (unsigned long long)seed);
            CHECK(ok);
            finish_graph(h, &g);
            return;
        }
        finish_graph(h, &g);
    }
    fprintf(stderr, "%ld graphs: %ld with a garbage list, %ld with cyclic garbage, %ld with "
                    "shared objects\n",
            graphs, garbage_lists, uncollected, shared);
    if (graphs >= 1000) {
        CHECK_GT(garbage_lists, graphs / 10);
        CHECK_GT(uncollected, graphs / 10);
        CHECK_GT(shared, graphs / 2);
    }
}

/* ------------------------------------------------------------------ */
/* Memory, groups, bad input                                           */
/* ------------------------------------------------------------------ */

/* A big heap with every shape at once: the peak stays within 32 bytes per
 * object, with the lists cut down or not. */
TEST(retained_memory_stays_within_32_bytes_per_object)
{
    uint64_t rng = check_seed();
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    enum { N = 200000 };
    void **o = malloc(N * sizeof *o);
    REQUIRE(o != NULL);
    for (size_t i = 0; i < N; i++) {
        vec *v = rc_new_var(h, &vec_type, sizeof(vec) + 4 * sizeof(void *));
        REQUIRE(v != NULL);
        v->n = 4;
        o[i] = v;
    }
    /* A tree, shared leaves, back edges, a hub everyone refers to. */
    for (size_t i = 1; i < N; i++) {
        rc_setref(&((vec *)o[(i - 1) / 2])->s[(i - 1) % 2], o[i]);
        rc_setref(&((vec *)o[i])->s[2], o[check_rand(&rng) % N]);
        rc_setref(&((vec *)o[i])->s[3], o[1]);
    }
    for (size_t i = 1; i < N; i++) rc_decref(o[i]);
    size_t limits[] = {0, 1000, 1};
    for (size_t l = 0; l < 3; l++) {
        rc__dom d;
        REQUIRE(rc__dom_build_with(&d, h, limits[l], 0) == 0);
        CHECK_UEQ(d.objects, N);
        CHECK_UEQ(d.n, N + 1);
        CHECK_LE(d.peak, (size_t)N * 32 + (64u << 10));
        CHECK_UEQ(d.count[0], N);
        CHECK_UEQ(d.count[rc__dom_vertex(&d, o[0])], N); /* o[0] holds it all */
        fprintf(stderr, "max_preds %zu: peak %zu bytes, %.1f per object\n", limits[l], d.peak,
                (double)d.peak / N);
        rc__dom_free(&d);
        if (l == 1) break; /* one vertex per pass (limit 1) is for small graphs */
    }
    /* A search whose stack gives way (it keeps nothing for the
     * semidominators): the same tree, within the same bound. */
    rc__dom d;
    REQUIRE(rc__dom_build_with(&d, h, 0, 64) == 0);
    CHECK_LE(d.peak, (size_t)N * 32 + (64u << 10));
    CHECK_UEQ(d.count[rc__dom_vertex(&d, o[0])], N);
    rc__dom_free(&d);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_decref(o[0]);
    free(o);
    rc_heap_free(h);
}

/* a -> {b, c}, b -> d, c -> d; e -> f.  A group's total is the union of
 * its members' subtrees in the dominator tree (as Chrome's summary view
 * counts a class): d is in a's subtree, not in b's or c's. */
TEST(retained_group_totals_count_each_object_once)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    vec *v[6];
    for (int i = 0; i < 6; i++) {
        v[i] = rc_new_var(h, &vec_type, sizeof(vec) + 2 * sizeof(void *));
        REQUIRE(v[i] != NULL);
        v[i]->n = 2;
    }
    rc_setref(&v[0]->s[0], v[1]);
    rc_setref(&v[0]->s[1], v[2]);
    rc_setref(&v[1]->s[0], v[3]);
    rc_setref(&v[2]->s[0], v[3]);
    rc_setref(&v[4]->s[0], v[5]);
    for (int i = 1; i < 6; i++)
        if (i != 4) rc_decref(v[i]);
    size_t b = block_bytes(v[0]);
    rc__dom d;
    REQUIRE(rc__dom_build(&d, h) == 0);
    uint32_t *group = rc__dom_group_array(&d);
    REQUIRE(group != NULL);
    /* groups: 0 = {b, c}, 1 = {a, d} (d inside a), 2 = {f}, mapped 3 -> 2 */
    group[rc__dom_vertex(&d, v[1])] = 0;
    group[rc__dom_vertex(&d, v[2])] = 0;
    group[rc__dom_vertex(&d, v[0])] = 1;
    group[rc__dom_vertex(&d, v[3])] = 1;
    group[rc__dom_vertex(&d, v[5])] = 3;
    uint32_t map[4] = {0, 1, 2, 2};
    rc_retained out[3];
    REQUIRE(rc__dom_groups(&d, map, 3, out) == 0);
    CHECK_UEQ(out[0].objects, 2); /* b and c: d is dominated by a */
    CHECK_UEQ(out[0].bytes, 2 * b);
    CHECK_UEQ(out[1].objects, 4);
    CHECK_UEQ(out[1].bytes, 4 * b);
    CHECK_UEQ(out[2].objects, 1);
    rc__dom_free(&d);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_decref(v[0]);
    rc_decref(v[4]);
    rc_heap_free(h);
}

/* Retained bytes include the buffers each retained object owns
 * (rc_buf_*): a -> b, a owns 1000 bytes and b 5000. */
TEST(retained_bytes_include_owned_buffers)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    vec *a = rc_new_var(h, &vec_type, sizeof(vec) + sizeof(void *));
    vec *b = rc_new_var(h, &vec_type, sizeof(vec) + sizeof(void *));
    REQUIRE(a != NULL && b != NULL);
    a->n = 1;
    rc_setref(&a->s[0], b);
    rc_decref(b);
    size_t plain = block_bytes(a) + block_bytes(b);
    void *ba = rc_buf_alloc(a, 1000), *bb = rc_buf_alloc(b, 5000);
    REQUIRE(ba != NULL && bb != NULL);
    rc_retained r;
    REQUIRE(rc_retained_of(h, a, &r) == 0);
    CHECK_UEQ(r.objects, 2);
    CHECK(r.bytes >= plain + 6000);
    CHECK_UEQ(r.bytes, plain + rc__buf_bytes(h, a) + rc__buf_bytes(h, b));
    REQUIRE(rc_retained_of(h, b, &r) == 0);
    CHECK_UEQ(r.bytes, block_bytes(b) + rc__buf_bytes(h, b));
    rc_buf_free(b, bb);
    REQUIRE(rc_retained_of(h, a, &r) == 0);
    CHECK_UEQ(r.bytes, plain + rc__buf_bytes(h, a));
    rc_decref(a);
    rc_heap_free(h);
}

static int busy_result = 1, busy_error;
static void during_collection(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)info;
    rc_retained r;
    if (phase == RC_GC_START) {
        busy_result = rc_retained_of(h, data, &r);
        busy_error = rc_last_error(h);
    }
}

TEST(retained_bad_input)
{
    rc_heap *h = rc_heap_new(NULL), *other = rc_heap_new(NULL);
    REQUIRE(h && other);
    vec *v = rc_new_var(h, &vec_type, sizeof(vec));
    vec *w = rc_new_var(other, &vec_type, sizeof(vec));
    rc_retained r;
    rc_retainer top[2];
    CHECK_EQ(rc_retained_of(NULL, v, &r), -1);
    CHECK_EQ(rc_retained_of(h, NULL, &r), -1);
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(rc_retained_of(h, (char *)v + 16, &r), -1); /* inside, not an object */
    CHECK_EQ(rc_retained_of(h, w, &r), -1);               /* another heap's */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(rc_retained_of(h, v, NULL), -1);
    CHECK_EQ(rc_top_retainers(h, NULL, 2), -1);
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(rc_top_retainers(NULL, top, 2), -1);
    CHECK_EQ(rc_top_retainers(h, NULL, 0), 0);
    CHECK_EQ(rc_top_retainers(h, top, 2), 1);
    CHECK_PTR_EQ(top[0].obj, v);
    CHECK_UEQ(top[0].retained.objects, 1);
    CHECK_EQ(rc_retained_of(h, v, &r), 0);
    CHECK_UEQ(r.bytes, block_bytes(v));
    /* During a collection: RC_EBUSY, and the collection goes on. */
    REQUIRE(rc_gc_callback_add(h, during_collection, v) == 0);
    rc_gc_collect(h, 2);
    CHECK_EQ(busy_result, -1);
    CHECK_EQ(busy_error, RC_EBUSY);
    rc_gc_callback_remove(h, during_collection, v);
    rc_decref(v);
    rc_decref(w);
    rc_heap_free(h);
    rc_heap_free(other);
}

/* A traverse that asks for a full collection (a misuse: traverse must
 * change nothing) while the dominator tree is built, when armed.  The
 * tree holds every tracked object in the tracked array with its scratch in
 * their gc words: the collection must not run (rc__collect refuses), and
 * the heap comes out whole, frozen and old objects where they were. */
static rc_heap *collect_from_traverse;
static int collect_calls, collect_found;
static int collecting_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    if (collect_from_traverse) {
        collect_calls++;
        collect_found += (int)rc_gc_collect(collect_from_traverse, 2);
    }
    return vec_traverse(obj, visit, arg);
}
static const rc_type coll_vec_type = {"collecting vec", sizeof(vec), collecting_traverse,
                                      NULL, NULL, 0};

TEST(retained_tree_refuses_a_collection_its_traverse_asks_for)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    vec *frozen = rc_new_var(h, &coll_vec_type, sizeof(vec));
    rc_gc_freeze(h);
    vec *old = rc_new_var(h, &coll_vec_type, sizeof(vec));
    REQUIRE(frozen && old);
    rc_gc_collect(h, 2); /* old is paged old now */
    vec *a = rc_new_var(h, &coll_vec_type, sizeof(vec) + sizeof(void *));
    vec *b = rc_new_var(h, &coll_vec_type, sizeof(vec) + sizeof(void *));
    REQUIRE(a && b);
    a->n = b->n = 1;
    a->s[0] = b; /* a young cycle: a's reference to b is the one b came with */
    b->s[0] = a;
    rc_incref(a); /* a: the local's reference, and b's */
    rc_gen_stats before[3], after[3];
    rc_gc_get_stats(h, before);
    collect_from_traverse = h;
    rc_retainer top[4];
    CHECK_GE(rc_top_retainers(h, top, 4), 1);
    collect_from_traverse = NULL;
    CHECK_GE(collect_calls, 1);
    CHECK_EQ(collect_found, 0);
    rc_gc_get_stats(h, after);
    CHECK_UEQ(after[2].collections, before[2].collections);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    CHECK_UEQ(rc_gc_get_freeze_count(h), 1);
    CHECK_UEQ(after[2].tracked, 1);
    CHECK(rc_is_tracked(old) && rc_is_tracked(frozen));
    rc_decref(a); /* the cycle is garbage now, and is found */
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_decref(old);
    rc_decref(frozen);
    rc_heap_free(h);
}

/* ------------------------------------------------------------------ */
/* Where the tools show retained sizes                                 */
/* ------------------------------------------------------------------ */

static char *capture_close(FILE *f)
{
    char *text = check_capture_text(f);
    fclose(f);
    return text;
}

/* held(vec) -> {x(vec) -> {b1, b2 (blobs)}, b3 (blob)}; x2(vec) -> b1 */
TEST(retained_in_snapshots_and_the_leak_report)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.site_depth = 3; /* sites with backtraces: the report prints them */
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    vec *held = rc_new_var(h, &vec_type, sizeof(vec) + 2 * sizeof(void *));
    vec *x = rc_new_var(h, &vec_type, sizeof(vec) + 2 * sizeof(void *));
    vec *x2 = rc_new_var(h, &vec_type, sizeof(vec) + 2 * sizeof(void *));
    void *b1 = rc_new_var(h, &blob_type, 100), *b2 = rc_new_var(h, &blob_type, 100);
    void *b3 = rc_new_var(h, &blob_type, 100);
    REQUIRE(held && x && x2 && b1 && b2 && b3);
    held->n = x->n = x2->n = 2;
    rc_setref(&held->s[0], x);
    rc_setref(&held->s[1], b3);
    rc_setref(&x->s[0], b1);
    rc_setref(&x->s[1], b2);
    rc_setref(&x2->s[0], b1);
    rc_setref(&held->s[1], b3);
    rc_decref(x);
    rc_decref(b1);
    rc_decref(b2);
    rc_decref(b3);
    /* held and x2 are held from outside; b1 is shared by x and x2. */
    size_t V = block_bytes(held), B = block_bytes(b1);

    rc_snapshot *s = rc_snapshot_take(h);
    REQUIRE(s != NULL);
    size_t n;
    const rc_stat *st = rc_snapshot_stats(s, RC_STAT_TYPE, &n);
    REQUIRE(n == 2);
    for (size_t i = 0; i < n; i++) {
        /* the union of the vecs' subtrees: b1, shared by x and x2, is in none */
        if (strcmp(st[i].type, "vec") == 0) CHECK_EQ(st[i].retained, (long long)(3 * V + 2 * B));
        else CHECK_EQ(st[i].retained, (long long)(3 * B)); /* every blob, b1 once */
    }
    rc_stat total;
    rc_snapshot_total(s, &total);
    CHECK_EQ(total.retained, (long long)(3 * V + 3 * B));
    st = rc_snapshot_stats(s, RC_STAT_SITE, &n);
    long long sum = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_GE(st[i].retained, st[i].bytes); /* a site's objects retain themselves */
        sum += st[i].retained;
    }
    CHECK_GE(sum, total.retained);
    FILE *out = tmpfile();
    rc_snapshot_print(s, RC_STAT_TYPE, 0, out);
    char *text = capture_close(out);
    CHECK_CONTAINS(text, "retained  type");
    free(text);
    out = tmpfile();
    rc_snapshot_write_json(s, out);
    text = capture_close(out);
    char want[64];
    snprintf(want, sizeof want, "\"retained\":%zu,", 3 * V + 2 * B);
    CHECK_CONTAINS(text, want);
    free(text);
    rc_snapshot_free(s);

    /* The leak report's top retainers: by group, then the largest objects. */
    out = tmpfile();
    CHECK_EQ(rc_leak_report(h, 1, out), 0);
    text = capture_close(out);
    CHECK_CONTAINS(text, "top retainers: what each group's objects keep alive");
    snprintf(want, sizeof want, " %zu ", 2 * V + 2 * B); /* held's group row */
    CHECK_CONTAINS(text, want);
    snprintf(want, sizeof want, "largest: %zu bytes in 4 objects: <vec object at", 2 * V + 2 * B);
    CHECK_CONTAINS(text, want); /* held: itself, x, b2, b3 (b1 is shared with x2) */
    /* Sites with backtraces: frames under the rows, not only in the HTML. */
    CHECK_CONTAINS(text, "\n                                              ");
    CHECK(strstr(text, ") [0x") || strstr(text, "\n                                              [0x"));
    free(text);

    rc_decref(held);
    rc_decref(x2);
    rc_heap_free(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
