/* test_threads.c — heaps and threads (API.md: a heap is used by one thread
 * at a time; heaps used by different threads at once need no lock;
 * finalizers and callbacks run in the thread that called in).
 *
 *   heaps_churn_in_parallel    8 threads, a heap each, churning for a bounded
 *                              time (THREADS_SECONDS, default 1.5): garbage
 *                              rings with finalizers, chains freed by
 *                              counting, weak references with callbacks,
 *                              collections of every generation, freezing;
 *                              every count checked per round and at the end.
 *   heap_handed_between_threads  one heap, 4 threads taking turns under the
 *                              program's own mutex, growing and cutting one
 *                              shared structure; callbacks and finalizers
 *                              run in the thread holding the heap.
 *
 * `make tsan` runs this file under ThreadSanitizer (RC_TSAN=ON): any report
 * fails it.
 */
#include "check.h"

#include <recycle.h>

#include <pthread.h>
#include <sys/time.h>

#if defined(RC_VALGRIND) && RC_VALGRIND
#  define THREADS_DEFAULT_SECONDS 0.3
#else
#  define THREADS_DEFAULT_SECONDS 1.5
#endif

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double run_seconds(void)
{
    const char *s = getenv("THREADS_SECONDS");
    return s && *s ? atof(s) : THREADS_DEFAULT_SECONDS;
}

/* What one heap's user code saw; each object points at its owner's. */
typedef struct tally {
    long made, released, finalized, callbacks;
    pthread_t owner;  /* the thread that must be running our code */
    long wrong_thread;
} tally;

typedef struct tnode {
    tally *t;
    void  *slot[3];
} tnode;

