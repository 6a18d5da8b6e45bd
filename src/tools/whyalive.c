/* whyalive.c — "why is this object alive?": the heap's graph of references
 * with the count of references each object receives from inside the heap,
 * the shortest chain from an object held from outside the heap, and the
 * leak report built on them.
 *
 * ==== Held from outside the heap ====
 *
 * The collector's own argument, applied to the whole heap at once: every
 * reference one heap object holds to another is reported by traverse, so
 * for each object
 *
 *     external = refcnt - (references from heap objects + from the garbage list)
 *
 * counts the references the heap cannot see: the C program's variables,
 * its malloc'd structures, other libraries.  An object with external > 0
 * is held from outside.  Every live block counts, tracked or not: an
 * untracked container still holds references (it is walked like the
 * others), an atomic one holds none.
 *
 * ==== The shortest chain ====
 *
 * One breadth-first search forwards, from every externally held object at
 * once, stopping at the target: the first path found is a shortest one,
 * and it starts at an externally held object.  Going forwards needs no
 * index of referrers: memory is three words per object (parent, slot,
 * queue), time one traverse per object reached.  If the search does not
 * reach the target, it continues from the garbage list's objects; if that
 * fails too, the target is garbage a collection will find, kept for now by
 * a cycle, which we find by walking referrers backwards inside the
 * unreachable part only.
 *
 * Objects are numbered (rc__graph): a tracked object by its index in
 * heap->objs, any other after those, through a pointer map.
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <execinfo.h>
#include <stdlib.h>

#define UNSEEN UINT32_MAX
#define SOURCE (UINT32_MAX - 1)

/* ------------------------------------------------------------------ */
/* The graph                                                           */
/* ------------------------------------------------------------------ */

uint32_t rc__graph_id(const rc__graph *g, const void *obj)
{
    uint32_t i = RC__HEAD(obj)->gc;
    if (i < g->ntracked && g->h->objs[i] == obj) return i;
    const uint64_t *v = rc__pmap_get(&g->untracked, (uintptr_t)obj);
    return v ? (uint32_t)*v : UINT32_MAX;
}

void *rc__graph_obj(const rc__graph *g, uint32_t id)
{
    return id < g->ntracked ? g->h->objs[id] : g->others[id - g->ntracked];
}

size_t rc__graph_external(const rc__graph *g, uint32_t id)
{
    uint32_t rc = RC__HEAD(rc__graph_obj(g, id))->refcnt;
    return rc > g->internal[id] ? rc - g->internal[id] : 0;
}

typedef struct number_ctx {
    rc__graph *g;
    rc__vec    others;
    bool       failed;
} number_ctx;

static int number_block(void *block, void *arg)
{
    number_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    void *obj = rc__obj_of(hd);
    if (hd->gc < c->g->ntracked && c->g->h->objs[hd->gc] == obj) return 0;
    uint64_t *v = rc__pmap_put(&c->g->untracked, (uintptr_t)obj, NULL);
    if (!v || rc__vec_push(&c->others, obj) != 0) {
        c->failed = true;
        return 1;
    }
    *v = c->g->ntracked + c->others.len - 1;
    return 0;
}

static int visit_count(void **slot, void *arg)
{
    rc__graph *g = arg;
    if (*slot) {
        uint32_t id = rc__graph_id(g, *slot);
        if (id != UINT32_MAX) g->internal[id]++;
    }
    return 0;
}

int rc__graph_build(rc__graph *g, rc_heap *h)
{
    memset(g, 0, sizeof *g);
    g->h = h;
    g->ntracked = h->len;
    number_ctx c = {g, {0}, false};
    rc__walk_objects(h, number_block, &c);
    g->others = c.others.v;
    g->n = g->ntracked + (uint32_t)c.others.len;
    g->internal = calloc(g->n ? g->n : 1, sizeof *g->internal);
    if (c.failed || !g->internal) {
        rc__graph_free(g);
        return RC_ENOMEM;
    }
    for (uint32_t id = 0; id < g->n; id++) {
        void *o = rc__graph_obj(g, id);
        if (!o) continue;
        const rc_type *t = rc__type(RC__HEAD(o));
        if (t->traverse) t->traverse(o, visit_count, g);
    }
    for (size_t i = 0; i < h->garbage.len; i++) {
        uint32_t id = rc__graph_id(g, h->garbage.v[i]);
        if (id != UINT32_MAX) g->internal[id]++;
    }
    return 0;
}

