/* sites.c — allocation sites: where each object was allocated (file, line,
 * function, and optionally a native backtrace), kept beside the heap rather
 * than in the objects.
 *
 * Two tables, both in heap->tools:
 *   obj_site   object -> site id (a pointer map): one entry per live object
 *              created while sites were on; rc_new adds it, the free path
 *              removes it (an entry left by a path that frees without the
 *              hook is overwritten when the address is reused);
 *   site[]     the interned sites, id = index + 1 (0 = unknown), found by
 *              hash through site_index (open addressing over ids).
 * So a site costs its memory once, and an object costs one map entry (16
 * bytes at a load of at most 70%).  Sites are compared by the addresses of
 * their file and function strings (__FILE__, __func__: static storage);
 * snapshots merge sites whose text is equal.
 *
 * Backtraces come from glibc's backtrace() (DWARF unwinding: microseconds,
 * hence site_sample).  They start at the caller of rc_new_at: the frames of
 * the library, up to that caller's return address, are dropped.
 */
#include "tools.h"

#include <execinfo.h>
#include <stdlib.h>

/* Frames of the library's own above the caller: the capture, the hook,
 * new_object, rc_new_at, with room to spare. */
#define SKIP_MAX 8

/* ------------------------------------------------------------------ */
/* Interning                                                           */
/* ------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t site_hash(const char *file, int line, const char *func, void **frames,
                          int n)
{
    uint64_t h = mix(mix(mix(0, (uintptr_t)file), (uint64_t)line), (uintptr_t)func);
    for (int i = 0; i < n; i++) h = mix(h, (uintptr_t)frames[i]);
    return h | 1;
}

static bool site_is(const rc__site *s, uint64_t hash, const char *file, int line,
                    const char *func, void **frames, int n)
{
    return s->hash == hash && s->file == file && s->line == line && s->func == func &&
           s->nframes == n && (n == 0 || memcmp(s->frames, frames, n * sizeof *frames) == 0);
}

static int grow_index(rc__tools *t)
{
    uint32_t cap = t->capindex ? t->capindex * 2 : 256;
    uint32_t *ix = calloc(cap, sizeof *ix);
    if (!ix) return RC_ENOMEM;
    for (uint32_t id = 1; id <= t->nsites; id++) {
        uint32_t i = (uint32_t)t->site[id - 1].hash & (cap - 1);
        while (ix[i]) i = (i + 1) & (cap - 1);
        ix[i] = id;
    }
    free(t->site_index);
    t->site_index = ix;
    t->capindex = cap;
    return 0;
}

/* The id of the site, added if new; 0 when out of memory. */
static uint32_t intern(rc__tools *t, const char *file, int line, const char *func,
                       void **frames, int n)
{
    uint64_t hash = site_hash(file, line, func, frames, n);
    if (t->capindex) {
        uint32_t mask = t->capindex - 1;
        for (uint32_t i = (uint32_t)hash & mask; t->site_index[i]; i = (i + 1) & mask) {
            uint32_t id = t->site_index[i];
            if (site_is(&t->site[id - 1], hash, file, line, func, frames, n)) return id;
        }
    }
    if ((t->nsites + 1) * 2 > t->capindex && grow_index(t) != 0) return 0;
    if (t->nsites == t->capsites) {
        uint32_t cap = t->capsites ? t->capsites * 2 : 64;
        rc__site *v = realloc(t->site, cap * sizeof *v);
        if (!v) return 0;
        t->site = v;
        t->capsites = cap;
    }
    void **copy = NULL;
    if (n > 0) {
        copy = malloc(n * sizeof *copy);
        if (!copy) return 0;
        memcpy(copy, frames, n * sizeof *copy);
    }
    t->site[t->nsites] = (rc__site){file, func, line, n, copy, hash};
    uint32_t id = ++t->nsites;
    uint32_t mask = t->capindex - 1, i = (uint32_t)hash & mask;
    while (t->site_index[i]) i = (i + 1) & mask;
    t->site_index[i] = id;
    return id;
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */
/* ------------------------------------------------------------------ */

/* Up to `depth` frames from the caller (whose return address is ra) out;
 * returns how many, stored at the start of buf. */
static __attribute__((noinline)) int capture(void **buf, int depth, void *ra)
{
    int n = backtrace(buf, depth + SKIP_MAX);
    int k = 0;
    while (k < n && buf[k] != ra) k++;
    if (k == n) k = n > 1 ? 1 : 0; /* the caller not found: drop this frame only */
    n -= k;
    if (n > depth) n = depth;
    memmove(buf, buf + k, (size_t)n * sizeof *buf);
    return n;
}

int rc__sites_record(rc__tools *t, const void *obj, const char *file, int line,
                     const char *func, void *ra)
{
    void *frames[RC_SITE_DEPTH_MAX + SKIP_MAX];
    int n = 0;
    if (t->depth > 0 && --t->countdown == 0) {
        t->countdown = t->sample;
        n = capture(frames, t->depth, ra);
    }
    if (!file && n == 0) { /* (rc_new)(h, t): nothing to remember */
        rc__pmap_del(&t->obj_site, (uintptr_t)obj);
        return 0;
    }
    uint32_t id;
    if (n == 0 && file == t->last_file && line == t->last_line && func == t->last_func) {
        id = t->last_id; /* the same call site again: no hashing */
    } else {
        id = intern(t, file, line, func, frames, n);
        if (n == 0 && id) {
            t->last_file = file;
            t->last_func = func;
            t->last_line = line;
            t->last_id = id;
        }
    }
    uint64_t *v = id ? rc__pmap_put(&t->obj_site, (uintptr_t)obj, NULL) : NULL;
    if (!v) {
        rc__pmap_del(&t->obj_site, (uintptr_t)obj);
        return RC_ENOMEM;
    }
    *v = id;
    return 0;
}

const rc__site *rc__site_get(const rc_heap *h, const void *obj)
{
    const rc__tools *t = h->tools;
    if (!t || !t->sites_on) return NULL;
    const uint64_t *v = rc__pmap_get(&t->obj_site, (uintptr_t)obj);
    return v && *v ? &t->site[*v - 1] : NULL;
}

void rc__sites_fini(rc__tools *t)
{
    for (uint32_t i = 0; i < t->nsites; i++) free(t->site[i].frames);
    free(t->site);
    free(t->site_index);
    rc__pmap_free(&t->obj_site);
    t->site = NULL;
    t->site_index = NULL;
    t->last_file = t->last_func = NULL;
    t->last_id = 0;
    t->nsites = t->capsites = t->capindex = 0;
    t->sites_on = false;
}

/* ------------------------------------------------------------------ */
/* The public calls                                                    */
/* ------------------------------------------------------------------ */

int rc_sites_start(rc_heap *h, int depth, unsigned sample)
{
    if (!h || depth < 0 || depth > RC_SITE_DEPTH_MAX) return rc__fail(h, RC_EINVAL), -1;
    rc__tools *t = rc__tools_get(h);
    if (!t) return rc__fail(h, RC_ENOMEM), -1;
    t->sites_on = true;
    t->depth = depth;
    t->sample = sample ? sample : 1;
    t->countdown = 1; /* the next allocation gets a backtrace */
    return 0;
}

int rc_sites_stop(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    if (h->tools) rc__sites_fini(h->tools);
    return 0;
}

int rc_site_of(const void *obj, rc_site *out)
{
    if (!obj || !out) return rc__fail(obj ? rc_heap_of(obj) : NULL, RC_EINVAL), -1;
    rc_heap *h = rc_heap_of(obj);
    const rc__site *s = rc__site_get(h, obj);
    if (!s) return rc__fail(h, RC_ENOENT), -1;
    out->file = s->file;
    out->line = s->line;
    out->func = s->func;
    out->nframes = s->nframes;
    out->frames = s->frames;
    return 0;
}
