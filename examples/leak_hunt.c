/* leak_hunt.c — finding two leaks with recycle's tools, run by `make demo`.
 *
 * A toy HTTP server: every request opens a connection (which owns a parser
 * that points back at it), parses the URL, looks the page up in a cache,
 * renders it on a miss, sends it and closes the connection.  It has two
 * leaks, both realistic:
 *
 *   1. The page cache never evicts, and its key is the whole URL, query
 *      string (a session id) included: it grows with every request.  Every
 *      entry is reachable from the program's `app` object, so nothing is
 *      garbage; the collector cannot help.
 *   2. A connection's finalizer flushes its buffer, so its type has
 *      RC_TYPE_LEGACY_FINALIZER (the finalizer needs its referents intact).
 *      Closing drops the connection, but connection <-> parser is a cycle,
 *      and a cycle holding a legacy finalizer is uncollectable: each one
 *      lands in the garbage list.
 *
 * The program hunts them as a user would: snapshot, run, snapshot, diff;
 * take an object of the type that grew and ask why it is alive; draw who
 * refers to it.  With a trace file (first argument, default
 * leak_hunt.trace.jsonl) it leaves a timeline that tools/recycle-report
 * turns into an HTML report.  `leak_hunt --fixed` runs the repaired server
 * (a bounded cache keyed without the query, and a close that breaks the
 * cycle), whose diff is flat.
 */
#include <recycle.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rc_heap *h;
static int fixed;

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

/* An immutable string: atomic (no references), variable size. */
typedef struct str {
    size_t len;
    char   text[];
} str;
/* describe: what the tools print beside the type and address. */
static int str_describe(void *obj, char *buf, size_t len)
{
    return snprintf(buf, len, "\"%s\"", ((str *)obj)->text);
}
static const rc_type str_type = {.name = "str", .size = sizeof(str), .describe = str_describe};

static str *str_new(const char *text)
{
    size_t len = strlen(text);
    str *s = rc_new_var(h, &str_type, sizeof(str) + len + 1);
    if (!s) exit(1);
    s->len = len;
    memcpy(s->text, text, len + 1);
    return s;
}

/* Containers with a few fixed reference slots: one traverse for all. */
#define SLOTS(type) (sizeof(type) / sizeof(void *))
typedef struct page {
    void *body;            /* str */
} page;
typedef struct entry {
    void *key, *page;      /* str, page */
} entry;
typedef struct parser {
    void *conn;            /* connection: the back-pointer of leak 2 */
} parser;
typedef struct connection {
    void *parser, *buffer; /* parser, str */
    long  fd;
} connection;
typedef struct request {
    void *url, *conn;      /* str, connection */
} request;

static int slots_traverse(void *obj, rc_visit_fn visit, void *arg, size_t n)
{
    void **s = obj;
    for (size_t i = 0; i < n; i++) {
        int r = visit(&s[i], arg);
        if (r) return r;
    }
    return 0;
}
#define TRAVERSE(type, nslots)                                                   \
    static int type##_traverse(void *obj, rc_visit_fn visit, void *arg)          \
    {                                                                            \
        return slots_traverse(obj, visit, arg, nslots);                          \
    }
TRAVERSE(page, 1)
TRAVERSE(entry, 2)
TRAVERSE(parser, 1)
TRAVERSE(connection, 2)
TRAVERSE(request, 2)

static const char *text_of(void *s) { return s ? ((str *)s)->text : "?"; }
static int entry_describe(void *obj, char *buf, size_t len)
{
    return snprintf(buf, len, "key %s", text_of(((entry *)obj)->key));
}
static int connection_describe(void *obj, char *buf, size_t len)
{
    return snprintf(buf, len, "fd %ld", ((connection *)obj)->fd);
}
static int request_describe(void *obj, char *buf, size_t len)
{
    return snprintf(buf, len, "GET %s", text_of(((request *)obj)->url));
}

