/* check.c — rc_heap_check: verifies the heap's internal invariants, for
 * tests, fuzzers and debugging (dying objects: see object.c; buffers:
 * buf.c's rc__buf_check).  Costs a walk of every tracked object and every
 * reference they hold, and one of every block; never call it on a hot path.
 */
#include "internal.h"

#include <stdlib.h>

typedef struct check_ctx {
    const rc_heap *h;
    int            bad;
    FILE          *out;
} check_ctx;

static void complain(check_ctx *c, const char *what, const void *obj)
{
    if (c->out) {
        char desc[256] = "";
        if (obj) rc__describe(RC__HEAD(obj), desc, sizeof desc);
        fprintf(c->out, "rc_heap_check: %s %s\n", what, desc);
    }
    c->bad++;
}

/* Each tracked object's count must cover the references other tracked
 * objects hold to it: gc_refs >= 0 for the whole heap at once. */
static int visit_count_refs(void **slot, void *arg)
{
    check_ctx *c = arg;
    void *p = *slot;
    if (!p) return 0;
    rc__head *hd = RC__HEAD(p);
    if (rc_heap_of(p) != c->h) {
        complain(c, "reference to an object of another heap:", p);
        return 0;
    }
    if (hd->refcnt == 0) complain(c, "reference to a freed object:", p);
    return 0;
}

static void complain_buf(void *arg, const char *what, const void *obj)
{
    complain(arg, what, obj);
}

typedef struct refs_ctx {
    const rc_heap *h;
    uint32_t      *internal; /* per index: references from tracked objects */
    rc__pmap       paged;    /* per paged object: the same */
    bool           failed;   /* no memory for the map: skip the comparison */
} refs_ctx;

static int visit_tally(void **slot, void *arg)
{
    refs_ctx *r = arg;
    void *p = *slot;
    if (!p || rc_heap_of(p) != r->h || RC__HEAD(p)->gc == RC__UNTRACKED) return 0;
    if (rc__in_array(r->h, RC__HEAD(p))) {
        r->internal[RC__HEAD(p)->gc]++;
        return 0;
    }
    uint64_t *n = rc__pmap_put(&r->paged, (uintptr_t)p, NULL);
    if (n) (*n)++;
    else r->failed = true;
    return 0;
}

/* What every tracked object must be, in the array or paged. */
static void check_tracked(check_ctx *c, const void *o)
{
    rc__head *hd = RC__HEAD(o);
    if (rc__has(hd, RC__F_COLLECTING)) complain(c, "COLLECTING outside a collection:", o);
    if (!rc__is_container(rc__type(hd))) complain(c, "atomic object tracked:", o);
    if (hd->refcnt == 0) complain(c, "tracked object with count 0 (dying):", o);
    if (rc_heap_of(o) != c->h) complain(c, "object of another heap tracked:", o);
    rc__type(hd)->traverse((void *)o, visit_count_refs, c);
}

typedef struct paged_ctx {
    check_ctx *c;
    size_t     live[RC__NBANDS];
    refs_ctx  *r; /* the second walk: compare the tallies */
} paged_ctx;

/* The paged objects: each names a band that is not in the array. */
static int check_paged(void *block, void *arg)
{
    paged_ctx *p = arg;
    const rc_heap *h = p->c->h;
    rc__head *hd = rc__head_of_block(block);
    void *o = rc__obj_of(hd);
    if (hd->gc == RC__UNTRACKED) return 0;
    if (rc__in_array(h, hd)) {
        if (!p->r && h->objs[hd->gc] != o) complain(p->c, "tracked object's index is wrong:", o);
        return 0;
    }
    if (p->r) {
        const uint64_t *n = rc__pmap_get(&p->r->paged, (uintptr_t)o);
        if (n && *n > hd->refcnt) complain(p->c, "count below the references the heap holds:", o);
        return 0;
    }
    if (hd->gc != RC__GC_FROZEN && hd->gc != RC__GC_PENDING && hd->gc != RC__GC_OLD) {
        complain(p->c, "tracked object's index points past the array:", o);
        return 0;
    }
    int b = rc__paged_band(hd->gc);
    if (b >= h->bands_in) complain(p->c, "paged object of a band the array holds:", o);
    p->live[b]++;
    check_tracked(p->c, o);
    return 0;
}

