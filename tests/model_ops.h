/* model_ops.h — the operation interpreter and the oracle shared by the
 * model-based tester (tests/test_model.c: random operation lists) and the
 * fuzzer (tests/fuzz/fuzz_ops.c: operation lists decoded from fuzz input).
 *
 * ==== What it checks ====
 *
 * An operation list (m_op[]) drives a heap: create objects (atomic,
 * fixed-slot containers, variable-slot containers from rc_new_var, with
 * finalizers that resurrect, allocate, drop their references, or are
 * legacy), set and clear slots, take and drop references, weak references
 * with callbacks, collect any generation, freeze/unfreeze, pause/resume,
 * enable/disable, thresholds, SAVEALL, clearing the garbage list.
 *
 * Next to the heap runs an oracle: a plain shadow graph (ids, edges,
 * external counts, generation of each container) with its own counting and
 * its own reachability computation; it shares no code with the library.
 * Every operation is split into micro-steps; after each, the oracle
 * predicts, from the documented semantics (docs/API.md), which objects are
 * released, which finalizers run, which weak-reference callbacks run, what
 * each collection reports, and compares:
 *   - objects released (release callbacks) == objects the oracle frees,
 *     each released at most once, and every object exactly once by the end;
 *   - finalizers run == predicted, each at most once, and each sees its
 *     object's slots intact;
 *   - weak-reference callbacks run == predicted (a weak reference that dies
 *     with its referent's garbage calls nothing; where the documented
 *     semantics leave the order of frees open, a callback of a weak
 *     reference that dies in the same step may or may not run);
 *   - what rc_gc_collect returns and what RC_GC_STOP reports;
 *   - periodically: every count (rc_refcount), every slot, rc_is_finalized,
 *     every weak reference's referent, the garbage list, each generation's
 *     members (rc_gc_get_objects), the freeze count, rc_heap_check;
 *   - after every full collection: the live objects are exactly those
 *     reachable from the program's references, the garbage list and the
 *     frozen objects (a computation independent of the step simulation).
 *
 * The oracle learns *that* a collection ran, and of which generation, from
 * the RC_GC_START callback (automatic scheduling is test_control.c's
 * business); what the collection must do it computes itself.
 *
 * User code calls back into the API (MOP_HOOK arms the next few runs of
 * finalizers, releases, weak-reference callbacks and RC_GC_START/STOP
 * callbacks, m_hook): collections of each generation and collect_if_due,
 * freeze and unfreeze, walks, referrers and referents, snapshots and their
 * diffs, why-alive, DOT and the leak report (to /dev/null), rc_heap_check,
 * memory and gc stats, sites on and off, settings and callbacks added and
 * removed, allocations (atomic, containers, weak references with
 * callbacks), rc_untrack / rc_track of the program's containers (also
 * MOP_TRACK).  What API.md makes exact is checked exactly: during a
 * collection, collect returns 0 and runs nothing, freeze and unfreeze are
 * refused with RC_EBUSY, why-alive and DOT say RC_EBUSY; outside one,
 * why-alive says the program's objects are held from outside; walks report
 * only live objects of the program's (count > 0), referents are exactly the
 * slots set, referrers do refer; rc_heap_check passes everywhere; what user
 * code allocates or (un)tracks is replayed by the oracle at its place among
 * the step's collections (m_event).  Episodes may run under memory_limit.
 *
 * With fail_alloc_after set (fault injection), a collection that out of
 * memory starts in the middle of a free by counting cannot be simulated
 * step by step: for such steps the oracle checks only that nothing
 * reachable was freed, then re-reads the heap ("resync").  The same goes
 * for a collection, a freeze or an unfreeze that user code starts on the
 * counting path, and for an emergency collection under memory_limit.
 */
#ifndef RC_MODEL_OPS_H
#define RC_MODEL_OPS_H

#include <recycle.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define M_FN static __attribute__((unused))

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

enum {
    MOP_NEW,           /* a: shape + 3*fin, b: slots (var)                  */
    MOP_SET,           /* a: container, b: slot, c: target (c%8==0: NULL)  */
    MOP_CLEAR,         /* a: container, b: slot                            */
    MOP_TAKE,          /* a: object: take a reference                      */
    MOP_DROP,          /* a: one of the program's references (b%4==1: the newest): drop it */
    MOP_WEAK,          /* a: referent, b: (b%4==0: a weakref), c%3: callback mode */
    MOP_WGET,          /* a: a weakref the program holds: rc_weakref_get    */
    MOP_COLLECT,       /* a%3: generation                                   */
    MOP_COLLECT_IF_DUE,
    MOP_FREEZE,
    MOP_UNFREEZE,
    MOP_PAUSE,
    MOP_RESUME,
    MOP_ENABLE,
    MOP_DISABLE,
    MOP_THRESHOLD,     /* a, b, c: new thresholds                           */
    MOP_SAVEALL,       /* toggle RC_DEBUG_SAVEALL                           */
    MOP_GCLEAR,        /* rc_gc_garbage_clear                               */
    MOP_CHAIN,         /* a: length, b: finalizers (b&4: then drop it): a chain held by a root */
    MOP_RING,          /* a: length, b: finalizers: a garbage ring          */
    MOP_CHECK,         /* full verification now                             */
    MOP_HOOK,          /* a: action, b: where, c: how many times: arm a hook  */
    MOP_TRACK,         /* a: a container the program holds: rc_untrack / rc_track it */
    MOP_COUNT
};

static const char *const m_op_names[MOP_COUNT] = {
    "MOP_NEW", "MOP_SET", "MOP_CLEAR", "MOP_TAKE", "MOP_DROP", "MOP_WEAK", "MOP_WGET",
    "MOP_COLLECT", "MOP_COLLECT_IF_DUE", "MOP_FREEZE", "MOP_UNFREEZE", "MOP_PAUSE",
    "MOP_RESUME", "MOP_ENABLE", "MOP_DISABLE", "MOP_THRESHOLD", "MOP_SAVEALL",
    "MOP_GCLEAR", "MOP_CHAIN", "MOP_RING", "MOP_CHECK", "MOP_HOOK", "MOP_TRACK"};

typedef struct m_op {
    uint32_t code, a, b, c;
} m_op;

typedef struct m_config {
    uint64_t      seed;          /* generator seed (m_run with ops == NULL) */
    size_t        threshold[3];  /* the heap's initial thresholds */
    int           policy;        /* RC_POLICY_* */
    unsigned long fail_after;    /* rc_config.fail_alloc_after; 0 = none */
    unsigned      verify_every;  /* full verification every N operations (0 = 1) */
    unsigned      heap_check_every; /* rc_heap_check every N verifications (0 = 1) */
    size_t        max_live;      /* generator: population bound (0 = 250) */
    int           trace;         /* print each operation, resolved, on `out` */
    FILE         *out;           /* mismatch reports; NULL = silent */
    int           max_reports;   /* reports printed per run (0 = 10) */
    int           log_fd;        /* > 0: each operation is written here before it runs */
    size_t        memory_limit;  /* rc_config.memory_limit; 0 = none */
} m_config;

typedef struct m_stats {
    uint64_t ops, steps, verifies, heap_checks, collections, full_collections;
    uint64_t allocs, enomem, finalizers, callbacks, releases, unsynced;
    /* coverage: how often the corners of the semantics were reached */
    uint64_t uncollectable, resurrected, trash_weakrefs, deep_steps, deferred_retracked;
    uint64_t order_open_callbacks, saveall_saved;
    /* user code calling back into the API (MOP_HOOK) */
    uint64_t hooks, hooks_in_collection, hook_collections, hook_allocs, hook_resyncs;
    uint64_t untracked;
} m_stats;

/* ------------------------------------------------------------------ */
/* Objects and their types                                             */
/* ------------------------------------------------------------------ */

enum { SH_ATOM, SH_NODE, SH_VAR, SH_WEAK };
enum { FIN_NONE, FIN_RESURRECT, FIN_ALLOC, FIN_DROP, FIN_LEGACY, FIN_N };
static const char *const m_shape_names[] = {"atom", "node", "var", "weakref"};
static const char *const m_fin_names[] = {"", "/resurrect", "/alloc", "/drop", "/legacy"};

/* The user part of every object of ours: its id, then its slots. */
typedef struct m_obj {
    uint32_t id;
    uint32_t nslots;
    void    *slot[];
} m_obj;
#define M_NODE_SLOTS 4

static int  m_traverse(void *obj, rc_visit_fn visit, void *arg);
static void m_finalize(void *obj);
static void m_release(void *obj);

#define M_NODE_SIZE (sizeof(m_obj) + M_NODE_SLOTS * sizeof(void *))
#define M_TYPES(prefix, size, trav)                                                  \
    {                                                                                \
        {prefix, size, trav, NULL, m_release, 0},                                    \
        {prefix "/resurrect", size, trav, m_finalize, m_release, 0},                 \
        {prefix "/alloc", size, trav, m_finalize, m_release, 0},                     \
        {prefix "/drop", size, trav, m_finalize, m_release, 0},                      \
        {prefix "/legacy", size, trav, m_finalize, m_release, RC_TYPE_LEGACY_FINALIZER} \
    }
static const rc_type m_types[3][FIN_N] = {
    M_TYPES("atom", sizeof(m_obj), NULL),
    M_TYPES("node", M_NODE_SIZE, m_traverse),
    M_TYPES("var", sizeof(m_obj), m_traverse),
};

/* shape * FIN_N + fin for our types, -1 for others (weak references). */
static inline int m_type_index(const rc_type *t)
{
    uintptr_t p = (uintptr_t)t, lo = (uintptr_t)&m_types[0][0];
    if (p < lo || p >= lo + sizeof m_types) return -1;
    return (int)((p - lo) / sizeof(rc_type));
}

/* ------------------------------------------------------------------ */
/* The context: the program's side (r_*) and the oracle's (o_*)        */
/* ------------------------------------------------------------------ */

enum { G_FROZEN = 3, G_NONE = 4, G_SURE = 0xff };
enum { ST_PROG, ST_ALLOC, ST_COLLECT, ST_FREE };
enum { PEND_EXACT, PEND_IF_ALIVE, PEND_IF_REFDEAD };
enum { MK_S = 1, MK_R = 2, MK_L = 4, MK_G = 8, MK_G3 = 16, MK_R3 = 32, MK_REACH = 64 };

/* The oracle's node: shares nothing with the heap but the id. */
typedef struct m_onode {
    uint8_t  exists, shape, fin, alive;
    uint8_t  finalized, gen, gen_alt, queued;
    uint8_t  has_cb, cb_drop, mark, pad;
    uint32_t nslots;
    int32_t *edge;     /* nslots targets, -1 = empty */
    int32_t  referent; /* weak references: id, -1 once cleared */
    uint32_t ext;      /* the program's references */
    uint32_t glist;    /* the garbage list's references */
    uint32_t in;       /* edges from live objects */
    int64_t  tmp;      /* scratch: gc_refs, counts */
    uint32_t wcb_min, wcb_max; /* callbacks allowed so far */
} m_onode;

typedef struct m_pend {
    uint32_t w, kind;
    int32_t  ref;
} m_pend;

/* Something user code did (MOP_HOOK) that the oracle applies when it
 * replays the step: `tag` orders it among the step's collections
 * (2i: before collection i started, 2i+1: while it ran). */
enum { EV_NEW, EV_WEAK, EV_TRACK, EV_UNTRACK };
typedef struct m_event {
    uint32_t kind, id, tag;
    int32_t  arg; /* EV_NEW: the shape; EV_WEAK: the referent */
} m_event;

typedef struct m_coll {
    int      gen, stopped;
    uint64_t collected, uncollectable, predicted;
} m_coll;
#define M_MAXCOLL 8

typedef struct m_ctx {
    const m_config *cfg;
    m_stats        *st;
    rc_heap        *h;
    size_t          cap;     /* capacity of the per-id arrays */
    uint32_t        next_id;
    size_t          op_no;
    int             failures, stop;

    /* ---- the program's side: what it made, holds and observed ---- */
    void    **r_ptr;
    uint32_t *r_ext;
    uint8_t  *r_shape, *r_cbmode, *r_alloc_ok;
    uint32_t *r_nfin, *r_nrel, *r_nwcb, *r_fin_hash;
    uint32_t *r_alive, *r_alive_pos; /* our objects made and not released */
    size_t    r_nalive;
    uint32_t *r_roots;               /* the program's references, by id */
    size_t    r_nroots, r_roots_cap;
    void    **r_wkeys;               /* weak reference pointer -> id */
    uint32_t *r_wvals;
    size_t    r_wcap, r_wn;
    int       r_in_coll, r_teardown, r_paused, r_enabled;
    unsigned  r_debug;

    /* ---- the step in progress ---- */
    int    st_kind, unsynced, coll_overflow, did_full;
    m_coll coll[M_MAXCOLL];
    int    ncoll;
    uint32_t *touched;
    uint8_t  *tflag;
    size_t    ntouched;
    unsigned  since_verify;

    /* ---- the oracle ---- */
    m_onode  *on;
    uint32_t *o_live, *o_live_pos; size_t o_nlive; /* live ids */
    uint32_t *o_wl, *o_wl_pos; size_t o_nwl;       /* live weak references */
    uint32_t *o_q; size_t o_nq, o_qcap;            /* count reached zero */
    uint32_t *o_list; size_t o_nlist, o_listcap;   /* scratch */
    uint32_t *o_bfs;                               /* scratch, cap */
    m_pend   *o_pend; size_t o_npend, o_pendcap;
    uint32_t *o_res; size_t o_nres, o_rescap;      /* resurrected by counting */
    uint32_t *o_keep; size_t o_nkeep, o_keepcap;   /* uncollectable in this step */
    size_t    o_zero_events;
    int       o_in_coll, o_saveall, need_census;

    /* ---- user code calling back into the API (MOP_HOOK) ---- */
    uint32_t     hk_action, hk_sites, hk_left, hk_phase;
    int          hk_unsync; /* a hook ran on the counting path in this step */
    uint64_t     hk_rs;
    int          hk_sites_on, hk_cb2_on;
    rc_snapshot *hk_snap;
    FILE        *hk_null;
    m_event     *ev;
    size_t       nev, evcap;
} m_ctx;

