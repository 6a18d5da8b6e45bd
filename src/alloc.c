/* alloc.c — the pool allocator: a private heap of size-class pools under
 * every object.  Each rc_heap owns one rc__alloc; nothing here is shared
 * between allocators, so heaps in different threads need no lock, and no
 * path takes one.
 *
 * Layout
 * ------
 * A *segment* is 4 MiB of address space from mmap, aligned to its size, so
 * the segment of a block is its address with the low 22 bits cleared.  It
 * is cut into 64 *pages* of 64 KiB, each holding *blocks* of one size
 * class.  Page 0 opens with the segment header (SEG_HDR, 4,160 bytes: the
 * owning heap and allocator and 64 page descriptors) and holds blocks after
 * it, as many as fit (until 2026-12-06 it held the header alone: where
 * huge pages back a segment, its other 60 KiB were resident for nothing,
 * 0.44 byte per 32-byte block):
 *
 *   segment  [ header, page 0's blocks | page 1 | ...        | page 63 ]  4 MiB
 *   page     [ block | block | ... | block | tail < 1 block ]            64 KiB
 *   block    [ owner's 4 | next 4 | mark | 16.. untouched ]   (free)
 *            [ owner's   8         | non-zero | ...       ]   (live)
 *
 *   rc__block_owner(b) = seg(b)->owner
 *   rc__block_size(b)  = seg(b)->pages[(b - seg(b)) >> 16].bsize
 *
 * both O(1) from the address alone.  A block larger than the largest class
 * (16 KiB) gets a *big segment* of its own, mapped just large enough and
 * aligned the same way; its header is the first 128 bytes, pages[0]
 * describes the block, which starts right after, so the same two lookups
 * work unchanged.
 *
 * Size classes (53): 16-byte steps from 16 to 528 bytes (512 user bytes + the
 * 16-byte object header), then 4 per doubling (640, 768, 896, 1024, 1280,
 * ...) to 16 KiB.  Worst internal waste: 15 bytes up to 528, under 25%
 * above.  Blocks are 16-byte aligned because pages are and every class is a
 * multiple of 16.
 *
 * Live marks.  Word 1 of a block is zero while it is free and non-zero while
 * it is live: the allocator writes 1 when it hands the block out and 0 when
 * it takes it back, and the owner keeps it non-zero in between (the object
 * header's type word sits there).  Every block below a page's bump pointer
 * has been handed out at least once, so it has a mark; rc__alloc_walk and
 * rc__alloc_owns read it (opening the word to the tool for the read), and
 * the free path catches a double free with it.  (These were bitmaps in the
 * segment header until they cost the free+allocate pair 20 instructions of
 * its ~200; the mark costs one store each way, in a line the pair touches
 * anyway.)
 *
 * Page states.  A page of a small segment is
 *   free      bsize == 0; bit set in seg->free_mask.  "Dirty" (bit also in
 *             seg->dirty_mask) if still backed by memory, else returned
 *             with madvise(MADV_DONTNEED) or never touched;
 *   queued    given to class c and on queue[c] (a->head[c] .. a->tail[c]):
 *             it has a free block, or it is the queue's head;
 *   full      given to class c and off the queue: no free block at all.
 * a->cur[c] is the head of queue[c] (or the sentinel a->none, which has no
 * room).
 *
 * The class cache.  A freed block first goes to a->tc[c], a stack of up to
 * TC_MAX recently freed blocks of its class (each with its page, so that
 * taking it again needs no lookup), kept in the allocator rather than in
 * the blocks; allocation takes from it first, then from cur[c] (free list,
 * then bump).  The stack is what makes a large working set
 * fast: once a page is current, its free list holds blocks freed long ago,
 * and following the list is a cache miss per allocation, while the stack
 * hands back a block the program touched a moment ago, and freeing into it
 * writes only the block's mark.  (1M live blocks, random 16-256 B churn:
 * 65 ns per free+alloc instead of 180; glibc 135.)  The stack pins no
 * memory: when a page's last live block dies, its blocks leave the stack
 * for the page's free list and the page is returned as usual.  When the
 * stack is full, a freed block goes straight to its page.
 *
 * Invariants, for every page p of class c, segment s, allocator a:
 *   p.used + (blocks of p in tc[c]) + len(p.free) + (p.end - p.bump) / p.bsize
 *          == p.capacity
 *   p.used == (blocks of p below p.bump with a non-zero mark)
 *   p.used == 0 => no block of p in tc[c];   every block in tc[c] or on a
 *          free list has a zero mark;   tc[c][i].pg is tc[c][i].b's page
 *   tcn[BIG_CLASS] == TC_MAX (a big block's page has class BIG_CLASS, so
 *          the free fast path sends it to the slow one)
 *   p.queued  <=>  p on queue[c];   !p.queued  =>  p.free == NULL && p.bump == p.end
 *   every queued page but the head has room
 *   a.cur[c] == (queue[c] empty ? &a.none : head of queue[c])
 *   s.used_pages + popcount(s.free_mask) == 64;  dirty_mask ⊆ free_mask
 *   a page's blocks start at blocks_start (page 0: after the header):
 *          p.end - p.capacity * p.bsize == blocks_start(s, p.index)
 *   a.in_use    == Σ bsize over live blocks (small and big)
 *   a.committed == Σ small segments (hdr_bytes + Σ page_bytes over used
 *                  and dirty pages: 64 KiB, page 0 less hdr_bytes)
 *                + Σ big segments' mapped bytes (+ big_cache_bytes)
 *   the big cache's list (big_newest .. big_oldest, linked both ways) holds
 *          nbig_cache freed big segments of big_cache_bytes in all
 *   a.dirty     == Σ popcount(s.dirty_mask); after each release_page,
 *                  a.dirty <= dirty_budget(a)
 *                  (max(DIRTY_MAX, a.in_use / 4 / 64 KiB, a.hold))
 *   a.dirty > 0  => a.filling is NULL or has a backed free page, once
 *                  segment_for_page has chosen
 *   a.empty_segs == small segments with no page in use; all but one of
 *                  them hold backed pages, and that one is not huge-paged
 *
 * Fast paths, inline in the object layer (alloc.h), no syscall, no lock, no
 * division; everything else is out of line here:
 *   alloc: one compare against the gate (the limit, the byte trigger, fault
 *          injection, the owner's interval or running collection), pop
 *          the class stack (else the page's free list, else bump), one
 *          increment in the page's header, add, write the mark.
 *   free:  mask and shift to the page descriptor, test the mark, clear it,
 *          subtract, push on the class stack (else the page's free list),
 *          one decrement.  A big block, or a free that empties a page or
 *          refills a full one, goes out of line.
 * Slow paths: a class's head page ran out (pick the fullest of the next few
 * queued pages, else a new page); a full page got a free block on its list
 * (queue it at the tail); a page lost its last live block (take its blocks
 * off the stack, return it to its segment).
 *
 * Returning memory.  New pages come from the fullest segment that has a
 * free page (pymalloc's heuristic), so lightly used segments drain; while
 * any segment holds a backed empty page, from the fullest such segment.  An
 * empty page goes back to its segment and stays backed for quick reuse
 * while such pages are within the budget (dirty_budget: DIRTY_MAX, a
 * quarter of the bytes in use, or the hold learned from pages returned and
 * then faulted in again, whichever is most — the purge delay); past that,
 * they are returned with MADV_DONTNEED down to half the budget: empty
 * segments first (unmapped), then the wholly free upper halves of huge-
 * paged segments, then a run of adjacent pages per call — a huge page is
 * returned whole where it can be, since returning part of it splits it
 * (decommit).  The hold decays window by window
 * (HOLD_WINDOW_NS) once the program stops reusing pages, and the surplus
 * goes back in a batch.  An empty segment is kept while its backed pages are
 * within the budget; else it is unmapped, except one per allocator kept
 * (decommitted) to avoid map/unmap churn if it is not huge-paged.  A big
 * block's segment is unmapped when freed,
 * unless the cache of freed big segments (of at most BIG_CACHE_MAX each, a
 * list newest first, of which allocation looks at BIG_CACHE_SCAN) has room:
 * its budget is BIG_CACHE_BYTES, or the purge delay's if larger, and an
 * unmapped big segment that is mapped again teaches the hold like a small
 * page (big_cache_budget): a collection that frees many buffers at once
 * then feeds the next allocations without a system call or a page fault.
 * Every window's end trims the cache to its budget, oldest first.  A
 * class keeps its last page even when empty, so alloc/free ping-pong never
 * reaches the system.
 *
 * Tools: every state change of a block is reported through src/track.h
 * (ASan poisoning or valgrind mempool requests); the allocator touches free
 * memory only to write or follow a free-list link (bytes 4-7) and to read a
 * mark (word 1: walks, owns, the free path's check), and opens exactly
 * that word to the tool for it.  Bytes 0-3 stay the owner's (the object's
 * count: a decref of a freed object cannot corrupt a free list).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#endif

#include "internal.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>


typedef rc__block block;
typedef rc__page page;
typedef rc__segment segment;

static const uint32_t class_size[NCLASSES] = {
     16,  32,  48,  64,  80,  96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
    272, 288, 304, 320, 336, 352, 368, 384, 400, 416, 432, 448, 464, 480, 496, 512,
    528,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
    5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* Slow paths stay out of line, so the fast paths need no saved registers. */