void rc__graph_free(rc__graph *g)
{
    rc__pmap_free(&g->untracked);
    free(g->others);
    free(g->internal);
    g->others = NULL;
    g->internal = NULL;
}

/* ------------------------------------------------------------------ */
/* Breadth-first search                                                */
/* ------------------------------------------------------------------ */

typedef struct bfs {
    const rc__graph *g;
    uint32_t *parent;   /* UNSEEN, SOURCE, or the id that reached it */
    uint32_t *slot;     /* which visit of parent's traverse reached it */
    uint32_t *queue;
    size_t    head, tail;
    uint32_t  target;   /* stop once reached; UNSEEN: never */
    uint32_t  cur, k;
    bool      found;
} bfs;

static int bfs_init(bfs *b, const rc__graph *g, uint32_t target)
{
    memset(b, 0, sizeof *b);
    b->g = g;
    b->target = target;
    size_t n = g->n ? g->n : 1;
    b->parent = malloc(n * sizeof *b->parent);
    b->slot = malloc(n * sizeof *b->slot);
    b->queue = malloc(n * sizeof *b->queue);
    if (!b->parent || !b->slot || !b->queue) return RC_ENOMEM;
    memset(b->parent, 0xff, n * sizeof *b->parent);
    return 0;
}

static void bfs_free(bfs *b)
{
    free(b->parent);
    free(b->slot);
    free(b->queue);
}

static void bfs_source(bfs *b, uint32_t id)
{
    if (b->parent[id] != UNSEEN) return;
    b->parent[id] = SOURCE;
    b->queue[b->tail++] = id;
    if (id == b->target) b->found = true;
}

static int visit_bfs(void **slot, void *arg)
{
    bfs *b = arg;
    uint32_t k = b->k++;
    if (!*slot) return 0;
    uint32_t id = rc__graph_id(b->g, *slot);
    if (id == UINT32_MAX || b->parent[id] != UNSEEN) return 0;
    b->parent[id] = b->cur;
    b->slot[id] = k;
    b->queue[b->tail++] = id;
    if (id == b->target) {
        b->found = true;
        return 1;
    }
    return 0;
}

static void bfs_run(bfs *b)
{
    while (!b->found && b->head < b->tail) {
        uint32_t id = b->queue[b->head++];
        void *o = rc__graph_obj(b->g, id);
        const rc_type *t = rc__type(RC__HEAD(o));
        if (!t->traverse) continue;
        b->cur = id;
        b->k = 0;
        t->traverse(o, visit_bfs, b);
    }
}

/* Sources: every object held from outside the heap. */
static void bfs_from_outside(bfs *b)
{
    for (uint32_t id = 0; id < b->g->n && !b->found; id++)
        if (rc__graph_obj(b->g, id) && rc__graph_external(b->g, id) > 0) bfs_source(b, id);
    bfs_run(b);
}

/* Sources: the garbage list's objects (those not reached already). */
static void bfs_from_garbage_list(bfs *b)
{
    const rc_heap *h = b->g->h;
    for (size_t i = 0; i < h->garbage.len && !b->found; i++) {
        uint32_t id = rc__graph_id(b->g, h->garbage.v[i]);
        if (id != UINT32_MAX) bfs_source(b, id);
    }
    bfs_run(b);
}

/* ------------------------------------------------------------------ */
/* Why one object is alive                                             */
/* ------------------------------------------------------------------ */

typedef struct why {
    int       verdict;
    uint32_t *chain;    /* ids: chain[0] .. the target */
    uint32_t *slots;    /* slots[i]: the visit of chain[i-1] reaching chain[i] */
    size_t    len;
    uint32_t *cycle;    /* RC_HELD_CYCLE: the cycle, cycle[0] first again at the end */
    uint32_t *cslots;
    size_t    clen;
} why;