static m_ctx *m_cur; /* the run in progress: user code reaches it here */

M_FN void m_fail(m_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
M_FN void m_fail(m_ctx *c, const char *fmt, ...)
{
    c->failures++;
    c->stop = 1;
    int maxr = c->cfg->max_reports ? c->cfg->max_reports : 10;
    if (!c->cfg->out || c->failures > maxr) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->cfg->out, "model: MISMATCH at op %zu: ", c->op_no);
    vfprintf(c->cfg->out, fmt, ap);
    fputc('\n', c->cfg->out);
    va_end(ap);
    fflush(c->cfg->out);
}

M_FN void *m_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "model: out of memory (test harness)\n");
        abort();
    }
    return q;
}

/* xorshift64*: the generator's and the hooks' random numbers. */
static inline uint64_t m_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

#define M_GROW_ARRAY(arr, oldn, newn)                                            \
    do {                                                                         \
        (arr) = m_xrealloc((arr), (newn) * sizeof *(arr));                       \
        memset((arr) + (oldn), 0, ((newn) - (oldn)) * sizeof *(arr));            \
    } while (0)

/* Room for ids below `need`. */
M_FN void m_reserve(m_ctx *c, size_t need)
{
    if (need <= c->cap) return;
    size_t n = c->cap ? c->cap : 256;
    while (n < need) n *= 2;
    size_t o = c->cap;
    M_GROW_ARRAY(c->r_ptr, o, n);
    M_GROW_ARRAY(c->r_ext, o, n);
    M_GROW_ARRAY(c->r_shape, o, n);
    M_GROW_ARRAY(c->r_cbmode, o, n);
    M_GROW_ARRAY(c->r_alloc_ok, o, n);
    M_GROW_ARRAY(c->r_nfin, o, n);
    M_GROW_ARRAY(c->r_nrel, o, n);
    M_GROW_ARRAY(c->r_nwcb, o, n);
    M_GROW_ARRAY(c->r_fin_hash, o, n);
    M_GROW_ARRAY(c->r_alive, o, n);
    M_GROW_ARRAY(c->r_alive_pos, o, n);
    M_GROW_ARRAY(c->touched, o, n);
    M_GROW_ARRAY(c->tflag, o, n);
    M_GROW_ARRAY(c->on, o, n);
    M_GROW_ARRAY(c->o_live, o, n);
    M_GROW_ARRAY(c->o_live_pos, o, n);
    M_GROW_ARRAY(c->o_wl, o, n);
    M_GROW_ARRAY(c->o_wl_pos, o, n);
    M_GROW_ARRAY(c->o_bfs, o, n);
    c->cap = n;
}

#define M_PUSH(arr, len, capv, val)                                              \
    do {                                                                         \
        if ((len) == (capv)) {                                                   \
            size_t nc_ = (capv) ? (capv) * 2 : 64;                               \
            (arr) = m_xrealloc((arr), nc_ * sizeof *(arr));                      \
            (capv) = nc_;                                                        \
        }                                                                        \
        (arr)[(len)++] = (val);                                                  \
    } while (0)

M_FN void m_touch(m_ctx *c, uint32_t id)
{
    if (!c->tflag[id]) {
        c->tflag[id] = 1;
        c->touched[c->ntouched++] = id;
    }
}

/* ------------------------------------------------------------------ */
/* The program's side                                                  */
/* ------------------------------------------------------------------ */

static inline size_t r_whash(const m_ctx *c, const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p >> 4;
    return (size_t)((x * 0x9e3779b97f4a7c15ull) >> 20) & (c->r_wcap - 1);
}

M_FN void r_wmap_put(m_ctx *c, void *p, uint32_t id)
{
    if ((c->r_wn + 1) * 2 > c->r_wcap) {
        void **ok = c->r_wkeys;
        uint32_t *ov = c->r_wvals;
        size_t ocap = c->r_wcap;
        c->r_wcap = ocap ? ocap * 2 : 256;
        c->r_wkeys = calloc(c->r_wcap, sizeof *c->r_wkeys);
        c->r_wvals = calloc(c->r_wcap, sizeof *c->r_wvals);
        if (!c->r_wkeys || !c->r_wvals) abort();
        c->r_wn = 0;
        for (size_t i = 0; i < ocap; i++)
            if (ok[i]) r_wmap_put(c, ok[i], ov[i]);
        free(ok);
        free(ov);
    }
    size_t i = r_whash(c, p);
    while (c->r_wkeys[i] && c->r_wkeys[i] != p) i = (i + 1) & (c->r_wcap - 1);
    if (!c->r_wkeys[i]) c->r_wn++;
    c->r_wkeys[i] = p;
    c->r_wvals[i] = id;
}

M_FN int64_t r_wmap_get(const m_ctx *c, const void *p)
{
    if (!c->r_wcap) return -1;
    for (size_t i = r_whash(c, p); c->r_wkeys[i]; i = (i + 1) & (c->r_wcap - 1))
        if (c->r_wkeys[i] == p) return c->r_wvals[i];
    return -1;
}

/* The id of an object the program can see (ours by its id field, weak
 * references by the map), -1 for NULL. */
M_FN int64_t r_id_of(const m_ctx *c, const void *p)
{
    if (!p) return -1;
    if (m_type_index(rc_type_of(p)) >= 0) return ((const m_obj *)p)->id;
    int64_t id = r_wmap_get(c, p);
    return id >= 0 ? id : -2;
}

M_FN void r_root_push(m_ctx *c, uint32_t id)
{
    M_PUSH(c->r_roots, c->r_nroots, c->r_roots_cap, id);
    c->r_ext[id]++;
    m_touch(c, id);
}

M_FN uint32_t r_root_remove_at(m_ctx *c, size_t i)
{
    uint32_t id = c->r_roots[i];
    c->r_roots[i] = c->r_roots[--c->r_nroots];
    c->r_ext[id]--;
    m_touch(c, id);
    return id;
}

M_FN long r_root_find(const m_ctx *c, uint32_t id)
{
    for (size_t i = c->r_nroots; i-- > 0;)
        if (c->r_roots[i] == id) return (long)i;
    return -1;
}

static inline uint32_t m_mix(uint32_t h, uint32_t i, int64_t id)
{
    h ^= (i + 1) * 0x9e3779b1u + (uint32_t)(id + 2) * 0x85ebca6bu;
    h = (h << 13) | (h >> 19);
    return h * 5u + 0xe6546b64u;
}

/* A new object of ours, just returned by rc_new*: check it, name it. */
M_FN void r_register(m_ctx *c, uint32_t id, void *p, int shape, int fin, uint32_t nslots,
                     size_t size)
{
    m_obj *o = p;
    if ((uintptr_t)p & 15) m_fail(c, "#%u: user pointer %p not 16-byte aligned", id, p);
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++) {
        if (b[i]) {
            m_fail(c, "#%u: new object not zeroed at byte %zu", id, i);
            break;
        }
    }
    o->id = id;
    o->nslots = nslots;
    c->r_ptr[id] = p;
    c->r_shape[id] = (uint8_t)shape;
    (void)fin;
    c->r_alive_pos[id] = (uint32_t)c->r_nalive;
    c->r_alive[c->r_nalive++] = id;
    r_root_push(c, id);
    c->st->allocs++;
}

M_FN void r_register_weak(m_ctx *c, uint32_t id, rc_weakref *w, int mode)
{
    c->r_ptr[id] = w;
    c->r_shape[id] = SH_WEAK;
    c->r_cbmode[id] = (uint8_t)mode;
    r_wmap_put(c, w, id);
    r_root_push(c, id);
    c->st->allocs++;
}

M_FN void m_check_enomem(m_ctx *c, const char *what)
{
    int e = rc_last_error(c->h);
    c->st->enomem++;
    if (!c->cfg->fail_after && !c->cfg->memory_limit)
        m_fail(c, "%s failed with no fault injected (error %d: %s)", what, e, rc_strerror(e));
    else if (e != RC_ENOMEM)
        m_fail(c, "%s failed with error %d (%s), not RC_ENOMEM", what, e, rc_strerror(e));
}

/* ---- user code: traverse, finalizers, release, callbacks ---- */