#define SLOW __attribute__((noinline, cold))

static inline size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

static inline char *page_start(segment *s, unsigned i)
{
    return (char *)s + ((size_t)i << PG_SHIFT);
}

/* Where the blocks of small page i start: page 0 opens with the segment
 * header (SEG_HDR bytes). */
static inline char *blocks_start(segment *s, unsigned i)
{
    return page_start(s, i) + (i ? 0 : SEG_HDR);
}

/* The bytes of small page i that the system backs for its blocks (what
 * `committed` counts for it): page 0's first hdr_bytes are the header's,
 * counted with the segment. */
static inline size_t page_bytes(const rc__alloc *a, unsigned i)
{
    return i ? PG_SIZE : PG_SIZE - a->hdr_bytes;
}

/* Whether p (in page pg, below its bump) is where a block starts.  The
 * division is paid out of line only (rc__free_block, rc__alloc_owns): the
 * inline free trusts its caller, the object layer, which computes p from a
 * live object's header. */
static inline bool is_block_start(segment *s, const page *pg, const void *p)
{
    const char *b0 = blocks_start(s, pg->index);
    return (const char *)p >= b0 && (size_t)((const char *)p - b0) % pg->bsize == 0;
}

static inline unsigned class_of(size_t size)
{
    if (size <= FINE_MAX)
        return size ? (unsigned)((size - 1) >> 4) : 0;
    size_t s = size - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll((unsigned long long)s);
    return 33u + (b - 9u) * 4u + (unsigned)((s >> (b - 2u)) & 3u);
}

/* ------------------------------------------------------------------ */
/* The system: mapping, unmapping, decommitting                        */
/* ------------------------------------------------------------------ */

/* size bytes aligned to SEG_SIZE, or NULL.  First try just below the last
 * segment (mmap hands out addresses top-down, so that range is usually
 * free and one syscall suffices); else over-map and trim. */
