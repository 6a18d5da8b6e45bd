/* retained.c — retained sizes: the dominator tree of the heap.
 *
 * An object's retained set is what would be freed if its holders let go
 * of it: the object and everything only it keeps alive.  That is its
 * subtree in the dominator tree of the heap's graph, rooted at a virtual
 * root R whose successors are the objects held from outside the heap
 * (count above the references heap objects and the garbage list hold:
 * whyalive.c's argument) and the garbage list's objects.  Objects R does
 * not reach (cyclic garbage a collection will free) retain nothing.
 *
 * ==== The algorithm ====
 *
 * Lengauer and Tarjan's semidominators, with simple path compression,
 * then the nearest-common-ancestor step of Georgiadis' SNCA instead of
 * their buckets:
 *
 *   1. count  every object's external references, in its header's gc word
 *             (refcnt minus the references traverse reports);
 *   2. dfs    a depth-first search from R over traverse, numbering the
 *             objects it reaches in preorder (1..n-1; R is 0) and keeping
 *             each one's DFS parent;
 *   3. semi   for w = n-1 down to 1: semi(w) = the least of its
 *             predecessors v < w and of semi(eval(v)) for v > w, eval
 *             being the least semi on v's path in the forest of the
 *             vertices already done;
 *   4. idom   for w = 1 up: idom(w) = the nearest ancestor of parent(w)
 *             in the dominator tree built so far that is <= semi(w);
 *   5. sizes  each vertex's bytes (block and buffers) and 1 object, added
 *             into its idom from the highest number down (idom(w) < w).
 *
 * Step 3 needs each vertex's predecessors, which nothing indexes; the
 * search of step 2 meets every one of them.  Those below a vertex (v < w)
 * each pushed it, and only the least counts: the search keeps it.  Those
 * above (v > w) meet w numbered already, and the search files them in
 * w's list, laid out at w's numbering with room for its count's worth (a
 * vertex R precedes, or with one reference, has semi fixed and no list).
 * So while the lists fit, nothing but the search traverses the heap for
 * step 3.  When they do not, the vertices that needed a list have their
 * predecessors counted and gathered by traversals of step 3's own, into as
 * much memory as the budget leaves: in windows of decreasing numbers, one
 * traversal per window (a vertex with more predecessors than fit is a
 * window of its own whose predecessors are folded in as the traversal
 * meets them).  "2. Depth-first search" below has the details.
 *
 * ==== Memory: at most 32 bytes per object ====
 *
 * While the computation runs, the header's gc word (32 bits) holds each
 * object's state instead of its index in heap->objs — the external count,
 * then UNSEEN / PUSHED | stack position / preorder number — as the
 * collector's own first steps do; dom_free puts the indices back from
 * heap->objs.  So numbering costs no memory.  What is allocated, for n
 * reached objects of N live ones (n <= N + 1):
 *
 *   dfs      parent 4n, semi 4n, cnt 4n, the lists (at most what the
 *            budget leaves once step 3's 12n is set aside, and no more
 *            than the counts of objects with more than one reference
 *            add up to), and the DFS stack: object and pusher, 12 bytes
 *            an entry, at most 2 entries per object still waiting or
 *            numbered with its first entry still on the stack.  The stack
 *            grows into what is left; when that is not enough, the lists
 *            go, then semi and cnt (and the first entries), which leaves
 *            the stack at least 28 bytes per object;
 *   semi     parent 4n, semi 4n, cnt 4n, the forest (ancestor and least
 *            semi) 8n, the compression stack 4n: 24n, and the lists, or
 *            the gathered lists in what is left of the budget (>= 8 bytes
 *            per object);
 *   after    idom 4n, bytes 8n, objects 4n: 16n (the group and dominator
 *            tree walks add 12n: 28n).
 *
 * dom_alloc keeps the account: every allocation goes through it, and one
 * that would take the total past 32 bytes per object (plus DOM_SLACK for
 * small heaps) fails the computation with RC_ENOMEM rather than exceed
 * the bound.  tests/test_retained.c checks the peak.
 *
 * ==== Cost ====
 *
 * Two traversals of the reached objects (count, dfs) while the lists fit,
 * two more otherwise (predecessor counts and lists; one more per extra
 * window), four walks of the allocator's blocks, and near-linear work on
 * arrays.  The time is cache misses: every reference read in a traversal
 * is a random read of its referent's header.  Step 1 keeps RING of them
 * in flight (a prefetch ring, as the collector's); the search cannot
 * reorder its references.  docs/BENCHMARKS.md has the timings
 * (bench/dominators.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <stdlib.h>

#define UNSEEN    UINT32_MAX
#define PUSHED    0x80000000u    /* gc word: PUSHED | stack position */
#define ROOT_BIT  0x80000000u    /* parent[]: R precedes this vertex */
#define SHARED    0x80000000u    /* cnt[]: the vertex needs a list */
#define MAX_VERTS 0x7ffffff0u
#define DOM_SLACK (64u << 10)    /* budget for constant-size state */

/* ------------------------------------------------------------------ */
/* The memory account                                                  */
/* ------------------------------------------------------------------ */

static void *dom_alloc(rc__dom *d, size_t bytes)
{
    if (bytes > d->budget - d->mem) return NULL;
    void *p = malloc(bytes ? bytes : 1);
    if (!p) return NULL;
    d->mem += bytes;
    if (d->mem > d->peak) d->peak = d->mem;
    return p;
}