static int m_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    m_obj *o = obj;
    for (uint32_t i = 0; i < o->nslots; i++) {
        if (o->slot[i]) {
            int r = visit(&o->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static void m_wcb(rc_weakref *w, void *data);
/* Where a hook runs (MOP_HOOK's b). */
enum { HS_FIN = 1, HS_REL = 2, HS_WCB = 4, HS_START = 8, HS_STOP = 16, HS_ALL = 31 };
static void m_hook(m_ctx *c, unsigned site);

/* The weak reference an /alloc finalizer makes to its object: callback
 * mode 1 (record) or 2 (record and drop the program's reference). */
static inline int m_alloc_wmode(uint32_t wid) { return 1 + (int)(wid & 1); }

static void m_fin_alloc(m_ctx *c, void *obj, uint32_t id)
{
    uint8_t bits = 0x80;
    int container = c->r_in_coll;
    if (container) bits |= 4;
    void *ch = container ? rc_new(c->h, &m_types[SH_NODE][FIN_NONE])
                         : rc_new(c->h, &m_types[SH_ATOM][FIN_NONE]);
    if (ch) {
        r_register(c, id + 1, ch, container ? SH_NODE : SH_ATOM, FIN_NONE,
                   container ? M_NODE_SLOTS : 0, container ? M_NODE_SIZE : sizeof(m_obj));
        bits |= 1;
    } else {
        m_check_enomem(c, "rc_new in a finalizer");
    }
    rc_weakref *w = rc_weakref_new(obj, m_wcb, (void *)(uintptr_t)(id + 2));
    if (w) {
        r_register_weak(c, id + 2, w, m_alloc_wmode(id + 2));
        bits |= 2;
    } else {
        m_check_enomem(c, "rc_weakref_new in a finalizer");
    }
    c->r_alloc_ok[id] = bits;
}

static void m_finalize(void *obj)
{
    m_ctx *c = m_cur;
    m_obj *o = obj;
    uint32_t id = o->id;
    int ti = m_type_index(rc_type_of(obj));
    int shape = ti / FIN_N, fin = ti % FIN_N;
    c->r_nfin[id]++;
    m_touch(c, id);
    c->st->finalizers++;
    uint32_t h = 0;
    if (shape != SH_ATOM)
        for (uint32_t i = 0; i < o->nslots; i++) h = m_mix(h, i, r_id_of(c, o->slot[i]));
    c->r_fin_hash[id] = h;
    switch (fin) {
    case FIN_RESURRECT:
        rc_incref(obj);
        r_root_push(c, id);
        break;
    case FIN_ALLOC:
        m_fin_alloc(c, obj, id);
        break;
    case FIN_DROP:
        if (shape != SH_ATOM)
            for (uint32_t i = 0; i < o->nslots; i++) rc_clearref(&o->slot[i]);
        break;
    default:
        break;
    }    m_hook(c, HS_FIN);
}

static void m_release(void *obj)
{
    m_ctx *c = m_cur;
    m_obj *o = obj;
    uint32_t id = o->id;
    if (id >= c->cap || c->r_ptr[id] != obj) {
        m_fail(c, "release of an object the program never made (%p)", obj);
        return;
    }
    c->r_nrel[id]++;
    c->st->releases++;
    m_touch(c, id);
    if (!c->r_teardown && c->r_shape[id] != SH_ATOM) {
        for (uint32_t i = 0; i < o->nslots; i++) {
            if (o->slot[i]) {
                m_fail(c, "#%u released with slot %u still set", id, i);
                break;
            }
        }
    }
    if (c->r_nrel[id] == 1) {
        uint32_t p = c->r_alive_pos[id], last = c->r_alive[--c->r_nalive];
        c->r_alive[p] = last;
        c->r_alive_pos[last] = p;
    }    if (!c->r_teardown) m_hook(c, HS_REL);
}

static void m_wcb(rc_weakref *w, void *data)
{
    m_ctx *c = m_cur;
    uint32_t id = (uint32_t)(uintptr_t)data;
    c->r_nwcb[id]++;
    c->st->callbacks++;
    m_touch(c, id);
    void *p = rc_weakref_get(w);
    if (p) {
        m_fail(c, "weakref #%u: its callback still sees the referent", id);
        rc_decref(p);
    }
    if (c->r_cbmode[id] == 2) {
        long i = r_root_find(c, id);
        if (i >= 0) {
            r_root_remove_at(c, (size_t)i);
            rc_decref(w);
        }
    }    m_hook(c, HS_WCB);
}

/* ---- user code calling back into the API (MOP_HOOK) ---- */

/* What a hook does (MOP_HOOK's a). */
enum {
    HK_COLLECT, HK_COLLECT_IF_DUE, HK_FREEZE, HK_UNFREEZE, HK_WALK, HK_REFS, HK_SNAPSHOT,
    HK_WHY, HK_LEAK, HK_CHECK, HK_MEMSTATS, HK_SITES, HK_SETTINGS, HK_ALLOC, HK_TRACK,
    HK_COUNT,
    HK_ANY = HK_COUNT /* a different one at each run, at random */
};
static const char *const m_hook_names[HK_COUNT + 1] = {
    "collect", "collect_if_due", "freeze", "unfreeze", "walk", "referrers/referents",
    "snapshot", "why-alive", "leak report", "heap check", "memory stats", "sites",
    "settings", "allocate", "untrack/track", "any"};

M_FN void m_note_event(m_ctx *c, uint32_t kind, uint32_t id, int32_t arg)
{
    m_event e = {kind, id, c->hk_phase, arg};
    M_PUSH(c->ev, c->nev, c->evcap, e);
}

/* One of the program's references, chosen by r (-1: none); want_container:
 * only a node or var object. */
M_FN int32_t m_pick_root(const m_ctx *c, uint32_t r, int want_container)
{
    size_t n = c->r_nroots;
    for (size_t k = 0, start = n ? r % n : 0; k < n; k++) {
        uint32_t id = c->r_roots[(start + k) % n];
        int sh = c->r_shape[id];
        if (sh == SH_WEAK && want_container) continue;
        if (want_container && sh == SH_ATOM) continue;
        return (int32_t)id;
    }
    return -1;
}

/* What a walk reports must be a live object of ours, held by something. */
M_FN int m_hook_check_obj(m_ctx *c, const void *obj, const char *what)
{
    int64_t id = r_id_of(c, obj);
    if (id < 0 || (uint64_t)id >= c->next_id || c->r_ptr[id] != obj) {
        m_fail(c, "%s reported %p, not an object of the program's", what, obj);
        return 1;
    }
    if (c->r_shape[id] != SH_WEAK && c->r_nrel[id]) {
        m_fail(c, "%s reported #%lld, which was released", what, (long long)id);
        return 1;
    }
    if (rc_refcount(obj) == 0) {
        m_fail(c, "%s reported #%lld, whose count is 0 (it is being freed)", what,
               (long long)id);
        return 1;
    }
    return 0;
}

static int m_hook_walk(void *obj, void *arg) { return m_hook_check_obj(arg, obj, "a walk"); }

typedef struct m_refs_arg {
    m_ctx      *c;
    const void *target;
    size_t      n;
} m_refs_arg;

static int m_hook_referent(void *obj, void *arg)
{
    m_refs_arg *ra = arg;
    ra->n++;
    return m_hook_check_obj(ra->c, obj, "rc_gc_get_referents");
}

static int m_hook_referrer(void *obj, void *arg)
{
    m_refs_arg *ra = arg;
    if (m_hook_check_obj(ra->c, obj, "rc_gc_get_referrers")) return 1;
    const m_obj *o = obj;
    for (uint32_t s = 0; s < o->nslots; s++)
        if (o->slot[s] == ra->target) return 0;
    m_fail(ra->c, "rc_gc_get_referrers reported #%u, which does not refer to the object", o->id);
    return 1;
}

static void m_gc_cb2(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)h, (void)phase, (void)info;
    ++*(uint64_t *)data;
}
static uint64_t m_cb2_calls;

/* The program's user code (finalizer, release, weak-reference callback, gc
 * callback) calls back into the API, as docs/API.md "Calling the API from
 * user code" allows.  During a collection the results are exact (collect
 * returns 0, freeze is refused, why-alive says RC_EBUSY, and so on); on the
 * counting path a collection or a freeze in the middle of a free is not
 * followed step by step: the step is re-read (m_resync) after its checks. */
static void m_hook(m_ctx *c, unsigned site)
{
    if (!c->hk_left || !(c->hk_sites & site) || c->stop || c->st_kind == ST_FREE) return;
    c->hk_left--;
    rc_heap *h = c->h;
    int in_coll = c->r_in_coll;
    uint32_t r = (uint32_t)(m_rand(&c->hk_rs) >> 16);
    uint32_t action = c->hk_action == HK_ANY ? r % HK_COUNT : c->hk_action;
    r = (uint32_t)(m_rand(&c->hk_rs) >> 16);
    c->st->hooks++;
    if (in_coll) c->st->hooks_in_collection++;
    else c->hk_unsync = 1; /* it may collect or freeze in the middle of a free */
    if (c->cfg->trace && c->cfg->out)
        fprintf(c->cfg->out, "         hook in a %s%s: %s\n",
                site == HS_FIN ? "finalizer" : site == HS_REL ? "release"
                : site == HS_WCB ? "weakref callback" : site == HS_START ? "gc callback (start)"
                : "gc callback (stop)", in_coll ? ", during a collection" : "",
                m_hook_names[action]);
    switch (action) {
    case HK_COLLECT:
    case HK_COLLECT_IF_DUE: {
        int n0 = c->ncoll, g = (int)(r % 3);
        long ret = action == HK_COLLECT ? rc_gc_collect(h, g) : rc_gc_collect_if_due(h);
        if (in_coll) {
            if (ret != 0 || c->ncoll != n0)
                m_fail(c, "a collection from user code during a collection returned %ld and "
                          "ran %d", ret, c->ncoll - n0);
        } else {
            if (ret < 0) m_fail(c, "rc_gc_collect(%d) from user code returned %ld", g, ret);
            if (c->ncoll != n0 || c->coll_overflow) {
                c->st->hook_collections++;
                c->unsynced = 1;
            }
        }
        break;
    }
    case HK_FREEZE:
    case HK_UNFREEZE: {
        size_t fc = rc_gc_get_freeze_count(h);
        if (action == HK_FREEZE) rc_gc_freeze(h);
        else rc_gc_unfreeze(h);
        if (in_coll) {
            if (rc_last_error(h) != RC_EBUSY || rc_gc_get_freeze_count(h) != fc)
                m_fail(c, "rc_gc_%s during a collection: error %d, freeze count %zu -> %zu "
                          "(API.md: RC_EBUSY, no effect)", action == HK_FREEZE
                          ? "freeze" : "unfreeze", rc_last_error(h), fc,
                       rc_gc_get_freeze_count(h));
        } else {
            c->unsynced = 1;
        }
        break;
    }
    case HK_WALK: {
        int g = (int)(r % 4) - 1;
        int ret = rc_gc_get_objects(h, g, m_hook_walk, c);
        if (ret != 0 && !c->stop) m_fail(c, "rc_gc_get_objects(%d) from user code: %d", g, ret);
        break;
    }
    case HK_REFS: {
        int32_t id = m_pick_root(c, r, 0);
        if (id < 0) break;
        void *p = c->r_ptr[id];
        m_refs_arg ra = {c, p, 0};
        int ret = rc_gc_get_referents(p, m_hook_referent, &ra);
        size_t want = 0;
        if (c->r_shape[id] == SH_NODE || c->r_shape[id] == SH_VAR) {
            const m_obj *o = p;
            for (uint32_t s = 0; s < o->nslots; s++) want += o->slot[s] != NULL;
        }
        if (!c->stop && (ret != 0 || ra.n != want))
            m_fail(c, "rc_gc_get_referents(#%d) from user code: %d, %zu reported, %zu slots set",
                   id, ret, ra.n, want);
        ret = rc_gc_get_referrers(h, p, m_hook_referrer, &ra);
        if (ret != 0 && !c->stop)
            m_fail(c, "rc_gc_get_referrers(#%d) from user code: %d", id, ret);
        break;
    }
    case HK_SNAPSHOT: {
        rc_snapshot *s = rc_snapshot_take(h);
        if (!s) {
            int e = rc_last_error(h);
            if (e != RC_ENOMEM && !(in_coll && e == RC_EBUSY))
                m_fail(c, "rc_snapshot_take from user code failed: %d", e);
            break;
        }
        rc_stat tot;
        long long held = 0; /* what the program holds is alive (a collection hides what
                               it examines) */
        for (size_t k = 0; k < c->r_nalive; k++) held += c->r_ext[c->r_alive[k]] > 0;
        if (rc_snapshot_total(s, &tot) != 0 || (!in_coll && tot.count < held))
            m_fail(c, "snapshot from user code: %lld objects, the program holds %lld", tot.count,
                   held);
        if (c->hk_snap) {
            rc_snapshot *d = rc_snapshot_diff(c->hk_snap, s);
            if (d) {
                if (rc_snapshot_print(d, (int)(r % 3), 4, c->hk_null) != 0)
                    m_fail(c, "rc_snapshot_print of a diff failed");
                rc_snapshot_free(d);
            } else if (rc_last_error(h) != RC_ENOMEM && rc_last_error(NULL) != RC_ENOMEM) {
                m_fail(c, "rc_snapshot_diff from user code failed");
            }
            rc_snapshot_free(c->hk_snap);
        }
        c->hk_snap = s;
        break;
    }
    case HK_WHY: {
        int32_t id = m_pick_root(c, r, 0);
        if (id < 0) break;
        void *p = c->r_ptr[id], *chain[8];
        size_t len = 0;
        int v = rc_why_alive(h, p, c->hk_null);
        int v2 = rc_why_alive_chain(h, p, chain, 8, &len);
        int d = rc_dump_dot(h, p, 2, (int)(r & 1), c->hk_null);
        if (in_coll) {
            if (v != -1 || v2 != -1 || d != -1 || rc_last_error(h) != RC_EBUSY)
                m_fail(c, "why-alive / DOT during a collection: %d, %d, %d (API.md: RC_EBUSY)",
                       v, v2, d);
        } else if (v == -1 && rc_last_error(h) == RC_ENOMEM) {
            break;
        } else if (v != RC_HELD_OUTSIDE || v2 != RC_HELD_OUTSIDE || d != 0 || len < 1 ||
                   (len <= 8 && chain[len - 1] != p)) {
            m_fail(c, "why-alive of #%d, which the program holds, from user code: %d, %d "
                      "(chain of %zu), DOT %d", id, v, v2, len, d);
        }
        break;
    }
    case HK_LEAK: {
        int ret = rc_leak_report(h, 1 + r % 4, c->hk_null);
        if (ret != 0 && !(in_coll && rc_last_error(h) == RC_EBUSY) &&
            rc_last_error(h) != RC_ENOMEM)
            m_fail(c, "rc_leak_report from user code: %d (error %d)", ret, rc_last_error(h));
        break;
    }
    case HK_CHECK:
        if (rc_heap_check(h, c->cfg->out) != 0)
            m_fail(c, "rc_heap_check from user code failed%s", in_coll ? " (in a collection)"
                                                                     : "");
        break;
    case HK_MEMSTATS: {
        rc_memory_stats ms;
        rc_gen_stats gs[3];
        size_t cnt[3];
        rc_gc_get_stats(h, gs);
        rc_gc_get_count(h, cnt);
        if (rc_heap_memory_stats(h, &ms) != 0 || ms.bytes_in_use > ms.bytes_from_os ||
            ms.bytes_in_use < c->r_nalive * sizeof(m_obj) ||
            (c->cfg->memory_limit && ms.bytes_in_use > c->cfg->memory_limit))
            m_fail(c, "memory stats from user code: %zu bytes in use, %zu from the system, "
                      "%zu objects of the program's, limit %zu", ms.bytes_in_use,
                   ms.bytes_from_os, c->r_nalive, c->cfg->memory_limit);
        break;
    }
    case HK_SITES: {
        int ret = c->hk_sites_on ? rc_sites_stop(h) : rc_sites_start(h, (int)(r % 3), 1 + r % 3);
        if (ret == 0) c->hk_sites_on = !c->hk_sites_on;
        else if (rc_last_error(h) != RC_ENOMEM)
            m_fail(c, "rc_sites_%s from user code: %d", c->hk_sites_on ? "stop" : "start", ret);
        int32_t id = m_pick_root(c, r >> 4, 0);
        rc_site where;
        if (id >= 0 && rc_site_of(c->r_ptr[id], &where) != 0 && rc_last_error(NULL) != RC_ENOENT &&
            rc_last_error(h) != RC_ENOENT)
            m_fail(c, "rc_site_of(#%d) from user code failed", id);
        break;
    }
    case HK_SETTINGS: {
        int was = rc_gc_disable(h);
        if (was != c->r_enabled) m_fail(c, "rc_gc_disable from user code returned %d", was);
        if (was) rc_gc_enable(h);
        size_t t[3], t2[3];
        rc_gc_get_threshold(h, t);
        rc_gc_set_threshold(h, t[0], t[1], t[2]);
        rc_gc_get_threshold(h, t2);
        if (memcmp(t, t2, sizeof t)) m_fail(c, "thresholds not kept from user code");
        rc_gc_set_debug(h, c->r_debug | RC_DEBUG_STATS);
        rc_gc_set_debug_stream(h, c->hk_null);
        if (r & 1) rc_gc_set_debug(h, c->r_debug);
        int d = rc_gc_pause(h);
        if (d != c->r_paused + 1 || rc_gc_resume(h) != c->r_paused)
            m_fail(c, "pause/resume from user code: depth %d", d);
        int ret = c->hk_cb2_on ? rc_gc_callback_remove(h, m_gc_cb2, &m_cb2_calls)
                               : rc_gc_callback_add(h, m_gc_cb2, &m_cb2_calls);
        if (ret == 0) c->hk_cb2_on = !c->hk_cb2_on;
        else m_fail(c, "rc_gc_callback_%s from user code failed", c->hk_cb2_on ? "remove" : "add");
        break;
    }
    case HK_ALLOC: {
        uint32_t id = c->next_id++;
        m_reserve(c, c->next_id);
        int kind = (int)(r % 3);
        if (kind == 2) {
            int32_t t = m_pick_root(c, r >> 2, 0);
            if (t < 0 || c->r_shape[t] == SH_WEAK) kind = 0;
            else {
                rc_weakref *w = rc_weakref_new(c->r_ptr[t], m_wcb, (void *)(uintptr_t)id);
                if (!w) {
                    m_check_enomem(c, "rc_weakref_new in user code");
                    break;
                }
                r_register_weak(c, id, w, 1);
                m_note_event(c, EV_WEAK, id, t);
                c->st->hook_allocs++;
                break;
            }
        }
        int shape = kind == 0 ? SH_ATOM : SH_NODE;
        void *p = rc_new(h, &m_types[shape][FIN_NONE]);
        if (!p) {
            m_check_enomem(c, "rc_new in user code");
            break;
        }
        r_register(c, id, p, shape, FIN_NONE, shape == SH_NODE ? M_NODE_SLOTS : 0,
                   shape == SH_NODE ? M_NODE_SIZE : sizeof(m_obj));
        m_note_event(c, EV_NEW, id, shape);
        c->st->hook_allocs++;
        break;
    }
    case HK_TRACK: {
        int32_t id = m_pick_root(c, r, 1);
        if (id < 0) break;
        void *p = c->r_ptr[id];
        if (rc_is_tracked(p)) {
            rc_untrack(p);
            if (rc_is_tracked(p)) m_fail(c, "#%d still tracked after rc_untrack", id);
            m_note_event(c, EV_UNTRACK, (uint32_t)id, 0);
            c->st->untracked++;
        } else {
            rc_track(p);
            if (rc_is_tracked(p)) m_note_event(c, EV_TRACK, (uint32_t)id, 0);
            else if (rc_last_error(h) != RC_ENOMEM) m_fail(c, "rc_track of #%d failed", id);
        }
        break;
    }
    default:
        break;
    }
}

static void m_gc_cb(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)h;
    m_ctx *c = data;
    if (phase == RC_GC_START) {
        if (c->st_kind == ST_PROG) c->unsynced = 1;
        if (c->ncoll < M_MAXCOLL) {
            m_coll *k = &c->coll[c->ncoll++];
            memset(k, 0, sizeof *k);
            k->gen = info->generation;
        } else {
            c->coll_overflow = 1;
        }
        c->r_in_coll = 1;
        c->st->collections++;
        c->hk_phase = c->coll_overflow ? 2 * M_MAXCOLL + 1 : 2 * (uint32_t)c->ncoll - 1;
        m_hook(c, HS_START);
    } else {
        if (!c->coll_overflow && c->ncoll > 0) {
            m_coll *k = &c->coll[c->ncoll - 1];
            k->stopped = 1;
            k->collected = info->collected;
            k->uncollectable = info->uncollectable;
        }
        m_hook(c, HS_STOP);
        c->r_in_coll = 0;
        c->hk_phase = c->coll_overflow ? 2 * M_MAXCOLL + 2 : 2 * (uint32_t)c->ncoll;
        if (c->st_kind == ST_FREE) c->r_teardown = 1;
    }
}

/* ------------------------------------------------------------------ */
/* The oracle                                                          */
/* ------------------------------------------------------------------ */

static inline uint32_t o_count(const m_onode *n) { return n->ext + n->glist + n->in; }
static inline int o_container(const m_onode *n)
{
    return n->shape == SH_NODE || n->shape == SH_VAR;
}
/* A container the program untracked: no collection sees it, so it lives
 * until counting frees it (and keeps alive what it reaches). */
static inline int o_untracked(const m_onode *n) { return o_container(n) && n->gen == G_NONE; }

M_FN void o_live_add(m_ctx *c, uint32_t id)
{
    c->o_live_pos[id] = (uint32_t)c->o_nlive;
    c->o_live[c->o_nlive++] = id;
}
M_FN void o_live_del(m_ctx *c, uint32_t id)
{
    uint32_t p = c->o_live_pos[id], last = c->o_live[--c->o_nlive];
    c->o_live[p] = last;
    c->o_live_pos[last] = p;
}
M_FN void o_wl_add(m_ctx *c, uint32_t id)
{
    c->o_wl_pos[id] = (uint32_t)c->o_nwl;
    c->o_wl[c->o_nwl++] = id;
}
M_FN void o_wl_del(m_ctx *c, uint32_t id)
{
    uint32_t p = c->o_wl_pos[id], last = c->o_wl[--c->o_nwl];
    c->o_wl[p] = last;
    c->o_wl_pos[last] = p;
}

M_FN void o_create(m_ctx *c, uint32_t id, int shape, int fin, uint32_t nslots)
{
    m_onode *n = &c->on[id];
    memset(n, 0, sizeof *n);
    n->exists = n->alive = 1;
    n->shape = (uint8_t)shape;
    n->fin = (uint8_t)fin;
    n->nslots = nslots;
    n->gen = (shape == SH_NODE || shape == SH_VAR) ? 0 : G_NONE;
    n->gen_alt = G_SURE;
    n->referent = -1;
    n->ext = 1; /* the program holds the new reference */
    if (nslots) {
        n->edge = m_xrealloc(NULL, nslots * sizeof *n->edge);
        for (uint32_t i = 0; i < nslots; i++) n->edge[i] = -1;
    }
    o_live_add(c, id);
    m_touch(c, id);
}

M_FN void o_create_weak(m_ctx *c, uint32_t id, uint32_t referent, int has_cb, int cb_drop)
{
    o_create(c, id, SH_WEAK, FIN_NONE, 0);
    m_onode *n = &c->on[id];
    n->has_cb = (uint8_t)has_cb;
    n->cb_drop = (uint8_t)cb_drop;
    if (c->on[referent].alive)
        n->referent = (int32_t)referent;
    else if (!c->unsynced) /* else m_resync reads the heap's */
        m_fail(c, "weakref #%u made to #%u, which the oracle says is dead", id, referent);
    o_wl_add(c, id);
}

M_FN void o_zero_check(m_ctx *c, uint32_t id)
{
    m_onode *n = &c->on[id];
    if (n->alive && !n->queued && o_count(n) == 0) {
        n->queued = 1;
        M_PUSH(c->o_q, c->o_nq, c->o_qcap, id);
    }
}

M_FN void o_pend(m_ctx *c, uint32_t w, uint32_t kind, int32_t ref)
{
    m_pend p = {w, kind, ref};
    M_PUSH(c->o_pend, c->o_npend, c->o_pendcap, p);
}

/* A weak reference's callback is due: record it and do what it does. */
M_FN void o_callback(m_ctx *c, uint32_t w, int exact)
{
    m_onode *n = &c->on[w];
    o_pend(c, w, (exact || n->ext > 0) ? PEND_EXACT : PEND_IF_ALIVE, -1);
    if (n->cb_drop && n->ext > 0) {
        n->ext--;
        m_touch(c, w);
        o_zero_check(c, w);
    }
}

M_FN uint32_t o_edge_hash(const m_onode *n)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < n->nslots; i++) h = m_mix(h, i, n->edge[i]);
    return h;
}