static void why_free(why *w)
{
    free(w->chain);
    free(w->slots);
    free(w->cycle);
    free(w->cslots);
}

/* The cycle that keeps `target` (not reached by b) alive: walks referrers
 * backwards among the objects b did not reach, whose every referrer is
 * unreached too, until an object repeats. */
typedef struct rev_ctx {
    const rc__graph *g;
    const uint32_t  *parent;
    uint32_t        *start;  /* CSR: referrers of id in rev[start[id] .. start[id+1]) */
    uint32_t        *rev;    /* (referrer, slot) pairs */
    uint32_t         cur, k;
    bool             fill;
} rev_ctx;

static int visit_rev(void **slot, void *arg)
{
    rev_ctx *c = arg;
    uint32_t k = c->k++;
    if (!*slot) return 0;
    uint32_t id = rc__graph_id(c->g, *slot);
    if (id == UINT32_MAX || c->parent[id] != UNSEEN) return 0;
    if (!c->fill) {
        c->start[id + 1]++;
    } else {
        uint32_t at = c->start[id]++;
        c->rev[2 * at] = c->cur;
        c->rev[2 * at + 1] = k;
    }
    return 0;
}

static int find_cycle(const rc__graph *g, const bfs *b, uint32_t target, why *w)
{
    uint32_t n = g->n;
    rev_ctx c = {g, b->parent, calloc((size_t)n + 2, sizeof(uint32_t)), NULL, 0, 0, false};
    uint32_t *pos = malloc(((size_t)n ? n : 1) * sizeof *pos);
    uint32_t *path = malloc(((size_t)n ? n : 1) * sizeof *path);
    uint32_t *pslot = malloc(((size_t)n ? n : 1) * sizeof *pslot);
    int err = RC_ENOMEM;
    if (!c.start || !pos || !path || !pslot) goto out;
    for (int pass = 0; pass < 2; pass++) {
        c.fill = pass == 1;
        if (c.fill) {
            for (uint32_t i = 0; i < n; i++) c.start[i + 1] += c.start[i];
            c.rev = malloc(((size_t)c.start[n] ? c.start[n] : 1) * 2 * sizeof *c.rev);
            if (!c.rev) goto out;
        }
        for (uint32_t id = 0; id < n; id++) {
            void *o = rc__graph_obj(g, id);
            if (!o || b->parent[id] != UNSEEN) continue;
            const rc_type *t = rc__type(RC__HEAD(o));
            if (!t->traverse) continue;
            c.cur = id;
            c.k = 0;
            t->traverse(o, visit_rev, &c);
        }
    }
    /* After filling, start[id] is the end of id's run: its start is
     * start[id - 1] (0 for id 0). */
    memset(pos, 0xff, (size_t)n * sizeof *pos);
    size_t len = 0, j = 0;
    uint32_t cur = target, close_slot = 0;
    pos[cur] = 0;
    path[len] = cur;
    pslot[len++] = 0;
    for (;;) {
        uint32_t lo = cur ? c.start[cur - 1] : 0;
        if (lo == c.start[cur]) { /* no referrer: cannot happen for a live object */
            j = len - 1;
            break;
        }
        uint32_t r = c.rev[2 * lo], k = c.rev[2 * lo + 1];
        if (pos[r] != UNSEEN) {
            j = pos[r];
            close_slot = k;
            break;
        }
        pos[r] = (uint32_t)len;
        path[len] = r;
        pslot[len++] = k; /* r's visit k reaches path[len - 2] */
        cur = r;
    }
    /* The cycle: path[j] -> path[len-1] -> ... -> path[j+1] -> path[j]. */
    size_t clen = len - j;
    w->cycle = malloc((clen + 1) * sizeof *w->cycle);
    w->cslots = malloc((clen + 1) * sizeof *w->cslots);
    /* The chain: for j > 0, path[j] -> ... -> path[0]; for j == 0 (the target
     * is on the cycle), path[len-1] -> ... -> path[0]. */
    size_t top = j > 0 ? j : len - 1;
    w->chain = malloc((top + 1) * sizeof *w->chain);
    w->slots = malloc((top + 1) * sizeof *w->slots);
    if (!w->cycle || !w->cslots || !w->chain || !w->slots) goto out;
    w->cycle[0] = path[j];
    w->cslots[0] = 0;
    size_t ci = 1;
    if (len - 1 > j) {
        w->cycle[ci] = path[len - 1];
        w->cslots[ci++] = close_slot;
        for (size_t i = len - 1; i > j + 1; i--) {
            w->cycle[ci] = path[i - 1];
            w->cslots[ci++] = pslot[i];
        }
        w->cycle[ci] = path[j];
        w->cslots[ci++] = pslot[j + 1];
    } else { /* a self-reference */
        w->cycle[ci] = path[j];
        w->cslots[ci++] = close_slot;
    }
    w->clen = ci;
    w->len = 0;
    for (size_t i = top + 1; i-- > 0;) {
        w->chain[w->len] = path[i];
        w->slots[w->len++] = i + 1 <= top ? pslot[i + 1] : 0;
    }
    err = 0;
out:
    free(c.start);
    free(c.rev);
    free(pos);
    free(path);
    free(pslot);
    return err;
}

