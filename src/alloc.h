/* alloc.h — the allocator's layout (segments, pages, blocks) and its two
 * fast paths, inline so that the object layer (object.c) and the collector
 * (gc.c) allocate and free without a call.  The design, the invariants and
 * the slow paths are in alloc.c; nothing outside alloc.c may change these
 * structures except through the functions below.  Its figures are for
 * x86-64 Linux; the geometry assumes 64-bit pointers.
 */
#ifndef RC_ALLOC_H
#define RC_ALLOC_H

/* internal.h includes this file after declaring the allocator's functions;
 * include internal.h, not this. */
#include "track.h"

#include <stdalign.h>
#include <stddef.h>

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

#define SEG_SHIFT     22
#define SEG_SIZE      ((size_t)1 << SEG_SHIFT)          /* 4 MiB  */
#define SEG_MASK      (SEG_SIZE - 1)
#define PG_SHIFT      16
#define PG_SIZE       ((size_t)1 << PG_SHIFT)           /* 64 KiB */
#define PAGES         (SEG_SIZE >> PG_SHIFT)            /* 64     */
#define GRANULE_SHIFT 4                                 /* 16 B   */
#define GRANULES      (PG_SIZE >> GRANULE_SHIFT)        /* 4096   */
#define FINE_MAX      528                               /* 16-byte steps up to here */
#define SMALL_MAX     16384                             /* larger: a big segment */
#define NCLASSES      53
#define DIRTY_MAX     8                                 /* empty pages kept backed */
#define HOLD_WINDOW_NS 1000000000u                      /* the purge delay's window: 1 s */
#define BIG_CACHE_MAX   ((size_t)1 << 20)  /* largest big segment kept        */
#define BIG_CACHE_BYTES ((size_t)8 << 20)  /* their bytes at least kept (more:
                                              the purge delay's budget)       */
#define BIG_CACHE_SCAN  16                 /* cached segments looked at per
                                              allocation, newest first        */
#define TC_MAX        32                                /* recently freed blocks per class */
#define BIG_CLASS     NCLASSES                          /* the class of a big block's page */


/* A block's first two words, while it is free:
 *   bytes 0-3   never written by the allocator: the owner's (the object
 *         header's count lives there, so that a count dropped once too
 *         often in a release build, on a freed block, wraps that word and
 *         corrupts nothing: issue 12, item 5);
 *   next  (bytes 4-7) the free-list link while on a page's free list: the
 *         next block's offset in the page plus one, 0 at the end (pages
 *         are 64 KiB-aligned, so the page is the block's address masked);
 *   mark  0 while free, non-zero while live.  The allocator writes 1 when it
 *         hands the block out; the owner may store any non-zero word there
 *         (the object layer keeps its type word there) and must keep it
 *         non-zero until it frees the block.  A walk or an ownership test
 *         tells live blocks from free ones by this word alone.
 * Bytes 16.. are never touched. */
typedef struct rc__block {
    uint32_t  owners;
    uint32_t  next;
    uintptr_t mark;
} rc__block;
_Static_assert(offsetof(rc__block, next) == 4 && offsetof(rc__block, mark) == 8,
               "the link is word 0's high half, the mark word 1");

typedef struct rc__page {
    alignas(64) rc__block *free; /* free blocks, LIFO */
    char        *bump;       /* next never-used block ... */
    char        *end;        /* ... up to here */
    struct rc__page *prev, *next;/* queue[cls] */
    size_t       bsize;      /* bytes per block; 0 = page free */
    uint16_t     used;       /* live blocks */
    uint16_t     capacity;   /* blocks that fit (<= 4096) */
    uint8_t      cls;        /* BIG_CLASS for a big segment's page */
    uint8_t      index;      /* in its segment */
    bool         queued;
    bool         big;        /* pages[0] of a big segment */
    uint64_t     epoch;      /* a->epoch when the page was given out (64 bits:
                                no walk count wraps it) */
} rc__page;

/* A block in a class stack, with its page (saves the lookup when it is
 * taken again). */
typedef struct rc__cached {
    rc__block *b;
    rc__page  *pg;
} rc__cached;

typedef struct rc__segment {
    rc_heap   *owner;
    rc__alloc *alloc;
    size_t     size;       /* bytes mapped */
    uint64_t   free_mask;  /* pages given to no class (page 0 too: its blocks
                              follow the header) */
    uint64_t   dirty_mask; /* free pages still backed */
    uint32_t   used_pages;
    bool       big;
    bool       huge;       /* small, asked for huge pages: each aligned 2 MiB
                              half is one page of the system's (alloc.c,
                              decommit) */
    struct rc__segment *newer, *older; /* the big cache's list (freed big
                                           segments only) */
    rc__page   pages[PAGES];             /* a big segment has pages[0] only */
} rc__segment;

#define BIG_HDR ((offsetof(rc__segment, pages) + sizeof(rc__page) + 15) & ~(size_t)15)
/* A small segment's header: page 0's first bytes; its blocks follow. */
#define SEG_HDR ((sizeof(rc__segment) + 63) & ~(size_t)63)