M_FN void o_drop_edges(m_ctx *c, m_onode *n)
{
    for (uint32_t s = 0; s < n->nslots; s++) {
        int32_t t = n->edge[s];
        if (t >= 0) {
            n->edge[s] = -1;
            c->on[t].in--;
            o_zero_check(c, (uint32_t)t);
        }
    }
}

/* What the finalizer of d does (the program's side of it is m_finalize). */
M_FN void o_fin_effect(m_ctx *c, uint32_t d)
{
    m_onode *n = &c->on[d];
    if (c->r_nfin[d] && o_edge_hash(n) != c->r_fin_hash[d])
        m_fail(c, "#%u%s: its finalizer saw slots other than the oracle's (not intact)", d,
               m_fin_names[n->fin]);
    switch (n->fin) {
    case FIN_RESURRECT:
        n->ext++;
        break;
    case FIN_ALLOC: {
        uint8_t bits = c->r_alloc_ok[d];
        if (!(bits & 0x80)) break; /* it did not run: reported by the comparison */
        int container = c->o_in_coll;
        if (!!(bits & 4) != container)
            m_fail(c, "#%u's finalizer ran %s a collection; the oracle expected %s", d,
                   (bits & 4) ? "inside" : "outside", container ? "inside" : "outside");
        if (bits & 1)
            o_create(c, d + 1, (bits & 4) ? SH_NODE : SH_ATOM, FIN_NONE,
                     (bits & 4) ? M_NODE_SLOTS : 0);
        if (bits & 2) o_create_weak(c, d + 2, d, 1, m_alloc_wmode(d + 2) == 2);
        break;
    }
    case FIN_DROP:
        o_drop_edges(c, n);
        break;
    default:
        break;
    }
}

/* The count of d reached zero: the counting path of API.md. */
M_FN void o_free(m_ctx *c, uint32_t d)
{
    m_onode *n = &c->on[d];
    n->queued = 0;
    if (!n->alive || o_count(n) > 0) return;
    c->o_zero_events++;
    if (n->fin != FIN_NONE && !n->finalized) {
        n->finalized = 1;
        m_touch(c, d);
        o_fin_effect(c, d);
        if (o_count(n) > 0) { /* resurrected */
            if (o_container(n)) M_PUSH(c->o_res, c->o_nres, c->o_rescap, d);
            return;
        }
    }
    n->alive = 0;
    m_touch(c, d);
    /* Its weak references are cleared and their callbacks run, before its
     * references are dropped: one it holds itself is certainly alive then. */
    for (size_t k = 0; k < c->o_nwl; k++) {
        m_onode *w = &c->on[c->o_wl[k]];
        if (w->referent == (int32_t)d) {
            w->referent = -1;
            int held = 0;
            for (uint32_t s = 0; s < n->nslots && !held; s++)
                held = n->edge[s] == (int32_t)c->o_wl[k];
            if (w->has_cb) o_callback(c, c->o_wl[k], held);
        }
    }
    if (n->shape == SH_WEAK) {
        if (n->referent >= 0 && n->has_cb) o_pend(c, d, PEND_IF_REFDEAD, n->referent);
        n->referent = -1;
        o_wl_del(c, d);
    }
    o_drop_edges(c, n);
    o_live_del(c, d);
}

M_FN void o_drain(m_ctx *c)
{
    while (c->o_nq) o_free(c, c->o_q[--c->o_nq]);
}

/* ---- program actions, as the oracle sees them ---- */

M_FN void o_set(m_ctx *c, uint32_t src, uint32_t slot, int32_t tgt)
{
    m_onode *n = &c->on[src];
    int32_t old = n->edge[slot];
    if (tgt >= 0) c->on[tgt].in++;
    n->edge[slot] = tgt;
    if (old >= 0) {
        c->on[old].in--;
        o_zero_check(c, (uint32_t)old);
    }
    o_drain(c);
}

M_FN void o_ext_inc(m_ctx *c, uint32_t id)
{
    c->on[id].ext++;
    m_touch(c, id);
}

M_FN void o_ext_dec(m_ctx *c, uint32_t id)
{
    c->on[id].ext--;
    m_touch(c, id);
    o_zero_check(c, id);
    o_drain(c);
}

M_FN void o_gclear(m_ctx *c)
{
    for (size_t k = 0; k < c->o_nlive; k++) {
        m_onode *n = &c->on[c->o_live[k]];
        if (n->glist) {
            n->glist = 0;
            m_touch(c, c->o_live[k]);
        }
    }
    for (size_t k = 0; k < c->o_nlive; k++) o_zero_check(c, c->o_live[k]);
    o_drain(c);
}

M_FN void o_freeze(m_ctx *c, int freeze)
{
    for (size_t k = 0; k < c->o_nlive; k++) {
        m_onode *n = &c->on[c->o_live[k]];
        if (!o_container(n) || n->gen == G_NONE) continue;
        if (freeze) {
            n->gen = G_FROZEN;
            n->gen_alt = G_SURE;
        } else if (n->gen == G_FROZEN) {
            n->gen = 2;
        }
    }
}

