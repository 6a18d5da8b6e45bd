/* test_core.c — the object layer and the collector's core, white-box:
 * counting, cycles of every shape, finalizers and resurrection, legacy
 * finalizers, deep chains, generations and promotion, tombstone sweeping,
 * out of memory; rc_heap_check after every step.
 */
#include "check.h"
#include "internal.h"

/* A node: `n` slots of references (n fixed by the size it was made with). */
typedef struct node {
    size_t n;
    long   tag;
    void  *slot[];
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *nd = obj;
    for (size_t i = 0; i < nd->n; i++) {
        if (nd->slot[i]) {
            int r = visit(&nd->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static int released;
static void count_release(void *obj) { (void)obj; released++; }

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, count_release, 0};
static const rc_type blob_type = {"blob", 24, NULL, NULL, count_release, 0};

static node *mk(rc_heap *h, size_t n)
{
    node *nd = rc_new_var(h, &node_type, sizeof(node) + n * sizeof(void *));
    if (nd) nd->n = n;
    return nd;
}

/* Stores a new reference to v in nd->slot[i]. */
static void link_to(node *nd, size_t i, void *v) { rc_setref(&nd->slot[i], v); }

/* n one-slot nodes, each holding the only reference to the next; returns
 * the first (the caller's reference), *tail the last. */
static node *chain(rc_heap *h, long n, node **tail)
{
    node *head = mk(h, 1), *cur = head;
    REQUIRE(head != NULL);
    for (long i = 1; i < n; i++) {
        node *nx = mk(h, 1);
        REQUIRE(nx != NULL);
        cur->slot[0] = nx; /* steal the reference */
        cur = nx;
    }
    if (tail) *tail = cur;
    return head;
}

static rc_heap *quiet_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    return h;
}

#define CHECK_HEAP(h) CHECK_EQ(rc_heap_check((h), stderr), 0)

TEST(counting_frees_at_once)
{
    rc_heap *h = quiet_heap();
    released = 0;
    node *a = mk(h, 1);
    node *b = mk(h, 0);
    link_to(a, 0, b);
    CHECK_EQ(rc_refcount(b), 2);
    rc_decref(b);
    CHECK_EQ(rc_refcount(b), 1);
    CHECK_EQ(released, 0);
    rc_decref(a); /* frees a, then b */
    CHECK_EQ(released, 2);
    CHECK_HEAP(h);
    void *x = rc_new(h, &blob_type);
    CHECK(!rc_is_tracked(x));
    CHECK_PTR_EQ(rc_type_of(x), &blob_type);
    CHECK_PTR_EQ(rc_heap_of(x), h);
    CHECK_EQ((uintptr_t)x % 16, 0);
    rc_decref(x);
    CHECK_EQ(released, 3);
    rc_heap_free(h);
}

TEST(cycles_of_every_shape)
{
    rc_heap *h = quiet_heap();
    released = 0;
    /* self cycle */
    node *s = mk(h, 1);
    link_to(s, 0, s);
    rc_decref(s);
    /* two-cycle */
    node *a = mk(h, 1), *b = mk(h, 1);
    link_to(a, 0, b);
    link_to(b, 0, a);
    rc_decref(a);
    rc_decref(b);
    /* ring of 100 with a tail of atomics */
    node *first = mk(h, 2), *prev = first;
    for (int i = 1; i < 100; i++) {
        node *n = mk(h, 2);
        link_to(prev, 0, n);
        void *blob = rc_new(h, &blob_type);
        link_to(n, 1, blob);
        rc_decref(blob);
        rc_decref(n);
        prev = n;
    }
    link_to(prev, 0, first);
    rc_decref(first);
    CHECK_HEAP(h);
    CHECK_EQ(released, 0);
    CHECK_EQ(rc_gc_collect(h, 2), 1 + 2 + 100);
    CHECK_EQ(released, 1 + 2 + 100 + 99);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(reachable_from_outside_survives)
{
    rc_heap *h = quiet_heap();
    /* a -> b -> c -> a, plus the program holds c; and a garbage d -> b */
    node *a = mk(h, 1), *b = mk(h, 1), *c = mk(h, 1), *d = mk(h, 2);
    link_to(a, 0, b);
    link_to(b, 0, c);
    link_to(c, 0, a);
    link_to(d, 0, b);
    link_to(d, 1, d);
    rc_decref(a);
    rc_decref(b);
    rc_decref(d);
    CHECK_EQ(rc_gc_collect(h, 2), 1); /* only d */
    CHECK_EQ(rc_refcount(b), 1);
    CHECK_HEAP(h);
    rc_decref(c);
    CHECK_EQ(rc_gc_collect(h, 2), 3);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

/* Garbage made without a single decrement: the program moves its own
 * references (from rc_new) into the objects' slots and forgets them.  A
 * young collection must find it.  This is why recycle does not skip young
 * collections in which no count was decremented to a non-zero value (the
 * Bacon-Rajan observation): with references that move without a count
 * change, no decrement need precede a cycle's death (DESIGN.md, "Young
 * collections that find nothing"). */
TEST(young_collection_finds_a_cycle_made_by_moves_alone)
{
    rc_heap *h = quiet_heap();
    rc_gc_disable(h);
    node *a = mk(h, 1), *b = mk(h, 1);
    a->slot[0] = b; /* b's reference moves into a */
    b->slot[0] = a; /* a's into b: nothing refers to either from outside */
    CHECK_EQ(rc_gc_collect(h, 0), 2);
    /* The same with the collection started automatically. */
    rc_gc_enable(h);
    rc_gc_set_threshold(h, 4, 10, 10); /* the 5th allocation collects the first 4 */
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t collected = st[0].collected;
    for (int i = 0; i < 3; i++) {
        node *x = mk(h, 1), *y = mk(h, 1);
        x->slot[0] = y;
        y->slot[0] = x;
    }
    rc_gc_get_stats(h, st);
    CHECK_UEQ(st[0].collected - collected, 4);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(generations_and_promotion)
{
    rc_heap *h = quiet_heap();
    node *keep[10];
    for (int i = 0; i < 10; i++) keep[i] = mk(h, 1);
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[0].tracked, 10);
    CHECK_EQ(rc_gc_collect(h, 0), 0);
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[0].tracked, 0);
    CHECK_EQ(st[1].tracked, 10);
    /* garbage in gen1 is not seen by a gen0 collection */
    link_to(keep[0], 0, keep[0]);
    node *g = keep[0];
    rc_decref(g);
    CHECK_EQ(rc_gc_collect(h, 0), 0);
    CHECK_EQ(rc_gc_collect(h, 1), 1);
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, 9);
    CHECK_EQ(st[1].collections, 1);
    CHECK_EQ(st[0].collections, 2);
    CHECK_HEAP(h);
    for (int i = 1; i < 10; i++) rc_decref(keep[i]);
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, 0);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

static int fin_runs;
static void *resurrected;
static void fin_resurrect(void *obj)
{
    fin_runs++;
    rc_incref(obj);
    resurrected = obj;
}
static const rc_type phoenix_type = {"phoenix", sizeof(node) + sizeof(void *), node_traverse,
                                     fin_resurrect, count_release, 0};

TEST(resurrection_in_a_cycle)
{
    rc_heap *h = quiet_heap();
    fin_runs = 0;
    released = 0;
    resurrected = NULL;
    node *p = rc_new(h, &phoenix_type);
    p->n = 1;
    node *q = mk(h, 1);
    link_to(p, 0, q);
    link_to(q, 0, p);
    rc_decref(p);
    rc_decref(q);
    CHECK_EQ(rc_gc_collect(h, 2), 0); /* resurrected objects are not counted */
    CHECK_EQ(fin_runs, 1);
    CHECK_PTR_EQ(resurrected, p);
    CHECK(rc_is_finalized(p));
    CHECK_EQ(released, 0);
    CHECK_PTR_EQ(((node *)p)->slot[0], q); /* nothing was cleared */
    CHECK_HEAP(h);
    rc_decref(resurrected);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(fin_runs, 1); /* never twice */
    CHECK_EQ(released, 2);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(resurrection_by_counting)
{
    rc_heap *h = quiet_heap();
    fin_runs = 0;
    resurrected = NULL;
    node *p = rc_new(h, &phoenix_type);
    rc_decref(p);
    CHECK_EQ(fin_runs, 1);
    CHECK_PTR_EQ(resurrected, p);
    CHECK_EQ(rc_refcount(p), 1);
    CHECK(rc_is_tracked(p));
    CHECK_HEAP(h);
    rc_decref(p);
    CHECK_EQ(fin_runs, 1);
    rc_heap_free(h);
}

static void legacy_fin(void *obj) { (void)obj; fin_runs++; }
static const rc_type legacy_type = {"legacy", sizeof(node) + sizeof(void *), node_traverse,
                                    legacy_fin, count_release, RC_TYPE_LEGACY_FINALIZER};

TEST(legacy_finalizer_keeps_its_cycle)
{
    rc_heap *h = quiet_heap();
    fin_runs = 0;
    released = 0;
    node *l = rc_new(h, &legacy_type);
    l->n = 1;
    node *x = mk(h, 1);
    link_to(l, 0, x);
    link_to(x, 0, l);
    rc_decref(l);
    rc_decref(x);
    CHECK_EQ(rc_gc_collect(h, 2), 2); /* uncollectable: l and what it reaches */
    CHECK_EQ(fin_runs, 0);
    CHECK_EQ(rc_gc_garbage_count(h), 1);
    CHECK_PTR_EQ(rc_gc_garbage_get(h, 0), l);
    CHECK_PTR_EQ(l->slot[0], x);
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].uncollectable, 2);
    CHECK_HEAP(h);
    /* the program breaks the cycle and clears the list */
    rc_clearref(&x->slot[0]);
    rc_gc_garbage_clear(h);
    CHECK_EQ(fin_runs, 1);
    CHECK_EQ(released, 2);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(deep_chain_by_counting)
{
    rc_heap *h = quiet_heap();
    released = 0;
    const long n = 10 * 1000 * 1000;
    rc_decref(chain(h, n, NULL));
    CHECK_EQ(released, n);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(deep_cycle_by_collection)
{
    rc_heap *h = quiet_heap();
    released = 0;
    const long n = 1000 * 1000;
    node *cur, *head = chain(h, n, &cur);
    link_to(cur, 0, head);
    rc_decref(head);
    CHECK_EQ(rc_gc_collect(h, 2), n);
    CHECK_EQ(released, n);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(tombstones_are_swept)
{
    rc_heap *h = quiet_heap();
    enum { N = 20000 };
    static node *v[N];
    for (int i = 0; i < N; i++) v[i] = mk(h, 1);
    /* FIFO frees leave holes behind the live tail */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < N; i++) {
            rc_decref(v[i]);
            v[i] = mk(h, 1);
        }
        CHECK_HEAP(h);
    }
    CHECK_LE(h->len, 2 * N + 8192);
    for (int i = 0; i < N; i++) rc_decref(v[i]);
    CHECK_EQ(h->len, 0);
    rc_heap_free(h);
}

static int count_obj(void *obj, void *arg)
{
    (void)obj;
    (*(long *)arg)++;
    return 0;
}

/* Old objects are paged: a gen1 collection's survivors (pending) and a full
 * one's (old) leave the tracked array, which then holds the young bands
 * only; they stay tracked, counted, walkable, freezable and collectable,
 * and their deaths leave no slot behind.  A full collection finds a cycle
 * between an old object and a young one, and one among old objects that
 * a mark stack of any size must visit (a fan of N leaves). */
TEST(old_objects_are_paged)
{
    rc_heap *h = quiet_heap();
    enum { N = 20000 };
    node *fan = mk(h, N);
    REQUIRE(fan != NULL);
    for (int i = 0; i < N; i++) fan->slot[i] = mk(h, 1); /* steal */
    CHECK_EQ(h->len, N + 1);
    CHECK_EQ(rc_gc_collect(h, 1), 0);
    CHECK_EQ(h->len, 0); /* all pending: paged */
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, N + 1);
    CHECK(rc_is_tracked(fan) && rc_is_tracked(fan->slot[7]));
    long n = 0;
    CHECK_EQ(rc_gc_get_objects(h, 2, count_obj, &n), 0);
    CHECK_EQ(n, N + 1);
    CHECK_HEAP(h);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    CHECK_EQ(h->len, 0); /* all old: paged */
    CHECK_HEAP(h);
    /* A cycle of two old leaves, dropped by the fan. */
    link_to(fan->slot[1], 0, fan->slot[2]);
    link_to(fan->slot[2], 0, fan->slot[1]);
    rc_clearref(&fan->slot[1]);
    rc_clearref(&fan->slot[2]);
    /* A cycle between an old leaf and a young node. */
    node *young = mk(h, 1);
    link_to(fan->slot[3], 0, young);
    young->slot[0] = fan->slot[3]; /* steal the fan's reference */
    fan->slot[3] = NULL;
    rc_decref(young);
    CHECK_EQ(h->len, 1);
    released = 0;
    CHECK_EQ(rc_gc_collect(h, 2), 4);
    CHECK_EQ(released, 4);
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, N + 1 - 3);
    CHECK_EQ(h->len, 0);
    CHECK_HEAP(h);
    /* Freezing marks every one frozen, unfreezing old again. */
    node *y2 = mk(h, 0);
    rc_gc_freeze(h);
    CHECK_EQ(rc_gc_get_freeze_count(h), N + 1 - 3 + 1);
    n = 0;
    CHECK_EQ(rc_gc_get_objects(h, -1, count_obj, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(h->len, 0);
    CHECK_HEAP(h);
    rc_decref(y2); /* a frozen object's death */
    CHECK_EQ(rc_gc_get_freeze_count(h), N + 1 - 3);
    rc_gc_unfreeze(h);
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, N + 1 - 3);
    CHECK_HEAP(h);
    rc_decref(fan); /* old deaths by counting */
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[2].tracked, 0);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

/* The tracked array gives its memory back once most of it is unused: after
 * a large structure dies (freed by counting, or as cyclic garbage), its
 * capacity falls back near what the survivors need. */
TEST(tracked_array_shrinks)
{
    rc_heap *h = quiet_heap();
    enum { N = 200000 };
    node *keep = mk(h, 1);
    node *head = chain(h, N, NULL); /* freed by counting */
    CHECK_GE(h->cap, N);
    rc_decref(head);
    CHECK_HEAP(h);
    CHECK_LE(h->cap, 8192);
    node *prev, *first = chain(h, N, &prev); /* a ring: cyclic garbage */
    link_to(prev, 0, first);
    CHECK_GE(h->cap, N);
    rc_decref(first);
    CHECK_EQ(rc_gc_collect(h, 2), N);
    CHECK_HEAP(h);
    CHECK_LE(h->cap, 8192);
    CHECK_EQ(rc_refcount(keep), 1); /* the survivor kept its slot */
    CHECK(rc_is_tracked(keep));
    rc_decref(keep);
    rc_heap_free(h);
}

TEST(untrack_and_track)
{
    rc_heap *h = quiet_heap();
    released = 0;
    node *a = mk(h, 1);
    link_to(a, 0, a);
    rc_untrack(a);
    rc_untrack(a);
    CHECK(!rc_is_tracked(a));
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(h, 2), 0); /* invisible */
    rc_track(a);
    CHECK(rc_is_tracked(a));
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(released, 1);
    /* untracked container still drops its references */
    node *b = mk(h, 1);
    node *c = mk(h, 0);
    link_to(b, 0, c);
    rc_decref(c);
    rc_untrack(b);
    rc_decref(b);
    CHECK_EQ(released, 3);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(automatic_collection_at_threshold)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.threshold[0] = 10;
    rc_heap *h = rc_heap_new(&cfg);
    node *keep[11];
    size_t cnt[3];
    for (int i = 0; i < 10; i++) keep[i] = mk(h, 1);
    rc_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 10);
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[0].collections, 0);
    keep[10] = mk(h, 1); /* the 11th passes the threshold */
    rc_gc_get_stats(h, st);
    CHECK_EQ(st[0].collections, 1);
    rc_gc_get_count(h, cnt);
    CHECK_EQ(cnt[1], 1);
    for (int i = 0; i < 11; i++) rc_decref(keep[i]);
    rc_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 0);
    CHECK_HEAP(h);
    rc_heap_free(h);
}

