/* weakref.c — weak references: the rc_weakref object, the per-heap table
 * from a referent to its weak references, clearing them when the referent
 * dies by counting, and the collector's weak reference step (which callbacks
 * run when the referent is cyclic garbage).
 *
 * A weak reference is an atomic rc object of an internal type.  Its referent
 * carries RC__F_WEAKREFD while any weak reference points at it; the table
 * then maps the referent to a doubly linked list of them, newest first.
 * Invariant: w->obj != NULL  <=>  w is on the list of w->obj.
 */
#include "internal.h"

#include <stdlib.h>

struct rc_weakref {
    void          *obj;  /* the referent; NULL once cleared */
    rc_weakref_cb  cb;
    void          *data;
    rc_weakref    *prev, *next; /* on the referent's list; next also chains
                                   cleared refs awaiting their callback */
    rc_heap       *heap;
};

/* ------------------------------------------------------------------ */
/* The table: open addressing, linear probing, backward-shift deletion */
/* ------------------------------------------------------------------ */

typedef struct wr_slot {
    void       *key;
    rc_weakref *head;
} wr_slot;

struct rc__wrmap {
    wr_slot *slots;
    size_t   cap; /* a power of two, or 0 */
    size_t   n;
};

static size_t slot_of(const rc__wrmap *m, const void *key)
{
    uint64_t x = (uint64_t)(uintptr_t)key >> 4;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 17) & (m->cap - 1);
}

static wr_slot *map_find(const rc__wrmap *m, const void *key)
{
    if (m->cap == 0) return NULL;
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key) return &m->slots[i];
        if (!m->slots[i].key) return NULL;
    }
}

static int map_grow(rc__wrmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    wr_slot *ns = calloc(cap, sizeof *ns);
    if (!ns) return RC_ENOMEM;
    wr_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->slots = ns;
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key) continue;
        size_t j = slot_of(m, old[i].key);
        while (ns[j].key) j = (j + 1) & (cap - 1);
        ns[j] = old[i];
    }
    free(old);
    return 0;
}

/* The slot for key, created empty if absent; NULL when out of memory. */
static wr_slot *map_insert(rc__wrmap *m, void *key)
{
    wr_slot *s = map_find(m, key);
    if (s) return s;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0) return NULL;
    size_t i = slot_of(m, key);
    while (m->slots[i].key) i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].head = NULL;
    m->n++;
    return &m->slots[i];
}

static void map_remove(rc__wrmap *m, wr_slot *s)
{
    size_t i = (size_t)(s - m->slots), mask = m->cap - 1;
    m->slots[i].key = NULL;
    m->n--;
    /* Shift later members of the probe run back over the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->slots[j].key);
        bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (between) continue;
        m->slots[i] = m->slots[j];
        m->slots[j].key = NULL;
        i = j;
    }
}

int rc__wr_init(rc_heap *h)
{
    h->wr = calloc(1, sizeof *h->wr);
    return h->wr ? 0 : RC_ENOMEM;
}

void rc__wr_fini(rc_heap *h)
{
    if (!h->wr) return;
    free(h->wr->slots);
    free(h->wr);
    h->wr = NULL;
}

/* ------------------------------------------------------------------ */
/* The weak reference object                                           */
/* ------------------------------------------------------------------ */

/* Takes w off its referent's list. */
static void unlink_ref(rc_weakref *w)
{
    rc_heap *h = w->heap;
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        wr_slot *s = map_find(h->wr, w->obj);
        if (s) {
            s->head = w->next;
            if (!w->next) {
                map_remove(h->wr, s);
                rc__clr(RC__HEAD(w->obj), RC__F_WEAKREFD);
            }
        }
    }
    if (w->next) w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->obj = NULL;
}

static void weakref_release(void *obj)
{
    rc_weakref *w = obj;
    if (w->heap->dying) return;
    if (w->obj) unlink_ref(w);
}

static const rc_type weakref_type = {
    .name = "weakref",
    .size = sizeof(rc_weakref),
    .release = weakref_release,
};