/* ---- a collection, as docs/API.md describes it ---- */

/* The collector's weak reference step over the set marked `bit`: weak
 * references whose every reference comes from the set are cleared with no
 * callback; weak references to the set are cleared, and the callbacks of
 * the others run. */
M_FN void o_wr_step(m_ctx *c, uint8_t bit)
{
    int any = 0;
    for (size_t k = 0; k < c->o_nwl; k++) {
        m_onode *w = &c->on[c->o_wl[k]];
        w->tmp = 0;
        if (w->referent >= 0) any = 1;
    }
    if (!any) return;
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (!(n->mark & bit) || !n->alive) continue;
        for (uint32_t s = 0; s < n->nslots; s++)
            if (n->edge[s] >= 0 && c->on[n->edge[s]].shape == SH_WEAK) c->on[n->edge[s]].tmp++;
    }
    for (size_t k = 0; k < c->o_nwl; k++) {
        m_onode *w = &c->on[c->o_wl[k]];
        if (w->referent >= 0 && w->tmp > 0 && (uint64_t)w->tmp == o_count(w)) {
            w->referent = -1;
            c->st->trash_weakrefs++;
        }
    }
    for (size_t k = 0; k < c->o_nwl; k++) {
        m_onode *w = &c->on[c->o_wl[k]];
        if (w->referent < 0) continue;
        m_onode *r = &c->on[w->referent];
        if ((r->mark & bit) && r->alive) {
            w->referent = -1;
            if (w->has_cb) o_callback(c, c->o_wl[k], 1);
        }
    }
}

/* Marks with `bit` every object of the scratch list carrying `within`
 * that the objects already marked `bit` reach through such objects. */
M_FN void o_propagate(m_ctx *c, uint8_t within, uint8_t bit)
{
    size_t qh = 0, qt = 0;
    for (size_t k = 0; k < c->o_nlist; k++)
        if (c->on[c->o_list[k]].mark & bit) c->o_bfs[qt++] = c->o_list[k];
    while (qh < qt) {
        m_onode *n = &c->on[c->o_bfs[qh++]];
        for (uint32_t s = 0; s < n->nslots; s++) {
            int32_t t = n->edge[s];
            if (t < 0) continue;
            m_onode *m = &c->on[t];
            if ((m->mark & within) == within && m->alive && !(m->mark & bit)) {
                m->mark |= bit;
                c->o_bfs[qt++] = (uint32_t)t;
            }
        }
    }
}

/* Before a full collection: what is reachable now may outlive it even if it
 * is unreachable afterwards (its holder, frozen or uncollectable, may die
 * by counting while the garbage is deleted): o_reach_check exempts it. */
M_FN void o_note_reachable(m_ctx *c)
{
    size_t qh = 0, qt = 0;
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        if (n->ext > 0 || n->glist > 0 || n->gen == G_FROZEN || o_untracked(n)) {
            n->mark = MK_REACH;
            c->o_bfs[qt++] = id;
        }
    }
    while (qh < qt) {
        m_onode *n = &c->on[c->o_bfs[qh++]];
        for (uint32_t s = 0; s < n->nslots; s++) {
            int32_t t = n->edge[s];
            if (t >= 0 && c->on[t].alive && !c->on[t].mark) {
                c->on[t].mark = MK_REACH;
                c->o_bfs[qt++] = (uint32_t)t;
            }
        }
    }
    for (size_t i = 0; i < qt; i++) {
        c->on[c->o_bfs[i]].mark = 0;
        M_PUSH(c->o_keep, c->o_nkeep, c->o_keepcap, c->o_bfs[i]);
    }
}

M_FN void o_collect(m_ctx *c, int g, uint64_t *collected, uint64_t *uncollectable)
{
    c->o_in_coll = 1;
    if (g == 2) o_note_reachable(c);
    /* The examined set S: the tracked objects of generations 0..g. */
    c->o_nlist = 0;
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        if (!o_container(n) || n->gen == G_FROZEN) continue;
        if (n->gen_alt != G_SURE && ((n->gen <= g) != (n->gen_alt <= g))) c->unsynced = 1;
        if (n->gen > g) continue;
        n->mark = MK_S;
        M_PUSH(c->o_list, c->o_nlist, c->o_listcap, id);
    }
    /* Referenced from outside S: count minus references from inside. */
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        n->tmp = o_count(n);
    }
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        for (uint32_t s = 0; s < n->nslots; s++)
            if (n->edge[s] >= 0 && (c->on[n->edge[s]].mark & MK_S)) c->on[n->edge[s]].tmp--;
    }
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (n->tmp < 0) m_fail(c, "oracle: #%u has more references than its count", c->o_list[k]);
        if (n->tmp > 0) n->mark |= MK_R;
    }
    o_propagate(c, MK_S, MK_R);
    /* Legacy finalizers and all they reach are uncollectable. */
    uint64_t unc = 0;
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (!(n->mark & MK_R) && n->fin == FIN_LEGACY) n->mark |= MK_L;
    }
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (!(n->mark & MK_R)) n->mark |= MK_G; /* provisional: U */
    }
    o_propagate(c, MK_G, MK_L);
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (n->mark & MK_L) {
            n->mark &= (uint8_t)~MK_G;
            unc++;
            M_PUSH(c->o_keep, c->o_nkeep, c->o_keepcap, c->o_list[k]);
        }
    }
    /* Step 5: weak references to the garbage G, before any finalizer. */
    o_wr_step(c, MK_G);
    o_drain(c);
    /* Step 6: finalizers of G, once each. */
    for (size_t k = 0; k < c->o_nlist; k++) {
        uint32_t id = c->o_list[k];
        m_onode *n = &c->on[id];
        if (!(n->mark & MK_G) || !n->alive || n->fin == FIN_NONE || n->finalized) continue;
        n->finalized = 1;
        m_touch(c, id);
        o_fin_effect(c, id);
        o_drain(c);
    }
    /* Step 7: what the finalizers resurrected survives, with all it reaches. */
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if ((n->mark & MK_G) && n->alive) n->tmp = o_count(n);
    }
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (!(n->mark & MK_G) || !n->alive) continue;
        for (uint32_t s = 0; s < n->nslots; s++) {
            int32_t t = n->edge[s];
            if (t >= 0 && (c->on[t].mark & MK_G) && c->on[t].alive) c->on[t].tmp--;
        }
    }
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if ((n->mark & MK_G) && n->alive && n->tmp > 0) n->mark |= MK_R3;
    }
    o_propagate(c, MK_G, MK_R3);
    for (size_t k = 0; k < c->o_nlist; k++)
        if (c->on[c->o_list[k]].mark & MK_R3) c->st->resurrected++;
    uint64_t col = 0;
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if ((n->mark & MK_G) && n->alive && !(n->mark & MK_R3)) {
            n->mark |= MK_G3;
            col++;
        }
    }
    /* Step 8: weak references made meanwhile to the final garbage G3. */
    o_wr_step(c, MK_G3);
    o_drain(c);
    /* Step 9. */
    for (size_t k = 0; k < c->o_nlist; k++) {
        uint32_t id = c->o_list[k];
        m_onode *n = &c->on[id];
        if ((n->mark & MK_L) && (c->o_saveall || n->fin == FIN_LEGACY)) {
            n->glist++;
            m_touch(c, id);
        }
    }
    if (c->o_saveall) {
        for (size_t k = 0; k < c->o_nlist; k++) {
            uint32_t id = c->o_list[k];
            m_onode *n = &c->on[id];
            if ((n->mark & MK_G3) && n->alive) {
                n->glist++;
                c->st->saveall_saved++;
                m_touch(c, id);
            }
        }
    } else {
        for (size_t k = 0; k < c->o_nlist; k++) {
            m_onode *n = &c->on[c->o_list[k]];
            if ((n->mark & MK_G3) && n->alive) o_drop_edges(c, n);
        }
        for (size_t k = 0; k < c->o_nlist; k++)
            if (c->on[c->o_list[k]].mark & MK_G3) o_zero_check(c, c->o_list[k]);
        o_drain(c);
        for (size_t k = 0; k < c->o_nlist; k++) {
            m_onode *n = &c->on[c->o_list[k]];
            if ((n->mark & MK_G3) && n->alive)
                m_fail(c, "oracle: #%u is garbage yet still referenced after deletion",
                       c->o_list[k]);
        }
    }
    /* Step 10: the survivors move to the next generation. */
    int next = g + 1 > 2 ? 2 : g + 1;
    for (size_t k = 0; k < c->o_nlist; k++) {
        m_onode *n = &c->on[c->o_list[k]];
        if (n->alive && n->gen != G_FROZEN) {
            n->gen = (uint8_t)next;
            n->gen_alt = G_SURE;
        }
        n->mark = 0;
    }
    if (g == 2) c->did_full = 1;
    c->o_in_coll = 0;
    c->st->uncollectable += unc;
    *collected = col;
    *uncollectable = unc;
}

/* After a full collection, independently of the step simulation: every
 * live object is reachable from the program's references, the garbage list
 * or the frozen objects — or was so when the collection started, or was
 * found uncollectable by it (set L: reachable from a legacy finalizer).
 * The last two may be unreachable now: a frozen or legacy holder that only
 * the garbage held dies by counting during the collection, and what it
 * kept waits for the next one (as in CPython).  Everything that was
 * garbage when the collection started must be gone, or resurrected. */
M_FN void o_reach_check(m_ctx *c)
{
    size_t qh = 0, qt = 0;
    for (size_t k = 0; k < c->o_nkeep; k++) {
        uint32_t id = c->o_keep[k];
        if (c->on[id].alive && !c->on[id].mark) {
            c->on[id].mark = MK_REACH;
            c->o_bfs[qt++] = id;
        }
    }
    c->o_nkeep = 0;
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        if ((n->ext > 0 || n->glist > 0 || n->gen == G_FROZEN || o_untracked(n)) && !n->mark) {
            n->mark = MK_REACH;
            c->o_bfs[qt++] = id;
        }
    }
    while (qh < qt) {
        m_onode *n = &c->on[c->o_bfs[qh++]];
        for (uint32_t s = 0; s < n->nslots; s++) {
            int32_t t = n->edge[s];
            if (t < 0) continue;
            if (!c->on[t].alive) {
                m_fail(c, "oracle: live #%u refers to dead #%d", c->o_bfs[qh - 1], t);
                continue;
            }
            if (!c->on[t].mark) {
                c->on[t].mark = MK_REACH;
                c->o_bfs[qt++] = (uint32_t)t;
            }
        }
    }
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        if (!c->on[id].mark) {
            char held[160] = "";
            size_t len = 0;
            for (size_t j = 0; j < c->o_nlive && len + 24 < sizeof held; j++) {
                m_onode *x = &c->on[c->o_live[j]];
                for (uint32_t s = 0; s < x->nslots; s++)
                    if (x->edge[s] == (int32_t)id)
                        len += (size_t)snprintf(held + len, sizeof held - len, " #%u.%u",
                                                c->o_live[j], s);
            }
            m_fail(c, "#%u (%s%s, generation %d, finalized %d) is alive after a full "
                      "collection, yet unreachable; held by:%s", id,
                   m_shape_names[c->on[id].shape], m_fin_names[c->on[id].fin], c->on[id].gen,
                   c->on[id].finalized, held);
        }
        c->on[id].mark = 0;
    }
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */
/* ------------------------------------------------------------------ */

static int m_walk_add(void *obj, void *arg)
{
    m_ctx *c = arg;
    if (m_type_index(rc_type_of(obj)) < 0) {
        m_fail(c, "a walk reported an object that is not the program's (%p)", obj);
        return 1;
    }
    M_PUSH(c->o_list, c->o_nlist, c->o_listcap, ((m_obj *)obj)->id);
    return 0;
}

/* Each generation's members (rc_gc_get_objects) against the oracle's;
 * resolves the oracle's uncertain generations.  adopt: take the heap's. */
M_FN void m_census(m_ctx *c, int adopt)
{
    for (size_t k = 0; k < c->o_nlive; k++) c->on[c->o_live[k]].tmp = -1;
    for (int g = 0; g < 3; g++) {
        c->o_nlist = 0;
        int r = rc_gc_get_objects(c->h, g, m_walk_add, c);
        if (r != 0) {
            m_fail(c, "rc_gc_get_objects(%d) returned %d", g, r);
            return;
        }
        for (size_t k = 0; k < c->o_nlist; k++) {
            uint32_t id = c->o_list[k];
            if (id >= c->next_id || !c->on[id].alive) {
                m_fail(c, "generation %d holds #%u, which the oracle says is dead (released %u "
                          "times, count %zu)", g, id, id < c->next_id ? c->r_nrel[id] : 0,
                       rc_refcount(c->r_ptr[id]));
                continue;
            }
            if (c->on[id].tmp != -1)
                m_fail(c, "#%u reported by the walks of generations %d and %d", id,
                       (int)c->on[id].tmp, g);
            c->on[id].tmp = g;
        }
    }
    size_t frozen = 0;
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        if (!o_container(n)) continue;
        int found = (int)n->tmp; /* -1: in no walk: frozen or untracked */
        if (adopt) {
            n->gen = found >= 0 ? (uint8_t)found : rc_is_tracked(c->r_ptr[id]) ? G_FROZEN : G_NONE;
            n->gen_alt = G_SURE;
        } else if (n->gen_alt != G_SURE && (found == n->gen || found == n->gen_alt)) {
            if (found == n->gen_alt) c->st->deferred_retracked++;
            n->gen = (uint8_t)found;
            n->gen_alt = G_SURE;
        } else if (found != (n->gen >= G_FROZEN ? -1 : n->gen)) {
            m_fail(c, "#%u (%s%s) is in generation %d, the oracle says %s%d", id,
                   m_shape_names[n->shape], m_fin_names[n->fin], found,
                   n->gen == G_FROZEN ? "frozen " : n->gen == G_NONE ? "untracked " : "",
                   n->gen >= G_FROZEN ? -1 : n->gen);
        }
        if (n->gen == G_FROZEN) frozen++;
    }
    size_t fc = rc_gc_get_freeze_count(c->h);
    if (fc != frozen) m_fail(c, "rc_gc_get_freeze_count says %zu, the oracle %zu", fc, frozen);
    c->o_nlist = 0;
}

