/* test_weakref_gc.c — the parts of CPython's Lib/test/test_weakref.py (3.12)
 * about weak references and the cycle collector, ported to recycle.
 *
 * Python's callbacks are often bound methods, objects the weak reference
 * holds strongly; recycle's callbacks are a C function and a borrowed data
 * pointer.  Where the Python graph depends on the weak reference holding its
 * callback, the port makes the weak reference's owner hold that object.
 * Automatic collection is off wherever counts are checked; every test ends
 * with rc_heap_free and checks that each object was released exactly once.
 */
#include <recycle.h>
#include "check.h"

#include <string.h>

#include "fixtures.h"

static rc_weakref *wref(void *o, rc_weakref_cb cb, void *data)
{
    rc_weakref *w = rc_weakref_new(o, cb, data);
    REQUIRE(w != NULL);
    return w;
}

/* Model classes: a classic class holds its dict; a new-style class also a
 * __mro__ tuple that refers back to it (a cycle, as in Python). */
static obj *classic_class(rc_heap *h, long id)
{
    obj *c = mkobj(h, &T_OBJ, id);
    set_steal(c, 0, mkobj(h, &T_OBJ, 'd'));
    return c;
}
static obj *newstyle_class(rc_heap *h, long id)
{
    obj *c = classic_class(h, id);
    obj *mro = mkobj(h, &T_OBJ, 'm');
    set(mro, 0, c);
    set_steal(c, 1, mro);
    return c;
}

/* A log of what callbacks did (Python's alist). */
#define LOG_MAX 16
struct log { const char *what[LOG_MAX]; void *arg[LOG_MAX]; int n; };
static void log_add(struct log *l, const char *what, void *arg)
{
    if (l->n < LOG_MAX) {
        l->what[l->n] = what;
        l->arg[l->n] = arg;
    }
    l->n++;
}

/* A callback standing for a method of the object passed as data: it
 * touches the object's attributes (self.me, self.c1, self.wr ...), which
 * must all still be there if it ever runs. */
static int method_calls;
static void cb_method(rc_weakref *ref, void *data)
{
    obj *self = data;
    (void)ref;
    method_calls++;
    for (int i = 0; i < NREF; i++)
        CHECK(self->ref[i] != NULL || i == NREF - 1);
}

/* test_callback_in_cycle_1: I holds class J strongly and a weak reference
 * to it whose callback is a method of I; J, II (I's class) and I are all
 * trash.  The weak reference is trash too: its callback never runs. */
