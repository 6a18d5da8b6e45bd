/* internal.h — what the core's files share and users never see: the heap
 * structure, the header's flag bits, and the interfaces between the object
 * layer (object.c), the collector (gc.c), the allocator (alloc.c), buffers
 * (buf.c), weak references (weakref.c), introspection (introspect.c) and
 * the pointer map (pmap.c).  The leak-hunting tools (src/tools/) are a layer
 * on top: the core calls them only through hooks.h, included below.
 */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#include "recycle.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The public header's private names, under the names the library's files
 * use.  The header spells them rc_impl_ / RC_IMPL_ because C++ reserves
 * identifiers containing a double underscore. */
typedef rc_impl_head rc__head;
#define RC__HEAD(obj)       RC_IMPL_HEAD(obj)
#define rc__dealloc         rc_impl_dealloc
#define rc__incref_checked  rc_impl_incref_checked
#define rc__decref_checked  rc_impl_decref_checked

#define RC_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_INTERNAL    __attribute__((visibility("hidden")))
#define RC_INLINE      static inline __attribute__((always_inline)) /* hot paths */

/* ------------------------------------------------------------------ */
/* The object header                                                   */
/* ------------------------------------------------------------------ */
/* Every object is [prefix][rc__head][user part]; the user's pointer is the
 * user part, 16-byte aligned.  The 16-byte header:
 *
 *   refcnt  strong references (32 bits).
 *   gc      untracked: RC__UNTRACKED.  Tracked: the object's index in
 *           heap->objs if it is there (young objects; during a small full
 *           collection, and the dominator tool, every one); else the
 *           object is "paged" (kept
 *           only by its page, found by walking the allocator) and the word
 *           says its band: RC__GC_FROZEN, RC__GC_PENDING or RC__GC_OLD
 *           (all above any index, so "in the array" is just gc < len).
 *           During the first steps of a collection it holds gc_refs instead
 *           (see gc.c, which owns this word).
 *   tf      the rc_type pointer, whose 3 low bits (types are 8-aligned) are
 *           flags, read and written only through the accessors below.
 *
 * The prefix exists only in debug builds (a magic word and the allocation
 * site, both surviving the free); its size is RC__PREFIX.
 */
#define RC__UNTRACKED     UINT32_MAX
#define RC__GC_FROZEN     (UINT32_MAX - 1) /* paged, frozen band          */
#define RC__GC_PENDING    (UINT32_MAX - 2) /* paged, gen2 pending band    */
#define RC__GC_OLD        (UINT32_MAX - 3) /* paged, gen2 old band        */
#define RC__GC_INDEX_MAX  (UINT32_MAX - 4) /* the tracked array's cap     */
#define RC__F_FINALIZED   ((uintptr_t)1) /* finalize ran (or must not)   */
#define RC__F_WEAKREFD    ((uintptr_t)2) /* weak references may exist    */
#define RC__F_COLLECTING  ((uintptr_t)4) /* in the set being collected   */
#define RC__F_MASK        ((uintptr_t)7)

static inline rc__head *rc__head_of(const void *obj) { return RC__HEAD(obj); }
static inline void *rc__obj_of(rc__head *hd) { return hd + 1; }
static inline const rc_type *rc__type(const rc__head *hd)
{
    return (const rc_type *)(hd->tf & ~RC__F_MASK);
}
static inline bool rc__has(const rc__head *hd, uintptr_t f) { return (hd->tf & f) != 0; }
static inline void rc__set(rc__head *hd, uintptr_t f) { hd->tf |= f; }
static inline void rc__clr(rc__head *hd, uintptr_t f) { hd->tf &= ~f; }
static inline bool rc__is_container(const rc_type *t) { return t->traverse != NULL; }
/* Whether a whole-heap walk may show the object: not while it is dying
 * (count 0: see "Dying objects" in object.c) nor while a collection
 * examines it (RC__F_COLLECTING). */
static inline bool rc__visible(const rc__head *hd)
{
    return hd->refcnt != 0 && (hd->tf & RC__F_COLLECTING) == 0;
}