/* Everything the heap shows against the oracle. */
M_FN void m_verify(m_ctx *c)
{
    c->st->verifies++;
    size_t ours = 0, glist_total = 0;
    for (size_t k = 0; k < c->o_nlive && !c->stop; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        void *p = c->r_ptr[id];
        glist_total += n->glist;
        if (n->shape != SH_WEAK) {
            ours++;
            if (c->r_nrel[id]) {
                m_fail(c, "#%u (%s%s) was released; the oracle says it is alive", id,
                       m_shape_names[n->shape], m_fin_names[n->fin]);
                continue;
            }
        }
        if (rc_refcount(p) != o_count(n))
            m_fail(c, "#%u (%s%s): count %zu, the oracle says %u (ext %u, garbage list %u, "
                      "slots %u)", id, m_shape_names[n->shape], m_fin_names[n->fin],
                   rc_refcount(p), o_count(n), n->ext, n->glist, n->in);
        if (c->r_ext[id] != n->ext)
            m_fail(c, "#%u: the program holds %u references, the oracle %u", id, c->r_ext[id],
                   n->ext);
        if (n->shape == SH_WEAK) {
            void *q = rc_weakref_get(p);
            void *want = n->referent >= 0 ? c->r_ptr[n->referent] : NULL;
            if (q != want)
                m_fail(c, "weakref #%u: rc_weakref_get gives %p, the oracle expects #%d (%p)",
                       id, q, n->referent, want);
            if (q) rc_decref(q);
            continue;
        }
        if (rc_is_finalized(p) != n->finalized)
            m_fail(c, "#%u (%s%s): rc_is_finalized %d, the oracle says %d", id,
                   m_shape_names[n->shape], m_fin_names[n->fin], rc_is_finalized(p),
                   n->finalized);
        if (rc_is_tracked(p) != (o_container(n) && !o_untracked(n)))
            m_fail(c, "#%u: rc_is_tracked %d", id, rc_is_tracked(p));
        m_obj *o = p;
        if (o->id != id || o->nslots != n->nslots) {
            m_fail(c, "#%u: object header overwritten (id %u, %u slots)", id, o->id, o->nslots);
            continue;
        }
        for (uint32_t s = 0; s < n->nslots; s++) {
            void *want = n->edge[s] >= 0 ? c->r_ptr[n->edge[s]] : NULL;
            if (o->slot[s] != want)
                m_fail(c, "#%u (%s%s) slot %u holds %p, the oracle says #%d", id,
                       m_shape_names[n->shape], m_fin_names[n->fin], s, o->slot[s],
                       n->edge[s]);
        }
    }
    if (ours != c->r_nalive)
        m_fail(c, "%zu of the program's objects are unreleased, the oracle says %zu alive",
               c->r_nalive, ours);
    size_t gn = rc_gc_garbage_count(c->h);
    if (gn != glist_total) {
        m_fail(c, "the garbage list holds %zu, the oracle says %zu", gn, glist_total);
    } else {
        for (size_t k = 0; k < c->o_nlive; k++) c->on[c->o_live[k]].tmp = c->on[c->o_live[k]].glist;
        for (size_t i = 0; i < gn; i++) {
            void *p = rc_gc_garbage_get(c->h, i);
            int64_t id = r_id_of(c, p);
            if (id < 0 || (uint64_t)id >= c->next_id || !c->on[id].alive || c->on[id].tmp-- <= 0)
                m_fail(c, "garbage list entry %zu (#%lld) not expected", i, (long long)id);
        }
    }
    if (rc_gc_garbage_get(c->h, gn) != NULL) m_fail(c, "rc_gc_garbage_get past the end");
    m_census(c, 0);
    unsigned every = c->cfg->heap_check_every ? c->cfg->heap_check_every : 1;
    if (c->st->verifies % every == 0) {
        c->st->heap_checks++;
        if (rc_heap_check(c->h, c->cfg->out) != 0) m_fail(c, "rc_heap_check failed");
    }
}

/* The heap could not be followed step by step (a collection started in the
 * middle of a free, under fault injection): check that nothing the oracle
 * sees reachable was freed, then take the heap's state as the oracle's. */
M_FN void m_resync(m_ctx *c)
{
    c->st->unsynced++;
    size_t qh = 0, qt = 0;
    /* The roots: the program's references and the garbage list's.  Not the
     * frozen objects: one that only garbage holds dies by counting when a
     * collection deletes that garbage. */
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        if (n->ext > 0 || n->glist > 0) {
            n->mark = MK_REACH;
            c->o_bfs[qt++] = id;
        }
    }
    while (qh < qt) {
        m_onode *n = &c->on[c->o_bfs[qh++]];
        for (uint32_t s = 0; s < n->nslots; s++) {
            int32_t t = n->edge[s];
            if (t >= 0 && c->on[t].alive && !c->on[t].mark) {
                c->on[t].mark = MK_REACH;
                c->o_bfs[qt++] = (uint32_t)t;
            }
        }
    }
    for (size_t i = 0; i < qt; i++) {
        uint32_t id = c->o_bfs[i];
        if (c->on[id].shape != SH_WEAK && c->r_nrel[id])
            m_fail(c, "#%u was reachable and has been freed", id);
    }
    for (size_t k = 0; k < c->o_nlive; k++) c->on[c->o_live[k]].mark = 0;
    if (c->stop) return;

    /* Rebuild from the heap, with what user code made in collections the
     * oracle did not run. */
    for (uint32_t id = 0; id < c->next_id; id++) {
        m_onode *n = &c->on[id];
        if (n->exists || !c->r_ptr[id]) continue;
        memset(n, 0, sizeof *n);
        n->exists = 1;
        n->shape = c->r_shape[id];
        n->referent = -1;
        if (n->shape == SH_WEAK) {
            n->has_cb = c->r_cbmode[id] != 0;
            n->cb_drop = c->r_cbmode[id] == 2;
        } else if (!c->r_nrel[id]) {
            const m_obj *o = c->r_ptr[id];
            n->fin = (uint8_t)(m_type_index(rc_type_of(o)) % FIN_N);
            n->nslots = o->nslots;
            n->edge = n->nslots ? m_xrealloc(NULL, n->nslots * sizeof *n->edge) : NULL;
        }
    }
    c->o_nlive = c->o_nwl = c->o_nq = 0;
    for (uint32_t id = 0; id < c->next_id; id++) {
        m_onode *n = &c->on[id];
        if (!n->exists) continue;
        n->in = n->glist = 0;
        n->queued = n->mark = 0;
        n->wcb_min = n->wcb_max = c->r_nwcb[id];
        if (n->shape == SH_WEAK) {
            n->alive = 0;
            continue;
        }
        n->alive = c->r_ptr[id] && !c->r_nrel[id];
        if (!n->alive) continue;
        n->ext = c->r_ext[id];
        n->finalized = c->r_nfin[id] > 0;
        o_live_add(c, id);
    }
    for (size_t k = 0; k < c->o_nlive; k++) {
        uint32_t id = c->o_live[k];
        m_onode *n = &c->on[id];
        m_obj *o = c->r_ptr[id];
        for (uint32_t s = 0; s < n->nslots; s++) {
            int64_t t = r_id_of(c, o->slot[s]);
            n->edge[s] = (int32_t)(t >= 0 ? t : -1);
            if (t >= 0) c->on[t].in++;
        }
    }
    for (uint32_t id = 0; id < c->next_id; id++) {
        m_onode *n = &c->on[id];
        if (!n->exists || n->shape != SH_WEAK) continue;
        n->ext = c->r_ext[id];
        if (n->ext == 0 && n->in == 0) continue;
        n->alive = 1;
        o_live_add(c, id);
        o_wl_add(c, id);
        void *q = rc_weakref_get(c->r_ptr[id]);
        n->referent = (int32_t)(q ? r_id_of(c, q) : -1);
        if (q) rc_decref(q);
    }
    size_t gn = rc_gc_garbage_count(c->h);
    for (size_t i = 0; i < gn; i++) {
        int64_t id = r_id_of(c, rc_gc_garbage_get(c->h, i));
        if (id >= 0) c->on[id].glist++;
    }
    m_census(c, 1);
}

/* ------------------------------------------------------------------ */
/* Micro-steps                                                         */
/* ------------------------------------------------------------------ */

/* What user code did (m_hook), as the oracle replays it: the events
 * tagged up to `upto`, in order. */
M_FN void o_events(m_ctx *c, uint32_t upto)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nev; i++) {
        m_event e = c->ev[i];
        if (e.tag > upto) {
            c->ev[k++] = e;
            continue;
        }
        m_onode *n = &c->on[e.id];
        switch (e.kind) {
        case EV_NEW:
            o_create(c, e.id, e.arg, FIN_NONE, e.arg == SH_NODE ? M_NODE_SLOTS : 0);
            break;
        case EV_WEAK:
            o_create_weak(c, e.id, (uint32_t)e.arg, 1, 0);
            break;
        default:
            if (n->alive && o_container(n)) {
                n->gen = e.kind == EV_TRACK ? 0 : G_NONE;
                n->gen_alt = G_SURE;
            }
            break;
        }
    }
    c->nev = k;
}

M_FN void s_begin(m_ctx *c, int kind)
{
    c->st_kind = kind;
    c->hk_phase = 0;
    c->hk_unsync = 0;
    c->unsynced = c->coll_overflow = c->did_full = 0;
    c->ncoll = 0;
    c->st->steps++;
}

/* The oracle runs the collections the heap reported, in order. */
M_FN void s_collections(m_ctx *c)
{
    if (c->coll_overflow) {
        c->unsynced = 1;
        return;
    }
    for (int i = 0; i < c->ncoll; i++) {
        m_coll *k = &c->coll[i];
        if (!k->stopped) m_fail(c, "a collection started and never stopped");
        uint64_t col = 0, unc = 0;
        o_events(c, 2 * (uint32_t)i);
        o_collect(c, k->gen, &col, &unc);
        o_events(c, 2 * (uint32_t)i + 1);
        if (k->gen == 2) c->st->full_collections++;
        k->predicted = col + unc;
        if (c->unsynced) continue;
        if (k->collected != col || k->uncollectable != unc)
            m_fail(c, "collection of generation %d reported %llu collected, %llu "
                      "uncollectable; the oracle says %llu, %llu", k->gen,
                   (unsigned long long)k->collected, (unsigned long long)k->uncollectable,
                   (unsigned long long)col, (unsigned long long)unc);
    }
}

/* Callbacks whose running depended on the order of frees. */
M_FN void s_resolve_pending(m_ctx *c)
{
    for (size_t i = 0; i < c->o_npend; i++) {
        m_pend *p = &c->o_pend[i];
        m_onode *w = &c->on[p->w];
        switch (p->kind) {
        case PEND_EXACT:
            w->wcb_min++;
            w->wcb_max++;
            break;
        case PEND_IF_ALIVE:
            if (w->alive) w->wcb_min++;
            else c->st->order_open_callbacks++;
            w->wcb_max++;
            break;
        default:
            if (!c->on[p->ref].alive) {
                w->wcb_max++;
                c->st->order_open_callbacks++;
            }
            break;
        }
        m_touch(c, p->w);
    }
    c->o_npend = 0;
}

/* What happened to each object the step touched, against the oracle. */
M_FN void s_compare_touched(m_ctx *c)
{
    for (size_t i = 0; i < c->ntouched; i++) {
        uint32_t id = c->touched[i];
        c->tflag[id] = 0;
        m_onode *n = &c->on[id];
        if (c->stop) continue;
        if (!n->exists) {
            if (c->r_ptr[id])
                m_fail(c, "#%u exists for the program, not for the oracle", id);
            continue;
        }
        if (n->shape == SH_WEAK) {
            if (c->r_nwcb[id] < n->wcb_min || c->r_nwcb[id] > n->wcb_max)
                m_fail(c, "weakref #%u: callback ran %u times, the oracle says %u%s%u", id,
                       c->r_nwcb[id], n->wcb_min, n->wcb_min == n->wcb_max ? "=" : "..",
                       n->wcb_max);
            n->wcb_min = n->wcb_max = c->r_nwcb[id];
        } else {
            uint32_t want = n->alive ? 0 : 1;
            if (c->r_nrel[id] != want)
                m_fail(c, "#%u (%s%s): released %u times, the oracle says %u", id,
                       m_shape_names[n->shape], m_fin_names[n->fin], c->r_nrel[id], want);
            if (c->r_nfin[id] != n->finalized)
                m_fail(c, "#%u (%s%s): finalizer ran %u times, the oracle says %u", id,
                       m_shape_names[n->shape], m_fin_names[n->fin], c->r_nfin[id],
                       n->finalized);
        }
        if (n->alive && c->r_ext[id] != n->ext)
            m_fail(c, "#%u: the program holds %u references, the oracle %u", id, c->r_ext[id],
                   n->ext);
    }
    c->ntouched = 0;
}