TEST(test_callback_in_cycle_1)
{
    rc_heap *h = fresh();
    method_calls = 0;
    obj *J = newstyle_class(h, 'J');
    obj *II = newstyle_class(h, 'C');
    obj *I = mkobj(h, &T_OBJ, 'I');
    set(I, 0, II);                      /* I's class */
    set(I, 1, J);                       /* I.J = J */
    set_steal(I, 2, wref(J, cb_method, I)); /* I.wr = weakref.ref(J, I.acallback) */
    set(I, 3, I);   /* I.wr holds the bound method I.acallback, which holds I */
    rc_decref(I);
    rc_decref(J);
    rc_decref(II);
    CHECK_EQ(rc_gc_collect(h, 2), 7);  /* J (3), II (3), I */
    CHECK_EQ(method_calls, 0);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_callback_in_cycle_2: the same with II a classic class (no cycle of
 * its own: it is reachable from I only). */
TEST(test_callback_in_cycle_2)
{
    rc_heap *h = fresh();
    method_calls = 0;
    obj *J = newstyle_class(h, 'J');
    obj *II = classic_class(h, 'C');
    obj *I = mkobj(h, &T_OBJ, 'I');
    set(I, 0, II);
    set(I, 1, J);
    set_steal(I, 2, wref(J, cb_method, I));
    set(I, 3, I);   /* through I.wr's callback, as above */
    rc_decref(I);
    rc_decref(J);
    rc_decref(II);
    CHECK_EQ(rc_gc_collect(h, 2), 6);  /* J (3), II (2), I */
    CHECK_EQ(method_calls, 0);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_callback_in_cycle_3 / test_callback_reachable_one_way: c1 can be
 * reached from c2, not the other way; c2's weak reference to c1 has a
 * callback using c2. */
TEST(test_callback_in_cycle_3)
{
    rc_heap *h = fresh();
    method_calls = 0;
    obj *c1 = mkobj(h, &T_OBJ, 1);
    obj *c2 = mkobj(h, &T_OBJ, 2);
    set(c2, 0, c2);                          /* c2.me = c2 */
    set(c2, 1, c1);                          /* c2.c1 = c1 */
    set_steal(c2, 2, wref(c1, cb_method, c2)); /* c2.wr = weakref.ref(c1, c2.cb) */
    rc_decref(c1);
    rc_decref(c2);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(method_calls, 0);
    CHECK_EQ(n_release, 2);
    finish(h);
}

/* test_callback_in_cycle_4 / test_callback_different_classes: as _3, c1 and
 * c2 of different classes, both classes trash as well. */
TEST(test_callback_in_cycle_4)
{
    rc_heap *h = fresh();
    method_calls = 0;
    obj *C = newstyle_class(h, 'C');
    obj *D = classic_class(h, 'D');
    obj *c1 = mkobj(h, &T_OBJ, 1);
    obj *c2 = mkobj(h, &T_OBJ, 2);
    set(c1, 3, D);
    set(c2, 3, C);
    set(c2, 0, c2);
    set(c2, 1, c1);
    set_steal(c2, 2, wref(c1, cb_method, c2));
    rc_decref(c1);
    rc_decref(c2);
    rc_decref(C);
    rc_decref(D);
    CHECK_EQ(rc_gc_collect(h, 2), 7);  /* c1, c2, C (3), D (2) */
    CHECK_EQ(method_calls, 0);
    CHECK_EQ(n_release, n_alloc);
    finish(h);
}

/* test_callback_in_cycle_resurrection: callbacks of weak references that are
 * trash would resurrect trash; they must not run.  The weak reference to the
 * class, held from outside, does run. */
static struct log g_log;
static void cb_resurrect(rc_weakref *ref, void *data)
{
    obj *self = data;
    (void)ref;
    rc_incref(self->ref[1]);              /* alist.append(self.c) */
    log_add(&g_log, "resurrected", self->ref[1]);
}
static void cb_went_away(rc_weakref *ref, void *data)
{
    log_add(data, "C went away", ref);
}
TEST(test_callback_in_cycle_resurrection)
{
    rc_heap *h = fresh();
    memset(&g_log, 0, sizeof g_log);
    obj *C = newstyle_class(h, 'C');
    obj *c1 = mkobj(h, &T_OBJ, 1);
    obj *c2 = mkobj(h, &T_OBJ, 2);
    set(c1, 0, C);
    set(c2, 0, C);
    set(c1, 1, c2);                       /* c1.c = c2 */
    set(c2, 1, c1);                       /* c2.c = c1 */
    set_steal(c1, 2, wref(c2, cb_resurrect, c1));
    set_steal(c2, 2, wref(c1, cb_resurrect, c2));
    rc_weakref *wr = wref(C, cb_went_away, &g_log);
    rc_decref(c1);
    rc_decref(c2);
    rc_decref(C);
    CHECK_EQ(g_log.n, 0);                 /* del isn't enough */
    CHECK_EQ(rc_gc_collect(h, 2), 5);
    CHECK_EQ(g_log.n, 1);
    if (g_log.n >= 1) {
        CHECK_STR_EQ(g_log.what[0], "C went away");
        CHECK_PTR_EQ(g_log.arg[0], wr);
    }
    CHECK_NULL(rc_weakref_get(wr));
    g_log.n = 0;
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    CHECK_EQ(g_log.n, 0);
    rc_decref(wr);
    finish(h);
}

/* test_callbacks_on_callback: weak reference callbacks *on* a callback
 * object.  c and d hold each other; `m` stands for the bound method c.cb,
 * which c.wr holds (here: c holds it).  d.wr is a weak reference to m; an
 * outside weak reference to m has safe_callback.  Only that one runs. */
static void cb_safe(rc_weakref *ref, void *data)
{
    (void)ref;
    log_add(data, "safe_callback called", NULL);
}
static void cb_called(rc_weakref *ref, void *data)
{
    (void)ref;
    (void)data;
    log_add(&g_log, "cb called", NULL);
}
TEST(test_callbacks_on_callback)
{
    rc_heap *h = fresh();
    memset(&g_log, 0, sizeof g_log);
    obj *c = mkobj(h, &T_OBJ, 'c');
    obj *d = mkobj(h, &T_OBJ, 'd');
    set(c, 0, d);                              /* c.other = d */
    set(d, 0, c);                              /* d.other = c */
    obj *m = mkobj(h, &T_OBJ, 'm');            /* callback = c.cb */
    set(m, 0, c);
    set(c, 1, m);                              /* held by c.wr */
    set_steal(c, 2, wref(d, cb_called, m));    /* c.wr: won't trigger */
    set_steal(d, 2, wref(m, cb_called, d));    /* d.wr: ditto */
    rc_weakref *external_wr = wref(m, cb_safe, &g_log); /* but this will */
    void *got = rc_weakref_get(external_wr);
    CHECK_PTR_EQ(got, m);
    rc_xdecref(got);
    rc_decref(m);
    rc_decref(c);
    rc_decref(d);
    CHECK_EQ(g_log.n, 0);
    CHECK_EQ(rc_gc_collect(h, 2), 3);
    CHECK_EQ(g_log.n, 1);
    if (g_log.n >= 1) CHECK_STR_EQ(g_log.what[0], "safe_callback called");
    CHECK_NULL(rc_weakref_get(external_wr));
    g_log.n = 0;
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    CHECK_EQ(g_log.n, 0);
    rc_decref(external_wr);
    finish(h);
}

/* test_sf_bug_840829: a callback that collects, run while objects are being
 * deallocated by counting — a real collection, which must not see (or free
 * again) the objects being torn down. */
static long cb_collect_result;
static int cb_collect_calls;
static void cb_collect(rc_weakref *ref, void *data)
{
    (void)ref;
    (void)data;
    cb_collect_calls++;
    cb_collect_result = rc_gc_collect(g_heap, 2);
}
TEST(test_sf_bug_840829)
{
    rc_heap *h = fresh();
    g_heap = h;
    cb_collect_calls = 0;
    obj *c = mkobj(h, &T_OBJ, 'c');
    rc_weakref *wr = wref(c, cb_collect, NULL);
    rc_decref(selfloop(h, &T_OBJ, 't'));     /* trash for it to find */
    rc_decref(c);
    CHECK_EQ(cb_collect_calls, 1);
    CHECK_EQ(cb_collect_result, 1);
    rc_decref(wr);                           /* the end of the first part */

    obj *c1 = mkobj(h, &T_OBJ, 1);
    set_steal(c1, 0, mkobj(h, &T_OBJ, 'i')); /* c1.i = C() */
    wr = wref(c1->ref[0], cb_collect, NULL);
    obj *c2 = mkobj(h, &T_OBJ, 2);
    set(c2, 0, c1);                          /* c2.c1 = c1 */
    rc_decref(c1);                           /* alive through c2 */
    rc_decref(selfloop(h, &T_OBJ, 't'));
    rc_decref(selfloop(h, &T_OBJ, 't'));
    rc_decref(c2);                           /* c2, c1, c1.i die by counting */
    CHECK_EQ(cb_collect_calls, 2);
    CHECK_EQ(cb_collect_result, 2);
    CHECK_EQ(n_release, n_alloc);
    rc_decref(wr);
    finish(h);
}

/* test_gc_during_ref_creation: a collection starting inside
 * rc_weakref_new (threshold 1) frees a piece of trash that holds another
 * weak reference to the same object. */
static int plain_calls;
static void cb_plain(rc_weakref *ref, void *data)
{
    (void)ref;
    (void)data;
    plain_calls++;
}
TEST(test_gc_during_ref_creation)
{
    rc_heap *h = fresh();
    plain_calls = 0;
    rc_gc_set_threshold(h, 1, 1, 1);
    rc_gc_enable(h);
    rc_gc_collect(h, 2);
    obj *referenced = mkobj(h, &T_OBJ, 'r');
    obj *a = selfloop(h, &T_OBJ, 'a');
    set_steal(a, 1, wref(referenced, NULL, NULL)); /* a.wr = ref(referenced) */
    rc_decref(a);                                  /* a = A(): a is trash */
    a = mkobj(h, &T_OBJ, 'b');
    rc_weakref *w = wref(referenced, cb_plain, NULL);
    for (int i = 0; i < 10; i++) rc_decref(mkobj(h, &T_OBJ, i)); /* more gc */
    void *got = rc_weakref_get(w);
    CHECK_PTR_EQ(got, referenced);
    rc_xdecref(got);
    rc_gc_disable(h);
    rc_gc_collect(h, 2);
    CHECK_EQ(plain_calls, 0);
    rc_decref(referenced);
    CHECK_EQ(plain_calls, 1);
    CHECK_NULL(rc_weakref_get(w));
    rc_decref(w);
    rc_decref(a);
    finish(h);
}

/* test_ref_created_during_del (bug #1377858): a weak reference created by a
 * finalizer to its own object is cleared when the object dies anyway. */
static rc_weakref *ref_from_del;
static void hook_ref_self(obj *self)
{
    ref_from_del = rc_weakref_new(self, cb_plain, NULL);
    CHECK(ref_from_del != NULL);
}
TEST(test_ref_created_during_del)
{
    rc_heap *h = fresh();
    plain_calls = 0;
    ref_from_del = NULL;
    obj *w = mkobj(h, &T_FIN, 'w');       /* dies by counting */
    w->hook = hook_ref_self;
    rc_decref(w);
    REQUIRE(ref_from_del != NULL);
    CHECK_NULL(rc_weakref_get(ref_from_del));
    CHECK_EQ(plain_calls, 1);
    rc_decref(ref_from_del);

    ref_from_del = NULL;
    w = selfloop(h, &T_FIN, 'w');         /* dies in a collection */
    w->hook = hook_ref_self;
    rc_decref(w);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    REQUIRE(ref_from_del != NULL);
    CHECK_NULL(rc_weakref_get(ref_from_del));
    CHECK_EQ(n_release, 2);
    rc_decref(ref_from_del);
    finish(h);
}

/* test_classes: classes are weakly referenceable; the callback gets the
 * weak reference (l.append). */
static void cb_append(rc_weakref *ref, void *data)
{
    log_add(data, "append", ref);
}
TEST(test_classes)
{
    rc_heap *h = fresh();
    struct log l = {{0}, {0}, 0};
    obj *A = newstyle_class(h, 'A');
    rc_weakref *a = wref(A, cb_append, &l);
    rc_decref(A);                         /* A = None */
    CHECK_EQ(l.n, 0);
    CHECK_EQ(rc_gc_collect(h, 2), 3);
    CHECK_NULL(rc_weakref_get(a));
    CHECK_EQ(l.n, 1);
    CHECK_PTR_EQ(l.arg[0], a);
    rc_decref(a);
    finish(h);
}

/* test_trashcan_16602: a weak reference whose target dies deep in a long
 * deallocation chain is cleared before the target can be seen from outside.
 * Each node's callback (run when its parent dies) looks at the node itself
 * through a weak reference: it sees it alive with a real count, or not at
 * all.  As in Python, a weak-keyed dict holds each child, keyed by its
 * parent: the key's callback drops the child when the parent dies, so the
 * whole chain dies through callbacks. */
static long seen_dead;
static long cb_16602_calls;
static void cb_16602(rc_weakref *wparent, void *data)
{
    (void)wparent;
    cb_16602_calls++;
    void *o = rc_weakref_get(data);          /* o = wself() */
    if (o) {
        if (rc_refcount(o) < 2) seen_dead++; /* ours alone: it was dead */
        rc_decref(o);
    }
}
enum { N16602 = 2000 };
static rc_weakref *wkd_key[N16602], *wkd_self[N16602];
static void *wkd_value[N16602];
static void cb_wkd_remove(rc_weakref *ref, void *data)
{
    size_t i = (size_t)(uintptr_t)data;
    (void)ref;
    void *v = wkd_value[i];
    wkd_value[i] = NULL;
    rc_xdecref(v);
}
/* C(parent): wself = weakref.ref(self); self.wparent = weakref.ref(parent, cb) */
static obj *c_16602(rc_heap *h, obj *parent, long i, rc_weakref **wself_out)
{
    obj *c = mkobj(h, &T_OBJ, i);
    rc_weakref *wself = wref(c, NULL, NULL);
    *wself_out = wself;   /* the closure holds wself: we keep it alive */
    if (parent) set_steal(c, 2, wref(parent, cb_16602, wself));
    return c;
}
TEST(test_trashcan_16602)
{
    rc_heap *h = fresh();
    seen_dead = cb_16602_calls = 0;
    rc_weakref *root_self;
    obj *root = c_16602(h, NULL, 0, &root_self);
    obj *c = root;
    for (size_t n = 0; n < N16602; n++) {        /* d[c] = c = C(c) */
        obj *child = c_16602(h, c, (long)n + 1, &wkd_self[n]);
        wkd_key[n] = wref(c, cb_wkd_remove, (void *)(uintptr_t)n);
        wkd_value[n] = child;
        c = child;
    }
    rc_decref(root);                             /* del root */
    CHECK_EQ(seen_dead, 0);
    CHECK_LE(cb_16602_calls, N16602);
    CHECK_EQ(n_release, N16602 + 1);
    for (size_t n = 0; n < N16602; n++) {
        CHECK_NULL(wkd_value[n]);
        CHECK_NULL(rc_weakref_get(wkd_key[n]));
        CHECK_NULL(rc_weakref_get(wkd_self[n]));
        rc_decref(wkd_key[n]);
        rc_decref(wkd_self[n]);
    }
    rc_decref(root_self);
    finish(h);
}

/* The same idea with a chain of strong references 100,000 deep, dropped by
 * counting (each node's callback runs before its parent lets go of it), then
 * hanging off trash found by the collector (no callback runs: every wparent
 * dies with its referent). */
static obj *chain_16602(rc_heap *h, long n)
{
    obj *root = mkobj(h, &T_OBJ, 0);
    obj *c = root;
    for (long i = 1; i < n; i++) {
        obj *child = mkobj(h, &T_OBJ, i);
        rc_weakref *wself = wref(child, NULL, NULL);
        set_steal(child, 1, wself);                       /* held by the node */
        set_steal(child, 2, wref(c, cb_16602, wself));    /* self.wparent */
        set_steal(c, 0, child);
        c = child;
    }
    return root;
}
TEST(test_trashcan_16602_deep)
{
    rc_heap *h = fresh();
    seen_dead = cb_16602_calls = 0;
    enum { N = 100000 };
    obj *root = chain_16602(h, N);
    rc_decref(root);
    CHECK_EQ(cb_16602_calls, N - 1);
    CHECK_EQ(seen_dead, 0);
    CHECK_EQ(n_release, N);

    seen_dead = cb_16602_calls = 0;
    root = chain_16602(h, N);
    set(root, 3, root);
    rc_decref(root);
    CHECK_EQ(rc_gc_collect(h, 2), N);
    CHECK_EQ(cb_16602_calls, 0);
    CHECK_EQ(seen_dead, 0);
    finish(h);
}

/* test_multiple_callbacks and test_multiple_selfref_callbacks, for trash:
 * both callbacks run, once each, and each sees every weak reference to the
 * object already cleared. */
struct two { rc_weakref *r[2]; int calls; int live_seen; };
static void cb_two(rc_weakref *ref, void *data)
{
    struct two *t = data;
    (void)ref;
    t->calls++;
    for (int i = 0; i < 2; i++) {
        void *o = rc_weakref_get(t->r[i]);
        if (o) { t->live_seen++; rc_decref(o); }
    }
}
TEST(test_multiple_callbacks)
{
    rc_heap *h = fresh();
    struct two t = {{NULL, NULL}, 0, 0};
    obj *o = selfloop(h, &T_OBJ, 'o');
    t.r[0] = wref(o, cb_two, &t);
    t.r[1] = wref(o, cb_two, &t);
    rc_decref(o);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(t.calls, 2);
    CHECK_EQ(t.live_seen, 0);
    CHECK_NULL(rc_weakref_get(t.r[0]));
    CHECK_NULL(rc_weakref_get(t.r[1]));
    rc_gc_collect(h, 2);
    CHECK_EQ(t.calls, 2);
    rc_decref(t.r[0]);
    rc_decref(t.r[1]);

    /* by counting as well */
    t = (struct two){{NULL, NULL}, 0, 0};
    o = mkobj(h, &T_OBJ, 'p');
    t.r[0] = wref(o, cb_two, &t);
    t.r[1] = wref(o, cb_two, &t);
    rc_decref(o);
    CHECK_EQ(t.calls, 2);
    CHECK_EQ(t.live_seen, 0);
    rc_decref(t.r[0]);
    rc_decref(t.r[1]);
    finish(h);
}

/* check_len_cycles (test_weak_keyed_len_cycles / test_weak_valued_len_cycles):
 * weak references to 20 RefCycles are all dead after one collection. */
TEST(test_weak_valued_len_cycles)
{
    rc_heap *h = fresh();
    enum { N = 20 };
    rc_weakref *wr[N];
    for (int i = 0; i < N; i++) {
        obj *o = selfloop(h, &T_OBJ, i);
        wr[i] = wref(o, NULL, NULL);
        rc_decref(o);
    }
    int alive = 0;
    for (int i = 0; i < N; i++) {
        void *o = rc_weakref_get(wr[i]);
        if (o) { alive++; rc_decref(o); }
    }
    CHECK_EQ(alive, N);
    CHECK_EQ(rc_gc_collect(h, 2), N);
    for (int i = 0; i < N; i++) {
        CHECK_NULL(rc_weakref_get(wr[i]));
        rc_decref(wr[i]);
    }
    finish(h);
}

/* Callbacks run during a collection may create objects: they wait for the
 * next collection.  A collection asked for meanwhile returns 0. */
static void cb_creates(rc_weakref *ref, void *data)
{
    rc_heap *h = data;
    (void)ref;
    cb_collect_result = rc_gc_collect(h, 2);
    rc_decref(selfloop(h, &T_OBJ, 'n'));
    rc_decref(selfloop(h, &T_OBJ, 'n'));
}
TEST(test_callback_creates_objects_during_collection)
{
    rc_heap *h = fresh();
    cb_collect_result = -99;
    obj *o = selfloop(h, &T_OBJ, 'o');
    rc_weakref *w = wref(o, cb_creates, h);
    rc_decref(o);
    CHECK_EQ(rc_gc_collect(h, 2), 1);
    CHECK_EQ(cb_collect_result, 0);
    CHECK_EQ(n_alloc, 3);
    CHECK_EQ(n_release, 1);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(n_release, 3);
    rc_decref(w);
    finish(h);
}

/* Weak references to trash are cleared before any finalizer of the
 * collection runs (test_bug1055820d's point, checked directly): every
 * finalizer in a trash cycle sees both weak references dead. */
static rc_weakref *fin_wr[2];
static int fin_saw_live;
static void hook_check_weak(obj *self)
{
    (void)self;
    for (int i = 0; i < 2; i++) {
        void *o = rc_weakref_get(fin_wr[i]);
        if (o) { fin_saw_live++; rc_decref(o); }
    }
}
TEST(test_weakrefs_cleared_before_finalizers)
{
    rc_heap *h = fresh();
    fin_saw_live = 0;
    obj *a = mkobj(h, &T_FIN, 'a');
    obj *b = mkobj(h, &T_FIN, 'b');
    a->hook = b->hook = hook_check_weak;
    set(a, 1, b);
    set(b, 1, a);
    fin_wr[0] = wref(a, NULL, NULL);
    fin_wr[1] = wref(b, cb_plain, NULL);
    rc_decref(a);
    rc_decref(b);
    plain_calls = 0;
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(n_final, 2);
    CHECK_EQ(fin_saw_live, 0);
    CHECK_EQ(plain_calls, 1);
    rc_decref(fin_wr[0]);
    rc_decref(fin_wr[1]);
    finish(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
