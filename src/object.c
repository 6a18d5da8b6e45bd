/* object.c — objects and reference counting: creating objects, the header's
 * public accessors, tracking, and the counting path — what happens when a
 * count reaches zero (finalize, clear weak references, drop references,
 * release, free), done without unbounded recursion.
 */
#include "internal.h"
#include "hooks.h" /* rc__tools_*: the leak-hunting tools, when on */

#include <stdlib.h>

/* How deep frees by counting may nest before further ones wait on the
 * heap's deferred list (CPython's "trashcan").  Dropping a 10-million-node
 * list therefore uses at most this many C stack frames of free_object. */
#define RC__DEALLOC_DEPTH_MAX 64

/* ------------------------------------------------------------------ */
/* Debug builds: misuse detection                                      */
/* ------------------------------------------------------------------ */

void rc__describe(rc__head *hd, char *buf, size_t n)
{
    const rc_type *t = rc__type(hd);
    const char *name = t && t->name ? t->name : "?";
#if RC__PREFIX
    rc__prefix *p = rc__prefix_of(hd);
    if (p->file) {
        snprintf(buf, n, "<%s object at %p, allocated at %s:%u>", name,
                 (void *)rc__obj_of(hd), p->file, (unsigned)p->line);
        return;
    }
#endif
    snprintf(buf, n, "<%s object at %p>", name, (void *)rc__obj_of(hd));
}

#if RC__PREFIX
/* Whether obj looks like a live rc object; reports the misuse if not. */
static bool check_live(const void *obj, const char *op)
{
    char what[64];
    if (!obj) {
        snprintf(what, sizeof what, "%s of NULL", op);
        rc__misuse(what, NULL, false);
        return false;
    }
    uint32_t magic = rc__prefix_of(RC__HEAD(obj))->magic;
    if (magic == RC__MAGIC_FREED) {
        snprintf(what, sizeof what, "%s: use of a freed object", op);
        rc__misuse(what, obj, true);
        return false;
    }
    if (magic != RC__MAGIC_LIVE) {
        snprintf(what, sizeof what, "%s of a pointer that is not an rc object", op);
        rc__misuse(what, obj, false);
        return false;
    }
    return true;
}
#endif

void rc__incref_checked(void *obj)
{
#if RC__PREFIX
    if (!check_live(obj, "incref")) return;
    if (RC__HEAD(obj)->refcnt == UINT32_MAX) {
        rc__misuse("incref: count overflow", obj, true);
        return;
    }
    rc_heap *h = rc_heap_of(obj);
    if (!rc__enter(h, "incref")) return;
    RC__HEAD(obj)->refcnt++;
    rc__leave(h);
#else
    RC__HEAD(obj)->refcnt++;
#endif
}

void rc__decref_checked(void *obj)
{
#if RC__PREFIX
    if (!check_live(obj, "decref")) return;
    if (RC__HEAD(obj)->refcnt == 0) {
        rc__misuse("decref: count going below zero", obj, true);
        return;
    }
    rc_heap *h = rc_heap_of(obj);
    if (!rc__enter(h, "decref")) return;
    if (--RC__HEAD(obj)->refcnt == 0) rc__dealloc(obj);
    rc__leave(h);
#else
    if (--RC__HEAD(obj)->refcnt == 0) rc__dealloc(obj);
#endif
}

/* ------------------------------------------------------------------ */
/* Creating objects                                                    */
/* ------------------------------------------------------------------ */

/* A block for an object of `total` bytes (prefix and header included), with
 * room in the tracked array if it is a container.  When memory runs out, one
 * full collection runs (unless one is running) and the request is retried
 * once; nothing that existed before is touched by a failure. */
static void *alloc_block(rc_heap *h, size_t total, bool container)
{
    for (int attempt = 0;; attempt++) {
        if (!container || rc__reserve_track(h, 1) == 0) {
            void *b = rc__alloc_block(h->alloc, total);
            if (b) return b;
        }
        if (attempt > 0 || h->collecting) return NULL;
        rc__collect(h, 2, false);
    }
}

/* Zeroes the user part and returns obj.  Up to 64 bytes: 16-byte stores,
 * one compare per step (a loop here is turned back into `rep stos`, which
 * costs ~30 cycles to start, and a switch into an indirect jump); the block
 * has room up to the next multiple of 16.  Larger: a tail call to memset,
 * so that rc_new's fast path saves no registers for it. */