TEST(out_of_memory_is_clean)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.memory_limit = 64 * 1024;
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    /* fill with cyclic garbage: the emergency collection frees it */
    for (int i = 0; i < 10000; i++) {
        node *a = mk(h, 1);
        REQUIRE(a != NULL);
        link_to(a, 0, a);
        rc_decref(a);
    }
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    CHECK_GT(st[2].collections, 0);
    /* now live objects: allocation fails cleanly */
    node *head = mk(h, 1), *cur = head;
    long made = 1;
    for (;;) {
        node *nx = mk(h, 1);
        if (!nx) break;
        cur->slot[0] = nx;
        cur = nx;
        made++;
    }
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    CHECK_GT(made, 100);
    long seen = 0;
    for (node *p = head; p; p = p->slot[0]) seen++;
    CHECK_EQ(seen, made);
    CHECK_HEAP(h);
    rc_decref(head);
    rc_heap_free(h);
}

TEST(heap_free_releases_everything)
{
    rc_heap *h = quiet_heap();
    released = 0;
    fin_runs = 0;
    node *a = mk(h, 1);
    link_to(a, 0, a);
    rc_decref(a);         /* garbage: collected at heap_free */
    mk(h, 0);             /* leaked container */
    rc_new(h, &blob_type); /* leaked atomic */
    node *f = mk(h, 0);
    rc_gc_freeze(h);
    (void)f;
    rc_heap_free(h);
    CHECK_EQ(released, 4);
}

