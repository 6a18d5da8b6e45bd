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

/* The bands of a generation (-1: every band but frozen). */
static unsigned gen_bands(int generation)
{
    static const unsigned bands[3] = {1u << RC__GEN0, 1u << RC__GEN1,
                                      1u << RC__OLD | 1u << RC__PENDING};
    return generation < 0 ? bands[0] | bands[1] | bands[2] : bands[generation];
}

typedef struct snap_ctx {
    rc__vec     v;
    const void *target; /* get_referrers: the object referred to */
    bool        failed;
} snap_ctx;

static int snap_object(void *o, void *arg)
{
    snap_ctx *c = arg;
    if (snap_push(&c->v, o) != 0) {
        c->failed = true;
        return 1;
    }
    return 0;
}

/* The tracked objects of `bands` the walk shows, each with a reference,
 * then reported; -1 (RC_ENOMEM) when the snapshot could not be taken. */
static int snap_bands(rc_heap *h, unsigned bands, int (*pick)(void *o, void *arg),
                      snap_ctx *c, rc_walk_fn fn, void *arg)
{
    rc__walk_tracked(h, bands, pick, c);
    if (c->failed) {
        drop_snapshot(&c->v);
        return rc__fail(h, RC_ENOMEM), -1;
    }
    return report(h, &c->v, fn, arg);
}

int rc_gc_get_objects(rc_heap *h, int generation, rc_walk_fn fn, void *arg)
{
    if (!h || !fn) return rc__fail(h, RC_EINVAL), -1;
    if (generation < -1 || generation > 2) return rc__fail(h, RC_ERANGE), -1;
    snap_ctx c = {{0}, NULL, false};
    return snap_bands(h, gen_bands(generation), snap_object, &c, fn, arg);
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

static int snap_referrer(void *o, void *arg)
{
    snap_ctx *c = arg;
    find_ctx f = {c->target, false};
    rc__type(RC__HEAD(o))->traverse(o, visit_find, &f);
    return f.found ? snap_object(o, arg) : 0;
}

int rc_gc_get_referrers(rc_heap *h, const void *obj, rc_walk_fn fn, void *arg)
{
    if (!h || !obj || !fn) return rc__fail(h, RC_EINVAL), -1;
    snap_ctx c = {{0}, obj, false};
    return snap_bands(h, gen_bands(-1), snap_referrer, &c, fn, arg);
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

/* Every tracked object joins the frozen band, which is paged: a walk of
 * the allocator marks each (the young ones leave the array).  Unlike
 * CPython's list splice this costs a walk of the heap, once. */
static int freeze_block(void *block, void *arg)
{
    (void)arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc != RC__UNTRACKED && rc__visible(hd)) hd->gc = RC__GC_FROZEN;
    return 0;
}

void rc_gc_freeze(rc_heap *h)
{
    if (!h) return;
    if (h->collecting) {
        rc__fail(h, RC_EBUSY);
        return;
    }
    rc__alloc_walk(h->alloc, freeze_block, NULL);
    for (int b = RC__OLD; b < RC__NBANDS; b++) {
        h->live[RC__FROZEN] += h->live[b];
        h->live[b] = 0;
        h->band[b] = 0;
    }
    h->len = 0;
    h->count[0] = 0;
    rc__maybe_shrink(h);
}

/* Frozen objects join the old band. */
static int unfreeze_block(void *block, void *arg)
{
    (void)arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc == RC__GC_FROZEN) hd->gc = RC__GC_OLD;
    return 0;
}

void rc_gc_unfreeze(rc_heap *h)
{
    if (!h) return;
    if (h->collecting) {
        rc__fail(h, RC_EBUSY);
        return;
    }
    if (h->live[RC__FROZEN] > 0) rc__alloc_walk(h->alloc, unfreeze_block, NULL);
    h->live[RC__OLD] += h->live[RC__FROZEN];
    h->live[RC__FROZEN] = 0;
}

size_t rc_gc_get_freeze_count(const rc_heap *h) { return h ? h->live[RC__FROZEN] : 0; }
