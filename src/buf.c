/* buf.c — buffers: storage that belongs to one object (a list's item
 * array, a dict's table, a string's bytes), the rc_buf_* calls.
 *
 * A buffer is a block of the heap's own allocator (small ones from the size
 * classes, large ones in big segments of their own), so everything that
 * counts blocks counts it with no extra step: bytes in use, memory_limit,
 * the adaptive policy's byte trigger, rc_heap_memory_stats, fault
 * injection, ASan poisoning and valgrind's view of the pool (src/track.h).
 * What this file adds is ownership:
 *
 *   block  [ next | RC__BLOCK_BUF | owner | prev ][ the program's bytes ]
 *            word 0  word 1          word 2  word 3  ^ rc_buf_alloc's pointer
 *
 *   h->bufs->owners   owner -> its newest buffer; the owner's buffers form
 *                     a list through next (older) and prev (newer).
 *   h->bufs->plain    owners in that map whose type has no hook (no
 *                     traverse, finalize or release).  rc__dealloc frees
 *                     such objects without looking at the heap unless the
 *                     allocator is `watched`; while plain > 0 it is
 *                     (rc__update_trigger), so that every owner's death
 *                     reaches rc__release_and_free and rc__buf_owner_dies.
 *
 * Invariants: every live buffer is on exactly one owner's list, and its
 * word 2 names that owner; an owner is in the map iff its list is not
 * empty; plain == owners in the map whose type is plain.  Once rc_heap_free
 * has begun (h->dying), nothing is freed one by one (its walk over the
 * blocks must not see them change): rc_buf_free unlinks the buffer and
 * clears its word 2 instead, and the allocator's end frees the block.
 *
 * Lifetime.  The program frees buffers with rc_buf_free, usually from the
 * owner's release.  What an owner still has when it dies — by counting or
 * in a collection — is freed after its release returns, before its block;
 * what is left at rc_heap_free is freed after every release there ran.  So
 * a release may free its buffers or leave them, and may read them either
 * way.
 *
 * Checks.  Every call checks its arguments in every build (rule 4): the
 * owner must be a live object (NULL or misaligned: RC_EINVAL), the buffer a
 * live buffer of that owner (RC_EINVAL: freed twice, never a buffer, or
 * another object's), n > 0 (RC_EINVAL) and representable (RC_ENOMEM).  A
 * buffer is recognised without trusting the pointer: the allocator's
 * segment table vouches for the address (rc__alloc_owns) before word 1 is
 * read.  Debug builds also report these through the misuse handler, naming
 * the owner's type and allocation site.
 */
#include "internal.h"

#include <stdlib.h>

typedef struct bufhdr {
    struct bufhdr *next;  /* word 0: the owner's next older buffer */
    uintptr_t      mark;  /* word 1: RC__BLOCK_BUF while live */
    void          *owner; /* word 2: NULL once freed during rc_heap_free */
    struct bufhdr *prev;  /* word 3: the next newer one; NULL for the newest */
} bufhdr;

_Static_assert(sizeof(bufhdr) == RC__BUF_HDR, "a buffer's header is RC__BUF_HDR bytes");
_Static_assert(offsetof(bufhdr, mark) == offsetof(rc__block, mark),
               "a buffer's mark is the allocator's live mark");

struct rc__bufs {
    rc__pmap owners; /* owner -> (bufhdr *) its newest buffer */
    size_t   plain;  /* owners in the map whose type has no hook */
};

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

/* Debug builds report misuse (release builds only set the error code). */
static void report(const char *op, const char *what, const void *owner, bool is_object)
{
#if RC__PREFIX
    char msg[384];
    snprintf(msg, sizeof msg, "%s: %s", op, what);
    rc__misuse(msg, owner, is_object);
#else
    (void)op;
    (void)what;
    (void)owner;
    (void)is_object;
#endif
}

/* The heap of owner if it is a live object (its release may be running);
 * else NULL with RC_EINVAL. */
