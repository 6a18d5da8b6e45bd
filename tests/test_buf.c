/* test_buf.c — buffers (rc_buf_alloc / rc_buf_realloc / rc_buf_free):
 * storage owned by one object, counted in bytes in use and memory_limit,
 * attributed to its owner in snapshots and the leak report, freed with its
 * owner or at rc_heap_free, checked on every call.
 *
 * The growable list here is docs/API.md's worked example: an item array
 * grown with rc_buf_realloc, walked by traverse, no release needed to free
 * it.  The fault-injection test fails the 1st, 2nd, 3rd, ... allocation of
 * a workload that grows buffers until a run passes; every run must end
 * correct or with a clean RC_ENOMEM, and with every block given back.
 * Use after free of a buffer under ASan and valgrind: test_alloc_tools.c.
 */
#include "check.h"
#include "internal.h" /* RC__BUF_HDR: heap_check_checks_the_buffers */

#include <recycle.h>

#include <stdbool.h>

#if defined(RC_DEBUG) && RC_DEBUG
#define DEBUG_BUILD 1
#else
#define DEBUG_BUILD 0
#endif

/* ---- a growable list (docs/API.md, "Buffers") ---- */

typedef struct list {
    size_t len, cap;
    void **items; /* a buffer of cap slots */
    char  *blob;  /* another buffer, for the tests */
} list;

static int list_traverse(void *o, rc_visit_fn visit, void *arg)
{
    list *l = o;
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i]) {
            int r = visit(&l->items[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static long released;
static void count_release(void *o)
{
    (void)o;
    released++;
}

static const rc_type T_LIST = {"buf_list", sizeof(list), list_traverse, NULL, count_release, 0};
/* The same without release: the library alone frees its buffers. */
static const rc_type T_BARE = {"buf_bare", sizeof(list), list_traverse, NULL, NULL, 0};

/* Appends a new reference to x; 0, or -1 with l unchanged. */
static int list_append(list *l, void *x)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        void **items = rc_buf_realloc(l, l->items, cap * sizeof *items);
        if (!items) return -1;
        l->items = items;
        l->cap = cap;
    }
    rc_incref(x);
    l->items[l->len++] = x;
    return 0;
}

/* ---- a string: an atomic object owning its bytes ---- */

typedef struct str {
    size_t len;
    char  *bytes;
} str;

/* No hook at all: it dies on rc_decref's fastest path. */
static const rc_type T_STR = {"buf_str", sizeof(str), NULL, NULL, NULL, 0};

static long str_checked, str_bad;
/* Its release reads its bytes (still there) and frees them itself. */
static void str_release(void *o)
{
    str *s = o;
    released++;
    str_checked++;
    for (size_t i = 0; i < s->len; i++) str_bad += s->bytes[i] != (char)('a' + s->len % 26);
    rc_buf_free(s, s->bytes); /* NULL if its rc_buf_alloc failed: nothing */
    if (rc_last_error(rc_heap_of(s)) == RC_EINVAL) str_bad++;
}
static const rc_type T_STR_REL = {"buf_str_rel", sizeof(str), NULL, NULL, str_release, 0};

static str *new_str(rc_heap *h, const rc_type *t, size_t len)
{
    str *s = rc_new(h, t);
    if (!s) return NULL;
    s->bytes = rc_buf_alloc(s, len);
    if (!s->bytes) {
        rc_decref(s);
        return NULL;
    }
    s->len = len;
    memset(s->bytes, 'a' + (int)(len % 26), len);
    return s;
}

static bool str_ok(const str *s)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->bytes[i] != (char)('a' + s->len % 26)) return false;
    return true;
}

/* ---- helpers ---- */

static size_t in_use(const rc_heap *h)
{
    rc_memory_stats st;
    rc_heap_memory_stats(h, &st);
    return st.bytes_in_use;
}

static uint64_t full_collections(const rc_heap *h)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    return st[2].collections;
}

static rc_heap *heap_with_limit(size_t limit)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.memory_limit = limit;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    rc_gc_disable(h);
    released = 0;
    return h;
}

