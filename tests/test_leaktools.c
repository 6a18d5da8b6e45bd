/* test_leaktools.c — the leak-hunting tools: allocation sites (config,
 * runtime, environment, backtraces and their sampling, forgetting freed
 * objects), snapshots and diffs (exact counts per type and site, bytes
 * matching the allocator, print and JSON), why-alive (the shortest chain,
 * starting at the externally held object, slots and offsets, the garbage
 * list, cyclic garbage, untracked and atomic objects), DOT graphs (content,
 * cycles, limits, and that `dot` parses them), the leak report, the
 * timeline and profile scopes, and bad input.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "vec.h"
#include "internal.h"
#include "tools/tools.h"

#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static long n_alloc, n_release;

typedef struct node {
    void *s[4];
    long  tag;
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    for (int i = 0; i < 4; i++) { /* every slot, NULL ones too: slot i is visit i */
        int r = visit(&n->s[i], arg);
        if (r) return r;
    }
    return 0;
}
static void count_release(void *obj)
{
    (void)obj;
    n_release++;
}
static void legacy_finalize(void *obj) { (void)obj; }

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, count_release, 0};
static const rc_type leaky_type = {"leaky", sizeof(node), node_traverse, NULL, count_release,
                                   0};
static const rc_type blob_type = {"blob", 24, NULL, NULL, count_release, 0};
static const rc_type legacy_type = {"legacy", sizeof(node), node_traverse, legacy_finalize,
                                    count_release, RC_TYPE_LEGACY_FINALIZER};

static const rc_type vec_type = {"vec", sizeof(vec), vec_traverse, NULL, count_release, 0};

static void *mk(rc_heap *h, const rc_type *t)
{
    void *o = rc_new(h, t);
    REQUIRE(o != NULL);
    n_alloc++;
    return o;
}

static vec *mkvec(rc_heap *h, size_t n)
{
    vec *v = rc_new_var(h, &vec_type, sizeof(vec) + n * sizeof(void *));
    REQUIRE(v != NULL);
    n_alloc++;
    v->n = n;
    return v;
}

/* a->s[i] = b, a new reference. */
static void link_(void *a, int i, void *b) { rc_setref(&((node *)a)->s[i], b); }

static rc_heap *fresh_with(const rc_config *cfg)
{
    n_alloc = n_release = 0;
    rc_heap *h = rc_heap_new(cfg);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    return h;
}
static rc_heap *fresh_sites(int depth)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.sites = 1;
    cfg.site_depth = depth;
    return fresh_with(&cfg);
}
static void finish(rc_heap *h)
{
    rc_heap_free(h);
    CHECK_EQ(n_release, n_alloc);
}

static size_t block_bytes(const void *obj)
{
    return rc__block_size(rc__block_of(RC__HEAD(obj)));
}

/* A fresh path under $TMPDIR (or /tmp). */
static void tmp_path(char *buf, size_t n, const char *what)
{
    static int serial;
    const char *dir = getenv("TMPDIR");
    snprintf(buf, n, "%s/rc_leaktools_%ld_%d_%s", dir && *dir ? dir : "/tmp", (long)getpid(),
             serial++, what);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); /* check_capture_text reads up to the position */
    char *text = check_capture_text(f);
    fclose(f);
    return text;
}

static char *capture_close(FILE *f)
{
    char *text = check_capture_text(f);
    fclose(f);
    return text;
}