static inline void *zero(void *obj, size_t size)
{
    typedef struct { uint64_t a, b; } pair;
    pair *p = obj, z = {0, 0};
    if (RC_UNLIKELY(size > 64)) return memset(obj, 0, size);
    if (RC_UNLIKELY(size == 0)) return obj;
    p[0] = z;
    if (size <= 16) return obj;
    p[1] = z;
    if (size <= 32) return obj;
    p[2] = z;
    if (size > 48) p[3] = z;
    return obj;
}

/* Makes block a new object of type t with a zeroed user part of `size`
 * bytes, tracked if a container (room in the tracked array is there). */
RC_INLINE void *init_object(rc_heap *h, void *block, const rc_type *t, size_t size,
                            const char *file, int line, bool container)
{
    rc__head *hd = rc__head_of_block(block);
#if RC__PREFIX
    rc__prefix *p = rc__prefix_of(hd);
    p->magic = RC__MAGIC_LIVE;
    p->file = file;
    p->line = (uint32_t)line;
#else
    (void)file;
    (void)line;
#endif
    hd->refcnt = 1;
    hd->tf = (uintptr_t)t;
    void *obj = rc__obj_of(hd);
    if (container) { /* rc__track, inline */
        hd->gc = h->len;
        h->objs[h->len++] = obj;
        h->live[RC__GEN0]++;
    } else {
        hd->gc = RC__UNTRACKED;
    }
    return zero(obj, size);
}

/* The fast path of rc_new: a small object, a block at hand, no collection
 * due, room in the tracked array, no interval (it closes the allocator's
 * gate: rc__update_trigger).  NULL when any of that fails; new_object then
 * does everything, in full. */
RC_INLINE void *new_fast(rc_heap *h, const rc_type *t, size_t size, const char *file,
                           int line)
{
    if (RC_UNLIKELY(size > FINE_MAX - RC__PREFIX - sizeof(rc__head)))
        return NULL;
    bool container = rc__is_container(t);
    if (container && RC_UNLIKELY(h->count[0] >= h->trigger || h->len >= h->cap))
        return NULL;
    void *block = rc__alloc_fast(h->alloc,
                                 rc__fine_class(RC__PREFIX + sizeof(rc__head) + size));
    if (RC_UNLIKELY(!block)) return NULL;
    if (container) h->count[0]++;
    return init_object(h, block, t, size, file, line, container);
}

/* The real functions behind the macros of the same names (recycle.h). */
#undef rc_new
#undef rc_new_var

/* Everything rc_new may have to do: check its arguments, start a due
 * collection, allocate the slow way (out of memory: collect and retry). */
static __attribute__((noinline)) void *new_object(rc_heap *h, const rc_type *t, size_t size,
                                                  const char *file, int line)
{
    /* t is readable: every entry point checked it (readable_type). */
    if (RC_UNLIKELY(!h || size < t->size))
        return rc__fail_null(h, RC_EINVAL);
    size_t total = RC__PREFIX + sizeof(rc__head) + size;
    if (RC_UNLIKELY(total < size)) return rc__fail_null(h, RC_ENOMEM);
    bool container = rc__is_container(t);
    if (container && RC_UNLIKELY(++h->count[0] > h->trigger)) rc__maybe_collect(h);
    if (RC_UNLIKELY(*h->in_use > h->byte_trigger)) rc__collect_for_bytes(h);
    if (RC_UNLIKELY(h->interval_ns)) rc__check_interval(h);

    void *block = alloc_block(h, total, container);
    if (RC_UNLIKELY(!block)) {
        if (container && h->count[0] > 0) h->count[0]--;
        return rc__fail_null(h, RC_ENOMEM);
    }
    return init_object(h, block, t, size, file, line, container);
}

/* With the leak-hunting tools on (heap->tools): the fast path or
 * new_object, then their hook (tools.c).  ra is the caller's return
 * address, where a site's backtrace starts (the entry points are exported:
 * never inlined). */
static __attribute__((noinline)) void *new_object_tooled(rc_heap *h, const rc_type *t,
                                                          size_t size, const char *file,
                                                          int line, const char *func, void *ra)
{
    void *obj = new_fast(h, t, size, file, line);
    if (!obj) obj = new_object(h, t, size, file, line);
    if (obj) rc__tools_new(h, obj, file, line, func, ra);
    return obj;
}

/* A type pointer that can be read: non-NULL and aligned (the header keeps
 * flags in its 3 low bits). */
static inline bool readable_type(const rc_type *t)
{
    return t && ((uintptr_t)t & RC__F_MASK) == 0;
}

