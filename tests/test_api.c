/* test_api.c — the public functions the other suites do not reach: versions,
 * the x-variants and slot helpers, sizes, weak reference counts, memory
 * statistics, the adaptive scheduling policy, and bad input.
 */
#include "check.h"

#include <recycle.h>

typedef struct node {
    void *slot[2];
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (int i = 0; i < 2; i++) {
        if (n->slot[i]) {
            int r = visit(&n->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}
static int released;
static void note_release(void *obj) { (void)obj; released++; }
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, note_release, 0};
static const rc_type atom_type = {"atom", 8, NULL, NULL, note_release, 0};

static rc_heap *quiet_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    return h;
}

TEST(version)
{
    CHECK_EQ(rc_version(), RC_VERSION_HEX);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", RC_VERSION_MAJOR, RC_VERSION_MINOR,
             RC_VERSION_PATCH);
    CHECK_STR_EQ(rc_version_string(), want);
}

TEST(config_defaults)
{
    rc_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    rc_config_init(&cfg);
    CHECK_EQ(cfg.threshold[0], 700);
    CHECK_EQ(cfg.threshold[1], 10);
    CHECK_EQ(cfg.threshold[2], 10);
    CHECK_EQ(cfg.debug, 0);
    CHECK_EQ(cfg.gc_enabled, 1);
    CHECK_PTR_EQ(cfg.debug_stream, stderr);
    CHECK_EQ(cfg.memory_limit, 0);
    CHECK_EQ(cfg.policy, RC_POLICY_PYTHON);
}

TEST(x_variants_and_slot_helpers)
{
    rc_heap *h = quiet_heap();
    released = 0;
    rc_xincref(NULL);
    rc_xdecref(NULL);
    node *a = rc_new(h, &node_type);
    void *b = rc_new(h, &atom_type);
    rc_xincref(b);
    CHECK_EQ(rc_refcount(b), 2);
    rc_xdecref(b);
    CHECK_EQ(rc_refcount(b), 1);
    rc_setref(&a->slot[0], b); /* a takes its own reference */
    CHECK_EQ(rc_refcount(b), 2);
    rc_setref(&a->slot[0], b); /* storing the same value keeps it alive */
    CHECK_EQ(rc_refcount(b), 2);
    rc_decref(b);
    rc_clearref(&a->slot[0]); /* the last reference: freed */
    CHECK_NULL(a->slot[0]);
    CHECK_EQ(released, 1);
    rc_decref(a);
    CHECK_EQ(released, 2);
    rc_heap_free(h);
}

TEST(sizes_alignment_and_zeroing)
{
    rc_heap *h = quiet_heap();
    for (size_t size = 8; size < 70000; size = size * 3 + 5) {
        unsigned char *p = rc_new_var(h, &atom_type, size);
        REQUIRE(p != NULL);
        CHECK_EQ((uintptr_t)p % 16, 0);
        CHECK_GE(rc_size_of(p), size);
        size_t nonzero = 0;
        for (size_t i = 0; i < size; i++) nonzero += p[i] != 0;
        CHECK_EQ(nonzero, 0);
        memset(p, 0xab, rc_size_of(p)); /* the whole usable size is ours */
        rc_decref(p);
    }
    rc_heap_free(h);
}