/* What a tool printed, having checked what it returned (the caller frees). */
static char *why_text(rc_heap *h, void *obj, int expect)
{
    FILE *out = check_capture_open();
    CHECK_EQ(rc_why_alive(h, obj, out), expect);
    return capture_close(out);
}
static char *dot_text(rc_heap *h, void *root, int depth, int dir, int expect)
{
    FILE *out = check_capture_open();
    CHECK_EQ(rc_dump_dot(h, root, depth, dir, out), expect);
    return capture_close(out);
}
static char *report_text(rc_heap *h, size_t n, int expect)
{
    FILE *out = check_capture_open();
    CHECK_EQ(rc_leak_report(h, n, out), expect);
    return capture_close(out);
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Allocation sites                                                    */
/* ------------------------------------------------------------------ */

TEST(sites_off_cost_nothing)
{
    rc_heap *h = fresh_with(NULL);
    void *o = mk(h, &node_type);
    rc_site site;
    CHECK_EQ(rc_site_of(o, &site), -1);
    CHECK_EQ(rc_last_error(h), RC_ENOENT);
    CHECK_NULL(h->tools); /* nothing allocated for the tools */
    rc_decref(o);
    finish(h);
}

TEST(sites_file_line_function)
{
    rc_heap *h = fresh_sites(0);
    int line = __LINE__ + 1;
    void *o = rc_new(h, &node_type);
    n_alloc++;
    int line_var = __LINE__ + 1;
    void *v = rc_new_var(h, &blob_type, 100);
    n_alloc++;
    void *plain = (rc_new)(h, &blob_type); /* the function: no site known */
    n_alloc++;
    rc_site s;
    REQUIRE(rc_site_of(o, &s) == 0);
    CHECK_STR_EQ(s.file, __FILE__);
    CHECK_EQ(s.line, line);
    CHECK_STR_EQ(s.func, "test_sites_file_line_function");
    CHECK_EQ(s.nframes, 0);
    REQUIRE(rc_site_of(v, &s) == 0);
    CHECK_EQ(s.line, line_var);
    CHECK_EQ(rc_site_of(plain, &s), -1);
    CHECK_EQ(rc_last_error(h), RC_ENOENT);
    CHECK_EQ(rc_site_of(NULL, &s), -1);
    CHECK_EQ(rc_site_of(o, NULL), -1);
    int line_wr = __LINE__ + 1;
    rc_weakref *w = rc_weakref_new(o, NULL, NULL);
    REQUIRE(w != NULL);
    REQUIRE(rc_site_of(w, &s) == 0); /* the weak reference's site is its caller's */
    CHECK_STR_EQ(s.file, __FILE__);
    CHECK_EQ(s.line, line_wr);
    CHECK_STR_EQ(s.func, "test_sites_file_line_function");
    rc_weakref *wp = (rc_weakref_new)(o, NULL, NULL); /* the function: no site */
    REQUIRE(wp != NULL);
    CHECK_EQ(rc_site_of(wp, &s), -1);
    rc_decref(w);
    rc_decref(wp);
    rc_decref(o);
    rc_decref(v);
    rc_decref(plain);
    finish(h);
}

TEST(sites_forget_freed_objects)
{
    rc_heap *h = fresh_sites(0);
    void *keep[100];
    for (int i = 0; i < 100; i++) keep[i] = mk(h, &node_type);
    for (int round = 0; round < 50; round++) { /* churn by counting */
        void *tmp[200];
        for (int i = 0; i < 200; i++) tmp[i] = mk(h, &blob_type);
        for (int i = 0; i < 200; i++) rc_decref(tmp[i]);
    }
    CHECK_UEQ(h->tools->obj_site.len, 100);
    /* Cyclic garbage freed by the collector is forgotten too. */
    for (int i = 0; i < 50; i++) {
        void *a = mk(h, &node_type), *b = mk(h, &node_type);
        link_(a, 0, b);
        link_(b, 0, a);
        rc_decref(a);
        rc_decref(b);
    }
    CHECK_UEQ(h->tools->obj_site.len, 200);
    CHECK_EQ(rc_gc_collect(h, 2), 100);
    CHECK_UEQ(h->tools->obj_site.len, 100);
    CHECK_EQ(h->tools->nsites, 1); /* one rc_new line: mk's */
    for (int i = 0; i < 100; i++) rc_decref(keep[i]);
    CHECK_UEQ(h->tools->obj_site.len, 0);
    finish(h);
}

static __attribute__((noinline)) void *alloc_here(rc_heap *h)
{
    void *o = rc_new(h, &node_type);
    __asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
    return o;
}

/* obj's site was recorded in function fn, named name, and its backtrace
 * starts there: frames[0] is a return address inside fn (frames[1] is in
 * fn's caller). */
static void check_site_starts_in(const void *obj, void *fn, const char *name)
{
    rc_site s;
    REQUIRE(rc_site_of(obj, &s) == 0);
    CHECK_STR_EQ(s.func, name);
    CHECK_GE(s.nframes, 2);
    CHECK_LE(s.nframes, 8);
    REQUIRE(s.nframes >= 1);
    uintptr_t f0 = (uintptr_t)s.frames[0], f = (uintptr_t)fn;
    CHECK(f0 > f && f0 < f + 4096);
}

/* A weak reference's backtrace starts at its caller too, not in the
 * library (rc_weakref_new_at makes the object). */
static __attribute__((noinline)) rc_weakref *weakref_here(void *o)
{
    rc_weakref *w = rc_weakref_new(o, NULL, NULL);
    __asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
    return w;
}

TEST(sites_backtrace_starts_at_the_caller)
{
    rc_heap *h = fresh_sites(8);
    void *o = alloc_here(h);
    n_alloc++;
    check_site_starts_in(o, (void *)alloc_here, "alloc_here");
    rc_weakref *w = weakref_here(o);
    REQUIRE(w != NULL);
    check_site_starts_in(w, (void *)weakref_here, "weakref_here");
    rc_decref(w);
    rc_decref(o);
    finish(h);
}

TEST(sites_backtrace_sampling)
{
    rc_heap *h = fresh_with(NULL);
    REQUIRE(rc_sites_start(h, 4, 4) == 0);
    void *o[100];
    int with = 0;
    for (int i = 0; i < 100; i++) o[i] = mk(h, &node_type);
    for (int i = 0; i < 100; i++) {
        rc_site s;
        REQUIRE(rc_site_of(o[i], &s) == 0);
        CHECK_STR_EQ(s.func, "mk");
        with += s.nframes > 0;
    }
    CHECK_EQ(with, 25);
    /* A snapshot keeps the sampled and the other objects of one line apart. */
    rc_snapshot *snap = rc_snapshot_take(h);
    size_t n;
    const rc_stat *st = rc_snapshot_stats(snap, RC_STAT_SITE, &n);
    REQUIRE(st != NULL);
    long long total = 0;
    for (size_t i = 0; i < n; i++) total += st[i].count;
    CHECK_EQ(total, 100);
    CHECK_GE(n, 2);
    rc_snapshot_free(snap);
    for (int i = 0; i < 100; i++) rc_decref(o[i]);
    finish(h);
}

TEST(sites_start_stop_at_run_time)
{
    rc_heap *h = fresh_with(NULL);
    void *before = mk(h, &node_type);
    REQUIRE(rc_sites_start(h, 0, 0) == 0);
    void *during = mk(h, &node_type);
    rc_site s;
    CHECK_EQ(rc_site_of(before, &s), -1);
    CHECK_EQ(rc_site_of(during, &s), 0);
    REQUIRE(rc_sites_stop(h) == 0);
    CHECK_EQ(rc_site_of(during, &s), -1);
    void *after = mk(h, &node_type);
    CHECK_EQ(rc_site_of(after, &s), -1);
    CHECK_EQ(rc_sites_start(h, RC_SITE_DEPTH_MAX + 1, 0), -1);
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(rc_sites_start(h, -1, 0), -1);
    CHECK_EQ(rc_sites_start(NULL, 0, 0), -1);
    CHECK_EQ(rc_sites_stop(NULL), -1);
    rc_decref(before);
    rc_decref(during);
    rc_decref(after);
    finish(h);
}

TEST(config_checks_the_tools_fields)
{
    rc_config cfg;
    rc_config_init(&cfg);
    CHECK_EQ(cfg.sites, 0);
    CHECK_EQ(cfg.site_depth, 0);
    CHECK_EQ(cfg.leak_report, 0);
    CHECK_NULL(cfg.trace_path);
    cfg.site_depth = RC_SITE_DEPTH_MAX + 1;
    CHECK_NULL(rc_heap_new(&cfg));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    cfg.site_depth = 0;
    cfg.sites = 2;
    CHECK_NULL(rc_heap_new(&cfg));
    cfg.sites = 0;
    cfg.trace_path = "/nonexistent-dir/for/sure/trace.jsonl";
    CHECK_NULL(rc_heap_new(&cfg));
    CHECK_EQ(rc_last_error(NULL), RC_ENOENT);
}

TEST(environment_turns_tools_on)
{
    setenv("RECYCLE_SITES", "6:2", 1);
    setenv("RECYCLE_DEBUG", "stats,saveall,report", 1);
    rc_heap *h = rc_heap_new(NULL);
    unsetenv("RECYCLE_SITES");
    unsetenv("RECYCLE_DEBUG");
    REQUIRE(h != NULL);
    REQUIRE(h->tools != NULL);
    CHECK(h->tools->sites_on);
    CHECK_EQ(h->tools->depth, 6);
    CHECK_EQ(h->tools->sample, 2);
    CHECK(h->tools->leak_report);
    CHECK_EQ(rc_gc_get_debug(h), RC_DEBUG_STATS | RC_DEBUG_SAVEALL);
    rc_gc_set_debug(h, 0);
    FILE *out = check_capture_open();
    rc_gc_set_debug_stream(h, out);
    rc_heap_free(h);
    char *text = capture_close(out);
    CHECK_CONTAINS(text, "recycle: leak report: 0 objects");
    free(text);

    setenv("RECYCLE_SITES", "1", 1);
    h = rc_heap_new(NULL);
    unsetenv("RECYCLE_SITES");
    REQUIRE(h != NULL);
    CHECK(h->tools && h->tools->sites_on);
    CHECK_EQ(h->tools->depth, 0);
    rc_heap_free(h);

    char path[256], expect[300];
    tmp_path(path, sizeof path, "env-%p.jsonl");
    setenv("RECYCLE_TRACE", path, 1);
    h = rc_heap_new(NULL);
    unsetenv("RECYCLE_TRACE");
    REQUIRE(h != NULL);
    rc_heap_free(h);
    char *pct = strstr(path, "%p");
    REQUIRE(pct != NULL);
    snprintf(expect, sizeof expect, "%.*s%ld%s", (int)(pct - path), path, (long)getpid(),
             pct + 2);
    char *trace = read_file(expect);
    CHECK_NOTNULL(trace);
    if (trace) CHECK_CONTAINS(trace, "{\"ev\":\"start\"");
    free(trace);
    remove(expect);
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

static const rc_stat *find_type(const rc_stat *st, size_t n, const char *type)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].type && strcmp(st[i].type, type) == 0) return &st[i];
    return NULL;
}