/* Debug builds put a prefix before the header. */
typedef struct rc__prefix {
    void       *link;     /* the allocator's free-list link once freed */
    uintptr_t   mark;     /* the allocator's live mark (alloc.h) */
    const char *file;     /* allocation site, when known */
    uint32_t    magic;    /* RC__MAGIC_LIVE or RC__MAGIC_FREED */
    uint32_t    line;
} rc__prefix;
#define RC__MAGIC_LIVE  0x52434c56u /* "RCLV" */
#define RC__MAGIC_FREED 0x52434644u /* "RCFD" */
#if defined(RC_DEBUG) && RC_DEBUG
#  define RC__PREFIX 32 /* sizeof(rc__prefix), usable in #if */
#else
#  define RC__PREFIX 0
#endif
_Static_assert(sizeof(rc__prefix) == 32, "the debug prefix is 32 bytes");
_Static_assert(offsetof(rc__prefix, mark) == 8 && offsetof(rc__head, tf) == 8,
               "a block's second word is the allocator's live mark (alloc.h)");
_Static_assert(offsetof(rc__head, refcnt) == 0 && sizeof(((rc__head *)0)->refcnt) == 4,
               "the count is the block's bytes 0-3, which the allocator never writes");
_Static_assert(sizeof(void *) == 8 && sizeof(rc__head) == 16,
               "recycle's header layout assumes a 64-bit target");
static inline rc__prefix *rc__prefix_of(rc__head *hd)
{
    return (rc__prefix *)((char *)hd - sizeof(rc__prefix));
}
static inline void *rc__block_of(rc__head *hd) { return (char *)hd - RC__PREFIX; }
static inline rc__head *rc__head_of_block(void *block)
{
    return (rc__head *)((char *)block + RC__PREFIX);
}

/* ------------------------------------------------------------------ */
/* The allocator (alloc.c) — see that file for its design              */
/* ------------------------------------------------------------------ */
/* Blocks are 16-byte aligned.  The allocator finds a block's owner from its
 * address alone, in O(1).  Bytes 4-15 of a block are the allocator's while
 * it is free (its free-list link, and a mark that is zero while free; bytes
 * 0-3, where the object's count lives, are never written by it: a decref of
 * a freed object corrupts no free list); the owner keeps the second word
 * non-zero while the block is
 * live (rc__block in alloc.h): the object header's type word, or the debug
 * prefix's mark.  Bytes 16.. of a freed block keep what was written there.
 * Blocks are poisoned for ASan and marked for valgrind while free
 * (src/track.h). */
typedef struct rc__alloc rc__alloc;
typedef struct rc_memory_stats rc_memory_stats;

RC_INTERNAL rc__alloc *rc__alloc_new(rc_heap *owner, size_t limit,
                                     unsigned long fail_after);
RC_INTERNAL void    rc__alloc_destroy(rc__alloc *a); /* frees all blocks   */
/* A block of at least `size` bytes, or NULL (limit, system, injected). */
RC_INTERNAL void   *rc__alloc_block(rc__alloc *a, size_t size);
RC_INTERNAL void    rc__free_block(void *block);
RC_INTERNAL size_t  rc__block_size(const void *block);   /* usable bytes */
/* Calls fn on every allocated block but buffers (RC__BLOCK_BUF) until it
 * returns non-zero. */
RC_INTERNAL int     rc__alloc_walk(rc__alloc *a, int (*fn)(void *block, void *arg),
                                   void *arg);
/* Whether p is the start of a live block of a; safe for any pointer. */
RC_INTERNAL bool    rc__alloc_owns(const rc__alloc *a, const void *p);
RC_INTERNAL size_t  rc__alloc_in_use(const rc__alloc *a); /* bytes in live blocks */
/* Where that figure lives, for new_object's byte-trigger check (the fast
 * path has the allocator's gate instead). */
RC_INTERNAL const size_t *rc__alloc_in_use_ptr(const rc__alloc *a);
/* Bytes handed out by rc__alloc_block (not the inline fast path), ever:
 * with the gate closed, every allocation; for bytes_reclaimed. */
