/* test_contract.c — behaviours docs/API.md once stated two ways (issue 12,
 * item 3), each now stated once and checked here:
 *   - objects an RC_GC_START callback creates wait for the next collection;
 *   - `release` sees NULL slots when its object dies by counting or in a
 *     collection, and its slots untouched at rc_heap_free;
 *   - rc_heap_free from user code the heap is running is refused: -1 and
 *     RC_EBUSY, whose message says what is running, the heap untouched.
 */
#include "check.h"
#include "recycle.h"

typedef struct box {
    void *slot;
    int   id;
} box;

static int box_traverse(void *o, rc_visit_fn visit, void *arg)
{
    return visit(&((box *)o)->slot, arg);
}

/* ------------------------------------------------------------------ */
/* Objects made by an RC_GC_START callback wait                        */
/* ------------------------------------------------------------------ */

static const rc_type plain_box = {"box", sizeof(box), box_traverse, NULL, NULL, 0};

/* A self-cycle, dropped: garbage for the next collection that looks. */
static void self_cycle(rc_heap *h)
{
    box *b = rc_new(h, &plain_box);
    REQUIRE(b != NULL);
    rc_setref(&b->slot, b);
    rc_decref(b);
}

static int starts;
static void make_garbage_at_start(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)info;
    (void)data;
    if (phase != RC_GC_START || starts++ > 0) return;
    for (int i = 0; i < 3; i++) self_cycle(h);
}

TEST(start_callback_objects_wait_for_the_next_collection)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    starts = 0;
    self_cycle(h);
    REQUIRE(rc_gc_callback_add(h, make_garbage_at_start, NULL) == 0);
    CHECK_EQ(rc_gc_collect(h, 2), 1); /* not the 3 the callback made */
    CHECK_EQ(rc_gc_collect(h, 2), 3);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    CHECK_EQ(rc_heap_free(h), 0);
}

/* ------------------------------------------------------------------ */
/* What release sees in the slots                                      */
/* ------------------------------------------------------------------ */

static int slot_null[4], slot_set[4];
static void record_slot(void *o)
{
    box *b = o;
    if (b->slot) slot_set[b->id]++;
    else slot_null[b->id]++;
}
static const rc_type recording_box = {"box", sizeof(box), box_traverse, NULL, record_slot, 0};

static box *linked(rc_heap *h, int id, void *to)
{
    box *b = rc_new(h, &recording_box);
    REQUIRE(b != NULL);
    b->id = id;
    rc_setref(&b->slot, to);
    return b;
}

TEST(release_sees_null_slots_except_at_heap_free)
{
    memset(slot_null, 0, sizeof slot_null);
    memset(slot_set, 0, sizeof slot_set);
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    box *leaf = linked(h, 3, NULL);
    box *counted = linked(h, 0, leaf);  /* dies by counting */
    box *cyclic = linked(h, 1, leaf);   /* dies in a collection */
    rc_setref(&cyclic->slot, cyclic);
    box *kept = linked(h, 2, leaf);     /* alive at rc_heap_free */
    rc_decref(leaf);
    rc_decref(counted);
    rc_decref(cyclic);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(slot_null[0], 1);
    CHECK_EQ(slot_null[1], 1);
    (void)kept;
    CHECK_EQ(rc_heap_free(h), 0);
    CHECK_EQ(slot_set[2], 1); /* untouched: still pointing at the leaf */
    CHECK_EQ(slot_null[2], 0);
    CHECK_EQ(slot_set[0] + slot_set[1] + slot_null[3], 1); /* the leaf's own slot is NULL */
}

/* ------------------------------------------------------------------ */
/* rc_heap_free from user code                                         */
/* ------------------------------------------------------------------ */

static rc_heap *H;
static int refusals, attempts;

/* What every place below does: try to free the heap it runs for. */
static void try_free(void)
{
    attempts++;
    if (rc_heap_free(H) == -1 && rc_last_error(H) == RC_EBUSY) refusals++;
}

static void release_frees(void *o) { (void)o; try_free(); }
static void finalize_frees(void *o) { (void)o; try_free(); }
static void weakref_frees(rc_weakref *r, void *d) { (void)r; (void)d; try_free(); }
static void callback_frees(rc_heap *h, int phase, const rc_gc_info *info, void *d)
{
    (void)h;
    (void)phase;
    (void)info;
    (void)d;
    try_free();
}
static int walk_frees(void *o, void *a) { (void)o; (void)a; try_free(); return 0; }

static const rc_type releasing = {"releasing", sizeof(box), box_traverse, NULL, release_frees, 0};
static const rc_type finalizing = {"finalizing", sizeof(box), box_traverse, finalize_frees,
                                   NULL, 0};
static const rc_type atom = {"atom", 16, NULL, NULL, NULL, 0};

TEST(heap_free_from_user_code_is_refused)
{
    H = rc_heap_new(NULL);
    REQUIRE(H != NULL);
    rc_gc_disable(H);
    refusals = attempts = 0;

    rc_decref(rc_new(H, &releasing));                      /* release, counting path */
    box *c = rc_new(H, &finalizing);                       /* finalizer, in a collection */
    rc_setref(&c->slot, c);
    rc_decref(c);
    void *a = rc_new(H, &atom);                            /* weak-reference callback */
    rc_weakref *w = rc_weakref_new(a, weakref_frees, NULL);
    rc_decref(a);
    rc_decref(w);
    REQUIRE(rc_gc_callback_add(H, callback_frees, NULL) == 0); /* gc callbacks */
    CHECK_EQ(rc_gc_collect(H, 2), 1);
    REQUIRE(rc_gc_callback_remove(H, callback_frees, NULL) == 0);
    box *held = rc_new(H, &plain_box);                     /* walk functions */
    box *holder = rc_new(H, &plain_box);
    rc_setref(&holder->slot, held);
    CHECK_EQ(rc_gc_get_objects(H, -1, walk_frees, NULL), 0);
    CHECK_EQ(rc_gc_get_referrers(H, held, walk_frees, NULL), 0);
    CHECK_EQ(rc_gc_get_referents(holder, walk_frees, NULL), 0);
    CHECK_EQ(attempts, 1 + 1 + 1 + 2 + 2 + 1 + 1);
    CHECK_EQ(refusals, attempts);
    CHECK_STR_EQ(rc_strerror(RC_EBUSY), "the heap is busy: a collection, free or walk is running");

    /* The heap is untouched and usable. */
    CHECK_EQ(rc_heap_check(H, stderr), 0);
    box *more = rc_new(H, &plain_box);
    CHECK(more != NULL);
    rc_decref(more);
    rc_decref(held);
    rc_decref(holder);

    /* Teardown's releases are refused too; then the heap goes. */
    rc_new(H, &releasing);
    attempts = refusals = 0;
    CHECK_EQ(rc_heap_free(H), 0);
    CHECK_EQ(attempts, 1);
    CHECK_EQ(refusals, 1);
    CHECK_EQ(rc_heap_free(NULL), 0);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