static long flushed;
static void connection_finalize(void *obj)
{
    connection *c = obj;
    if (c->buffer) flushed++; /* "flush the buffer, close the fd": needs c->buffer */
}

static const rc_type page_type = {"page", sizeof(page), page_traverse, NULL, NULL, 0};
static const rc_type entry_type = {"entry", sizeof(entry), entry_traverse, NULL, NULL, 0,
                                   entry_describe};
static const rc_type parser_type = {"parser", sizeof(parser), parser_traverse, NULL, NULL,
                                    0};
static const rc_type connection_type = {"connection", sizeof(connection),
                                        connection_traverse, connection_finalize, NULL,
                                        RC_TYPE_LEGACY_FINALIZER, connection_describe};
static const rc_type request_type = {"request", sizeof(request), request_traverse, NULL,
                                     NULL, 0, request_describe};

/* The cache: a growable array of entries. */
typedef struct cache {
    size_t n, cap, next; /* next: the oldest slot, when bounded */
    void **slots;        /* the array lives in the object (rc_new_var) */
} cache;
static int cache_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    cache *c = obj;
    for (size_t i = 0; i < c->n; i++) {
        int r = visit(&c->slots[i], arg);
        if (r) return r;
    }
    return 0;
}
static int cache_describe(void *obj, char *buf, size_t len)
{
    cache *c = obj;
    return snprintf(buf, len, "%zu entries, room for %zu", c->n, c->cap);
}
static const rc_type cache_type = {"cache", sizeof(cache), cache_traverse, NULL, NULL, 0,
                                   cache_describe};

typedef struct app {
    void *cache;
} app;
TRAVERSE(app, 1)
static const rc_type app_type = {"app", sizeof(app), app_traverse, NULL, NULL, 0};

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

static cache *cache_new(size_t cap)
{
    cache *c = rc_new_var(h, &cache_type, sizeof(cache) + cap * sizeof(void *));
    if (!c) exit(1);
    c->cap = cap;
    c->slots = (void **)(c + 1);
    return c;
}

/* A bigger copy of c (the old one is dropped by the caller's setref). */
static cache *cache_grow(cache *c)
{
    cache *g = cache_new(c->cap * 2);
    for (size_t i = 0; i < c->n; i++) {
        g->slots[i] = c->slots[i];
        rc_incref(g->slots[i]);
    }
    g->n = c->n;
    return g;
}

static page *cache_get(app *a, str *key)
{
    cache *c = a->cache;
    for (size_t i = c->n; i-- > 0;) {
        entry *e = c->slots[i];
        if (strcmp(((str *)e->key)->text, key->text) == 0) {
            rc_incref(e->page);
            return e->page;
        }
    }
    return NULL;
}

static void cache_put(app *a, str *key, page *p)
{
    cache *c = a->cache;
    entry *e = rc_new(h, &entry_type);
    if (!e) exit(1);
    rc_setref(&e->key, key);
    rc_setref(&e->page, p);
    if (fixed && c->n == c->cap) { /* the fix: bounded, oldest out */
        rc_setref(&c->slots[c->next], e);
        c->next = (c->next + 1) % c->cap;
    } else {
        if (c->n == c->cap) {
            cache *g = cache_grow(c);
            rc_setref(&a->cache, g);
            rc_decref(g);
            c = g;
        }
        rc_setref(&c->slots[c->n++], e);
    }
    rc_decref(e);
}

static page *render(const char *path)
{
    char body[160];
    snprintf(body, sizeof body, "<html><body><h1>%s</h1><p>rendered</p></body></html>", path);
    page *p = rc_new(h, &page_type);
    if (!p) exit(1);
    str *s = str_new(body);
    rc_setref(&p->body, s);
    rc_decref(s);
    return p;
}