RC_INTERNAL uint64_t rc__alloc_slow_bytes(const rc__alloc *a);
RC_INTERNAL void    rc__alloc_set_limit(rc__alloc *a, size_t limit);
/* Allocations that would take the bytes in use past `bytes` leave the fast
 * path (the adaptive policy's byte trigger; SIZE_MAX: none; 0: all do). */
RC_INTERNAL void    rc__alloc_set_gate(rc__alloc *a, size_t bytes);
/* Whether the owner sees every free itself (rc__dealloc reads it). */
RC_INTERNAL void    rc__alloc_set_watched(rc__alloc *a, bool on);
RC_INTERNAL void    rc__alloc_stats(const rc__alloc *a, rc_memory_stats *out);
/* The free path's slow half: page pg lost its last live block, or was full
 * and got a block back on its free list. */
typedef struct rc__page rc__page;
RC_INTERNAL void    rc__page_changed(rc__alloc *a, rc__page *pg);

#include "alloc.h" /* the layout and the inline fast paths */

/* ------------------------------------------------------------------ */
/* The heap                                                            */
/* ------------------------------------------------------------------ */
/* Tracked objects are in five bands, oldest first:
 *
 *     frozen | gen2 old | gen2 pending | gen1 | gen0
 *     band 0   band 1     band 2         band 3  band 4
 *
 * gen2 is bands 1 and 2: "old" objects survived the last full collection,
 * "pending" ones were promoted since (Python's long_lived_total and
 * long_lived_pending are their live counts); live[b] counts band b.
 *
 * The young bands live in one array, heap->objs: gen1 is objs[band[GEN1] ..
 * band[GEN0]), gen0 objs[band[GEN0] .. len).  The older bands are "paged":
 * an object there is in no array, its gc word names its band (internal.h's
 * header comment), and whoever needs them walks the allocator's pages.  A
 * full collection of at most RC_PAGE_IN_MAX old objects (gc.c), and the
 * dominator tool, first bring them into the array ahead of the young
 * bands, in band order (rc__page_in: h->bands_in is then RC__OLD, or
 * RC__FROZEN with the frozen band too), and send them back at the end
 * (close_collection, rc__page_out): band b is then objs[band[b] ..
 * band[b+1]).  A larger full collection works on the pages in place.  At
 * rest h->bands_in == RC__GEN1 and band[0..GEN1] == 0.
 *
 * Invariants (outside a collection's first steps; rc_heap_check verifies
 * them):
 *   - a tracked object o is in the array iff hd(o)->gc < len, and then
 *     objs[hd(o)->gc] == o and its band is the one its index falls in;
 *     a paged one's gc word is one of the three marks above;
 *   - an object of a band below bands_in is paged, one at or above it is
 *     in the array (the frozen band stays paged during full collections);
 *   - a slot of the array whose object died or was untracked holds NULL
 *     (a tombstone) until compaction; gen0 never holds one outside a
 *     collection (rc__untrack_young).
 */
enum { RC__FROZEN = 0, RC__OLD = 1, RC__PENDING = 2, RC__GEN1 = 3, RC__GEN0 = 4,
       RC__NBANDS = 5 };

typedef struct rc__callback {
    rc_gc_callback_fn fn;
    void             *data;
} rc__callback;

typedef struct rc__vec { /* a growable array of pointers */
    void  **v;
    size_t  len, cap;
} rc__vec;

typedef struct rc__wrmap rc__wrmap; /* weakref.c: object -> its weak refs */

struct rc_heap {
    rc__alloc *alloc;

    /* Tracked objects (gc.c owns these; object.c appends and tombstones). */
    void   **objs;
    uint32_t len, cap;
    uint32_t shrink_below;      /* len below this: rc__maybe_shrink may give
                                   memory back (rc__shrink_mark) */
    uint32_t young_peak;        /* the most objects the young bands held at
                                   a young collection's start since the last
                                   full one (the array's floor) */
    uint32_t band[RC__NBANDS + 1];
    size_t   live[RC__NBANDS];
    int      bands_in;          /* the oldest band in the array (see above) */
    bool     compact_due;       /* tombstones to sweep once not collecting */
    uint32_t hole_check;        /* deaths of old objects before gc.c asks
                                   again whether their holes need a sweep */