static rc_heap *owner_heap(const void *owner, const char *op)
{
    if (!owner || ((uintptr_t)owner & 15) != 0) {
        report(op, "the owner is NULL or not an rc object", owner, false);
        return rc__fail_null(NULL, RC_EINVAL);
    }
#if RC__PREFIX
    uint32_t magic = rc__prefix_of(RC__HEAD(owner))->magic;
    if (magic != RC__MAGIC_LIVE) {
        bool freed = magic == RC__MAGIC_FREED;
        report(op, freed ? "the owner is a freed object" : "the owner is not an rc object",
               owner, freed);
        return rc__fail_null(NULL, RC_EINVAL);
    }
#endif
    rc_heap *h = rc_heap_of(owner);
    const rc__block *blk = rc__block_of(RC__HEAD(owner));
    if (!rc__alloc_owns(h->alloc, blk) || blk->mark == RC__BLOCK_BUF) {
        report(op, "the owner is not a live rc object", owner, false);
        return rc__fail_null(h, RC_EINVAL);
    }
    return h;
}

/* The header of buf if it is a live buffer of owner; else NULL with
 * RC_EINVAL. */
static bufhdr *owned(rc_heap *h, const void *owner, void *buf, const char *op)
{
    bufhdr *b = (bufhdr *)((char *)buf - RC__BUF_HDR);
    if ((uintptr_t)buf < RC__BUF_HDR || !rc__alloc_owns(h->alloc, b) ||
        b->mark != RC__BLOCK_BUF || !b->owner) {
        report(op, "not a live buffer (freed twice?) of", owner, true);
        return rc__fail_null(h, RC_EINVAL);
    }
    if (b->owner != owner) {
#if RC__PREFIX
        char other[200], what[256];
        rc__describe(RC__HEAD(b->owner), other, sizeof other);
        snprintf(what, sizeof what, "the buffer belongs to %s, not to", other);
        report(op, what, owner, true);
#endif
        return rc__fail_null(h, RC_EINVAL);
    }
    return b;
}

/* ------------------------------------------------------------------ */
/* The owners' lists                                                   */
/* ------------------------------------------------------------------ */

static bool plain_type(const rc_type *t)
{
    return !t->traverse && !t->finalize && !t->release;
}

/* plain changed by one; the allocator's watched flag follows it. */
static void plain_changed(rc_heap *h, struct rc__bufs *bs, bool up)
{
    if (up ? bs->plain++ == 0 : --bs->plain == 0) rc__update_trigger(h);
}

static struct rc__bufs *bufs_of(rc_heap *h)
{
    if (!h->bufs) h->bufs = calloc(1, sizeof *h->bufs);
    return h->bufs;
}

/* b becomes owner's newest buffer; RC_ENOMEM if the map cannot grow. */
static int push(rc_heap *h, void *owner, bufhdr *b)
{
    struct rc__bufs *bs = bufs_of(h);
    bool added;
    uint64_t *head = bs ? rc__pmap_put(&bs->owners, (uintptr_t)owner, &added) : NULL;
    if (!head) return RC_ENOMEM;
    b->owner = owner;
    b->prev = NULL;
    b->next = (bufhdr *)(uintptr_t)*head;
    if (b->next) b->next->prev = b;
    *head = (uintptr_t)b;
    if (added && plain_type(rc__type(RC__HEAD(owner)))) plain_changed(h, bs, true);
    return 0;
}

/* b leaves its owner's list. */
static void unlink_buf(rc_heap *h, bufhdr *b)
{
    struct rc__bufs *bs = h->bufs;
    if (b->next) b->next->prev = b->prev;
    if (b->prev) {
        b->prev->next = b->next;
    } else if (b->next) {
        *rc__pmap_get(&bs->owners, (uintptr_t)b->owner) = (uintptr_t)b->next;
    } else {
        rc__pmap_del(&bs->owners, (uintptr_t)b->owner);
        if (plain_type(rc__type(RC__HEAD(b->owner)))) plain_changed(h, bs, false);
    }
}

