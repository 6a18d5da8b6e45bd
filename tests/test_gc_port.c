/* test_gc_port.c — CPython's Lib/test/test_gc.py (3.12), ported to recycle.
 *
 * Every TEST names the Python test it ports; where a Python object graph
 * needs interpreter objects (instance dicts, bound methods, class mro
 * tuples) the port builds the same graph out of small C containers, so the
 * counts below are exact for that graph.  As test_gc.py does, automatic
 * collection is off (rc_gc_disable) wherever counts are checked exactly.
 *
 * Every test ends with rc_heap_free and checks that `release` ran exactly
 * once for each object the test allocated (finish()).
 */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <recycle.h>
#include "check.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Types used by the ports                                             */
/* ------------------------------------------------------------------ */

/* Objects resurrected by finalizers (Python's module-level lists); emptied
 * when a test starts (fixtures.h: fresh). */
#define STORE_MAX 64
static void *store[STORE_MAX];
static int nstore;
#define FIXTURE_ON_FRESH() (nstore = 0)
#include "fixtures.h"

static const rc_type T_LEG = {"legacy_X", sizeof(obj), obj_traverse, obj_finalize,
                              obj_release, RC_TYPE_LEGACY_FINALIZER};

/* An atomic object: an "int" or a "str". */
typedef struct atom { long v; } atom;
static const rc_type T_ATOM = {"atom", sizeof(atom), NULL, NULL, count_release, 0};

/* Variable-sized sequences: list, tuple, dict (key, value, key, value...). */
typedef struct seq { size_t n; void *item[]; } seq;
static int seq_traverse(void *o, rc_visit_fn visit, void *arg)
{
    seq *s = o;
    for (size_t i = 0; i < s->n; i++)
        if (s->item[i]) {
            int r = visit(&s->item[i], arg);
            if (r) return r;
        }
    return 0;
}
static const rc_type T_LIST  = {"list",  sizeof(seq), seq_traverse, NULL, count_release, 0};
static const rc_type T_TUPLE = {"tuple", sizeof(seq), seq_traverse, NULL, count_release, 0};
static const rc_type T_DICT  = {"dict",  sizeof(seq), seq_traverse, NULL, count_release, 0};

/* A one-link node for very long chains. */
typedef struct lnode { void *next; } lnode;
static int link_traverse(void *o, rc_visit_fn visit, void *arg)
{
    lnode *l = o;
    return l->next ? visit(&l->next, arg) : 0;
}
static void link_final(void *o) { (void)o; n_final++; }
static const rc_type T_LINK  = {"link", sizeof(lnode), link_traverse, NULL, count_release, 0};
static const rc_type T_LINKF = {"linkf", sizeof(lnode), link_traverse, link_final,
                                count_release, 0};

static void hook_resurrect(obj *self)
{
    rc_incref(self);
    if (nstore < STORE_MAX) store[nstore++] = self;
}
static void drop_store(void)
{
    while (nstore > 0) rc_decref(store[--nstore]);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void *mk(rc_heap *h, const rc_type *t)
{
    void *o = rc_new(h, t);
    REQUIRE(o != NULL);
    n_alloc++;
    return o;
}
static seq *mkseq(rc_heap *h, const rc_type *t, size_t n)
{
    seq *s = rc_new_var(h, t, sizeof(seq) + n * sizeof(void *));
    REQUIRE(s != NULL);
    n_alloc++;
    s->n = n;
    return s;
}
static atom *mkatom(rc_heap *h, long v)
{
    atom *a = mk(h, &T_ATOM);
    a->v = v;
    return a;
}
/* s[i] = v */
static void put(seq *s, size_t i, void *v) { rc_setref(&s->item[i], v); }
/* s[i] = v, stealing the caller's reference */
static void put_steal(seq *s, size_t i, void *v)
{
    void *old = s->item[i];
    s->item[i] = v;
    rc_xdecref(old);
}

static uint64_t stat_sum(rc_heap *h, int field)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t s = 0;
    for (int g = 0; g < 3; g++) {
        switch (field) {
        case 0: s += st[g].collections; break;
        case 1: s += st[g].tracked; break;
        }
    }
    return s;
}


/* Python's GC_Detector: a piece of cyclic trash with a weakref callback
 * that tells when a collection found it. */
typedef struct detector { rc_weakref *wr; int happened; } detector;
static void detector_cb(rc_weakref *ref, void *data)
{
    (void)ref;
    ((detector *)data)->happened = 1;
}
static void detector_init(detector *d, rc_heap *h)
{
    obj *c = selfloop(h, &T_OBJ, 666);
    d->happened = 0;
    d->wr = rc_weakref_new(c, detector_cb, d);
    REQUIRE(d->wr != NULL);
    rc_decref(c);
}

/* ------------------------------------------------------------------ */
/* GCTests                                                             */
/* ------------------------------------------------------------------ */

/* test_list: l = []; l.append(l) */
TEST(test_list)
{
    rc_heap *h = fresh();
    seq *l = mkseq(h, &T_LIST, 1);
    put(l, 0, l);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    rc_decref(l);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_release, 1);
    finish(h);
}

/* test_dict: d = {}; d[1] = d.  The key is atomic: not counted. */
TEST(test_dict)
{
    rc_heap *h = fresh();
    seq *d = mkseq(h, &T_DICT, 2);
    put_steal(d, 0, mkatom(h, 1));
    put(d, 1, d);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    rc_decref(d);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_release, 2); /* the dict and its key */
    finish(h);
}

/* test_tuple: l = []; t = (l,); l.append(t) */
TEST(test_tuple)
{
    rc_heap *h = fresh();
    seq *l = mkseq(h, &T_LIST, 1);
    seq *t = mkseq(h, &T_TUPLE, 1);
    put(t, 0, l);
    put(l, 0, t);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    rc_decref(t);
    rc_decref(l);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    finish(h);
}

/* A classic class: the class object holds its dict (ref[0]). */
static obj *classic_class(rc_heap *h)
{
    obj *A = mkobj(h, &T_OBJ, 'A');
    seq *dict = mkseq(h, &T_DICT, 4);
    set(A, 0, dict);
    rc_decref(dict);
    return A;
}
/* A new-style class: also a __mro__ tuple (ref[1]) that holds the class,
 * and its bases after it. */
static obj *newstyle_class(rc_heap *h, obj *base1, obj *base2)
{
    obj *A = classic_class(h);
    seq *mro = mkseq(h, &T_TUPLE, 3);
    put(mro, 0, A);
    if (base1) put(mro, 1, base1);
    if (base2) put(mro, 2, base2);
    set(A, 1, mro);
    rc_decref(mro);
    return A;
}
/* An instance of cls: ref[0] its __dict__, ref[1] its class. */
static obj *instance(rc_heap *h, obj *cls)
{
    obj *a = mkobj(h, &T_OBJ, 'i');
    seq *dict = mkseq(h, &T_DICT, 4);
    set(a, 0, dict);
    rc_decref(dict);
    set(a, 1, cls);
    return a;
}
static seq *dict_of(obj *o) { return o->ref[0]; }

/* test_class: class A: pass; A.a = A */
TEST(test_class)
{
    rc_heap *h = fresh();
    obj *A = classic_class(h);
    put(dict_of(A), 0, mkatom(h, 'a'));
    rc_decref(dict_of(A)->item[0]); /* the dict owns the key */
    put(dict_of(A), 1, A);
    rc_gc_collect(h, 2);
    rc_decref(A);
    CHECK_EQ(rc_gc_collect(h, 2), 2); /* the class and its dict */
    finish(h);
}

/* test_newstyleclass: class A(object): pass — a cycle through __mro__. */
TEST(test_newstyleclass)
{
    rc_heap *h = fresh();
    obj *A = newstyle_class(h, NULL, NULL);
    rc_gc_collect(h, 2);
    rc_decref(A);
    CHECK_EQ(rc_gc_collect(h, 2), 3); /* class, dict, mro */
    finish(h);
}

/* test_instance: a = A(); a.a = a */
TEST(test_instance)
{
    rc_heap *h = fresh();
    obj *A = classic_class(h);
    obj *a = instance(h, A);
    put(dict_of(a), 1, a);
    rc_gc_collect(h, 2);
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(h, 2), 2); /* instance and its dict; A lives */
    CHECK_EQ(rc_refcount(A), 1);
    rc_decref(A);
    CHECK_EQ(rc_gc_collect(h, 2), 0); /* A was freed by counting */
    finish(h);
}