TEST(snapshot_counts_every_live_block)
{
    rc_heap *h = fresh_sites(0);
    void *nodes[100], *blobs[50];
    int node_line = __LINE__ + 1;
    for (int i = 0; i < 100; i++) nodes[i] = rc_new(h, &node_type);
    int blob_line = __LINE__ + 1;
    for (int i = 0; i < 50; i++) blobs[i] = rc_new(h, &blob_type);
    n_alloc += 150;
    rc_untrack(nodes[0]); /* untracked and atomic objects count too */

    rc_snapshot *s = rc_snapshot_take(h);
    REQUIRE(s != NULL);
    rc_stat total;
    REQUIRE(rc_snapshot_total(s, &total) == 0);
    CHECK_EQ(total.count, 150);
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    CHECK_UEQ(total.bytes, ms.bytes_in_use);

    size_t n;
    const rc_stat *st = rc_snapshot_stats(s, RC_STAT_TYPE, &n);
    REQUIRE(st != NULL);
    CHECK_UEQ(n, 2);
    const rc_stat *sn = find_type(st, n, "node"), *sb = find_type(st, n, "blob");
    REQUIRE(sn && sb);
    CHECK_EQ(sn->count, 100);
    CHECK_UEQ(sn->bytes, 100 * block_bytes(nodes[0]));
    CHECK_EQ(sb->count, 50);
    CHECK_UEQ(sb->bytes, 50 * block_bytes(blobs[0]));
    CHECK(st[0].bytes >= st[1].bytes); /* largest first */
    CHECK_NULL(st[0].file);

    st = rc_snapshot_stats(s, RC_STAT_SITE, &n);
    CHECK_UEQ(n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_NULL(st[i].type);
        CHECK_STR_EQ(st[i].file, __FILE__);
        CHECK_EQ(st[i].count, st[i].line == node_line ? 100 : 50);
        CHECK(st[i].line == node_line || st[i].line == blob_line);
    }
    st = rc_snapshot_stats(s, RC_STAT_TYPE_SITE, &n);
    CHECK_UEQ(n, 2);
    CHECK_NULL(rc_snapshot_stats(s, 3, &n));
    CHECK_UEQ(n, 0);

    FILE *out = check_capture_open();
    CHECK_EQ(rc_snapshot_print(s, RC_STAT_TYPE_SITE, 0, out), 0);
    char *text = capture_close(out);
    CHECK_CONTAINS(text, "recycle snapshot: 150 objects");
    CHECK_CONTAINS(text, "node  " __FILE__);
    CHECK_CONTAINS(text, "in test_snapshot_counts_every_live_block");
    free(text);
    rc_snapshot_free(s);
    for (int i = 0; i < 100; i++) rc_decref(nodes[i]);
    for (int i = 0; i < 50; i++) rc_decref(blobs[i]);
    finish(h);
}

TEST(snapshot_diff_names_the_growing_type)
{
    rc_heap *h = fresh_sites(0);
    void *nodes[10], *leaks[37], *blobs[5];
    for (int i = 0; i < 10; i++) nodes[i] = mk(h, &node_type);
    rc_snapshot *before = rc_snapshot_take(h);
    REQUIRE(before != NULL);
    int leak_line = __LINE__ + 1;
    for (int i = 0; i < 37; i++) leaks[i] = rc_new(h, &leaky_type);
    n_alloc += 37;
    for (int i = 0; i < 5; i++) blobs[i] = mk(h, &blob_type);
    for (int i = 0; i < 3; i++) rc_decref(nodes[i]);
    rc_snapshot *after = rc_snapshot_take(h);
    REQUIRE(after != NULL);

    /* The snapshots outlive their heap. */
    for (int i = 3; i < 10; i++) rc_decref(nodes[i]);
    for (int i = 0; i < 37; i++) rc_decref(leaks[i]);
    for (int i = 0; i < 5; i++) rc_decref(blobs[i]);
    finish(h);

    rc_snapshot *d = rc_snapshot_diff(before, after);
    REQUIRE(d != NULL);
    rc_stat total;
    rc_snapshot_total(d, &total);
    CHECK_EQ(total.count, 49);
    CHECK_EQ(total.count_diff, 39);
    size_t n;
    const rc_stat *st = rc_snapshot_stats(d, RC_STAT_TYPE, &n);
    REQUIRE(n == 3);
    CHECK_STR_EQ(st[0].type, "leaky"); /* the largest growth first */
    CHECK_EQ(st[0].count_diff, 37);
    CHECK_EQ(st[0].count, 37);
    CHECK_STR_EQ(st[1].type, "blob");
    CHECK_EQ(st[1].count_diff, 5);
    CHECK_STR_EQ(st[2].type, "node"); /* shrinking last */
    CHECK_EQ(st[2].count_diff, -3);
    CHECK_EQ(st[2].count, 7);
    CHECK_EQ(st[2].bytes_diff, -3 * (long long)st[2].bytes / 7);

    st = rc_snapshot_stats(d, RC_STAT_SITE, &n);
    REQUIRE(n == 2); /* the leak's line, and mk's (nodes and blobs) */
    CHECK_EQ(st[0].line, leak_line);
    CHECK_EQ(st[0].count_diff, 37);
    CHECK_STR_EQ(st[0].func, "test_snapshot_diff_names_the_growing_type");
    CHECK_STR_EQ(st[1].func, "mk");
    CHECK_EQ(st[1].count_diff, 5 - 3);

    FILE *out = check_capture_open();
    CHECK_EQ(rc_snapshot_print(d, RC_STAT_TYPE, 1, out), 0);
    char *text = capture_close(out);
    CHECK_CONTAINS(text, "recycle growth: +39 objects");
    CHECK_CONTAINS(text, "+37");
    CHECK_CONTAINS(text, "leaky");
    CHECK_CONTAINS(text, "... and 2 more");
    free(text);

    out = check_capture_open();
    CHECK_EQ(rc_snapshot_write_json(d, out), 0);
    text = capture_close(out);
    CHECK_CONTAINS(text, "{\"ev\":\"snapshot\",\"kind\":\"diff\"");
    CHECK_CONTAINS(text, "{\"type\":\"leaky\",\"count\":37,\"bytes\":");
    CHECK_CONTAINS(text, "\"count_diff\":37");
    CHECK_EQ(count_lines_with(text, "\n"), 1);
    free(text);

    rc_snapshot_free(d);
    rc_snapshot_free(before);
    rc_snapshot_free(after);
}

TEST(snapshot_bad_input)
{
    CHECK_NULL(rc_snapshot_take(NULL));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_NULL(rc_snapshot_diff(NULL, NULL));
    rc_stat st;
    CHECK_EQ(rc_snapshot_total(NULL, &st), -1);
    CHECK_EQ(rc_snapshot_print(NULL, 0, 0, stderr), -1);
    CHECK_EQ(rc_snapshot_write_json(NULL, stderr), -1);
    rc_snapshot_free(NULL);
    rc_heap *h = fresh_with(NULL);
    rc_snapshot *s = rc_snapshot_take(h); /* an empty heap */
    REQUIRE(s != NULL);
    size_t n = 99;
    CHECK_NOTNULL(rc_snapshot_stats(s, RC_STAT_TYPE, &n));
    CHECK_UEQ(n, 0);
    CHECK_EQ(rc_snapshot_print(s, RC_STAT_TYPE, 0, NULL), -1);
    rc_snapshot_free(s);
    finish(h);
}

/* ------------------------------------------------------------------ */
/* Why alive                                                           */
/* ------------------------------------------------------------------ */

