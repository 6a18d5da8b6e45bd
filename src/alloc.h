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
#define LIVE_WORDS    (GRANULES / 64)                   /* 64     */
#define FINE_MAX      528                               /* 16-byte steps up to here */
#define SMALL_MAX     16384                             /* larger: a big segment */
#define NCLASSES      53
#define DIRTY_MAX     8                                 /* empty pages kept backed */
#define BIG_CACHE_MAX   ((size_t)1 << 20)  /* largest big segment kept        */
#define BIG_CACHE_N     128                /* big segments kept at most       */
#define BIG_CACHE_BYTES ((size_t)8 << 20)  /* and their bytes at most         */
#define TC_MAX        32                                /* recently freed blocks per class */


typedef struct rc__block {
    struct rc__block *next; /* only while on a page's free list; bytes 8.. are
                         * never touched */
} rc__block;

typedef struct rc__page {
    alignas(64) rc__block *free; /* free blocks, LIFO */
    char        *bump;       /* next never-used block ... */
    char        *end;        /* ... up to here */
    struct rc__page *prev, *next;/* queue[cls] */
    size_t       bsize;      /* bytes per block; 0 = page free */
    uint16_t     used;       /* live blocks */
    uint16_t     capacity;   /* blocks that fit (<= 4096) */
    uint8_t      cls;
    uint8_t      index;      /* in its segment */
    bool         queued;
    bool         big;        /* pages[0] of a big segment */
    uint32_t     epoch;      /* a->epoch when the page was given out */
} rc__page;

typedef struct rc__segment {
    rc_heap   *owner;
    rc__alloc *alloc;
    size_t     size;       /* bytes mapped */
    uint64_t   free_mask;  /* pages given to no class (bit 0, the header, never) */
    uint64_t   dirty_mask; /* free pages still backed */
    uint32_t   used_pages;
    bool       big;
    rc__page   pages[PAGES];             /* a big segment has pages[0] only */
    uint64_t   live[PAGES][LIVE_WORDS];  /* small segments only */
} rc__segment;

#define BIG_HDR ((offsetof(rc__segment, pages) + sizeof(rc__page) + 15) & ~(size_t)15)

_Static_assert(sizeof(rc__page) == 64, "a page descriptor is one cache line");
_Static_assert(sizeof(rc__segment) <= PG_SIZE, "the header fits in page 0");
_Static_assert(PAGES == 64, "one uint64_t mask covers a segment's pages");
_Static_assert(BIG_HDR <= PG_SIZE, "a big block starts in page 0");

