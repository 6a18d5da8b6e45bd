/* trace.c — the timeline and profile scopes.
 *
 * A trace is a file of JSON lines, one event each, every one with "ev" and
 * "t" (seconds since the trace started):
 *   start     pid, version, the heap's settings, "time_ns" (monotonic) so
 *             snapshots' own "time_ns" can be placed on the timeline;
 *   gc        every collection: generation, pause, collected, uncollectable,
 *             tracked objects per generation, bytes held, resident memory;
 *   sample    heap bytes, tracked objects and resident memory, at most every
 *             SAMPLE_NS, checked every 1024 allocations and at collections;
 *   scope     a profile scope that ended: allocations, frees, net, peak (the
 *             first SCOPE_EVENTS of each name);
 *   scope_total  at the end, every name's totals (rc_profile_get's);
 *   snapshot  rc_trace_snapshot's, and the final one (rc_snapshot_write_json);
 *   suspect   at the end: the groups that grew most since the first
 *             snapshot, each with its why-alive text and a DOT graph of
 *             what refers to an example;
 *   end.
 * tools/recycle-report reads it.  Collections are seen through a gc
 * callback, so the collector knows nothing of tracing.
 *
 * Profile scopes count what rc_new and the free path report while they are
 * open (the hooks in tools.c); nested scopes each count everything, their
 * inner scopes' work included.
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define SAMPLE_NS    10000000u /* 10 ms */
#define SUSPECTS     3
#define SUSPECT_DEPTH 4
#define SCOPE_EVENTS 1000 /* scope events per name; then only the totals */

static double secs(const rc__tools *t, uint64_t now) { return (double)(now - t->t0) / 1e9; }

/* Resident memory from /proc/self/statm, in bytes; -1 if unknown. */
static long long rss_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    if (!p) return -1;
    return strtoll(p + 1, NULL, 10) * sysconf(_SC_PAGESIZE);
}

static size_t tracked_now(const rc_heap *h)
{
    size_t n = 0;
    for (int b = 0; b < RC__NBANDS; b++) n += h->live[b];
    return n;
}

static void sample(rc_heap *h, uint64_t now)
{
    rc__tools *t = h->tools;
    t->last_sample = now;
    fprintf(t->trace, "{\"ev\":\"sample\",\"t\":%.6f,\"bytes\":%zu,\"tracked\":%zu,"
                      "\"rss\":%lld}\n",
            secs(t, now), rc__alloc_in_use(h->alloc), tracked_now(h), rss_bytes());
}

void rc__trace_tick(rc_heap *h)
{
    rc__tools *t = h->tools;
    if ((++t->tick & 1023) != 0) return;
    uint64_t now = rc__now_ns();
    if (now - t->last_sample >= SAMPLE_NS) sample(h, now);
}

static void on_collection(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)data;
    rc__tools *t = h->tools;
    if (phase != RC_GC_STOP || !t || !t->trace) return;
    uint64_t now = rc__now_ns();
    fprintf(t->trace, "{\"ev\":\"gc\",\"t\":%.6f,\"gen\":%d,\"pause_ns\":%llu,"
                      "\"collected\":%llu,\"uncollectable\":%llu,\"objects\":[%zu,%zu,%zu],"
                      "\"frozen\":%zu,\"garbage\":%zu,\"bytes\":%zu,\"rss\":%lld}\n",
            secs(t, now), info->generation, (unsigned long long)info->duration_ns,
            (unsigned long long)info->collected, (unsigned long long)info->uncollectable,
            h->live[RC__GEN0], h->live[RC__GEN1], h->live[RC__OLD] + h->live[RC__PENDING],
            h->live[RC__FROZEN], h->garbage.len, rc__alloc_in_use(h->alloc), rss_bytes());
    if (now - t->last_sample >= SAMPLE_NS) sample(h, now);
}

/* path with %p replaced by the process id and %h by a number counting the
 * heaps that trace in this process; NULL when out of memory. */