TEST(why_alive_shortest_chain_from_the_held_object)
{
    rc_heap *h = fresh_sites(0);
    /* A long way first: far -> x -> y -> z -> target ... */
    node *far = mk(h, &node_type), *x = mk(h, &node_type), *y = mk(h, &node_type),
         *z = mk(h, &node_type);
    node *target = mk(h, &node_type);
    link_(far, 0, x);
    link_(x, 0, y);
    link_(y, 0, z);
    link_(z, 0, target);
    /* ... and a short one: root -> a -> b -> target, by slots 1, 2, 3. */
    node *root = mk(h, &node_type), *a = mk(h, &node_type), *b = mk(h, &node_type);
    link_(root, 1, a);
    link_(a, 2, b);
    link_(b, 3, target);
    rc_decref(x);
    rc_decref(y);
    rc_decref(z);
    rc_decref(a);
    rc_decref(b);
    rc_decref(target);
    /* Now only far and root are held from outside the heap. */

    void *chain[8];
    size_t len = 0;
    CHECK_EQ(rc_why_alive_chain(h, target, chain, 8, &len), RC_HELD_OUTSIDE);
    REQUIRE(len == 4);
    CHECK_PTR_EQ(chain[0], root);
    CHECK_PTR_EQ(chain[1], a);
    CHECK_PTR_EQ(chain[2], b);
    CHECK_PTR_EQ(chain[3], target);
    CHECK_EQ(rc_why_alive_chain(h, target, chain, 2, &len), RC_HELD_OUTSIDE);
    CHECK_UEQ(len, 4); /* the whole length, two stored */

    char *text = why_text(h, target, RC_HELD_OUTSIDE);
    CHECK_CONTAINS(text, "reaches it through 3 references");
    CHECK_CONTAINS(text, "held from outside the heap (1 reference)");
    CHECK_CONTAINS(text, "-> slot 1 (+8): <node object at");
    CHECK_CONTAINS(text, "-> slot 2 (+16): <node object at");
    CHECK_CONTAINS(text, "-> slot 3 (+24): <node object at");
    CHECK_CONTAINS(text, "allocated at " __FILE__);
    CHECK_CONTAINS(text, "in mk");
    free(text);

    /* An object the program holds is its own answer. */
    CHECK_EQ(rc_why_alive_chain(h, root, chain, 8, &len), RC_HELD_OUTSIDE);
    CHECK_UEQ(len, 1);
    CHECK_PTR_EQ(chain[0], root);
    rc_incref(root);
    text = why_text(h, root, RC_HELD_OUTSIDE);
    rc_decref(root);
    CHECK_CONTAINS(text, "held from outside the heap (2 references the heap does not hold)");
    free(text);

    rc_decref(far);
    rc_decref(root);
    CHECK_UEQ(h->tools->obj_site.len, 0);
    finish(h);
}

TEST(why_alive_atomic_and_untracked)
{
    rc_heap *h = fresh_with(NULL);
    node *holder = mk(h, &node_type);
    void *blob = mk(h, &blob_type);
    link_(holder, 2, blob);
    rc_decref(blob);
    void *chain[4];
    size_t len;
    CHECK_EQ(rc_why_alive_chain(h, blob, chain, 4, &len), RC_HELD_OUTSIDE);
    CHECK_UEQ(len, 2);
    CHECK_PTR_EQ(chain[0], holder);

    /* An untracked container still holds what it refers to. */
    node *u = mk(h, &node_type);
    void *blob2 = mk(h, &blob_type);
    link_(u, 0, blob2);
    rc_decref(blob2);
    rc_untrack(u);
    CHECK_EQ(rc_why_alive_chain(h, blob2, chain, 4, &len), RC_HELD_OUTSIDE);
    CHECK_UEQ(len, 2);
    CHECK_PTR_EQ(chain[0], u);
    rc_decref(holder);
    rc_decref(u);
    finish(h);
}

TEST(why_alive_through_the_garbage_list)
{
    rc_heap *h = fresh_with(NULL);
    node *leg = mk(h, &legacy_type), *n = mk(h, &node_type);
    link_(leg, 0, n);
    link_(n, 0, leg);
    rc_decref(leg);
    rc_decref(n);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    REQUIRE(rc_gc_garbage_count(h) == 1);
    void *chain[4];
    size_t len;
    CHECK_EQ(rc_why_alive_chain(h, n, chain, 4, &len), RC_HELD_GARBAGE_LIST);
    CHECK_UEQ(len, 2);
    CHECK_PTR_EQ(chain[0], leg);
    CHECK_PTR_EQ(chain[1], n);
    char *text = why_text(h, n, RC_HELD_GARBAGE_LIST);
    CHECK_CONTAINS(text, "is alive only through the garbage list");
    CHECK_CONTAINS(text, "<legacy object at");
    CHECK_CONTAINS(text, "garbage list entry 0");
    free(text);
    finish(h);
}

TEST(why_alive_cyclic_garbage)
{
    rc_heap *h = fresh_with(NULL);
    node *c1 = mk(h, &node_type), *c2 = mk(h, &node_type), *t = mk(h, &blob_type);
    link_(c1, 0, c2);
    link_(c2, 1, c1);
    link_(c2, 3, t);
    rc_decref(c1);
    rc_decref(c2);
    rc_decref(t);
    void *chain[8];
    size_t len;
    CHECK_EQ(rc_why_alive_chain(h, t, chain, 8, &len), RC_HELD_CYCLE);
    REQUIRE(len == 2);
    CHECK_PTR_EQ(chain[0], c2);
    CHECK_PTR_EQ(chain[1], t);
    char *text = why_text(h, t, RC_HELD_CYCLE);
    CHECK_CONTAINS(text, "is garbage waiting for collection");
    CHECK_CONTAINS(text, "a reference cycle of 2 objects");
    CHECK_CONTAINS(text, "which reaches it:");
    CHECK_CONTAINS(text, "-> slot 3 (+24): <blob object at");
    free(text);
    /* On the cycle itself: chain[0] is on the cycle, the last is c1. */
    CHECK_EQ(rc_why_alive_chain(h, c1, chain, 8, &len), RC_HELD_CYCLE);
    REQUIRE(len == 2);
    CHECK_PTR_EQ(chain[0], c2);
    CHECK_PTR_EQ(chain[1], c1);
    /* A self-reference. */
    node *self = mk(h, &node_type);
    link_(self, 2, self);
    rc_decref(self);
    text = why_text(h, self, RC_HELD_CYCLE);
    CHECK_CONTAINS(text, "a reference cycle of 1 object ");
    CHECK_CONTAINS(text, "-> slot 2 (+16)");
    free(text);
    CHECK_EQ(rc_gc_collect(h, 2), 3); /* the tracked ones: c1, c2, self */
    finish(h);
}

static int why_in_callback_result = 99;
static void why_callback(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)info;
    if (phase == RC_GC_START)
        why_in_callback_result = rc_why_alive(h, data, stderr) == -1 ? rc_last_error(h) : 0;
}

