/* fixtures.h — what test_gc_port.c, test_weakref_gc.c and test_control.c
 * share: a generic container `obj` (NREF reference slots, a finalizer hook,
 * an id) and its types, the counters every test checks at the end (objects
 * made, released, finalized; per id too), and the helpers that make, link
 * and walk objects.  Include after check.h.  A file that must reset state of
 * its own when a test starts defines FIXTURE_ON_FRESH() before including.
 */
#ifndef RC_TESTS_FIXTURES_H
#define RC_TESTS_FIXTURES_H

#include <recycle.h>
#include <string.h>

#define FIXTURE_UNUSED __attribute__((unused))

#define NREF  4    /* reference slots of an obj */
#define MAXID 4096 /* ids counted one by one */

static long n_alloc;   /* objects of the test types made */
static long n_release; /* their release calls */
static long n_final;   /* finalizer calls */
static unsigned char rel_by_id[MAXID], fin_by_id[MAXID] FIXTURE_UNUSED;
static rc_heap *g_heap FIXTURE_UNUSED; /* the heap under test, for finalizers */

typedef struct obj obj;
typedef void (*hook_fn)(obj *self);
/* A generic container: attributes are the slots ref[0..NREF). */
struct obj {
    void   *ref[NREF];
    hook_fn hook; /* what the finalizer does, for types that have one */
    long    id;
    long    n;    /* free for the test */
};

static inline int obj_traverse(void *o, rc_visit_fn visit, void *arg)
{
    obj *x = o;
    for (int i = 0; i < NREF; i++)
        if (x->ref[i]) {
            int r = visit(&x->ref[i], arg);
            if (r) return r;
        }
    return 0;
}
/* Release for the test types that are not objs: counts. */
static inline void count_release(void *o)
{
    (void)o;
    n_release++;
}
/* Release and finalizer of objs: count, by id too. */
static inline void obj_release(void *o)
{
    obj *x = o;
    n_release++;
    if (x->id >= 0 && x->id < MAXID) rel_by_id[x->id]++;
}
static inline void obj_finalize(void *o)
{
    obj *x = o;
    n_final++;
    if (x->id >= 0 && x->id < MAXID) fin_by_id[x->id]++;
    if (x->hook) x->hook(x);
}

static const rc_type T_OBJ FIXTURE_UNUSED = {"obj", sizeof(obj), obj_traverse, NULL,
                                             obj_release, 0};
static const rc_type T_FIN FIXTURE_UNUSED = {"fin", sizeof(obj), obj_traverse, obj_finalize,
                                             obj_release, 0};

#ifndef FIXTURE_ON_FRESH
#define FIXTURE_ON_FRESH() ((void)0)
#endif

static inline void reset_counters(void)
{
    n_alloc = n_release = n_final = 0;
    memset(rel_by_id, 0, sizeof rel_by_id);
    memset(fin_by_id, 0, sizeof fin_by_id);
    FIXTURE_ON_FRESH();
}
/* A new heap for one test (cfg NULL: the defaults). */
static inline rc_heap *fresh_with(const rc_config *cfg)
{
    reset_counters();
    rc_heap *h = rc_heap_new(cfg);
    REQUIRE(h != NULL);
    g_heap = h;
    return h;
}
/* A heap with automatic collection off, as test_gc.py runs. */
static inline rc_heap *fresh(void)
{
    rc_heap *h = fresh_with(NULL);
    rc_gc_disable(h);
    return h;
}
/* Frees the heap and checks that every object made was released once. */
static inline void finish(rc_heap *h)
{
    rc_heap_free(h);
    g_heap = NULL;
    CHECK_EQ(n_release, n_alloc);
}

static inline obj *mkobj(rc_heap *h, const rc_type *t, long id)
{
    obj *o = rc_new(h, t);
    REQUIRE(o != NULL);
    n_alloc++;
    o->id = id;
    return o;
}
/* x.attr = v (a new reference) */
static inline void set(obj *x, int i, void *v) { rc_setref(&x->ref[i], v); }
/* x.attr = v, stealing the caller's reference */
static inline void set_steal(obj *x, int i, void *v)
{
    void *old = x->ref[i];
    x->ref[i] = v;
    rc_xdecref(old);
}
/* del x.attr */
static inline void clear(obj *x, int i) { rc_clearref(&x->ref[i]); }
/* An object in a self-loop. */
static inline obj *selfloop(rc_heap *h, const rc_type *t, long id)
{
    obj *o = mkobj(h, t, id);
    set(o, 0, o);
    return o;
}

/* Walk helpers: does a walk of generation gen (-1: all) see `target`? */
struct finder { const void *target; long seen; long n; };
static inline int finder_fn(void *o, void *arg)
{
    struct finder *f = arg;
    f->n++;
    if (o == f->target) f->seen++;
    return 0;
}
static inline long seen_in_gen(rc_heap *h, int gen, const void *o)
{
    struct finder f = {o, 0, 0};
    CHECK_EQ(rc_gc_get_objects(h, gen, finder_fn, &f), 0);
    return f.seen;
}
static inline long walk_len(rc_heap *h, int gen)
{
    struct finder f = {NULL, 0, 0};
    CHECK_EQ(rc_gc_get_objects(h, gen, finder_fn, &f), 0);
    return f.n;
}

#endif /* RC_TESTS_FIXTURES_H */