M_FN void s_end(m_ctx *c)
{
    o_events(c, UINT32_MAX);
    if (c->unsynced) {
        if (!c->cfg->fail_after && !c->cfg->memory_limit && !c->hk_unsync)
            m_fail(c, "a collection started where none can (step kind %d)", c->st_kind);
        if (c->hk_unsync) c->st->hook_resyncs++;
        for (size_t i = 0; i < c->ntouched; i++) c->tflag[c->touched[i]] = 0;
        c->ntouched = c->o_npend = c->o_nres = c->o_zero_events = c->o_nkeep = 0;
        m_resync(c);
        return;
    }
    s_resolve_pending(c);
    /* A container resurrected by counting in a step deep enough for the
     * deferred list may have been tracked anew (generation 0). */
    if (c->o_zero_events >= 64) c->st->deep_steps++;
    if (c->o_zero_events >= 60) {
        for (size_t i = 0; i < c->o_nres; i++) {
            m_onode *n = &c->on[c->o_res[i]];
            if (n->alive && n->gen != G_FROZEN && n->gen != G_NONE && n->gen != 0) {
                n->gen_alt = 0;
                c->need_census = 1;
            }
        }
    }
    c->o_nres = c->o_zero_events = 0;
    s_compare_touched(c);
    if (c->stop) return;
    if (c->did_full) o_reach_check(c);
    c->o_nkeep = 0;
    if (c->need_census) {
        m_census(c, 0);
        c->need_census = 0;
    }
}

/* ---- the steps: the program's action, then the oracle's ---- */

M_FN int32_t ms_new(m_ctx *c, int shape, int fin, uint32_t nslots)
{
    uint32_t id = c->next_id;
    c->next_id += fin == FIN_ALLOC ? 3 : 1;
    m_reserve(c, c->next_id);
    if (shape == SH_NODE) nslots = M_NODE_SLOTS;
    if (shape == SH_ATOM) nslots = 0;
    size_t size = sizeof(m_obj) + nslots * sizeof(void *);
    s_begin(c, ST_ALLOC);
    void *p = shape == SH_VAR ? rc_new_var(c->h, &m_types[shape][fin], size)
                              : rc_new(c->h, &m_types[shape][fin]);
    if (p) r_register(c, id, p, shape, fin, nslots, size);
    else m_check_enomem(c, "rc_new");
    s_collections(c);
    if (p) o_create(c, id, shape, fin, nslots);
    s_end(c);
    return p ? (int32_t)id : -1;
}

M_FN void ms_set(m_ctx *c, uint32_t src, uint32_t slot, int32_t tgt)
{
    s_begin(c, ST_PROG);
    m_obj *o = c->r_ptr[src];
    rc_setref(&o->slot[slot], tgt >= 0 ? c->r_ptr[tgt] : NULL);
    o_set(c, src, slot, tgt);
    s_end(c);
}

M_FN void ms_take(m_ctx *c, uint32_t id)
{
    s_begin(c, ST_PROG);
    rc_incref(c->r_ptr[id]);
    r_root_push(c, id);
    o_ext_inc(c, id);
    s_end(c);
}

M_FN void ms_drop_root(m_ctx *c, size_t idx)
{
    s_begin(c, ST_PROG);
    uint32_t id = r_root_remove_at(c, idx);
    rc_decref(c->r_ptr[id]);
    o_ext_dec(c, id);
    s_end(c);
}

M_FN void ms_weak(m_ctx *c, uint32_t target, int mode)
{
    uint32_t id = c->next_id++;
    m_reserve(c, c->next_id);
    s_begin(c, ST_ALLOC);
    rc_weakref *w = rc_weakref_new(c->r_ptr[target], mode ? m_wcb : NULL, (void *)(uintptr_t)id);
    if (w) r_register_weak(c, id, w, mode);
    else m_check_enomem(c, "rc_weakref_new");
    s_collections(c);
    if (w) o_create_weak(c, id, target, mode != 0, mode == 2);
    s_end(c);
}

M_FN void ms_wget(m_ctx *c, uint32_t w)
{
    s_begin(c, ST_PROG);
    void *p = rc_weakref_get(c->r_ptr[w]);
    int64_t got = p ? r_id_of(c, p) : -1;
    if (p && got >= 0) r_root_push(c, (uint32_t)got);
    else if (p) m_fail(c, "rc_weakref_get(#%u) gave an unknown pointer %p", w, p);
    int32_t want = c->on[w].referent;
    if (got != want)
        m_fail(c, "rc_weakref_get(#%u) gave #%lld, the oracle expects #%d", w, (long long)got,
               want);
    if (want >= 0) o_ext_inc(c, (uint32_t)want);
    s_end(c);
}

M_FN void ms_collect(m_ctx *c, int g, int if_due)
{
    s_begin(c, ST_COLLECT);
    long ret = if_due ? rc_gc_collect_if_due(c->h) : rc_gc_collect(c->h, g);
    s_collections(c);
    uint64_t want = 0;
    for (int i = 0; i < c->ncoll; i++) want += c->coll[i].predicted;
    if (!if_due && c->ncoll != 1)
        m_fail(c, "rc_gc_collect(%d) ran %d collections", g, c->ncoll);
    if (!c->unsynced && (ret < 0 || (uint64_t)ret != want))
        m_fail(c, "rc_gc_collect%s(%d) returned %ld, the oracle says %llu", if_due ? "_if_due" : "",
               g, ret, (unsigned long long)want);
    s_end(c);
}

M_FN void ms_gclear(m_ctx *c)
{
    s_begin(c, ST_PROG);
    rc_gc_garbage_clear(c->h);
    o_gclear(c);
    s_end(c);
}

M_FN void ms_track(m_ctx *c, uint32_t id)
{
    s_begin(c, ST_PROG);
    void *p = c->r_ptr[id];
    m_onode *n = &c->on[id];
    if (rc_is_tracked(p)) {
        rc_untrack(p);
        n->gen = G_NONE;
        c->st->untracked++;
    } else {
        rc_track(p);
        if (rc_is_tracked(p)) n->gen = 0;
        else if (rc_last_error(c->h) != RC_ENOMEM) m_fail(c, "rc_track of #%u failed", id);
    }
    n->gen_alt = G_SURE;
    s_end(c);
}

M_FN void ms_freeze(m_ctx *c, int freeze)
{
    s_begin(c, ST_PROG);
    if (freeze) rc_gc_freeze(c->h);
    else rc_gc_unfreeze(c->h);
    o_freeze(c, freeze);
    s_end(c);
}

/* ------------------------------------------------------------------ */
/* The interpreter                                                     */
/* ------------------------------------------------------------------ */

#define M_TRACE(c, ...)                                                          \
    do {                                                                         \
        if ((c)->cfg->trace && (c)->cfg->out) {                                  \
            fprintf((c)->cfg->out, "  [%4zu] ", (c)->op_no);                     \
            fprintf((c)->cfg->out, __VA_ARGS__);                                 \
            fputc('\n', (c)->cfg->out);                                          \
        }                                                                        \
    } while (0)

M_FN int32_t m_pick_ours(const m_ctx *c, uint32_t a)
{
    return c->r_nalive ? (int32_t)c->r_alive[a % c->r_nalive] : -1;
}

M_FN int32_t m_pick_container(const m_ctx *c, uint32_t a)
{
    size_t n = c->r_nalive;
    for (size_t k = 0, start = n ? a % n : 0; k < n; k++) {
        uint32_t id = c->r_alive[(start + k) % n];
        if (c->r_shape[id] != SH_ATOM && ((m_obj *)c->r_ptr[id])->nslots > 0) return (int32_t)id;
    }
    return -1;
}

M_FN int32_t m_pick_weak_root(const m_ctx *c, uint32_t a)
{
    size_t n = c->r_nroots;
    for (size_t k = 0, start = n ? a % n : 0; k < n; k++) {
        uint32_t id = c->r_roots[(start + k) % n];
        if (c->r_shape[id] == SH_WEAK) return (int32_t)id;
    }
    return -1;
}

M_FN uint32_t m_var_slots(uint32_t b)
{
    uint32_t r = b % 1000;
    if (r < 700) return r % 9;
    if (r < 990) return 9 + r % 40;
    return 2100 + r % 7; /* past the largest size class: a big block */
}

#define M_NAME(c, id) m_shape_names[(c)->r_shape[id]]

/* The finalizer of node i of a chain of len: mode (fins >> 3) % 4 is 0: none;
 * 1: a mix of every kind; 2: every 16th node; 3: only node 64 (or the last):
 * when the chain is dropped at once, the one that the deferred list takes
 * (docs/DESIGN.md: frees nest 64 deep, then wait on the deferred list). */
static inline int m_chain_fin(uint32_t fins, uint32_t i, uint32_t len)
{
    uint32_t kind = 1 + (fins >> 5) % (FIN_N - 1);
    switch ((fins >> 3) % 4) {
    case 1: return (int)(((fins >> 5) + i * 7) % FIN_N);
    case 2: return i % 16 == 15 ? (int)kind : FIN_NONE;
    case 3: return i == (len > 64 ? 64 : len - 1) ? (int)kind : FIN_NONE;
    default: return FIN_NONE;
    }
}

M_FN void m_chain(m_ctx *c, uint32_t len, uint32_t fins, int ring)
{
    int32_t head = ms_new(c, SH_NODE, m_chain_fin(fins, 0, len), M_NODE_SLOTS);
    if (head < 0 || c->stop) return;
    int32_t prev = head;
    for (uint32_t i = 1; i < len && !c->stop; i++) {
        int32_t x = ms_new(c, SH_NODE, m_chain_fin(fins, i, len), M_NODE_SLOTS);
        if (x < 0 || c->stop) break;
        if (c->r_nrel[prev]) break;
        ms_set(c, (uint32_t)prev, 0, x);
        long r = r_root_find(c, (uint32_t)x);
        if (r >= 0 && !c->stop) ms_drop_root(c, (size_t)r);
        prev = x;
    }
    if (ring && !c->stop && !c->r_nrel[prev] && !c->r_nrel[head])
        ms_set(c, (uint32_t)prev, 0, head);
    if ((ring || (fins & 4)) && !c->stop) {
        long r = r_root_find(c, (uint32_t)head);
        if (r >= 0) ms_drop_root(c, (size_t)r);
    }
}