TEST(why_alive_bad_input)
{
    rc_heap *h = fresh_with(NULL);
    void *o = mk(h, &node_type);
    size_t len;
    CHECK_EQ(rc_why_alive(NULL, o, stderr), -1);
    CHECK_EQ(rc_why_alive(h, NULL, stderr), -1);
    CHECK_EQ(rc_why_alive(h, o, NULL), -1);
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    long local[8] = {0};
    CHECK_EQ(rc_why_alive(h, &local[2], stderr), -1); /* not an object of h */
    CHECK_EQ(rc_why_alive_chain(h, o, NULL, 1, &len), -1);
    CHECK_EQ(rc_dump_dot(h, o, -1, RC_DOT_REFERENTS, stderr), -1);
    CHECK_EQ(rc_dump_dot(h, o, 1, 7, stderr), -1);
    CHECK_EQ(rc_leak_report(NULL, 1, stderr), -1);
    rc_heap *other = rc_heap_new(NULL);
    REQUIRE(other != NULL);
    CHECK_EQ(rc_why_alive(other, o, stderr), -1); /* another heap's object */
    rc_heap_free(other);
    /* Not during a collection. */
    rc_gc_callback_add(h, why_callback, o);
    rc_gc_collect(h, 0);
    CHECK_EQ(why_in_callback_result, RC_EBUSY);
    rc_decref(o);
    finish(h);
}

/* ------------------------------------------------------------------ */
/* DOT                                                                 */
/* ------------------------------------------------------------------ */

/* Runs `dot` on the text; 1 if it parsed, 0 if not, -1 if dot is absent. */
static int dot_parses(const char *text)
{
    if (system("command -v dot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  (skipped: graphviz's dot is not installed)\n");
        return -1;
    }
    char in[256], cmd[600];
    tmp_path(in, sizeof in, "graph.dot");
    FILE *f = fopen(in, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o /dev/null", in);
    int r = system(cmd);
    remove(in);
    return r == 0;
}

TEST(dot_referents_with_cycles_and_external_marks)
{
    rc_heap *h = fresh_sites(0);
    node *root = mk(h, &node_type), *a = mk(h, &node_type), *b = mk(h, &node_type);
    void *blob = mk(h, &blob_type);
    link_(root, 0, a);
    link_(a, 1, b);
    link_(b, 0, a); /* a <-> b */
    link_(b, 2, blob);
    rc_decref(a);
    rc_decref(b);
    rc_decref(blob);
    char *text = dot_text(h, root, 3, RC_DOT_REFERENTS, 0);
    CHECK_CONTAINS(text, "digraph recycle {");
    CHECK_EQ(count_lines_with(text, "[label=\"node\\n"), 3);
    CHECK_EQ(count_lines_with(text, "[label=\"blob\\n"), 1);
    CHECK_EQ(count_lines_with(text, " -> "), 4);
    CHECK_EQ(count_lines_with(text, "color=\"#1565c0\""), 2); /* a -> b -> a */
    CHECK_CONTAINS(text, "count 1, 1 from outside");      /* root */
    CHECK_CONTAINS(text, "peripheries=2");                 /* the object asked about */
    CHECK_CONTAINS(text, "test_leaktools.c:");
    CHECK_NE(dot_parses(text), 0);
    free(text);

    /* Depth 0: the object alone; depth 1: root and a. */
    text = dot_text(h, root, 1, RC_DOT_REFERENTS, 0);
    CHECK_EQ(count_lines_with(text, "[label="), 2 + 1); /* 2 nodes + 1 edge label */
    free(text);
    rc_decref(root);
    finish(h);
}

TEST(dot_referrers_and_limits)
{
    rc_heap *h = fresh_with(NULL);
    void *target = mk(h, &blob_type);
    node *r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = mk(h, &node_type);
        link_(r[i], i, target);
    }
    node *top = mk(h, &node_type);
    link_(top, 0, r[0]);
    char *text = dot_text(h, target, 2, RC_DOT_REFERRERS, 0);
    CHECK_CONTAINS(text, "// Referrers of <blob object");
    CHECK_EQ(count_lines_with(text, " -> "), 4);
    CHECK_EQ(count_lines_with(text, "[label=\"node\\n"), 4);
    CHECK_EQ(count_lines_with(text, "color=\"#c62828\""), 5); /* all held by the test */
    CHECK_NE(dot_parses(text), 0);
    free(text);

    /* Fan-out is bounded: 100 children, 40 drawn. */
    vec *v = mkvec(h, 100);
    for (int i = 0; i < 100; i++) {
        void *c = mk(h, &blob_type);
        v->s[i] = c; /* the reference rc_new gave */
    }
    text = dot_text(h, v, 1, RC_DOT_REFERENTS, 0);
    CHECK_EQ(count_lines_with(text, " -> "), 40);
    CHECK_CONTAINS(text, "(+60 not shown)");
    CHECK_CONTAINS(text, "style=\"filled,dashed\"");
    CHECK_NE(dot_parses(text), 0);
    free(text);
    rc_decref(v);
    rc_decref(top);
    for (int i = 0; i < 3; i++) rc_decref(r[i]);
    rc_decref(target);
    finish(h);
}

/* ------------------------------------------------------------------ */
/* The leak report                                                     */
/* ------------------------------------------------------------------ */

static void make_leaks(rc_heap *h, node **held)
{
    *held = mk(h, &node_type); /* held: 1 + 10 leaky objects */
    for (int i = 0; i < 10; i++) {
        node *l = mk(h, &leaky_type);
        (void)i;
        link_(l, 0, (*held)->s[1]); /* a list: held -> l9 -> ... -> l0 */
        rc_setref(&(*held)->s[1], l);
        rc_decref(l);
    }
    node *c1 = mk(h, &node_type), *c2 = mk(h, &node_type); /* a garbage cycle */
    link_(c1, 0, c2);
    link_(c2, 0, c1);
    rc_decref(c1);
    rc_decref(c2);
    node *leg = mk(h, &legacy_type), *n = mk(h, &node_type); /* uncollectable */
    link_(leg, 0, n);
    link_(n, 0, leg);
    rc_decref(leg);
    rc_decref(n);
}

TEST(leak_report_groups_and_explains)
{
    rc_heap *h = fresh_sites(0);
    node *held;
    make_leaks(h, &held);
    char *text = report_text(h, 2, 0);
    CHECK_CONTAINS(text, "recycle: leak report: 15 objects");
    CHECK_CONTAINS(text, "11 held from outside the heap (or by what it holds), 0 only "
                         "through the garbage list, 4 in garbage cycles");
    CHECK_CONTAINS(text, "leaky  " __FILE__);
    CHECK_CONTAINS(text, "why the 2 largest groups are alive:");
    CHECK_CONTAINS(text, "[1] 10 leaky objects, allocated at");
    free(text);

    /* After a collection: the cycle is gone, the legacy pair waits in the
     * garbage list. */
    rc_gc_collect(h, 2);
    text = report_text(h, 3, 0);
    CHECK_CONTAINS(text, "recycle: leak report: 13 objects");
    CHECK_CONTAINS(text, "11 held from outside the heap (or by what it holds), 2 only "
                         "through the garbage list, 0 in garbage cycles");
    CHECK_CONTAINS(text, "is alive only through the garbage list");
    free(text);
    rc_decref(held);
    finish(h);
}

TEST(leak_report_at_heap_free)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.leak_report = 1;
    cfg.debug_stream = check_capture_open();
    rc_heap *h = fresh_with(&cfg);
    node *held;
    make_leaks(h, &held);
    finish(h); /* held is still alive: it is a leak */
    char *text = capture_close(cfg.debug_stream);
    CHECK_CONTAINS(text, "recycle: leak report: 13 objects");
    CHECK_CONTAINS(text, "why the 3 largest groups are alive:");
    free(text);

    /* RC_DEBUG_LEAK asks for it too. */
    rc_config_init(&cfg);
    cfg.debug = RC_DEBUG_LEAK;
    cfg.debug_stream = check_capture_open();
    h = fresh_with(&cfg);
    node *x = mk(h, &node_type);
    (void)x;
    finish(h);
    text = capture_close(cfg.debug_stream);
    CHECK_CONTAINS(text, "recycle: leak report: 1 objects");
    free(text);
}