static void dom_release(rc__dom *d, void *p, size_t bytes)
{
    if (!p) return;
    free(p);
    d->mem -= bytes;
}

/* Grows a block in place of the account (old and new both counted while
 * the copy is made, as realloc may). */
static void *dom_grow(rc__dom *d, void *p, size_t old, size_t bytes)
{
    if (bytes > d->budget - d->mem || old > d->budget - d->mem - bytes) return NULL;
    void *q = realloc(p, bytes);
    if (!q) return NULL;
    if (d->mem + old + bytes > d->peak) d->peak = d->mem + old + bytes;
    d->mem += bytes - old;
    return q;
}

/* ------------------------------------------------------------------ */
/* Objects and what they own                                           */
/* ------------------------------------------------------------------ */

/* Whether p is an object of h that the walks show (safe for any pointer a
 * traverse yields): dying objects (count 0) are left alone, as every
 * whole-heap walk leaves them (rc__walk_objects).  Step 1 asks the
 * allocator about every reference; if each was an object of h (a program
 * that keeps the rules), the later steps, which see the same references,
 * skip that question. */
static inline bool is_object(const rc__dom *d, const void *p)
{
    if (!p) return false;
    if (d->foreign && (((uintptr_t)p & 15) != 0 ||
                       !rc__alloc_owns(d->h->alloc, rc__block_of(RC__HEAD(p)))))
        return false;
    return rc__visible(RC__HEAD(p));
}

/* The bytes obj's holders would get back with it: its block, header and
 * rounding included, and the buffers it owns. */
static uint64_t own_bytes(const rc_heap *h, void *obj)
{
    return rc__block_size(rc__block_of(RC__HEAD(obj))) + rc__buf_bytes(h, obj);
}

/* ------------------------------------------------------------------ */
/* 1. External counts                                                  */
/* ------------------------------------------------------------------ */

static int count_init(void *block, void *arg)
{
    rc__dom *d = arg;
    rc__head *hd = rc__head_of_block(block);
    hd->gc = hd->refcnt;
    d->objects++;
    if (hd->refcnt >= 2) d->shared_refs += hd->refcnt; /* 2.'s lists need no more */
    return 0;
}

/* The references are worked on RING of them later than traverse reports
 * them, their headers prefetched meanwhile: one cache miss per reference is
 * what this step costs, and the ring keeps RING of them in flight. */
#define RING 16u
typedef struct count_ctx {
    rc__dom *d;
    void    *ring[RING];
    size_t   n;        /* references reported (the ring's write position) */
} count_ctx;

static inline void uncount(count_ctx *c, void *p)
{
    if (((uintptr_t)p & 15) != 0 || !rc__alloc_owns(c->d->h->alloc, rc__block_of(RC__HEAD(p)))) {
        c->d->foreign = true; /* not an object of this heap: ignored, and checked from now on */
        return;
    }
    if (rc__visible(RC__HEAD(p)) && RC__HEAD(p)->gc > 0) RC__HEAD(p)->gc--;
}

static int visit_uncount(void **slot, void *arg)
{
    count_ctx *c = arg;
    void *p = *slot;
    if (!p) return 0;
    __builtin_prefetch(RC__HEAD(p), 1, 3);
    void **at = &c->ring[c->n++ % RING];
    if (c->n > RING) uncount(c, *at);
    *at = p;
    return 0;
}

static int count_block(void *block, void *arg)
{
    rc__head *hd = rc__head_of_block(block);
    const rc_type *t = rc__type(hd);
    if (t->traverse) t->traverse(rc__obj_of(hd), visit_uncount, arg);
    return 0;
}

static void count_external(rc__dom *d)
{
    count_ctx c = {.d = d};
    rc__walk_objects(d->h, count_block, &c);
    for (size_t i = c.n > RING ? c.n - RING : 0; i < c.n; i++) uncount(&c, c.ring[i % RING]);
}

/* ------------------------------------------------------------------ */
/* 2. Depth-first search, and the predecessors it meets                */
/* ------------------------------------------------------------------ */
/* The stack holds every object seen but not yet numbered, with the vertex
 * that pushed it; an object pushed again moves to the top, which is what a
 * depth-first search that pushes all of a vertex's successors at once does.
 * Its old entry becomes a hole, unless it is the object's first (tagged
 * FIRST): that one stays, because its pusher is the least predecessor the
 * object has below its own number.  (Every predecessor v < w was expanded
 * before w was numbered, so it pushed w, and pushers come in increasing
 * order.)  Popped after the object was numbered, the first entry gives
 * that pusher to semi: 3. needs nothing else from the predecessors below
 * a vertex.
 *
 * The search records the others too: an edge v -> w meeting a numbered w
 * (w < v, which 3. must evaluate) goes into w's list, laid out in lists[]
 * when w was numbered with room for refcnt(w) - 1 entries: its references
 * bar the tree edge from its parent.  A vertex R precedes, or with one
 * reference, needs no list.  So while the lists fit, the search is the only
 * traversal 3. needs.  Otherwise it gives way, and 3. makes up with
 * traversals of its own what the search no longer keeps:
 *   - the lists do not fit (or the stack needs their memory): they go, and
 *     every vertex that needed one is SHARED, its predecessors counted and
 *     gathered by 3.;
 *   - the stack needs more: semi, cnt and the first entries go too (FULL),
 *     and 3. starts from the DFS parents, every vertex SHARED.
 * A vertex whose list overflows (a traverse that reports more references
 * than the count holds) is SHARED on its own. */