_Static_assert(sizeof(rc__page) == 64, "a page descriptor is one cache line");
_Static_assert(sizeof(rc__segment) <= PG_SIZE, "the header fits in page 0");
_Static_assert(PAGES == 64, "one uint64_t mask covers a segment's pages");
_Static_assert(BIG_HDR <= PG_SIZE, "a big block starts in page 0");

struct rc__alloc {
    size_t     in_use;         /* bytes in live blocks */
    uint64_t   slow_bytes;     /* bytes of blocks handed out by rc__alloc_block,
                                  ever (the collector closes the gate and
                                  counts its own allocations with it) */
    size_t     gate;           /* the fast path's ceiling on in_use: the
                                  smaller of limit and the heap's byte
                                  trigger; 0 while faults are injected, and
                                  while the owner closes it (rc__update_
                                  trigger: an interval, a collection
                                  running) */
    size_t     soft_gate;      /* the byte trigger, as the heap last set it */
    size_t     limit;          /* SIZE_MAX = none */
    uint64_t   calls;          /* rc__alloc_block calls so far */
    uint64_t   fail_at;        /* UINT64_MAX = never */
    bool       watched;        /* the owner wants to see every free (its
                                  fast free path reads this and declines) */
    uint32_t   tcn[NCLASSES + 1]; /* recently freed blocks per class (tcn[BIG_CLASS]
                                     stays TC_MAX: big blocks never stack) */
    rc__cached tc[NCLASSES][TC_MAX]; /* a stack, newest last */
    rc__page  *cur[NCLASSES];  /* the page each class allocates from */
    rc_heap   *owner;
    rc__page  *head[NCLASSES], *tail[NCLASSES];
    rc__segment **segs;           /* every mapped segment but the big cache's, by
                                     address */
    size_t     nsegs, capsegs;
    rc__segment *filling;        /* where new pages come from */
    rc__segment *big_newest, *big_oldest; /* freed big segments kept for
                                             reuse, newest first */
    size_t     nbig_cache;
    size_t     big_cache_bytes;
    size_t     committed;      /* bytes_from_os */
    size_t     dirty;          /* empty pages still backed */
    size_t     hold;           /* extra empty pages kept backed, learned from
                                  refaults (see dirty_budget) */
    size_t     purged;         /* pages returned and not needed again yet */
    size_t     reused;         /* backed empty pages taken again this window */
    uint64_t   window_ns;      /* when the current window began */
    size_t     empty_segs;
    size_t     nbig, big_bytes;
    size_t     os_page, hdr_bytes;
    uint64_t   epoch;          /* bumped at each walk's start */
    uintptr_t  hint;           /* the last segment mapped: map the next below it */
    rc__page   none;           /* cur[c] of a class with no page: never has room */
};


/* ------------------------------------------------------------------ */
/* Lookups from an address alone                                       */
/* ------------------------------------------------------------------ */

static inline rc__segment *rc__segment_of(const void *p)
{
    return (rc__segment *)((uintptr_t)p & ~(uintptr_t)SEG_MASK);
}

static inline rc__page *rc__page_of(rc__segment *s, const void *p)
{
    return &s->pages[((uintptr_t)p - (uintptr_t)s) >> PG_SHIFT];
}

static inline rc_heap *rc__block_owner(const void *block)
{
    return rc__segment_of(block)->owner;
}

/* ------------------------------------------------------------------ */
/* Fast paths                                                          */
/* ------------------------------------------------------------------ */

/* The fine class of a block of `total` bytes (1 .. FINE_MAX). */
static inline unsigned rc__fine_class(size_t total)
{
    return (unsigned)((total - 1) >> GRANULE_SHIFT);
}

/* The steps both allocation paths share (alloc.c holds the slow one). */

/* A block from pg's free list (the one read of free memory: the link,
 * opened to the tool just before), else from its never-used tail; NULL if
 * pg has no room.  The page counts it as used from here on. */
RC_INLINE rc__block *rc__page_pop(rc__page *pg, size_t bs)
{
    rc__block *b = pg->free;
    if (RC_LIKELY(b != NULL)) {
        rc__track_mem_defined(&b->next, sizeof b->next);
        uint32_t n = b->next;
        rc__track_mem_noaccess(&b->next, sizeof b->next);
        pg->free = n ? (rc__block *)(((uintptr_t)b & ~(uintptr_t)(PG_SIZE - 1)) + n - 1) : NULL;
    } else if (RC_LIKELY(pg->bump < pg->end)) {
        b = (rc__block *)pg->bump;
        pg->bump += bs;
    } else {
        return NULL;
    }
    pg->used++;
    return b;
}

/* The block of class c freed last (warm in cache), from its stack of n > 0
 * blocks; its page counts it again. */
