/* gc.c — the cycle collector: the tracked-object array and its generations,
 * one collection from start to end, automatic scheduling, and the explicit
 * collection entry points.
 *
 * Start reading at collect_main(), the collection itself.
 *
 * ==== What the collector is for ====
 *
 * Reference counting frees an object as soon as nothing refers to it, but a
 * group of objects that refer to each other (a cycle) keeps every count above
 * zero after the program lets go of the group.  The collector finds such
 * groups the way CPython does: it registers no roots.  For the set of objects
 * it examines it computes, per object, its count minus the references coming
 * from inside the set (gc_refs).  An object with gc_refs > 0 is referred to
 * from outside the set — by the C program, or by an object not examined — so
 * it and everything it reaches is alive.  What no such object reaches is
 * garbage.
 *
 * ==== Where tracked objects live ====
 *
 * In five bands, oldest first (see internal.h):
 *
 *     frozen | gen2 old | gen2 pending | gen1 | gen0
 *
 * The young bands are one array, heap->objs = [ gen1 | gen0 ].  A new
 * container is appended (gen0).  A gen0 collection examines gen0, a suffix
 * of the array; its survivors stay where they are and become gen1 (a
 * boundary moves).  A gen1 collection examines the whole array; its
 * survivors are marked pending and leave it.  The older bands are "paged":
 * their objects are in no array, their gc words name their band, and a
 * full collection finds them by walking the allocator's pages
 * (find_garbage_full).  So an old object costs its 16-byte header and
 * nothing else (CPython: 32), and its death writes no slot.  An object of
 * gen0 that dies or is untracked between collections gives its slot to
 * the newest object (rc__untrack_young), so gen0 holds no tombstone then;
 * in gen1, or during a collection, it leaves NULL (a tombstone) in its
 * slot; tombstones are swept by every collection of their band and,
 * between collections, by compact() when they pile up.  Walking an array
 * instead of a linked list lets the loops below prefetch the next objects'
 * headers; walking pages is in address order, which the hardware
 * prefetches.
 *
 * ==== The header's gc word ====
 *
 *   - outside a collection, for a young tracked object: its index in objs
 *     (invariant: objs[hd->gc] == obj); for a paged one, RC__GC_OLD,
 *     RC__GC_PENDING or RC__GC_FROZEN; RC__UNTRACKED otherwise;
 *   - during steps 1-2 .. find_roots: gc_refs, for the objects of the
 *     examined set that carry RC__F_COLLECTING (and only for them); an
 *     object of the set not yet started still holds its index (or its
 *     band's mark, in a full collection), which is how a reference tells
 *     it is in the set;
 *   - from find_roots on: the index again, for every object of the array;
 *     in a full collection, RC__GC_OLD for each survivor as it is marked.
 *
 * RC__F_COLLECTING marks "in the examined set and not yet known reachable".
 * No user code but traverse runs while gc holds gc_refs, and traverse must
 * not change anything.
 *
 * ==== A collection, step by step (collect_main) ====
 *
 * (For a young collection.  A full one does steps 1-3 over the pages
 * instead — find_garbage_full — and gathers the garbage into objs[0..e)
 * for steps 4-10.)
 *
 *  1. Sweep tombstones out of objs[s..e), set gc = refcnt and mark each
 *     object COLLECTING, and
 *  2. for every reference from an object of the set to an object of the
 *     set, gc-- on the target — both in one sweep (subtract_refs), each
 *     object started when the sweep or the first reference to it reaches
 *     it.  Now gc_refs counts references from outside the set.
 *  3. find_roots + propagate: objects with gc_refs > 0 are swapped to the
 *     front of the range; then everything they reach is swapped in behind
 *     them, using the front of the range itself as the work queue (no extra
 *     memory, so a collection cannot fail for lack of it).  Becoming
 *     reachable clears COLLECTING.  objs[s..r) is now reachable, objs[r..e)
 *     unreachable, and every gc word is an index again.
 *  4. Legacy finalizers: unreachable objects whose type has
 *     RC_TYPE_LEGACY_FINALIZER, and all they reach, are moved out of the
 *     garbage (same propagate step) and will survive; the legacy ones are
 *     appended to the garbage list, all of them count as uncollectable.
 *  5. Weak references to the garbage are cleared, before any finalizer
 *     runs; callbacks run for the weak references that are themselves
 *     alive (weakref.c).
 *  6. Finalizers run, once per object (RC__F_FINALIZED).  They may create,
 *     drop, resurrect and collect (a nested rc_gc_collect returns 0).  Any
 *     object they free leaves a tombstone.
 *  7. Resurrection check: steps 1–3 again on what is left of the garbage
 *     (update_refs first restarts every object: they still carry COLLECTING);
 *     objects now referred to from outside it survive with all they reach.
 *  8. Weak references created by finalizers to what is still garbage are
 *     cleared (step 5 again).
 *  9. delete_garbage: every slot of the garbage is cleared (references
 *     leaving it are dropped, which may free other objects by counting),
 *     then each garbage object is released and freed.  No survivor refers
 *     into the garbage, so nothing can observe it half-cleared but through
 *     a raw pointer.  Under RC_DEBUG_SAVEALL the objects go to the garbage
 *     list instead.
 * 10. The examined range is compacted: survivors become the next band;
 *     objects created during the collection (appended behind e) become the
 *     new gen0 and wait for the next collection.
 *
 * A collection is never nested: heap->collecting is set for its whole
 * duration, callbacks included, and rc_gc_collect returns 0 meanwhile.
 * Steps 1–3 touch each examined object a constant number of times and read
 * (never write) the headers of older objects they refer to.
 */
#include "internal.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* The tracked-object array                                            */
/* ------------------------------------------------------------------ */

static inline rc__head *hd_at(const rc_heap *h, uint32_t i)
{
    return RC__HEAD(h->objs[i]);
}

static inline void prefetch(const void *p)
{
    __builtin_prefetch(RC__HEAD(p), 1, 3);
}

int rc__band_of(const rc_heap *h, uint32_t i)
{
    int b = RC__GEN0;
    while (b > 0 && i < h->band[b]) b--;
    return b;
}

static size_t tracked_total(const rc_heap *h)
{
    size_t n = 0;
    for (int b = 0; b < RC__NBANDS; b++) n += h->live[b];
    return n;
}

int rc__reserve_track(rc_heap *h, size_t n)
{
    if ((size_t)h->cap - h->len >= n) return 0;
    size_t want = (size_t)h->len + n;
    size_t cap = h->cap ? (size_t)h->cap + h->cap / 2 : 256;
    if (cap < want) cap = want;
    if (cap > RC__GC_INDEX_MAX) cap = RC__GC_INDEX_MAX;
    if (cap < want) return RC_ENOMEM;
    void **nv = realloc(h->objs, cap * sizeof *nv);
    if (!nv) return RC_ENOMEM;
    rc__objs_set(h, nv, (uint32_t)cap);
    return 0;
}

int rc__track(rc_heap *h, rc__head *hd)
{
    if (rc__reserve_track(h, 1) != 0) return RC_ENOMEM;
    hd->gc = h->len;
    h->objs[h->len++] = rc__obj_of(hd);
    h->live[RC__GEN0]++;
    return 0;
}

/* The frozen band is paged except inside the dominator tool, which runs no
 * user code: the object is marked and counted, nothing moves, at any time
 * (a collection never examines the frozen band). */