static int nmisuse;
static char last_misuse[512];
static void record_misuse(const char *msg, const void *obj, void *data)
{
    (void)obj;
    (void)data;
    nmisuse++;
    snprintf(last_misuse, sizeof last_misuse, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Counting                                                            */
/* ------------------------------------------------------------------ */

TEST(buffers_count_in_bytes_in_use)
{
    rc_heap *h = heap_with_limit(0);
    list *l = rc_new(h, &T_LIST);
    REQUIRE(l);
    size_t base = in_use(h);
    char *b = rc_buf_alloc(l, 1000);
    REQUIRE(b);
    CHECK_EQ((uintptr_t)b % 16, 0);
    CHECK_GE(in_use(h) - base, 1000 + 32);
    CHECK_LE(in_use(h) - base, 1300);
    memset(b, 'x', 1000);

    /* grown into a block of its own (past the largest class): contents kept */
    char *big = rc_buf_realloc(l, b, 100000);
    REQUIRE(big);
    CHECK(big[0] == 'x' && big[999] == 'x');
    CHECK_GE(in_use(h) - base, 100000);
    CHECK_LE(in_use(h) - base, 100000 + 8192);
    rc_memory_stats st;
    rc_heap_memory_stats(h, &st);
    CHECK_EQ(st.large_objects, 1);

    /* within the block's slack: in place; far smaller: moved, memory back */
    CHECK_PTR_EQ(rc_buf_realloc(l, big, 99000), big);
    char *small = rc_buf_realloc(l, big, 500);
    REQUIRE(small);
    CHECK(small[0] == 'x' && small[499] == 'x');
    CHECK_LE(in_use(h) - base, 640); /* 532 bytes: the 640 class */

    rc_buf_free(l, small);
    CHECK_EQ(in_use(h), base);
    CHECK_EQ(rc_last_error(h), 0);
    rc_decref(l);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

/* The issue's case: 1M references' worth of a list under a 1 MiB limit
 * showed bytes_in_use = 80 when the list grew its array with realloc. */
TEST(issue12_list_of_1m_refs_under_1mib_limit_fails)
{
    rc_heap *h = heap_with_limit((size_t)1 << 20);
    list *l = rc_new(h, &T_LIST);
    str *x = new_str(h, &T_STR, 5);
    REQUIRE(l && x);
    size_t i;
    for (i = 0; i < 1000000; i++)
        if (list_append(l, x) != 0) break;
    CHECK_LT(i, 1000000);
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    CHECK_LE(in_use(h), (size_t)1 << 20);
    CHECK_GE(in_use(h), (size_t)1 << 19); /* the item array counts */
    /* the failed growth left the list whole */
    CHECK_EQ(l->len, i);
    size_t bad = 0;
    for (size_t j = 0; j < l->len; j++) bad += l->items[j] != x;
    CHECK_EQ(bad, 0);
    CHECK_EQ(rc_refcount(x), l->len + 1);
    fprintf(stderr, "  %zu references fit under 1 MiB; bytes_in_use %zu\n", i, in_use(h));
    rc_decref(l);
    CHECK_EQ(rc_refcount(x), 1);
    rc_decref(x);
    CHECK_EQ(in_use(h), 0);
    CHECK_EQ(released, 1);
    rc_heap_free(h);
}

/* ------------------------------------------------------------------ */
/* memory_limit                                                        */
/* ------------------------------------------------------------------ */

TEST(limit_runs_the_collection_that_frees_a_cycle_then_succeeds)
{
    rc_heap *h = heap_with_limit((size_t)512 << 10);
    list *a = rc_new(h, &T_LIST), *b = rc_new(h, &T_LIST), *c = rc_new(h, &T_LIST);
    REQUIRE(a && b && c);
    REQUIRE(list_append(a, b) == 0 && list_append(b, a) == 0);
    REQUIRE((a->blob = rc_buf_alloc(a, 200 << 10)) != NULL);
    REQUIRE((b->blob = rc_buf_alloc(b, 200 << 10)) != NULL);
    rc_decref(a);
    rc_decref(b); /* a garbage cycle holding 400 KiB; collection is off */
    uint64_t before = full_collections(h);
    char *p = rc_buf_alloc(c, 200 << 10);
    CHECK(p != NULL);
    CHECK_EQ(full_collections(h), before + 1);
    CHECK_EQ(released, 2);
    CHECK_LE(in_use(h), (size_t)512 << 10);
    rc_decref(c);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

TEST(limit_failure_leaves_the_old_buffer_intact)
{
    rc_heap *h = heap_with_limit((size_t)256 << 10);
    list *l = rc_new(h, &T_LIST);
    REQUIRE(l);
    unsigned char *p = rc_buf_alloc(l, 100 << 10);
    REQUIRE(p);
    for (size_t i = 0; i < (100 << 10); i++) p[i] = (unsigned char)(i * 7);
    size_t used = in_use(h);
    uint64_t before = full_collections(h);
    CHECK_NULL(rc_buf_realloc(l, p, 300 << 10));
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    CHECK_EQ(full_collections(h), before + 1); /* the emergency collection ran */
    CHECK_EQ(in_use(h), used);
    size_t bad = 0;
    for (size_t i = 0; i < (100 << 10); i++) bad += p[i] != (unsigned char)(i * 7);
    CHECK_EQ(bad, 0);
    /* and it still grows where the limit allows */
    unsigned char *q = rc_buf_realloc(l, p, 120 << 10);
    REQUIRE(q);
    for (size_t i = 0; i < (100 << 10); i++) bad += q[i] != (unsigned char)(i * 7);
    CHECK_EQ(bad, 0);
    CHECK_NULL(rc_buf_alloc(l, 300 << 10));
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    rc_decref(l);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

/* The adaptive policy's byte trigger sees buffers: a garbage cycle that
 * holds its memory in buffers is collected as buffers grow, with no
 * object allocated at all. */
TEST(adaptive_byte_trigger_counts_buffers)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.policy = RC_POLICY_ADAPTIVE;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h);
    released = 0;
    list *keep = rc_new(h, &T_LIST);
    REQUIRE(keep);
    for (int round = 0; round < 8; round++) {
        list *a = rc_new(h, &T_LIST), *b = rc_new(h, &T_LIST);
        REQUIRE(a && b);
        REQUIRE(list_append(a, b) == 0 && list_append(b, a) == 0);
        REQUIRE((a->blob = rc_buf_alloc(a, 3 << 20)) != NULL);
        rc_decref(a);
        rc_decref(b);
    }
    /* 24 MiB of garbage would be held without the trigger */
    CHECK_GT(released, 0);
    CHECK_LE(in_use(h), (size_t)12 << 20);
    rc_decref(keep);
    rc_heap_free(h);
}

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */
/* ------------------------------------------------------------------ */

enum { NLISTS = 4 };

/* Lists of strings that grow: item arrays and string bytes reallocated,
 * a cycle between two lists, one list dropped half-way, a collection.
 * 0 when it ran to the end; RC_ENOMEM when an allocation failed (each
 * failure is checked to be clean where it happens). */
static int grow_workload(rc_heap *h, list **ls, int *bad)
{
    for (int i = 0; i < NLISTS; i++) {
        ls[i] = rc_new(h, i % 2 ? &T_BARE : &T_LIST);
        if (!ls[i]) return rc_last_error(h);
    }
    if (list_append(ls[0], ls[1]) || list_append(ls[1], ls[0])) return rc_last_error(h);
    for (int step = 0; step < 150; step++) {
        list *l = ls[step % NLISTS];
        if (!l) continue;
        size_t len = (size_t)(step * 37 % 3000) + 1;
        str *s = new_str(h, step % 3 ? &T_STR : &T_STR_REL, len);
        if (!s) return rc_last_error(h);
        size_t had = l->len;
        int r = list_append(l, s);
        rc_decref(s);
        if (r) {
            *bad += l->len != had;
            return rc_last_error(h);
        }
        if (step % 5 == 0) { /* grow a string's bytes in place or moved */
            str *t = l->items[l->len - 1];
            size_t nlen = t->len * 3 + 20000;
            char *nb = rc_buf_realloc(t, t->bytes, nlen);
            if (!nb) {
                *bad += !str_ok(t);
                return rc_last_error(h);
            }
            memset(nb + t->len, 'a' + (int)(nlen % 26), nlen - t->len);
            memset(nb, 'a' + (int)(nlen % 26), t->len);
            t->bytes = nb;
            t->len = nlen;
        }
        if (step == 75) {
            rc_decref(ls[2]);
            ls[2] = NULL;
        }
    }
    rc_gc_collect(h, 2);
    return 0;
}

TEST(fault_injection_at_every_allocation_of_a_growing_workload)
{
    int runs = 0;
    for (unsigned long n = 1;; n++) {
        rc_config cfg;
        rc_config_init(&cfg);
        cfg.fail_alloc_after = n;
        rc_heap *h = rc_heap_new(&cfg);
        REQUIRE(h);
        released = 0;
        str_checked = str_bad = 0;
        list *ls[NLISTS] = {0};
        int bad = 0;
        int r = grow_workload(h, ls, &bad);
        runs++;
        if (r != 0 && r != RC_ENOMEM) {
            fprintf(stderr, "  fail_alloc_after=%lu: error %d\n", n, r);
            CHECK_EQ(r, RC_ENOMEM);
        }
        CHECK_EQ(bad, 0);
        /* what exists is whole */
        CHECK_EQ(rc_heap_check(h, stderr), 0);
        for (int i = 0; i < NLISTS; i++) {
            if (!ls[i]) continue;
            for (size_t j = 0; j < ls[i]->len; j++) {
                if (rc_type_of(ls[i]->items[j]) == &T_BARE ||
                    rc_type_of(ls[i]->items[j]) == &T_LIST) continue;
                if (!str_ok(ls[i]->items[j])) bad++;
            }
        }
        CHECK_EQ(bad, 0);
        /* and everything goes back */
        for (int i = 0; i < NLISTS; i++) rc_xdecref(ls[i]);
        rc_gc_collect(h, 2);
        CHECK_EQ(in_use(h), 0);
        CHECK_EQ(str_bad, 0);
        rc_heap_free(h);
        if (check_failures) {
            fprintf(stderr, "  failed at fail_alloc_after=%lu\n", n);
            return;
        }
        if (r == 0) break;
        REQUIRE(n < 100000);
    }
    fprintf(stderr, "  %d runs, the last one complete\n", runs);
    CHECK_GT(runs, 50);
}

/* ------------------------------------------------------------------ */
/* Attribution                                                         */
/* ------------------------------------------------------------------ */

static long long stat_bytes(const rc_snapshot *s, int by, const char *type)
{
    size_t n = 0;
    const rc_stat *st = rc_snapshot_stats(s, by, &n);
    for (size_t i = 0; i < n; i++)
        if (st[i].type && strcmp(st[i].type, type) == 0) return st[i].bytes;
    return -1;
}

TEST(snapshots_and_the_leak_report_count_buffers_with_their_owner)
{
    rc_heap *h = heap_with_limit(0);
    list *l = rc_new(h, &T_LIST);
    REQUIRE(l);
    rc_snapshot *s0 = rc_snapshot_take(h);
    REQUIRE(s0);
    long long own = stat_bytes(s0, RC_STAT_TYPE, "buf_list");
    CHECK_GT(own, 0);
    CHECK_LT(own, 1000);
    REQUIRE((l->blob = rc_buf_alloc(l, 50000)) != NULL);
    REQUIRE(list_append(l, l) == 0);
    rc_snapshot *s1 = rc_snapshot_take(h);
    REQUIRE(s1);
    long long with = stat_bytes(s1, RC_STAT_TYPE, "buf_list");
    CHECK_GE(with - own, 50000 + 64 + 32);
    CHECK_LE(with - own, 50000 + 4096 + 256);
    CHECK_EQ(stat_bytes(s1, RC_STAT_TYPE_SITE, "buf_list"), with);
    rc_stat total;
    REQUIRE(rc_snapshot_total(s1, &total) == 0);
    CHECK_EQ(total.bytes, (long long)in_use(h)); /* every byte in use has an owner */
    rc_snapshot *d = rc_snapshot_diff(s0, s1);
    REQUIRE(d);
    size_t n = 0;
    const rc_stat *st = rc_snapshot_stats(d, RC_STAT_TYPE, &n);
    REQUIRE(n >= 1);
    CHECK_STR_EQ(st[0].type, "buf_list");
    CHECK_EQ(st[0].bytes_diff, with - own);

    FILE *f = check_capture_open();
    REQUIRE(f);
    CHECK_EQ(rc_leak_report(h, 3, f), 0);
    char *text = check_capture_text(f);
    char want[64];
    snprintf(want, sizeof want, "%10lld", with);
    CHECK_CONTAINS(text, want);
    free(text);
    rc_snapshot_free(d);
    rc_snapshot_free(s1);
    rc_snapshot_free(s0);
    rc_decref(l);
    rc_gc_collect(h, 2);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

TEST(owner_dying_by_counting_frees_its_buffers)
{
    rc_heap *h = heap_with_limit(0);
    /* a container with a release, one without, an atomic object with no
     * hook at all (rc_decref's fastest path) */
    list *l = rc_new(h, &T_LIST), *bare = rc_new(h, &T_BARE);
    str *s = new_str(h, &T_STR, 30000);
    REQUIRE(l && bare && s);
    for (int i = 0; i < 100; i++) REQUIRE(list_append(l, s) == 0 && list_append(bare, s) == 0);
    REQUIRE((l->blob = rc_buf_alloc(l, 777)) != NULL);
    REQUIRE(rc_buf_alloc(bare, 20) != NULL && rc_buf_alloc(bare, 40000) != NULL);
    rc_decref(s);
    rc_decref(l);
    CHECK_EQ(released, 1);
    CHECK_EQ(rc_refcount(s), 100);
    rc_decref(bare); /* s dies with it */
    CHECK_EQ(in_use(h), 0);
    CHECK_EQ(rc_gc_collect(h, 2), 0);
    rc_heap_free(h);
}

TEST(owner_dying_in_a_collection_frees_its_buffers)
{
    rc_heap *h = heap_with_limit(0);
    list *a = rc_new(h, &T_LIST), *b = rc_new(h, &T_BARE);
    REQUIRE(a && b);
    REQUIRE(list_append(a, b) == 0 && list_append(b, a) == 0);
    REQUIRE(rc_buf_alloc(a, 64) && rc_buf_alloc(a, 5000) && rc_buf_alloc(b, 70000));
    rc_decref(a);
    rc_decref(b);
    CHECK_GT(in_use(h), 70000);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(released, 1);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

TEST(release_sees_its_buffers_and_may_free_them)
{
    rc_heap *h = heap_with_limit(0);
    str_checked = str_bad = 0;
    str *s = new_str(h, &T_STR_REL, 3000);
    REQUIRE(s);
    rc_decref(s); /* its release reads the bytes and frees them */
    CHECK_EQ(str_checked, 1);
    CHECK_EQ(str_bad, 0);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

TEST(heap_end_frees_forgotten_buffers_after_the_releases)
{
    rc_heap *h = heap_with_limit(0);
    str_checked = str_bad = 0;
    list *l = rc_new(h, &T_LIST);
    REQUIRE(l);
    for (int i = 0; i < 50; i++) {
        str *s = new_str(h, i % 2 ? &T_STR_REL : &T_STR, (size_t)(i * 977 % 40000) + 1);
        REQUIRE(s);
        REQUIRE(list_append(l, s) == 0);
        rc_decref(s);
    }
    REQUIRE(rc_buf_alloc(l, 100) != NULL); /* never freed, nor is l */
    /* rc_heap_free releases the 25 strings with a release, which read their
     * bytes and free them; the rest go with the heap (valgrind and ASan
     * runs of this test report no leak). */
    rc_heap_free(h);
    CHECK_EQ(str_checked, 25);
    CHECK_EQ(str_bad, 0);
    CHECK_EQ(released, 26);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* rc_heap_check checks the buffers' records too (buf.c's invariants).
 * White-box: a buffer's header words (internal.h) are corrupted one at a
 * time — the owner it names, its link to the newer buffer, its link to
 * the older one (which takes a buffer off every list: the byte totals no
 * longer add up) — and each is reported; put back, the heap checks clean. */
TEST(heap_check_checks_the_buffers)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    str *a = rc_new(h, &T_STR), *b = rc_new(h, &T_STR);
    REQUIRE(a != NULL && b != NULL);
    void *older = rc_buf_alloc(a, 100), *newer = rc_buf_alloc(a, 3000), *other = rc_buf_alloc(b, 50);
    REQUIRE(older != NULL && newer != NULL && other != NULL);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    /* words: 0 the next older buffer, 1 the mark, 2 the owner, 3 the next newer */
    void **o = (void **)((char *)older - RC__BUF_HDR), **n = (void **)((char *)newer - RC__BUF_HDR);
    void **slots[] = {&o[2], &o[3], &n[0]};
    void *wrong[] = {b, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        void *keep = *slots[i];
        *slots[i] = wrong[i];
        CHECK_EQ(rc_heap_check(h, NULL), -1);
        *slots[i] = keep;
        CHECK_EQ(rc_heap_check(h, stderr), 0);
    }
    rc_decref(a);
    rc_decref(b);
    rc_heap_free(h);
}

TEST(bad_arguments_fail_cleanly)
{
    rc_heap *h = heap_with_limit(0);
    rc_set_misuse_handler(record_misuse, NULL);
    nmisuse = 0;
    list *l = rc_new(h, &T_LIST);
    REQUIRE(l);
    char *p = rc_buf_alloc(l, 10);
    REQUIRE(p);
    memcpy(p, "abcdefghi", 10);
    size_t used = in_use(h);

    CHECK_NULL(rc_buf_alloc(NULL, 8));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_NULL(rc_buf_realloc(NULL, p, 8));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_NULL(rc_buf_alloc((char *)l + 8, 8)); /* misaligned */
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_NULL(rc_buf_alloc(l, 0));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_NULL(rc_buf_realloc(l, p, 0));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_NULL(rc_buf_alloc(l, SIZE_MAX));
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    CHECK_NULL(rc_buf_realloc(l, p, SIZE_MAX - 8));
    CHECK_EQ(rc_last_error(h), RC_ENOMEM);
    CHECK_EQ(nmisuse, DEBUG_BUILD ? 5 : 0);

    /* pointers that are no buffer of l */
    char local[64];
    nmisuse = 0;
    CHECK_NULL(rc_buf_realloc(l, local + 32, 8));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    rc_buf_free(l, l);                      /* the object itself */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    rc_buf_free(l, p + 16);                 /* inside the buffer */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(nmisuse, DEBUG_BUILD ? 3 : 0);

    rc_buf_free(l, NULL);                   /* nothing */
    CHECK_EQ(in_use(h), used);
    CHECK_STR_EQ(p, "abcdefghi");
    rc_set_misuse_handler(NULL, NULL);
    rc_decref(l);
    rc_heap_free(h);
}

/* Debug builds report a double free and a wrong owner through the misuse
 * handler, naming the owner's type and allocation site; release builds
 * return RC_EINVAL and change nothing. */
TEST(double_free_and_wrong_owner_are_caught)
{
    rc_heap *h = heap_with_limit(0);
    rc_set_misuse_handler(record_misuse, NULL);
    nmisuse = 0;
    list *a = rc_new(h, &T_LIST); int line_a = __LINE__;
    str *b = rc_new(h, &T_STR); int line_b = __LINE__;
    REQUIRE(a && b);
    char *p = rc_buf_alloc(a, 100), *q = rc_buf_alloc(a, 200);
    REQUIRE(p && q);
    char site[64];

    rc_buf_free(a, p);
    CHECK_EQ(rc_last_error(h), 0);
    rc_buf_free(a, p); /* again */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(nmisuse, DEBUG_BUILD ? 1 : 0);
    if (DEBUG_BUILD) {
        CHECK_CONTAINS(last_misuse, "rc_buf_free");
        CHECK_CONTAINS(last_misuse, "freed twice");
        CHECK_CONTAINS(last_misuse, "buf_list");
        snprintf(site, sizeof site, "test_buf.c:%d", line_a);
        CHECK_CONTAINS(last_misuse, site);
    }

    nmisuse = 0;
    rc_buf_free(b, q); /* q is a's */
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_NULL(rc_buf_realloc(b, q, 300));
    CHECK_EQ(rc_last_error(h), RC_EINVAL);
    CHECK_EQ(nmisuse, DEBUG_BUILD ? 2 : 0);
    if (DEBUG_BUILD) {
        CHECK_CONTAINS(last_misuse, "rc_buf_realloc");
        CHECK_CONTAINS(last_misuse, "belongs to <buf_list");
        CHECK_CONTAINS(last_misuse, "buf_str");
        snprintf(site, sizeof site, "test_buf.c:%d", line_b);
        CHECK_CONTAINS(last_misuse, site);
    }
    (void)line_b;
    (void)site;
    /* q is still a's, and whole */
    memset(q, 7, 200);
    q = rc_buf_realloc(a, q, 400);
    CHECK(q != NULL && q[199] == 7);
    rc_set_misuse_handler(NULL, NULL);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ(in_use(h), 0);
    rc_heap_free(h);
}

/* Without a handler, a debug build stops at the double free with the
 * message (in a child). */
TEST(debug_double_free_aborts_with_the_message)
{
    if (!DEBUG_BUILD) {
        printf("skipped (release build)\n");
        return;
    }
    FILE *err = check_capture_open();
    REQUIRE(err);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fileno(err), 2);
        rc_heap *h = rc_heap_new(NULL);
        str *s = rc_new(h, &T_STR);
        char *p = rc_buf_alloc(s, 40);
        rc_buf_free(s, p);
        rc_buf_free(s, p);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    char *text = check_capture_text(err);
    fclose(err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK_CONTAINS(text, "recycle: misuse: rc_buf_free: not a live buffer (freed twice?)");
    CHECK_CONTAINS(text, "<buf_str object at");
    free(text);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