#define FIRST  ((uintptr_t)1) /* stack entry: the object's first (objects are 16-aligned) */
#define LISTED 0x40000000u    /* cnt[]: LISTED | the vertex's list's offset in lists[] */

typedef struct semi_ctx {
    rc__dom  *d;
    uint32_t *semi;    /* 2.: the least pusher (R: 0); 3.: the semidominator */
    uint32_t *cnt;     /* 0: no list; LISTED | offset; SHARED | count (3. gathers) */
    uint32_t *lists;   /* 2.'s lists, each [count][entries...]; NULL once given up */
    size_t    nlists, used; /* their room and use, in entries */
    size_t    vsize;   /* bytes of semi and cnt: (objects + 1) * 4 */
    bool      full;    /* 2. kept nothing: 3. starts from parent[] */
    struct link { uint32_t anc, best; } *link; /* the forest, by vertex */
    uint32_t *cstack;
    uint32_t *preds;   /* 3.'s window of gathered lists */
    size_t    npreds;  /* their room, in entries */
    uint32_t  lo, hi;  /* the window: vertices [lo, hi) */
    uint32_t  cur;     /* the vertex whose successors are visited */
    uint32_t  stream;  /* a vertex done as it is met, or 0 */
    bool      fill;
} semi_ctx;

typedef struct dfs {
    rc__dom  *d;
    semi_ctx *c;
    void    **obj;     /* | FIRST for an object's first entry */
    uint32_t *from;    /* pushing vertex, | ROOT_BIT when R precedes */
    size_t    top, cap, ocap, fcap; /* ocap, fcap: each array's room */
    size_t    max_cap; /* tests: the room before the search gives way (0: the budget's) */
    uint32_t  cur;     /* the vertex being expanded */
    bool      failed;
} dfs;

static void drop_lists(semi_ctx *c)
{
    dom_release(c->d, c->lists, c->nlists * sizeof *c->lists);
    c->lists = NULL;
    c->nlists = c->used = 0;
}

/* The stack needs memory: the lists go first, then semi, cnt and the first
 * entries.  False when nothing is left to give. */
static bool give_way(dfs *s)
{
    semi_ctx *c = s->c;
    if (c->lists) {
        drop_lists(c);
        return true;
    }
    if (c->full) return false;
    dom_release(s->d, c->semi, c->vsize);
    dom_release(s->d, c->cnt, c->vsize);
    c->semi = c->cnt = NULL;
    c->full = true;
    for (size_t i = 0; i < s->top; i++) {
        uintptr_t e = (uintptr_t)s->obj[i];
        if (!(e & FIRST)) continue;
        void *o = (void *)(e & ~FIRST);
        s->obj[i] = RC__HEAD(o)->gc == (PUSHED | (uint32_t)i) ? o : NULL;
    }
    return true;
}

/* Holes out, positions renumbered in the headers of the objects whose
 * entry it is (a first entry below the object's own keeps its place). */
static void dfs_compact(dfs *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->top; i++) {
        void *e = s->obj[i];
        if (!e) continue;
        rc__head *hd = RC__HEAD((void *)((uintptr_t)e & ~FIRST));
        if (hd->gc == (PUSHED | (uint32_t)i)) hd->gc = PUSHED | (uint32_t)k;
        s->obj[k] = e;
        s->from[k] = s->from[i];
        k++;
    }
    s->top = k;
}

static bool dfs_room(dfs *s)
{
    while (s->top >= s->cap) {
        dfs_compact(s);
        if (s->top < s->cap / 2) return true;
        size_t cap = s->cap * 2;
        if (s->c->full || !s->max_cap || cap <= s->max_cap) {
            if (s->ocap < cap) {
                void **o = dom_grow(s->d, s->obj, s->ocap * sizeof *o, cap * sizeof *o);
                if (o) s->obj = o, s->ocap = cap;
            }
            if (s->ocap >= cap && s->fcap < cap) {
                uint32_t *f = dom_grow(s->d, s->from, s->fcap * sizeof *f, cap * sizeof *f);
                if (f) s->from = f, s->fcap = cap;
            }
            if (s->ocap >= cap && s->fcap >= cap) {
                s->cap = cap;
                return true;
            }
        }
        if (!give_way(s)) return false;
    }
    return true;
}

static bool dfs_push(dfs *s, void *obj, uint32_t from, bool first)
{
    if (!dfs_room(s) || s->top >= PUSHED) {
        s->failed = true;
        return false;
    }
    s->obj[s->top] = first && !s->c->full ? (void *)((uintptr_t)obj | FIRST) : obj;
    s->from[s->top] = from;
    RC__HEAD(obj)->gc = PUSHED | (uint32_t)s->top;
    s->top++;
    return true;
}