/* test_newinstance */
TEST(test_newinstance)
{
    rc_heap *h = fresh();
    obj *A = newstyle_class(h, NULL, NULL);
    obj *a = instance(h, A);
    put(dict_of(a), 1, a);
    rc_gc_collect(h, 2);
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(h, 2), 2);

    obj *B = newstyle_class(h, NULL, NULL);       /* class B(list) */
    obj *C = newstyle_class(h, B, A);             /* class C(B, A) */
    a = instance(h, C);
    put(dict_of(a), 1, a);
    rc_gc_collect(h, 2);
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    rc_decref(B);
    rc_decref(C);
    CHECK_EQ(rc_gc_collect(h, 2), 6); /* B and C, 3 objects each */
    CHECK_EQ(rc_refcount(A), 2);      /* ours and its own mro's */

    a = instance(h, A);                /* A.a = A() */
    put(dict_of(A), 1, a);
    rc_decref(a);
    rc_decref(A);
    CHECK_EQ(rc_gc_collect(h, 2), 5); /* A (3) and the instance (2) */
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    finish(h);
}

/* test_method: self.init = self.__init__ — a bound method holds self. */
TEST(test_method)
{
    rc_heap *h = fresh();
    obj *A = classic_class(h);
    obj *f = mkobj(h, &T_OBJ, 'f'); /* A.__init__, owned by the class */
    put(dict_of(A), 1, f);
    obj *a = instance(h, A);
    obj *m = mkobj(h, &T_OBJ, 'm'); /* the bound method */
    set(m, 0, a);
    set(m, 1, f);
    put(dict_of(a), 1, m);
    rc_decref(m);
    rc_decref(f);
    rc_gc_collect(h, 2);
    rc_decref(a);
    CHECK_EQ(rc_gc_collect(h, 2), 3); /* instance, its dict, the method */
    rc_decref(A);
    finish(h);
}

/* test_legacy_finalizer: a cycle holding a tp_del object goes to
 * gc.garbage; a plain cycle beside it is collected. */
TEST(test_legacy_finalizer)
{
    rc_heap *h = fresh();
    rc_gen_stats before[3], after[3];
    obj *a = selfloop(h, &T_LEG, 'a');
    obj *b = selfloop(h, &T_OBJ, 'b');
    rc_gc_collect(h, 2);
    rc_gc_get_stats(h, before);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    rc_gc_get_stats(h, after);
    CHECK_UEQ(after[2].uncollectable - before[2].uncollectable, 1);
    CHECK_UEQ(after[2].collected - before[2].collected, 1);
    CHECK_EQ(n_final, 0); /* a legacy finalizer is not run in a cycle */
    REQUIRE(rc_gc_garbage_count(h) == 1);
    obj *g = rc_gc_garbage_get(h, 0);
    CHECK_PTR_EQ(g, a);
    CHECK_PTR_EQ(g->ref[0], a); /* intact */
    CHECK_EQ(g->id, 'a');
    clear(g, 0);                /* del obj.a */
    CHECK_EQ(rc_refcount(g), 1);
    CHECK_EQ(n_release, 1);     /* only b so far */
    rc_gc_garbage_clear(h);     /* gc.garbage.remove(obj): dies by counting */
    CHECK_EQ(n_final, 1);       /* ... and its finalizer runs then, once */
    CHECK_EQ(n_release, 2);
    CHECK_EQ(rc_gc_garbage_count(h), 0);
    finish(h);
    CHECK_EQ(n_final, 1);
}

/* test_legacy_finalizer_newclass: the same, the cycle going through the
 * instance dict: the legacy object is appended, what it reaches is not. */
TEST(test_legacy_finalizer_newclass)
{
    rc_heap *h = fresh();
    obj *a = mkobj(h, &T_LEG, 'a');
    seq *d = mkseq(h, &T_DICT, 2);
    set(a, 0, d);
    put(d, 1, a);
    rc_decref(d);
    obj *b = selfloop(h, &T_OBJ, 'b');
    rc_gc_collect(h, 2);
    rc_decref(a);
    rc_decref(b);
    CHECK_NE(rc_gc_collect(h, 2), 0);
    REQUIRE(rc_gc_garbage_count(h) == 1);
    CHECK_PTR_EQ(rc_gc_garbage_get(h, 0), a);
    CHECK_PTR_EQ(a->ref[0], d);   /* everything it reaches is intact */
    CHECK_PTR_EQ(d->item[1], a);
    CHECK_EQ(d->n, 2);
    CHECK_EQ(n_final, 0);
    put(d, 1, NULL);               /* break the cycle by hand */
    rc_gc_garbage_clear(h);
    CHECK_EQ(n_final, 1);
    CHECK_EQ(n_release, 3);        /* a, d, b */
    finish(h);
}

/* test_function: f -> globals d -> f */
TEST(test_function)
{
    rc_heap *h = fresh();
    seq *d = mkseq(h, &T_DICT, 2);
    obj *f = mkobj(h, &T_OBJ, 'f');
    set(f, 0, d);                   /* f.__globals__ */
    set(f, 1, mkatom(h, 0));        /* f.__code__ (atomic) */
    rc_decref(f->ref[1]);
    put_steal(d, 0, mkatom(h, 'f'));
    put_steal(d, 1, f);
    rc_gc_collect(h, 2);
    rc_decref(d);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(n_release, 4);
    finish(h);
}

/* test_saveall: with DEBUG_SAVEALL the cycle shows up in gc.garbage. */
TEST(test_saveall)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    CHECK_EQ(rc_gc_garbage_count(h), 0);
    seq *L = mkseq(h, &T_LIST, 1);
    put(L, 0, L);
    unsigned debug = rc_gc_get_debug(h);
    rc_gc_set_debug(h, debug | RC_DEBUG_SAVEALL);
    rc_decref(L);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    rc_gc_set_debug(h, debug);
    REQUIRE(rc_gc_garbage_count(h) == 1);
    CHECK_PTR_EQ(rc_gc_garbage_get(h, 0), L);
    CHECK_PTR_EQ(L->item[0], L); /* neither cleared nor freed */
    CHECK_EQ(n_release, 0);
    rc_gc_garbage_clear(h);      /* gc.garbage.pop(): still a cycle */
    CHECK_EQ(rc_gc_garbage_count(h), 0);
    CHECK_EQ(n_release, 0);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_release, 1);
    finish(h);
}

/* test_del: a finalizer that allocates (dir(self)) while threshold is 1,
 * so collections start inside the finalizer of an object dying by counting. */
static void hook_allocates(obj *self)
{
    rc_heap *h = rc_heap_of(self);
    for (int i = 0; i < 20; i++) {
        seq *l = mkseq(h, &T_LIST, 2);
        put_steal(l, 0, mkatom(h, i));
        put(l, 1, self); /* refer to the dying object, as dir(self) may */
        if (i % 3 == 0) {
            seq *c = mkseq(h, &T_LIST, 1); /* some cyclic trash too */
            put(c, 0, c);
            rc_decref(c);
        }
        rc_decref(l);
    }
}
static void check_test_del(const rc_type *t)
{
    rc_heap *h = fresh();
    size_t th[3];
    rc_gc_get_threshold(h, th);
    rc_gc_enable(h);
    rc_gc_set_threshold(h, 1, th[1], th[2]);
    obj *a = mkobj(h, t, 'a');
    obj *child = mkobj(h, &T_OBJ, 'c');
    set(a, 0, child);
    rc_decref(child);
    a->hook = hook_allocates;
    uint64_t colls = stat_sum(h, 0);
    rc_decref(a);
    CHECK_EQ(n_final, 1);
    CHECK_GT(stat_sum(h, 0), colls); /* collections did run meanwhile */
    rc_gc_disable(h);
    rc_gc_set_threshold(h, th[0], th[1], th[2]);
    rc_gc_collect(h, 2);
    CHECK_EQ(n_release, n_alloc); /* nothing left: a, child, the trash */
    finish(h);
    CHECK_EQ(n_final, 1);
}
TEST(test_del) { check_test_del(&T_FIN); }

/* test_del_newclass: the same, the dying object also holding its class, a
 * new-style class in a cycle of its own (through its mro). */