    /* Scheduling */
    size_t   threshold[3];
    size_t   count[3];
    size_t   young_threshold;   /* threshold[0] as the policy adapts it */
    size_t   trigger;           /* count[0] above this starts a collection:
                                   young_threshold, or SIZE_MAX while
                                   automatic collection is off */
    const size_t *in_use;       /* the allocator's bytes in live blocks */
    size_t   byte_trigger;      /* *in_use above this starts a full
                                   collection (adaptive policy); else
                                   SIZE_MAX */
    size_t   bytes_after_full;  /* *in_use when the last full one ended */
    unsigned byte_backoff;      /* the byte slack is shifted left by this */
    int      policy;
    bool     enabled;
    int      paused;            /* pause depth */
    bool     collecting;
    uint32_t coll_start;        /* first index of the set being collected;
                                   UINT32_MAX when none is (callbacks) */
    uint64_t user_calls;        /* finalizers and weakref callbacks run */
    uint64_t interval_ns;       /* 0 = off */
    uint64_t last_collect_ns;

    /* Deallocation by counting (object.c) */
    int      dealloc_depth;
    rc__vec  deferred;          /* objects whose freeing waits (deep chains),
                                   each | RC__DEFERRED_BITS: frozen, tracked */
    bool     dying;             /* rc_heap_free is releasing everything */
    int      walking;           /* walks calling their function (introspect.c) */
    void    *owner;             /* debug builds: the thread inside a call on the
                                   heap (rc__enter), NULL when none is */
    unsigned owner_depth;       /* its nested calls */

    /* Debug output and statistics */
    unsigned debug;
    FILE    *debug_stream;
    rc_gen_stats stats[3];

    rc__vec  garbage;           /* gc.garbage: strong references */
    rc__callback *cbs;          /* gc.callbacks */
    size_t   ncbs, capcbs;

    rc__wrmap *wr;              /* weak references by referent */
    struct rc__tools *tools;    /* leak-hunting tools (tools.c); NULL = off */

    int      last_error;

    struct rc__bufs *bufs;      /* buffers (buf.c); NULL until the first */
};

/* ------------------------------------------------------------------ */
/* Cross-file functions                                                */
/* ------------------------------------------------------------------ */

/* errors (heap.c) */
RC_INTERNAL int  rc__fail(rc_heap *h, int code);   /* sets, returns code */
RC_INTERNAL void *rc__fail_null(rc_heap *h, int code);
RC_INTERNAL uint64_t rc__now_ns(void);

/* vectors (heap.c) */
RC_INTERNAL int  rc__vec_push(rc__vec *v, void *p); /* 0 or RC_ENOMEM */
RC_INTERNAL void rc__vec_free(rc__vec *v);

/* tracking (gc.c) */
RC_INTERNAL int  rc__track(rc_heap *h, rc__head *hd);     /* 0 or RC_ENOMEM */
/* Tracks hd in the frozen band (a frozen object that waited on the deferred
 * list and was resurrected): it is paged there at once. */
RC_INTERNAL void rc__track_frozen(rc_heap *h, rc__head *hd);
/* Brings the paged bands from `from` (RC__OLD or RC__FROZEN) to gen1 into
 * the array, ahead of the young bands (see "Tracked objects" above); 0, or
 * RC_ENOMEM (nothing changed), or RC_EBUSY when other bands are already in.
 * A no-op when they are in already. */
RC_INTERNAL int  rc__page_in(rc_heap *h, int from);
/* Sends every band older than gen1 back to its pages (outside a
 * collection's steps; a no-op at rest). */
RC_INTERNAL void rc__page_out(rc_heap *h);
/* The band of tracked object hd (not being collected), or -1 if untracked. */
RC_INTERNAL int  rc__band_of_obj(const rc_heap *h, const rc__head *hd);
/* Calls fn on every visible tracked object (rc__visible) whose band b has
 * bit (1 << b) in `bands`, the array's first (in its order), then the
 * paged ones (in address order), until fn returns non-zero; returns that.
 * fn must not track, untrack or free objects. */
RC_INTERNAL int  rc__walk_tracked(rc_heap *h, unsigned bands,
                                  int (*fn)(void *obj, void *arg), void *arg);