static int tnode_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    tnode *n = obj;
    for (int i = 0; i < 3; i++) {
        if (n->slot[i]) {
            int r = visit(&n->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static void note_thread(tally *t)
{
    if (!pthread_equal(t->owner, pthread_self())) t->wrong_thread++;
}

static void tnode_release(void *obj)
{
    tnode *n = obj;
    n->t->released++;
    note_thread(n->t);
}

static void tnode_finalize(void *obj)
{
    tnode *n = obj;
    n->t->finalized++;
    note_thread(n->t);
}

static const rc_type T_NODE = {"tnode", sizeof(tnode), tnode_traverse, NULL, tnode_release, 0};
static const rc_type T_FIN = {"tnode/fin", sizeof(tnode), tnode_traverse, tnode_finalize,
                              tnode_release, 0};
static const rc_type T_ATOM = {"tatom", sizeof(tnode), NULL, NULL, tnode_release, 0};

static void on_weak(rc_weakref *ref, void *data)
{
    tally *t = data;
    t->callbacks++;
    note_thread(t);
    if (rc_weakref_get(ref) != NULL) t->wrong_thread += 1000; /* must be cleared */
}

static tnode *mk(rc_heap *h, tally *t, const rc_type *type)
{
    tnode *n = rc_new(h, type);
    if (n) {
        n->t = t;
        t->made++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Many heaps, many threads                                            */
/* ------------------------------------------------------------------ */

typedef struct worker {
    int      idx;
    double   seconds;
    uint64_t rng;
    tally    t;
    long     rounds, ring_nodes, errors, collected;
    long     weakrefs;
} worker;

#define WFAIL(w, ...)                                                        \
    do {                                                                     \
        fprintf(stderr, "  thread %d: ", (w)->idx);                          \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        (w)->errors++;                                                       \
    } while (0)

static void *churn(void *arg)
{
    worker *w = arg;
    w->t.owner = pthread_self();
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.threshold[0] = 20 + (size_t)(w->idx * 37 % 200);
    cfg.policy = w->idx % 3 == 0 ? RC_POLICY_ADAPTIVE : RC_POLICY_PYTHON;
    rc_heap *h = rc_heap_new(&cfg);
    if (!h) {
        WFAIL(w, "rc_heap_new failed");
        return NULL;
    }
    int manual = w->idx % 2 == 0; /* even threads: automatic collection off */
    if (manual) rc_gc_disable(h);
    tnode *keep = mk(h, &w->t, &T_NODE); /* a long-lived root */
    double end = now_s() + w->seconds;
    while (now_s() < end && w->errors == 0) {
        w->rounds++;
        /* garbage rings, some with finalizers, each weakly referenced */
        rc_weakref *refs[8];
        int nrefs = 0;
        long ring_nodes = 0, fin_nodes = 0;
        long fin_before = w->t.finalized, cb_before = w->t.callbacks;
        for (int r = 0; r < 8; r++) {
            int k = 2 + (int)(check_rand(&w->rng) % 40);
            tnode *first = mk(h, &w->t, r % 3 == 0 ? &T_FIN : &T_NODE), *prev = first;
            if (r % 3 == 0) fin_nodes++;
            for (int i = 1; i < k; i++) {
                tnode *n = mk(h, &w->t, i % 5 == 0 ? &T_FIN : &T_NODE);
                if (i % 5 == 0) fin_nodes++;
                tnode *a = mk(h, &w->t, &T_ATOM);
                rc_setref(&n->slot[1], a);
                rc_decref(a);
                prev->slot[0] = n; /* steals */
                prev = n;
            }
            rc_setref(&prev->slot[0], first);
            refs[nrefs++] = rc_weakref_new(first, on_weak, &w->t);
            w->weakrefs++;
            rc_decref(first);
            ring_nodes += k;
        }
        /* a chain held by the root, then cut: freed by counting */
        tnode *chain = mk(h, &w->t, &T_NODE), *c = chain;
        for (int i = 0; i < 200; i++) {
            tnode *n = mk(h, &w->t, i % 7 == 0 ? &T_FIN : &T_NODE);
            c->slot[0] = n;
            c = n;
        }
        rc_setref(&keep->slot[0], chain);
        rc_decref(chain);
        long fin_chain = 1 + 199 / 7;
        long fin_mid = w->t.finalized;
        rc_clearref(&keep->slot[0]);
        if (w->t.finalized - fin_mid != fin_chain)
            WFAIL(w, "chain: %ld finalizers, expected %ld", w->t.finalized - fin_mid, fin_chain);
        /* collections of every generation, then a full one */
        rc_gc_collect(h, (int)(w->rounds % 2));
        if (w->rounds % 5 == 0) rc_gc_freeze(h);
        long n = rc_gc_collect(h, 2);
        if (w->rounds % 5 == 0) {
            rc_gc_unfreeze(h);
            n += rc_gc_collect(h, 2);
        }
        w->collected += n;
        w->ring_nodes += ring_nodes;
        /* every ring is gone: finalizers, callbacks, exactly */
        long fin_rings = w->t.finalized - fin_before - fin_chain;
        if (fin_rings != fin_nodes)
            WFAIL(w, "rings: %ld finalizers, expected %ld", fin_rings, fin_nodes);
        if (w->t.callbacks - cb_before != nrefs)
            WFAIL(w, "%ld weakref callbacks, expected %d", w->t.callbacks - cb_before, nrefs);
        for (int i = 0; i < nrefs; i++) {
            if (rc_weakref_get(refs[i]) != NULL) WFAIL(w, "weakref not cleared");
            rc_decref(refs[i]);
        }
        if (w->rounds % 16 == 0 && rc_heap_check(h, stderr) != 0) WFAIL(w, "rc_heap_check failed");
    }
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t collected = st[0].collected + st[1].collected + st[2].collected;
    if (manual && (long)collected != w->ring_nodes)
        WFAIL(w, "collections freed %llu objects, %ld ring nodes were made",
              (unsigned long long)collected, w->ring_nodes);
    if (!manual && (long)collected < w->ring_nodes)
        WFAIL(w, "collections freed %llu objects, fewer than the %ld ring nodes",
              (unsigned long long)collected, w->ring_nodes);
    rc_decref(keep);
    rc_heap_free(h);
    if (w->t.released != w->t.made)
        WFAIL(w, "%ld objects made, %ld released", w->t.made, w->t.released);
    if (w->t.wrong_thread) WFAIL(w, "user code ran in another thread (%ld)", w->t.wrong_thread);
    return NULL;
}

TEST(heaps_churn_in_parallel)
{
    enum { N = 8 };
    worker ws[N];
    pthread_t tid[N];
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].idx = i;
        ws[i].seconds = run_seconds();
        ws[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        REQUIRE(pthread_create(&tid[i], NULL, churn, &ws[i]) == 0);
    }
    long rounds = 0, made = 0, errors = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(tid[i], NULL);
        rounds += ws[i].rounds;
        made += ws[i].t.made;
        errors += ws[i].errors;
        CHECK_GT(ws[i].rounds, 0);
    }
    CHECK_EQ(errors, 0);
    printf("  %d threads, %.1fs: %ld rounds, %ld objects made and released, counts checked\n",
           N, now_s() - t0, rounds, made);
}

/* ------------------------------------------------------------------ */
/* One heap, handed from thread to thread                              */
/* ------------------------------------------------------------------ */

typedef struct shared {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             turn, nthreads, turns;
    rc_heap        *h;
    tnode          *root;
    tally           t;
    long            errors, callbacks_expected;
} shared;

typedef struct hand {
    shared *s;
    int     idx;
} hand;

static void *take_turns(void *arg)
{
    hand *me = arg;
    shared *s = me->s;
    uint64_t rng = 0x1234567ull + (uint64_t)me->idx;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->turn < s->turns && s->turn % s->nthreads != me->idx)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->turn >= s->turns) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        /* The heap is ours until we hand it on. */
        rc_heap *h = s->h;
        s->t.owner = pthread_self();
        /* grow: a ring hung from the root's slot[1] chain */
        int k = 3 + (int)(check_rand(&rng) % 20);
        tnode *first = mk(h, &s->t, &T_FIN), *prev = first;
        for (int i = 1; i < k; i++) {
            tnode *n = mk(h, &s->t, &T_NODE);
            prev->slot[0] = n;
            prev = n;
        }
        rc_setref(&prev->slot[0], first);
        rc_setref(&first->slot[1], s->root->slot[1]); /* the older rings */
        rc_weakref *w = rc_weakref_new(first, on_weak, &s->t);
        rc_setref(&first->slot[2], w); /* held by its own referent: dies with it */
        rc_decref(w);
        rc_setref(&s->root->slot[1], first);
        rc_decref(first);
        /* cut: now and then drop everything but the newest ring */
        if (check_rand(&rng) % 4 == 0) {
            rc_clearref(&first->slot[1]);
            rc_gc_collect(h, (int)(check_rand(&rng) % 3));
        }
        if (s->turn % 16 == 0 && rc_heap_check(h, stderr) != 0) s->errors++;
        if (s->t.wrong_thread) s->errors++;
        s->turn++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

TEST(heap_handed_between_threads)
{
    enum { N = 4 };
    shared s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.nthreads = N;
    s.turns = 400;
    s.h = rc_heap_new(NULL);
    REQUIRE(s.h != NULL);
    s.t.owner = pthread_self();
    s.root = mk(s.h, &s.t, &T_NODE);
    hand hands[N];
    pthread_t tid[N];
    for (int i = 0; i < N; i++) {
        hands[i].s = &s;
        hands[i].idx = i;
        REQUIRE(pthread_create(&tid[i], NULL, take_turns, &hands[i]) == 0);
    }
    for (int i = 0; i < N; i++) pthread_join(tid[i], NULL);
    /* back to this thread (the joins order it after the last turn) */
    s.t.owner = pthread_self();
    CHECK_EQ(s.turn, s.turns);
    CHECK_EQ(s.errors, 0);
    CHECK_EQ(rc_heap_check(s.h, stderr), 0);
    rc_clearref(&s.root->slot[1]);
    rc_gc_collect(s.h, 2);
    CHECK_EQ(s.t.finalized, (long)s.turns);  /* one finalizer per ring, each once */
    CHECK_EQ(s.t.callbacks, 0);              /* each weakref died with its referent */
    rc_decref(s.root);
    rc_heap_free(s.h);
    CHECK_EQ(s.t.released, s.t.made);
    CHECK_EQ(s.t.wrong_thread, 0);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    printf("  %d threads, %d turns: %ld objects made and released\n", N, s.turns, s.t.made);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