/* w is numbered now: its semi so far, and room for its list. */
static void number(semi_ctx *c, uint32_t w, uint32_t from, uint32_t refcnt)
{
    bool root = (from & ROOT_BIT) != 0;
    c->semi[w] = root ? 0 : from;
    if (root || refcnt < 2) {
        c->cnt[w] = 0;
        return;
    }
    if (c->lists && refcnt > c->nlists - c->used) drop_lists(c);
    if (!c->lists) {
        c->cnt[w] = SHARED;
        return;
    }
    c->cnt[w] = LISTED | (uint32_t)c->used;
    c->lists[c->used] = 0;
    c->used += refcnt;
}

/* An edge v -> w, w numbered before v. */
static void back_edge(semi_ctx *c, uint32_t w, uint32_t v, uint32_t refcnt)
{
    if (!c->lists || (c->cnt[w] & (SHARED | LISTED)) != LISTED) return;
    uint32_t *l = c->lists + (c->cnt[w] & ~LISTED);
    if (l[0] + 1 < refcnt) l[1 + l[0]++] = v;
    else c->cnt[w] = SHARED; /* more references than its count: 3. gathers them */
}

static int visit_push(void **slot, void *arg)
{
    dfs *s = arg;
    void *t = *slot;
    if (!is_object(s->d, t)) return 0;
    uint32_t st = RC__HEAD(t)->gc, root = 0;
    if (st < PUSHED) { /* numbered already */
        if (st != s->cur) back_edge(s->c, st, s->cur, RC__HEAD(t)->refcnt);
        return 0;
    }
    bool first = st == UNSEEN;
    if (!first) { /* waiting: move it to the top */
        uint32_t pos = st & ~PUSHED;
        root = s->from[pos] & ROOT_BIT;
        if (!((uintptr_t)s->obj[pos] & FIRST)) s->obj[pos] = NULL; /* the first entry stays */
    }
    return dfs_push(s, t, s->cur | root, first) ? 0 : 1;
}

/* Roots: held from outside (external count in gc), else unseen. */
static int dfs_roots(void *block, void *arg)
{
    dfs *s = arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc > 0) return dfs_push(s, rc__obj_of(hd), ROOT_BIT, true) ? 0 : 1;
    hd->gc = UNSEEN;
    return 0;
}

static int run_dfs(rc__dom *d, semi_ctx *c, size_t max_stack)
{
    rc_heap *h = d->h;
    size_t cap0 = max_stack && max_stack < 1024 ? max_stack : 1024;
    dfs s = {.d = d, .c = c, .cap = cap0, .ocap = cap0, .fcap = cap0, .max_cap = max_stack};
    c->vsize = (d->objects + 1) * sizeof(uint32_t);
    d->parent = dom_alloc(d, c->vsize);
    c->semi = dom_alloc(d, c->vsize);
    c->cnt = dom_alloc(d, c->vsize);
    s.obj = dom_alloc(d, s.cap * sizeof *s.obj);
    s.from = dom_alloc(d, s.cap * sizeof *s.from);
    int err = RC_ENOMEM;
    if (!d->parent || !c->semi || !c->cnt || !s.obj || !s.from) goto out;
    /* The lists get what the budget leaves once 3.'s forest (ancestor and
     * least semi) and compression stack (12 bytes a vertex) are set aside. */
    size_t reserve = 3 * c->vsize, room = 0;
    if (d->budget - d->mem > reserve) room = (d->budget - d->mem - reserve) / sizeof(uint32_t);
    if (room > d->shared_refs) room = d->shared_refs;
    if (room > LISTED - 1) room = LISTED - 1;
    if (d->max_preds && room > d->max_preds) room = d->max_preds;
    if (room) c->lists = dom_alloc(d, room * sizeof *c->lists);
    if (c->lists) c->nlists = room;

    rc__walk_objects(h, dfs_roots, &s);
    for (size_t i = 0; i < h->garbage.len && !s.failed; i++) {
        void *o = h->garbage.v[i];
        if (!rc__visible(RC__HEAD(o))) continue;
        uint32_t st = RC__HEAD(o)->gc;
        if (st == UNSEEN) dfs_push(&s, o, ROOT_BIT, true);
        else if (st >= PUSHED) s.from[st & ~PUSHED] |= ROOT_BIT;
    }
    uint32_t n = 1;
    d->parent[0] = 0;
    if (!c->full) c->semi[0] = c->cnt[0] = 0;
    while (s.top > 0 && !s.failed) {
        s.top--;
        void *e = s.obj[s.top];
        if (!e) continue;
        void *o = (void *)((uintptr_t)e & ~FIRST);
        uint32_t st = RC__HEAD(o)->gc, from = s.from[s.top];
        if (st != (PUSHED | (uint32_t)s.top)) { /* a first entry; o is numbered */
            if (((uintptr_t)e & FIRST) && !c->full && st < PUSHED &&
                (from & ~ROOT_BIT) < c->semi[st])
                c->semi[st] = from & ~ROOT_BIT;
            continue;
        }
        d->parent[n] = from;
        RC__HEAD(o)->gc = n;
        if (!c->full) number(c, n, from, RC__HEAD(o)->refcnt);
        s.cur = n++;
        const rc_type *t = rc__type(RC__HEAD(o));
        if (t->traverse) t->traverse(o, visit_push, &s);
    }
    if (s.failed) goto out;
    d->n = n;
    err = 0;
out:
    dom_release(d, s.obj, s.ocap * sizeof *s.obj);
    dom_release(d, s.from, s.fcap * sizeof *s.from);
    return err;
}

