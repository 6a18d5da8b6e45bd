/* gcns.c — the gc namespace: Python's gc module, in MAL, over recycle's
 * control API.  (gc-collect) (gc-collect 0) (gc-enable) (gc-disable)
 * (gc-enabled?) (gc-threshold) (gc-set-threshold 700 10 10) (gc-count)
 * (gc-stats) (gc-garbage) (gc-clear-garbage) (gc-freeze) (gc-unfreeze)
 * (gc-freeze-count) (gc-debug :stats :saveall ...) (gc-tracked) (gc-bytes). */
#include <stdlib.h>

#include "mal.h"

static Vec *ints3(const size_t v[3])
{
    V xs[3] = { MK_INT(v[0]), MK_INT(v[1]), MK_INT(v[2]) };
    return vec_from(xs, 3);
}

static int want_gen(V v, const char *fn)
{
    if (!IS_INT(v)) { mal_error("%s: a generation (0, 1 or 2) expected", fn); return -1; }
    return 0;
}

#ifndef MAL_BOEHM

static V g_collect(V *args, int argc)
{
    int gen = 2;
    if (argc == 1) {
        if (want_gen(args[0], "gc-collect") < 0) return NULL;
        if (INT_OF(args[0]) < 0 || INT_OF(args[0]) > 2)
            return mal_error("gc-collect: %s", rc_strerror(RC_ERANGE));
        gen = (int)INT_OF(args[0]);
    }
    long n = rc_gc_collect(mal_heap, gen);
    if (n < 0) return mal_error("gc-collect: %s", rc_strerror(rc_last_error(mal_heap)));
    return MK_INT(n);
}

static V g_enable(V *args, int argc) { (void)args; (void)argc; return MK_BOOL(rc_gc_enable(mal_heap)); }
static V g_disable(V *args, int argc) { (void)args; (void)argc; return MK_BOOL(rc_gc_disable(mal_heap)); }
static V g_enabledp(V *args, int argc) { (void)args; (void)argc; return MK_BOOL(rc_gc_isenabled(mal_heap)); }

static V g_threshold(V *args, int argc)
{
    (void)args; (void)argc;
    size_t t[3];
    rc_gc_get_threshold(mal_heap, t);
    return ints3(t);
}

static V g_set_threshold(V *args, int argc)
{
    size_t t[3];
    rc_gc_get_threshold(mal_heap, t);
    for (int i = 0; i < argc; i++) {
        if (!IS_INT(args[i]) || INT_OF(args[i]) < 0) return mal_error("gc-set-threshold: counts must be numbers >= 0");
        t[i] = (size_t)INT_OF(args[i]);
    }
    rc_gc_set_threshold(mal_heap, t[0], t[1], t[2]);
    return ints3(t);
}

static V g_count(V *args, int argc)
{
    (void)args; (void)argc;
    size_t c[3];
    rc_gc_get_count(mal_heap, c);
    return ints3(c);
}

static V kw(const char *name) { return sym_intern(name, strlen(name), T_KW); }

/* A list of one hash-map per generation, as gc.get_stats(). */
static V g_stats(V *args, int argc)
{
    (void)args; (void)argc;
    rc_gen_stats st[3];
    rc_gc_get_stats(mal_heap, st);
    static const char *names[] = { "collections", "collected", "uncollectable", "pause-ns-total",
                                   "pause-ns-max", "bytes-reclaimed", "tracked" };
    V maps[3] = { NULL, NULL, NULL }, kv[14];
    V ret = NULL;
    for (int k = 0; k < 7; k++) kv[2 * k] = NULL;
    for (int k = 0; k < 7; k++) if (!(kv[2 * k] = kw(names[k]))) goto done;
    for (int g = 0; g < 3; g++) {
        uint64_t f[7] = { st[g].collections, st[g].collected, st[g].uncollectable, st[g].pause_ns_total,
                          st[g].pause_ns_max, st[g].bytes_reclaimed, st[g].tracked };
        for (int k = 0; k < 7; k++) kv[2 * k + 1] = MK_INT((intptr_t)f[k]);
        if (!(maps[g] = map_from(kv, 7))) goto done;
    }
    ret = list_from(maps, 3);
done:
    for (int g = 0; g < 3; g++) M_XDECREF(maps[g]);
    for (int k = 0; k < 7; k++) M_XDECREF(kv[2 * k]);
    return ret;
}

/* The garbage list's objects, as MAL values (an environment prints #<env>). */
static V g_garbage(V *args, int argc)
{
    (void)args; (void)argc;
    size_t n = rc_gc_garbage_count(mal_heap);
    V *xs = mal_scratch_alloc((n ? n : 1) * sizeof(V));
    if (!xs) return mal_oom();
    for (size_t i = 0; i < n; i++) xs[i] = rc_gc_garbage_get(mal_heap, i);
    List *l = list_from(xs, n);
    mal_scratch_free(xs);
    return l;
}

static V g_clear_garbage(V *args, int argc)
{
    (void)args; (void)argc;
    rc_gc_garbage_clear(mal_heap);
    return M_NIL;
}

static V g_freeze(V *args, int argc) { (void)args; (void)argc; rc_gc_freeze(mal_heap); return M_NIL; }
static V g_unfreeze(V *args, int argc) { (void)args; (void)argc; rc_gc_unfreeze(mal_heap); return M_NIL; }
static V g_freeze_count(V *args, int argc)
{
    (void)args; (void)argc;
    return MK_INT(rc_gc_get_freeze_count(mal_heap));
}