/* A full collection of more than 16,384 tracked objects, which release
 * builds follow through the prefetch ring (debug builds always do): long
 * chains held from outside, reached through the ring's refills, and
 * two-object cycles between them as garbage. */
/* Two nodes referring to each other, dropped: cyclic garbage. */
static void garbage_pair(rc_heap *h)
{
    node *a = mk(h, 1), *b = mk(h, 1);
    REQUIRE(a && b);
    link_to(a, 0, b);
    link_to(b, 0, a);
    rc_decref(a);
    rc_decref(b);
}

TEST(large_collection_through_the_ring)
{
    rc_heap *h = quiet_heap();
    enum { CHAINS = 3, LEN = 8000, PAIRS = 3000 };
    node *head[CHAINS];
    for (int c = 0; c < CHAINS; c++) {
        head[c] = chain(h, LEN, NULL);
        for (int k = 0; k < PAIRS / CHAINS; k++) garbage_pair(h);
    }
    CHECK_EQ(rc_gc_collect(h, 2), 2 * PAIRS);
    for (int c = 0; c < CHAINS; c++) { /* every chain is whole */
        long n = 0;
        for (node *nd = head[c]; nd; nd = nd->slot[0]) n++;
        CHECK_EQ(n, LEN);
    }
    CHECK_HEAP(h);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    for (int c = 0; c < CHAINS; c++) rc_decref(head[c]);
    rc_heap_free(h);
}