/* ------------------------------------------------------------------ */
/* 3. Semidominators                                                   */
/* ------------------------------------------------------------------ */

/* The least semi on v's path to the root of its tree in the forest of
 * the vertices > w (linked to their DFS parents as they are done), with
 * path compression; v > w.  Each vertex's link holds its ancestor and the
 * least semi on the path up to it (its own semi when it was done), so a
 * step of the walk is one 8-byte read. */
static uint32_t eval(semi_ctx *c, uint32_t v, uint32_t w)
{
    struct link *l = c->link;
    size_t sp = 0;
    for (uint32_t x = v; l[x].anc > w; x = l[x].anc) c->cstack[sp++] = x;
    while (sp > 0) {
        uint32_t x = c->cstack[--sp], a = l[x].anc;
        if (l[a].best < l[x].best) l[x].best = l[a].best;
        l[x].anc = l[a].anc;
    }
    return l[v].best;
}

/* What predecessor v offers w's semi: v itself below w, else the least
 * semi on its path (semi[v] is final only for v > w). */
static inline uint32_t candidate(semi_ctx *c, uint32_t v, uint32_t w)
{
    return v <= w ? v : eval(c, v, w);
}

static inline uint32_t vertex_of(const void *obj)
{
    uint32_t st = RC__HEAD(obj)->gc;
    return st < PUSHED ? st : 0;
}

static int visit_pred(void **slot, void *arg)
{
    semi_ctx *c = arg;
    if (!is_object(c->d, *slot)) return 0;
    uint32_t w = vertex_of(*slot);
    if (w == 0 || !(c->cnt[w] & SHARED)) return 0;
    if (c->stream) {
        if (w == c->stream) {
            uint32_t s = candidate(c, c->cur, w);
            if (s < c->semi[w]) c->semi[w] = s;
        }
        return 0;
    }
    if (!c->fill) {
        c->cnt[w]++; /* counting */
        return 0;
    }
    if (w >= c->lo && w < c->hi) c->preds[(--c->cnt[w]) & ~SHARED] = c->cur;
    return 0;
}

static int pred_block(void *block, void *arg)
{
    semi_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    const rc_type *t = rc__type(hd);
    if (hd->gc >= PUSHED || !t->traverse) return 0;
    c->cur = hd->gc;
    t->traverse(rc__obj_of(hd), visit_pred, c);
    return 0;
}

/* Counting pass: every reached edge into a SHARED vertex.  One
 * predecessor: the DFS parent, which semi holds already; no list. */
static void count_preds(semi_ctx *c)
{
    uint32_t n = c->d->n;
    for (uint32_t w = 1; w < n; w++)
        if (c->cnt[w] & SHARED) c->cnt[w] = SHARED;
    c->fill = false;
    c->stream = 0;
    rc__walk_objects(c->d->h, pred_block, c);
    for (uint32_t w = 1; w < n; w++)
        if ((c->cnt[w] & SHARED) && (c->cnt[w] & ~SHARED) < 2) c->cnt[w] = 0;
}

/* semi for w: its least pusher (2.), and what its list gives, the list
 * being 2.'s (LISTED) or the window's (SHARED: preds[lo_at..hi_at)). */
static void finish_vertex(semi_ctx *c, uint32_t w, uint32_t lo_at, uint32_t hi_at)
{
    uint32_t cw = c->cnt[w], s = c->semi[w];
    const uint32_t *p;
    size_t k;
    if (cw & SHARED) {
        p = c->preds + lo_at;
        k = hi_at - lo_at;
    } else if (cw & LISTED) {
        p = c->lists + (cw & ~LISTED);
        k = *p++;
    } else {
        return;
    }
    for (size_t i = 0; i < k; i++) {
        uint32_t x = candidate(c, p[i], w);
        if (x < s) s = x;
    }
    c->semi[w] = s;
}