static connection *connection_open(long fd)
{
    connection *c = rc_new(h, &connection_type);
    parser *p = rc_new(h, &parser_type);
    if (!c || !p) exit(1);
    c->fd = fd;
    str *buf = str_new("HTTP/1.1 200 OK\r\n");
    rc_setref(&c->buffer, buf);
    rc_decref(buf);
    rc_setref(&c->parser, p);
    rc_setref(&p->conn, c); /* connection <-> parser */
    rc_decref(p);
    return c;
}

static void connection_close(connection *c)
{
    if (fixed) rc_clearref(&((parser *)c->parser)->conn); /* the fix: break the cycle */
    rc_decref(c);
}

static void handle(app *a, long i)
{
    rc_profile_begin(h, "request");
    connection *c = connection_open(i);
    request *r = rc_new(h, &request_type);
    if (!r) exit(1);
    char url[96];
    snprintf(url, sizeof url, "/item/%ld?session=%ld", i % 50, i * 7919 % 100003);
    /* The key: the whole URL (leak 1), or only the path (the fix). */
    if (fixed) *strchr(url, '?') = '\0';
    str *u = str_new(url);
    rc_setref(&r->url, u);
    rc_setref(&r->conn, c);
    page *p = cache_get(a, u);
    if (!p) {
        p = render(url);
        cache_put(a, u, p);
    }
    rc_decref(u);
    /* send(c->fd, p->body) */
    rc_decref(p);
    rc_decref(r);
    connection_close(c);
    rc_profile_end(h);
}

/* ------------------------------------------------------------------ */
/* The hunt                                                            */
/* ------------------------------------------------------------------ */

typedef struct find {
    const char *type;
    void       *found;
} find;
static int find_type(void *obj, void *arg)
{
    find *f = arg;
    if (strcmp(rc_type_of(obj)->name, f->type) != 0) return 0;
    f->found = obj; /* keep the last (the newest) */
    return 0;
}

/* An object of the type, as objgraph.by_type would give (borrowed). */
static void *some(const char *type)
{
    find f = {type, NULL};
    rc_gc_get_objects(h, -1, find_type, &f);
    for (size_t i = 0; !f.found && i < rc_gc_garbage_count(h); i++)
        find_type(rc_gc_garbage_get(h, i), &f);
    return f.found;
}

static void section(const char *title) { printf("\n==== %s\n\n", title); }

static int add_referent(void *obj, void *arg)
{
    void **out = arg;
    for (int i = 0; i < 8; i++)
        if (!out[i]) {
            out[i] = obj;
            return 0;
        }
    return 1; /* more than 8: a collection of many, stop descending */
}

/* The objects that retain the most, each followed down through what it
 * refers to while one referent retains nearly all of it: where the memory
 * accumulates (Eclipse MAT's "accumulation point"). */
static void top_retainers(void)
{
    rc_retainer top[3];
    long n = rc_top_retainers(h, top, 3);
    for (long i = 0; i < n; i++) {
        printf("%zu bytes in %zu objects: <%s object at %p>\n", top[i].retained.bytes,
               top[i].retained.objects, rc_type_of(top[i].obj)->name, top[i].obj);
        void *obj = top[i].obj;
        rc_retained whole = top[i].retained;
        for (int depth = 1; depth < 8; depth++) {
            void *ref[8] = {0};
            if (rc_gc_get_referents(obj, add_referent, ref) != 0) break;
            void *best = NULL;
            rc_retained r, most = {0, 0};
            for (int k = 0; k < 8 && ref[k]; k++)
                if (rc_retained_of(h, ref[k], &r) == 0 && r.bytes > most.bytes) {
                    most = r;
                    best = ref[k];
                }
            if (!best || most.bytes * 10 < whole.bytes * 9) break; /* under 90% */
            printf("%*s%zu bytes in %zu objects: <%s object at %p>, which it refers to\n",
                   2 * depth, "", most.bytes, most.objects, rc_type_of(best)->name, best);
            obj = best;
            whole = most;
        }
    }
}