void rc__track_frozen(rc_heap *h, rc__head *hd)
{
    hd->gc = RC__GC_FROZEN;
    h->live[RC__FROZEN]++;
}

/* ------------------------------------------------------------------ */
/* Paging the old bands in and out                                     */
/* ------------------------------------------------------------------ */

int rc__band_of_obj(const rc_heap *h, const rc__head *hd)
{
    if (hd->gc == RC__UNTRACKED) return -1;
    return rc__in_array(h, hd) ? rc__band_of(h, hd->gc) : rc__paged_band(hd->gc);
}

typedef struct page_in_ctx {
    rc_heap *h;
    int      from;
    uint32_t next[RC__GEN1], end[RC__GEN1]; /* per paged band: where it goes */
    uint32_t young_lo, young_hi;            /* where the young bands went   */
    bool     overflow;
} page_in_ctx;

static int place_block(void *block, void *arg)
{
    page_in_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    uint32_t g = hd->gc;
    if (g == RC__UNTRACKED) return 0;
    void *o = rc__obj_of(hd);
    if (g >= c->young_lo && g < c->young_hi) return 0;
    int b = rc__paged_band(g);
    if (b < c->from) return 0;
    if (c->next[b] == c->end[b]) { /* more than live[b] say: a broken count */
        c->overflow = true;
        return 0;
    }
    c->h->objs[c->next[b]] = o;
    hd->gc = c->next[b]++;
    return 0;
}

int rc__page_in(rc_heap *h, int from)
{
    if (h->bands_in <= from) return 0;
    if (h->bands_in != RC__GEN1) return RC_EBUSY;
    size_t n = 0;
    for (int b = from; b < RC__GEN1; b++) n += h->live[b];
    if (n > RC__GC_INDEX_MAX || rc__reserve_track(h, n) != 0) return RC_ENOMEM;
    /* The young bands move up by n (their order kept), the paged bands
     * fill objs[0..n) in band order. */
    uint32_t young = h->len, base = (uint32_t)n;
    if (young > 0) memmove(h->objs + base, h->objs, young * sizeof *h->objs);
    for (uint32_t i = base; i < base + young; i++)
        if (h->objs[i]) RC__HEAD(h->objs[i])->gc = i;
    page_in_ctx c = {.h = h, .from = from, .young_lo = base, .young_hi = base + young};
    uint32_t at = 0;
    for (int b = RC__FROZEN; b < RC__GEN1; b++) {
        c.next[b] = at;
        if (b >= from) at += (uint32_t)h->live[b];
        c.end[b] = at;
    }
    if (n > 0) rc__alloc_walk(h->alloc, place_block, &c);
    for (int b = RC__FROZEN; b < RC__GEN1; b++) {
        h->band[b] = b <= from ? 0 : c.end[b - 1];
        /* Fewer objects than the count said (a broken count, which
         * rc_heap_check reports): the rest of the band is tombstones. */
        for (uint32_t i = c.next[b]; i < c.end[b]; i++) h->objs[i] = NULL;
    }
#if RC__PREFIX
    if (c.overflow || memcmp(c.next, c.end, sizeof c.next) != 0) {
        fprintf(stderr, "recycle: a paged band's live count is wrong\n");
        abort();
    }
#endif
    h->band[RC__GEN1] = base;
    h->band[RC__GEN0] += base;
    h->len = base + young;
    h->bands_in = from;
    return 0;
}

void rc__page_out(rc_heap *h)
{
    if (h->bands_in == RC__GEN1) return;
    static const uint32_t mark[RC__GEN1] = {RC__GC_FROZEN, RC__GC_OLD, RC__GC_PENDING};
    for (int b = h->bands_in; b < RC__GEN1; b++) {
        for (uint32_t i = h->band[b]; i < h->band[b + 1]; i++)
            if (h->objs[i]) RC__HEAD(h->objs[i])->gc = mark[b];
    }
    uint32_t base = h->band[RC__GEN1], young = h->len - base;
    if (young > 0) memmove(h->objs, h->objs + base, young * sizeof *h->objs);
    for (uint32_t i = 0; i < young; i++)
        if (h->objs[i]) RC__HEAD(h->objs[i])->gc = i;
    for (int b = RC__FROZEN; b <= RC__GEN1; b++) h->band[b] = 0;
    h->band[RC__GEN0] -= base;
    h->len = young;
    h->bands_in = RC__GEN1;
}

typedef struct walk_ctx {
    rc_heap *h;
    unsigned bands;
    int    (*fn)(void *obj, void *arg);
    void    *arg;
} walk_ctx;

static int walk_paged(void *block, void *arg)
{
    walk_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc == RC__UNTRACKED || !rc__visible(hd) || rc__in_array(c->h, hd)) return 0;
    return c->bands >> rc__paged_band(hd->gc) & 1 ? c->fn(rc__obj_of(hd), c->arg) : 0;
}

int rc__walk_tracked(rc_heap *h, unsigned bands, int (*fn)(void *obj, void *arg), void *arg)
{
    for (uint32_t i = 0; i < h->len; i++) {
        void *o = h->objs[i];
        if (!o || !(bands >> rc__band_of(h, i) & 1) || !rc__visible(RC__HEAD(o))) continue;
        int r = fn(o, arg);
        if (r) return r;
    }
    unsigned paged = 0;
    for (int b = RC__FROZEN; b < h->bands_in; b++) paged |= 1u << b;
    if (!(bands & paged)) return 0;
    walk_ctx c = {h, bands & paged, fn, arg};
    return rc__alloc_walk(h->alloc, walk_paged, &c);
}

/* The tracked array gives memory back once three quarters of it is unused
 * (after a sweep or a collection), keeping room for the live entries to
 * double.  Not during a collection; a failed realloc keeps the old array. */
void rc__maybe_shrink(rc_heap *h)
{
    size_t floor = rc__objs_floor(h);
    if (h->collecting || h->cap <= floor || h->len >= h->cap / 4) return;
    size_t cap = (size_t)h->len * 2;
    if (cap < floor) cap = floor;
    void **nv = realloc(h->objs, cap * sizeof *nv);
    if (!nv) return;
    rc__objs_set(h, nv, (uint32_t)cap);
}

/* Slides the live entries of bands `from`..gen0 down over the tombstones,
 * keeping their order and the band boundaries.  Not during a collection. */
static void compact(rc_heap *h, int from)
{
    uint32_t w = h->band[from];
    for (int b = from; b < RC__NBANDS; b++) {
        uint32_t lo = h->band[b];
        uint32_t hi = b + 1 < RC__NBANDS ? h->band[b + 1] : h->len;
        h->band[b] = w;
        for (uint32_t i = lo; i < hi; i++) {
            void *o = h->objs[i];
            if (!o) continue;
            if (w != i) { /* an object that stays put is not touched */
                h->objs[w] = o;
                RC__HEAD(o)->gc = w;
            }
            w++;
        }
    }
    h->len = w;
    h->compact_due = false;
    rc__maybe_shrink(h);
}

/* The array's older band, gen1, is swept once its holes (with gen0's, none
 * between collections) outnumber its live objects plus 4096.  Only ever
 * asked at rest, when the array holds gen1 and gen0 alone: a death or an
 * untrack (check_old_holes) and the end of a collection (rc__maybe_compact);
 * the dominator tool, which brings the paged bands in, runs no user code. */