RC_INTERNAL int  rc__reserve_track(rc_heap *h, size_t n); /* room for n more */
/* rc__untrack for an object in the array but not in gen0, or during a
 * collection; rc__untrack has taken the paged ones. */
RC_INTERNAL void rc__untrack_old(rc_heap *h, rc__head *hd);
/* After a collection that left tombstones: makes gen0 dense again and
 * sweeps the older bands if due (not during a collection). */
RC_INTERNAL void rc__maybe_compact(rc_heap *h);
/* Gives back the tracked array's memory once three quarters of it is
 * unused, never below its floor (not during a collection): RC__OBJS_MIN
 * slots, or twice the young bands' peak (h->young_peak) — the young bands
 * swell and empty with every gen1 collection, and an array that followed
 * them would be reallocated (mremap'd, faulted in again) each time. */
#define RC__OBJS_MIN 4096
RC_INTERNAL void rc__maybe_shrink(rc_heap *h);
static inline size_t rc__objs_floor(const rc_heap *h)
{
    size_t peak = 2 * (size_t)h->young_peak;
    return peak > RC__OBJS_MIN ? peak : RC__OBJS_MIN;
}
/* h->shrink_below as rc__objs_set keeps it. */
static inline uint32_t rc__shrink_mark(const rc_heap *h)
{
    return h->cap > rc__objs_floor(h) ? h->cap / 4 : 0;
}
/* The tracked array becomes v, of cap slots. */
static inline void rc__objs_set(rc_heap *h, void **v, uint32_t cap)
{
    h->objs = v;
    h->cap = cap;
    h->shrink_below = rc__shrink_mark(h);
}

/* rc__untrack's common case, inline for the counting path: hd is in gen0
 * and no collection runs.  The newest object moves into its slot (gen0's
 * order is no one's business: promotion moves boundaries, and every walk
 * reports "the order of the tracked array"), so gen0 never holds a
 * tombstone outside a collection — invariant: len - band[GEN0] ==
 * live[GEN0] then (rc_heap_check verifies it) — and no compaction is ever
 * due for it.  Returns false, doing nothing, in every other case. */
RC_INLINE bool rc__untrack_young(rc_heap *h, rc__head *hd)
{
    uint32_t i = hd->gc; /* RC__UNTRACKED and the paged bands' marks are >= len */
    if (i >= h->len || i < h->band[RC__GEN0] || h->collecting) return false;
    void *last = h->objs[--h->len];
    h->objs[i] = last;
    RC__HEAD(last)->gc = i; /* hd itself when it was the newest */
    hd->gc = RC__UNTRACKED;
    h->live[RC__GEN0]--;
    if (RC_UNLIKELY(h->len < h->shrink_below)) rc__maybe_shrink(h);
    return true;
}
/* Whether tracked object hd is in the array (else it is paged). */
static inline bool rc__in_array(const rc_heap *h, const rc__head *hd)
{
    return hd->gc < h->len;
}
/* The band a paged object's gc word names. */
static inline int rc__paged_band(uint32_t gc)
{
    return gc == RC__GC_FROZEN ? RC__FROZEN : gc == RC__GC_PENDING ? RC__PENDING : RC__OLD;
}
/* Untracks hd, tracked or not (a no-op then).  A paged object (gc one of
 * the three marks, not in a collection's set) just leaves its band's
 * count, inline: an old object's death by counting is the common case of
 * a program that keeps its data a while. */
RC_INLINE void rc__untrack(rc_heap *h, rc__head *hd)
{
    if (rc__untrack_young(h, hd)) return;
    uint32_t i = hd->gc;
    if (i >= RC__GC_OLD && i != RC__UNTRACKED && !rc__has(hd, RC__F_COLLECTING)) {
        h->live[rc__paged_band(i)]--;
        hd->gc = RC__UNTRACKED;
        return;
    }
    rc__untrack_old(h, hd);
}
RC_INTERNAL void rc__maybe_collect(rc_heap *h);          /* automatic trigger */
RC_INTERNAL long rc__collect(rc_heap *h, int generation, bool automatic);
RC_INTERNAL int  rc__band_of(const rc_heap *h, uint32_t i);
RC_INTERNAL void rc__update_trigger(rc_heap *h);        /* after any setting */
RC_INTERNAL void rc__check_interval(rc_heap *h);        /* time-based trigger */
RC_INTERNAL void rc__collect_for_bytes(rc_heap *h);     /* byte trigger */

