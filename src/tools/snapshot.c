/* snapshot.c — snapshots of a heap and their differences: live objects and
 * bytes per type, per allocation site, and per (type, site), from a walk of
 * every live block (tracked, untracked and atomic objects alike), in the
 * manner of tracemalloc's snapshots and objgraph's show_growth.
 *
 * A snapshot owns copies of every string it shows (type names, files,
 * functions, symbolized frames), so it outlives its heap and compares with
 * snapshots of other heaps: entries are matched by their text, never by
 * addresses.  Entries are kept sorted, largest first: by bytes in a
 * snapshot, by growth in a diff.
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <execinfo.h>
#include <stdlib.h>

struct rc_snapshot {
    bool     diff;
    char    *label;
    uint64_t time_ns;            /* monotonic clock when taken */
    rc_stat  total;
    rc_stat *by[3];
    size_t   n[3];
    void   **example;            /* per TYPE_SITE entry, or NULL */
    size_t   tracked[3], frozen, garbage, bytes_from_os;
    rc__vec  strings;            /* everything the entries point into */
};

/* ------------------------------------------------------------------ */
/* Strings the snapshot owns                                           */
/* ------------------------------------------------------------------ */

static const char *own(rc_snapshot *s, const char *str)
{
    if (!str) return NULL;
    size_t n = strlen(str) + 1;
    char *c = malloc(n);
    if (!c) return NULL;
    memcpy(c, str, n);
    if (rc__vec_push(&s->strings, c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void *own_block(rc_snapshot *s, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p && rc__vec_push(&s->strings, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void rc_snapshot_free(rc_snapshot *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->strings.len; i++) free(s->strings.v[i]);
    rc__vec_free(&s->strings);
    for (int b = 0; b < 3; b++) free(s->by[b]);
    free(s->example);
    free(s->label);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Keys and orders                                                     */
/* ------------------------------------------------------------------ */

static int strcmp0(const char *a, const char *b)
{
    if (!a || !b) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int site_cmp(const rc_stat *a, const rc_stat *b)
{
    int c = strcmp0(a->file, b->file);
    if (c) return c;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if ((c = strcmp0(a->func, b->func))) return c;
    if (a->nframes != b->nframes) return a->nframes < b->nframes ? -1 : 1;
    for (int i = 0; i < a->nframes; i++)
        if ((c = strcmp0(a->frames[i], b->frames[i]))) return c;
    return 0;
}

/* The grouping key: type, then site (either may be absent). */
static int key_cmp(const rc_stat *a, const rc_stat *b)
{
    int c = strcmp0(a->type, b->type);
    return c ? c : site_cmp(a, b);
}

typedef struct ent {
    rc_stat st;
    void   *ex;
} ent;

static int ent_key_cmp(const void *pa, const void *pb)
{
    return key_cmp(&((const ent *)pa)->st, &((const ent *)pb)->st);
}

static int cmp_ll(long long a, long long b) { return a < b ? 1 : a > b ? -1 : 0; }

/* Largest first: by bytes, count, then the key (deterministic output). */
static int ent_size_cmp(const void *pa, const void *pb)
{
    const rc_stat *a = &((const ent *)pa)->st, *b = &((const ent *)pb)->st;
    int c = cmp_ll(a->bytes, b->bytes);
    if (!c) c = cmp_ll(a->count, b->count);
    return c ? c : key_cmp(a, b);
}

/* Largest growth first. */
static int ent_growth_cmp(const void *pa, const void *pb)
{
    const rc_stat *a = &((const ent *)pa)->st, *b = &((const ent *)pb)->st;
    int c = cmp_ll(a->bytes_diff, b->bytes_diff);
    if (!c) c = cmp_ll(a->count_diff, b->count_diff);
    return c ? c : ent_size_cmp(pa, pb);
}

/* Sorts v[0..n) by key and merges equal keys; returns the new length. */
static size_t merge_equal(ent *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, ent_key_cmp);
    size_t w = 0;
    for (size_t i = 1; i < n; i++) {
        if (key_cmp(&v[w].st, &v[i].st) == 0) {
            v[w].st.count += v[i].st.count;
            v[w].st.bytes += v[i].st.bytes;
            v[w].st.count_diff += v[i].st.count_diff;
            v[w].st.bytes_diff += v[i].st.bytes_diff;
            v[w].st.retained = v[w].st.retained < 0 || v[i].st.retained < 0
                                   ? -1 : v[w].st.retained + v[i].st.retained;
            if (!v[w].ex) v[w].ex = v[i].ex;
            if (!v[w].st.example) v[w].st.example = v[i].st.example;
        } else {
            v[++w] = v[i];
        }
    }
    return w + 1;
}

/* From the (type, site) entries, builds the three groupings of s, each
 * sorted by `order`.  Takes v. */
static int build_groupings(rc_snapshot *s, ent *v, size_t n,
                           int (*order)(const void *, const void *), bool keep_examples)
{
    n = merge_equal(v, n);
    ent *w = malloc((n ? n : 1) * sizeof *w);
    if (!w) {
        free(v);
        return RC_ENOMEM;
    }
    for (int by = RC_STAT_SITE; by >= RC_STAT_TYPE; by--) {
        memcpy(w, v, n * sizeof *w);
        for (size_t i = 0; i < n; i++) {
            if (by == RC_STAT_SITE) w[i].st.type = NULL;
            else {
                w[i].st.file = w[i].st.func = NULL;
                w[i].st.line = w[i].st.nframes = 0;
                w[i].st.frames = NULL;
            }
        }
        size_t m = merge_equal(w, n);
        qsort(w, m, sizeof *w, order);
        s->by[by] = malloc((m ? m : 1) * sizeof(rc_stat));
        if (!s->by[by]) break;
        for (size_t i = 0; i < m; i++) s->by[by][i] = w[i].st;
        s->n[by] = m;
    }
    qsort(v, n, sizeof *v, order);
    s->by[RC_STAT_TYPE_SITE] = malloc((n ? n : 1) * sizeof(rc_stat));
    if (keep_examples) s->example = malloc((n ? n : 1) * sizeof(void *));
    int err = 0;
    if (!s->by[RC_STAT_TYPE] || !s->by[RC_STAT_SITE] || !s->by[RC_STAT_TYPE_SITE] ||
        (keep_examples && !s->example))
        err = RC_ENOMEM;
    else {
        for (size_t i = 0; i < n; i++) {
            s->by[RC_STAT_TYPE_SITE][i] = v[i].st;
            if (keep_examples) s->example[i] = v[i].ex;
        }
        s->n[RC_STAT_TYPE_SITE] = n;
    }
    free(w);
    free(v);
    return err;
}

/* ------------------------------------------------------------------ */
/* Taking a snapshot                                                   */
/* ------------------------------------------------------------------ */

typedef struct group {
    const rc_type *type;
    uint32_t       site;
    long long      count, bytes;
    void          *ex;
} group;

typedef struct walk_ctx {
    rc_heap *h;
    rc__dom  *dom;    /* retained sizes: the heap's dominator tree, or NULL */
    uint32_t *vgroup; /* its vertices' groups */
    rc__pmap index; /* (type, site) -> group index + 1 */
    rc__pmap types; /* type -> number (for the key) */
    group   *g;
    size_t   n, cap;
    bool     failed;
} walk_ctx;

static int walk_block(void *block, void *arg)
{
    walk_ctx *c = arg;
    rc__head *hd = rc__head_of_block(block);
    const rc_type *t = rc__type(hd);
    void *obj = rc__obj_of(hd);
    const rc__site *site = rc__site_get(c->h, obj);
    uint32_t sid = site ? (uint32_t)(site - c->h->tools->site) + 1 : 0;

    bool added;
    uint64_t *tn = rc__pmap_put(&c->types, (uintptr_t)t | 1, &added);
    if (!tn) goto fail;
    if (added) *tn = c->types.len;
    uint64_t *gi = rc__pmap_put(&c->index, (uintptr_t)((*tn << 32) | sid), &added);
    if (!gi) goto fail;
    if (added) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            group *ng = realloc(c->g, cap * sizeof *ng);
            if (!ng) goto fail;
            c->g = ng;
            c->cap = cap;
        }
        c->g[c->n] = (group){t, sid, 0, 0, obj};
        *gi = ++c->n;
    }
    group *g = &c->g[*gi - 1];
    if (c->dom) {
        uint32_t v = rc__dom_vertex(c->dom, obj);
        if (v) c->vgroup[v] = (uint32_t)(*gi - 1);
    }
    g->ex = obj; /* the last in address order: usually the newest */
    g->count++;
    g->bytes += (long long)(rc__block_size(block) + rc__buf_bytes(c->h, obj)); /* its buffers too */
    return 0;
fail:
    c->failed = true;
    return 1;
}

/* The site's fields, with copies the snapshot owns (sites[] caches them). */
static int fill_site(rc_snapshot *s, const rc__site *site, rc_stat *out)
{
    out->file = own(s, site->file);
    out->func = own(s, site->func);
    out->line = site->line;
    out->nframes = 0;
    out->frames = NULL;
    if ((site->file && !out->file) || (site->func && !out->func)) return RC_ENOMEM;
    if (site->nframes > 0) {
        const char **fr = own_block(s, (size_t)site->nframes * sizeof *fr);
        if (!fr) return RC_ENOMEM;
        char **sym = backtrace_symbols(site->frames, site->nframes);
        for (int i = 0; i < site->nframes; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "[%p]", site->frames[i]);
            fr[i] = own(s, sym ? sym[i] : buf);
            if (!fr[i]) {
                free(sym);
                return RC_ENOMEM;
            }
        }
        free(sym);
        out->frames = fr;
        out->nframes = site->nframes;
    }
    return 0;
}

/* Retained bytes per (type, site) group, per type name and per site id:
 * the union of their objects' subtrees in the dominator tree. */
typedef struct kept {
    rc_retained *ts, *type, *site;
    const char **names; /* type names, in the order of type[] */
    size_t       ntypes, nsites;
    long long    total;
} kept;

static void kept_free(kept *k)
{
    free(k->ts);
    free(k->type);
    free(k->site);
    free(k->names);
}

static int retained_by_group(rc__dom *d, const walk_ctx *c, kept *k)
{
    size_t n = c->n;
    k->nsites = c->h->tools ? c->h->tools->nsites + 1 : 1;
    k->ts = malloc((n ? n : 1) * sizeof *k->ts);
    k->type = malloc((n ? n : 1) * sizeof *k->type);
    k->site = malloc(k->nsites * sizeof *k->site);
    k->names = malloc((n ? n : 1) * sizeof *k->names);
    uint32_t *map = malloc((n ? n : 1) * sizeof *map);
    int err = RC_ENOMEM;
    if (!k->ts || !k->type || !k->site || !k->names || !map) goto out;
    if ((err = rc__dom_groups(d, NULL, n, k->ts)) != 0) goto out;
    for (size_t i = 0; i < n; i++) { /* by type name: equal names are one type */
        const char *name = c->g[i].type && c->g[i].type->name ? c->g[i].type->name : "?";
        size_t t = 0;
        while (t < k->ntypes && strcmp(k->names[t], name) != 0) t++;
        if (t == k->ntypes) k->names[k->ntypes++] = name;
        map[i] = (uint32_t)t;
    }
    if ((err = rc__dom_groups(d, map, k->ntypes, k->type)) != 0) goto out;
    for (size_t i = 0; i < n; i++) map[i] = c->g[i].site;
    err = rc__dom_groups(d, map, k->nsites, k->site);
    k->total = (long long)d->bytes[0];
out:
    free(map);
    return err;
}

/* The exact figures into the merged entries: by type name, and by the site
 * whose strings a site entry shares (site_cache[id], which every entry of
 * that site points into). */
static void set_retained(rc_snapshot *s, const kept *k, const rc_stat *site_cache,
                         size_t nsites)
{
    for (size_t i = 0; i < s->n[RC_STAT_TYPE]; i++) {
        rc_stat *st = &s->by[RC_STAT_TYPE][i];
        st->retained = -1;
        for (size_t t = 0; k->type && t < k->ntypes; t++)
            if (strcmp(k->names[t], st->type) == 0) st->retained = (long long)k->type[t].bytes;
    }
    for (size_t i = 0; i < s->n[RC_STAT_SITE]; i++) {
        rc_stat *st = &s->by[RC_STAT_SITE][i];
        st->retained = k->site ? 0 : -1;
        for (size_t id = 0; k->site && id < nsites && id < k->nsites; id++) {
            const rc_stat *cs = &site_cache[id];
            if (cs->file == st->file && cs->func == st->func && cs->frames == st->frames &&
                cs->line == st->line && cs->nframes == st->nframes)
                st->retained += (long long)k->site[id].bytes;
        }
    }
}

rc_snapshot *rc__snapshot_take(rc_heap *h, const char *label)
{
    rc_snapshot *s = calloc(1, sizeof *s);
    if (!s) return rc__fail_null(h, RC_ENOMEM);
    s->time_ns = rc__now_ns();
    if (label && !(s->label = malloc(strlen(label) + 1))) goto nomem;
    if (label) strcpy(s->label, label);

    /* Retained sizes need the dominator tree, which a collection's state
     * forbids: snapshots taken then (from a gc callback) have none (-1). */
    walk_ctx c = {.h = h};
    rc__dom d;
    if (!h->collecting) {
        if (rc__dom_build(&d, h) != 0) goto nomem;
        c.dom = &d;
        if (!(c.vgroup = rc__dom_group_array(&d))) c.failed = true;
    }
    if (!c.failed) rc__walk_objects(h, walk_block, &c);
    rc__pmap_free(&c.index);
    rc__pmap_free(&c.types);
    kept k = {0};
    if (!c.failed && c.dom && retained_by_group(&d, &c, &k) != 0) c.failed = true;
    if (c.dom) rc__dom_free(&d);
    if (c.failed) {
        kept_free(&k);
        free(c.g);
        goto nomem;
    }

    ent *v = malloc((c.n ? c.n : 1) * sizeof *v);
    rc_stat *site_cache = calloc(h->tools ? h->tools->nsites + 1 : 1, sizeof *site_cache);
    bool *cached = calloc(h->tools ? h->tools->nsites + 1 : 1, sizeof *cached);
    int err = v && site_cache && cached ? 0 : RC_ENOMEM;
    for (size_t i = 0; i < c.n && !err; i++) {
        group *g = &c.g[i];
        rc_stat st = {0};
        st.type = own(s, g->type && g->type->name ? g->type->name : "?");
        if (!st.type) err = RC_ENOMEM;
        if (g->site && !err) {
            if (!cached[g->site]) {
                err = fill_site(s, &h->tools->site[g->site - 1], &site_cache[g->site]);
                cached[g->site] = true;
            }
            rc_stat *cs = &site_cache[g->site];
            st.file = cs->file;
            st.func = cs->func;
            st.line = cs->line;
            st.nframes = cs->nframes;
            st.frames = cs->frames;
        }
        if (!err) {
            char brief[RC__DESCRIBE_MAX + 128];
            rc__describe_brief(g->ex, brief, sizeof brief);
            if (!(st.example = own(s, brief))) err = RC_ENOMEM;
        }
        st.count = g->count;
        st.bytes = g->bytes;
        st.retained = k.ts ? (long long)k.ts[i].bytes : -1;
        s->total.count += g->count;
        s->total.bytes += g->bytes;
        v[i] = (ent){st, g->ex};
    }
    if (!err && build_groupings(s, v, c.n, ent_size_cmp, true) != 0) err = RC_ENOMEM;
    else if (err) free(v);
    if (!err) set_retained(s, &k, site_cache, h->tools ? h->tools->nsites + 1 : 1);
    s->total.retained = k.ts ? k.total : -1;
    free(site_cache);
    free(cached);
    free(c.g);
    kept_free(&k);
    if (err) goto nomem;

    s->tracked[0] = h->live[RC__GEN0];
    s->tracked[1] = h->live[RC__GEN1];
    s->tracked[2] = h->live[RC__OLD] + h->live[RC__PENDING];
    s->frozen = h->live[RC__FROZEN];
    s->garbage = h->garbage.len;
    rc_memory_stats ms;
    rc__alloc_stats(h->alloc, &ms);
    s->bytes_from_os = ms.bytes_from_os;
    return s;
nomem:
    rc_snapshot_free(s);
    return rc__fail_null(h, RC_ENOMEM);
}

rc_snapshot *rc_snapshot_take(rc_heap *h)
{
    if (!h) return rc__fail_null(NULL, RC_EINVAL);
    return rc__snapshot_take(h, NULL);
}

void *rc__snapshot_example(const rc_snapshot *s, size_t i)
{
    return s->example && i < s->n[RC_STAT_TYPE_SITE] ? s->example[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* Differences                                                         */
/* ------------------------------------------------------------------ */

/* Copies a's strings into s: the diff owns its strings too. */
static int copy_stat(rc_snapshot *s, const rc_stat *a, rc_stat *out)
{
    *out = *a;
    out->type = own(s, a->type);
    out->file = own(s, a->file);
    out->func = own(s, a->func);
    out->example = own(s, a->example);
    if ((a->type && !out->type) || (a->file && !out->file) || (a->func && !out->func) ||
        (a->example && !out->example))
        return RC_ENOMEM;
    if (a->nframes > 0) {
        const char **fr = own_block(s, (size_t)a->nframes * sizeof *fr);
        if (!fr) return RC_ENOMEM;
        for (int i = 0; i < a->nframes; i++)
            if (!(fr[i] = own(s, a->frames[i]))) return RC_ENOMEM;
        out->frames = fr;
    }
    return 0;
}

rc_snapshot *rc_snapshot_diff(const rc_snapshot *older, const rc_snapshot *newer)
{
    if (!older || !newer) return rc__fail_null(NULL, RC_EINVAL);
    rc_snapshot *s = calloc(1, sizeof *s);
    if (!s) return rc__fail_null(NULL, RC_ENOMEM);
    s->diff = true;
    s->time_ns = newer->time_ns;
    if (newer->label && (s->label = malloc(strlen(newer->label) + 1)))
        strcpy(s->label, newer->label);
    memcpy(s->tracked, newer->tracked, sizeof s->tracked);
    s->frozen = newer->frozen;
    s->garbage = newer->garbage;
    s->bytes_from_os = newer->bytes_from_os;
    s->total.count = newer->total.count;
    s->total.bytes = newer->total.bytes;
    s->total.count_diff = newer->total.count - older->total.count;
    s->total.bytes_diff = newer->total.bytes - older->total.bytes;

    /* The (type, site) entries of both: older ones negated, then merged. */
    size_t no = older->n[RC_STAT_TYPE_SITE], nn = newer->n[RC_STAT_TYPE_SITE];
    ent *v = malloc((no + nn ? no + nn : 1) * sizeof *v);
    if (!v) goto nomem;
    size_t k = 0;
    for (size_t i = 0; i < nn; i++, k++) {
        if (copy_stat(s, &newer->by[RC_STAT_TYPE_SITE][i], &v[k].st) != 0) goto nomem_v;
        v[k].st.count_diff = v[k].st.count;
        v[k].st.bytes_diff = v[k].st.bytes;
        v[k].ex = NULL;
    }
    for (size_t i = 0; i < no; i++, k++) {
        if (copy_stat(s, &older->by[RC_STAT_TYPE_SITE][i], &v[k].st) != 0) goto nomem_v;
        v[k].st.count_diff = -v[k].st.count;
        v[k].st.bytes_diff = -v[k].st.bytes;
        v[k].st.count = v[k].st.bytes = 0;
        v[k].st.example = NULL; /* gone, or shown by the newer entry */
        v[k].st.retained = 0;
        v[k].ex = NULL;
    }
    if (build_groupings(s, v, k, ent_growth_cmp, false) != 0) goto nomem;
    return s;
nomem_v:
    free(v);
nomem:
    rc_snapshot_free(s);
    return rc__fail_null(NULL, RC_ENOMEM);
}

size_t rc__snapshot_suspects(const rc_snapshot *base, const rc_snapshot *now, size_t k,
                             rc_stat *out, void **ex)
{
    rc_snapshot *d = base ? rc_snapshot_diff(base, now) : NULL;
    size_t found = 0;
    if (d) {
        for (size_t i = 0; i < d->n[RC_STAT_TYPE_SITE] && found < k; i++) {
            const rc_stat *st = &d->by[RC_STAT_TYPE_SITE][i];
            if (st->bytes_diff <= 0 && st->count_diff <= 0) break;
            for (size_t j = 0; j < now->n[RC_STAT_TYPE_SITE]; j++) {
                const rc_stat *ns = &now->by[RC_STAT_TYPE_SITE][j];
                if (key_cmp(ns, st) != 0 || !now->example[j]) continue;
                out[found] = *ns;
                out[found].count_diff = st->count_diff;
                out[found].bytes_diff = st->bytes_diff;
                ex[found++] = now->example[j];
                break;
            }
        }
        rc_snapshot_free(d);
        return found;
    }
    for (size_t j = 0; j < now->n[RC_STAT_TYPE_SITE] && found < k; j++) {
        if (!now->example[j]) continue;
        out[found] = now->by[RC_STAT_TYPE_SITE][j];
        ex[found++] = now->example[j];
    }
    return found;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

const rc_stat *rc_snapshot_stats(const rc_snapshot *s, int by, size_t *n)
{
    if (!s || by < RC_STAT_TYPE || by > RC_STAT_TYPE_SITE) {
        if (n) *n = 0;
        return rc__fail_null(NULL, RC_EINVAL);
    }
    if (n) *n = s->n[by];
    return s->by[by];
}

int rc_snapshot_total(const rc_snapshot *s, rc_stat *out)
{
    if (!s || !out) return rc__fail(NULL, RC_EINVAL), -1;
    *out = s->total;
    return 0;
}

static void print_site(const rc_stat *st, FILE *f, bool frames)
{
    if (st->file) {
        fprintf(f, "%s:%d", st->file, st->line);
        if (st->func) fprintf(f, " in %s", st->func);
    } else if (st->nframes > 0) {
        fputs(st->frames[0], f);
    } else {
        fputs("(site unknown)", f);
    }
    if (frames)
        for (int i = 0; i < st->nframes; i++) fprintf(f, "\n%34s%s", "", st->frames[i]);
}

int rc_snapshot_print(const rc_snapshot *s, int by, size_t top, FILE *stream)
{
    if (!s || !stream || by < RC_STAT_TYPE || by > RC_STAT_TYPE_SITE)
        return rc__fail(NULL, RC_EINVAL), -1;
    static const char *const what[3] = {"type", "allocation site", "type, allocation site"};
    size_t n = s->n[by], shown = top && top < n ? top : n;
    if (s->diff) {
        fprintf(stream, "recycle growth: %+lld objects, %+lld bytes (now %lld objects, "
                        "%lld bytes)%s%s\n",
                s->total.count_diff, s->total.bytes_diff, s->total.count, s->total.bytes,
                s->label ? ", at " : "", s->label ? s->label : "");
        fprintf(stream, "%8s %8s %10s %10s %10s  %s\n", "count", "+count", "bytes", "+bytes",
                "retained", what[by]);
    } else {
        fprintf(stream, "recycle snapshot: %lld objects, %lld bytes%s%s\n", s->total.count,
                s->total.bytes, s->label ? ", at " : "", s->label ? s->label : "");
        fprintf(stream, "%8s %10s %10s  %s\n", "count", "bytes", "retained", what[by]);
    }
    for (size_t i = 0; i < shown; i++) {
        const rc_stat *st = &s->by[by][i];
        char ret[24] = "-"; /* unknown: taken during a collection */
        if (st->retained >= 0) snprintf(ret, sizeof ret, "%lld", st->retained);
        if (s->diff)
            fprintf(stream, "%8lld %+8lld %10lld %+10lld %10s  ", st->count, st->count_diff,
                    st->bytes, st->bytes_diff, ret);
        else
            fprintf(stream, "%8lld %10lld %10s  ", st->count, st->bytes, ret);
        if (st->type) fputs(st->type, stream);
        if (by != RC_STAT_TYPE) {
            if (st->type) fputs("  ", stream);
            print_site(st, stream, true);
        }
        putc('\n', stream);
    }
    if (shown < n) fprintf(stream, "... and %zu more\n", n - shown);
    return ferror(stream) ? (rc__fail(NULL, RC_EINVAL), -1) : 0;
}

static void json_stat(const rc_stat *st, FILE *f)
{
    putc('{', f);
    if (st->type) {
        fputs("\"type\":", f);
        rc__json_str(f, st->type);
        putc(',', f);
    }
    fputs("\"file\":", f);
    rc__json_str(f, st->file);
    fprintf(f, ",\"line\":%d,\"func\":", st->line);
    rc__json_str(f, st->func);
    fputs(",\"frames\":[", f);
    for (int i = 0; i < st->nframes; i++) {
        if (i) putc(',', f);
        rc__json_str(f, st->frames[i]);
    }
    fprintf(f, "],\"count\":%lld,\"bytes\":%lld,\"count_diff\":%lld,\"bytes_diff\":%lld,"
               "\"retained\":%lld,\"example\":",
            st->count, st->bytes, st->count_diff, st->bytes_diff, st->retained);
    rc__json_str(f, st->example);
    putc('}', f);
}

int rc_snapshot_write_json(const rc_snapshot *s, FILE *stream)
{
    if (!s || !stream) return rc__fail(NULL, RC_EINVAL), -1;
    FILE *f = stream;
    fprintf(f, "{\"ev\":\"snapshot\",\"kind\":\"%s\",\"label\":",
            s->diff ? "diff" : "snapshot");
    rc__json_str(f, s->label);
    fprintf(f, ",\"time_ns\":%llu,\"objects\":%lld,\"bytes\":%lld,\"count_diff\":%lld,"
               "\"bytes_diff\":%lld,\"tracked\":[%zu,%zu,%zu],\"frozen\":%zu,"
               "\"garbage\":%zu,\"bytes_from_os\":%zu",
            (unsigned long long)s->time_ns, s->total.count, s->total.bytes,
            s->total.count_diff, s->total.bytes_diff, s->tracked[0], s->tracked[1],
            s->tracked[2], s->frozen, s->garbage, s->bytes_from_os);
    static const char *const names[3] = {"types", "sites", "groups"};
    for (int by = 0; by < 3; by++) {
        fprintf(f, ",\"%s\":[", names[by]);
        for (size_t i = 0; i < s->n[by]; i++) {
            if (i) putc(',', f);
            if (by == RC_STAT_TYPE) {
                const rc_stat *st = &s->by[by][i];
                fputs("{\"type\":", f);
                rc__json_str(f, st->type);
                fprintf(f, ",\"count\":%lld,\"bytes\":%lld,\"count_diff\":%lld,"
                           "\"bytes_diff\":%lld,\"retained\":%lld,\"example\":",
                        st->count, st->bytes, st->count_diff, st->bytes_diff, st->retained);
                rc__json_str(f, st->example);
                putc('}', f);
            } else {
                json_stat(&s->by[by][i], f);
            }
        }
        putc(']', f);
    }
    fputs("}\n", f);
    return ferror(f) ? (rc__fail(NULL, RC_EINVAL), -1) : 0;
}