TEST(test_del_newclass)
{
    rc_heap *h = fresh();
    size_t th[3];
    rc_gc_get_threshold(h, th);
    rc_gc_enable(h);
    rc_gc_set_threshold(h, 1, th[1], th[2]);
    obj *A = mkobj(h, &T_OBJ, 'A');
    obj *mro = mkobj(h, &T_OBJ, 'm');
    set(mro, 0, A);
    set(A, 1, mro);
    rc_decref(mro);
    obj *a = mkobj(h, &T_FIN, 'a');
    set(a, 1, A);
    rc_decref(A);                       /* the class lives through a */
    a->hook = hook_allocates;
    rc_decref(a);
    CHECK_EQ(n_final, 1);
    rc_gc_disable(h);
    rc_gc_set_threshold(h, th[0], th[1], th[2]);
    rc_gc_collect(h, 2);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_get_count: counts after a full collection, and one new object. */
TEST(test_get_count)
{
    rc_heap *h = fresh();
    size_t c1[3], c2[3], c3[3];
    obj *old = mkobj(h, &T_OBJ, 0);
    rc_gc_collect(h, 2);
    rc_gc_get_count(h, c1);
    obj *x = mkobj(h, &T_OBJ, 1);      /* x = [] */
    rc_gc_get_count(h, c2);
    CHECK_EQ(c1[0], 0);
    CHECK_EQ(c1[1], 0);
    CHECK_EQ(c1[2], 0);
    CHECK_EQ(c2[0], 1);
    CHECK_EQ(c2[1], 0);
    CHECK_EQ(c2[2], 0);
    atom *i = mkatom(h, 5);            /* atomic objects never count */
    rc_gc_get_count(h, c3);
    CHECK_EQ(c3[0], 1);
    rc_decref(i);
    rc_gc_get_count(h, c3);
    CHECK_EQ(c3[0], 1);
    rc_decref(x);                      /* a tracked deallocation */
    rc_gc_get_count(h, c3);
    CHECK_EQ(c3[0], 0);
    rc_decref(old);                    /* never below 0 */
    rc_gc_get_count(h, c3);
    CHECK_EQ(c3[0], 0);
    finish(h);
}

/* test_collect_generations: x trickles into generation N+1 after each
 * collect(N); count[g+1] gets one per collection of g. */
TEST(test_collect_generations)
{
    rc_heap *h = fresh();
    size_t c[3];
    rc_gc_collect(h, 2);
    obj *x = mkobj(h, &T_OBJ, 0);
    rc_gc_collect(h, 0);
    rc_gc_get_count(h, c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 1);
    CHECK_EQ(c[2], 0);
    CHECK_EQ(seen_in_gen(h, 1, x), 1);
    rc_gc_collect(h, 1);
    rc_gc_get_count(h, c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 0);
    CHECK_EQ(c[2], 1);
    CHECK_EQ(seen_in_gen(h, 2, x), 1);
    rc_gc_collect(h, 2);
    rc_gc_get_count(h, c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 0);
    CHECK_EQ(c[2], 0);
    CHECK_EQ(seen_in_gen(h, 2, x), 1);
    rc_decref(x);
    finish(h);
}

/* test_trashcan: nested containers whose items' finalizers collect every
 * 17th call, dropped with automatic collection on. */
static long ouch_n;
static void hook_ouch(obj *self)
{
    (void)self;
    if (++ouch_n % 17 == 0)
        CHECK_GE(rc_gc_collect(g_heap, 2), 0); /* a real collection */
}
static obj *ouch(rc_heap *h)
{
    obj *o = mkobj(h, &T_FIN, 'o');
    o->hook = hook_ouch;
    return o;
}
TEST(test_trashcan)
{
    rc_heap *h = fresh();
    ouch_n = 0;
    rc_gc_enable(h);
    enum { N = 150 };
    seq *t = NULL, *u = NULL, *v = NULL;
    for (int count = 0; count < 2; count++) {
        rc_xdecref(t);
        t = mkseq(h, &T_LIST, 0);
        for (int i = 0; i < N; i++) {       /* t = [t, Ouch()] */
            seq *n = mkseq(h, &T_LIST, 2);
            put_steal(n, 0, t);
            put_steal(n, 1, ouch(h));
            t = n;
        }
        rc_xdecref(u);
        u = mkseq(h, &T_LIST, 0);
        for (int i = 0; i < N; i++) {       /* u = [u, Ouch()] */
            seq *n = mkseq(h, &T_LIST, 2);
            put_steal(n, 0, u);
            put_steal(n, 1, ouch(h));
            u = n;
        }
        rc_xdecref(v);
        v = mkseq(h, &T_DICT, 0);
        for (int i = 0; i < N; i++) {       /* v = {1: v, 2: Ouch()} */
            seq *n = mkseq(h, &T_DICT, 4);
            put_steal(n, 0, mkatom(h, 1));
            put_steal(n, 1, v);
            put_steal(n, 2, mkatom(h, 2));
            put_steal(n, 3, ouch(h));
            v = n;
        }
    }
    CHECK_EQ(n_final, 3 * N); /* the first round died by counting */
    rc_decref(t);
    rc_decref(u);
    rc_decref(v);
    CHECK_EQ(n_final, 6 * N);
    rc_gc_disable(h);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_trashcan, scaled up: a chain of 10 million nodes dropped at once must
 * be freed without recursion as deep as the chain (TRASHCAN_NODES overrides
 * the length, e.g. under valgrind). */
static long chain_len(long dflt)
{
    const char *s = getenv("TRASHCAN_NODES");
    long n = s ? atol(s) : dflt;
    return n > 0 ? n : dflt;
}
static lnode *build_chain(rc_heap *h, const rc_type *t, long n, lnode **tail)
{
    lnode *head = NULL;
    for (long i = 0; i < n; i++) {
        lnode *l = rc_new(h, t);
        REQUIRE(l != NULL);
        n_alloc++;
        l->next = head; /* steals our reference to the old head */
        if (!head && tail) *tail = l;
        head = l;
    }
    return head;
}
TEST(test_trashcan_deep_chain)
{
    rc_heap *h = fresh();
    long n = chain_len(10000000);
    lnode *head = build_chain(h, &T_LINK, n, NULL);
    rc_decref(head);
    CHECK_EQ(n_release, n);
    finish(h);
}

/* The same with finalizers on every node. */
TEST(test_trashcan_deep_chain_finalizers)
{
    rc_heap *h = fresh();
    long n = chain_len(10000000) / 10;
    lnode *head = build_chain(h, &T_LINKF, n, NULL);
    rc_decref(head);
    CHECK_EQ(n_final, n);
    CHECK_EQ(n_release, n);
    finish(h);
    CHECK_EQ(n_final, n);
}

/* The same chain closed into a ring, found by the collector: clearing it
 * must not recurse down the chain either. */
TEST(test_trashcan_deep_cycle)
{
    rc_heap *h = fresh();
    long n = chain_len(10000000) / 5;
    lnode *tail = NULL;
    lnode *head = build_chain(h, &T_LINK, n, &tail);
    tail->next = head; /* the ring takes our reference */
    CHECK_EQ(rc_gc_collect(h, 2), n);
    CHECK_EQ(n_release, n);
    finish(h);
}

/* test_boom: a <-> b trash whose finalizers mutate the graph (each deletes
 * its attr), so the trash gets reclaimed by counting in the middle of the
 * collection.  Nothing crashes, nothing is freed twice, nothing reaches
 * gc.garbage. */
static void hook_del_attr(obj *self) { clear(self, 1); }
TEST(test_boom)
{
    rc_heap *h = fresh();
    obj *a = mkobj(h, &T_FIN, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    a->hook = b->hook = hook_del_attr;
    set(a, 1, b);
    set(b, 1, a);
    rc_gc_collect(h, 2);
    size_t garbagelen = rc_gc_garbage_count(h);
    rc_decref(a);
    rc_decref(b);
    long got = rc_gc_collect(h, 2);
    CHECK_GE(got, 0); /* objects freed by counting meanwhile may or may */
    CHECK_LE(got, 2); /* not be counted (CPython 3.12 does not count them) */
    CHECK_EQ(rc_gc_garbage_count(h), garbagelen);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(n_release, 2);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    finish(h);
    CHECK_EQ(n_final, 2);
}

/* test_boom2: only the second finalizer to run breaks the cycle. */
static int boom2_calls;
static void hook_boom2(obj *self)
{
    if (++boom2_calls > 1) clear(self, 1);
}
TEST(test_boom2)
{
    rc_heap *h = fresh();
    boom2_calls = 0;
    obj *a = mkobj(h, &T_FIN, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    a->hook = b->hook = hook_boom2;
    set(a, 1, b);
    set(b, 1, a);
    rc_gc_collect(h, 2);
    size_t garbagelen = rc_gc_garbage_count(h);
    rc_decref(a);
    rc_decref(b);
    long got = rc_gc_collect(h, 2);
    CHECK_GE(got, 0);
    CHECK_LE(got, 2);
    CHECK_EQ(rc_gc_garbage_count(h), garbagelen);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(n_release, 2);
    finish(h);
}

/* test_boom_new: like test_boom, the finalizers replacing attr with a new
 * object in a cycle — objects made during a collection wait for the next. */
static void hook_replace_attr(obj *self)
{
    obj *n = selfloop(rc_heap_of(self), &T_OBJ, 'n');
    set(self, 1, n);
    rc_decref(n);
}
TEST(test_boom_new)
{
    rc_heap *h = fresh();
    obj *a = mkobj(h, &T_FIN, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    a->hook = b->hook = hook_replace_attr;
    set(a, 1, b);
    set(b, 1, a);
    rc_decref(a);
    rc_decref(b);
    long got = rc_gc_collect(h, 2);
    CHECK_GE(got, 0);
    CHECK_LE(got, 2);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(n_alloc, 4);
    CHECK_EQ(n_release, 2);            /* the two new ones wait */
    CHECK_EQ(rc_gc_collect(h, 2), 2);  /* ... for this one */
    CHECK_EQ(n_release, 4);
    finish(h);
}

/* test_boom2_new: the second finalizer to run breaks the cycle and makes new
 * trash. */
static void hook_boom2_new(obj *self)
{
    if (++boom2_calls > 1) hook_replace_attr(self);
}
TEST(test_boom2_new)
{
    rc_heap *h = fresh();
    boom2_calls = 0;
    obj *a = mkobj(h, &T_FIN, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    a->hook = b->hook = hook_boom2_new;
    set(a, 1, b);
    set(b, 1, a);
    rc_decref(a);
    rc_decref(b);
    long got = rc_gc_collect(h, 2);
    CHECK_GE(got, 0);
    CHECK_LE(got, 2);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_get_referents */
struct collected { void *v[16]; int n; };
static int collect_fn(void *o, void *arg)
{
    struct collected *c = arg;
    if (c->n < 16) c->v[c->n] = o;
    c->n++;
    return 0;
}
static int cmp_atoms(const void *x, const void *y)
{
    long a = (*(atom *const *)x)->v, b = (*(atom *const *)y)->v;
    return (a > b) - (a < b);
}
static void check_referent_values(struct collected *c, const long *want, int n)
{
    CHECK_EQ(c->n, n);
    if (c->n != n) return;
    qsort(c->v, (size_t)n, sizeof c->v[0], cmp_atoms);
    for (int i = 0; i < n; i++)
        CHECK_EQ(((atom *)c->v[i])->v, want[i]);
}
/* A type whose traverse also visits its NULL slots. */
static int visit_all(void *o, rc_visit_fn visit, void *arg)
{
    obj *x = o;
    for (int i = 0; i < NREF; i++) {
        int r = visit(&x->ref[i], arg);
        if (r) return r;
    }
    return 0;
}
static const rc_type T_VISITALL = {"visitall", sizeof(obj), visit_all, NULL,
                                   count_release, 0};
TEST(test_get_referents)
{
    rc_heap *h = fresh();
    static const long l135[] = {1, 3, 5}, l1357[] = {1, 3, 5, 7};
    seq *alist = mkseq(h, &T_LIST, 3);
    for (int i = 0; i < 3; i++) put_steal(alist, (size_t)i, mkatom(h, l135[i]));
    struct collected got = {{0}, 0};
    CHECK_EQ(rc_gc_get_referents(alist, collect_fn, &got), 0);
    check_referent_values(&got, l135, 3);

    seq *atuple = mkseq(h, &T_TUPLE, 3);
    for (int i = 0; i < 3; i++) put(atuple, (size_t)i, alist->item[i]);
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(atuple, collect_fn, &got), 0);
    check_referent_values(&got, l135, 3);

    seq *adict = mkseq(h, &T_DICT, 4); /* {1: 3, 5: 7} */
    for (int i = 0; i < 4; i++) put_steal(adict, (size_t)i, mkatom(h, l1357[i]));
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(adict, collect_fn, &got), 0);
    check_referent_values(&got, l1357, 4);

    /* gc.get_referents(1, 'a', 4j) == [] */
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(alist->item[0], collect_fn, &got), 0);
    CHECK_EQ(got.n, 0);
    /* NULL slots are never reported */
    obj *sparse = mkobj(h, &T_VISITALL, 0);
    set(sparse, 2, adict);
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(sparse, collect_fn, &got), 0);
    CHECK_EQ(got.n, 1);
    CHECK_PTR_EQ(got.v[0], adict);

    rc_decref(sparse);
    rc_decref(alist);
    rc_decref(atuple);
    rc_decref(adict);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_get_referents_on_capsule (gh-124538): get_referents on an untracked
 * container reports its slots without trouble; on an atomic object, none. */
TEST(test_get_referents_on_capsule)
{
    rc_heap *h = fresh();
    obj *untracked = mkobj(h, &T_OBJ, 0);
    rc_untrack(untracked);
    set(untracked, 1, untracked);
    atom *a = mkatom(h, 1);
    set(untracked, 2, a);
    rc_decref(a);
    CHECK_EQ(rc_is_tracked(untracked), 0);
    struct collected got = {{0}, 0};
    CHECK_EQ(rc_gc_get_referents(untracked, collect_fn, &got), 0);
    CHECK_EQ(got.n, 2);
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(a, collect_fn, &got), 0);
    CHECK_EQ(got.n, 0);
    obj *tracked = mkobj(h, &T_OBJ, 1);
    set(tracked, 0, untracked);
    got.n = 0;
    CHECK_EQ(rc_gc_get_referents(tracked, collect_fn, &got), 0);
    CHECK_EQ(got.n, 1);
    rc_decref(tracked);
    clear(untracked, 1);
    rc_decref(untracked);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_refcount_errors: debug builds (RC_DEBUG) catch a reference dropped
 * once too often and name the object's type and where it was allocated.  Checked in a
 * child process, which is expected to stop; release builds skip it. */
TEST(test_refcount_errors)
{
#if defined(RC_DEBUG) && RC_DEBUG
    FILE *err = check_capture_open();
    REQUIRE(err != NULL);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fileno(err), 2);
        rc_heap *h = rc_heap_new(NULL);
        seq *a = rc_new_var(h, &T_LIST, sizeof(seq) + 3 * sizeof(void *));
        a->n = 0;
        rc_decref(a);
        rc_decref(a);  /* once too often */
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    char *text = check_capture_text(err);
    REQUIRE(text != NULL);
    CHECK_CONTAINS(text, "list");
    CHECK_CONTAINS(text, "test_gc_port.c");
    free(text);
    fclose(err);
#endif
}

/* test_is_tracked: atomic objects are not tracked, containers are. */
TEST(test_is_tracked)
{
    rc_heap *h = fresh();
    atom *i = mkatom(h, 1);
    obj *o = mkobj(h, &T_OBJ, 0);
    seq *l = mkseq(h, &T_LIST, 0);
    obj *slots = mkobj(h, &T_FIN, 0);
    CHECK_EQ(rc_is_tracked(i), 0);
    CHECK_EQ(rc_is_tracked(o), 1);
    CHECK_EQ(rc_is_tracked(l), 1);
    CHECK_EQ(rc_is_tracked(slots), 1);
    rc_weakref *wr = rc_weakref_new(o, NULL, NULL);
    REQUIRE(wr != NULL);
    CHECK_EQ(rc_is_tracked(wr), 0);     /* weak references are not tracked */
    rc_track(i);                         /* does nothing for an atomic */
    CHECK_EQ(rc_is_tracked(i), 0);
    rc_untrack(o);
    CHECK_EQ(rc_is_tracked(o), 0);
    rc_untrack(o);                       /* harmless */
    CHECK_EQ(rc_is_tracked(o), 0);
    rc_track(o);
    CHECK_EQ(rc_is_tracked(o), 1);
    rc_decref(wr);
    rc_decref(i);
    rc_decref(o);
    rc_decref(l);
    rc_decref(slots);
    finish(h);
}

/* test_is_finalized */
TEST(test_is_finalized)
{
    rc_heap *h = fresh();
    atom *three = mkatom(h, 3);
    CHECK_EQ(rc_is_finalized(three), 0);
    obj *lazarus = selfloop(h, &T_FIN, 'L');
    lazarus->hook = hook_resurrect;
    CHECK_EQ(rc_is_finalized(lazarus), 0);
    rc_decref(lazarus);
    rc_gc_collect(h, 2);
    REQUIRE(nstore == 1);
    lazarus = store[--nstore];           /* storage.pop() */
    CHECK_EQ(rc_is_finalized(lazarus), 1);
    rc_decref(lazarus);
    rc_decref(three);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_final, 1);
    finish(h);
}

/* test_bug1055820b: weakref callbacks on cyclic trash see the weakrefs
 * already cleared, and nothing half-destroyed. */
struct ouch2 { rc_weakref *wrs[2]; void *got[2]; int calls; };
static void cb_1055820b(rc_weakref *ref, void *data)
{
    struct ouch2 *o = data;
    (void)ref;
    o->calls++;
    for (int i = 0; i < 2; i++) {
        rc_xdecref(o->got[i]);
        o->got[i] = rc_weakref_get(o->wrs[i]);
    }
}
TEST(test_bug1055820b)
{
    rc_heap *h = fresh();
    struct ouch2 ouch = {{NULL, NULL}, {NULL, NULL}, 0};
    obj *cs[2];
    for (int i = 0; i < 2; i++) {
        cs[i] = selfloop(h, &T_OBJ, i);
        ouch.wrs[i] = rc_weakref_new(cs[i], cb_1055820b, &ouch);
        REQUIRE(ouch.wrs[i] != NULL);
    }
    rc_gc_collect(h, 2);
    CHECK_EQ(ouch.calls, 0);
    rc_decref(cs[0]);
    rc_decref(cs[1]);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(ouch.calls, 2);
    for (int i = 0; i < 2; i++) {
        CHECK_NULL(ouch.got[i]);
        rc_xdecref(ouch.got[i]);
        rc_decref(ouch.wrs[i]);
    }
    finish(h);
}

/* test_bug21435: a finalizer that breaks the cycle it is in. */
static void hook_attr_none(obj *self) { clear(self, 1); }
TEST(test_bug21435)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    obj *a = mkobj(h, &T_OBJ, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    b->hook = hook_attr_none;
    obj *x = mkobj(h, &T_OBJ, 'x');
    set(b, 0, x);            /* B(A()) */
    rc_decref(x);
    set(a, 1, b);
    set(b, 1, a);
    rc_decref(a);
    rc_decref(b);
    long got = rc_gc_collect(h, 2);
    CHECK_GE(got, 0);
    CHECK_LE(got, 3);
    CHECK_EQ(n_final, 1);
    CHECK_EQ(n_release, 3);
    finish(h);
}

/* test_garbage_at_shutdown: uncollectable garbage left at rc_heap_free is
 * released once, its finalizers never run; with DEBUG_UNCOLLECTABLE the last
 * collection names it. */
static void garbage_at_shutdown(unsigned flags, const char **out)
{
    n_alloc = n_release = n_final = 0;
    FILE *f = check_capture_open();
    REQUIRE(f != NULL);
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.debug_stream = f;
    cfg.gc_enabled = 0;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    obj *x = selfloop(h, &T_LEG, 1);      /* x.x = x */
    obj *y = mkobj(h, &T_LEG, 2);          /* x.y = X('second') */
    set(x, 1, y);
    rc_decref(y);
    rc_decref(x);
    rc_gc_set_debug(h, flags);
    rc_heap_free(h);
    CHECK_EQ(n_final, 0);
    CHECK_EQ(n_release, 2);
    *out = check_capture_text(f);
    fclose(f);
}
TEST(test_garbage_at_shutdown)
{
    const char *text = NULL;
    garbage_at_shutdown(RC_DEBUG_UNCOLLECTABLE, &text);
    REQUIRE(text != NULL);
    CHECK_CONTAINS(text, "legacy_X");
    size_t len = strlen(text);
    CHECK(len > 0 && text[len - 1] == '\n');
    free((void *)text);
    garbage_at_shutdown(0, &text);
    REQUIRE(text != NULL);
    CHECK(strstr(text, "legacy_X") == NULL);
    free((void *)text);
}

/* test_gc_main_module_at_shutdown: l = [C()]; l.append(l) left as cyclic
 * trash at shutdown — the last collection runs C's finalizer, once. */
TEST(test_gc_main_module_at_shutdown)
{
    rc_heap *h = fresh();
    seq *l = mkseq(h, &T_LIST, 2);
    put_steal(l, 0, mkobj(h, &T_FIN, 'C'));
    put(l, 1, l);
    rc_decref(l);
    CHECK_EQ(n_final, 0);
    finish(h);
    CHECK_EQ(n_final, 1);
}

/* test_get_stats */
TEST(test_get_stats)
{
    rc_heap *h = fresh();
    rc_gen_stats old[3], st[3];
    rc_gc_get_stats(h, old);
    for (int g = 0; g < 3; g++) {
        CHECK_UEQ(old[g].collections, 0);
        CHECK_UEQ(old[g].collected, 0);
        CHECK_UEQ(old[g].uncollectable, 0);
    }
    obj *c = selfloop(h, &T_OBJ, 0);
    rc_decref(c);
    CHECK_EQ(rc_gc_collect(h, 0), 1);
    rc_gc_get_stats(h, st);
    CHECK_UEQ(st[0].collections, old[0].collections + 1);
    CHECK_UEQ(st[1].collections, old[1].collections);
    CHECK_UEQ(st[2].collections, old[2].collections);
    CHECK_UEQ(st[0].collected, 1);
    rc_gc_collect(h, 2);
    rc_gc_get_stats(h, st);
    CHECK_UEQ(st[0].collections, old[0].collections + 1);
    CHECK_UEQ(st[1].collections, old[1].collections);
    CHECK_UEQ(st[2].collections, old[2].collections + 1);
    CHECK_UEQ(st[2].collected, 0);
    finish(h);
}

/* test_freeze */
TEST(test_freeze)
{
    rc_heap *h = fresh();
    obj *a = mkobj(h, &T_OBJ, 0);
    obj *b = mkobj(h, &T_OBJ, 1);
    rc_gc_freeze(h);
    CHECK_EQ(rc_gc_get_freeze_count(h), 2);
    rc_gc_unfreeze(h);
    CHECK_EQ(rc_gc_get_freeze_count(h), 0);
    rc_decref(a);
    rc_decref(b);
    finish(h);
}

/* test_get_objects (3.12): l moves up one generation per collection. */
TEST(test_get_objects)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    seq *l = mkseq(h, &T_LIST, 1);
    put(l, 0, l);
    CHECK_EQ(seen_in_gen(h, -1, l), 1);
    CHECK_EQ(seen_in_gen(h, 0, l), 1);
    CHECK_EQ(seen_in_gen(h, 1, l), 0);
    CHECK_EQ(seen_in_gen(h, 2, l), 0);
    rc_gc_collect(h, 0);
    CHECK_EQ(seen_in_gen(h, 0, l), 0);
    CHECK_EQ(seen_in_gen(h, 1, l), 1);
    CHECK_EQ(seen_in_gen(h, 2, l), 0);
    rc_gc_collect(h, 1);
    CHECK_EQ(seen_in_gen(h, 0, l), 0);
    CHECK_EQ(seen_in_gen(h, 1, l), 0);
    CHECK_EQ(seen_in_gen(h, 2, l), 1);
    rc_gc_collect(h, 2);
    CHECK_EQ(seen_in_gen(h, 0, l), 0);
    CHECK_EQ(seen_in_gen(h, 1, l), 0);
    CHECK_EQ(seen_in_gen(h, 2, l), 1);
    CHECK_EQ(seen_in_gen(h, -1, l), 1);
    rc_decref(l);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    finish(h);
}

/* test_get_objects_generations: a full collection moves l out of gen 0. */
TEST(test_get_objects_generations)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    seq *l = mkseq(h, &T_LIST, 1);
    put(l, 0, l);
    CHECK_EQ(seen_in_gen(h, 0, l), 1);
    rc_gc_collect(h, 2);
    CHECK_EQ(seen_in_gen(h, 0, l), 0);
    rc_decref(l);
    rc_gc_collect(h, 2);
    finish(h);
}