static inline size_t swept_live(const rc_heap *h)
{
    return h->live[RC__GEN1] + h->live[RC__GEN0];
}

static inline bool old_holes_due(const rc_heap *h)
{
    size_t live = swept_live(h);
    return h->len - h->band[RC__GEN1] - live > live + 4096;
}

/* Gen1 is swept once its holes outnumber the live objects of the array
 * plus 4096.  A gen1 object's death brings that at most two closer (one
 * hole more, one live less), so when it is not due, the next half of the
 * distance's deaths need not ask (h->hole_check counts them down).  Other
 * events can close the distance meanwhile (a gen0 death lowers the live
 * count too): the sweep then comes at most that many deaths late, when
 * the holes are at most one and a half times the live objects plus 4096.
 * Every collection restarts the count.  (Paged objects leave no hole.) */
static void check_old_holes(rc_heap *h)
{
    if (old_holes_due(h)) {
        compact(h, RC__GEN1); /* gen0 did not change */
        return;
    }
    size_t live = swept_live(h), holes = h->len - h->band[RC__GEN1] - live;
    size_t wait = (live + 4096 - holes) / 2;
    h->hole_check = wait < UINT32_MAX ? (uint32_t)wait : UINT32_MAX;
}

/* After a collection whose user code untracked objects (compact_due).
 * Gen0 must be dense again: an RC_GC_STOP callback runs after
 * close_collection and before `collecting` is cleared, so what it untracks
 * from gen0 leaves a tombstone there, and rc__untrack_young, which moves
 * the newest object into a hole, relies on having none (found by the model
 * tester).  The older bands are swept once their holes outnumber their live
 * objects: a sweep moves every live object behind the first hole, so it is
 * paid for by at least as many frees; a hole costs 8 bytes until then. */
void rc__maybe_compact(rc_heap *h)
{
    if (old_holes_due(h)) compact(h, RC__GEN1);
    else if (h->len - h->band[RC__GEN0] != h->live[RC__GEN0]) compact(h, RC__GEN0);
}

void rc__untrack_old(rc_heap *h, rc__head *hd)
{
    if (rc__has(hd, RC__F_COLLECTING)) {
        /* In the set being collected (after find_roots, so gc is an
         * index): leave the set.  Band counts are rebuilt at the end. */
        rc__clr(hd, RC__F_COLLECTING);
        h->objs[hd->gc] = NULL;
        hd->gc = RC__UNTRACKED;
        return;
    }
    /* In the array (rc__untrack took the paged objects; RC__UNTRACKED is
     * past len too). */
    uint32_t i = hd->gc;
    if (i >= h->len) return;
    hd->gc = RC__UNTRACKED;
    h->objs[i] = NULL;
    if (h->collecting) {
        if (i < h->coll_start) h->live[rc__band_of(h, i)]--;
        h->compact_due = true;
        return;
    }
    /* An older band of the array: rc__untrack_young had gen0. */
    h->live[rc__band_of(h, i)]--;
    if (h->hole_check > 0) h->hole_check--;
    else check_old_holes(h);
}

/* ------------------------------------------------------------------ */
/* Steps 1–3: which objects of a range are referred to from outside it  */
/* ------------------------------------------------------------------ */

static inline void swap_slots(rc_heap *h, uint32_t i, uint32_t j)
{
    void *a = h->objs[i], *b = h->objs[j];
    h->objs[i] = b;
    h->objs[j] = a;
    RC__HEAD(a)->gc = j;
    RC__HEAD(b)->gc = i;
}

/* Step 1 on its own, for the resurrection check (the first pass of a
 * collection does it inside subtract_refs).  Sweeps the tombstones out of
 * objs[lo..hi) (the freed slots at the end become NULL), copies each count
 * into gc and marks the object COLLECTING.  Returns the new end of the
 * range. */
static uint32_t update_refs(rc_heap *h, uint32_t lo, uint32_t hi)
{
    uint32_t w = lo;
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        if (i + 8 < hi && h->objs[i + 8]) prefetch(h->objs[i + 8]);
        rc__head *hd = RC__HEAD(o);
        hd->gc = hd->refcnt;
        rc__set(hd, RC__F_COLLECTING);
        h->objs[w++] = o;
    }
    for (uint32_t i = w; i < hi; i++) h->objs[i] = NULL;
    return w;
}

/* References are followed through a small ring: each target's header is
 * prefetched when its reference is seen and worked on RING references later,
 * when it has (mostly) arrived in cache.  The order of the work does not
 * matter to either step that uses it.  A range of at most RC_RING_MIN slots
 * (a young collection under the default thresholds, a small heap) is mostly
 * in cache already, and there the ring is pure overhead: steps 2 and 3 then
 * work on each reference at once (references out of the range, to older
 * objects, lose their prefetch too).  Step 9's deletion keeps the ring: no
 * difference measured. */
#define RING 16
#ifndef RC_RING_MIN
#define RC_RING_MIN 16384 /* debug builds set 0, so that every test runs the ring */
#endif
/* The most old objects a full collection pages into the array (rc__collect)
 * rather than examining them in place (find_garbage_full).  Debug builds
 * set 64, so that both ways run the suite under their checks (with 0 for
 * RC_RING_MIN, the same bound would send every collection in place). */
#ifndef RC_PAGE_IN_MAX
#define RC_PAGE_IN_MAX 16384
#endif
typedef struct ring {
    void          *v[RING];
    unsigned       i;
    const rc_heap *heap;   /* the slot test of a lazy start; debug checks */
    uint32_t       lo, hi; /* subtract_refs: the set's range (else empty) */
} ring;

/* Puts c in the ring and returns what it displaces (NULL while filling). */
static inline void *ring_push(ring *rg, void *c)
{
    __builtin_prefetch(RC__HEAD(c), 1, 3);
    void *old = rg->v[rg->i];
    rg->v[rg->i] = c;
    rg->i = (rg->i + 1) & (RING - 1);
    return old;
}

/* Debug builds: whether a reference a traverse reported is a live object
 * of heap h; if not, the misuse is reported and the reference ignored.
 * Release builds trust it. */
static inline bool target_ok(const rc_heap *h, void *c)
{
#if RC__PREFIX
    uint32_t magic = rc__prefix_of(RC__HEAD(c))->magic;
    if (magic != RC__MAGIC_LIVE) {
        rc__misuse("collect: a traverse reported a freed object or a non-object", c,
                   magic == RC__MAGIC_FREED);
        return false;
    }
    if (rc_heap_of(c) != h) {
        rc__misuse("collect: a reference into another heap", c, true);
        return false;
    }
#else
    (void)h;
    (void)c;
#endif
    return true;
}

/* A pair of visitors for one step: NAME follows each reference through
 * the ring (the target's header is worked on RING references later),
 * NAME_now works on it at once (a range mostly in cache).  CTX is the
 * step's context type, RING_OF(c) its ring, WORK(c, target) the step. */
#define RING_VISITORS(name, ctx_t, ring_of, work)                          \
    static int name(void **slot, void *arg)                                \
    {                                                                      \
        ctx_t *c_ = arg;                                                   \
        void *t_ = *slot;                                                  \
        if (t_ && (t_ = ring_push(ring_of(c_), t_))) work(c_, t_);         \
        return 0;                                                          \
    }                                                                      \
    static int name##_now(void **slot, void *arg)                          \
    {                                                                      \
        if (*slot) work((ctx_t *)arg, *slot);                              \
        return 0;                                                          \
    }