/* The four entry points: the tools' path if they are on, else the fast
 * path, else new_object.  ra: the entry point's return address.  In
 * release builds, file, line, func and ra are dead once the tools are
 * known to be off, so the fast path needs no saved register. */
RC_INLINE void *new_entry_unchecked(rc_heap *h, const rc_type *t, size_t size,
                                    const char *file, int line, const char *func, void *ra)
{
    if (RC_LIKELY(h && size >= t->size)) {
        if (RC_UNLIKELY(h->tools))
            return new_object_tooled(h, t, size, file, line, func, ra);
        void *obj = new_fast(h, t, size, file, line);
        if (RC_LIKELY(obj != NULL)) return obj;
    }
    return new_object(h, t, size, file, line);
}

/* Debug builds add the owner check (rc__enter). */
RC_INLINE void *new_entry(rc_heap *h, const rc_type *t, size_t size, const char *file,
                            int line, const char *func, void *ra)
{
#if RC__PREFIX
    if (h && !rc__enter(h, "rc_new")) return NULL;
    void *obj = new_entry_unchecked(h, t, size, file, line, func, ra);
    if (h) rc__leave(h);
    return obj;
#else
    return new_entry_unchecked(h, t, size, file, line, func, ra);
#endif
}

void *rc_new_var(rc_heap *h, const rc_type *t, size_t size)
{
    if (RC_UNLIKELY(!readable_type(t))) return rc__fail_null(h, RC_EINVAL);
    return new_entry(h, t, size, NULL, 0, NULL, __builtin_return_address(0));
}

void *rc_new(rc_heap *h, const rc_type *t)
{
    if (RC_UNLIKELY(!readable_type(t))) return rc__fail_null(h, RC_EINVAL);
    return new_entry(h, t, t->size, NULL, 0, NULL, __builtin_return_address(0));
}

void *rc_new_var_at(rc_heap *h, const rc_type *t, size_t size, const char *file, int line,
                    const char *func)
{
    if (RC_UNLIKELY(!readable_type(t))) return rc__fail_null(h, RC_EINVAL);
    return new_entry(h, t, size, file, line, func, __builtin_return_address(0));
}

void *rc_new_at(rc_heap *h, const rc_type *t, const char *file, int line, const char *func)
{
    if (RC_UNLIKELY(!readable_type(t))) return rc__fail_null(h, RC_EINVAL);
    return new_entry(h, t, t->size, file, line, func, __builtin_return_address(0));
}