/* rc_heap_free: "nothing is freed one by one" holds for an atomic object
 * with no hook too, though the counting path frees those without looking
 * at the heap: a release that drops the last reference to one can still
 * read it afterwards (under ASan, a freed block would be reported). */
/* rc_heap_free's walk releases a leaked holder, whose release drops the
 * last reference it holds (`plain`), looks at that object again and asks
 * for a collection. */
typedef struct holder { void *plain; } holder;
static const rc_type plain_type = {"plain", 32, NULL, NULL, NULL, 0};
static rc_heap *holder_heap;
static const rc_type *seen_after_drop;
static long collected_in_release;
static void holder_release(void *o)
{
    holder *x = o;
    void *c = x->plain;
    if (!c) return;
    x->plain = NULL;
    rc_decref(c); /* its last reference */
    seen_after_drop = rc_type_of(c);
    collected_in_release = rc_gc_collect(holder_heap, 2);
}
static const rc_type holder_type = {"holder", sizeof(holder), NULL, NULL, holder_release, 0};

/* A holder of `held` (taking the caller's reference), leaked. */
static void leak_holder(rc_heap *h, void *held)
{
    holder_heap = h;
    seen_after_drop = NULL;
    collected_in_release = -1;
    holder *x = rc_new(h, &holder_type);
    REQUIRE(x != NULL);
    x->plain = held;
}