/* misuse (misuse.c): reports to the handler; returns if the handler does.
 * is_object says whether obj may be described (has a readable header). */
RC_INTERNAL void rc__misuse(const char *what, const void *obj, bool is_object);
/* Debug builds: the owner check.  The entry points that change a heap
 * (rc_new*, rc_incref, rc_decref, collections, rc_heap_free) call
 * rc__enter first: it makes the calling thread the heap's owner, or counts
 * one more nested call of the owner (user code calling back in), or, if
 * another thread is inside a call on the heap, reports the misuse ("OP:
 * heap used by two threads at once: HEAP") and returns false: the call then
 * does nothing.  rc__leave ends the call; the outermost one gives the heap
 * up.  Release builds check nothing. */
#if RC__PREFIX
RC_INTERNAL bool rc__enter(rc_heap *h, const char *op);
RC_INTERNAL void rc__leave(rc_heap *h);
#else
#  define rc__enter(h, op) ((void)(h), (void)(op), true)
#  define rc__leave(h)     ((void)(h))
#endif

/* buffers (buf.c): storage owned by one object (rc_buf_alloc).  A buffer
 * is a block of the heap's allocator, so it counts in bytes in use, the
 * limit and the byte trigger as an object does:
 *
 *   block  [ next | RC__BLOCK_BUF | owner | prev ][ the program's bytes ... ]
 *            word 0  word 1          word 2  word 3  ^ the pointer it holds
 *
 * next/prev link the owner's buffers; h->bufs maps each owner to its
 * newest.  Word 1 is the allocator's live mark (alloc.h): RC__BLOCK_BUF
 * there tells a buffer from an object, whose word 1 is its type word
 * (release builds) or the debug prefix's mark 1, never 2.  rc__alloc_walk
 * skips buffers, so every walk sees objects only.
 * Order at an owner's death: finalize, weak references, references
 * dropped, release (which may free buffers itself), then the buffers it
 * still has (rc__buf_owner_dies), then its block. */
#define RC__BLOCK_BUF ((uintptr_t)2)
#define RC__BUF_HDR   32
/* Bytes of owner's buffers (their block sizes, headers included; 0 if it
 * has none): what snapshots, the leak report and retained sizes add to the
 * owner's own block.  One hash lookup, then O(buffers of owner); 0 at once
 * in a heap that never had a buffer. */
RC_INTERNAL size_t rc__buf_bytes(const rc_heap *h, const void *owner);
/* Calls fn(owner, bytes of its buffers, arg) once per object that owns a
 * buffer, in no particular order, until fn returns non-zero; returns that,
 * else 0.  fn must not allocate or free buffers. */
RC_INTERNAL int rc__buf_walk(const rc_heap *h,
                             int (*fn)(void *owner, size_t bytes, void *arg), void *arg);
/* owner dies (its release ran): frees the buffers it still has. */
RC_INTERNAL void rc__buf_owner_dies(rc_heap *h, void *owner);
/* rc_heap_free, after every release ran: drops the buffer table (the
 * allocator's end frees the blocks). */
RC_INTERNAL void rc__buf_heap_free(rc_heap *h);
/* Whether rc__dealloc's fast path must decline (the allocator's watched
 * flag): owners of buffers whose type has no hook are alive. */
RC_INTERNAL bool rc__buf_watched(const rc_heap *h);
/* rc_heap_check's part: calls bad(arg, what, obj) for every broken
 * invariant of the buffers (obj: the owner concerned, or NULL) — each
 * owner a live object of h, each buffer on its list a live buffer naming
 * it, the lists linked both ways, plain right, and the bytes in use the
 * objects' blocks plus the listed buffers' (no live buffer on no list). */
RC_INTERNAL void rc__buf_check(const rc_heap *h,
                               void (*bad)(void *arg, const char *what, const void *obj),
                               void *arg);