/* test_get_objects_arguments: -1 walks all generations; bad ones fail. */
TEST(test_get_objects_arguments)
{
    rc_heap *h = fresh();
    obj *o[6];
    for (int i = 0; i < 6; i++) o[i] = mkobj(h, &T_OBJ, i);
    rc_gc_collect(h, 2);
    obj *young = mkobj(h, &T_OBJ, 9);
    CHECK_EQ(walk_len(h, -1), 7);
    CHECK_EQ(walk_len(h, -1), walk_len(h, 0) + walk_len(h, 1) + walk_len(h, 2));
    static const int bad[] = {3, 1000, -2, -1000};
    for (int i = 0; i < 4; i++) {
        struct finder f = {NULL, 0, 0};
        CHECK_EQ(rc_gc_get_objects(h, bad[i], finder_fn, &f), -1);
        CHECK_EQ(rc_last_error(h), RC_ERANGE);
        CHECK_EQ(f.n, 0);
    }
    for (int i = 0; i < 6; i++) rc_decref(o[i]);
    rc_decref(young);
    finish(h);
}

/* test_resurrection_only_happens_once_per_object */
TEST(test_resurrection_only_happens_once_per_object)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    obj *laz = selfloop(h, &T_FIN, 'L');
    laz->hook = hook_resurrect;
    CHECK_EQ(n_final, 0);
    rc_decref(laz);
    CHECK_EQ(rc_gc_collect(h, 2), 0); /* resurrected: not counted */
    CHECK_EQ(n_final, 1);
    CHECK_EQ(nstore, 1);
    CHECK_PTR_EQ(store[0], laz);
    CHECK_PTR_EQ(laz->ref[0], laz);   /* intact */
    drop_store();                     /* resurrected_instances.clear() */
    CHECK_EQ(n_final, 1);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(n_final, 1);
    CHECK_EQ(nstore, 0);
    CHECK_EQ(n_release, 1);
    finish(h);
}