struct rc__alloc {
    size_t     in_use;         /* bytes in live blocks */
    uint64_t   freed;          /* bytes of blocks freed, ever */
    size_t     gate;           /* the fast path's ceiling on in_use: the
                                  smaller of limit and the heap's byte
                                  trigger, or 0 while faults are injected */
    size_t     soft_gate;      /* the byte trigger, as the heap last set it */
    size_t     limit;          /* SIZE_MAX = none */
    uint64_t   calls;          /* rc__alloc_block calls so far */
    uint64_t   fail_at;        /* UINT64_MAX = never */
    uint32_t   tcn[NCLASSES];  /* recently freed blocks per class: */
    void      *tc[NCLASSES][TC_MAX]; /* a stack, newest last */
    rc__page  *cur[NCLASSES];  /* the page each class allocates from */
    rc_heap   *owner;
    rc__page  *head[NCLASSES], *tail[NCLASSES];
    rc__segment **segs;           /* every mapped segment but big_cache's, by address */
    size_t     nsegs, capsegs;
    rc__segment *filling;        /* where new pages come from */
    rc__segment *big_cache[BIG_CACHE_N]; /* freed big segments kept for reuse */
    unsigned   nbig_cache;
    size_t     big_cache_bytes;
    size_t     committed;      /* bytes_from_os */
    size_t     dirty;
    size_t     empty_segs;
    size_t     nbig, big_bytes;
    size_t     os_page, hdr_bytes;
    uint32_t   epoch;          /* bumped at each walk's start */
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

/* The word of the live bitmap that holds p's bit, from p's address alone. */
static inline uint64_t *rc__live_word(rc__segment *s, const void *p)
{
    size_t off = (uintptr_t)p - (uintptr_t)s;
    return &s->live[off >> PG_SHIFT][(off >> (GRANULE_SHIFT + 6)) & (LIVE_WORDS - 1)];
}

/* p's bit in its live word. */
static inline uint64_t rc__live_bit(const void *p)
{
    return (uint64_t)1 << (((uintptr_t)p >> GRANULE_SHIFT) & 63);
}

static inline rc_heap *rc__owner_of(const void *block)
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
 * pg has no room. */
RC_INLINE rc__block *rc__page_pop(rc__page *pg, size_t bs)
{
    rc__block *b = pg->free;
    if (RC_LIKELY(b != NULL)) {
        rc__track_mem_defined(b, sizeof(rc__block));
        pg->free = b->next;
        return b;
    }
    if (RC_LIKELY(pg->bump < pg->end)) {
        b = (rc__block *)pg->bump;
        pg->bump += bs;
        return b;
    }
    return NULL;
}

/* The block of class c freed last (warm in cache); NULL if the class's
 * stack is empty. */
RC_INLINE rc__block *rc__stack_pop(rc__alloc *a, unsigned c)
{
    uint32_t n = a->tcn[c];
    if (n == 0) return NULL;
    a->tcn[c] = n - 1;
    return a->tc[c][n - 1];
}

/* Block b of pg (bs bytes) becomes live. */
RC_INLINE void *rc__block_taken(rc__alloc *a, rc__page *pg, rc__block *b, size_t bs)
{
    pg->used++;
    *rc__live_word(rc__segment_of(b), b) |= rc__live_bit(b);
    a->in_use += bs;
    rc__track_block_alloc(a, b, bs);
    return b;
}

/* A block of fine class c (16 (c + 1) bytes) from the class's stack of
 * recently freed blocks or its current page; NULL whenever anything else
 * must decide — the gate (a limit, the byte trigger, injected faults), an
 * exhausted page — and then rc__alloc_block does it all. */
RC_INLINE void *rc__alloc_fast(rc__alloc *a, unsigned c)
{
    size_t bs = ((size_t)c + 1) << GRANULE_SHIFT;
    if (RC_UNLIKELY(a->in_use + bs > a->gate)) return NULL;
    rc__page *pg;
    rc__block *b = rc__stack_pop(a, c);
    if (RC_LIKELY(b != NULL)) {
        pg = rc__page_of(rc__segment_of(b), b);
    } else {
        pg = a->cur[c];
        b = rc__page_pop(pg, bs);
        if (RC_UNLIKELY(!b)) return NULL;
    }
    return rc__block_taken(a, pg, b, bs);
}

/* Put free block p on its page's list: the link is the one write the
 * allocator makes into free memory, opened to the tool just for it. */
static inline void rc__page_push(rc__page *pg, void *p)
{
    rc__block *b = p;
    rc__track_mem_defined(b, sizeof(rc__block));
    b->next = pg->free;
    rc__track_mem_noaccess(b, sizeof(rc__block));
    pg->free = b;
}

/* Live block p of small page pg, whose live bit is `bit` in *word, becomes
 * free: onto its class's stack (c = pg->cls, holding n blocks), or when that
 * is full onto pg's free list.  The caller deals with what that means for
 * pg (see rc__free_block). */
RC_INLINE void rc__block_given(rc__alloc *a, rc__page *pg, void *p, uint64_t *word,
                               uint64_t bit, unsigned c, uint32_t n)
{
    *word &= ~bit;
    size_t bs = pg->bsize;
    rc__track_block_free(a, p, bs);
    a->in_use -= bs;
    a->freed += bs;
    pg->used--;
    if (RC_LIKELY(n < TC_MAX)) {
        a->tc[c][n] = p;
        a->tcn[c] = n + 1;
    } else {
        rc__page_push(pg, p);
    }
}

/* Frees block p when that touches nothing but p's page and the class's
 * stack; rc__free_block does it instead when p is big or not live, or its
 * page is about to empty, or has been full and must be queued again. */
RC_INLINE void rc__free_fast(void *p)
{
    rc__segment *s = rc__segment_of(p);
    rc__page *pg = rc__page_of(s, p);
    if (RC_UNLIKELY(pg->big)) {
        rc__free_block(p);
        return;
    }
    rc__alloc *a = s->alloc;
    uint64_t *word = rc__live_word(s, p), bit = rc__live_bit(p);
    unsigned c = pg->cls;
    uint32_t n = a->tcn[c];
    if (RC_UNLIKELY(!(*word & bit) || pg->used <= 1 || (n >= TC_MAX && !pg->queued))) {
        rc__free_block(p);
        return;
    }
    rc__block_given(a, pg, p, word, bit, c, n);
}

#endif /* RC_ALLOC_H */
