/* test_owner.c — debug builds (RC_DEBUG) catch one heap used by two threads
 * at once (issue 12, item 6): two threads hammer one heap with rc_new,
 * rc_incref, rc_decref and collections; the call that finds the other
 * thread inside the heap is reported to the misuse handler, naming the heap,
 * and does nothing, so the heap stays sound.  Calls that nest in the owner's
 * own user code (a release that allocates and collects) are no misuse, and
 * neither is a heap handed from thread to thread.  Release builds check
 * nothing and print "skipped (release build)".
 */
#include "check.h"
#include "recycle.h"

#include <pthread.h>

#if defined(RC_DEBUG) && RC_DEBUG

static rc_heap *H;
static int reports;          /* misuse reports (atomic) */
static char first[256];      /* the first one's message */
static int others;           /* reports that were not about two threads */

static void record(const char *message, const void *obj, void *data)
{
    (void)data;
    if (!strstr(message, "heap used by two threads at once")) {
        __atomic_add_fetch(&others, 1, __ATOMIC_RELAXED);
        return;
    }
    if (__atomic_add_fetch(&reports, 1, __ATOMIC_RELAXED) == 1) {
        snprintf(first, sizeof first, "%s", message);
        if (obj != H) others++;
    }
}

typedef struct cell { void *next; } cell;
static int cell_traverse(void *o, rc_visit_fn v, void *a) { return v(&((cell *)o)->next, a); }
static const rc_type cell_type = {"cell", sizeof(cell), cell_traverse, NULL, NULL, 0};

/* Each step's calls may be refused: none depends on another's success. */
static void *hammer(void *arg)
{
    (void)arg;
    for (long i = 0; i < 2000000 && __atomic_load_n(&reports, __ATOMIC_RELAXED) < 100; i++) {
        cell *c = rc_new(H, &cell_type);
        if (!c) continue;
        if (i % 7 == 0) { /* cyclic garbage for the collections */
            rc_setref(&c->next, c);
            if (rc_refcount(c) != 2) c->next = NULL; /* its incref was refused */
        }
        rc_decref(c);
        if (i % 1000 == 0) rc_gc_collect(H, 0);
    }
    return NULL;
}

TEST(two_threads_on_one_heap_are_reported)
{
    H = rc_heap_new(NULL);
    REQUIRE(H != NULL);
    reports = others = 0;
    first[0] = '\0';
    rc_set_misuse_handler(record, NULL);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, hammer, NULL) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    rc_set_misuse_handler(NULL, NULL);
    printf("  %d reports; the first: %s\n", reports, first);
    CHECK_GT(reports, 0);
    CHECK_EQ(others, 0);
    char heap[64];
    snprintf(heap, sizeof heap, ": %p", (void *)H);
    CHECK_CONTAINS(first, heap);
    CHECK_EQ(rc_heap_check(H, stderr), 0); /* refused calls changed nothing */
    CHECK_EQ(rc_heap_free(H), 0);
}

/* One thread, calls nested in user code: no report. */
static void release_reenters(void *o)
{
    (void)o;
    cell *c = rc_new(H, &cell_type);
    if (c) rc_decref(c);
    rc_gc_collect(H, 2);
}
static const rc_type reentrant = {"reentrant", sizeof(cell), cell_traverse, NULL,
                                  release_reenters, 0};

static void *one_step(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        cell *c = rc_new(H, &reentrant);
        if (c) rc_decref(c);
    }
    rc_gc_collect(H, 2);
    return NULL;
}

TEST(nested_calls_and_handed_over_heaps_are_no_misuse)
{
    H = rc_heap_new(NULL);
    REQUIRE(H != NULL);
    reports = others = 0;
    rc_set_misuse_handler(record, NULL);
    one_step(NULL);
    for (int i = 0; i < 4; i++) { /* one thread after the other */
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, one_step, NULL) == 0);
        pthread_join(t, NULL);
    }
    rc_set_misuse_handler(NULL, NULL);
    CHECK_EQ(reports, 0);
    CHECK_EQ(others, 0);
    CHECK_EQ(rc_heap_check(H, stderr), 0);
    CHECK_EQ(rc_heap_free(H), 0);
}

#else
TEST(owner_check) { printf("  skipped (release build)\n"); }
#endif

int main(int argc, char **argv) { return check_main(argc, argv); }