void *rc__new_from(rc_heap *h, const rc_type *t, const char *file, int line,
                   const char *func, void *ra)
{
    return new_entry(h, t, t->size, file, line, func, ra);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

size_t rc_refcount(const void *obj) { return obj ? RC__HEAD(obj)->refcnt : 0; }

const rc_type *rc_type_of(const void *obj)
{
    return obj ? rc__type(RC__HEAD(obj)) : NULL;
}

rc_heap *rc_heap_of(const void *obj)
{
    return obj ? rc__block_owner(rc__block_of(RC__HEAD(obj))) : NULL;
}

size_t rc_size_of(const void *obj)
{
    if (!obj) return 0;
    return rc__block_size(rc__block_of(RC__HEAD(obj))) - RC__PREFIX - sizeof(rc__head);
}

int rc_is_finalized(const void *obj)
{
    return obj && rc__has(RC__HEAD(obj), RC__F_FINALIZED);
}

int rc_is_tracked(const void *obj)
{
    if (!obj) return 0;
    const rc__head *hd = RC__HEAD(obj);
    return hd->gc != RC__UNTRACKED || rc__has(hd, RC__F_COLLECTING);
}

void rc_track(void *obj)
{
    if (!obj) return;
    rc__head *hd = RC__HEAD(obj);
    if (!rc__is_container(rc__type(hd)) || rc_is_tracked(obj)) return;
    rc_heap *h = rc_heap_of(obj);
    if (rc__track(h, hd) != 0) rc__fail(h, RC_ENOMEM);
}

void rc_untrack(void *obj)
{
    if (!obj || !rc_is_tracked(obj)) return;
    rc__untrack(rc_heap_of(obj), RC__HEAD(obj));
}

/* ------------------------------------------------------------------ */
/* The counting path                                                   */
/* ------------------------------------------------------------------ */

static int visit_clear(void **slot, void *arg)
{
    (void)arg;
    void *child = *slot;
    if (child) {
        *slot = NULL;
        rc_decref(child);
    }
    return 0;
}

/* ==== Dying objects ====
 *
 * An object is dying from the moment its count reaches zero for good (its
 * finalizer, if one runs, did not resurrect it) until its block is freed:
 * while it waits on the deferred list, while its weak references' callbacks
 * run, while its references are dropped (their releases run) and while its
 * own release runs.  User code runs at each of those moments and may call
 * any whole-heap tool.  The invariant, kept here and by the collector's
 * free_garbage:
 *
 *   - a dying object has count 0 and is untracked: dealloc_in untracks it
 *     before deferring it, die before it runs any user code;
 *   - an object with count 0 is dying: a live object's count is at least 1
 *     (free_object runs a finalizer at count 1).
 *
 * So the tracked array never holds a dying object (collections, walks,
 * freeze and unfreeze cannot see one), and the walks over every block skip
 * count 0 (rc__visible, rc__walk_objects): snapshots, why-alive, the leak
 * report, DOT.  rc_heap_check verifies both halves.  An object keeps
 * whether it was tracked, and frozen, while it waits only in its
 * deferred-list entry (RC__DEFERRED_TRACKED, RC__DEFERRED_FROZEN): if its
 * finalizer resurrects it, it is tracked again only if it was, in the
 * frozen band if it was frozen (test_dying,
 * test_model:case_frozen_deferred_resurrect, case_untracked_deferred_resurrect). */

/* The object dies (its count is zero for good): untrack it, clear its weak
 * references and run their callbacks (only if `weak`: the caller may know
 * it has none), drop its references, release it and free its memory. */
RC_INLINE void die(rc_heap *h, rc__head *hd, const rc_type *t, bool weak)
{
    void *obj = rc__obj_of(hd);
    /* Untrack first: no collection or walk that a callback, a release or a
     * child's finalizer starts may see it (the invariant). */
    if (hd->gc != RC__UNTRACKED || rc__has(hd, RC__F_COLLECTING)) rc__untrack(h, hd);
    if (weak && RC_UNLIKELY(rc__has(hd, RC__F_WEAKREFD))) rc__wr_call(rc__wr_clear(h, hd));
    /* Drop every reference it holds; the type writes only traverse. */
    if (t->traverse) t->traverse(obj, visit_clear, NULL);
    rc__release_and_free(h, hd, t);
}

/* The object's count is zero: finalize it (once; it may resurrect), then
 * die.  A `retrack` object was tracked, and untracked when it was put on
 * the deferred list; if it resurrects it is tracked again, in the frozen
 * band if it was `frozen`.  One the program had untracked stays untracked
 * (test_model:case_untracked_deferred_resurrect). */
RC_INLINE void free_object(rc_heap *h, rc__head *hd, bool retrack, bool frozen)
{
    const rc_type *t = rc__type(hd);
    void *obj = rc__obj_of(hd);

    if (t->finalize && !rc__has(hd, RC__F_FINALIZED)) {
        rc__set(hd, RC__F_FINALIZED);
        hd->refcnt = 1;
        t->finalize(obj);
        if (--hd->refcnt != 0) {
            /* Resurrected: the finalizer stored a new reference. */
            if (retrack && !rc_is_tracked(obj)) {
                if (frozen) rc__track_frozen(h, hd);
                else (void)rc__track(h, hd);
            }
            return;
        }
    }
    die(h, hd, t, true);
}

/* The outermost free drains what deeper ones deferred.  Each of those
 * again nests at most RC__DEALLOC_DEPTH_MAX deep. */
static __attribute__((noinline)) void drain_deferred(rc_heap *h)
{
    while (h->deferred.len > 0) {
        uintptr_t e = (uintptr_t)h->deferred.v[--h->deferred.len];
        void *o = (void *)(e & ~RC__DEFERRED_BITS);
        h->dealloc_depth++;
        free_object(h, RC__HEAD(o), (e & RC__DEFERRED_TRACKED) != 0,
                    (e & RC__DEFERRED_FROZEN) != 0);
        h->dealloc_depth--;
    }
}

/* hd's count reached zero in heap h (not being freed): free it now, or
 * defer it if frees nest too deep. */
static __attribute__((noinline)) void dealloc_in(rc_heap *h, rc__head *hd)
{
    void *obj = rc__obj_of(hd);
    bool tracked = false, frozen = false;
    if (RC_UNLIKELY(h->dealloc_depth >= RC__DEALLOC_DEPTH_MAX)) {
        /* Untracked while it waits, frozen or not (the invariant); its
         * entry remembers whether it was tracked, and frozen. */
        tracked = rc_is_tracked(obj);
        frozen = !rc__has(hd, RC__F_COLLECTING) && rc__band_of_obj(h, hd) == RC__FROZEN;
        rc__untrack(h, hd);
        void *e = (void *)((uintptr_t)obj | (tracked ? RC__DEFERRED_TRACKED : 0) |
                           (frozen ? RC__DEFERRED_FROZEN : 0));
        if (rc__vec_push(&h->deferred, e) == 0) return;
        /* No memory to defer it: free it now, one level deeper. */
    }
    h->dealloc_depth++;
    free_object(h, hd, tracked, frozen);
    h->dealloc_depth--;
    if (h->dealloc_depth == 0 && h->deferred.len > 0) drain_deferred(h);
}

/* Everything the count reaching zero may mean (rc__dealloc: the rest). */
static __attribute__((noinline)) void dealloc_full(void *obj)
{
    rc__head *hd = RC__HEAD(obj);
    rc_heap *h = rc__block_owner(rc__block_of(hd));
    if (RC_UNLIKELY(h->dying)) return; /* rc_heap_free frees everything at once */
    dealloc_in(h, hd);
}

/* A plain container of heap h reached count zero: one with no header flag
 * (no weak reference, never finalized, not being collected), whose type has
 * no finalize and no release, in a heap whose allocator is not watched (no
 * tools, not being freed) — rc__dealloc tested all that.  It just dies:
 * what dealloc_in and die do for it, with nothing tested twice and only h
 * and hd kept across the traverse call. */
static __attribute__((noinline)) void dealloc_container(rc_heap *h, rc__head *hd)
{
    if (RC_UNLIKELY(h->dealloc_depth >= RC__DEALLOC_DEPTH_MAX)) {
        dealloc_in(h, hd);
        return;
    }
    if (hd->gc != RC__UNTRACKED) rc__untrack(h, hd);
    h->dealloc_depth++;
    /* The type is read again rather than kept across rc__untrack_old. */
    rc__type(hd)->traverse(rc__obj_of(hd), visit_clear, NULL);
    h->dealloc_depth--;
    rc__forget_and_free(h, hd, true);
    if (RC_UNLIKELY(h->dealloc_depth == 0 && h->deferred.len > 0)) drain_deferred(h);
}

/* Every object a whole-heap walk may show (the invariant above). */
typedef struct visible_walk {
    int (*fn)(void *block, void *arg);
    void *arg;
} visible_walk;

static int walk_visible(void *block, void *arg)
{
    visible_walk *w = arg;
    return rc__visible(rc__head_of_block(block)) ? w->fn(block, w->arg) : 0;
}

int rc__walk_objects(rc_heap *h, int (*fn)(void *block, void *arg), void *arg)
{
    visible_walk w = {fn, arg};
    return rc__alloc_walk(h->alloc, walk_visible, &w);
}

/* The fastest path: an atomic object with no flag, no finalizer and no
 * release, in a heap whose tools are off, is simply freed — what
 * rc__release_and_free does for it, without a look at the heap.  A
 * container in the same state goes to dealloc_container, which skips the
 * finalizer and weak-reference steps (the heap being freed also sets the
 * allocator's watched flag, so neither looks at heap->dying). */
void rc__dealloc(void *obj)
{
    rc__head *hd = RC__HEAD(obj);
    void *block = rc__block_of(hd);
    const rc_type *t = rc__type(hd);
    /* A freed block has a zero type word (its live mark): a release build
     * reaches here with one only when a freed object was incref'd and
     * decref'd again (a decref alone wraps the count, which lives in bytes
     * the allocator never writes, and stops there).  Ignored, as the
     * allocator ignores a double free: nothing is corrupted.  (Debug builds
     * report both before they get here.) */
    if (RC_UNLIKELY(!t)) return;
    rc__segment *s = rc__segment_of(block);
    uintptr_t hooks = (uintptr_t)t->finalize | (uintptr_t)t->release;
    if (RC_UNLIKELY((hd->tf & RC__F_MASK) || hooks || s->alloc->watched)) {
        dealloc_full(obj);
        return;
    }
    if (t->traverse) {
        dealloc_container(s->owner, hd);
        return;
    }
#if RC__PREFIX
    rc__prefix_of(hd)->magic = RC__MAGIC_FREED;
#endif
    rc__free_fast(block);
}