static inline void decref_one(const ring *rg, void *c)
{
    rc__head *hd = RC__HEAD(c);
    if (!target_ok(rg->heap, c)) return;
    /* Invariant: gc_refs never goes below zero, because every reference a
     * traverse reports is counted in refcnt (rc_heap_check verifies it;
     * a traverse reporting a reference it does not own breaks it). */
    if (rc__has(hd, RC__F_COLLECTING)) {
        if (hd->gc > 0) hd->gc--;
    } else if (hd->gc >= rg->lo && hd->gc < rg->hi && rg->heap->objs[hd->gc] == c) {
        /* In the set but not reached by the sweep yet: its gc word is still
         * its index, and that slot is intact (the sweep writes only at or
         * below its position).  The slot test keeps out an object of another
         * heap whose index happens to fall in the range — a misuse that
         * rc_heap_check reports, which must not corrupt either heap.  Start
         * its gc_refs here (step 1 for it), less this reference. */
        hd->gc = hd->refcnt > 0 ? hd->refcnt - 1 : 0;
        rc__set(hd, RC__F_COLLECTING);
    }
}

#define RING_SELF(rg) ((ring *)(rg))
RING_VISITORS(visit_decref, ring, RING_SELF, decref_one)

/* Steps 1 and 2 in one sweep of objs[lo..hi): each object's gc_refs starts
 * (gc = refcnt, COLLECTING) when the sweep or a reference reaches it first,
 * whichever comes first — an object not yet started still has its index in
 * gc, which is how a reference tells it belongs to the set — and every
 * reference into the set is subtracted.  Tombstones are swept out as in
 * update_refs.  Returns the new end of the range.  After update_refs has run
 * (the resurrection check), every object is already started. */
static uint32_t subtract_refs(rc_heap *h, uint32_t lo, uint32_t hi)
{
    ring rg = {{0}, 0, h, lo, hi};
    rc_visit_fn visit = hi - lo > RC_RING_MIN ? visit_decref : visit_decref_now;
    uint32_t w = lo;
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        if (i + 4 < hi && h->objs[i + 4]) prefetch(h->objs[i + 4]);
        rc__head *hd = RC__HEAD(o);
        if (!rc__has(hd, RC__F_COLLECTING)) {
            hd->gc = hd->refcnt;
            rc__set(hd, RC__F_COLLECTING);
        }
        h->objs[w++] = o;
        rc__type(hd)->traverse(o, visit, &rg);
    }
    for (unsigned k = 0; k < RING; k++)
        if (rg.v[k]) decref_one(&rg, rg.v[k]);
    for (uint32_t i = w; i < hi; i++) h->objs[i] = NULL;
    return w;
}

/* Step 3a.  Restores every gc word to an index and swaps the objects with
 * gc_refs > 0 to the front, clearing their COLLECTING mark.  Returns the end
 * of the roots.  `is_root` decides instead when given (legacy step). */
static uint32_t find_roots(rc_heap *h, uint32_t lo, uint32_t hi,
                           bool (*is_root)(rc__head *hd))
{
    uint32_t r = lo;
    for (uint32_t i = lo; i < hi; i++) {
        rc__head *hd = hd_at(h, i);
        bool root = is_root ? is_root(hd) : hd->gc > 0;
        hd->gc = i; /* objs[r..i) already hold indices: swapping is safe */
        if (root) {
            rc__clr(hd, RC__F_COLLECTING);
            if (i != r) swap_slots(h, i, r);
            r++;
        }
    }
    return r;
}

typedef struct reach_ctx {
    rc_heap *h;
    uint32_t r;   /* end of the reachable prefix */
    uint32_t end; /* end of the range */
    ring     rg;
} reach_ctx;

/* The object a swap displaces is objs[r], the next not yet reached: its
 * header is fetched REACH_AHEAD swaps early (objs is read in order). */
#define REACH_AHEAD 8

static inline void reach_one(reach_ctx *ctx, void *c)
{
    rc__head *hd = RC__HEAD(c);
    if (rc__has(hd, RC__F_COLLECTING)) {
        rc__clr(hd, RC__F_COLLECTING);
        if (hd->gc != ctx->r) swap_slots(ctx->h, hd->gc, ctx->r);
        ctx->r++;
        if (ctx->r + REACH_AHEAD < ctx->end) prefetch(ctx->h->objs[ctx->r + REACH_AHEAD]);
    }
}

#define RING_OF_CTX(c) (&(c)->rg)
RING_VISITORS(visit_reach, reach_ctx, RING_OF_CTX, reach_one)

/* Step 3b.  objs[lo..r) are known reachable; everything they reach that is
 * still COLLECTING joins them, breadth first, the prefix being the queue.
 * Returns the end of the reachable prefix. */
static uint32_t propagate(rc_heap *h, uint32_t lo, uint32_t r, uint32_t e)
{
    reach_ctx ctx = {h, r, e, {{0}, 0, h, 0, 0}};
    rc_visit_fn visit = e - lo > RC_RING_MIN ? visit_reach : visit_reach_now;
    uint32_t q = lo;
    for (;;) {
        for (; q < ctx.r; q++) {
            if (q + 2 < ctx.r) prefetch(h->objs[q + 2]);
            void *o = h->objs[q];
            rc__type(RC__HEAD(o))->traverse(o, visit, &ctx);
        }
        /* The queue is empty: what waits in the ring may refill it. */
        uint32_t before = ctx.r;
        for (unsigned k = 0; k < RING; k++) {
            void *c = ctx.rg.v[k];
            ctx.rg.v[k] = NULL;
            if (c) reach_one(&ctx, c);
        }
        if (ctx.r == before) return ctx.r;
    }
}

/* Steps 1–3 on objs[lo..*hi): afterwards objs[lo..ret) are referred to
 * from outside the range or reachable from such, objs[ret..*hi) are not and
 * still carry COLLECTING. */
static uint32_t split_reachable(rc_heap *h, uint32_t lo, uint32_t *hi, bool again)
{
    if (again) *hi = update_refs(h, lo, *hi); /* the garbage still carries COLLECTING */
    *hi = subtract_refs(h, lo, *hi);
    uint32_t r = find_roots(h, lo, *hi, NULL);
    return propagate(h, lo, r, *hi);
}

/* ------------------------------------------------------------------ */
/* Steps 1–3 of a full collection: in place, over the pages            */
/* ------------------------------------------------------------------ */

/* A full collection examines every tracked object but the frozen ones and
 * those tracked since it began (objs[young_end..len)): the young bands in
 * the array and the paged old bands alike.  Copying the old bands into
 * the array would cost 8 bytes per object of fresh memory, faulted in and
 * zeroed by the kernel at every full collection; instead steps 1–3 walk
 * the allocator's pages three times (address order, which the hardware
 * prefetches):
 *
 *   A. subtract: each object of the set is started (gc = refcnt,
 *      COLLECTING) when the walk or the first reference reaches it, and
 *      every reference into the set is subtracted, as subtract_refs does;
 *   B. mark: each object with gc_refs > 0, and all it reaches, is marked
 *      reachable: COLLECTING cleared and gc = RC__GC_OLD, for it survives
 *      into the old band — depth first, on a stack of pointers (marking
 *      needs no header to find the next object, so the ring prefetches
 *      as it does in propagate).  If the stack cannot grow, the object is
 *      marked with RC__GC_PENDING instead ("reached, not scanned": no
 *      object of the set holds that mark once step A has started it) and
 *      another walk scans those, until none is left;
 *   C. gather: what is still COLLECTING is garbage; it goes to objs[0..G)
 *      with its index in gc (COLLECTING kept), the newcomers behind it,
 *      and steps 4–10 run on that range as they do for a young
 *      collection.  If the array cannot grow by G slots, the garbage is
 *      marked reachable instead and the collection finds nothing this time.
 *
 * Invariant after step B: live[OLD] counts the marked objects, and every
 * one of them has gc == RC__GC_OLD, so a finalizer freeing one later
 * takes it off that count as it would any paged old object. */