static int why_compute(const rc__graph *g, uint32_t target, why *w)
{
    memset(w, 0, sizeof *w);
    bfs b;
    int err = bfs_init(&b, g, target);
    if (err) goto out;
    bfs_from_outside(&b);
    w->verdict = RC_HELD_OUTSIDE;
    if (!b.found) {
        bfs_from_garbage_list(&b);
        w->verdict = RC_HELD_GARBAGE_LIST;
    }
    if (!b.found) {
        w->verdict = RC_HELD_CYCLE;
        err = find_cycle(g, &b, target, w);
        goto out;
    }
    size_t len = 0;
    for (uint32_t id = target; id != SOURCE; id = b.parent[id]) len++;
    w->chain = malloc(len * sizeof *w->chain);
    w->slots = malloc(len * sizeof *w->slots);
    if (!w->chain || !w->slots) {
        err = RC_ENOMEM;
        goto out;
    }
    w->len = len;
    size_t i = len;
    for (uint32_t id = target; id != SOURCE; id = b.parent[id]) {
        w->chain[--i] = id;
        w->slots[i] = b.parent[id] == SOURCE ? 0 : b.slot[id];
    }
out:
    bfs_free(&b);
    if (err) why_free(w);
    return err;
}

/* Entry checks shared by the public calls. */
static int check_target(rc_heap *h, const void *obj)
{
    if (!h) return RC_EINVAL;
    /* Busy first: while a collection runs, the objects it examines are
     * hidden (rc__visible), yet alive. */
    if (h->collecting) return RC_EBUSY;
    if (!rc__is_live_object(h, obj)) return RC_EINVAL;
    return 0;
}

int rc_why_alive_chain(rc_heap *h, const void *obj, void **chain, size_t max, size_t *len)
{
    int err = check_target(h, obj);
    if (err) return rc__fail(h, err), -1;
    if (max > 0 && !chain) return rc__fail(h, RC_EINVAL), -1;
    rc__graph g;
    if (rc__graph_build(&g, h) != 0) return rc__fail(h, RC_ENOMEM), -1;
    why w;
    err = why_compute(&g, rc__graph_id(&g, obj), &w);
    if (err) {
        rc__graph_free(&g);
        return rc__fail(h, err), -1;
    }
    for (size_t i = 0; i < w.len && i < max; i++) chain[i] = rc__graph_obj(&g, w.chain[i]);
    if (len) *len = w.len;
    int verdict = w.verdict;
    why_free(&w);
    rc__graph_free(&g);
    return verdict;
}

/* ------------------------------------------------------------------ */
/* Printing                                                            */
/* ------------------------------------------------------------------ */