TEST(heap_free_frees_nothing_one_by_one)
{
    rc_heap *h = quiet_heap();
    void *p = rc_new(h, &plain_type);
    REQUIRE(p != NULL);
    leak_holder(h, p);
    rc_heap_free(h); /* the holder's release runs in the walk */
    CHECK(seen_after_drop == &plain_type);
}

/* A collection asked for there collects nothing (it returns 0): the walk
 * owns every block, and no finalizer runs.  The cycle the release drops is
 * released once, by the walk, which reaches its nodes first (their page
 * came first). */
TEST(heap_free_collects_nothing_from_a_release)
{
    rc_heap *h = quiet_heap();
    released = 0;
    node *b, *a = chain(h, 2, &b);
    link_to(b, 0, a); /* a <-> b */
    leak_holder(h, a);
    rc_heap_free(h);
    CHECK_EQ(collected_in_release, 0);
    CHECK_EQ(released, 2);
}

/* Containers whose type has no finalize and no release die on rc__dealloc's
 * short path (object.c, dealloc_container): untracked from gen0, from an
 * older band, or not tracked at all; their references dropped (a long
 * chain nests no deeper than the deferred list allows); count[0] lowered,
 * never below 0; their buffers and memory freed. */
static rc_heap *plain_heap;
static int plain_depth_max;
static int plain_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    if (plain_heap && plain_heap->dealloc_depth > plain_depth_max)
        plain_depth_max = plain_heap->dealloc_depth;
    return node_traverse(obj, visit, arg);
}
static const rc_type plain_node_type = {"plain_node", sizeof(node), plain_traverse, NULL,
                                        NULL, 0};