typedef struct full_ctx {
    rc_heap *h;
    uint32_t young_end;   /* objs[0..young_end) is in the set           */
    void   **stack;       /* reached, not scanned                       */
    size_t   top, cap;
    bool     overflow;    /* an object was marked RC__GC_PENDING        */
    size_t   set, marked; /* objects started (A), marked (B)            */
    ring     rg;          /* used by the visitors below on a large heap */
    rc_visit_fn decref, reach;
} full_ctx;

/* Whether the object hd, not started (no COLLECTING), is in the set. */
static inline bool in_full_set(const full_ctx *c, const rc__head *hd)
{
    uint32_t g = hd->gc;
    if (g == RC__UNTRACKED || g == RC__GC_FROZEN) return false;
    if (g < c->h->len && c->h->objs[g] == (const void *)(hd + 1)) return g < c->young_end;
    /* A paged object, if it is this heap's: a reference into another heap
     * (a misuse rc_heap_check reports) must not touch that heap. */
    return rc__block_owner(rc__block_of((rc__head *)hd)) == c->h;
}

static inline void start_full(full_ctx *c, rc__head *hd, uint32_t less)
{
    hd->gc = hd->refcnt > less ? hd->refcnt - less : 0;
    rc__set(hd, RC__F_COLLECTING);
    c->set++;
}

/* The first reference to an object not started yet: start it, less that
 * reference, if it is in the set.  Out of line, like grow_stack. */
static __attribute__((noinline)) void start_first(full_ctx *c, rc__head *hd)
{
    if (in_full_set(c, hd)) start_full(c, hd, 1);
}

static inline void decref_full(full_ctx *c, void *t)
{
    rc__head *hd = RC__HEAD(t);
    if (!target_ok(c->h, t)) return;
    if (rc__has(hd, RC__F_COLLECTING)) {
        if (hd->gc > 0) hd->gc--;
    } else {
        start_first(c, hd);
    }
}

RING_VISITORS(visit_full_decref, full_ctx, RING_OF_CTX, decref_full)

static int subtract_block(void *block, void *arg)
{
    full_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (!rc__has(hd, RC__F_COLLECTING)) {
        if (!in_full_set(c, hd)) return 0;
        start_full(c, hd, 0);
    }
    rc__type(hd)->traverse(rc__obj_of(hd), c->decref, c);
    return 0;
}

#ifndef RC_MARK_STACK_MAX
#define RC_MARK_STACK_MAX SIZE_MAX /* debug builds set 16: every test runs the rescan */
#endif

/* The stack's slow path, out of line so that the visitors below keep no
 * registers for it: room for one more entry, or false. */
static __attribute__((noinline)) bool grow_stack(full_ctx *c)
{
    size_t cap = c->cap ? 2 * c->cap : 4096;
    if (cap > RC_MARK_STACK_MAX) cap = RC_MARK_STACK_MAX;
    void **ns = cap > c->cap ? realloc(c->stack, cap * sizeof *ns) : NULL;
    if (!ns) return false;
    c->stack = ns;
    c->cap = cap;
    return true;
}

static inline void mark_full(full_ctx *c, rc__head *hd)
{
    rc__clr(hd, RC__F_COLLECTING);
    c->marked++;
    if (RC_UNLIKELY(c->top == c->cap) && !grow_stack(c)) {
        hd->gc = RC__GC_PENDING;
        c->overflow = true;
        return;
    }
    hd->gc = RC__GC_OLD;
    c->stack[c->top++] = rc__obj_of(hd);
}

static __attribute__((noinline)) void mark_reached(full_ctx *c, rc__head *hd)
{
    mark_full(c, hd);
}

/* Out of line, the marking: once per object, where the test runs once per
 * reference. */
static inline void reach_full(full_ctx *c, void *t)
{
    rc__head *hd = RC__HEAD(t);
    if (rc__has(hd, RC__F_COLLECTING)) mark_reached(c, hd);
}

RING_VISITORS(visit_full_reach, full_ctx, RING_OF_CTX, reach_full)

/* Scans the stack empty, then what waits in the ring, until both are. */
static void drain_full(full_ctx *c)
{
    for (;;) {
        while (c->top > 0) {
            void *o = c->stack[--c->top];
            if (c->top > 0) prefetch(c->stack[c->top - 1]);
            rc__type(RC__HEAD(o))->traverse(o, c->reach, c);
        }
        bool any = false;
        for (unsigned k = 0; k < RING; k++) {
            void *t = c->rg.v[k];
            c->rg.v[k] = NULL;
            if (t) {
                any = true;
                reach_full(c, t);
            }
        }
        if (!any && c->top == 0) return;
    }
}

static int root_block(void *block, void *arg)
{
    full_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (rc__has(hd, RC__F_COLLECTING) && hd->gc > 0) {
        mark_full(c, hd);
        drain_full(c);
    }
    return 0;
}

static int rescan_block(void *block, void *arg)
{
    full_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc == RC__GC_PENDING && !rc__has(hd, RC__F_COLLECTING)) {
        hd->gc = RC__GC_OLD;
        rc__type(hd)->traverse(rc__obj_of(hd), c->reach, c);
        drain_full(c);
    }
    return 0;
}

static int spare_block(void *block, void *arg)
{
    full_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (rc__has(hd, RC__F_COLLECTING)) {
        rc__clr(hd, RC__F_COLLECTING);
        hd->gc = RC__GC_OLD;
        c->marked++;
    }
    return 0;
}

typedef struct gather_ctx {
    full_ctx *c;
    rc_heap  *h;
    uint32_t  next, end;
} gather_ctx;

static int gather_block(void *block, void *arg)
{
    gather_ctx *g = arg;
    rc__head *hd = rc__head_of_block(block);
    if (!rc__has(hd, RC__F_COLLECTING)) return 0;
    /* More than counted (a broken invariant): it survives. */
    if (g->next == g->end) return spare_block(block, g->c);
    g->h->objs[g->next] = rc__obj_of(hd);
    hd->gc = g->next++;
    return 0;
}

/* Steps 1–3 of a full collection whose set is the tracked objects but the
 * frozen ones and objs[young_end..len).  Afterwards the garbage is
 * objs[0..ret) (COLLECTING, gc its index), the newcomers follow it, and
 * every survivor is paged old (counted in live[OLD]). */