int main(int argc, char **argv)
{
    const char *trace = "leak_hunt.trace.jsonl";
    long requests = 5000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixed") == 0) fixed = 1;
        else if (strncmp(argv[i], "--requests=", 11) == 0) requests = atol(argv[i] + 11);
        else trace = argv[i];
    }

    rc_config cfg;
    rc_config_init(&cfg);
    cfg.sites = 1;             /* every object remembers file, line, function */
    cfg.trace_path = trace;    /* the timeline, for tools/recycle-report */
    h = rc_heap_new(&cfg);
    if (!h) {
        fprintf(stderr, "leak_hunt: cannot start: %s\n", rc_strerror(rc_last_error(NULL)));
        return 1;
    }
    app *a = rc_new(h, &app_type);
    cache *c = cache_new(16);
    rc_setref(&a->cache, c);
    rc_decref(c);

    printf("leak_hunt: a toy server%s, %ld requests; timeline in %s\n",
           fixed ? " (fixed)" : " with two leaks", requests, trace);
    for (long i = 0; i < 200; i++) handle(a, i); /* warm up */
    rc_gc_collect(h, 2);
    rc_trace_snapshot(h, "warm");
    rc_snapshot *before = rc_snapshot_take(h);

    for (long i = 200; i < requests; i++) handle(a, i);
    rc_gc_collect(h, 2);
    rc_trace_snapshot(h, "loaded");
    rc_snapshot *after = rc_snapshot_take(h);

    section("1. What grew?  rc_snapshot_diff, by type");
    rc_snapshot *d = rc_snapshot_diff(before, after);
    rc_snapshot_print(d, RC_STAT_TYPE, 8, stdout);
    section("   ... and by allocation site");
    rc_snapshot_print(d, RC_STAT_SITE, 5, stdout);

    rc_profile_stats ps;
    if (rc_profile_get(h, "request", &ps) == 0)
        printf("\nper request (rc_profile_begin/end): %.1f objects allocated, %.1f freed, "
               "%+.1f bytes kept\n",
               (double)ps.allocs / (double)ps.calls, (double)ps.frees / (double)ps.calls,
               (double)ps.net_bytes / (double)ps.calls);

    if (!fixed) {
        section("2. Why is an entry alive?  rc_why_alive");
        rc_why_alive(h, some("entry"), stdout);

        section("3. Why is a connection alive?");
        rc_why_alive(h, some("connection"), stdout);
        printf("\n   the garbage list holds %zu objects\n", rc_gc_garbage_count(h));

        section("4. Who retains the most?  rc_top_retainers, rc_retained_of");
        top_retainers();

        section("5. Who refers to an entry?  rc_dump_dot -> leak_hunt_entry.dot");
        FILE *dot = fopen("leak_hunt_entry.dot", "w");
        if (dot) {
            rc_dump_dot(h, some("entry"), 3, RC_DOT_REFERRERS, dot);
            fclose(dot);
            printf("   render it with: dot -Tsvg leak_hunt_entry.dot -o leak_hunt_entry.svg\n");
        }
    }
    {
        rc_gen_stats st[3];
        rc_gc_get_stats(h, st);
        printf("\ncollections: %llu/%llu/%llu, uncollectable found: %llu; finalizers "
               "flushed %ld buffers\n",
               (unsigned long long)st[0].collections, (unsigned long long)st[1].collections,
               (unsigned long long)st[2].collections,
               (unsigned long long)(st[0].uncollectable + st[1].uncollectable +
                                    st[2].uncollectable),
               flushed);
    }
    rc_snapshot_free(d);
    rc_snapshot_free(before);
    rc_snapshot_free(after);
    /* The server "forgets" to drop app before exiting, as servers do: the
     * trace's final snapshot shows what is still alive and why. */
    (void)a;
    rc_heap_free(h);
    printf("\nnext: python3 tools/recycle-report %s -o leak_hunt.html\n", trace);
    return 0;
}