TEST(bad_input_is_an_error_not_a_crash)
{
    rc_heap *h = quiet_heap();
    CHECK_NULL(rc_new(NULL, &atom_type));
    CHECK_NULL(rc_new(h, NULL));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_NULL(rc_new_var(h, &node_type, sizeof(node) - 1)); /* smaller than the type */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_NULL(rc_new((rc_heap *)h, (const rc_type *)((const char *)&atom_type + 1)));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(rc_gc_collect(h, 3), -1);
    CHECK_EQ(rc_last_error(h), RC_ERANGE);
    CHECK_EQ(rc_gc_collect(h, -1), -1);
    CHECK_EQ(rc_gc_get_objects(h, 5, NULL, NULL), -1);
    CHECK_EQ(rc_gc_collect(NULL, 0), -1);
    CHECK_EQ(rc_heap_memory_stats(h, NULL), -1);
    CHECK_EQ(rc_gc_callback_add(h, NULL, NULL), -1);
    CHECK_NULL(rc_weakref_new(NULL, NULL, NULL));
    CHECK_NULL(rc_weakref_get(NULL));
    CHECK_EQ(rc_refcount(NULL), 0);
    CHECK_NULL(rc_type_of(NULL));
    CHECK_NULL(rc_heap_of(NULL));
    CHECK_EQ(rc_is_tracked(NULL), 0);
    rc_track(NULL);
    rc_untrack(NULL);
    rc_heap_free(NULL);
    /* every code has a message; unknown ones too */
    for (int code = 0; code >= -7; code--) CHECK(strlen(rc_strerror(code)) > 0);
    CHECK_STR_EQ(rc_strerror(12345), "unknown error");
    /* an unknown policy is refused */
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.policy = 99;
    CHECK_NULL(rc_heap_new(&cfg));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    rc_heap_free(h);
}

static int misuse_reports;
static void count_misuse(const char *message, const void *obj, void *data)
{
    (void)message, (void)obj, (void)data;
    misuse_reports++;
}

/* Heaps must not refer to each other (misuse).  When they do, collecting
 * one must leave the other intact, whose tracked index may fall inside the
 * collected range, so that rc_heap_check can still report the mistake: a
 * release build goes on, a debug build reports through the misuse handler
 * (here one that returns). */
TEST(reference_into_another_heap_corrupts_nothing)
{
    rc_set_misuse_handler(count_misuse, NULL);
    misuse_reports = 0;
    rc_heap *a = quiet_heap(), *b = quiet_heap();
    node *b0 = rc_new(b, &node_type); /* index 0 in b */
    node *a0 = rc_new(a, &node_type), *a1 = rc_new(a, &node_type);
    REQUIRE(b0 && a0 && a1);
    rc_setref(&a1->slot[0], b0);      /* the misuse */
    CHECK_EQ(rc_gc_collect(a, 2), 0);
    CHECK_EQ(rc_gc_collect(a, 2), 0);
    CHECK_EQ(rc_heap_check(b, NULL), 0); /* b untouched */
    CHECK_EQ(rc_refcount(b0), 2);
    CHECK(rc_is_tracked(b0));
    CHECK_EQ(rc_heap_check(a, NULL), -1); /* a's reference out is reported */
    CHECK_EQ(rc_gc_collect(b, 2), 0);    /* b's own collection: b0 is alive */
    CHECK_EQ(rc_refcount(b0), 2);
    rc_clearref(&a1->slot[0]);
    CHECK_EQ(rc_heap_check(a, NULL), 0);
    rc_decref(a0);
    rc_decref(a1);
    rc_decref(b0);
    rc_heap_free(a);
    rc_heap_free(b);
    rc_set_misuse_handler(NULL, NULL);
#if defined(RC_DEBUG) && RC_DEBUG
    CHECK_GE(misuse_reports, 1);
#else
    CHECK_EQ(misuse_reports, 0);
#endif
}

TEST(weakref_count)
{
    rc_heap *h = quiet_heap();
    void *a = rc_new(h, &atom_type);
    CHECK_EQ(rc_weakref_count(a), 0);
    rc_weakref *w1 = rc_weakref_new(a, NULL, NULL);
    rc_weakref *w2 = rc_weakref_new(a, NULL, NULL);
    CHECK_EQ(rc_weakref_count(a), 2);
    CHECK_EQ(rc_refcount(a), 1); /* weak references hold no strong one */
    rc_decref(w1);
    CHECK_EQ(rc_weakref_count(a), 1);
    rc_decref(a);
    CHECK_NULL(rc_weakref_get(w2));
    rc_decref(w2);
    rc_heap_free(h);
}