M_FN void m_exec(m_ctx *c, const m_op *op)
{
    uint32_t a = op->a, b = op->b, cc = op->c;
    switch (op->code % MOP_COUNT) {
    case MOP_NEW: {
        int shape = (int)(a % 3), fin = (int)((a / 3) % FIN_N);
        uint32_t ns = shape == SH_VAR ? m_var_slots(b) : 0;
        int32_t id = ms_new(c, shape, fin, ns);
        M_TRACE(c, "new %s%s%s -> #%d", m_shape_names[shape], m_fin_names[fin],
                shape == SH_VAR ? (ns > 8 ? " (many slots)" : "") : "", id);
        break;
    }
    case MOP_SET:
    case MOP_CLEAR: {
        int32_t src = m_pick_container(c, a);
        if (src < 0) break;
        uint32_t slot = b % ((m_obj *)c->r_ptr[src])->nslots;
        int32_t tgt = -1;
        if (op->code % MOP_COUNT == MOP_SET && cc % 8 != 0) {
            tgt = cc % 8 == 1 ? m_pick_weak_root(c, cc / 8) : -1;
            if (tgt < 0) tgt = m_pick_ours(c, cc / 8);
        }
        M_TRACE(c, "#%d.slot[%u] = #%d", src, slot, tgt);
        ms_set(c, (uint32_t)src, slot, tgt);
        break;
    }
    case MOP_TAKE: {
        int32_t id = m_pick_ours(c, a);
        if (id < 0) break;
        M_TRACE(c, "take a reference to #%d", id);
        ms_take(c, (uint32_t)id);
        break;
    }
    case MOP_DROP: {
        if (!c->r_nroots) break;
        size_t i = b % 4 == 1 ? c->r_nroots - 1 : a % c->r_nroots;
        M_TRACE(c, "drop a reference to #%u", c->r_roots[i]);
        ms_drop_root(c, i);
        break;
    }
    case MOP_WEAK: {
        int32_t t = b % 4 == 0 ? m_pick_weak_root(c, a) : -1;
        if (t < 0) t = m_pick_ours(c, a);
        if (t < 0) break;
        int mode = (int)(cc % 3);
        M_TRACE(c, "weakref to #%d (callback: %s) -> #%u", t,
                mode == 0 ? "none" : mode == 1 ? "record" : "record, drop the weakref",
                c->next_id);
        /* The program holds the referent while it makes the reference. */
        ms_take(c, (uint32_t)t);
        if (!c->stop) ms_weak(c, (uint32_t)t, mode);
        long r = r_root_find(c, (uint32_t)t);
        if (r >= 0 && !c->stop) ms_drop_root(c, (size_t)r);
        break;
    }
    case MOP_WGET: {
        int32_t w = m_pick_weak_root(c, a);
        if (w < 0) break;
        M_TRACE(c, "rc_weakref_get(#%d)", w);
        ms_wget(c, (uint32_t)w);
        break;
    }
    case MOP_COLLECT:
        M_TRACE(c, "rc_gc_collect(%u)", a % 3);
        ms_collect(c, (int)(a % 3), 0);
        break;
    case MOP_COLLECT_IF_DUE:
        M_TRACE(c, "rc_gc_collect_if_due");
        ms_collect(c, 0, 1);
        break;
    case MOP_FREEZE:
    case MOP_UNFREEZE:
        M_TRACE(c, "%s", op->code % MOP_COUNT == MOP_FREEZE ? "rc_gc_freeze" : "rc_gc_unfreeze");
        ms_freeze(c, op->code % MOP_COUNT == MOP_FREEZE);
        break;
    case MOP_PAUSE: {
        M_TRACE(c, "rc_gc_pause");
        int r = rc_gc_pause(c->h);
        if (r != ++c->r_paused) m_fail(c, "rc_gc_pause returned %d, expected %d", r, c->r_paused);
        break;
    }
    case MOP_RESUME: {
        M_TRACE(c, "rc_gc_resume");
        int r = rc_gc_resume(c->h);
        int want = c->r_paused ? --c->r_paused : -1;
        if (r != want) m_fail(c, "rc_gc_resume returned %d, expected %d", r, want);
        break;
    }
    case MOP_ENABLE:
    case MOP_DISABLE: {
        int en = op->code % MOP_COUNT == MOP_ENABLE;
        M_TRACE(c, "%s", en ? "rc_gc_enable" : "rc_gc_disable");
        int r = en ? rc_gc_enable(c->h) : rc_gc_disable(c->h);
        if (r != c->r_enabled)
            m_fail(c, "enable/disable returned %d, expected %d", r, c->r_enabled);
        c->r_enabled = en;
        if (rc_gc_isenabled(c->h) != en) m_fail(c, "rc_gc_isenabled is not %d", en);
        break;
    }
    case MOP_THRESHOLD: {
        static const size_t t0s[] = {0, 1, 3, 10, 40, 100, 700};
        size_t t0 = t0s[a % 7], t1 = 1 + b % 12, t2 = 1 + cc % 12, got[3];
        M_TRACE(c, "rc_gc_set_threshold(%zu, %zu, %zu)", t0, t1, t2);
        rc_gc_set_threshold(c->h, t0, t1, t2);
        rc_gc_get_threshold(c->h, got);
        if (got[0] != t0 || got[1] != t1 || got[2] != t2) m_fail(c, "thresholds not kept");
        break;
    }
    case MOP_SAVEALL:
        c->r_debug ^= RC_DEBUG_SAVEALL;
        c->o_saveall = !!(c->r_debug & RC_DEBUG_SAVEALL);
        M_TRACE(c, "SAVEALL %s", c->o_saveall ? "on" : "off");
        rc_gc_set_debug(c->h, c->r_debug);
        if (rc_gc_get_debug(c->h) != c->r_debug) m_fail(c, "debug flags not kept");
        break;
    case MOP_GCLEAR:
        M_TRACE(c, "rc_gc_garbage_clear (%zu entries)", rc_gc_garbage_count(c->h));
        ms_gclear(c);
        break;
    case MOP_CHAIN:
    case MOP_RING: {
        int ring = op->code % MOP_COUNT == MOP_RING;
        uint32_t len = 1 + a % 120;
        static const char *const modes[] = {"", ", mixed finalizers", ", a finalizer every 16",
                                            ", a finalizer at the end"};
        M_TRACE(c, "%s of %u nodes%s, from #%u", ring ? "garbage ring"
                    : b & 4 ? "chain, then dropped" : "chain held by a root",
                len, modes[(b >> 3) % 4], c->next_id);
        m_chain(c, len, b, ring);
        break;
    }
    case MOP_CHECK:
        M_TRACE(c, "check");
        if (!c->stop) m_verify(c);
        break;
    case MOP_HOOK:
        c->hk_action = a % (HK_COUNT + 1);
        c->hk_sites = 1 + b % HS_ALL;
        c->hk_left = 1 + cc % 6;
        c->hk_rs = ((uint64_t)a << 32 | b) ^ ((uint64_t)cc * 0x9e3779b97f4a7c15ull);
        M_TRACE(c, "hook: the next %u runs of user code (%s%s%s%s%s) call %s", c->hk_left,
                c->hk_sites & HS_FIN ? "finalizer " : "", c->hk_sites & HS_REL ? "release " : "",
                c->hk_sites & HS_WCB ? "weakref-callback " : "",
                c->hk_sites & HS_START ? "gc-start " : "", c->hk_sites & HS_STOP ? "gc-stop" : "",
                m_hook_names[c->hk_action]);
        break;
    case MOP_TRACK: {
        int32_t id = m_pick_root(c, a, 1);
        if (id < 0) break;
        M_TRACE(c, "%s #%d", rc_is_tracked(c->r_ptr[id]) ? "rc_untrack" : "rc_track", id);
        ms_track(c, (uint32_t)id);
        break;
    }
    }
}

/* ---- the generator: random operations, steered by the population ---- */

M_FN m_op m_gen_next(uint64_t *rs, const m_ctx *c)
{
    /* weights, per mille */
    static const unsigned base[MOP_COUNT] = {
        [MOP_NEW] = 170, [MOP_SET] = 230, [MOP_CLEAR] = 50, [MOP_TAKE] = 50,
        [MOP_DROP] = 180, [MOP_WEAK] = 60, [MOP_WGET] = 40, [MOP_COLLECT] = 40,
        [MOP_COLLECT_IF_DUE] = 10, [MOP_FREEZE] = 3, [MOP_UNFREEZE] = 6, [MOP_PAUSE] = 8,
        [MOP_RESUME] = 10, [MOP_ENABLE] = 6, [MOP_DISABLE] = 4, [MOP_THRESHOLD] = 6,
        [MOP_SAVEALL] = 4, [MOP_GCLEAR] = 12, [MOP_CHAIN] = 5, [MOP_RING] = 5, [MOP_CHECK] = 2,
        [MOP_HOOK] = 30, [MOP_TRACK] = 5};
    unsigned w[MOP_COUNT];
    memcpy(w, base, sizeof w);
    size_t max_live = c->cfg->max_live ? c->cfg->max_live : 250;
    if (c->r_nalive > max_live) {
        w[MOP_NEW] = w[MOP_CHAIN] = w[MOP_RING] = w[MOP_TAKE] = 0;
        w[MOP_DROP] *= 2;
        w[MOP_COLLECT] *= 3;
        w[MOP_CLEAR] *= 3;
        w[MOP_GCLEAR] *= 3;
    }
    if (c->r_nroots > max_live / 2) w[MOP_TAKE] = 0, w[MOP_DROP] *= 2;
    unsigned total = 0;
    for (int i = 0; i < MOP_COUNT; i++) total += w[i];
    unsigned r = (unsigned)(m_rand(rs) % total);
    m_op op = {0, 0, 0, 0};
    for (int i = 0; i < MOP_COUNT; i++) {
        if (r < w[i]) {
            op.code = (uint32_t)i;
            break;
        }
        r -= w[i];
    }
    op.a = (uint32_t)m_rand(rs);
    op.b = (uint32_t)m_rand(rs);
    op.c = (uint32_t)m_rand(rs);
    if (op.code == MOP_NEW) {
        /* shapes: atom 1/4, node 1/2, var 1/4; finalizers: none 1/2 */
        uint32_t s = op.a % 4, f = (op.a >> 8) % 16;
        uint32_t shape = s == 0 ? SH_ATOM : s == 3 ? SH_VAR : SH_NODE;
        uint32_t fin = f < 8 ? FIN_NONE : 1 + (f - 8) % 4;
        op.a = shape + 3 * fin;
    }
    if (op.code == MOP_CHAIN || op.code == MOP_RING) op.a %= 100;
    return op;
}

/* ------------------------------------------------------------------ */
/* A run                                                               */
/* ------------------------------------------------------------------ */

/* Runs ops[0..nops) on a fresh heap (or, with ops == NULL, nops generated
 * from cfg->seed, stored in *log for replay), then frees the heap and
 * checks that everything was released once.  Returns the number of
 * mismatches (0: the heap did what the oracle said). */
M_FN int m_run(const m_config *cfg, const m_op *ops, size_t nops, m_stats *st, m_op **log)
{
    m_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    m_ctx *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->cfg = cfg;
    c->st = st;
    m_reserve(c, 256);
    m_cur = c;

    rc_config rcfg;
    rc_config_init(&rcfg);
    for (int i = 0; i < 3; i++)
        if (cfg->threshold[i]) rcfg.threshold[i] = cfg->threshold[i];
    rcfg.policy = cfg->policy;
    rcfg.fail_alloc_after = cfg->fail_after;
    rcfg.memory_limit = cfg->memory_limit;
    c->h = rc_heap_new(&rcfg);
    c->hk_null = fopen("/dev/null", "w");
    if (!c->hk_null) abort();
    if (!c->h) {
        m_fail(c, "rc_heap_new failed");
        free(c);
        return 1;
    }
    c->r_enabled = 1;
    if (rc_gc_callback_add(c->h, m_gc_cb, c) != 0) m_fail(c, "rc_gc_callback_add failed");

    uint64_t rs = cfg->seed;
    m_op *rec = (!ops && log) ? m_xrealloc(NULL, (nops ? nops : 1) * sizeof *rec) : NULL;
    for (size_t i = 0; i < nops && !c->stop; i++) {
        c->op_no = i;
        m_op op = ops ? ops[i] : m_gen_next(&rs, c);
        if (rec) rec[i] = op;
        if (cfg->log_fd > 0 && write(cfg->log_fd, &op, sizeof op) != (ssize_t)sizeof op)
            m_fail(c, "cannot write the operation log");
        st->ops++;
        m_exec(c, &op);
        unsigned every = cfg->verify_every ? cfg->verify_every : 1;
        if (!c->stop && ++c->since_verify >= every) {
            c->since_verify = 0;
            m_verify(c);
        }
    }
    if (rec) *log = rec;

    if (!c->stop) {
        c->op_no = nops;
        m_verify(c);
    }
    /* Teardown: the last collection, then every object released once,
     * with no finalizer and no callback. */
    int ok_so_far = !c->stop;
    c->op_no = nops;
    if (c->hk_snap) rc_snapshot_free(c->hk_snap);
    s_begin(c, ST_FREE);
    rc_heap_free(c->h);
    if (ok_so_far) {
        s_collections(c);
        if (!c->unsynced) {
            s_resolve_pending(c);
            if (c->did_full) o_reach_check(c);
            for (size_t k = 0; k < c->o_nlive; k++) {
                c->on[c->o_live[k]].alive = 0;
                m_touch(c, c->o_live[k]);
            }
            c->o_nlive = 0;
            s_compare_touched(c);
        }
        for (uint32_t id = 0; id < c->next_id && !c->stop; id++) {
            if (c->r_ptr[id] && c->r_shape[id] != SH_WEAK && c->r_nrel[id] != 1)
                m_fail(c, "#%u (%s) released %u times in all, not once", id,
                       m_shape_names[c->r_shape[id]], c->r_nrel[id]);
            if (c->r_nfin[id] > 1) m_fail(c, "#%u finalized %u times", id, c->r_nfin[id]);
        }
    }
    c->h = NULL;
    fclose(c->hk_null);
    int failures = c->failures;
    for (size_t id = 0; id < c->cap; id++) free(c->on[id].edge);
    void *arrays[] = {c->r_ptr, c->r_ext, c->r_shape, c->r_cbmode, c->r_alloc_ok, c->r_nfin,
                      c->r_nrel, c->r_nwcb, c->r_fin_hash, c->r_alive, c->r_alive_pos,
                      c->r_roots, c->r_wkeys, c->r_wvals, c->touched, c->tflag, c->on,
                      c->o_live, c->o_live_pos, c->o_wl, c->o_wl_pos, c->o_q, c->o_list,
                      c->o_bfs, c->o_pend, c->o_res, c->o_keep, c->ev};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) free(arrays[i]);
    free(c);
    m_cur = NULL;
    return failures;
}

/* Prints ops as a C initializer, for a regression test. */
M_FN void m_print_ops(FILE *f, const m_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    {%s, %uu, %uu, %uu},\n", m_op_names[ops[i].code % MOP_COUNT], ops[i].a,
                ops[i].b, ops[i].c);
}

#endif /* RC_MODEL_OPS_H */