/* ------------------------------------------------------------------ */
/* Timeline and profile scopes                                         */
/* ------------------------------------------------------------------ */

TEST(profile_scopes_count_allocations_frees_and_peak)
{
    rc_heap *h = fresh_with(NULL);
    void *keep[10], *tmp[5];
    REQUIRE(rc_profile_begin(h, "outer") == 0);
    for (int i = 0; i < 10; i++) keep[i] = mk(h, &blob_type);
    size_t bs = block_bytes(keep[0]);
    REQUIRE(rc_profile_begin(h, "inner") == 0);
    for (int i = 0; i < 5; i++) tmp[i] = mk(h, &blob_type);
    for (int i = 0; i < 5; i++) rc_decref(tmp[i]);
    REQUIRE(rc_profile_end(h) == 0);
    for (int i = 0; i < 3; i++) rc_decref(keep[i]);
    REQUIRE(rc_profile_end(h) == 0);

    rc_profile_stats in, out;
    REQUIRE(rc_profile_get(h, "inner", &in) == 0);
    CHECK_UEQ(in.calls, 1);
    CHECK_UEQ(in.allocs, 5);
    CHECK_UEQ(in.frees, 5);
    CHECK_EQ(in.net_bytes, 0);
    CHECK_EQ(in.peak_bytes, (long long)(5 * bs));
    REQUIRE(rc_profile_get(h, "outer", &out) == 0);
    CHECK_UEQ(out.allocs, 15);
    CHECK_UEQ(out.alloc_bytes, 15 * bs);
    CHECK_UEQ(out.frees, 8);
    CHECK_EQ(out.net_bytes, (long long)(7 * bs));
    CHECK_EQ(out.peak_bytes, (long long)(15 * bs));

    /* Scopes of one name add up. */
    REQUIRE(rc_profile_begin(h, "inner") == 0);
    tmp[0] = mk(h, &blob_type);
    REQUIRE(rc_profile_end(h) == 0);
    rc_profile_get(h, "inner", &in);
    CHECK_UEQ(in.calls, 2);
    CHECK_UEQ(in.allocs, 6);
    CHECK_EQ(in.net_bytes, (long long)bs);
    CHECK_EQ(in.peak_bytes, (long long)(5 * bs));
    rc_decref(tmp[0]);

    CHECK_EQ(rc_profile_end(h), -1);
    CHECK_EQ(rc_last_error(h), RC_ESTATE);
    CHECK_EQ(rc_profile_get(h, "nope", &in), -1);
    CHECK_EQ(rc_last_error(h), RC_ENOENT);
    CHECK_EQ(rc_profile_begin(h, NULL), -1);
    for (int i = 0; i < RC__SCOPES_MAX; i++) REQUIRE(rc_profile_begin(h, "deep") == 0);
    CHECK_EQ(rc_profile_begin(h, "deep"), -1);
    CHECK_EQ(rc_last_error(h), RC_ESTATE);
    for (int i = 0; i < RC__SCOPES_MAX; i++) REQUIRE(rc_profile_end(h) == 0);
    for (int i = 3; i < 10; i++) rc_decref(keep[i]);
    finish(h);
}

/* Tools turned on after the heap was made must still see every free, the
 * one of an atomic object with no hook included (the counting path frees
 * those without looking at the heap: turning a tool on closes that path). */
static const rc_type plain_type = {"plain", 16, NULL, NULL, NULL, 0};

TEST(tools_turned_on_late_see_plain_frees)
{
    rc_heap *h = fresh_with(NULL);
    void *early = rc_new(h, &plain_type); /* before any tool */
    REQUIRE(early != NULL);
    REQUIRE(rc_profile_begin(h, "late") == 0);
    void *p = rc_new(h, &plain_type);
    REQUIRE(p != NULL);
    size_t bs = block_bytes(p);
    rc_decref(p);
    rc_decref(early);
    REQUIRE(rc_profile_end(h) == 0);
    rc_profile_stats st;
    REQUIRE(rc_profile_get(h, "late", &st) == 0);
    CHECK_UEQ(st.allocs, 1);
    CHECK_UEQ(st.frees, 2);
    CHECK_UEQ(st.free_bytes, 2 * bs);
    /* sites turned on at run time forget a plain object freed by counting */
    REQUIRE(rc_sites_start(h, 0, 1) == 0);
    void *q = rc_new(h, &plain_type);
    REQUIRE(q != NULL);
    CHECK_UEQ(h->tools->obj_site.len, 1);
    rc_decref(q);
    CHECK_UEQ(h->tools->obj_site.len, 0);
    REQUIRE(rc_sites_stop(h) == 0);
    finish(h);
}

TEST(trace_timeline_has_every_event)
{
    char path[256];
    tmp_path(path, sizeof path, "trace.jsonl");
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.sites = 1;
    cfg.trace_path = path;
    rc_heap *h = fresh_with(&cfg);
    rc_gc_enable(h);
    CHECK_EQ(rc_trace_start(h, path), -1); /* already tracing */
    CHECK_EQ(rc_last_error(h), RC_ESTATE);
    node *held = mk(h, &node_type);
    REQUIRE(rc_trace_snapshot(h, "warm") == 0);
    REQUIRE(rc_profile_begin(h, "grow") == 0);
    for (int i = 0; i < 3000; i++) { /* automatic collections run */
        node *l = mk(h, &leaky_type);
        if (i % 3 == 0) rc_setref(&held->s[i % 4], l);
        node *c = mk(h, &node_type); /* a cycle each time */
        link_(c, 0, c);
        rc_decref(c);
        rc_decref(l);
    }
    REQUIRE(rc_profile_end(h) == 0);
    rc_gc_collect(h, 2);
    rc_decref(held);
    node *leak = mk(h, &leaky_type); /* still alive at the end */
    (void)leak;
    finish(h);

    char *text = read_file(path);
    REQUIRE(text != NULL);
    CHECK(strncmp(text, "{\"ev\":\"start\",\"t\":0,", 20) == 0);
    CHECK_GE(count_lines_with(text, "{\"ev\":\"gc\""), 4);
    CHECK_GE(count_lines_with(text, "{\"ev\":\"sample\""), 2);
    CHECK_EQ(count_lines_with(text, "\"ev\":\"scope\",\"t\":"), 1);
    CHECK_CONTAINS(text, "\"name\":\"grow\",\"start\":");
    CHECK_CONTAINS(text, "\"allocs\":6000,");
    CHECK_EQ(count_lines_with(text, "\"ev\":\"snapshot\""), 2);
    CHECK_CONTAINS(text, "\"label\":\"warm\"");
    CHECK_CONTAINS(text, "\"label\":\"exit\"");
    CHECK_GE(count_lines_with(text, "{\"ev\":\"suspect\""), 1);
    CHECK_CONTAINS(text, "\"rank\":1,\"type\":\"leaky\"");
    CHECK_CONTAINS(text, "\"verdict\":\"outside\"");
    CHECK_CONTAINS(text, "\"dot\":\"digraph recycle {");
    CHECK_CONTAINS(text, "{\"ev\":\"end\"");
    /* Every line is one JSON object. */
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        CHECK(line[0] == '{' && line[strlen(line) - 1] == '}');
        lines++;
    }
    CHECK_GE(lines, 10);
    free(text);
    remove(path);
}