RC_INLINE rc__block *rc__stack_pop(rc__alloc *a, unsigned c, uint32_t n)
{
    a->tcn[c] = n - 1;
    rc__cached k = a->tc[c][n - 1];
    k.pg->used++;
    return k.b;
}

/* Block b (bs bytes) becomes live. */
RC_INLINE void *rc__block_taken(rc__alloc *a, rc__block *b, size_t bs)
{
    a->in_use += bs;
    rc__track_block_alloc(a, b, bs);
    b->mark = 1;
    return b;
}

/* A block of fine class c (16 (c + 1) bytes) from the class's stack of
 * recently freed blocks or its current page; NULL whenever anything else
 * must decide — the gate (a limit, the byte trigger, injected faults, an
 * interval, a running collection), an exhausted page — and then
 * rc__alloc_block does it all. */
RC_INLINE void *rc__alloc_fast(rc__alloc *a, unsigned c)
{
    size_t bs = ((size_t)c + 1) << GRANULE_SHIFT;
    if (RC_UNLIKELY(a->in_use + bs > a->gate)) return NULL;
    uint32_t n = a->tcn[c];
    rc__block *b;
    if (RC_LIKELY(n != 0)) {
        b = rc__stack_pop(a, c, n);
    } else {
        b = rc__page_pop(a->cur[c], bs);
        if (RC_UNLIKELY(!b)) return NULL;
    }
    return rc__block_taken(a, b, bs);
}

/* Whether block b, a block start below its page's bump, is live: its mark,
 * read with the word opened to the tool (and closed again if free). */
RC_INLINE bool rc__block_live(rc__block *b)
{
#if RC_TRACK_ENABLED
    rc__track_mem_defined(&b->mark, sizeof b->mark);
    if (b->mark != 0) return true;
    rc__track_mem_noaccess(&b->mark, sizeof b->mark);
    return false;
#else
    return b->mark != 0;
#endif
}

/* Live block p (bs bytes) becomes free: marked, poisoned, uncounted (the
 * caller keeps its page's count). */
RC_INLINE void rc__block_given(rc__alloc *a, rc__block *b, size_t bs)
{
    b->mark = 0;
    rc__track_block_free(a, b, bs);
    a->in_use -= bs;
}

/* Put free block p on its page's list: the link is the one write the
 * allocator makes into free memory after the mark, opened to the tool just
 * for it. */
static inline void rc__page_push(rc__page *pg, void *p)
{
    rc__block *b = p;
    uintptr_t f = (uintptr_t)pg->free;
    rc__track_mem_defined(&b->next, sizeof b->next);
    b->next = f ? (uint32_t)(f & (PG_SIZE - 1)) + 1 : 0;
    rc__track_mem_noaccess(&b->next, sizeof b->next);
    pg->free = b;
}

/* Live block p of small page pg becomes free, onto slot n of its class's
 * stack (n < TC_MAX); rc__page_changed if it was pg's last live block. */
RC_INLINE void rc__free_to_stack(rc__alloc *a, rc__page *pg, void *p, unsigned c, uint32_t n)
{
    rc__block_given(a, p, pg->bsize);
    a->tc[c][n] = (rc__cached){p, pg};
    a->tcn[c] = n + 1;
    if (RC_UNLIKELY(--pg->used == 0)) rc__page_changed(a, pg);
}

/* The same onto pg's free list, the stack being full; rc__page_changed
 * also if pg was full (off its queue). */
RC_INLINE void rc__free_to_page(rc__alloc *a, rc__page *pg, void *p)
{
    rc__block_given(a, p, pg->bsize);
    rc__page_push(pg, p);
    if (RC_UNLIKELY(--pg->used == 0 || !pg->queued)) rc__page_changed(a, pg);
}

/* Frees live block p, reading and writing p's page descriptor, p's first
 * two words and its class's stack.  rc__free_block does it instead when p
 * is big (its class's stack reads as full, so only then is that tested) or,
 * if `check`, not live. */
RC_INLINE void rc__free_small(void *p, bool check)
{
    rc__segment *s = rc__segment_of(p);
    rc__page *pg = rc__page_of(s, p);
    rc__alloc *a = s->alloc;
    unsigned c = pg->cls;
    uint32_t n = a->tcn[c];
    if (RC_UNLIKELY(n >= TC_MAX)) {
        if (RC_UNLIKELY(pg->big || (check && !rc__block_live(p)))) rc__free_block(p);
        else rc__free_to_page(a, pg, p);
        return;
    }
    if (RC_UNLIKELY(check && !rc__block_live(p))) rc__free_block(p);
    else rc__free_to_stack(a, pg, p, c, n);
}

/* Frees block p, which may be anything rc__free_block accepts. */
RC_INLINE void rc__free_fast(void *p)
{
    rc__free_small(p, true);
}

/* Frees block p, which the caller knows is live (its owner's mark is in
 * it: an object's type word). */
RC_INLINE void rc__free_live(void *p)
{
    rc__free_small(p, false);
}

#endif /* RC_ALLOC_H */