static int run_semi(rc__dom *d, semi_ctx *c)
{
    uint32_t n = d->n;
    size_t v4 = (size_t)n * sizeof(uint32_t);
    int err = RC_ENOMEM;
    if (c->full) { /* every vertex SHARED, semi from the DFS parent */
        c->semi = dom_alloc(d, c->vsize);
        c->cnt = dom_alloc(d, c->vsize);
        if (!c->semi || !c->cnt) goto out;
        for (uint32_t w = 0; w < n; w++) {
            bool root = w == 0 || (d->parent[w] & ROOT_BIT);
            c->semi[w] = root ? 0 : d->parent[w];
            c->cnt[w] = root ? 0 : SHARED;
        }
    }
    c->link = dom_alloc(d, n * sizeof *c->link);
    c->cstack = dom_alloc(d, v4);
    if (!c->link || !c->cstack) goto out;
    bool gather = false;
    for (uint32_t v = 0; v < n; v++) {
        c->link[v].anc = d->parent[v] & ~ROOT_BIT;
        c->link[v].best = c->semi[v]; /* final once v is done */
        if (!c->lists && (c->cnt[v] & (SHARED | LISTED)) == LISTED) c->cnt[v] = SHARED;
        gather |= (c->cnt[v] & SHARED) != 0;
    }

    if (gather) {
        count_preds(c);
        /* The gathered lists get what they need, or what the budget leaves. */
        size_t total = 0;
        for (uint32_t w = 1; w < n; w++)
            if (c->cnt[w] & SHARED) total += c->cnt[w] & ~SHARED;
        size_t room = (d->budget - d->mem) / sizeof(uint32_t);
        if (room > total) room = total;
        if (room > ((size_t)1 << 30)) room = (size_t)1 << 30;
        if (d->max_preds && room > d->max_preds) room = d->max_preds;
        c->preds = room ? dom_alloc(d, room * sizeof(uint32_t)) : NULL;
        c->npreds = c->preds ? room : 0;
    }

    uint32_t hi = n;
    while (hi > 1) {
        /* The window: as many vertices below hi as their lists fit. */
        uint32_t lo = hi;
        size_t used = 0;
        while (lo > 1) {
            size_t k = (c->cnt[lo - 1] & SHARED) ? (c->cnt[lo - 1] & ~SHARED) : 0;
            if (used + k > c->npreds) break;
            used += k;
            lo--;
        }
        if (lo == hi) { /* one vertex with more predecessors than fit */
            uint32_t w = hi - 1;
            c->stream = w;
            rc__walk_objects(d->h, pred_block, c);
            c->stream = 0;
            c->link[w].best = c->semi[w];
            hi = w; /* semi[w] holds the least candidate: w is done */
            continue;
        }
        /* Offsets: cnt becomes the end of each list, | SHARED; the fill
         * counts down, leaving it at the start. */
        size_t at = 0;
        for (uint32_t w = lo; w < hi; w++) {
            if (!(c->cnt[w] & SHARED)) continue;
            at += c->cnt[w] & ~SHARED;
            c->cnt[w] = SHARED | (uint32_t)at;
        }
        if (used > 0) {
            c->lo = lo;
            c->hi = hi;
            c->fill = true;
            rc__walk_objects(d->h, pred_block, c);
            c->fill = false;
        }
        /* A list ends where the next shared vertex's starts. */
        uint32_t next_start = (uint32_t)used;
        for (uint32_t w = hi; w-- > lo;) {
            uint32_t s0 = 0, s1 = 0;
            if (c->cnt[w] & SHARED) {
                s0 = c->cnt[w] & ~SHARED;
                s1 = next_start;
                next_start = s0;
            }
            finish_vertex(c, w, s0, s1);
            c->link[w].best = c->semi[w];
        }
        hi = lo;
    }
    err = 0;
out:
    dom_release(d, c->preds, c->npreds * sizeof(uint32_t));
    drop_lists(c);
    dom_release(d, c->cnt, c->vsize);
    dom_release(d, c->cstack, v4);
    dom_release(d, c->link, n * sizeof *c->link);
    if (err) {
        dom_release(d, c->semi, c->vsize);
        return err;
    }
    d->count = c->semi; /* semi, kept for step 4, then reused */
    return 0;
}

/* ------------------------------------------------------------------ */
/* 4. Immediate dominators, 5. sizes                                   */
/* ------------------------------------------------------------------ */

/* parent[] becomes idom[] in place: idom(w) needs only idom(x) for x < w. */
static void run_idom(rc__dom *d)
{
    uint32_t *idom = d->parent, *semi = d->count;
    for (uint32_t w = 1; w < d->n; w++) {
        uint32_t p = idom[w];
        if (p & ROOT_BIT) {
            idom[w] = 0;
            continue;
        }
        while (p > semi[w]) p = idom[p];
        idom[w] = p;
    }
    d->idom = d->parent;
}

static int size_block(void *block, void *arg)
{
    rc__dom *d = arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc >= PUSHED) return 0;
    d->bytes[hd->gc] = own_bytes(d->h, rc__obj_of(hd));
    d->count[hd->gc] = 1;
    return 0;
}