TEST(trace_start_stop_at_run_time)
{
    char path[256];
    tmp_path(path, sizeof path, "rt.jsonl");
    rc_heap *h = fresh_with(NULL);
    CHECK_EQ(rc_trace_snapshot(h, "x"), -1);
    CHECK_EQ(rc_last_error(h), RC_ESTATE);
    CHECK_EQ(rc_trace_stop(h), -1);
    CHECK_EQ(rc_trace_start(h, "/nonexistent-dir/for/sure/x.jsonl"), -1);
    CHECK_EQ(rc_last_error(h), RC_ENOENT);
    CHECK_EQ(rc_trace_start(h, NULL), -1);
    REQUIRE(rc_trace_start(h, path) == 0);
    rc_gc_collect(h, 1);
    REQUIRE(rc_trace_stop(h) == 0);
    rc_gc_collect(h, 1); /* not traced any more */
    char *text = read_file(path);
    REQUIRE(text != NULL);
    CHECK_EQ(count_lines_with(text, "{\"ev\":\"gc\""), 1);
    CHECK_CONTAINS(text, "\"label\":\"stop\"");
    free(text);
    remove(path);
    finish(h);
}

/* ------------------------------------------------------------------ */
/* describe: objects that describe themselves                          */
/* ------------------------------------------------------------------ */

/* "tag N", from the node's tag field. */
static int tagged_describe(void *obj, char *buf, size_t len)
{
    return snprintf(buf, len, "tag %ld", ((node *)obj)->tag);
}
static const rc_type tagged_type = {"tagged", sizeof(node), node_traverse, NULL,
                                    count_release, 0, tagged_describe};

/* Misbehaving describes: fills the whole buffer without a terminator and
 * claims far more; writes junk and fails; writes a newline and a tab. */
static int greedy_describe(void *obj, char *buf, size_t len)
{
    (void)obj;
    memset(buf, 'x', len);
    return 1 << 30;
}
static int failing_describe(void *obj, char *buf, size_t len)
{
    (void)obj;
    memset(buf, 'j', len);
    return -1;
}
static int control_describe(void *obj, char *buf, size_t len)
{
    (void)obj;
    return snprintf(buf, len, "two\nlines\tand a tab");
}
static const rc_type greedy_type = {"greedy", sizeof(node), node_traverse, NULL, count_release,
                                    0, greedy_describe};
static const rc_type failing_type = {"failing", sizeof(node), node_traverse, NULL,
                                     count_release, 0, failing_describe};
static const rc_type control_type = {"control", sizeof(node), node_traverse, NULL,
                                     count_release, 0, control_describe};