TEST(memory_stats_follow_the_objects)
{
    rc_heap *h = quiet_heap();
    rc_memory_stats before, during, after;
    CHECK_EQ(rc_heap_memory_stats(h, &before), 0);
    CHECK_EQ(before.bytes_in_use, 0);
    enum { N = 5000 };
    static void *v[N];
    for (int i = 0; i < N; i++) v[i] = rc_new(h, &atom_type);
    void *big = rc_new_var(h, &atom_type, 1 << 20);
    REQUIRE(big != NULL);
    CHECK_EQ(rc_heap_memory_stats(h, &during), 0);
    CHECK_GE(during.bytes_in_use, (size_t)N * (8 + 16) + (1u << 20));
    CHECK_GE(during.bytes_from_os, during.bytes_in_use);
    CHECK_GE(during.large_objects, 1);
    CHECK_GE(during.pools_in_use, 1);
    CHECK(during.fragmentation >= 0.0 && during.fragmentation < 1.0);
    size_t in_classes = 0;
    for (size_t c = 0; c < during.nclasses; c++)
        in_classes += during.classes[c].blocks_in_use * during.classes[c].block_size;
    CHECK_EQ(in_classes + during.large_bytes, during.bytes_in_use);
    for (int i = 0; i < N; i++) rc_decref(v[i]);
    rc_decref(big);
    CHECK_EQ(rc_heap_memory_stats(h, &after), 0);
    CHECK_EQ(after.bytes_in_use, 0);
    CHECK_LT(after.bytes_from_os, during.bytes_from_os);
    rc_heap_free(h);
}

/* The adaptive policy waits longer while collections find nothing, comes
 * back to threshold[0] when they find garbage, and keeps cyclic garbage
 * bounded by the tracked heap. */
TEST(adaptive_policy)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.policy = RC_POLICY_ADAPTIVE;
    cfg.threshold[0] = 100;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    enum { LIVE = 20000 };
    static node *keep[LIVE];
    for (int i = 0; i < LIVE; i++) keep[i] = rc_new(h, &node_type);
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t young = st[0].collections;
    CHECK_GT(young, 0);
    CHECK_LT(young, LIVE / 100 / 4); /* Python's rules would run ~200 */
    /* now cyclic garbage: collections find it and the wait resets */
    size_t peak = 0;
    for (int i = 0; i < 50000; i++) {
        node *a = rc_new(h, &node_type);
        rc_setref(&a->slot[0], a);
        rc_decref(a);
        rc_gc_get_stats(h, st);
        size_t tracked = st[0].tracked + st[1].tracked + st[2].tracked;
        if (tracked > peak) peak = tracked;
    }
    CHECK_LE(peak, 2 * LIVE + 200); /* garbage never outgrew the live heap */
    rc_gc_get_stats(h, st);
    CHECK_GT(st[0].collected + st[1].collected + st[2].collected, 40000);
    for (int i = 0; i < LIVE; i++) rc_decref(keep[i]);
    rc_heap_free(h);
}

static int refused;
static void fin_free_heap(void *obj)
{
    rc_heap *h = rc_heap_of(obj);
    rc_heap_free(h); /* from inside the heap: refused */
    if (rc_last_error(h) == RC_EBUSY) refused++;
}
static const rc_type freeing_type = {"frees_heap", sizeof(node), node_traverse, fin_free_heap,
                                     NULL, 0};

TEST(heap_free_refused_from_inside)
{
    rc_heap *h = quiet_heap();
    refused = 0;
    node *a = rc_new(h, &freeing_type); /* by counting */
    rc_decref(a);
    node *b = rc_new(h, &freeing_type); /* in a collection */
    rc_setref(&b->slot[0], b);
    rc_decref(b);
    rc_gc_collect(h, 2);
    CHECK_EQ(refused, 2);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