static int run_sizes(rc__dom *d)
{
    uint32_t n = d->n;
    d->bytes = dom_alloc(d, (size_t)n * sizeof *d->bytes);
    if (!d->bytes) return RC_ENOMEM;
    memset(d->bytes, 0, (size_t)n * sizeof *d->bytes);
    memset(d->count, 0, (size_t)n * sizeof *d->count);
    rc__walk_objects(d->h, size_block, d);
    for (uint32_t w = n; w-- > 1;) {
        d->bytes[d->idom[w]] += d->bytes[w];
        d->count[d->idom[w]] += d->count[w];
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The tree's life                                                     */
/* ------------------------------------------------------------------ */

static int restore_block(void *block, void *arg)
{
    (void)arg;
    rc__head_of_block(block)->gc = RC__UNTRACKED;
    return 0;
}

void rc__dom_free(rc__dom *d)
{
    if (d->scratch) {
        rc_heap *h = d->h;
        rc__walk_objects(h, restore_block, NULL);
        for (uint32_t i = 0; i < h->len; i++)
            if (h->objs[i]) RC__HEAD(h->objs[i])->gc = i;
        d->scratch = false;
    }
    if (d->paged_in) rc__page_out(d->h);
    d->paged_in = false;
    size_t v4 = (size_t)d->n * sizeof(uint32_t);
    dom_release(d, d->idom ? d->idom : d->parent, (d->objects + 1) * sizeof(uint32_t));
    dom_release(d, d->count, (d->objects + 1) * sizeof(uint32_t));
    dom_release(d, d->bytes, (size_t)d->n * sizeof *d->bytes);
    dom_release(d, d->fc, 2 * v4);
    dom_release(d, d->group, v4);
    d->idom = d->parent = d->count = d->fc = d->ns = d->group = NULL;
    d->bytes = NULL;
}

int rc__dom_build(rc__dom *d, rc_heap *h) { return rc__dom_build_with(d, h, 0, 0); }

int rc__dom_build_with(rc__dom *d, rc_heap *h, size_t max_preds, size_t max_stack)
{
    memset(d, 0, sizeof *d);
    d->h = h;
    d->max_preds = max_preds;
    if (h->collecting) return RC_EBUSY;
    /* The gc words become scratch: every tracked object goes into the
     * array first, where dom_free finds them to put its index back; the
     * paged bands then go back to their pages. */
    bool was_in = h->bands_in == RC__FROZEN;
    int perr = rc__page_in(h, RC__FROZEN);
    if (perr) return perr;
    d->paged_in = !was_in;
    /* 1. */
    rc__walk_objects(h, count_init, d);
    d->scratch = true;
    d->budget = d->objects * RC__DOM_BYTES_PER_OBJECT + DOM_SLACK;
    if (d->objects >= MAX_VERTS) {
        rc__dom_free(d);
        return RC_ENOMEM;
    }
    count_external(d);
    for (size_t i = 0; i < h->garbage.len; i++) {
        rc__head *g = RC__HEAD(h->garbage.v[i]);
        if (rc__visible(g) && g->gc > 0) g->gc--;
    }
    /* 2.-5. */
    semi_ctx c = {.d = d};
    int err = run_dfs(d, &c, max_stack);
    if (!err) {
        err = run_semi(d, &c);
    } else {
        drop_lists(&c);
        dom_release(d, c.semi, c.vsize);
        dom_release(d, c.cnt, c.vsize);
    }
    if (!err) {
        run_idom(d);
        err = run_sizes(d);
    }
    if (err) rc__dom_free(d);
    return err;
}

uint32_t rc__dom_vertex(const rc__dom *d, const void *obj)
{
    return vertex_of(obj) < d->n ? vertex_of(obj) : 0;
}

/* ------------------------------------------------------------------ */
/* Groups: the retained set of a whole group of objects                */
/* ------------------------------------------------------------------ */
/* What would go if every object of a group went: the union of their
 * subtrees, so an object counts once, at the topmost member above it.
 * One walk down the dominator tree (first child / next sibling lists, no
 * stack: up again through idom) with a counter per group of the members on
 * the current path. */

static int children(rc__dom *d)
{
    if (d->fc) return 0;
    size_t v4 = (size_t)d->n * sizeof(uint32_t);
    d->fc = dom_alloc(d, 2 * v4);
    if (!d->fc) return RC_ENOMEM;
    d->ns = d->fc + d->n;
    memset(d->fc, 0xff, v4);
    for (uint32_t w = d->n; w-- > 1;) {
        d->ns[w] = d->fc[d->idom[w]];
        d->fc[d->idom[w]] = w;
    }
    d->ns[0] = UNSEEN;
    return 0;
}

uint32_t *rc__dom_group_array(rc__dom *d)
{
    size_t v4 = (size_t)d->n * sizeof(uint32_t);
    if (!d->group && (d->group = dom_alloc(d, v4))) memset(d->group, 0xff, v4);
    return d->group;
}

int rc__dom_groups(rc__dom *d, const uint32_t *map, size_t ngroups, rc_retained *out)
{
    const uint32_t *group = d->group;
    if (!group) return RC_EINVAL;
    int err = children(d);
    if (err) return err;
    uint32_t *on = dom_alloc(d, (ngroups ? ngroups : 1) * sizeof *on);
    if (!on) return RC_ENOMEM;
    memset(on, 0, ngroups * sizeof *on);
    memset(out, 0, ngroups * sizeof *out);
    /* Enter a vertex: the first member of its group on the path counts
     * its subtree.  Leave it: the counter goes back. */
#define KEY(w) (group[w] == UNSEEN ? UNSEEN : map ? map[group[w]] : group[w])
    uint32_t w = d->fc[0];
    while (w != UNSEEN) {
        uint32_t k = KEY(w);
        if (k != UNSEEN && on[k]++ == 0) {
            out[k].bytes += d->bytes[w];
            out[k].objects += d->count[w];
        }
        if (d->fc[w] != UNSEEN) {
            w = d->fc[w];
            continue;
        }
        for (;;) { /* leave w, then its ancestors without a next sibling */
            k = KEY(w);
            if (k != UNSEEN) on[k]--;
            if (d->ns[w] != UNSEEN) {
                w = d->ns[w];
                break;
            }
            w = d->idom[w];
            if (w == 0) {
                w = UNSEEN;
                break;
            }
        }
    }
#undef KEY
    dom_release(d, on, (ngroups ? ngroups : 1) * sizeof *on);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The public calls                                                    */
/* ------------------------------------------------------------------ */

int rc_retained_of(rc_heap *h, void *obj, rc_retained *out)
{
    if (!h || !out || !rc__is_live_object(h, obj)) return rc__fail(h, RC_EINVAL), -1;
    if (h->collecting) return rc__fail(h, RC_EBUSY), -1;
    rc__dom d;
    int err = rc__dom_build(&d, h);
    if (err) return rc__fail(h, err), -1;
    uint32_t v = rc__dom_vertex(&d, obj);
    out->objects = v ? d.count[v] : 0;
    out->bytes = v ? (size_t)d.bytes[v] : 0;
    rc__dom_free(&d);
    return 0;
}

/* Children of R, largest first: a min-heap of the n largest. */
static bool top_less(const rc__dom *d, uint32_t a, uint32_t b)
{
    if (d->bytes[a] != d->bytes[b]) return d->bytes[a] < d->bytes[b];
    return a > b; /* equal bytes: the lower vertex number ranks higher */
}

static void sift_down(const rc__dom *d, uint32_t *heap, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && top_less(d, heap[l], heap[m])) m = l;
        if (l + 1 < n && top_less(d, heap[l + 1], heap[m])) m = l + 1;
        if (m == i) return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* The n largest vertices (children of the root only, or all), as a heap
 * whose top is the smallest of them; returns how many. */
static size_t select_largest(const rc__dom *d, uint32_t *heap, size_t n, bool roots_only)
{
    size_t k = 0;
    for (uint32_t w = 1; w < d->n && n > 0; w++) {
        if (roots_only && d->idom[w] != 0) continue;
        if (k < n) {
            heap[k++] = w;
            if (k == n)
                for (size_t i = n / 2 + 1; i-- > 0;) sift_down(d, heap, k, i);
        } else if (top_less(d, heap[0], w)) {
            heap[0] = w;
            sift_down(d, heap, k, 0);
        }
    }
    return k;
}

size_t rc__dom_top(const rc__dom *d, uint32_t *heap, size_t n)
{
    size_t k = select_largest(d, heap, n, true);
    if (k < n)
        for (size_t i = k / 2 + 1; i-- > 0;) sift_down(d, heap, k, i);
    /* Largest first: pop the heap from the back. */
    for (size_t end = k; end > 1; end--) {
        uint32_t t = heap[0];
        heap[0] = heap[end - 1];
        heap[end - 1] = t;
        sift_down(d, heap, end - 1, 0);
    }
    return k;
}

static int cmp_u32v(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct vpair {
    uint32_t v, i; /* a vertex, and where its object goes */
} vpair;

typedef struct find_ctx {
    const vpair *p; /* by vertex, ascending */
    size_t       n;
    char        *obj;
    size_t       stride;
} find_ctx;

static int find_block(void *block, void *arg)
{
    find_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    if (hd->gc >= PUSHED) return 0;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->p[mid].v < hd->gc) lo = mid + 1;
        else hi = mid;
    }
    if (lo < c->n && c->p[lo].v == hd->gc)
        *(void **)(c->obj + c->p[lo].i * c->stride) = rc__obj_of(hd);
    return 0;
}

static int vpair_cmp(const void *a, const void *b)
{
    uint32_t x = ((const vpair *)a)->v, y = ((const vpair *)b)->v;
    return x < y ? -1 : x > y;
}

int rc__dom_objects(rc__dom *d, const uint32_t *v, size_t n, void **obj, size_t stride)
{
    vpair *p = dom_alloc(d, (n ? n : 1) * sizeof *p);
    if (!p) return RC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        p[i] = (vpair){v[i], (uint32_t)i};
        *(void **)((char *)obj + i * stride) = NULL;
    }
    qsort(p, n, sizeof *p, vpair_cmp);
    find_ctx c = {p, n, (char *)obj, stride};
    rc__walk_objects(d->h, find_block, &c);
    dom_release(d, p, (n ? n : 1) * sizeof *p);
    return 0;
}

long rc_top_retainers(rc_heap *h, rc_retainer *out, size_t n)
{
    if (!h || (n > 0 && !out)) return rc__fail(h, RC_EINVAL), -1;
    if (h->collecting) return rc__fail(h, RC_EBUSY), -1;
    if (n == 0) return 0;
    rc__dom d;
    int err = rc__dom_build(&d, h);
    if (err) return rc__fail(h, err), -1;
    size_t want = n < d.n ? n : d.n, k = 0;
    uint32_t *top = dom_alloc(&d, (want ? want : 1) * sizeof *top);
    err = top ? 0 : RC_ENOMEM;
    if (!err) k = rc__dom_top(&d, top, want);
    if (!err) err = rc__dom_objects(&d, top, k, &out[0].obj, sizeof *out);
    for (size_t i = 0; i < k && !err; i++) {
        out[i].retained.objects = d.count[top[i]];
        out[i].retained.bytes = (size_t)d.bytes[top[i]];
    }
    dom_release(&d, top, (want ? want : 1) * sizeof *top);
    rc__dom_free(&d);
    if (err) return rc__fail(h, err), -1;
    return (long)k;
}

/* ------------------------------------------------------------------ */
/* The top of the tree, for the trace                                  */
/* ------------------------------------------------------------------ */

/* The k vertices (root excluded) with the most retained bytes, in vertex
 * order: an ancestor-closed part of the tree, since a vertex retains more
 * than any vertex below it.  Returns how many, or -1 (no memory). */
long rc__dom_top_part(rc__dom *d, uint32_t *v, size_t k)
{
    size_t m = select_largest(d, v, k, false);
    qsort(v, m, sizeof *v, cmp_u32v);
    return (long)m;
}