static uint32_t find_garbage_full(rc_heap *h, uint32_t young_end)
{
    /* At most RC_RING_MIN objects (a small heap) are mostly in cache
     * already: the ring would be pure overhead, as in subtract_refs. */
    bool far = young_end + h->live[RC__OLD] + h->live[RC__PENDING] > RC_RING_MIN;
    full_ctx c = {.h = h, .young_end = young_end, .rg = {{0}, 0, h, 0, 0},
                  .decref = far ? visit_full_decref : visit_full_decref_now,
                  .reach = far ? visit_full_reach : visit_full_reach_now};
    /* A. */
    rc__alloc_walk(h->alloc, subtract_block, &c);
    for (unsigned k = 0; k < RING; k++)
        if (c.rg.v[k]) decref_full(&c, c.rg.v[k]);
    memset(c.rg.v, 0, sizeof c.rg.v);
    /* B. */
    rc__alloc_walk(h->alloc, root_block, &c);
    while (c.overflow) {
        c.overflow = false;
        rc__alloc_walk(h->alloc, rescan_block, &c);
    }
    free(c.stack);
    /* C. */
    uint32_t newcomers = h->len - young_end;
    size_t garbage = c.set - c.marked;
    if (garbage > 0 && (garbage > RC__GC_INDEX_MAX - h->len ||
                        rc__reserve_track(h, garbage) != 0)) {
        rc__alloc_walk(h->alloc, spare_block, &c);
        garbage = 0;
    }
    uint32_t G = (uint32_t)garbage;
    if (newcomers > 0) memmove(h->objs + G, h->objs + young_end, newcomers * sizeof *h->objs);
    for (uint32_t i = G; i < G + newcomers; i++)
        if (h->objs[i]) RC__HEAD(h->objs[i])->gc = i;
    gather_ctx g = {&c, h, 0, G};
    if (G > 0) rc__alloc_walk(h->alloc, gather_block, &g);
#if RC__PREFIX
    if (g.next != G) {
        fprintf(stderr, "recycle: collector invariant broken: %u of %u garbage objects "
                "found\n", (unsigned)g.next, (unsigned)G);
        abort();
    }
#endif
    for (uint32_t i = g.next; i < G; i++) h->objs[i] = NULL;
    h->len = G + newcomers;
    for (int b = RC__FROZEN; b <= RC__GEN0; b++) h->band[b] = 0;
    h->live[RC__OLD] = c.marked;
    h->live[RC__PENDING] = h->live[RC__GEN1] = 0;
    return G;
}

/* ------------------------------------------------------------------ */
/* Steps 4–9                                                           */
/* ------------------------------------------------------------------ */

static bool has_legacy_finalizer(rc__head *hd)
{
    const rc_type *t = rc__type(hd);
    return (t->flags & RC_TYPE_LEGACY_FINALIZER) && t->finalize;
}

static void debug_object(rc_heap *h, const char *what, void *o)
{
    char desc[256];
    rc__describe(RC__HEAD(o), desc, sizeof desc);
    fprintf(h->debug_stream ? h->debug_stream : stderr, "gc: %s %s\n", what, desc);
}

/* Step 6.  The garbage may shrink as finalizers free things (tombstones). */
static void finalize_garbage(rc_heap *h, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        rc__head *hd = RC__HEAD(o);
        const rc_type *t = rc__type(hd);
        if (!t->finalize || rc__has(hd, RC__F_FINALIZED)) continue;
        rc__set(hd, RC__F_FINALIZED);
        rc_incref(o);
        h->user_calls++;
        t->finalize(o);
        rc_decref(o);
    }
}

/* Step 9, first half: clears every slot of the garbage.  A reference to
 * another garbage object is simply forgotten (that object is freed below
 * whatever its count); a reference leaving the garbage is dropped, which
 * may free that object by counting and run its finalizer.  Nothing outside
 * the garbage refers into it (that is what makes it garbage), so no code
 * run here can reach a garbage object but through a raw pointer. */
static inline void forget_or_drop(void *c)
{
    if (!rc__has(RC__HEAD(c), RC__F_COLLECTING)) rc_decref(c);
}

static int visit_clear_garbage(void **slot, void *arg)
{
    void *c = *slot;
    if (!c) return 0;
    *slot = NULL;
    if ((c = ring_push(arg, c))) forget_or_drop(c);
    return 0;
}

/* Step 9, second half: each garbage object is released and freed, in the
 * order "references dropped, release, memory" the counting path keeps. */
static void free_garbage(rc_heap *h, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        rc__head *hd = RC__HEAD(o);
        h->objs[i] = NULL;
        hd->gc = RC__UNTRACKED;
        hd->refcnt = 0;
        rc__clr(hd, RC__F_COLLECTING);
        if (rc__has(hd, RC__F_WEAKREFD)) rc__wr_call(rc__wr_clear(h, hd));
        rc__release_and_free(h, hd, rc__type(hd));
    }
}

/* Step 9. */
static void delete_garbage(rc_heap *h, uint32_t lo, uint32_t hi)
{
    if (h->debug & RC_DEBUG_SAVEALL) {
        for (uint32_t i = lo; i < hi; i++) {
            void *o = h->objs[i];
            if (!o) continue;
            if (rc__vec_push(&h->garbage, o) == 0) rc_incref(o);
            rc__clr(RC__HEAD(o), RC__F_COLLECTING);
        }
        return;
    }
    ring rg = {{0}, 0, h, 0, 0};
    for (uint32_t i = lo; i < hi; i++) {
        if (i + 4 < hi && h->objs[i + 4]) prefetch(h->objs[i + 4]);
        void *o = h->objs[i];
        if (o) rc__type(RC__HEAD(o))->traverse(o, visit_clear_garbage, &rg);
    }
    for (unsigned k = 0; k < RING; k++)
        if (rg.v[k]) forget_or_drop(rg.v[k]);
    free_garbage(h, lo, hi);
}

/* Appends the legacy-finalizer objects of objs[lo..hi) (all of them under
 * SAVEALL) to the garbage list, which keeps a reference to each. */
static void save_uncollectable(rc_heap *h, uint32_t lo, uint32_t hi)
{
    bool saveall = (h->debug & RC_DEBUG_SAVEALL) != 0;
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        if (h->debug & RC_DEBUG_UNCOLLECTABLE) debug_object(h, "uncollectable", o);
        if ((saveall || has_legacy_finalizer(RC__HEAD(o))) &&
            rc__vec_push(&h->garbage, o) == 0)
            rc_incref(o);
    }
}

/* ------------------------------------------------------------------ */
/* One collection                                                      */
/* ------------------------------------------------------------------ */

typedef struct gc_result {
    uint64_t collected, uncollectable;
} gc_result;

static uint32_t gen_start(const rc_heap *h, int generation)
{
    return h->band[generation == 0 ? RC__GEN0 : generation == 1 ? RC__GEN1 : RC__OLD];
}

/* Step 10.  objs[s..e) holds the survivors (in any order, with holes) and
 * objs[e..len) the objects tracked during the collection.  Survivors become
 * the band after `generation`, the newcomers the new gen0.  Survivors of a
 * young collection stay in the array as gen1; those of a gen1 collection
 * are paged as pending, those of a full one as old (their gc word says
 * so; find_garbage_full marked most of them already, and here those the
 * legacy and resurrection steps kept; a full collection that paged the
 * old bands in marks them all here).  The newcomers slide down. */