typedef struct nth_ctx {
    uint32_t k, want;
    void   **slot;
} nth_ctx;

static int visit_nth(void **slot, void *arg)
{
    nth_ctx *c = arg;
    if (c->k++ != c->want) return 0;
    c->slot = slot;
    return 1;
}

/* "slot K (+OFFSET)": the offset when the slot lies inside the object. */
static void print_slot(void *from, uint32_t k, FILE *f)
{
    fprintf(f, "slot %u", (unsigned)k);
    nth_ctx c = {0, k, NULL};
    rc__type(RC__HEAD(from))->traverse(from, visit_nth, &c);
    if (!c.slot) return;
    size_t size = rc__block_size(rc__block_of(RC__HEAD(from))) - RC__PREFIX - sizeof(rc__head);
    uintptr_t s = (uintptr_t)c.slot, o = (uintptr_t)from;
    if (s >= o && s < o + size) fprintf(f, " (+%zu)", (size_t)(s - o));
}

static void print_links(const rc__graph *g, const uint32_t *ids, const uint32_t *slots,
                        size_t n, const char *indent, FILE *f)
{
    for (size_t i = 1; i < n; i++) {
        fprintf(f, "%s-> ", indent);
        print_slot(rc__graph_obj(g, ids[i - 1]), slots[i], f);
        fputs(": ", f);
        rc__describe_obj(g->h, rc__graph_obj(g, ids[i]), f);
        putc('\n', f);
    }
}

static size_t garbage_index(const rc_heap *h, const void *o)
{
    for (size_t i = 0; i < h->garbage.len; i++)
        if (h->garbage.v[i] == o) return i;
    return SIZE_MAX;
}

static void print_why(const rc__graph *g, uint32_t target, const why *w, const char *indent,
                      FILE *f)
{
    char in2[64];
    snprintf(in2, sizeof in2, "%s  ", indent);
    fputs(indent, f);
    rc__describe_obj(g->h, rc__graph_obj(g, target), f);
    fprintf(f, " (count %u)\n", (unsigned)RC__HEAD(rc__graph_obj(g, target))->refcnt);
    void *first = w->len ? rc__graph_obj(g, w->chain[0]) : NULL;
    switch (w->verdict) {
    case RC_HELD_OUTSIDE: {
        size_t ext = rc__graph_external(g, w->chain[0]);
        if (w->len == 1) {
            fprintf(f, "%sis alive: held from outside the heap (%zu reference%s the heap "
                       "does not hold)\n",
                    indent, ext, ext == 1 ? "" : "s");
            return;
        }
        fprintf(f, "%sis alive: an object held from outside the heap reaches it through "
                   "%zu reference%s:\n",
                indent, w->len - 1, w->len == 2 ? "" : "s");
        fputs(in2, f);
        rc__describe_obj(g->h, first, f);
        fprintf(f, ": held from outside the heap (%zu reference%s)\n", ext,
                ext == 1 ? "" : "s");
        print_links(g, w->chain, w->slots, w->len, in2, f);
        return;
    }
    case RC_HELD_GARBAGE_LIST:
        fprintf(f, "%sis alive only through the garbage list (uncollectable garbage: a "
                   "legacy finalizer, or RC_DEBUG_SAVEALL)%s\n",
                indent, w->len > 1 ? ", which reaches it:" : ":");
        fputs(in2, f);
        rc__describe_obj(g->h, first, f);
        fprintf(f, ": garbage list entry %zu\n", garbage_index(g->h, first));
        print_links(g, w->chain, w->slots, w->len, in2, f);
        return;
    default:
        fprintf(f, "%sis garbage waiting for collection: no object held from outside the "
                   "heap reaches it, nor does the garbage list; a reference cycle of %zu "
                   "object%s keeps it alive:\n",
                indent, w->clen - 1, w->clen == 2 ? "" : "s");
        fputs(in2, f);
        rc__describe_obj(g->h, rc__graph_obj(g, w->cycle[0]), f);
        putc('\n', f);
        print_links(g, w->cycle, w->cslots, w->clen, in2, f);
        if (w->len > 1 && w->chain[w->len - 1] != w->cycle[0] &&
            w->chain[0] == w->cycle[0]) {
            fprintf(f, "%swhich reaches it:\n", indent);
            fputs(in2, f);
            rc__describe_obj(g->h, first, f);
            putc('\n', f);
            print_links(g, w->chain, w->slots, w->len, in2, f);
        }
        return;
    }
}