/* objects (object.c) */
RC_INTERNAL void rc__describe(rc__head *hd, char *buf, size_t n);
/* A deferred-list entry's low bits (objects are 16-byte aligned): the
 * object was frozen, it was tracked. */
#define RC__DEFERRED_FROZEN  ((uintptr_t)1)
#define RC__DEFERRED_TRACKED ((uintptr_t)2)
#define RC__DEFERRED_BITS    ((uintptr_t)3)
/* Calls fn on the block of every object a whole-heap walk may show
 * (rc__visible: no dying object, nothing being collected), until fn returns
 * non-zero; returns that.  What snapshots and why-alive walk. */
RC_INTERNAL int  rc__walk_objects(rc_heap *h, int (*fn)(void *block, void *arg), void *arg);
/* rc_new_at for objects the library makes for the program (weak
 * references): ra is the program's return address, where an allocation
 * site's backtrace starts.  t is a valid type. */
RC_INTERNAL void *rc__new_from(rc_heap *h, const rc_type *t, const char *file, int line,
                               const char *func, void *ra);

/* weak references (weakref.c) */
RC_INTERNAL int  rc__wr_init(rc_heap *h);
RC_INTERNAL void rc__wr_fini(rc_heap *h);
/* Detach obj's weak references and clear them; returns the chain of those
 * with callbacks, each holding a reference, for rc__wr_call. */
RC_INTERNAL rc_weakref *rc__wr_clear(rc_heap *h, rc__head *hd);
RC_INTERNAL void rc__wr_call(rc_weakref *chain);
/* The collector's weak reference step for the garbage in objs[lo..hi). */
RC_INTERNAL void rc__wr_handle_garbage(rc_heap *h, uint32_t lo, uint32_t hi);

/* ------------------------------------------------------------------ */
/* The pointer map (pmap.c): buffers' owners, the tools' tables        */
/* ------------------------------------------------------------------ */

/* A map from non-zero keys (pointers) to 64-bit values: open addressing,
 * linear probing, backward-shift deletion.  Zero-initialised = empty. */
typedef struct rc__pmap {
    struct rc__pent { uintptr_t key; uint64_t val; } *e;
    size_t cap, len; /* cap: 0 or a power of two */
} rc__pmap;
RC_INTERNAL uint64_t *rc__pmap_get(const rc__pmap *m, uintptr_t key); /* NULL: absent */
/* The value of key, added as 0 if absent (*added says so); NULL: no memory. */
RC_INTERNAL uint64_t *rc__pmap_put(rc__pmap *m, uintptr_t key, bool *added);
RC_INTERNAL bool      rc__pmap_del(rc__pmap *m, uintptr_t key);
RC_INTERNAL void      rc__pmap_free(rc__pmap *m);

/* ------------------------------------------------------------------ */
/* The end of an object's life, and the leak-hunting tools' hooks      */
/* ------------------------------------------------------------------ */

#include "hooks.h" /* the only way the core calls into src/tools/ */

/* The end of every object's life, whether it dies by counting (object.c)
 * or in a collection (gc.c): its references are gone and it is untracked;
 * now `release`, then rc__forget_and_free. */
RC_INLINE void rc__forget_and_free(rc_heap *h, rc__head *hd, bool container)
{
    /* The count of tracked allocations, the buffers, the tools' record,
     * and the memory (poisoned for misuse checks in debug builds; live:
     * its type word is still there).  Alone, for an object whose type has
     * no release (object.c's dealloc_container). */
    if (container) h->count[0] -= h->count[0] != 0; /* never below 0 */
    if (RC_UNLIKELY(h->bufs != NULL)) rc__buf_owner_dies(h, rc__obj_of(hd));
    if (RC_UNLIKELY(h->tools)) rc__tools_free(h, hd);
#if RC__PREFIX
    rc__prefix_of(hd)->magic = RC__MAGIC_FREED;
#endif
    rc__free_live(rc__block_of(hd));
}
RC_INLINE void rc__release_and_free(rc_heap *h, rc__head *hd, const rc_type *t)
{
    if (t->release) t->release(rc__obj_of(hd));
    rc__forget_and_free(h, hd, rc__is_container(t));
}

#endif /* RC_INTERNAL_H */