static bool is_weakref_type(const rc_type *t) { return t == &weakref_type; }

/* The real function behind the macro of the same name (recycle.h). */
#undef rc_weakref_new

/* Both entry points.  ra: the entry point's return address, where the weak
 * reference's allocation backtrace starts (rc_new_at's own would start in
 * here). */
static rc_weakref *weakref_new(void *obj, rc_weakref_cb callback, void *data,
                               const char *file, int line, const char *func, void *ra)
{
    if (!obj) return rc__fail_null(NULL, RC_EINVAL);
    rc_heap *h = rc_heap_of(obj);
    rc_weakref *w = rc__new_from(h, &weakref_type, file, line, func, ra);
    if (!w) return NULL;
    w->heap = h;
    wr_slot *s = map_insert(h->wr, obj);
    if (!s) {
        rc_decref(w);
        return rc__fail_null(h, RC_ENOMEM);
    }
    w->obj = obj;
    w->cb = callback;
    w->data = data;
    w->next = s->head;
    if (s->head) s->head->prev = w;
    s->head = w;
    rc__set(RC__HEAD(obj), RC__F_WEAKREFD);
    return w;
}

rc_weakref *rc_weakref_new(void *obj, rc_weakref_cb callback, void *data)
{
    return weakref_new(obj, callback, data, NULL, 0, NULL, __builtin_return_address(0));
}

rc_weakref *rc_weakref_new_at(void *obj, rc_weakref_cb callback, void *data,
                              const char *file, int line, const char *func)
{
    return weakref_new(obj, callback, data, file, line, func, __builtin_return_address(0));
}

void *rc_weakref_get(rc_weakref *ref)
{
    if (!ref || !ref->obj) return NULL;
    /* A referent whose count is zero is being freed (or waits to be). */
    if (RC__HEAD(ref->obj)->refcnt == 0) return NULL;
    rc_incref(ref->obj);
    return ref->obj;
}

size_t rc_weakref_count(const void *obj)
{
    if (!obj || !rc__has(RC__HEAD(obj), RC__F_WEAKREFD)) return 0;
    rc_heap *h = rc_heap_of(obj);
    wr_slot *s = map_find(h->wr, obj);
    size_t n = 0;
    for (rc_weakref *w = s ? s->head : NULL; w; w = w->next) n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Clearing                                                            */
/* ------------------------------------------------------------------ */

rc_weakref *rc__wr_clear(rc_heap *h, rc__head *hd)
{
    void *obj = rc__obj_of(hd);
    wr_slot *s = map_find(h->wr, obj);
    rc__clr(hd, RC__F_WEAKREFD);
    if (!s) return NULL;
    rc_weakref *w = s->head, *chain = NULL, **tail = &chain;
    map_remove(h->wr, s);
    while (w) {
        rc_weakref *next = w->next;
        w->obj = NULL;
        w->prev = w->next = NULL;
        if (w->cb) {
            /* Held until its callback has run: callbacks may drop it. */
            rc_incref(w);
            *tail = w;
            tail = &w->next;
        }
        w = next;
    }
    return chain;
}

void rc__wr_call(rc_weakref *chain)
{
    while (chain) {
        rc_weakref *w = chain;
        chain = w->next;
        w->next = NULL;
        w->heap->user_calls++;
        w->cb(w, w->data);
        rc_decref(w);
    }
}

/* ------------------------------------------------------------------ */
/* The collector's step                                                */
/* ------------------------------------------------------------------ */

typedef struct count_ctx {
    rc_weakref **refs; /* sorted by address, no duplicates */
    size_t      *from_garbage;
    size_t       n;
} count_ctx;

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* The index of w in c->refs, or c->n. */
static size_t find_ref(const count_ctx *c, const void *w)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)c->refs[mid] < (uintptr_t)w) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->n && (const void *)c->refs[lo] == w ? lo : c->n;
}