static void close_collection(rc_heap *h, int generation, uint32_t s, uint32_t e)
{
    /* Every survivor already has gc == i and COLLECTING clear (find_roots
     * and reach_one cleared it, SAVEALL's delete_garbage too). */
    uint32_t w = s;
    for (uint32_t i = s; i < e; i++) {
        void *o = h->objs[i];
        if (!o) continue;
#if RC__PREFIX
        if (rc__has(RC__HEAD(o), RC__F_COLLECTING) || RC__HEAD(o)->gc != i) {
            fprintf(stderr, "recycle: collector invariant broken: survivor %p at %u "
                    "has gc %u%s\n", o, (unsigned)i, (unsigned)RC__HEAD(o)->gc,
                    rc__has(RC__HEAD(o), RC__F_COLLECTING) ? " and COLLECTING" : "");
            abort();
        }
#endif
        if (generation > 0) {
            RC__HEAD(o)->gc = generation == 1 ? RC__GC_PENDING : RC__GC_OLD;
        } else if (w != i) {
            /* Only those that slide down over a hole are touched. */
            RC__HEAD(o)->gc = w;
            h->objs[w] = o;
        }
        w++;
    }
    uint32_t survivors = w - s;
    if (generation > 0) w = s; /* they left the array */
    uint32_t old_end = w;
    for (uint32_t i = e; i < h->len; i++) {
        void *o = h->objs[i];
        if (!o) continue;
        RC__HEAD(o)->gc = w;
        h->objs[w++] = o;
    }
    h->len = w;
    switch (generation) {
    case 0:
        h->live[RC__GEN1] += survivors;
        break;
    case 1:
        h->live[RC__PENDING] += survivors;
        h->live[RC__GEN1] = 0;
        break;
    default:
        if (h->bands_in == RC__GEN1) { /* find_garbage_full counted the marked ones */
            h->live[RC__OLD] += survivors;
            break;
        }
        /* rc__collect paged the old bands in: every survivor is marked old
         * above and has left the array with the rest. */
        h->live[RC__OLD] = survivors;
        h->live[RC__PENDING] = h->live[RC__GEN1] = 0;
        for (int b = RC__FROZEN; b <= RC__GEN1; b++) h->band[b] = 0;
        h->bands_in = RC__GEN1;
        break;
    }
    h->band[RC__GEN0] = old_end;
    h->live[RC__GEN0] = w - old_end;
}

/* The main function — read this first.  Collects `generation` and every
 * younger one, the objects of objs[s..end); the caller has set
 * h->collecting.  Objects appended at or after `end` (by callbacks,
 * finalizers) wait for the next collection. */
static gc_result collect_main(rc_heap *h, int generation, uint32_t s, uint32_t end)
{
    gc_result res = {0, 0};
    h->coll_start = s;

    /* Steps 1–3: objs[s..r) reachable, objs[r..e) unreachable;
     * subtract_refs swept the holes, leaving objs[e..end) NULL.  A full
     * collection does them over the pages: its survivors are paged old
     * at once, its garbage is objs[0..e), the newcomers follow. */
    uint32_t e = end, r;
    if (generation == 2 && h->bands_in == RC__GEN1) {
        r = s = 0;
        e = end = find_garbage_full(h, end);
    } else {
        r = split_reachable(h, s, &e, false);
    }

    /* Step 4: the legacy finalizers' part of the garbage: objs[r..r2). */
    uint32_t r2 = r;
    for (uint32_t i = r; i < e; i++) {
        if (has_legacy_finalizer(hd_at(h, i))) {
            r2 = find_roots(h, r, e, has_legacy_finalizer);
            r2 = propagate(h, r, r2, e);
            break;
        }
    }
    res.uncollectable = r2 - r;

    /* Steps 5–6 (user code from here on). */
    uint64_t calls = h->user_calls;
    rc__wr_handle_garbage(h, r2, e);
    finalize_garbage(h, r2, e);

    /* Step 7: what finalizers resurrected, objs[r2..r3), survives.  When
     * no finalizer or callback ran, nothing can have changed. */
    uint32_t e3 = e, r3 = r2;
    if (h->user_calls != calls) r3 = split_reachable(h, r2, &e3, true);

    /* Steps 8–9 on the final garbage, objs[r3..e3). */
    for (uint32_t i = r3; i < e3; i++) {
        res.collected++;
        if (h->debug & RC_DEBUG_COLLECTABLE) debug_object(h, "collectable", h->objs[i]);
    }
    rc__wr_handle_garbage(h, r3, e3);
    /* The garbage list takes its references before the garbage is cleared:
     * a legacy object that only the garbage refers to must stay intact. */
    save_uncollectable(h, r, r2);
    delete_garbage(h, r3, e3);

    /* Step 10. */
    close_collection(h, generation, s, end);
    h->coll_start = UINT32_MAX;
    return res;
}

static void invoke_callbacks(rc_heap *h, int phase, const rc_gc_info *info)
{
    if (h->ncbs == 0) return;
    /* Call a copy: callbacks may add and remove callbacks. */
    rc__callback local[16];
    size_t n = h->ncbs;
    rc__callback *cbs = n <= 16 ? local : malloc(n * sizeof *cbs);
    if (!cbs) { /* no copy: walk the live list, bounds-checked each step */
        for (size_t i = 0; i < h->ncbs; i++) h->cbs[i].fn(h, phase, info, h->cbs[i].data);
        return;
    }
    memcpy(cbs, h->cbs, n * sizeof *cbs);
    for (size_t i = 0; i < n; i++) cbs[i].fn(h, phase, info, cbs[i].data);
    if (cbs != local) free(cbs);
}

/* RC_DEBUG_STATS: one line per collection, written when it ends, with the
 * objects per generation (and frozen) as they were when it started. */
static void debug_stats(rc_heap *h, int generation, const size_t before[4],
                        const gc_result *res, uint64_t pause_ns)
{
    fprintf(h->debug_stream ? h->debug_stream : stderr,
            "gc: generation %d: objects in each generation %zu %zu %zu, frozen %zu; "
            "%llu unreachable, %llu uncollectable, %.6fs elapsed\n",
            generation, before[0], before[1], before[2], before[3],
            (unsigned long long)(res->collected + res->uncollectable),
            (unsigned long long)res->uncollectable, (double)pause_ns / 1e9);
}

/* The adaptive policy: young collections that find nothing make the next
 * one wait twice as long, up to the size of the tracked heap (so cyclic
 * garbage can at most double it); one that finds garbage resets the wait. */
static void adapt(rc_heap *h, uint64_t found)
{
    if (h->policy != RC_POLICY_ADAPTIVE) return;
    size_t base = h->threshold[0];
    if (found > 0) {
        h->young_threshold = base;
        return;
    }
    size_t cap = tracked_total(h);
    if (cap < base) cap = base;
    size_t next = h->young_threshold * 2;
    h->young_threshold = next < cap ? next : cap;
}