/* nb takes ob's place in its owner's list. */
static void replace(rc_heap *h, bufhdr *ob, bufhdr *nb)
{
    nb->owner = ob->owner;
    nb->next = ob->next;
    nb->prev = ob->prev;
    if (nb->next) nb->next->prev = nb;
    if (nb->prev) nb->prev->next = nb;
    else *rc__pmap_get(&h->bufs->owners, (uintptr_t)nb->owner) = (uintptr_t)nb;
}

/* An unlinked buffer's block goes back to the allocator — or, while
 * rc_heap_free walks the blocks, waits for the allocator's end. */
static void drop(rc_heap *h, bufhdr *b)
{
    if (RC_UNLIKELY(h->dying)) {
        b->owner = NULL;
        return;
    }
    rc__free_fast(b);
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

static uint64_t collections(const rc_heap *h)
{
    return h->stats[0].collections + h->stats[1].collections + h->stats[2].collections;
}

/* A block of total bytes, as new_object gets one: the adaptive byte
 * trigger and the interval first, then, if the allocator refuses (limit,
 * system, injected fault), one full collection and one retry. */
static bufhdr *new_block(rc_heap *h, size_t total)
{
    if (!h->dying) {
        if (RC_UNLIKELY(*h->in_use > h->byte_trigger)) rc__collect_for_bytes(h);
        if (RC_UNLIKELY(h->interval_ns)) rc__check_interval(h);
    }
    for (int attempt = 0;; attempt++) {
        bufhdr *b = rc__alloc_block(h->alloc, total);
        if (b) {
            b->mark = RC__BLOCK_BUF;
            return b;
        }
        if (attempt > 0 || h->collecting || h->dying) return NULL;
        rc__collect(h, 2, false);
    }
}

static void *buf_realloc(void *owner, void *buf, size_t n, const char *op)
{
    rc_heap *h = owner_heap(owner, op);
    if (!h) return NULL;
    bufhdr *ob = NULL;
    if (buf && !(ob = owned(h, owner, buf, op))) return NULL;
    if (n == 0) {
        report(op, "a size of 0 bytes for", owner, true);
        return rc__fail_null(h, RC_EINVAL);
    }
    if (n > SIZE_MAX / 2 - RC__BUF_HDR) return rc__fail_null(h, RC_ENOMEM);
    size_t total = n + RC__BUF_HDR, have = ob ? rc__block_size(ob) : 0;
    /* In place when it fits, unless it would keep more than twice what is
     * asked (then moving gives memory back). */
    if (total <= have && (total > have / 2 || have <= 64)) return buf;

    uint64_t before = collections(h);
    bufhdr *nb = new_block(h, total);
    /* A finalizer the collection ran may have freed buf. */
    if (ob && collections(h) != before && !owned(h, owner, buf, op)) {
        if (nb) rc__free_fast(nb);
        return NULL;
    }
    if (!nb) {
        if (total <= have) return buf; /* a shrink that could not move */
        return rc__fail_null(h, RC_ENOMEM);
    }
    if (!ob) {
        if (push(h, owner, nb) != 0) {
            rc__free_fast(nb);
            return rc__fail_null(h, RC_ENOMEM);
        }
        return nb + 1;
    }
    size_t keep = have - RC__BUF_HDR;
    memcpy(nb + 1, ob + 1, keep < n ? keep : n);
    replace(h, ob, nb);
    drop(h, ob);
    return nb + 1;
}

void *rc_buf_alloc(void *owner, size_t n)
{
    return buf_realloc(owner, NULL, n, "rc_buf_alloc");
}

void *rc_buf_realloc(void *owner, void *buf, size_t n)
{
    return buf_realloc(owner, buf, n, "rc_buf_realloc");
}

void rc_buf_free(void *owner, void *buf)
{
    if (!buf) return;
    rc_heap *h = owner_heap(owner, "rc_buf_free");
    bufhdr *b = h ? owned(h, owner, buf, "rc_buf_free") : NULL;
    if (!b) return;
    unlink_buf(h, b);
    drop(h, b);
}

/* ------------------------------------------------------------------ */
/* The rest of the library                                             */
/* ------------------------------------------------------------------ */

void rc__buf_owner_dies(rc_heap *h, void *owner)
{
    struct rc__bufs *bs = h->bufs;
    uint64_t *head = rc__pmap_get(&bs->owners, (uintptr_t)owner);
    if (!head) return;
    bufhdr *b = (bufhdr *)(uintptr_t)*head;
    rc__pmap_del(&bs->owners, (uintptr_t)owner);
    if (plain_type(rc__type(RC__HEAD(owner)))) plain_changed(h, bs, false);
    while (b) {
        bufhdr *next = b->next;
        drop(h, b);
        b = next;
    }
}

void rc__buf_heap_free(rc_heap *h)
{
    if (!h->bufs) return;
    rc__pmap_free(&h->bufs->owners);
    free(h->bufs);
    h->bufs = NULL;
}

bool rc__buf_watched(const rc_heap *h)
{
    return h->bufs && h->bufs->plain > 0;
}

static size_t list_bytes(uint64_t head)
{
    size_t bytes = 0;
    for (bufhdr *b = (bufhdr *)(uintptr_t)head; b; b = b->next) bytes += rc__block_size(b);
    return bytes;
}

size_t rc__buf_bytes(const rc_heap *h, const void *owner)
{
    if (!h->bufs) return 0;
    uint64_t *head = rc__pmap_get(&h->bufs->owners, (uintptr_t)owner);
    return head ? list_bytes(*head) : 0;
}

int rc__buf_walk(const rc_heap *h, int (*fn)(void *owner, size_t bytes, void *arg), void *arg)
{
    if (!h->bufs) return 0;
    const rc__pmap *m = &h->bufs->owners;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key) continue;
        int r = fn((void *)m->e[i].key, list_bytes(m->e[i].val), arg);
        if (r) return r;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* rc_heap_check's part                                                */
/* ------------------------------------------------------------------ */

static int add_block(void *block, void *arg)
{
    *(size_t *)arg += rc__block_size(block);
    return 0;
}

void rc__buf_check(const rc_heap *h, void (*bad)(void *arg, const char *what, const void *obj),
                   void *arg)
{
    size_t in_use = rc__alloc_in_use(h->alloc), buffers = 0, plain = 0;
    const rc__pmap *m = h->bufs ? &h->bufs->owners : NULL;
    for (size_t i = 0; m && i < m->cap; i++) {
        void *owner = (void *)m->e[i].key;
        if (!owner) continue;
        const rc__block *blk = rc__block_of(RC__HEAD(owner));
        if (((uintptr_t)owner & 15) != 0 || !rc__alloc_owns(h->alloc, blk) ||
            blk->mark == RC__BLOCK_BUF) {
            bad(arg, "a buffer owner that is no live object of the heap", NULL);
            continue;
        }
        plain += plain_type(rc__type(RC__HEAD(owner)));
        const bufhdr *prev = NULL, *b = (const bufhdr *)(uintptr_t)m->e[i].val;
        if (!b) bad(arg, "buffer owner with no buffer:", owner);
        for (; b; prev = b, b = b->next) {
            if (!rc__alloc_owns(h->alloc, b) || b->mark != RC__BLOCK_BUF) {
                bad(arg, "buffer list holds a block that is no live buffer, owner", owner);
                break;
            }
            if (b->owner != owner) bad(arg, "buffer names another owner than its list's:", owner);
            if (b->prev != prev) bad(arg, "buffer's link to the newer one is wrong, owner", owner);
            buffers += rc__block_size(b);
            if (buffers > in_use) {
                bad(arg, "buffer list does not end, owner", owner);
                break;
            }
        }
    }
    if (m && plain != h->bufs->plain) bad(arg, "count of buffer owners without hooks is wrong", NULL);
    /* Every live block is an object or a buffer on its owner's list. */
    size_t objects = 0;
    rc__alloc_walk(h->alloc, add_block, &objects);
    if (objects + buffers != in_use)
        bad(arg, "bytes in use are not the objects' and the listed buffers' (a buffer on no list?)",
            NULL);
}