static int visit_count(void **slot, void *arg)
{
    count_ctx *c = arg;
    size_t k = find_ref(c, *slot);
    if (k < c->n) c->from_garbage[k]++;
    return 0;
}

static int visit_gather(void **slot, void *arg)
{
    rc__vec *v = arg;
    void *p = *slot;
    if (p && is_weakref_type(rc__type(RC__HEAD(p))) && ((rc_weakref *)p)->obj)
        if (rc__vec_push(v, p) != 0) return 1;
    return 0;
}

static void traverse_range(rc_heap *h, uint32_t lo, uint32_t hi, rc_visit_fn fn, void *arg)
{
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (o && rc__type(RC__HEAD(o))->traverse(o, fn, arg)) return;
    }
}

/* The weak references the garbage objs[lo..hi) holds, each with how many of
 * its references come from the garbage.  On failure (no memory) c->n is 0
 * and every weak reference counts as alive. */
static void count_held(rc_heap *h, uint32_t lo, uint32_t hi, count_ctx *c)
{
    rc__vec held = {0};
    c->refs = NULL;
    c->from_garbage = NULL;
    c->n = 0;
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (o && rc__type(RC__HEAD(o))->traverse(o, visit_gather, &held)) {
            rc__vec_free(&held);
            return;
        }
    }
    if (held.len == 0) return;
    qsort(held.v, held.len, sizeof *held.v, cmp_ptr);
    size_t n = 0;
    for (size_t i = 0; i < held.len; i++)
        if (n == 0 || held.v[n - 1] != held.v[i]) held.v[n++] = held.v[i];
    c->from_garbage = calloc(n, sizeof *c->from_garbage);
    if (!c->from_garbage) {
        rc__vec_free(&held);
        return;
    }
    c->refs = (rc_weakref **)held.v;
    c->n = n;
    traverse_range(h, lo, hi, visit_count, c);
}

/* The collector's weak reference step for the garbage objs[lo..hi):
 *  1. weak references that are garbage themselves — every reference to them
 *     comes from the garbage — are cleared with no callback, whatever their
 *     referent (bpo-38006: the referent may be freed by counting while the
 *     garbage is cleared, and its callback would then see cleared objects;
 *     guarded by test_trash_weakref_clear);
 *  2. every weak reference to the garbage is cleared;
 *  3. the callbacks of the weak references of step 2 that are alive run.
 * No finalizer has run yet and nothing is cleared, so a callback sees only
 * whole objects.  Heaps without weak references skip all of it. */
void rc__wr_handle_garbage(rc_heap *h, uint32_t lo, uint32_t hi)
{
    if (h->wr->n == 0) return;
    count_ctx c;
    count_held(h, lo, hi, &c);
    for (size_t k = 0; k < c.n; k++) {
        rc_weakref *w = c.refs[k];
        if (w->obj && RC__HEAD(w)->refcnt == c.from_garbage[k]) unlink_ref(w);
    }

    rc_weakref *chain = NULL, **tail = &chain;
    for (uint32_t i = lo; i < hi; i++) {
        void *o = h->objs[i];
        if (!o || !rc__has(RC__HEAD(o), RC__F_WEAKREFD)) continue;
        *tail = rc__wr_clear(h, RC__HEAD(o));
        while (*tail) tail = &(*tail)->next;
    }
    /* Keep only the weak references that are alive; one reference to each
     * is ours (rc__wr_clear took it). */
    rc_weakref *live = NULL, **ltail = &live;
    while (chain) {
        rc_weakref *w = chain;
        chain = w->next;
        w->next = NULL;
        size_t k = find_ref(&c, w);
        size_t from_garbage = k < c.n ? c.from_garbage[k] : 0;
        if (RC__HEAD(w)->refcnt - 1 == from_garbage) {
            rc_decref(w); /* held by the garbage only: no callback */
        } else {
            *ltail = w;
            ltail = &w->next;
        }
    }
    free(c.refs);
    free(c.from_garbage);
    rc__wr_call(live);
}