/* test_resurrection_is_transitive: what the resurrected object reaches
 * survives intact too. */
TEST(test_resurrection_is_transitive)
{
    rc_heap *h = fresh();
    rc_gc_collect(h, 2);
    obj *laz = mkobj(h, &T_FIN, 'L');
    laz->hook = hook_resurrect;
    obj *cargo = selfloop(h, &T_OBJ, 'c');
    set(laz, 1, cargo);
    set(cargo, 1, laz);
    rc_decref(laz);
    rc_decref(cargo);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    REQUIRE(nstore == 1);
    obj *inst = store[--nstore];
    CHECK_PTR_EQ(inst, laz);
    CHECK_PTR_EQ(inst->ref[1], cargo);
    CHECK_PTR_EQ(cargo->ref[0], cargo);
    CHECK_PTR_EQ(cargo->ref[1], laz);
    CHECK_EQ(cargo->id, 'c');
    CHECK_EQ(n_release, 0);
    rc_decref(inst);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(n_final, 1);
    finish(h);
}

/* test_resurrection_does_not_block_cleanup_of_other_objects */
static void getstats(rc_heap *h, uint64_t *c, uint64_t *nc)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    *c = st[2].collected;
    *nc = st[2].uncollectable;
}
TEST(test_resurrection_does_not_block_cleanup_of_other_objects)
{
    enum { N = 100 };
    rc_heap *h = fresh();
    uint64_t oldc, oldnc, c, nc;
    rc_gc_collect(h, 2);
    getstats(h, &oldc, &oldnc);
    for (int i = 0; i < N; i++) rc_decref(selfloop(h, &T_OBJ, i)); /* A() */
    CHECK_EQ(rc_gc_collect(h, 2), N);
    getstats(h, &c, &nc);
    CHECK_UEQ(c - oldc, N);
    CHECK_UEQ(nc - oldnc, 0);

    oldc = c, oldnc = nc;
    obj *z = selfloop(h, &T_FIN, 'Z');                                /* Z() */
    z->hook = hook_resurrect;
    rc_decref(z);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    getstats(h, &c, &nc);
    CHECK_UEQ(c - oldc, 0);
    CHECK_UEQ(nc - oldnc, 0);

    oldc = c, oldnc = nc;
    for (int i = 0; i < N; i++) rc_decref(selfloop(h, &T_OBJ, i));
    z = selfloop(h, &T_FIN, 'Z');
    z->hook = hook_resurrect;
    rc_decref(z);
    CHECK_EQ(rc_gc_collect(h, 2), N);
    getstats(h, &c, &nc);
    CHECK_UEQ(c - oldc, N);
    CHECK_UEQ(nc - oldnc, 0);

    oldc = c, oldnc = nc;
    CHECK_EQ(nstore, 2);
    drop_store();                                                  /* zs.clear() */
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    getstats(h, &c, &nc);
    CHECK_UEQ(c - oldc, 2);
    CHECK_UEQ(nc - oldnc, 0);
    CHECK_EQ(n_final, 2);
    finish(h);
}