static char *expand_path(const char *path)
{
    static unsigned long heaps; /* atomically incremented */
    unsigned long serial = __atomic_fetch_add(&heaps, 1, __ATOMIC_RELAXED);
    size_t cap = strlen(path) + 64, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = path; *p; p++) {
        char num[32] = "";
        if (p[0] == '%' && p[1] == 'p') snprintf(num, sizeof num, "%ld", (long)getpid());
        else if (p[0] == '%' && p[1] == 'h') snprintf(num, sizeof num, "%lu", serial);
        size_t add = num[0] ? strlen(num) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        if (num[0]) {
            memcpy(out + n, num, add);
            p++;
        } else {
            out[n] = *p;
        }
        n += add;
    }
    out[n] = '\0';
    return out;
}

int rc_trace_start(rc_heap *h, const char *path)
{
    if (!h || !path || !*path) return rc__fail(h, RC_EINVAL), -1;
    rc__tools *t = rc__tools_get(h);
    if (!t) return rc__fail(h, RC_ENOMEM), -1;
    if (t->trace) return rc__fail(h, RC_ESTATE), -1;
    char *real = expand_path(path);
    if (!real) return rc__fail(h, RC_ENOMEM), -1;
    FILE *f = fopen(real, "w");
    free(real);
    if (!f) return rc__fail(h, RC_ENOENT), -1;
    if (rc_gc_callback_add(h, on_collection, t) != 0) {
        fclose(f);
        return rc__fail(h, RC_ENOMEM), -1;
    }
    t->trace = f;
    t->t0 = rc__now_ns();
    fprintf(f, "{\"ev\":\"start\",\"t\":0,\"time_ns\":%llu,\"pid\":%ld,\"version\":\"%s\","
               "\"heap\":\"%p\",\"threshold\":[%zu,%zu,%zu],\"sites\":%s,\"site_depth\":%d}\n",
            (unsigned long long)t->t0, (long)getpid(), rc_version_string(), (void *)h,
            h->threshold[0], h->threshold[1], h->threshold[2], t->sites_on ? "true" : "false",
            t->depth);
    sample(h, t->t0);
    return 0;
}

static void write_snapshot(rc__tools *t, const rc_snapshot *s)
{
    /* rc_snapshot_write_json's object, with "t" put in front. */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    rc_snapshot_write_json(s, m);
    fclose(m);
    if (buf && len > 1 && buf[0] == '{')
        fprintf(t->trace, "{\"t\":%.6f,%s", secs(t, rc__now_ns()), buf + 1);
    free(buf);
}

int rc_trace_snapshot(rc_heap *h, const char *label)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    rc__tools *t = h->tools;
    if (!t || !t->trace) return rc__fail(h, RC_ESTATE), -1;
    rc_snapshot *s = rc__snapshot_take(h, label);
    if (!s) return -1;
    write_snapshot(t, s);
    if (!t->baseline) t->baseline = s;
    else rc_snapshot_free(s);
    return 0;
}