int rc_why_alive(rc_heap *h, const void *obj, FILE *stream)
{
    int err = check_target(h, obj);
    if (!err && !stream) err = RC_EINVAL;
    if (err) return rc__fail(h, err), -1;
    rc__graph g;
    if (rc__graph_build(&g, h) != 0) return rc__fail(h, RC_ENOMEM), -1;
    uint32_t target = rc__graph_id(&g, obj);
    why w;
    err = why_compute(&g, target, &w);
    if (err) {
        rc__graph_free(&g);
        return rc__fail(h, err), -1;
    }
    print_why(&g, target, &w, "", stream);
    int verdict = w.verdict;
    why_free(&w);
    rc__graph_free(&g);
    return verdict;
}

/* ------------------------------------------------------------------ */
/* The leak report                                                     */
/* ------------------------------------------------------------------ */

typedef struct lgroup {
    const rc_type  *type;
    const rc__site *site;
    size_t          count, bytes, held[3];
    uint32_t        example;
} lgroup;

static int lgroup_cmp(const void *pa, const void *pb)
{
    const lgroup *a = pa, *b = pb;
    if (a->bytes != b->bytes) return a->bytes < b->bytes ? 1 : -1;
    if (a->count != b->count) return a->count < b->count ? 1 : -1;
    return 0;
}

/* The site's backtrace, one symbolized frame a line under the row. */
static void print_frames(const rc__site *s, FILE *f)
{
    if (!s || s->nframes == 0) return;
    char **sym = backtrace_symbols(s->frames, s->nframes);
    for (int i = 0; i < s->nframes; i++) {
        fprintf(f, "%46s", "");
        if (sym) fprintf(f, "%s\n", sym[i]);
        else fprintf(f, "[%p]\n", s->frames[i]);
    }
    free(sym);
}

static void print_group_site(const lgroup *gr, FILE *f)
{
    const rc__site *s = gr->site;
    if (s && s->file) {
        fprintf(f, "%s:%d", s->file, s->line);
        if (s->func) fprintf(f, " in %s", s->func);
    } else if (s) {
        fprintf(f, "[%p]", s->nframes ? s->frames[0] : NULL);
    } else {
        fputs("(site unknown)", f);
    }
}

/* "Top retainers": the (type, site) groups whose objects retain the most
 * (the union of their subtrees in the dominator tree: retained.c), then
 * the single objects that do.  Written from a dominator tree built and
 * freed here, before the report's own graph. */
#define RETAINER_ROWS 10
#define RETAINER_OBJECTS 3

typedef struct rgroup {
    const rc_type  *type;
    const rc__site *site;
    size_t          count;
    rc_retained     kept;
} rgroup;

typedef struct rgroup_ctx {
    rc__dom  *d;
    rc__pmap  index;   /* (type, site) -> group + 1 */
    rgroup   *g;
    size_t    n, cap;
    uint32_t *group;   /* per vertex */
    bool      failed;
} rgroup_ctx;

static int rgroup_block(void *block, void *arg)
{
    rgroup_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    void *o = rc__obj_of(hd);
    uint32_t v = rc__dom_vertex(c->d, o);
    if (v == 0) return 0;
    const rc_heap *h = c->d->h;
    const rc__site *site = rc__site_get(h, o);
    uintptr_t key = (uintptr_t)rc__type(hd) ^
                    ((uintptr_t)(site ? site - h->tools->site + 1 : 0) << 48) ^ 1;
    bool added;
    uint64_t *at = rc__pmap_put(&c->index, key, &added);
    if (!at) goto fail;
    if (added) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 32;
            rgroup *ng = realloc(c->g, cap * sizeof *ng);
            if (!ng) goto fail;
            c->g = ng;
            c->cap = cap;
        }
        c->g[c->n] = (rgroup){rc__type(hd), site, 0, {0, 0}};
        *at = ++c->n;
    }
    c->g[*at - 1].count++;
    c->group[v] = (uint32_t)(*at - 1);
    return 0;