long rc__collect(rc_heap *h, int generation, bool automatic)
{
    /* Nothing nests; and once rc_heap_free is releasing everything, its
     * walk owns every block: a collection asked for by a release there
     * collects nothing (rc_heap_free, step 2).  Nor does one while the
     * dominator tool holds the paged bands in the array with its scratch
     * in their gc words (bands_in below gen1 outside a collection): it
     * allocates nothing from the heap, so none should be asked for. */
    if (h->collecting || h->dying || h->bands_in != RC__GEN1 || !rc__enter(h, "collect"))
        return 0;
    /* The young bands' peak sets the array's floor (the end of a full
     * collection starts the count again). */
    if (h->len > h->young_peak) {
        h->young_peak = h->len;
        h->shrink_below = rc__shrink_mark(h);
    }
    /* A full collection of few old objects (at most RC_PAGE_IN_MAX: a heap
     * mostly in cache) brings them into the array and runs the young
     * collections' steps: one walk of the pages instead of
     * find_garbage_full's three or four, and 8 bytes a slot for a moment.
     * Without the memory for that, it runs in place. */
    if (generation == 2 && h->live[RC__OLD] + h->live[RC__PENDING] <= RC_PAGE_IN_MAX)
        (void)rc__page_in(h, RC__OLD);
    h->collecting = true;
    rc__update_trigger(h); /* closes the allocator's gate until the end */
    /* The set is fixed before any callback runs: what they create waits. */
    uint32_t s = gen_start(h, generation), end = h->len;
    rc_gc_info info = {generation, 0, 0, 0};
    invoke_callbacks(h, RC_GC_START, &info);

    if (generation + 1 < 3) h->count[generation + 1]++;
    for (int g = 0; g <= generation; g++) h->count[g] = 0;
    size_t before[4] = {h->live[RC__GEN0], h->live[RC__GEN1],
                        h->live[RC__OLD] + h->live[RC__PENDING], h->live[RC__FROZEN]};

    /* Bytes reclaimed: what was in use, plus what the collection's
     * callbacks and finalizers allocate (the gate is closed while it runs,
     * so all of it goes through the counted slow path), minus what is in
     * use after. */
    size_t in_use0 = *h->in_use;
    uint64_t slow0 = rc__alloc_slow_bytes(h->alloc);
    uint64_t t0 = rc__now_ns();
    gc_result res = collect_main(h, generation, s, end);
    uint64_t t1 = rc__now_ns();
    uint64_t pause = t1 - t0;

    rc_gen_stats *st = &h->stats[generation];
    st->collections++;
    st->collected += res.collected;
    st->uncollectable += res.uncollectable;
    st->pause_ns_total += pause;
    if (pause > st->pause_ns_max) st->pause_ns_max = pause;
    uint64_t had = in_use0 + (rc__alloc_slow_bytes(h->alloc) - slow0);
    st->bytes_reclaimed += had > *h->in_use ? had - *h->in_use : 0;
    if (h->debug & RC_DEBUG_STATS) debug_stats(h, generation, before, &res, pause);

    info.collected = res.collected;
    info.uncollectable = res.uncollectable;
    info.duration_ns = pause;
    invoke_callbacks(h, RC_GC_STOP, &info);
    h->collecting = false;
    h->last_collect_ns = t1;
    if (generation == 2) h->bytes_after_full = *h->in_use;
    if (automatic) adapt(h, res.collected + res.uncollectable);
    rc__update_trigger(h);
    h->hole_check = 0;
    if (generation == 2) {
        h->young_peak = h->len;
        h->shrink_below = rc__shrink_mark(h);
    }
    if (h->compact_due) rc__maybe_compact(h);
    rc__maybe_shrink(h);
    rc__leave(h);
    return (long)(res.collected + res.uncollectable);
}

/* ------------------------------------------------------------------ */
/* Scheduling                                                          */
/* ------------------------------------------------------------------ */

/* The adaptive policy's byte trigger: a full collection once the bytes in
 * live blocks have grown by a quarter (at least RC__BYTE_SLACK) since the
 * last full collection.  Objects freed by counting do not count, so programs
 * that make no cycles rarely reach it; garbage cycles holding large buffers
 * do, whatever generation they were promoted to.  Full collections then run
 * each time the heap grows by a quarter, so their cost is paid for by that
 * growth.  Like the young threshold, the slack doubles after a byte-
 * triggered collection that finds nothing — when that collection was costly
 * for the memory at stake: more than one tracked object per 64 bytes of
 * slack (a program building large live structures of small objects) — and
 * comes back as soon as one finds garbage.  A heap of few objects holding
 * large buffers keeps the tight slack: its full collections are cheap. */
#define RC__BYTE_SLACK ((size_t)4 << 20)

void rc__update_trigger(rc_heap *h)
{
    if (h->policy == RC_POLICY_PYTHON || h->young_threshold < h->threshold[0])
        h->young_threshold = h->threshold[0];
    bool on = h->enabled && h->paused == 0 && h->threshold[0] != 0;
    h->trigger = on ? h->young_threshold : SIZE_MAX;
    size_t base = h->bytes_after_full, slack = base / 4;
    if (slack < RC__BYTE_SLACK) slack = RC__BYTE_SLACK;
    slack <<= h->byte_backoff;
    h->byte_trigger = on && h->policy == RC_POLICY_ADAPTIVE && base <= SIZE_MAX - slack
                          ? base + slack
                          : SIZE_MAX;
    /* The fast paths consult the allocator.  rc__dealloc's frees plain
     * objects unless the tools, the heap's end or buffers want to see each
     * free (watched: owners of buffers whose type has no hook, buf.c).  rc_new's allocates under the gate: an interval closes it
     * (new_object checks the clock), and so does a running collection,
     * whatever its callbacks and finalizers change (they may pause,
     * disable, set thresholds): its bytes_reclaimed counts what they
     * allocate in the slow path.  The tools need no gate: new_entry sends
     * every allocation to their path before the fast one. */
    rc__alloc_set_watched(h->alloc, h->tools != NULL || h->dying || rc__buf_watched(h));
    rc__alloc_set_gate(h->alloc, h->interval_ns || h->collecting ? 0 : h->byte_trigger);
}

/* Python's choice: the oldest generation whose count passed its threshold
 * (generation 0 at least), a full collection only once the objects waiting
 * for their first one are a quarter of those that survived the last one. */
static int due_generation(const rc_heap *h)
{
    for (int g = 2; g > 0; g--) {
        if (h->count[g] <= h->threshold[g]) continue;
        if (g == 2 && h->live[RC__PENDING] < h->live[RC__OLD] / 4) continue;
        return g;
    }
    return 0;
}

void rc__maybe_collect(rc_heap *h)
{
    if (h->collecting || h->count[0] <= h->trigger) return;
    rc__collect(h, due_generation(h), true);
}

void rc__collect_for_bytes(rc_heap *h)
{
    if (h->collecting) return;
    size_t slack = h->byte_trigger - h->bytes_after_full;
    long found = rc__collect(h, 2, true);
    if (found > 0) h->byte_backoff = 0;
    else if (h->byte_backoff < 8 && tracked_total(h) > slack / 64) h->byte_backoff++;
    rc__update_trigger(h);
}

void rc__check_interval(rc_heap *h)
{
    if (h->collecting || !h->enabled || h->paused || h->threshold[0] == 0) return;
    if (rc__now_ns() - h->last_collect_ns < h->interval_ns) return;
    rc__collect(h, due_generation(h), true);
}

long rc_gc_collect(rc_heap *h, int generation)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    if (generation < 0 || generation > 2) return rc__fail(h, RC_ERANGE), -1;
    return rc__collect(h, generation, false);
}

/* Manual scheduling: the collection the automatic trigger would start now,
 * judged by the counts alone — it runs even while automatic collection is
 * disabled or paused, which is what a program that schedules collections
 * itself at safe points wants. */
long rc_gc_collect_if_due(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    if (h->collecting || h->threshold[0] == 0) return 0;
    bool due = h->count[0] > h->young_threshold ||
               (h->interval_ns && rc__now_ns() - h->last_collect_ns >= h->interval_ns);
    return due ? rc__collect(h, due_generation(h), true) : 0;
}
