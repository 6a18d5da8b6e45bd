/* test_faults.c — out of memory, injected: a representative workload (chains,
 * cycles, weak references with callbacks, finalizers that allocate, explicit
 * and automatic collections) runs once with every allocation succeeding, then
 * once more for every N with the Nth block allocation and all after it
 * failing (rc_config.fail_alloc_after).  Every run must end with no crash,
 * every failing call reporting RC_ENOMEM, the heap consistent
 * (rc_heap_check), and every object that was made released exactly once —
 * the sanitizer and valgrind passes check that nothing leaks.
 */
#include "check.h"

#include <recycle.h>

typedef struct node {
    void *slot[3];
    int   payload;
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (int i = 0; i < 3; i++) {
        if (n->slot[i]) {
            int r = visit(&n->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static long made, released, enomem, other_errors, callbacks;
static void note_release(void *obj) { (void)obj; released++; }

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, note_release, 0};
static const rc_type atom_type = {"atom", 40, NULL, NULL, note_release, 0};

/* Counts a failed allocation by its error code. */
static void *checked(rc_heap *h, void *p)
{
    if (p) {
        made++;
    } else if (rc_last_error(h) == RC_ENOMEM) {
        enomem++;
    } else {
        other_errors++;
    }
    return p;
}

static node *mk(rc_heap *h) { return checked(h, rc_new(h, &node_type)); }

/* A finalizer that allocates (and may fail to): the new object is dropped
 * at once. */
static void fin_alloc(void *obj)
{
    rc_heap *h = rc_heap_of(obj);
    void *a = checked(h, rc_new(h, &atom_type));
    rc_xdecref(a);
}
static const rc_type fin_type = {"finalizing", sizeof(node), node_traverse, fin_alloc,
                                 note_release, 0};

static void weak_cb(rc_weakref *ref, void *data)
{
    (void)ref;
    (void)data;
    callbacks++;
}

static void workload(rc_heap *h)
{
    node *keep = mk(h);
    /* a chain of 40 held by keep */
    node *tail = keep;
    for (int i = 0; i < 40 && tail; i++) {
        node *n = mk(h);
        if (!n) break;
        tail->slot[0] = n; /* steals the reference */
        tail = n;
    }
    /* 30 two-cycles, a third with finalizers, some with atoms and weak refs */
    for (int i = 0; i < 30; i++) {
        node *a = checked(h, rc_new(h, i % 3 ? &node_type : &fin_type));
        node *b = mk(h);
        if (a && b) {
            rc_setref(&a->slot[0], b);
            rc_setref(&b->slot[0], a);
            void *atom = checked(h, rc_new(h, &atom_type));
            if (atom) {
                rc_setref(&b->slot[1], atom);
                rc_decref(atom);
            }
            if (i % 4 == 0) {
                rc_weakref *w = checked(h, rc_weakref_new(a, weak_cb, NULL));
                if (w && keep) {
                    rc_setref(&keep->slot[1 + i % 2], w);
                }
                rc_xdecref(w);
            }
        }
        rc_xdecref(a);
        rc_xdecref(b);
        if (i == 10) rc_gc_collect(h, 0);
    }
    rc_gc_collect(h, 2);
    /* a garbage ring of 200, left for rc_heap_free's last collection */
    node *first = mk(h), *prev = first;
    for (int i = 0; i < 200 && prev; i++) {
        node *n = mk(h);
        if (!n) break;
        prev->slot[0] = n;
        prev = n;
    }
    if (prev && first) rc_setref(&prev->slot[0], first);
    rc_xdecref(first);
    rc_xdecref(keep);
}

/* One run with allocations failing from the fail_after-th on (0: none);
 * `expect_failure` says whether the run makes that many allocations. */
static void run(unsigned long fail_after, int expect_failure)
{
    made = released = enomem = other_errors = 0;
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.threshold[0] = 50; /* automatic collections happen inside the run */
    cfg.fail_alloc_after = fail_after;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    workload(h);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
    /* weak references are objects too, released by their own type */
    CHECK_EQ(other_errors, 0);
    if (expect_failure) CHECK_GT(enomem, 0);
}

TEST(every_allocation_fails_in_turn)
{
    run(0, 0);
    long total = made;
    CHECK_EQ(enomem, 0);
    CHECK_GT(total, 300);
    long runs = 0;
    for (unsigned long n = 1; n <= (unsigned long)total + 2; n++) {
        run(n, n <= (unsigned long)total);
        runs++;
        if (check_failures) {
            fprintf(stderr, "  failing from allocation %lu on\n", n);
            break;
        }
    }
    printf("  %ld runs, allocations 1..%ld failing in turn\n", runs, total + 2);
}

/* Every object made is released exactly once, whatever fails. */
static const rc_type count_type = {"counted", sizeof(node), node_traverse, NULL, note_release,
                                   0};
TEST(releases_match_when_allocations_fail)
{
    for (unsigned long n = 1; n < 60; n += 7) {
        made = released = 0;
        rc_config cfg;
        rc_config_init(&cfg);
        cfg.fail_alloc_after = n;
        rc_heap *h = rc_heap_new(&cfg);
        REQUIRE(h != NULL);
        node *held = NULL;
        for (int i = 0; i < 100; i++) {
            node *x = checked(h, rc_new(h, &count_type));
            if (!x) continue;
            if (held) rc_setref(&x->slot[0], held);
            rc_xdecref(held);
            held = x;
        }
        rc_xdecref(held);
        rc_heap_free(h);
        CHECK_EQ(released, made);
        CHECK_EQ(made, (long)(n - 1));
    }
}

int main(int argc, char **argv) { return check_main(argc, argv); }