fail:
    c->failed = true;
    return 1;
}

static int rgroup_cmp(const void *pa, const void *pb)
{
    const rgroup *a = pa, *b = pb;
    if (a->kept.bytes != b->kept.bytes) return a->kept.bytes < b->kept.bytes ? 1 : -1;
    return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

static int print_retainers(rc_heap *h, FILE *f)
{
    rc__dom d;
    int err = rc__dom_build(&d, h);
    if (err) return err;
    rgroup_ctx c = {.d = &d};
    c.group = rc__dom_group_array(&d);
    uint32_t top[RETAINER_OBJECTS];
    void *obj[RETAINER_OBJECTS];
    size_t ntop = 0;
    err = RC_ENOMEM;
    if (!c.group) goto out;
    rc__walk_objects(h, rgroup_block, &c);
    rc_retained *kept = c.failed ? NULL : malloc((c.n ? c.n : 1) * sizeof *kept);
    if (!kept || rc__dom_groups(&d, NULL, c.n, kept) != 0) {
        free(kept);
        goto out;
    }
    for (size_t i = 0; i < c.n; i++) c.g[i].kept = kept[i];
    free(kept);
    ntop = rc__dom_top(&d, top, RETAINER_OBJECTS);
    if (rc__dom_objects(&d, top, ntop, obj, sizeof *obj) != 0) goto out;
    rc_retained one[RETAINER_OBJECTS];
    for (size_t i = 0; i < ntop; i++) one[i] = (rc_retained){d.count[top[i]], (size_t)d.bytes[top[i]]};
    size_t total = d.bytes[0], objects = d.count[0];
    rc__dom_free(&d); /* the gc words are indices again: describing is safe */
    if (c.n) qsort(c.g, c.n, sizeof *c.g, rgroup_cmp);
    fprintf(f, "top retainers: what each group's objects keep alive, themselves included "
               "(%zu objects, %zu bytes reachable):\n", objects, total);
    fprintf(f, "%8s %10s %10s  %s\n", "count", "retained", "objects", "type, allocated at");
    for (size_t i = 0; i < c.n && i < RETAINER_ROWS; i++) {
        lgroup e = {c.g[i].type, c.g[i].site, 0, 0, {0, 0, 0}, 0};
        fprintf(f, "%8zu %10zu %10zu  %s  ", c.g[i].count, c.g[i].kept.bytes,
                c.g[i].kept.objects, e.type && e.type->name ? e.type->name : "?");
        print_group_site(&e, f);
        putc('\n', f);
        print_frames(e.site, f);
    }
    if (c.n > RETAINER_ROWS) fprintf(f, "... and %zu more\n", c.n - RETAINER_ROWS);
    for (size_t i = 0; i < ntop; i++) {
        fprintf(f, "  %s %zu bytes in %zu objects: ", i ? "   " : "largest:", one[i].bytes,
                one[i].objects);
        rc__describe_obj(h, obj[i], f);
        putc('\n', f);
    }
    err = 0;
out:
    rc__dom_free(&d);
    rc__pmap_free(&c.index);
    free(c.g);
    return err;
}

int rc_leak_report(rc_heap *h, size_t top, FILE *stream)
{
    if (!h || !stream) return rc__fail(h, RC_EINVAL), -1;
    if (h->collecting) return rc__fail(h, RC_EBUSY), -1;
    rc__graph g;
    if (rc__graph_build(&g, h) != 0) return rc__fail(h, RC_ENOMEM), -1;
    bfs b;
    rc__pmap index = {0};
    lgroup *gr = NULL;
    size_t ngr = 0, cap = 0;
    int err = bfs_init(&b, &g, UNSEEN);
    if (err) goto out;

    /* Who holds each object: outside, the garbage list, or nobody (cycles). */
    bfs_from_outside(&b);
    size_t outside_end = b.tail;
    bfs_from_garbage_list(&b);
    size_t garbage_end = b.tail;
    uint8_t *held = calloc(g.n ? g.n : 1, 1);
    if (!held) {
        err = RC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < b.tail; i++) held[b.queue[i]] = i < outside_end ? 0 : 1;
    size_t total_held[3] = {0}, total = 0, total_bytes = 0;
    for (uint32_t id = 0; id < g.n; id++) {
        void *o = rc__graph_obj(&g, id);
        if (!o) continue;
        int cls = b.parent[id] == UNSEEN ? 2 : held[id];
        const rc__site *site = rc__site_get(h, o);
        uintptr_t key = (uintptr_t)rc__type(RC__HEAD(o)) ^
                        ((uintptr_t)(site ? site - h->tools->site + 1 : 0) << 48) ^ 1;
        bool added;
        uint64_t *v = rc__pmap_put(&index, key, &added);
        if (!v) {
            err = RC_ENOMEM;
            break;
        }
        if (added) {
            if (ngr == cap) {
                cap = cap ? cap * 2 : 32;
                lgroup *ng = realloc(gr, cap * sizeof *ng);
                if (!ng) {
                    err = RC_ENOMEM;
                    break;
                }
                gr = ng;
            }
            gr[ngr] = (lgroup){rc__type(RC__HEAD(o)), site, 0, 0, {0, 0, 0}, id};
            *v = ++ngr;
        }
        lgroup *e = &gr[*v - 1];
        e->example = id; /* the last: tracked objects are in age order, the newest */
        size_t bytes = rc__block_size(rc__block_of(RC__HEAD(o))) + rc__buf_bytes(h, o);
        e->count++;
        e->bytes += bytes;
        e->held[cls]++;
        total_held[cls]++;
        total++;
        total_bytes += bytes;
    }
    free(held);
    (void)garbage_end;
    if (err) goto out;
    if (ngr) qsort(gr, ngr, sizeof *gr, lgroup_cmp);

    fprintf(stream, "recycle: leak report: %zu objects, %zu bytes alive in %zu groups "
                    "(type, allocation site)\n",
            total, total_bytes, ngr);
    fprintf(stream, "  %zu held from outside the heap (or by what it holds), %zu only "
                    "through the garbage list, %zu in garbage cycles\n",
            total_held[0], total_held[1], total_held[2]);
    fprintf(stream, "%8s %10s %8s %8s %8s  %s\n", "count", "bytes", "outside", "garbage",
            "cycles", "type, allocated at");
    for (size_t i = 0; i < ngr; i++) {
        const lgroup *e = &gr[i];
        fprintf(stream, "%8zu %10zu %8zu %8zu %8zu  %s  ", e->count, e->bytes, e->held[0],
                e->held[1], e->held[2], e->type && e->type->name ? e->type->name : "?");
        print_group_site(e, stream);
        putc('\n', stream);
        print_frames(e->site, stream);
    }
    err = print_retainers(h, stream);
    if (err) goto out;
    size_t shown = top < ngr ? top : ngr;
    if (shown) fprintf(stream, "why the %zu largest group%s alive:\n", shown,
                       shown == 1 ? " is" : "s are");
    for (size_t i = 0; i < shown && !err; i++) {
        fprintf(stream, "[%zu] %zu %s object%s, allocated at ", i + 1, gr[i].count,
                gr[i].type && gr[i].type->name ? gr[i].type->name : "?",
                gr[i].count == 1 ? "" : "s");
        print_group_site(&gr[i], stream);
        fputs(", for example:\n", stream);
        why w;
        err = why_compute(&g, gr[i].example, &w);
        if (!err) {
            print_why(&g, gr[i].example, &w, "    ", stream);
            why_free(&w);
        }
    }
out:
    bfs_free(&b);
    rc__pmap_free(&index);
    free(gr);
    rc__graph_free(&g);
    if (err) return rc__fail(h, err), -1;
    return 0;
}