/* test_trash_weakref_clear (bpo-38006): A (a self-loop) holds Y, a container
 * the collector cannot see (untracked), which holds Z; A also holds WZ, a
 * weak reference to Z with a callback, kept alive a little longer by a
 * second trash cycle.  All of it is trash: WZ's callback must never run. */
struct wz_probe { int calls; };
static void cb_wz(rc_weakref *ref, void *data)
{
    (void)ref;
    ((struct wz_probe *)data)->calls++;
}
TEST(test_trash_weakref_clear)
{
    rc_heap *h = fresh();
    struct wz_probe probe = {0};
    obj *a = selfloop(h, &T_OBJ, 'A');
    obj *y = mkobj(h, &T_OBJ, 'Y');
    rc_untrack(y);                        /* ContainerNoGC */
    obj *z = mkobj(h, &T_OBJ, 'Z');
    set(y, 0, z);
    rc_decref(z);
    set(a, 1, y);
    rc_decref(y);
    rc_weakref *wz = rc_weakref_new(z, cb_wz, &probe);
    REQUIRE(wz != NULL);
    set(a, 2, wz);
    seq *wr_cycle = mkseq(h, &T_LIST, 2); /* wr_cycle = [a.wz]; append self */
    put(wr_cycle, 0, wz);
    put(wr_cycle, 1, wr_cycle);
    rc_decref(wz);
    rc_gc_collect(h, 2);
    rc_decref(a);
    rc_decref(wr_cycle);
    rc_gc_collect(h, 2);
    CHECK_EQ(probe.calls, 0);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
    CHECK_EQ(probe.calls, 0);
}

/* test_get_objects_during_gc (gh-125859): walks run by a finalizer during a
 * collection do not see the objects being collected. */
static int odd_collected;
static void hook_walks(obj *self)
{
    rc_heap *h = rc_heap_of(self);
    odd_collected = 1;
    struct finder f = {self, 0, 0};
    CHECK_EQ(rc_gc_get_objects(h, -1, finder_fn, &f), 0);
    CHECK_EQ(f.seen, 0);
    CHECK_GE(f.n, 1); /* the live object is still visible */
    struct finder r = {NULL, 0, 0};
    CHECK_EQ(rc_gc_get_referrers(h, self, finder_fn, &r), 0);
    CHECK_EQ(r.n, 0); /* its only referrer is itself, being collected */
}
TEST(test_get_objects_during_gc)
{
    rc_heap *h = fresh();
    odd_collected = 0;
    obj *keep = mkobj(h, &T_OBJ, 'k'); /* something visible meanwhile */
    obj *o = selfloop(h, &T_FIN, 'o');
    o->hook = hook_walks;
    rc_decref(o);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(odd_collected, 1);
    rc_decref(keep);
    finish(h);
}

/* test_traverse_frozen_objects (GH-126312): a collection that traverses
 * into a frozen object leaves its count alone. */