static node *mk_plain(rc_heap *h)
{
    node *nd = rc_new_var(h, &plain_node_type, sizeof(node) + sizeof(void *));
    REQUIRE(nd != NULL);
    nd->n = 1;
    return nd;
}

TEST(plain_containers_die_on_the_short_path)
{
    rc_heap *h = quiet_heap();
    rc_memory_stats ms0, ms;
    rc_heap_memory_stats(h, &ms0);
    enum { N = 20000, Y = 300 };
    node *old = mk_plain(h), *cur = old;
    for (int i = 1; i < N; i++) {
        node *nx = mk_plain(h);
        cur->slot[0] = nx; /* steal the reference */
        cur = nx;
    }
    CHECK_EQ(rc_gc_collect(h, 0), 0); /* the chain is gen1 now */
    node *young[Y];
    for (int i = 0; i < Y; i++) young[i] = mk_plain(h);
    REQUIRE(rc_buf_alloc(young[150], 100) != NULL);
    size_t count[3];
    rc_gc_get_count(h, count);
    CHECK_EQ(count[0], Y);
    for (int i = 0; i < 100; i++) rc_decref(young[i]); /* gen0 deaths */
    rc_gc_get_count(h, count);
    CHECK_EQ(count[0], Y - 100);
    CHECK_EQ(h->len, N + Y - 100);
    CHECK_HEAP(h);
    rc_untrack(young[100]);
    rc_decref(young[100]); /* an untracked container still counts */
    rc_gc_get_count(h, count);
    CHECK_EQ(count[0], Y - 101);
    plain_heap = h;
    plain_depth_max = 0;
    rc_decref(old); /* N deaths in gen1: count[0] stops at 0 */
    plain_heap = NULL;
    CHECK_LE(plain_depth_max, 64);
    CHECK_GE(plain_depth_max, 32);
    rc_gc_get_count(h, count);
    CHECK_EQ(count[0], 0);
    CHECK_EQ(h->live[RC__GEN1], 0);
    CHECK_HEAP(h);
    for (int i = 101; i < Y; i++) rc_decref(young[i]); /* one owns a buffer */
    CHECK_EQ(h->live[RC__GEN0], 0);
    CHECK_HEAP(h);
    rc_heap_memory_stats(h, &ms);
    CHECK_EQ(ms.bytes_in_use, ms0.bytes_in_use);
    rc_heap_free(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
