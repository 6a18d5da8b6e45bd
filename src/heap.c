/* heap.c — heaps and their settings: creation and destruction, the error
 * codes and messages, configuration, and the simple parts of the gc control
 * API (enable, pause, thresholds, debug flags, stats, the garbage list,
 * callbacks).  The collection itself lives in gc.c.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "internal.h"
#include "hooks.h" /* rc__tools_*: the leak-hunting tools, when on */

#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Version and errors                                                  */
/* ------------------------------------------------------------------ */

#define RC__STR2(x) #x
#define RC__STR(x)  RC__STR2(x)

unsigned rc_version(void) { return RC_VERSION_HEX; }

#if defined(RC_DEBUG) && RC_DEBUG
/* What the header refers to when a program is compiled with RC_DEBUG: only a
 * debug library links such a program (recycle.h). */
const int rc_debug_header_needs_librecycle_debug = 1;
#endif

const char *rc_version_string(void)
{
    return RC__STR(RC_VERSION_MAJOR) "." RC__STR(RC_VERSION_MINOR) "."
           RC__STR(RC_VERSION_PATCH);
}

/* The error of the last failed rc_heap_new in this thread. */
static _Thread_local int no_heap_error;

const char *rc_strerror(int code)
{
    switch (code) {
    case RC_OK: return "success";
#define RC__ERRNO_MSG(name, c, msg) case RC_E##name: return msg;
    RC_ERRNO_MAP(RC__ERRNO_MSG)
#undef RC__ERRNO_MSG
    default: return "unknown error";
    }
}

int rc_last_error(const rc_heap *h) { return h ? h->last_error : no_heap_error; }

int rc__fail(rc_heap *h, int code)
{
    if (h) h->last_error = code;
    else no_heap_error = code;
    return code;
}

void *rc__fail_null(rc_heap *h, int code)
{
    rc__fail(h, code);
    return NULL;
}

uint64_t rc__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Small growable arrays                                               */
/* ------------------------------------------------------------------ */

int rc__vec_push(rc__vec *v, void *p)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return RC_ENOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->len++] = p;
    return 0;
}