TEST(test_traverse_frozen_objects)
{
    rc_heap *h = fresh();
    seq *x = mkseq(h, &T_LIST, 3);
    for (int i = 0; i < 3; i++) put_steal(x, (size_t)i, mkatom(h, i + 1));
    rc_gc_freeze(h);
    seq *y = mkseq(h, &T_LIST, 2);
    put(y, 0, x);
    put(y, 1, y);
    CHECK_EQ(rc_refcount(x), 2);
    rc_decref(y);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(rc_refcount(x), 1);
    CHECK_EQ(x->n, 3);
    CHECK_EQ(((atom *)x->item[2])->v, 3);
    rc_gc_unfreeze(h);
    rc_decref(x);
    finish(h);
}

/* test_deferred_refcount_frozen: freeze, collect, unfreeze. */
TEST(test_deferred_refcount_frozen)
{
    rc_heap *h = fresh();
    obj *a = selfloop(h, &T_OBJ, 'a');
    obj *b = mkobj(h, &T_OBJ, 'b');
    set(b, 1, a);
    rc_gc_freeze(h);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    rc_gc_unfreeze(h);
    CHECK_EQ(rc_refcount(a), 3);
    CHECK_PTR_EQ(b->ref[1], a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    finish(h);
}

/* test_function_tp_clear_leaves_consistent_state (gh-91636): a finalizer of
 * trash makes a weak reference to other trash and hands it to an object
 * that dies later in the same collection; by then the referent is being
 * torn down, so the weak reference must read NULL. */
static void *func_seen;
static int latefin_ran;
static rc_weakref *weak_of(obj *o, int i) { return o->ref[i]; }
static void hook_latefin(obj *self)
{
    latefin_ran = 1;
    if (self->ref[0]) func_seen = rc_weakref_get(weak_of(self, 0));
}
static obj *g_latefin;
static void hook_cyclic(obj *self)
{
    obj *func = self->ref[0], *late = self->ref[1];
    rc_weakref *w = rc_weakref_new(func, NULL, NULL);
    REQUIRE(w != NULL);
    late->ref[0] = w;           /* self[1].ref = weakref.ref(self[0]) */
    obj *g = g_latefin;         /* del latefin (the global) */
    g_latefin = NULL;
    rc_decref(g);
}
TEST(test_function_tp_clear_leaves_consistent_state)
{
    rc_heap *h = fresh();
    func_seen = NULL;
    latefin_ran = 0;
    obj *latefin = mkobj(h, &T_FIN, 'l');
    latefin->hook = hook_latefin;
    g_latefin = latefin;
    obj *func = mkobj(h, &T_OBJ, 'f');
    obj *cyc = mkobj(h, &T_FIN, 'c');
    cyc->hook = hook_cyclic;
    set(cyc, 0, func);
    set(cyc, 1, latefin);
    set(func, 1, cyc);          /* func.__module__ = cyc */
    rc_decref(func);
    rc_decref(cyc);
    rc_gc_collect(h, 2);
    CHECK_EQ(latefin_ran, 1);
    CHECK_NULL(func_seen);
    rc_xdecref(func_seen);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_incremental_gc_handles_fast_cycle_creation (_test_gc_fast_cycles.py):
 * with thresholds 200, 10, cyclic trash made quickly must not pile up. */
static obj *ll_new(rc_heap *h, obj *next, obj *prev)
{
    obj *n = mkobj(h, &T_OBJ, 0);
    if (next) { set(n, 0, next); set(next, 1, n); }
    if (prev) { set(n, 1, prev); set(prev, 0, n); }
    return n;
}
static obj *make_ll(rc_heap *h, int depth)
{
    obj *head = ll_new(h, NULL, NULL);
    for (int i = 0; i < depth; i++) {
        obj *nh = ll_new(h, head, head->ref[1]);
        rc_decref(head);
        head = nh;
    }
    return head;
}
TEST(test_incremental_gc_handles_fast_cycle_creation)
{
    rc_heap *h = fresh();
    rc_gc_set_threshold(h, 200, 10, 10);
    rc_gc_enable(h);
    obj *head = make_ll(h, 1000);
    CHECK_EQ(rc_gc_isenabled(h), 1);
    uint64_t initial = stat_sum(h, 1);
    uint64_t worst = 0;
    obj *olds[20];
    int nolds = 0;
    for (int i = 0; i < 20000; i++) {
        obj *nh = make_ll(h, 20);
        set(nh, 2, head);            /* newhead.surprise = head */
        olds[nolds++] = nh;
        uint64_t now = stat_sum(h, 1);
        if (now > initial && now - initial > worst) worst = now - initial;
        if (nolds == 20) {
            while (nolds > 0) rc_decref(olds[--nolds]);
        }
    }
    CHECK_LT(worst, 27000);
    rc_decref(head);
    rc_gc_disable(h);
    rc_gc_collect(h, 2);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* A collection started from a finalizer: during a collection it does
 * nothing and returns 0; on the counting path it is a real collection. */
static long inner_result;
static void hook_collect(obj *self)
{
    inner_result = rc_gc_collect(rc_heap_of(self), 2);
}
TEST(test_collect_in_finalizer)
{
    rc_heap *h = fresh();
    /* trash with a finalizer that collects: the inner call returns 0 */
    inner_result = -99;
    obj *t = selfloop(h, &T_FIN, 't');
    t->hook = hook_collect;
    for (int i = 0; i < 3; i++) rc_decref(selfloop(h, &T_OBJ, i));
    rc_decref(t);
    CHECK_EQ(rc_gc_collect(h, 2), 4);
    CHECK_EQ(inner_result, 0);
    CHECK_EQ(n_release, 4);

    /* an object dying by counting: the inner call collects for real */
    inner_result = -99;
    obj *c = mkobj(h, &T_FIN, 'c');
    c->hook = hook_collect;
    for (int i = 0; i < 3; i++) rc_decref(selfloop(h, &T_OBJ, i));
    rc_decref(c);
    CHECK_EQ(inner_result, 3);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* ------------------------------------------------------------------ */
/* GCCallbackTests                                                     */
/* ------------------------------------------------------------------ */

struct visit { int who, phase; rc_gc_info info; };
struct visits { struct visit v[64]; int n; int cleanup; };
static void record(struct visits *vs, int who, int phase, const rc_gc_info *info)
{
    if (vs->n < 64) vs->v[vs->n++] = (struct visit){who, phase, *info};
}
static void gc_cb1(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)h;
    record(data, 1, phase, info);
}
static void gc_cb2(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    struct visits *vs = data;
    record(vs, 2, phase, info);
    if (phase == RC_GC_STOP && vs->cleanup) {
        /* Clean the Uncollectables out of gc.garbage. */
        for (size_t i = 0; i < rc_gc_garbage_count(h); i++) {
            obj *e = rc_gc_garbage_get(h, i);
            if (rc_type_of(e) == &T_LEG) clear(e, 1); /* e.partner = None */
        }
        rc_gc_garbage_clear(h);
    }
}
static rc_heap *callback_setup(struct visits *vs)
{
    rc_heap *h = fresh();
    memset(vs, 0, sizeof *vs);
    rc_gc_set_debug(h, 0);
    CHECK_EQ(rc_gc_callback_add(h, gc_cb1, vs), 0);
    CHECK_EQ(rc_gc_callback_add(h, gc_cb2, vs), 0);
    return h;
}
static void callback_teardown(rc_heap *h, struct visits *vs)
{
    CHECK_EQ(rc_gc_callback_remove(h, gc_cb1, vs), 0);
    CHECK_EQ(rc_gc_callback_remove(h, gc_cb2, vs), 0);
    rc_gc_collect(h, 2);
    rc_gc_garbage_clear(h);
    finish(h);
}

/* test_collect: each callback sees one start and one stop. */
TEST(test_callbacks_collect)
{
    struct visits vs;
    rc_heap *h = callback_setup(&vs);
    rc_gc_collect(h, 2);
    int n1 = 0, n2 = 0, starts = 0, stops = 0, last_start = -1, first_stop = 99;
    for (int i = 0; i < vs.n; i++) {
        if (vs.v[i].who == 1) n1++;
        if (vs.v[i].who == 2) n2++;
        if (vs.v[i].phase == RC_GC_START) { starts++; last_start = i; }
        if (vs.v[i].phase == RC_GC_STOP) { stops++; if (i < first_stop) first_stop = i; }
    }
    CHECK_EQ(n1, 2);
    CHECK_EQ(n2, 2);
    CHECK_EQ(starts, 2);
    CHECK_EQ(stops, 2);
    CHECK_LT(last_start, first_stop);
    callback_teardown(h, &vs);
}

/* test_collect_generation */
TEST(test_callbacks_collect_generation)
{
    struct visits vs;
    rc_heap *h = callback_setup(&vs);
    for (int g = 0; g < 3; g++) {
        vs.n = 0;
        rc_gc_collect(h, g);
        CHECK_EQ(vs.n, 4);
        for (int i = 0; i < vs.n; i++) CHECK_EQ(vs.v[i].info.generation, g);
    }
    callback_teardown(h, &vs);
}

/* test_collect_garbage: two Uncollectable pairs (legacy finalizers) and one
 * C1055820. */
static void uncollectable(rc_heap *h)
{
    obj *a = mkobj(h, &T_LEG, 'u');
    obj *b = mkobj(h, &T_LEG, 'v');
    set(a, 1, b);  /* partner */
    set(b, 1, a);
    rc_decref(a);
    rc_decref(b);
}
TEST(test_callbacks_collect_garbage)
{
    struct visits vs;
    rc_heap *h = callback_setup(&vs);
    rc_gc_collect(h, 2);
    vs.n = 0;
    uncollectable(h);
    uncollectable(h);
    rc_decref(selfloop(h, &T_OBJ, 666));
    CHECK_EQ(rc_gc_collect(h, 2), 5);
    int stops = 0;
    for (int i = 0; i < vs.n; i++) {
        if (vs.v[i].phase != RC_GC_STOP) continue;
        stops++;
        CHECK_UEQ(vs.v[i].info.collected, 1);
        CHECK_UEQ(vs.v[i].info.uncollectable, 4);
    }
    CHECK_EQ(stops, 2);
    REQUIRE(rc_gc_garbage_count(h) == 4);
    for (size_t i = 0; i < 4; i++)
        CHECK(rc_type_of(rc_gc_garbage_get(h, i)) == &T_LEG);
    CHECK_EQ(n_final, 0);

    /* Now let the callback handle the Uncollectable instances. */
    vs.cleanup = 1;
    vs.n = 0;
    rc_gc_garbage_clear(h);           /* gc.garbage[:] = [] */
    CHECK_EQ(n_release, 1);           /* the pairs still hold each other */
    rc_gc_collect(h, 2);
    stops = 0;
    for (int i = 0; i < vs.n; i++) {
        if (vs.v[i].phase != RC_GC_STOP) continue;
        stops++;
        CHECK_UEQ(vs.v[i].info.collected, 0);
        CHECK_UEQ(vs.v[i].info.uncollectable, 4);
    }
    CHECK_EQ(stops, 2);
    CHECK_EQ(rc_gc_garbage_count(h), 0); /* the Uncollectables are gone */
    CHECK_EQ(n_release, 5);
    CHECK_EQ(n_final, 4);                /* they died by counting */
    vs.cleanup = 0;
    callback_teardown(h, &vs);
    CHECK_EQ(n_final, 4);
}

/* ------------------------------------------------------------------ */
/* GCTogglingTests                                                     */
/* ------------------------------------------------------------------ */

/* Junk kept alive until the end of a test. */
#define JUNK_MAX 10001
static void *junk[JUNK_MAX];
static int njunk;
static void junk_append(rc_heap *h)
{
    REQUIRE(njunk < JUNK_MAX);
    junk[njunk++] = mkseq(h, &T_LIST, 0); /* junk.append([]) */
}
static void junk_clear(void)
{
    while (njunk > 0) rc_decref(junk[--njunk]);
}

/* test_bug1055820c: an old object kept alive only by young trash dies in the
 * middle of a young collection; its weakref callback must not be able to
 * reach the young trash. */
struct ouch1 { rc_weakref *c2wr; void *got; int calls; };
static void cb_1055820c(rc_weakref *ref, void *data)
{
    struct ouch1 *o = data;
    (void)ref;
    o->calls++;
    rc_xdecref(o->got);
    o->got = rc_weakref_get(o->c2wr);
}
TEST(test_bug1055820c)
{
    rc_heap *h = fresh();
    rc_gc_enable(h);
    njunk = 0;
    obj *c0 = selfloop(h, &T_OBJ, 0);
    rc_gc_collect(h, 2);               /* c0 into generation 2 */
    obj *c1 = selfloop(h, &T_OBJ, 1);
    set(c1, 1, c0);                    /* c1.keep_c0_alive = c0 */
    clear(c0, 0);                      /* del c0.loop */
    obj *c2 = selfloop(h, &T_OBJ, 2);
    struct ouch1 ouch = {NULL, NULL, 0};
    ouch.c2wr = rc_weakref_new(c2, NULL, NULL);
    rc_weakref *c0wr = rc_weakref_new(c0, cb_1055820c, &ouch);
    REQUIRE(ouch.c2wr != NULL && c0wr != NULL);
    rc_decref(c0);
    rc_decref(c1);
    rc_decref(c2);

    detector d;
    detector_init(&d, h);
    int i = 0;
    while (!d.happened) {
        i++;
        if (i > 10000) { CHECK(!"gc didn't happen after 10000 iterations"); break; }
        CHECK_EQ(ouch.calls, 0);
        junk_append(h);
    }
    CHECK_EQ(ouch.calls, 1);
    CHECK_NULL(ouch.got);
    rc_xdecref(ouch.got);
    rc_decref(d.wr);
    rc_decref(ouch.c2wr);
    rc_decref(c0wr);
    junk_clear();
    rc_gc_disable(h);
    finish(h);
}

/* test_bug1055820d: the same, with a finalizer instead of a callback. */
static rc_weakref *d_c2wr;
static void *d_got;
static int d_calls;
static void hook_1055820d(obj *self)
{
    (void)self;
    d_calls++;
    rc_xdecref(d_got);
    d_got = rc_weakref_get(d_c2wr);
}
TEST(test_bug1055820d)
{
    rc_heap *h = fresh();
    rc_gc_enable(h);
    njunk = 0;
    d_got = NULL;
    d_calls = 0;
    obj *d0 = selfloop(h, &T_FIN, 0);
    d0->hook = hook_1055820d;
    rc_gc_collect(h, 2);
    obj *c1 = selfloop(h, &T_OBJ, 1);
    set(c1, 1, d0);                    /* c1.keep_d0_alive = d0 */
    clear(d0, 0);                      /* del d0.loop */
    obj *c2 = selfloop(h, &T_OBJ, 2);
    d_c2wr = rc_weakref_new(c2, NULL, NULL);
    REQUIRE(d_c2wr != NULL);
    rc_decref(d0);
    rc_decref(c1);
    rc_decref(c2);

    detector d;
    detector_init(&d, h);
    int i = 0;
    while (!d.happened) {
        i++;
        if (i > 10000) { CHECK(!"gc didn't happen after 10000 iterations"); break; }
        CHECK_EQ(d_calls, 0);
        junk_append(h);
    }
    CHECK_EQ(d_calls, 1);
    CHECK_NULL(d_got);
    rc_xdecref(d_got);
    rc_decref(d.wr);
    rc_decref(d_c2wr);
    junk_clear();
    rc_gc_disable(h);
    finish(h);
}

/* test_indirect_calls_with_gc_disabled */
TEST(test_indirect_calls_with_gc_disabled)
{
    rc_heap *h = fresh();
    rc_gc_set_threshold(h, 1000, 0, 0);
    rc_gc_enable(h);
    njunk = 0;
    detector d;
    detector_init(&d, h);
    int i = 0;
    while (!d.happened) {
        i++;
        if (i > 10000) { CHECK(!"gc didn't happen after 10000 iterations"); break; }
        junk_append(h);
    }
    rc_decref(d.wr);
    junk_clear();

    rc_gc_disable(h);
    detector_init(&d, h);
    i = 0;
    while (!d.happened) {
        i++;
        if (i > 10000) break;
        junk_append(h);
    }
    CHECK_EQ(i, 10001);
    rc_decref(d.wr);
    junk_clear();
    finish(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
