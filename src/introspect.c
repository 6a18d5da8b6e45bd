/* introspect.c — looking at the heap from the program: walks over tracked
 * objects (gc.get_objects), referrers and referents, and freezing.
 *
 * Every walk first takes a snapshot of the objects it will report, holding
 * a reference to each, and only then calls the walk function.  The function
 * may therefore allocate, drop references, untrack or collect without the
 * walk losing its place or reporting a freed object.
 */
#include "internal.h"

#include <stdlib.h>

/* Whether a walk may show the object (a tombstone: no). */
static bool visible(const void *o)
{
    return o && rc__visible(RC__HEAD(o));
}

static int snap_push(rc__vec *v, void *o)
{
    if (rc__vec_push(v, o) != 0) return RC_ENOMEM;
    rc_incref(o);
    return 0;
}

/* Reports each object of the snapshot, then drops the snapshot's
 * references (all of them, even after the walk was stopped).  Meanwhile
 * h->walking refuses rc_heap_free. */
static int report(rc_heap *h, rc__vec *v, rc_walk_fn fn, void *arg)
{
    int ret = 0;
    h->walking++;
    for (size_t i = 0; i < v->len; i++) {
        if (ret == 0) ret = fn(v->v[i], arg);
    }
    h->walking--;
    for (size_t i = 0; i < v->len; i++) rc_decref(v->v[i]);
    rc__vec_free(v);
    return ret;
}

static void drop_snapshot(rc__vec *v)
{
    for (size_t i = 0; i < v->len; i++) rc_decref(v->v[i]);
    rc__vec_free(v);
}

/* The index range of a generation's bands (-1: every band but frozen). */
static void gen_range(const rc_heap *h, int generation, uint32_t *lo, uint32_t *hi)
{
    static const int first[3] = {RC__GEN0, RC__GEN1, RC__OLD};
    static const int last[3] = {RC__GEN0, RC__GEN1, RC__PENDING};
    int b0 = generation < 0 ? RC__OLD : first[generation];
    int b1 = generation < 0 ? RC__GEN0 : last[generation];
    *lo = h->band[b0];
    *hi = b1 + 1 < RC__NBANDS ? h->band[b1 + 1] : h->len;
}

int rc_gc_get_objects(rc_heap *h, int generation, rc_walk_fn fn, void *arg)
{
    if (!h || !fn) return rc__fail(h, RC_EINVAL), -1;
    if (generation < -1 || generation > 2) return rc__fail(h, RC_ERANGE), -1;
    uint32_t lo, hi;
    gen_range(h, generation, &lo, &hi);
    rc__vec snap = {0};
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!visible(o)) continue;
        if (snap_push(&snap, o) != 0) {
            drop_snapshot(&snap);
            return rc__fail(h, RC_ENOMEM), -1;
        }
    }
    return report(h, &snap, fn, arg);
}

typedef struct find_ctx {
    const void *target;
    bool        found;
} find_ctx;

static int visit_find(void **slot, void *arg)
{
    find_ctx *c = arg;
    if (*slot == c->target) {
        c->found = true;
        return 1;
    }
    return 0;
}

int rc_gc_get_referrers(rc_heap *h, const void *obj, rc_walk_fn fn, void *arg)
{
    if (!h || !obj || !fn) return rc__fail(h, RC_EINVAL), -1;
    uint32_t lo, hi;
    gen_range(h, -1, &lo, &hi);
    rc__vec snap = {0};
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!visible(o)) continue;
        find_ctx c = {obj, false};
        rc__type(RC__HEAD(o))->traverse(o, visit_find, &c);
        if (c.found && snap_push(&snap, o) != 0) {
            drop_snapshot(&snap);
            return rc__fail(h, RC_ENOMEM), -1;
        }
    }
    return report(h, &snap, fn, arg);
}

typedef struct collect_ctx {
    rc__vec v;
    bool    failed;
} collect_ctx;

static int visit_collect(void **slot, void *arg)
{
    collect_ctx *c = arg;
    if (*slot && snap_push(&c->v, *slot) != 0) {
        c->failed = true;
        return 1;
    }
    return 0;
}

int rc_gc_get_referents(const void *obj, rc_walk_fn fn, void *arg)
{
    if (!obj || !fn) return rc__fail(obj ? rc_heap_of(obj) : NULL, RC_EINVAL), -1;
    const rc_type *t = rc__type(RC__HEAD(obj));
    if (!t->traverse) return 0;
    collect_ctx c = {{0}, false};
    t->traverse((void *)obj, visit_collect, &c);
    if (c.failed) {
        drop_snapshot(&c.v);
        return rc__fail(rc_heap_of(obj), RC_ENOMEM), -1;
    }
    return report(rc_heap_of(obj), &c.v, fn, arg);
}

/* ------------------------------------------------------------------ */
/* Freezing                                                            */
/* ------------------------------------------------------------------ */

/* Every tracked object joins the frozen band: the boundaries move, no
 * object is touched. */
void rc_gc_freeze(rc_heap *h)
{
    if (!h) return;
    if (h->collecting) {
        rc__fail(h, RC_EBUSY);
        return;
    }
    for (int b = RC__OLD; b < RC__NBANDS; b++) {
        h->live[RC__FROZEN] += h->live[b];
        h->live[b] = 0;
        h->band[b] = h->len;
    }
    h->count[0] = 0;
}

void rc_gc_unfreeze(rc_heap *h)
{
    if (!h) return;
    if (h->collecting) {
        rc__fail(h, RC_EBUSY);
        return;
    }
    h->live[RC__OLD] += h->live[RC__FROZEN];
    h->live[RC__FROZEN] = 0;
    h->band[RC__OLD] = 0;
}

size_t rc_gc_get_freeze_count(const rc_heap *h) { return h ? h->live[RC__FROZEN] : 0; }