static const struct { const char *name; unsigned flag; } debug_flags[] = {
    { "stats", RC_DEBUG_STATS }, { "collectable", RC_DEBUG_COLLECTABLE },
    { "uncollectable", RC_DEBUG_UNCOLLECTABLE }, { "saveall", RC_DEBUG_SAVEALL },
};

/* (gc-debug) the flags set, as keywords; (gc-debug :stats ...) sets exactly
 * those (:leak = collectable + uncollectable + saveall); (gc-debug nil) none. */
static V g_debug(V *args, int argc)
{
    if (argc > 0) {
        unsigned flags = 0;
        for (int i = 0; i < argc; i++) {
            if (args[i] == M_NIL) continue;
            if (tag_of(args[i]) != T_KW) return mal_error("gc-debug: keywords expected");
            const char *n = ((Str *)args[i])->data;
            unsigned f = strcmp(n, "leak") == 0 ? RC_DEBUG_LEAK : 0;
            for (size_t k = 0; k < sizeof debug_flags / sizeof *debug_flags; k++)
                if (strcmp(n, debug_flags[k].name) == 0) f = debug_flags[k].flag;
            if (!f) return mal_error("gc-debug: unknown flag :%s", n);
            flags |= f;
        }
        rc_gc_set_debug(mal_heap, flags);
    }
    unsigned cur = rc_gc_get_debug(mal_heap);
    V xs[4];
    int n = 0;
    for (size_t k = 0; k < sizeof debug_flags / sizeof *debug_flags; k++)
        if (cur & debug_flags[k].flag) {
            if (!(xs[n] = kw(debug_flags[k].name))) { while (n--) M_DECREF(xs[n]); return NULL; }
            n++;
        }
    List *l = list_from(xs, (size_t)n);
    while (n--) M_DECREF(xs[n]);
    return l;
}

static V g_tracked(V *args, int argc)
{
    (void)args; (void)argc;
    rc_gen_stats st[3];
    rc_gc_get_stats(mal_heap, st);
    return MK_INT((intptr_t)(st[0].tracked + st[1].tracked + st[2].tracked));
}

static V g_bytes(V *args, int argc)
{
    (void)args; (void)argc;
    rc_memory_stats ms;
    rc_heap_memory_stats(mal_heap, &ms);
    return MK_INT((intptr_t)ms.bytes_in_use);
}

void gcns_init(Env *env)
{
    static const struct { const char *name; BuiltinFn fn; int min, max; } fns[] = {
        { "gc-collect", g_collect, 0, 1 }, { "gc-enable", g_enable, 0, 0 },
        { "gc-disable", g_disable, 0, 0 }, { "gc-enabled?", g_enabledp, 0, 0 },
        { "gc-threshold", g_threshold, 0, 0 }, { "gc-set-threshold", g_set_threshold, 1, 3 },
        { "gc-count", g_count, 0, 0 }, { "gc-stats", g_stats, 0, 0 },
        { "gc-garbage", g_garbage, 0, 0 }, { "gc-clear-garbage", g_clear_garbage, 0, 0 },
        { "gc-freeze", g_freeze, 0, 0 }, { "gc-unfreeze", g_unfreeze, 0, 0 },
        { "gc-freeze-count", g_freeze_count, 0, 0 }, { "gc-debug", g_debug, 0, -1 },
        { "gc-tracked", g_tracked, 0, 0 }, { "gc-bytes", g_bytes, 0, 0 },
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++)
        def_builtin(env, fns[i].name, fns[i].fn, fns[i].min, fns[i].max);
}

#else /* MAL_BOEHM: what the Boehm GC has of the same */

#include <gc.h>

static V g_collect(V *args, int argc)
{
    if (argc == 1 && want_gen(args[0], "gc-collect") < 0) return NULL;
    GC_gcollect();
    return MK_INT(0);
}

static V g_enable(V *args, int argc)
{
    (void)args; (void)argc;
    int was = !GC_is_disabled();
    if (!was) GC_enable();
    return MK_BOOL(was);
}

static V g_disable(V *args, int argc)
{
    (void)args; (void)argc;
    int was = !GC_is_disabled();
    if (was) GC_disable();
    return MK_BOOL(was);
}

static V g_enabledp(V *args, int argc) { (void)args; (void)argc; return MK_BOOL(!GC_is_disabled()); }

static V g_bytes(V *args, int argc)
{
    (void)args; (void)argc;
    return MK_INT((intptr_t)(GC_get_heap_size() - GC_get_free_bytes()));
}

static V g_count(V *args, int argc)
{
    (void)args; (void)argc;
    size_t c[3] = { GC_get_gc_no(), 0, 0 };
    return ints3(c);
}

void gcns_init(Env *env)
{
    def_builtin(env, "gc-collect", g_collect, 0, 1);
    def_builtin(env, "gc-enable", g_enable, 0, 0);
    def_builtin(env, "gc-disable", g_disable, 0, 0);
    def_builtin(env, "gc-enabled?", g_enabledp, 0, 0);
    def_builtin(env, "gc-bytes", g_bytes, 0, 0);
    def_builtin(env, "gc-count", g_count, 0, 0);
}

#endif