TEST(describe_positional_initialiser_leaves_it_null)
{
    /* node_type is a positional initialiser of the six fields programs
     * wrote before describe existed: it compiles, and describe is NULL. */
    CHECK(node_type.describe == NULL);
    CHECK(tagged_type.describe == tagged_describe);
    rc_heap *h = fresh_with(NULL);
    node *n = mk(h, &node_type);
    char buf[64];
    CHECK_UEQ(rc__describe_text(n, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "");
    rc__describe_brief(n, buf, sizeof buf);
    CHECK(strncmp(buf, "<node object at 0x", 18) == 0 && buf[strlen(buf) - 1] == '>');
    rc_decref(n);
    finish(h);
}

TEST(describe_is_called_defensively)
{
    rc_heap *h = fresh_with(NULL);
    node *g = mk(h, &greedy_type), *f = mk(h, &failing_type), *c = mk(h, &control_type);
    char buf[16];
    memset(buf, 0, sizeof buf);
    /* Truncated inside the buffer, terminated, marked with "...". */
    CHECK_UEQ(rc__describe_text(g, buf, sizeof buf), 15);
    CHECK_STR_EQ(buf, "xxxxxxxxxxxx...");
    /* A negative return: no text, whatever was written. */
    CHECK_UEQ(rc__describe_text(f, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "");
    /* Control characters never split a report's line. */
    char big[64];
    rc__describe_text(c, big, sizeof big);
    CHECK_STR_EQ(big, "two?lines?and a tab");
    /* Tiny buffers. */
    CHECK_UEQ(rc__describe_text(g, buf, 1), 0);
    CHECK_STR_EQ(buf, "");
    CHECK_UEQ(rc__describe_text(g, buf, 3), 2);
    CHECK_STR_EQ(buf, "xx");
    /* The brief form holds the greedy text cut at RC__DESCRIBE_MAX. */
    char brief[RC__DESCRIBE_MAX + 128];
    rc__describe_brief(g, brief, sizeof brief);
    CHECK_CONTAINS(brief, "<greedy object at 0x");
    CHECK_CONTAINS(brief, "xxx...>");
    CHECK_UEQ(strlen(brief), strlen("<greedy object at : ") + (size_t)snprintf(NULL, 0, "%p", (void *)g) +
                                 RC__DESCRIBE_MAX - 1 + 1);
    /* A failing describe in a report: the brief form without text. */
    link_(g, 0, f);
    link_(f, 0, c);
    rc_decref(f);
    rc_decref(c);
    char *text = why_text(h, c, RC_HELD_OUTSIDE);
    CHECK_CONTAINS(text, "<failing object at 0x");
    CHECK(strstr(text, "jjj") == NULL);
    CHECK_CONTAINS(text, "<control object at ");
    CHECK_CONTAINS(text, ": two?lines?and a tab>");
    free(text);
    rc_decref(g);
    finish(h);
}

/* held -> a(tag 7) -> b(tag 8): every tool shows "tag 7" and "tag 8". */
TEST(describe_in_every_tool)
{
    char path[256];
    tmp_path(path, sizeof path, "describe.jsonl");
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.trace_path = path;
    rc_heap *h = fresh_with(&cfg);
    node *held = mk(h, &node_type), *a = mk(h, &tagged_type), *b = mk(h, &tagged_type);
    a->tag = 7;
    b->tag = 8;
    link_(held, 0, a);
    link_(a, 1, b);
    rc_decref(a);
    rc_decref(b);

    /* why-alive chains */
    char *text = why_text(h, b, RC_HELD_OUTSIDE);
    CHECK_CONTAINS(text, ": <tagged object at ");
    CHECK_CONTAINS(text, ": tag 7>");
    CHECK_CONTAINS(text, ": tag 8>");
    free(text);

    /* the leak report's examples */
    text = report_text(h, 3, 0);
    CHECK_CONTAINS(text, "tagged objects, allocated at");
    CHECK_CONTAINS(text, ": tag 8>");
    free(text);

    /* DOT labels, and the comment naming the object asked about */
    text = dot_text(h, b, 3, RC_DOT_REFERRERS, 0);
    CHECK_CONTAINS(text, "[label=\"tagged\\ntag 8\\n0x");
    CHECK_CONTAINS(text, "[label=\"tagged\\ntag 7\\n0x");
    CHECK_CONTAINS(text, "// Referrers of <tagged object at ");
    free(text);

    /* snapshots' examples: every grouping, and the JSON */
    rc_snapshot *s = rc_snapshot_take(h);
    REQUIRE(s != NULL);
    for (int by = RC_STAT_TYPE; by <= RC_STAT_TYPE_SITE; by++) {
        size_t n = 0;
        const rc_stat *st = rc_snapshot_stats(s, by, &n);
        bool seen = by == RC_STAT_SITE; /* sites off: one entry, any example */
        for (size_t i = 0; i < n; i++) {
            REQUIRE(st[i].example != NULL);
            if (strstr(st[i].example, "<tagged object at ") &&
                (strstr(st[i].example, ": tag 7>") || strstr(st[i].example, ": tag 8>")))
                seen = true;
        }
        CHECK(seen);
    }
    FILE *out = check_capture_open();
    CHECK_EQ(rc_snapshot_write_json(s, out), 0);
    text = capture_close(out);
    CHECK_CONTAINS(text, "\"example\":\"<tagged object at ");
    free(text);
    rc_snapshot *s2 = rc_snapshot_take(h);
    rc_snapshot *d = rc_snapshot_diff(s, s2);
    size_t n = 0;
    const rc_stat *st = rc_snapshot_stats(d, RC_STAT_TYPE, &n);
    REQUIRE(n == 2);
    CHECK(st[0].example && st[1].example); /* the newer snapshot's, copied */
    rc_snapshot_free(d);
    rc_snapshot_free(s2);
    rc_snapshot_free(s);

    /* the trace: its final snapshot and the suspects' why-alive and graph */
    REQUIRE(rc_trace_snapshot(h, "start") == 0);
    node *c = mk(h, &tagged_type);
    c->tag = 9;
    link_(b, 0, c);
    rc_decref(c);
    node *keep = mk(h, &node_type);
    link_(keep, 0, a);
    rc_decref(held);
    finish(h); /* keep is a leak: the trace ends with it */
    text = read_file(path);
    REQUIRE(text != NULL);
    CHECK_CONTAINS(text, "\"example\":\"<tagged object at ");
    CHECK_CONTAINS(text, "\"why\":\"<tagged object at ");
    CHECK_CONTAINS(text, ": tag 9>");
    CHECK_CONTAINS(text, "[label=\\\"tagged\\\\ntag 9\\\\n0x");
    free(text);
    remove(path);
}

/* ------------------------------------------------------------------ */
/* Smaller fixes: the environment's warnings, DOT's depth limit        */
/* ------------------------------------------------------------------ */

/* What a call writes to stderr (fd 2), in memory. */
typedef struct stderr_capture {
    int   saved;
    FILE *f;
} stderr_capture;
static void stderr_begin(stderr_capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    REQUIRE(c->f != NULL);
    c->saved = dup(2);
    dup2(fileno(c->f), 2);
}
static char *stderr_end(stderr_capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    return capture_close(c->f);
}

TEST(environment_bad_sites_value_warns)
{
    static const char *const bad[] = {"x", "-3", "65", "4:", "4:x", "2x", "4:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stderr_capture c;
        setenv("RECYCLE_SITES", bad[i], 1);
        stderr_begin(&c);
        rc_heap *h = rc_heap_new(NULL);
        char *text = stderr_end(&c);
        unsetenv("RECYCLE_SITES");
        REQUIRE(h != NULL);
        CHECK_CONTAINS(text, "recycle: RECYCLE_SITES: bad value \"");
        CHECK_CONTAINS(text, bad[i]);
        CHECK(!h->tools || !h->tools->sites_on); /* a bad value turns nothing on */
        free(text);
        rc_heap_free(h);
    }
    /* Good values say nothing. */
    static const char *const good[] = {"0", "1", "8", "8:4", "64"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        stderr_capture c;
        setenv("RECYCLE_SITES", good[i], 1);
        stderr_begin(&c);
        rc_heap *h = rc_heap_new(NULL);
        char *text = stderr_end(&c);
        unsetenv("RECYCLE_SITES");
        REQUIRE(h != NULL);
        CHECK(strstr(text, "RECYCLE_SITES") == NULL);
        free(text);
        rc_heap_free(h);
    }
}

TEST(environment_trace_with_several_heaps_never_overwrites)
{
    char path[256], second[300];
    tmp_path(path, sizeof path, "several.jsonl");
    setenv("RECYCLE_TRACE", path, 1);
    stderr_capture c;
    stderr_begin(&c);
    rc_heap *a = rc_heap_new(NULL), *b = rc_heap_new(NULL);
    char *text = stderr_end(&c);
    unsetenv("RECYCLE_TRACE");
    REQUIRE(a && b);
    /* Each heap announces the file it writes unless it is the first of the
     * process to trace through RECYCLE_TRACE (earlier tests in this process
     * may have been): two heaps, two files, never one overwritten. */
    char first[300];
    snprintf(first, sizeof first, "%s", path);
    int announced = 0;
    for (char *at = text; (at = strstr(at, "this one writes ")); at += 16) {
        if (announced == 1) memcpy(first, second, sizeof first); /* both announced */
        snprintf(second, sizeof second, "%.*s", (int)strcspn(at + 16, " \n"), at + 16);
        CHECK(strncmp(second, path, strlen(path)) == 0 && second[strlen(path)] == '.');
        announced++;
    }
    CHECK_CONTAINS(text, "recycle: RECYCLE_TRACE: another heap of this process traces to");
    CHECK(announced == 1 || announced == 2);
    free(text);
    rc_heap_free(a);
    rc_heap_free(b);
    char *ta = read_file(first), *tb = read_file(second);
    CHECK_NOTNULL(ta);
    CHECK_NOTNULL(tb);
    if (ta && tb) {
        CHECK_EQ(count_lines_with(ta, "{\"ev\":\"start\""), 1);
        CHECK_EQ(count_lines_with(tb, "{\"ev\":\"start\""), 1);
        CHECK(strcmp(first, second) != 0 && strcmp(ta, tb) != 0);
    }
    free(ta);
    free(tb);
    remove(first);
    remove(path);
    remove(second);
}

/* a -> b -> c -> d: 1 link deep from a draws a and b; b is cut off by the
 * limit (it refers to c), so it is dashed; referrers of d, 1 deep: c is. */
TEST(dot_depth_limit_draws_cut_nodes_dashed)
{
    rc_heap *h = fresh_with(NULL);
    node *a = mk(h, &node_type), *b = mk(h, &node_type), *cc = mk(h, &node_type),
         *d = mk(h, &node_type);
    link_(a, 0, b);
    link_(b, 0, cc);
    link_(cc, 0, d);
    char *text = dot_text(h, a, 1, RC_DOT_REFERENTS, 0);
    char line[64];
    snprintf(line, sizeof line, "  o%u [label=", (unsigned)RC__HEAD(b)->gc);
    char *at = strstr(text, line);
    REQUIRE(at != NULL);
    CHECK(strstr(at, "style=\"filled,dashed\"") < strchr(at, '\n'));
    CHECK(strstr(at, "(+1 not shown)") < strchr(at, '\n'));
    free(text);
    text = dot_text(h, d, 1, RC_DOT_REFERRERS, 0);
    snprintf(line, sizeof line, "  o%u [label=", (unsigned)RC__HEAD(cc)->gc);
    at = strstr(text, line);
    REQUIRE(at != NULL);
    CHECK(strstr(at, "style=\"filled,dashed\"") < strchr(at, '\n'));
    /* the object asked about, fully drawn at depth 1, is not dashed */
    snprintf(line, sizeof line, "  o%u [label=", (unsigned)RC__HEAD(d)->gc);
    at = strstr(text, line);
    REQUIRE(at != NULL);
    char *dash = strstr(at, "dashed");
    CHECK(!dash || dash > strchr(at, '\n'));
    free(text);
    rc_decref(a);
    rc_decref(b);
    rc_decref(cc);
    rc_decref(d);
    finish(h);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