static char *map_aligned(rc__alloc *a, size_t size)
{
    const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    size_t span = round_up(size, SEG_SIZE);
    if (a->hint > span) {
        void *want = (void *)(a->hint - span);
        void *p = mmap(want, size, prot, flags, -1, 0);
        if (p != MAP_FAILED && ((uintptr_t)p & SEG_MASK) == 0) {
            a->hint = (uintptr_t)p;
            return p;
        }
        if (p != MAP_FAILED)
            munmap(p, size);
    }
    size_t over = size + SEG_SIZE - a->os_page;
    char *raw = mmap(NULL, over, prot, flags, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *start = (char *)round_up((uintptr_t)raw, SEG_SIZE);
    size_t lead = (size_t)(start - raw), trail = over - lead - size;
    if (lead)
        munmap(raw, lead);
    if (trail)
        munmap(start + size, trail);
    a->hint = (uintptr_t)start;
    return start;
}

/* Asks for transparent huge pages (where the system leaves that to
 * madvise): one page fault backs 2 MiB instead of 4 KiB, and first touches
 * were most of the kernel time of programs that build large structures
 * (GCBench with collection off: 11,760 faults, 0.135 s of sys, against
 * 3,630 and 0.06 s).  Only for a heap's second and later segments and big
 * blocks of at least 2 MiB, so that a small heap's resident memory stays
 * small.  A purge of part of a huge page splits it for good (decommit says
 * how purges avoid that).  The price: a heap's newest huge page is resident
 * whole before its pages are used, up to 2 MiB per heap (docs/DESIGN.md has
 * the measured alternative, pages backed as they are taken, and why it
 * lost).  Whether it asked. */
static bool huge_pages(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    return size >= ((size_t)2 << 20) && madvise(p, size, MADV_HUGEPAGE) == 0;
#else
    (void)p;
    (void)size;
    return false;
#endif
}

static void unmap(void *p, size_t size)
{
    rc__track_unmap(p, size);
    munmap(p, size);
}

/* A segment's upper 2 MiB half: pages 32-63. */
#define UPPER_HALF (~(uint64_t)0 << (PAGES / 2))

/* Whether s is huge-paged and no page of its upper half is in use: the
 * half can go back whole (decommit). */
static inline bool upper_half_free(const segment *s)
{
    return s->huge && (s->free_mask & UPPER_HALF) == UPPER_HALF;
}

/* The backed empty pages `mask` of small segment s went back to the
 * system: they stop counting as backed (dirty, committed), and the purge
 * delay remembers them (a->purged, dirty_budget). */
static void forget_dirty(rc__alloc *a, segment *s, uint64_t mask)
{
    size_t n = (size_t)__builtin_popcountll(mask);
    s->dirty_mask &= ~mask;
    a->dirty -= n;
    a->committed -= n * PG_SIZE - ((mask & 1) ? a->hdr_bytes : 0); /* page_bytes */
    a->purged += n;
}

/* Gives the memory of `run`, adjacent free pages of small segment s, back
 * (page 0's without the header's OS pages); their next touch reads zeros.
 * Those of them that were backed empty pages (dirty) stop being so, and
 * the purge delay remembers them (dirty_budget).
 *
 * In a segment backed by huge pages, a run that reaches into a wholly free
 * upper half takes the whole half with it.  Returning part of a huge page
 * splits it: the kernel then backs the rest of the half, and every later
 * touch of it, 4 KiB per fault, while returning the whole 2 MiB frees its
 * page table too, so that the next touch is one huge fault again (bench/
 * alloc.c's cases, one process, each ending with every page empty: 2,300
 * 4 KiB faults per 1M-object case, before).  The lower half holds the
 * header, so returning its pages splits it whatever the run; trim_dirty
 * takes wholly free upper halves and empty segments first for this reason. */
static void decommit(rc__alloc *a, segment *s, uint64_t run)
{
    if ((run & UPPER_HALF) && upper_half_free(s))
        run |= UPPER_HALF;
    unsigned i = (unsigned)__builtin_ctzll(run);
    unsigned n = 64u - (unsigned)__builtin_clzll(run) - i;
    char *p = page_start(s, i);
    size_t size = (size_t)n << PG_SHIFT;
    if (i == 0) {
        p += a->hdr_bytes;
        size -= a->hdr_bytes;
    }
    madvise(p, size, MADV_DONTNEED);
    forget_dirty(a, s, run & s->dirty_mask);
}

/* ------------------------------------------------------------------ */
/* The segment table: sorted by address, for owns() and walks           */
/* ------------------------------------------------------------------ */

/* The index of the first segment at or above addr. */
static size_t find_slot(const rc__alloc *a, uintptr_t addr)
{
    size_t lo = 0, hi = a->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)a->segs[mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static segment *find_segment(const rc__alloc *a, uintptr_t base)
{
    size_t i = find_slot(a, base);
    return i < a->nsegs && (uintptr_t)a->segs[i] == base ? a->segs[i] : NULL;
}

/* Room for one more entry, so insertion cannot fail after mapping. */
static bool reserve_slot(rc__alloc *a)
{
    if (a->nsegs < a->capsegs)
        return true;
    size_t cap = a->capsegs ? a->capsegs * 2 : 8;
    segment **v = realloc(a->segs, cap * sizeof *v);
    if (!v)
        return false;
    a->segs = v;
    a->capsegs = cap;
    return true;
}

static void insert_segment(rc__alloc *a, segment *s)
{
    size_t i = find_slot(a, (uintptr_t)s);
    memmove(&a->segs[i + 1], &a->segs[i], (a->nsegs - i) * sizeof *a->segs);
    a->segs[i] = s;
    a->nsegs++;
}

static void remove_segment(rc__alloc *a, segment *s)
{
    size_t i = find_slot(a, (uintptr_t)s);
    memmove(&a->segs[i], &a->segs[i + 1], (a->nsegs - i - 1) * sizeof *a->segs);
    a->nsegs--;
    if (a->filling == s)
        a->filling = NULL;
}

/* ------------------------------------------------------------------ */
/* Segments and pages                                                  */
/* ------------------------------------------------------------------ */

static segment *new_segment(rc__alloc *a)
{
    if (!reserve_slot(a))
        return NULL;
    segment *s = (segment *)map_aligned(a, SEG_SIZE);
    if (!s)
        return NULL;
    s->huge = a->nsegs > 0 && huge_pages(s, SEG_SIZE);
    s->owner = a->owner;
    s->alloc = a;
    s->size = SEG_SIZE;
    s->free_mask = ~(uint64_t)0;
    for (unsigned i = 0; i < PAGES; i++)
        s->pages[i].index = (uint8_t)i;
    rc__track_mem_noaccess((char *)s + SEG_HDR, SEG_SIZE - SEG_HDR);
    insert_segment(a, s);
    a->committed += a->hdr_bytes;
    a->empty_segs++;
    return s;
}

/* The fullest small segment with a free page (pymalloc's heuristic) —
 * with a backed one, while any segment has one (reusing it costs no page
 * fault, and committing another would let the backed ones pile up) — or a
 * new one.  The choice sticks until that segment has no such page left. */
static segment *segment_for_page(rc__alloc *a)
{
    segment *s = a->filling;
    if (s && (a->dirty ? s->dirty_mask : s->free_mask))
        return s;
    s = NULL;
    for (size_t i = 0; i < a->nsegs; i++) {
        segment *t = a->segs[i];
        if (!t->big && (a->dirty ? t->dirty_mask : t->free_mask) &&
            (!s || t->used_pages > s->used_pages))
            s = t;
    }
    if (!s)
        s = new_segment(a);
    a->filling = s;
    return s;
}

static void purge_tick(rc__alloc *a);
static void trim_big_cache(rc__alloc *a);

/* A fresh mapping of n pages' worth while pages returned lately are owed
 * (a->purged): a refault, which teaches the purge delay to hold n more. */
static void refaulted(rc__alloc *a, size_t n)
{
    size_t k = n < a->purged ? n : a->purged;
    a->purged -= k;
    a->hold += k;
}

/* A fresh page for class c, not yet queued; NULL if the system refuses. */
static page *take_page(rc__alloc *a, unsigned c)
{
    purge_tick(a);
    segment *s = segment_for_page(a);
    if (!s)
        return NULL;
    uint64_t m = s->free_mask & s->dirty_mask;
    bool dirty = m != 0;
    if (!dirty)
        m = s->free_mask;
    unsigned i = (unsigned)__builtin_ctzll(m);
    uint64_t bit = (uint64_t)1 << i;
    s->free_mask &= ~bit;
    if (dirty) {
        s->dirty_mask &= ~bit;
        a->dirty--;
        a->reused++;
    } else {
        a->committed += page_bytes(a, i);
        refaulted(a, 1);
    }
    if (s->used_pages++ == 0)
        a->empty_segs--;

    page *pg = &s->pages[i];
    size_t bs = class_size[c];
    char *start = blocks_start(s, i);
    size_t cap = (size_t)(page_start(s, i) + PG_SIZE - start) / bs;
    pg->free = NULL;
    pg->bump = start;
    pg->end = start + (size_t)cap * bs;
    pg->prev = pg->next = NULL;
    pg->bsize = bs;
    pg->used = 0;
    pg->capacity = (uint16_t)cap;
    pg->cls = (uint8_t)c;
    pg->queued = false;
    pg->big = false;
    pg->epoch = a->epoch;
    return pg;
}

static void unmap_small(rc__alloc *a, segment *s)
{
    remove_segment(a, s);
    forget_dirty(a, s, s->dirty_mask);
    a->committed -= a->hdr_bytes;
    a->empty_segs--;
    unmap(s, s->size);
}

/* Empty pages kept backed for reuse (the purge delay): the largest of
 *   DIRTY_MAX;
 *   a quarter of the bytes in live blocks — a heap that shrank for good
 *     holds at most a quarter more than it uses;
 *   a->hold, learned: every page returned and then needed again (a
 *     refault: take_page commits a page while a->purged > 0) adds one.  A
 *     program that drops a large structure and builds another (binary-
 *     trees) thus stops returning and refaulting its pages after the first
 *     round, while one that frees 90% and never comes back has learned
 *     nothing and gets its memory back at once.
 * The hold decays: at the end of every window of HOLD_WINDOW_NS (checked on
 * the slow paths that take and release pages, with a coarse clock) it
 * becomes the larger of half itself and the backed empty pages the window
 * reused, and a->purged halves; so once a program stops reusing pages, its
 * surplus goes back in batches within a few windows of its next page
 * release (an allocator that sees no event holds what it holds). */
static size_t dirty_budget(const rc__alloc *a)
{
    size_t b = a->in_use / 4 / PG_SIZE;
    if (b < a->hold) b = a->hold;
    return b > DIRTY_MAX ? b : DIRTY_MAX;
}

/* Bytes of freed big segments kept for reuse (the big cache): the larger of
 * BIG_CACHE_BYTES and the purge delay's budget — so a program that frees
 * many buffers at once and allocates them again (a collection of request
 * cycles holding 64 KiB buffers, bench/balloon.c's server) learns to keep
 * them, as it learns to keep small pages, instead of unmapping and mapping
 * (and faulting in) each one again. */
static size_t big_cache_budget(const rc__alloc *a)
{
    size_t b = dirty_budget(a) * PG_SIZE;
    return b > BIG_CACHE_BYTES ? b : BIG_CACHE_BYTES;
}

static uint64_t coarse_ns(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether empty small segment s goes back to the system whole rather than
 * page by page: unless it is the only empty one and not backed by huge
 * pages (that one is kept, to spare a small heap map/unmap churn; a huge-
 * paged one kept would be split, its next use faulted 4 KiB at a time). */
static bool unmap_when_empty(const rc__alloc *a, const segment *s)
{
    return s->huge || a->empty_segs > 1;
}

/* Returns empty pages to the system until at most `target` stay backed:
 * first empty segments, unmapped whole; then the wholly free upper halves
 * of huge-paged segments, whole (decommit); then runs of adjacent pages, in
 * address order, one call each. */
static void trim_dirty(rc__alloc *a, size_t target)
{
    for (size_t k = 0; k < a->nsegs && a->dirty > target; k++) {
        segment *s = a->segs[k];
        if (!s->big && s->used_pages == 0 && s->dirty_mask && unmap_when_empty(a, s)) {
            unmap_small(a, s);
            k--; /* the table moved down */
        }
    }
    for (size_t k = 0; k < a->nsegs && a->dirty > target; k++) {
        segment *s = a->segs[k];
        if ((s->dirty_mask & UPPER_HALF) && upper_half_free(s))
            decommit(a, s, UPPER_HALF);
    }
    for (size_t k = 0; k < a->nsegs && a->dirty > target; k++) {
        segment *s = a->segs[k];
        while (s->dirty_mask && a->dirty > target) {
            unsigned i = (unsigned)__builtin_ctzll(s->dirty_mask), n = 0;
            uint64_t run = 0;
            while (i + n < PAGES && (s->dirty_mask >> (i + n) & 1) && a->dirty - n > target) {
                run |= (uint64_t)1 << (i + n);
                n++;
            }
            decommit(a, s, run);
        }
    }
}

/* The purge delay's clock (dirty_budget): ends the window if it is over,
 * and trims what the smaller budget no longer covers.  Called where no
 * segment pointer is held (trimming may unmap an empty segment). */
static void purge_tick(rc__alloc *a)
{
    uint64_t now = coarse_ns();
    if (now < a->window_ns + HOLD_WINDOW_NS) return;
    a->window_ns = now;
    size_t half = a->hold / 2;
    a->hold = a->reused > half ? a->reused : half;
    a->reused = 0;
    a->purged /= 2;
    size_t budget = dirty_budget(a);
    if (a->dirty > budget) trim_dirty(a, budget);
    trim_big_cache(a);
}

/* s has no page in use any more: keep it with its backed pages while they
 * are within the budget, else unmap it, or keep it decommitted if
 * !unmap_when_empty. */
static void segment_emptied(rc__alloc *a, segment *s)
{
    if (a->filling == s)
        a->filling = NULL; /* prefer fuller segments from now on */
    if (s->dirty_mask && a->dirty <= dirty_budget(a))
        return;
    if (unmap_when_empty(a, s)) {
        unmap_small(a, s);
        return;
    }
    if (s->dirty_mask)
        decommit(a, s, ~(uint64_t)0);
}

/* pg (used == 0, off its queue) goes back to its segment, backed; past the
 * budget, a small heap returns it to the system at once, a larger one trims
 * its backed pages to half the budget. */
static void release_page(rc__alloc *a, segment *s, page *pg)
{
    unsigned i = pg->index;
    uint64_t bit = (uint64_t)1 << i;
    pg->free = NULL;
    pg->bump = pg->end = NULL;
    pg->bsize = 0;
    pg->capacity = 0;
    s->free_mask |= bit;
    size_t budget = dirty_budget(a);
    bool over = a->dirty >= budget;
    s->dirty_mask |= bit;
    a->dirty++;
    if (over && budget == DIRTY_MAX) {
        decommit(a, s, bit);
        over = false;
    }
    if (--s->used_pages == 0) { /* s may be unmapped from here on */
        a->empty_segs++;
        segment_emptied(a, s);
    }
    if (over)
        trim_dirty(a, budget / 2 > DIRTY_MAX ? budget / 2 : DIRTY_MAX);
    else
        purge_tick(a);
}

/* ------------------------------------------------------------------ */
/* Class queues                                                        */
/* ------------------------------------------------------------------ */

static void set_cur(rc__alloc *a, unsigned c)
{
    a->cur[c] = a->head[c] ? a->head[c] : &a->none;
}

static void push_head(rc__alloc *a, page *pg)
{
    unsigned c = pg->cls;
    pg->prev = NULL;
    pg->next = a->head[c];
    if (pg->next)
        pg->next->prev = pg;
    else
        a->tail[c] = pg;
    a->head[c] = pg;
    pg->queued = true;
    set_cur(a, c);
}

static void push_tail(rc__alloc *a, page *pg)
{
    unsigned c = pg->cls;
    pg->next = NULL;
    pg->prev = a->tail[c];
    if (pg->prev)
        pg->prev->next = pg;
    else
        a->head[c] = pg;
    a->tail[c] = pg;
    pg->queued = true;
    set_cur(a, c);
}

static void unlink_page(rc__alloc *a, page *pg)
{
    unsigned c = pg->cls;
    if (pg->prev)
        pg->prev->next = pg->next;
    else
        a->head[c] = pg->next;
    if (pg->next)
        pg->next->prev = pg->prev;
    else
        a->tail[c] = pg->prev;
    pg->prev = pg->next = NULL;
    pg->queued = false;
    set_cur(a, c);
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/* The head of queue[c] has no room: retire it as full and make the fullest
 * of the next few queued pages the head (so emptier pages can drain), or
 * take a new page.  Every queued page but the head has room. */
SLOW static page *next_page(rc__alloc *a, unsigned c)
{
    page *pg = a->head[c];
    if (pg)
        unlink_page(a, pg);
    pg = a->head[c];
    if (pg) {
        page *best = pg;
        int looked = 0;
        for (page *q = pg->next; q && looked < 8; q = q->next, looked++)
            if (q->used > best->used)
                best = q;
        if (best != pg) {
            unlink_page(a, best);
            push_head(a, best);
        }
        return best;
    }
    pg = take_page(a, c);
    if (pg)
        push_head(a, pg);
    return pg;
}

/* A big segment of `bytes` in the purge delay's unit, pages, rounded up: a
 * 64 KiB buffer's segment (a page and a header) counts two, which teaches
 * the hold about twice what a refault of it costs.  Counting bytes instead
 * was measured (bench/balloon.c --case=server, 3 runs): 118,737 -> 136,502
 * page faults, the hold then learning half as fast; kept as it is. */
static size_t big_pages(size_t bytes)
{
    return round_up(bytes, PG_SIZE) >> PG_SHIFT;
}

/* s leaves the big cache (to be reused or unmapped). */
static void uncache_big(rc__alloc *a, segment *s)
{
    if (s->newer)
        s->newer->older = s->older;
    else
        a->big_newest = s->older;
    if (s->older)
        s->older->newer = s->newer;
    else
        a->big_oldest = s->newer;
    a->nbig_cache--;
    a->big_cache_bytes -= s->size;
}

/* A freed big segment goes back to the system; the purge delay remembers
 * its pages, as it does small pages' (dirty_budget), if the cache could
 * have kept it. */
static void unmap_big(rc__alloc *a, segment *s)
{
    a->committed -= s->size;
    if (s->size <= BIG_CACHE_MAX)
        a->purged += big_pages(s->size);
    unmap(s, s->size);
}

/* Unmaps the oldest cached big segments until the cache is within its
 * budget. */
static void trim_big_cache(rc__alloc *a)
{
    size_t budget = big_cache_budget(a);
    while (a->big_oldest && a->big_cache_bytes > budget) {
        segment *s = a->big_oldest;
        uncache_big(a, s);
        unmap_big(a, s);
    }
}

SLOW static void *alloc_big(rc__alloc *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t map = round_up(BIG_HDR + size, a->os_page);
    /* Of the BIG_CACHE_SCAN newest cached segments, the smallest that fits,
     * wastes at most half and keeps within the limit; else a fresh mapping
     * of just the size asked. */
    segment *s = NULL;
    int looked = 0;
    for (segment *c = a->big_newest; c && looked < BIG_CACHE_SCAN; c = c->older, looked++) {
        size_t cb = c->pages[0].bsize;
        if (cb >= size && cb / 2 <= size && a->in_use + cb <= a->limit &&
            (!s || cb < s->pages[0].bsize))
            s = c;
    }
    if (s)
        map = s->size;
    size_t usable = map - BIG_HDR;
    if (a->in_use + usable > a->limit || !reserve_slot(a))
        return NULL;
    if (s) {
        uncache_big(a, s);
        s->pages[0].epoch = a->epoch;
    } else {
        s = (segment *)map_aligned(a, map);
        if (!s)
            return NULL;
        if (map <= BIG_CACHE_MAX)
            refaulted(a, big_pages(map));
        huge_pages(s, map);
        s->owner = a->owner;
        s->alloc = a;
        s->size = map;
        s->big = true;
        page *pg = &s->pages[0];
        pg->bsize = usable;
        pg->epoch = a->epoch;
        pg->capacity = 1;
        pg->cls = BIG_CLASS;
        pg->big = true;
        a->committed += map;
    }
    insert_segment(a, s);
    s->pages[0].used = 1;
    a->in_use += usable;
    a->slow_bytes += usable;
    a->nbig++;
    a->big_bytes += usable;
    block *b = (block *)((char *)s + BIG_HDR);
    rc__track_block_alloc(a, b, usable);
    b->mark = 1;
    return b;
}

void *rc__alloc_block(rc__alloc *a, size_t size)
{
    if (RC_UNLIKELY(++a->calls >= a->fail_at))
        return NULL;
    if (RC_UNLIKELY(size > SMALL_MAX))
        return alloc_big(a, size);
    unsigned c = class_of(size);
    size_t bs = class_size[c];
    if (RC_UNLIKELY(a->in_use + bs > a->limit))
        return NULL;
    uint32_t n = a->tcn[c];
    block *b;
    if (n) {
        b = rc__stack_pop(a, c, n);
    } else {
        b = rc__page_pop(a->cur[c], bs);
        if (RC_UNLIKELY(!b)) {
            page *pg = next_page(a, c);
            if (!pg)
                return NULL;
            b = rc__page_pop(pg, bs);
        }
    }
    a->slow_bytes += bs;
    return rc__block_taken(a, b, bs);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

SLOW static void bad_free(const void *p)
{
#if defined(RC_DEBUG) && RC_DEBUG
    rc__misuse("free of a block that is not live (double free?)", p, false);
#else
    (void)p; /* ignored: the free list stays intact */
#endif
}

SLOW static void free_big(rc__alloc *a, segment *s, void *p)
{
    page *pg = &s->pages[0];
    if (RC_UNLIKELY(p != (char *)s + BIG_HDR || pg->used == 0)) {
        bad_free(p);
        return;
    }
    pg->used = 0;
    a->nbig--;
    a->big_bytes -= pg->bsize;
    rc__block_given(a, p, pg->bsize);
    remove_segment(a, s);
    if (s->size <= BIG_CACHE_MAX && a->big_cache_bytes + s->size <= big_cache_budget(a)) {
        s->older = a->big_newest;
        s->newer = NULL;
        if (s->older)
            s->older->newer = s;
        else
            a->big_oldest = s;
        a->big_newest = s;
        a->nbig_cache++;
        a->big_cache_bytes += s->size;
        return;
    }
    unmap_big(a, s);
}

/* pg has no live block left: its blocks in the class's stack go back to
 * it, so that it can be returned. */
static void uncache_page(rc__alloc *a, page *pg)
{
    unsigned c = pg->cls;
    uint32_t n = a->tcn[c], kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (a->tc[c][i].pg == pg)
            rc__page_push(pg, a->tc[c][i].b);
        else
            a->tc[c][kept++] = a->tc[c][i];
    }
    a->tcn[c] = kept;
}

/* pg got a block back on its free list and was full (off its queue): it is
 * queued again at the tail.  pg has no live block left: it is returned to
 * its segment, unless it is its class's only queued page. */
SLOW void rc__page_changed(rc__alloc *a, page *pg)
{
    if (pg->used == 0)
        uncache_page(a, pg);
    if (!pg->queued && pg->free)
        push_tail(a, pg);
    if (pg->used == 0 && !(a->head[pg->cls] == pg && pg->next == NULL)) {
        unlink_page(a, pg);
        release_page(a, rc__segment_of(pg), pg);
    }
}

void rc__free_block(void *p)
{
    segment *s = rc__segment_of(p);
    rc__alloc *a = s->alloc;
    if (RC_UNLIKELY(s->big)) { /* (pages[i > 0] of a big segment is user data) */
        free_big(a, s, p);
        return;
    }
    page *pg = rc__page_of(s, p);
    if (RC_UNLIKELY(!pg->bsize || (char *)p >= pg->bump || !is_block_start(s, pg, p) ||
                    !rc__block_live(p))) {
        bad_free(p);
        return;
    }
    uint32_t n = a->tcn[pg->cls];
    if (n < TC_MAX) rc__free_to_stack(a, pg, p, pg->cls, n);
    else rc__free_to_page(a, pg, p);
}

/* ------------------------------------------------------------------ */
/* Reading pages: live blocks, stacked blocks                          */
/* ------------------------------------------------------------------ */

/* A live block that is a buffer (its mark says so: internal.h, buf.c). */
static inline bool is_buffer(const void *b)
{
    return ((const block *)b)->mark == RC__BLOCK_BUF;
}

/* Calls fn on every live block of small page i of s (buffers skipped if
 * objects_only), in address order, until it returns non-zero; returns that.
 * Only blocks below the bump pointer have ever been handed out, and each
 * has a mark. */
static int walk_page(segment *s, unsigned i, int (*fn)(void *block, void *arg), void *arg,
                     bool objects_only)
{
    page *pg = &s->pages[i];
    for (char *b = blocks_start(s, i); b < pg->bump; b += pg->bsize) {
        if (!rc__block_live((block *)b) || (objects_only && is_buffer(b)))
            continue;
        int r = fn(b, arg);
        if (r)
            return r;
    }
    return 0;
}

#if defined(RC_DEBUG) && RC_DEBUG
/* Blocks of pg sitting in its class's stack. */
static size_t stacked(const rc__alloc *a, const page *pg)
{
    size_t n = 0;
    for (uint32_t t = 0; t < a->tcn[pg->cls]; t++)
        n += a->tc[pg->cls][t].pg == pg;
    return n;
}

static int count_block(void *b, void *arg)
{
    (void)b;
    (*(size_t *)arg)++;
    return 0;
}
#endif

/* ------------------------------------------------------------------ */
/* Whole-allocator validation (debug builds)                           */
/* ------------------------------------------------------------------ */

#if defined(RC_DEBUG) && RC_DEBUG
#define VALID(cond)                                                         \
    do { if (!(cond)) invalid(__LINE__, #cond); } while (0)

SLOW static void invalid(int line, const char *what)
{
    fprintf(stderr, "recycle: allocator invariant broken (alloc.c:%d): %s\n",
            line, what);
    abort();
}

static size_t free_list_length(const page *pg)
{
    segment *s = rc__segment_of(pg); /* its descriptor is in the header */
    size_t n = 0, first = (size_t)(blocks_start(s, pg->index) - page_start(s, pg->index));
    for (block *b = pg->free; b; n++) {
        rc__track_mem_defined(&b->next, sizeof b->next + sizeof b->mark);
        uint32_t link = b->next;
        VALID(b->mark == 0);
        VALID(link == 0 || (link - 1 >= first && (link - 1 - first) % pg->bsize == 0));
        rc__track_mem_noaccess(&b->next, sizeof b->next + sizeof b->mark);
        b = link ? (block *)(page_start(rc__segment_of(b), pg->index) + link - 1) : NULL;
    }
    return n;
}

/* Checks every invariant of the essay at the top; O(heap).  Run by
 * rc__alloc_stats and rc__alloc_walk in debug builds. */
static void validate(const rc__alloc *a)
{
    size_t in_use = 0, committed = 0, dirty = 0, empty = 0, unbacked_empty = 0;
    for (size_t k = 0; k < a->nsegs; k++) {
        segment *s = a->segs[k];
        VALID(k == 0 || a->segs[k - 1] < s);
        VALID(s->alloc == a && s->owner == a->owner);
        if (s->big) {
            committed += s->size;
            VALID(s->pages[0].used == 1);
            in_use += s->pages[0].bsize;
            continue;
        }
        committed += a->hdr_bytes;
        uint32_t used_pages = 0;
        VALID((s->dirty_mask & ~s->free_mask) == 0);
        for (unsigned i = 0; i < PAGES; i++) {
            const page *pg = &s->pages[i];
            uint64_t bit = (uint64_t)1 << i;
            if (!pg->bsize) {
                VALID(s->free_mask & bit);
                if (s->dirty_mask & bit) {
                    committed += page_bytes(a, i);
                    dirty++;
                }
                continue;
            }
            VALID(!(s->free_mask & bit));
            VALID(pg->end - (size_t)pg->capacity * pg->bsize == blocks_start(s, i));
            VALID(pg->end <= page_start(s, i) + PG_SIZE);
            used_pages++;
            committed += page_bytes(a, i);
            size_t live = 0, cached = stacked(a, pg);
            walk_page(s, i, count_block, &live, false);
            VALID(live == pg->used);
            VALID(pg->used || !cached);
            size_t unbumped = (size_t)(pg->end - pg->bump) / pg->bsize;
            VALID(pg->used + cached + free_list_length(pg) + unbumped == pg->capacity);
            VALID(pg->queued || (!pg->free && pg->bump == pg->end));
            in_use += pg->used * pg->bsize;
        }
        VALID(used_pages == s->used_pages);
        empty += used_pages == 0;
        if (used_pages == 0 && !s->dirty_mask) {
            VALID(!s->huge);
            unbacked_empty++;
        }
    }
    size_t ncached = 0, cached_bytes = 0;
    for (const segment *s = a->big_newest; s; s = s->older) {
        VALID(s->big && s->pages[0].used == 0 && s->size <= BIG_CACHE_MAX);
        VALID(s->older ? s->older->newer == s : a->big_oldest == s);
        ncached++;
        cached_bytes += s->size;
    }
    VALID(ncached == a->nbig_cache && cached_bytes == a->big_cache_bytes);
    committed += a->big_cache_bytes;
    VALID(in_use == a->in_use);
    VALID(committed == a->committed);
    VALID(dirty == a->dirty);
    VALID(empty == a->empty_segs);
    VALID(unbacked_empty <= 1);
    VALID(a->tcn[BIG_CLASS] == TC_MAX);
    for (unsigned c = 0; c < NCLASSES; c++) {
        VALID(a->tcn[c] <= TC_MAX);
        for (uint32_t t = 0; t < a->tcn[c]; t++) {
            const rc__cached *k = &a->tc[c][t];
            VALID(k->pg == rc__page_of(rc__segment_of(k->b), k->b));
            VALID(k->pg->cls == c && !rc__block_live(k->b));
        }
        VALID(a->cur[c] == (a->head[c] ? a->head[c] : &a->none));
        const page *prev = NULL;
        for (const page *pg = a->head[c]; pg; prev = pg, pg = pg->next) {
            VALID(pg->queued && pg->cls == c && pg->prev == prev && pg->bsize);
            VALID(pg == a->head[c] || pg->free || pg->bump < pg->end);
        }
        VALID(a->tail[c] == prev);
    }
}
#else
#define validate(a) ((void)(a))
#endif

/* ------------------------------------------------------------------ */
/* Lookups                                                             */
/* ------------------------------------------------------------------ */

size_t rc__block_size(const void *p)
{
    segment *s = rc__segment_of(p);
    return rc__page_of(s, p)->bsize;
}

size_t rc__alloc_in_use(const rc__alloc *a)
{
    return a->in_use;
}

const size_t *rc__alloc_in_use_ptr(const rc__alloc *a)
{
    return &a->in_use;
}

uint64_t rc__alloc_slow_bytes(const rc__alloc *a)
{
    return a->slow_bytes;
}

/* The fast path's gate: anything that must see an allocation (the limit,
 * the heap's byte trigger, fault injection) closes it early. */
static void update_gate(rc__alloc *a)
{
    size_t g = a->limit < a->soft_gate ? a->limit : a->soft_gate;
    a->gate = a->fail_at != UINT64_MAX ? 0 : g;
}

void rc__alloc_set_limit(rc__alloc *a, size_t limit)
{
    a->limit = limit ? limit : SIZE_MAX;
    update_gate(a);
}

void rc__alloc_set_gate(rc__alloc *a, size_t bytes)
{
    a->soft_gate = bytes;
    update_gate(a);
}

void rc__alloc_set_watched(rc__alloc *a, bool on)
{
    a->watched = on;
}

/* Reads nothing outside the allocator's own headers until the segment
 * table has vouched for the address. */
bool rc__alloc_owns(const rc__alloc *a, const void *p)
{
    uintptr_t u = (uintptr_t)p;
    if (!a || !p || (u & 15))
        return false;
    segment *s = find_segment(a, u & ~(uintptr_t)SEG_MASK);
    if (!s)
        return false;
    if (s->big)
        return u == (uintptr_t)s + BIG_HDR && s->pages[0].used == 1;
    size_t i = (u - (uintptr_t)s) >> PG_SHIFT;
    const page *pg = &s->pages[i];
    if (!pg->bsize || (const char *)p >= pg->bump || !is_block_start(s, pg, p))
        return false;
    return rc__block_live((block *)p);
}

/* Whether a page was given out before the walk that started at epoch e. */
static inline bool born_before(const page *pg, uint64_t e)
{
    return pg->epoch < e;
}

/* Objects only: buffers' blocks are skipped.  Segments are visited in
 * address order, each found afresh by binary search, so fn may allocate;
 * it must not free.  Pages given out after the
 * walk began are skipped, so a walk whose fn allocates still ends: it sees
 * at most the blocks that fit in the pages that existed when it began, and
 * a block allocated during the walk may or may not be visited. */
int rc__alloc_walk(rc__alloc *a, int (*fn)(void *block, void *arg), void *arg)
{
    uint64_t e = ++a->epoch;
    uintptr_t next = 0;
    validate(a);
    for (;;) {
        size_t k = find_slot(a, next);
        if (k >= a->nsegs)
            return 0;
        segment *s = a->segs[k];
        next = (uintptr_t)s + 1;
        if (s->big) {
            if (s->pages[0].used && born_before(&s->pages[0], e) &&
                !is_buffer((char *)s + BIG_HDR)) {
                int r = fn((char *)s + BIG_HDR, arg);
                if (r)
                    return r;
            }
            continue;
        }
        for (unsigned i = 0; i < PAGES; i++) {
            if (!s->pages[i].bsize || !born_before(&s->pages[i], e))
                continue;
            int r = walk_page(s, i, fn, arg, true);
            if (r)
                return r;
        }
    }
}

/* The fields of rc_memory_stats (include/recycle.h), as filled here:
 *   bytes_in_use   Σ block size of live blocks, headers included: what the
 *                  limit is checked against (rc__alloc_in_use).
 *   bytes_from_os  mapped memory the allocator holds backed: segment
 *                  headers, pages given to a class, empty pages not yet
 *                  returned (see dirty_budget), big blocks' whole mappings
 *                  and the cached freed big segments.  Address space reserved but
 *                  never touched or returned with MADV_DONTNEED is not
 *                  counted.  Always >= bytes_in_use.
 *   arenas_in_use  segments mapped: small ones (including empty ones
 *                  kept), big ones, and the cached freed big ones.
 *   pools_in_use   pages (64 KiB) holding at least one live block.
 *   large_objects  live blocks larger than the largest class (16 KiB);
 *   large_bytes    their block sizes (also counted in bytes_in_use).
 *   fragmentation  1 - bytes_in_use / bytes_from_os (0 when nothing is held).
 *   nclasses, classes[]  one entry per size class that has a page, smallest
 *                  first (at most RC_MEM_CLASSES): block_size (header
 *                  included), blocks_in_use, and blocks_free = blocks that
 *                  still fit in that class's pages (free list, class
 *                  stack and unused tail).
 *                  Σ block_size × blocks_in_use + large_bytes == bytes_in_use.
 */
void rc__alloc_stats(const rc__alloc *a, rc_memory_stats *out)
{
    size_t used[NCLASSES] = {0}, avail[NCLASSES] = {0};
    bool present[NCLASSES] = {false};
    validate(a);
    memset(out, 0, sizeof *out);
    out->bytes_in_use = a->in_use;
    out->bytes_from_os = a->committed;
    out->arenas_in_use = a->nsegs + a->nbig_cache;
    out->large_objects = a->nbig;
    out->large_bytes = a->big_bytes;
    for (size_t k = 0; k < a->nsegs; k++) {
        const segment *s = a->segs[k];
        if (s->big)
            continue;
        for (unsigned i = 0; i < PAGES; i++) {
            const page *pg = &s->pages[i];
            if (!pg->bsize)
                continue;
            present[pg->cls] = true;
            used[pg->cls] += pg->used;
            avail[pg->cls] += pg->capacity - pg->used;
            out->pools_in_use += pg->used > 0;
        }
    }
    for (unsigned c = 0; c < NCLASSES && out->nclasses < RC_MEM_CLASSES; c++) {
        if (!present[c])
            continue;
        size_t n = out->nclasses++;
        out->classes[n].block_size = class_size[c];
        out->classes[n].blocks_in_use = used[c];
        out->classes[n].blocks_free = avail[c];
    }
    out->fragmentation = a->committed
        ? 1.0 - (double)a->in_use / (double)a->committed : 0.0;
}

/* ------------------------------------------------------------------ */
/* Birth and death                                                     */
/* ------------------------------------------------------------------ */

rc__alloc *rc__alloc_new(rc_heap *owner, size_t limit, unsigned long fail_after)
{
    rc__alloc *a = aligned_alloc(alignof(rc__alloc), round_up(sizeof *a, alignof(rc__alloc)));
    if (!a)
        return NULL;
    memset(a, 0, sizeof *a);
    long ps = sysconf(_SC_PAGESIZE);
    a->os_page = ps > 0 ? (size_t)ps : 4096;
    a->hdr_bytes = round_up(sizeof(segment), a->os_page);
    a->owner = owner;
    a->limit = limit ? limit : SIZE_MAX;
    a->fail_at = fail_after ? (uint64_t)fail_after : UINT64_MAX;
    a->soft_gate = SIZE_MAX;
    a->window_ns = coarse_ns();
    update_gate(a);
    a->none.bump = a->none.end = (char *)&a->none;
    for (unsigned c = 0; c < NCLASSES; c++)
        a->cur[c] = &a->none;
    a->tcn[BIG_CLASS] = TC_MAX;
    rc__track_pool_new(a);
    return a;
}

void rc__alloc_destroy(rc__alloc *a)
{
    if (!a)
        return;
    rc__track_pool_destroy(a);
    for (size_t i = 0; i < a->nsegs; i++)
        unmap(a->segs[i], a->segs[i]->size);
    for (segment *s = a->big_newest, *next; s; s = next) {
        next = s->older;
        unmap(s, s->size);
    }
    free(a->segs);
    free(a);
}