void rc__vec_free(rc__vec *v)
{
    free(v->v);
    v->v = NULL;
    v->len = v->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Heaps                                                               */
/* ------------------------------------------------------------------ */

void rc_config_init(rc_config *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->threshold[0] = 700;
    cfg->threshold[1] = 10;
    cfg->threshold[2] = 10;
    cfg->debug = 0;
    cfg->gc_enabled = 1;
    cfg->debug_stream = stderr;
    cfg->memory_limit = 0;
    cfg->policy = RC_POLICY_PYTHON;
    cfg->fail_alloc_after = 0;
}

/* The settings both rc_heap_new and the setters take: no threshold above
 * RC_THRESHOLD_MAX (a wrapped negative would turn collection off for good),
 * no undefined debug bit. */
static bool thresholds_ok(size_t t0, size_t t1, size_t t2)
{
    return t0 <= RC_THRESHOLD_MAX && t1 <= RC_THRESHOLD_MAX && t2 <= RC_THRESHOLD_MAX;
}
static bool debug_ok(unsigned flags) { return (flags & ~(unsigned)RC_DEBUG_ALL) == 0; }

rc_heap *rc_heap_new(const rc_config *cfg)
{
    rc_config defaults;
    if (!cfg) {
        rc_config_init(&defaults);
        cfg = &defaults;
    }
    if (cfg->policy != RC_POLICY_PYTHON && cfg->policy != RC_POLICY_ADAPTIVE)
        return rc__fail_null(NULL, RC_EINVAL);
    if (!thresholds_ok(cfg->threshold[0], cfg->threshold[1], cfg->threshold[2]) ||
        !debug_ok(cfg->debug) || (cfg->gc_enabled != 0 && cfg->gc_enabled != 1))
        return rc__fail_null(NULL, RC_EINVAL);
    if (rc__tools_check(cfg) != 0) return rc__fail_null(NULL, RC_EINVAL);
    rc_heap *h = calloc(1, sizeof *h);
    if (!h) return rc__fail_null(NULL, RC_ENOMEM);
    h->alloc = rc__alloc_new(h, cfg->memory_limit, cfg->fail_alloc_after);
    if (!h->alloc || rc__wr_init(h) != 0) {
        if (h->alloc) rc__alloc_destroy(h->alloc);
        free(h);
        return rc__fail_null(NULL, RC_ENOMEM);
    }
    for (int g = 0; g < 3; g++) h->threshold[g] = cfg->threshold[g];
    h->young_threshold = h->threshold[0];
    h->policy = cfg->policy;
    h->enabled = cfg->gc_enabled != 0;
    h->debug = cfg->debug;
    h->debug_stream = cfg->debug_stream;
    h->last_collect_ns = rc__now_ns();
    h->coll_start = UINT32_MAX;
    h->bands_in = RC__GEN1; /* the old bands are paged (internal.h) */
    h->in_use = rc__alloc_in_use_ptr(h->alloc);
    rc__update_trigger(h);
    int err = rc__tools_init(h, cfg); /* leak-hunting tools: cfg + environment */
    if (err != 0) {
        rc_heap_free(h);
        return rc__fail_null(NULL, err);
    }
    return h;
}

static int release_block(void *block, void *arg)
{
    (void)arg;
    rc__head *hd = rc__head_of_block(block);
    const rc_type *t = rc__type(hd);
    if (t && t->release) t->release(rc__obj_of(hd));
    return 0;
}

int rc_heap_free(rc_heap *h)
{
    if (!h) return 0;
    if (!rc__enter(h, "rc_heap_free")) return -1; /* another thread is in it */
    if (h->collecting || h->dealloc_depth > 0 || h->dying || h->walking > 0) {
        /* Called from a finalizer, callback, release or walk function: the
         * heap is in use further up the stack.  Refuse rather than free it
         * under them. */
        rc__leave(h);
        return rc__fail(h, RC_EBUSY), -1;
    }
    rc__collect(h, 2, false);
    rc__tools_heap_free(h); /* leak report, final snapshot; frees the tools */
    /* From here on nothing is freed one by one: counting stops (see
     * rc__dealloc), every live block gets its release call, then the
     * allocator hands all its memory back at once. */
    h->dying = true;
    rc__update_trigger(h);
    rc__alloc_walk(h->alloc, release_block, NULL);
    rc__buf_heap_free(h); /* buffers no release freed go with the allocator */
    rc__wr_fini(h);
    rc__alloc_destroy(h->alloc);
    rc__vec_free(&h->garbage);
    rc__vec_free(&h->deferred);
    free(h->objs);
    free(h->cbs);
    free(h);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Control API                                                         */
/* ------------------------------------------------------------------ */

int rc_gc_enable(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    int was = h->enabled;
    h->enabled = true;
    rc__update_trigger(h);
    return was;
}

int rc_gc_disable(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    int was = h->enabled;
    h->enabled = false;
    rc__update_trigger(h);
    return was;
}

int rc_gc_isenabled(const rc_heap *h) { return h && h->enabled; }

int rc_gc_pause(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    h->paused++;
    rc__update_trigger(h);
    return h->paused;
}

int rc_gc_resume(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    if (h->paused == 0) return rc__fail(h, RC_ESTATE), -1;
    h->paused--;
    rc__update_trigger(h);
    return h->paused;
}

void rc_gc_get_threshold(const rc_heap *h, size_t out[3])
{
    if (!h || !out) return;
    for (int g = 0; g < 3; g++) out[g] = h->threshold[g];
}

int rc_gc_set_threshold(rc_heap *h, size_t t0, size_t t1, size_t t2)
{
    if (!h || !thresholds_ok(t0, t1, t2)) return rc__fail(h, RC_EINVAL), -1;
    h->threshold[0] = t0;
    h->threshold[1] = t1;
    h->threshold[2] = t2;
    h->young_threshold = t0;
    rc__update_trigger(h);
    return 0;
}

void rc_gc_get_count(const rc_heap *h, size_t out[3])
{
    if (!h || !out) return;
    for (int g = 0; g < 3; g++) out[g] = h->count[g];
}

int rc_gc_set_debug(rc_heap *h, unsigned flags)
{
    if (!h || !debug_ok(flags)) return rc__fail(h, RC_EINVAL), -1;
    h->debug = flags;
    return 0;
}

unsigned rc_gc_get_debug(const rc_heap *h) { return h ? h->debug : 0; }

void rc_gc_set_debug_stream(rc_heap *h, FILE *stream)
{
    if (h) h->debug_stream = stream;
}

int rc_gc_set_interval(rc_heap *h, unsigned long ms)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    h->interval_ns = (uint64_t)ms * 1000000u;
    h->last_collect_ns = rc__now_ns();
    rc__update_trigger(h);
    return 0;
}

void rc_gc_get_stats(const rc_heap *h, rc_gen_stats out[3])
{
    if (!h || !out) return;
    for (int g = 0; g < 3; g++) out[g] = h->stats[g];
    out[0].tracked = h->live[RC__GEN0];
    out[1].tracked = h->live[RC__GEN1];
    out[2].tracked = h->live[RC__OLD] + h->live[RC__PENDING];
}

int rc_heap_memory_stats(const rc_heap *h, rc_memory_stats *out)
{
    if (!h || !out) return rc__fail((rc_heap *)h, RC_EINVAL), -1;
    rc__alloc_stats(h->alloc, out);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The garbage list                                                    */
/* ------------------------------------------------------------------ */

size_t rc_gc_garbage_count(const rc_heap *h) { return h ? h->garbage.len : 0; }

void *rc_gc_garbage_get(const rc_heap *h, size_t i)
{
    if (!h || i >= h->garbage.len) return NULL;
    return h->garbage.v[i];
}

void rc_gc_garbage_clear(rc_heap *h)
{
    if (!h) return;
    /* Take the list first: dropping a reference can run finalizers that
     * look at (or append to) the garbage list. */
    rc__vec list = h->garbage;
    memset(&h->garbage, 0, sizeof h->garbage);
    for (size_t i = 0; i < list.len; i++) rc_decref(list.v[i]);
    rc__vec_free(&list);
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */
/* ------------------------------------------------------------------ */

int rc_gc_callback_add(rc_heap *h, rc_gc_callback_fn fn, void *data)
{
    if (!h || !fn) return rc__fail(h, RC_EINVAL), -1;
    if (h->ncbs == h->capcbs) {
        size_t cap = h->capcbs ? h->capcbs * 2 : 4;
        rc__callback *n = realloc(h->cbs, cap * sizeof *n);
        if (!n) return rc__fail(h, RC_ENOMEM), -1;
        h->cbs = n;
        h->capcbs = cap;
    }
    h->cbs[h->ncbs++] = (rc__callback){fn, data};
    return 0;
}

int rc_gc_callback_remove(rc_heap *h, rc_gc_callback_fn fn, void *data)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    for (size_t i = 0; i < h->ncbs; i++) {
        if (h->cbs[i].fn == fn && h->cbs[i].data == data) {
            memmove(&h->cbs[i], &h->cbs[i + 1], (h->ncbs - i - 1) * sizeof *h->cbs);
            h->ncbs--;
            return 0;
        }
    }
    return rc__fail(h, RC_ENOENT), -1;
}