/* Text that a tool wrote to a stream, in memory (caller frees); NULL if none. */
static char *capture(rc_heap *h, const void *obj, bool dot, int *verdict)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    int r = dot ? rc_dump_dot(h, obj, SUSPECT_DEPTH, RC_DOT_REFERRERS, m)
                : rc_why_alive(h, obj, m);
    fclose(m);
    if (verdict) *verdict = r;
    if (r < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The top of the dominator tree (retained.c): the DOMTREE_NODES objects
 * that retain the most, each with its parent in the tree and what its
 * smaller children retain together, for the report's icicle. */
#define DOMTREE_NODES 300

typedef struct dnode {
    uint32_t v;
    long     parent;            /* index, -1: the root */
    uint64_t bytes, rest_bytes; /* retained; of it, by children not shown */
    uint32_t count, rest_count;
} dnode;

static int cmp_vertex(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void write_domtree(rc_heap *h)
{
    rc__tools *t = h->tools;
    rc__dom d;
    if (rc__dom_build(&d, h) != 0) return;
    uint32_t *v = malloc(DOMTREE_NODES * sizeof *v);
    void **obj = malloc(DOMTREE_NODES * sizeof *obj);
    dnode *nd = malloc(DOMTREE_NODES * sizeof *nd);
    long k = v && obj && nd ? rc__dom_top_part(&d, v, DOMTREE_NODES) : -1;
    if (k >= 0 && rc__dom_objects(&d, v, (size_t)k, obj, sizeof *obj) != 0) k = -1;
    uint64_t total = d.bytes[0], rest = d.bytes[0];
    uint32_t objects = d.count[0], rest_n = d.count[0];
    for (long i = 0; i < k; i++) {
        uint32_t p = d.idom[v[i]];
        uint32_t *at = p ? bsearch(&p, v, (size_t)k, sizeof *v, cmp_vertex) : NULL;
        nd[i] = (dnode){v[i], at ? at - v : -1, d.bytes[v[i]], d.bytes[v[i]],
                        d.count[v[i]], d.count[v[i]] - 1};
    }
    rc__dom_free(&d); /* the gc words are indices again */
    for (long i = 0; i < k; i++) {
        nd[i].rest_bytes -= rc__block_size(rc__block_of(RC__HEAD(obj[i])));
        if (nd[i].parent >= 0) {
            nd[nd[i].parent].rest_bytes -= nd[i].bytes;
            nd[nd[i].parent].rest_count -= nd[i].count;
        } else {
            rest -= nd[i].bytes;
            rest_n -= nd[i].count;
        }
    }
    if (k >= 0) {
        fprintf(t->trace, "{\"ev\":\"domtree\",\"t\":%.6f,\"objects\":%u,\"bytes\":%llu,"
                          "\"rest_count\":%u,\"rest_bytes\":%llu,\"nodes\":[",
                secs(t, rc__now_ns()), (unsigned)objects, (unsigned long long)total,
                (unsigned)rest_n, (unsigned long long)rest);
        for (long i = 0; i < k; i++) {
            const rc_type *ty = rc_type_of(obj[i]);
            char brief[RC__DESCRIBE_MAX + 128], site[512] = "";
            rc__describe_brief(obj[i], brief, sizeof brief);
            const rc__site *st = rc__site_get(h, obj[i]);
            if (st && st->file)
                snprintf(site, sizeof site, "%s:%d%s%s", st->file, st->line,
                         st->func ? " in " : "", st->func ? st->func : "");
            fprintf(t->trace, "%s{\"parent\":%ld,\"type\":", i ? "," : "", nd[i].parent);
            rc__json_str(t->trace, ty && ty->name ? ty->name : "?");
            fputs(",\"object\":", t->trace);
            rc__json_str(t->trace, brief);
            fputs(",\"site\":", t->trace);
            rc__json_str(t->trace, site[0] ? site : NULL);
            fprintf(t->trace, ",\"bytes\":%llu,\"count\":%u,\"rest_bytes\":%llu,"
                              "\"rest_count\":%u}",
                    (unsigned long long)nd[i].bytes, (unsigned)nd[i].count,
                    (unsigned long long)nd[i].rest_bytes, (unsigned)nd[i].rest_count);
        }
        fputs("]}\n", t->trace);
    }
    free(v);
    free(obj);
    free(nd);
}

/* The final snapshot, and the groups that grew most since the baseline. */
static void write_end(rc_heap *h, const char *label)
{
    rc__tools *t = h->tools;
    rc_snapshot *now = rc__snapshot_take(h, label);
    if (now) {
        write_snapshot(t, now);
        rc_stat st[SUSPECTS];
        void *ex[SUSPECTS];
        size_t n = rc__snapshot_suspects(t->baseline, now, SUSPECTS, st, ex);
        static const char *const verdicts[3] = {"outside", "garbage list", "cycle"};
        for (size_t i = 0; i < n; i++) {
            int verdict = -1;
            char *why = capture(h, ex[i], false, &verdict);
            char *dot = capture(h, ex[i], true, NULL);
            fprintf(t->trace, "{\"ev\":\"suspect\",\"t\":%.6f,\"rank\":%zu,\"type\":",
                    secs(t, rc__now_ns()), i + 1);
            rc__json_str(t->trace, st[i].type);
            fputs(",\"file\":", t->trace);
            rc__json_str(t->trace, st[i].file);
            fprintf(t->trace, ",\"line\":%d,\"func\":", st[i].line);
            rc__json_str(t->trace, st[i].func);
            fprintf(t->trace, ",\"count\":%lld,\"bytes\":%lld,\"count_diff\":%lld,"
                              "\"bytes_diff\":%lld,\"baseline\":%s,\"verdict\":",
                    st[i].count, st[i].bytes, st[i].count_diff, st[i].bytes_diff,
                    t->baseline ? "true" : "false");
            rc__json_str(t->trace, verdict >= 0 && verdict < 3 ? verdicts[verdict] : NULL);
            fputs(",\"why\":", t->trace);
            rc__json_str(t->trace, why);
            fputs(",\"dot\":", t->trace);
            rc__json_str(t->trace, dot);
            fputs("}\n", t->trace);
            free(why);
            free(dot);
        }
        rc_snapshot_free(now);
    }
    write_domtree(h);
    for (size_t i = 0; i < t->nprof; i++) {
        const rc_profile_stats *st = &t->prof[i].st;
        fprintf(t->trace, "{\"ev\":\"scope_total\",\"t\":%.6f,\"name\":",
                secs(t, rc__now_ns()));
        rc__json_str(t->trace, t->prof[i].name);
        fprintf(t->trace, ",\"calls\":%llu,\"allocs\":%llu,\"alloc_bytes\":%llu,"
                          "\"frees\":%llu,\"free_bytes\":%llu,\"net_bytes\":%lld,"
                          "\"peak_bytes\":%lld,\"time_ns\":%llu}\n",
                (unsigned long long)st->calls, (unsigned long long)st->allocs,
                (unsigned long long)st->alloc_bytes, (unsigned long long)st->frees,
                (unsigned long long)st->free_bytes, (long long)st->net_bytes,
                (long long)st->peak_bytes, (unsigned long long)st->time_ns);
    }
    uint64_t end = rc__now_ns();
    sample(h, end);
    fprintf(t->trace, "{\"ev\":\"end\",\"t\":%.6f}\n", secs(t, end));
}

static void close_trace(rc_heap *h, const char *label)
{
    rc__tools *t = h->tools;
    write_end(h, label);
    fclose(t->trace);
    t->trace = NULL;
    rc_gc_callback_remove(h, on_collection, t);
    rc_snapshot_free(t->baseline);
    t->baseline = NULL;
}

int rc_trace_stop(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    if (!h->tools || !h->tools->trace) return rc__fail(h, RC_ESTATE), -1;
    if (h->collecting) return rc__fail(h, RC_EBUSY), -1;
    close_trace(h, "stop");
    return 0;
}

void rc__trace_fini(rc_heap *h)
{
    if (h->tools->trace) close_trace(h, "exit");
}

/* ------------------------------------------------------------------ */
/* Profile scopes                                                      */
/* ------------------------------------------------------------------ */

void rc__profile_account(rc__tools *t, int64_t bytes)
{
    for (int i = 0; i < t->nscopes; i++) {
        rc__scope *s = &t->scope[i];
        if (bytes > 0) {
            s->allocs++;
            s->alloc_bytes += (uint64_t)bytes;
        } else {
            s->frees++;
            s->free_bytes += (uint64_t)-bytes;
        }
        s->net += bytes;
        if (s->net > s->peak) s->peak = s->net;
    }
}

static rc__prof *find_prof(const rc__tools *t, const char *name)
{
    for (size_t i = 0; i < t->nprof; i++)
        if (strcmp(t->prof[i].name, name) == 0) return &t->prof[i];
    return NULL;
}

int rc_profile_begin(rc_heap *h, const char *name)
{
    if (!h || !name) return rc__fail(h, RC_EINVAL), -1;
    rc__tools *t = rc__tools_get(h);
    if (!t) return rc__fail(h, RC_ENOMEM), -1;
    if (t->nscopes == RC__SCOPES_MAX) return rc__fail(h, RC_ESTATE), -1;
    rc__prof *p = find_prof(t, name);
    if (!p) {
        if (t->nprof == t->capprof) {
            size_t cap = t->capprof ? t->capprof * 2 : 8;
            rc__prof *np = realloc(t->prof, cap * sizeof *np);
            if (!np) return rc__fail(h, RC_ENOMEM), -1;
            t->prof = np;
            t->capprof = cap;
        }
        char *copy = malloc(strlen(name) + 1);
        if (!copy) return rc__fail(h, RC_ENOMEM), -1;
        strcpy(copy, name);
        p = &t->prof[t->nprof++];
        memset(p, 0, sizeof *p);
        p->name = copy;
    }
    t->scope[t->nscopes++] = (rc__scope){(uint32_t)(p - t->prof), rc__now_ns(), 0, 0, 0, 0,
                                         0, 0};
    return 0;
}

int rc_profile_end(rc_heap *h)
{
    if (!h) return rc__fail(NULL, RC_EINVAL), -1;
    rc__tools *t = h->tools;
    if (!t || t->nscopes == 0) return rc__fail(h, RC_ESTATE), -1;
    rc__scope *s = &t->scope[--t->nscopes];
    rc__prof *p = &t->prof[s->name];
    uint64_t now = rc__now_ns();
    p->st.calls++;
    p->st.allocs += s->allocs;
    p->st.alloc_bytes += s->alloc_bytes;
    p->st.frees += s->frees;
    p->st.free_bytes += s->free_bytes;
    p->st.net_bytes += s->net;
    if (s->peak > p->st.peak_bytes) p->st.peak_bytes = s->peak;
    p->st.time_ns += now - s->t0;
    if (t->trace && p->st.calls <= SCOPE_EVENTS) {
        fprintf(t->trace, "{\"ev\":\"scope\",\"t\":%.6f,\"name\":", secs(t, now));
        rc__json_str(t->trace, p->name);
        fprintf(t->trace, ",\"start\":%.6f,\"depth\":%d,\"allocs\":%llu,\"alloc_bytes\":%llu,"
                          "\"frees\":%llu,\"free_bytes\":%llu,\"net_bytes\":%lld,"
                          "\"peak_bytes\":%lld}\n",
                s->t0 >= t->t0 ? secs(t, s->t0) : 0.0, t->nscopes,
                (unsigned long long)s->allocs, (unsigned long long)s->alloc_bytes,
                (unsigned long long)s->frees, (unsigned long long)s->free_bytes,
                (long long)s->net, (long long)s->peak);
    }
    return 0;
}

int rc_profile_get(const rc_heap *h, const char *name, rc_profile_stats *out)
{
    if (!h || !name || !out) return rc__fail((rc_heap *)h, RC_EINVAL), -1;
    const rc__prof *p = h->tools ? find_prof(h->tools, name) : NULL;
    if (!p) return rc__fail((rc_heap *)h, RC_ENOENT), -1;
    *out = p->st;
    return 0;
}

void rc__profile_fini(rc__tools *t)
{
    for (size_t i = 0; i < t->nprof; i++) free(t->prof[i].name);
    free(t->prof);
    t->prof = NULL;
    t->nprof = t->capprof = 0;
    t->nscopes = 0;
}