static int tally_paged(void *block, void *arg)
{
    refs_ctx *r = arg;
    rc__head *hd = rc__head_of_block(block);
    void *o = rc__obj_of(hd);
    if (hd->gc != RC__UNTRACKED && !rc__in_array(r->h, hd) && rc__is_container(rc__type(hd)))
        rc__type(hd)->traverse(o, visit_tally, r);
    return 0;
}

int rc_heap_check(const rc_heap *h, FILE *out)
{
    if (!h) return -1;
    check_ctx c = {h, 0, out};
    if (h->collecting) return 0; /* the arrays are in flux: nothing to say */
    if (h->bands_in != RC__GEN1 && h->bands_in != RC__OLD && h->bands_in != RC__FROZEN)
        complain(&c, "bands_in is not a band that pages in", NULL);
    if (h->band[0] != 0) complain(&c, "frozen band does not start at 0", NULL);
    for (int b = 1; b < RC__NBANDS; b++)
        if (h->band[b] < h->band[b - 1] || h->band[b] > h->len)
            complain(&c, "bands out of order", NULL);
    for (int b = 1; b <= h->bands_in && b <= RC__GEN1; b++)
        if (h->band[b] != 0) complain(&c, "a paged band has slots in the array", NULL);
    if (h->len > h->cap) complain(&c, "length past capacity", NULL);
    if (h->shrink_below != rc__shrink_mark(h))
        complain(&c, "tracked array's shrink mark is stale", NULL);
    paged_ctx p = {&c, {0}, NULL};
    for (uint32_t i = 0; i < h->len; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        p.live[rc__band_of(h, i)]++;
        if (RC__HEAD(o)->gc != i) complain(&c, "tracked object's index is wrong:", o);
        check_tracked(&c, o);
    }
    rc__alloc_walk(h->alloc, check_paged, &p);
    for (int b = 0; b < RC__NBANDS; b++)
        if (p.live[b] != h->live[b]) complain(&c, "band live count is wrong", NULL);
    if (h->band[RC__GEN0] <= h->len && h->len - h->band[RC__GEN0] != p.live[RC__GEN0])
        complain(&c, "tombstone in gen0 outside a collection", NULL);
    /* Dying objects (object.c): those waiting on the deferred list have
     * count 0 and are untracked. */
    for (size_t i = 0; i < h->deferred.len; i++) {
        void *o = (void *)((uintptr_t)h->deferred.v[i] & ~RC__DEFERRED_BITS);
        if (RC__HEAD(o)->refcnt != 0) complain(&c, "deferred object with a count:", o);
        if (rc_is_tracked(o)) complain(&c, "deferred (dying) object tracked:", o);
    }
    for (size_t i = 0; i < h->garbage.len; i++)
        if (RC__HEAD(h->garbage.v[i])->refcnt == 0)
            complain(&c, "garbage list holds a freed object", NULL);

    rc__buf_check(h, complain_buf, &c);

    refs_ctx r = {h, calloc(h->len ? h->len : 1, sizeof(uint32_t)), {0}, false};
    if (r.internal) {
        for (uint32_t i = 0; i < h->len; i++) {
            void *o = h->objs[i];
            if (o) rc__type(RC__HEAD(o))->traverse(o, visit_tally, &r);
        }
        rc__alloc_walk(h->alloc, tally_paged, &r);
        for (uint32_t i = 0; i < h->len; i++) {
            void *o = h->objs[i];
            if (o && r.internal[i] > RC__HEAD(o)->refcnt)
                complain(&c, "count below the references the heap holds:", o);
        }
        if (!r.failed) {
            p.r = &r;
            rc__alloc_walk(h->alloc, check_paged, &p);
        }
        rc__pmap_free(&r.paged);
        free(r.internal);
    }
    return c.bad ? -1 : 0;
}
