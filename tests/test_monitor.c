/* test_monitor.c — the live monitor (src/tools/monitor.c, layout src/tools/monitor.h):
 * off by default with nothing to pay (no tools, no file), on through
 * rc_config.monitor or RECYCLE_MONITOR; the figures a reader gets (bytes as
 * the allocator counts them, tracked objects per generation, types,
 * collections, pause percentiles, allocations and growth); updates at
 * collections and by the clock; the file's removal at rc_heap_free, at exit,
 * and a child of fork() getting a file of its own; bad settings; and the
 * seqlock: a reader racing a writer never keeps a torn copy.
 */
#define _GNU_SOURCE
#include "check.h"
#include "internal.h"
#include "tools/tools.h"
#include "tools/monitor.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

typedef struct pair { void *a, *b; } pair;
static int pair_traverse(void *o, rc_visit_fn visit, void *arg)
{
    pair *p = o;
    int r = p->a ? visit(&p->a, arg) : 0;
    return r ? r : (p->b ? visit(&p->b, arg) : 0);
}
static const rc_type pair_type = {"pair", sizeof(pair), pair_traverse, NULL, NULL, 0};
static const rc_type atom_type = {"atom", 40, NULL, NULL, NULL, 0};
static const rc_type big_type = {"big", 16, NULL, NULL, NULL, 0};

/* A fresh directory for the files, as RECYCLE_MONITOR_DIR. */
static char dir[64];
static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/rc-monitor-test.XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    setenv("RECYCLE_MONITOR_DIR", dir, 1);
    unsetenv("RECYCLE_MONITOR");
}
static int files_in_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}
static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    unsetenv("RECYCLE_MONITOR_DIR");
}

static rc_heap *monitored_heap(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.monitor = 1;
    rc_heap *h = rc_heap_new(&cfg);
    REQUIRE(h != NULL);
    return h;
}

/* What a reader in another process would read from h's file. */
static rc_mon_header read_figures(rc_heap *h, rc_mon_data *d)
{
    REQUIRE(h->tools && h->tools->monitor);
    const char *path = rc__monitor_path(h->tools->monitor);
    REQUIRE(path != NULL);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    rc_mon_file *f = mmap(NULL, sizeof *f, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    REQUIRE(f != MAP_FAILED);
    rc_mon_header hdr = f->hdr;
    CHECK_EQ(rc_mon_read(f, d, 100), 0);
    munmap(f, sizeof *f);
    return hdr;
}

static const rc_mon_type *find_type(const rc_mon_data *d, const char *name)
{
    for (uint64_t i = 0; i < d->ntop; i++)
        if (strcmp(d->top[i].name, name) == 0) return &d->top[i];
    return NULL;
}

TEST(off_by_default_costs_nothing)
{
    fresh_dir();
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    CHECK_NULL(h->tools); /* rc_new and the free path take their fast paths */
    void *o = rc_new(h, &atom_type);
    rc_decref(o);
    CHECK_EQ(files_in_dir(), 0);
    rc_heap_free(h);
    remove_dir();
}

TEST(figures_match_the_heap)
{
    fresh_dir();
    rc_heap *h = monitored_heap();
    rc_gc_disable(h);
    CHECK_EQ(files_in_dir(), 1);
    enum { N = 1000 };
    static void *keep[N];
    for (int i = 0; i < N; i++) keep[i] = rc_new(h, &atom_type);
    for (int i = 0; i < 300; i++) { /* 300 cycles: 600 garbage pairs */
        pair *a = rc_new(h, &pair_type), *b = rc_new(h, &pair_type);
        rc_setref(&a->a, b);
        rc_setref(&b->a, a);
        rc_decref(a);
        rc_decref(b);
    }
    void *big = rc_new_var(h, &big_type, 100000);
    rc_new(h, &pair_type); /* one live pair, held */
    CHECK_EQ(rc_gc_collect(h, 2), 600); /* publishes at its end */

    rc_mon_data d;
    rc_mon_header hdr = read_figures(h, &d);
    CHECK_EQ(hdr.magic, RC_MON_MAGIC);
    CHECK_EQ(hdr.version, RC_MON_VERSION);
    CHECK_EQ(hdr.pid, getpid());
    CHECK_EQ(hdr.heap, (uint64_t)(uintptr_t)h);
    CHECK_EQ(hdr.data_size, sizeof(rc_mon_data));
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    CHECK_UEQ(d.bytes_in_use, ms.bytes_in_use);
    CHECK_UEQ(d.bytes_held, ms.bytes_from_os);
    CHECK_UEQ(d.objects, N + 2);
    CHECK_UEQ(d.tracked[0], 0);
    CHECK_UEQ(d.tracked[2], 1); /* the live pair, survivor of a full collection */
    CHECK_UEQ(d.collections[2], 1);
    CHECK_UEQ(d.collected, 600);
    CHECK_UEQ(d.allocs, N + 600 + 2);
    CHECK_UEQ(d.frees, 600);
    CHECK(d.pause_max_ns > 0);
    CHECK(d.pause_p50_ns > 0 && d.pause_p50_ns <= d.pause_max_ns);
    CHECK_UEQ(d.ntypes, 3);
    /* largest first: big (one 100 KB block), atom (1000 x 64 B), pair */
    REQUIRE(d.ntop == 3);
    CHECK_STR_EQ(d.top[0].name, "big");
    CHECK_STR_EQ(d.top[1].name, "atom");
    CHECK_STR_EQ(d.top[2].name, "pair");
    CHECK_UEQ(d.top[1].count, N);
    CHECK_UEQ(d.top[1].bytes, (uint64_t)N * (16 + 48 + RC__PREFIX));
    CHECK_UEQ(d.top[0].bytes, rc_size_of(big) + 16 + RC__PREFIX);
    CHECK_UEQ(d.bytes_at_start, 0);
    CHECK(d.bytes_peak >= d.bytes_in_use);

    for (int i = 0; i < N; i++) rc_decref(keep[i]);
    rc_decref(big);
    rc_gc_collect(h, 0);
    read_figures(h, &d);
    CHECK_UEQ(d.objects, 1);
    CHECK_NULL(find_type(&d, "atom"));
    CHECK_NULL(find_type(&d, "big"));
    CHECK_UEQ(d.collections[0], 1);
    rc_heap_free(h);
    CHECK_EQ(files_in_dir(), 0); /* rc_heap_free removed it */
    remove_dir();
}

TEST(pause_percentiles_come_from_the_histogram)
{
    CHECK_EQ(rc_mon_pause_bucket(0), 0u);
    CHECK_EQ(rc_mon_pause_bucket(255), 0u);
    CHECK_EQ(rc_mon_pause_bucket(256), 1u);
    CHECK_EQ(rc_mon_pause_bucket(320), 2u);
    CHECK_EQ(rc_mon_pause_bucket(UINT64_MAX), RC_MON_PAUSE_BUCKETS - 1);
    for (uint64_t ns = 1; ns < ((uint64_t)1 << 31); ns = ns * 3 + 1) {
        unsigned b = rc_mon_pause_bucket(ns);
        CHECK(ns < rc_mon_bucket_top(b));
        if (b > 0) CHECK(ns >= rc_mon_bucket_top(b - 1));
    }
    fresh_dir();
    rc_heap *h = monitored_heap();
    for (int i = 0; i < 50; i++) rc_gc_collect(h, 0);
    rc_mon_data d;
    read_figures(h, &d);
    uint64_t n = 0;
    for (unsigned b = 0; b < RC_MON_PAUSE_BUCKETS; b++) n += d.pause_hist[b];
    CHECK_UEQ(n, 50);
    CHECK_UEQ(d.collections[0], 50);
    CHECK(d.pause_p50_ns <= d.pause_p90_ns && d.pause_p90_ns <= d.pause_p99_ns);
    CHECK(d.pause_p99_ns <= d.pause_max_ns);
    rc_heap_free(h);
    remove_dir();
}

TEST(updates_by_the_clock_without_collections)
{
    fresh_dir();
    rc_heap *h = monitored_heap();
    rc_gc_disable(h);
    rc_mon_data d;
    read_figures(h, &d);
    uint64_t first = d.updates;
    /* Allocations alone: the clock is read every 256 hook calls, and an
     * update goes out once 100 ms have passed. */
    struct timespec nap = {0, 1000000};
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < 256; k++) rc_decref(rc_new(h, &atom_type));
        nanosleep(&nap, NULL);
    }
    read_figures(h, &d);
    CHECK(d.updates > first);
    CHECK(d.updates < first + 300); /* at most every 100 ms, not every look */
    CHECK_UEQ(d.collections[0] + d.collections[1] + d.collections[2], 0);
    CHECK(d.allocs >= 256 && d.allocs <= 256 * 300); /* as of the last update */
    CHECK(d.alloc_rate > 0);
    rc_heap_free(h);
    remove_dir();
}

TEST(environment_turns_it_on_and_bad_values_are_refused)
{
    fresh_dir();
    setenv("RECYCLE_MONITOR", "1", 1);
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    CHECK(h->tools && h->tools->monitor);
    CHECK_EQ(files_in_dir(), 1);
    rc_heap_free(h);
    CHECK_EQ(files_in_dir(), 0);

    setenv("RECYCLE_MONITOR", "yes", 1); /* warned about, stays off */
    h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    CHECK_NULL(h->tools);
    rc_heap_free(h);
    unsetenv("RECYCLE_MONITOR");

    rc_config cfg;
    rc_config_init(&cfg);
    cfg.monitor = 2;
    CHECK_NULL(rc_heap_new(&cfg));
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);

    /* No directory for the file: the configuration's request fails the
     * heap; the environment's only warns. */
    setenv("RECYCLE_MONITOR_DIR", "/nonexistent/recycle", 1);
    cfg.monitor = 1;
    CHECK_NULL(rc_heap_new(&cfg));
    CHECK_EQ(rc_last_error(NULL), RC_ENOENT);
    setenv("RECYCLE_MONITOR", "1", 1);
    h = rc_heap_new(NULL);
    CHECK_NOTNULL(h);
    rc_heap_free(h);
    unsetenv("RECYCLE_MONITOR");
    remove_dir();
}

static rc_heap *child_heaps[2];

TEST(files_go_at_exit_and_a_forked_child_gets_its_own)
{
    fresh_dir();
    rc_heap *h = monitored_heap();
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        /* The parent's heap, inherited: the first update makes the child's
         * own file; exit removes it (and leaves the parent's alone). */
        rc_gc_collect(h, 0);
        const char *path = rc__monitor_path(h->tools->monitor);
        char mine[64];
        snprintf(mine, sizeof mine, "/recycle-%ld-", (long)getpid());
        struct stat st;
        int had = path && strstr(path, mine) && stat(path, &st) == 0;
        /* Both heaps stay reachable from a global (LeakSanitizer runs at
         * exit in this child too). */
        child_heaps[0] = h;
        child_heaps[1] = monitored_heap(); /* a second heap, never freed */
        exit(had && files_in_dir() == 3 ? 0 : 3);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_EQ(files_in_dir(), 1); /* the child's two are gone, ours stays */
    rc_heap_free(h);
    CHECK_EQ(files_in_dir(), 0);
    remove_dir();
}

/* Heaps in threads, each monitored: the process's list of monitors (for the
 * exit handler) and the heaps' numbers are shared; every heap gets a file
 * of its own, and every file goes with its heap. */
static void *monitored_thread(void *arg)
{
    (void)arg;
    for (int round = 0; round < 20; round++) {
        rc_heap *h = monitored_heap();
        for (int i = 0; i < 2000; i++) rc_decref(rc_new(h, (i & 1) ? &pair_type : &atom_type));
        rc_gc_collect(h, 2);
        rc_heap_free(h);
    }
    return NULL;
}

TEST(heaps_in_threads_each_have_a_file)
{
    fresh_dir();
    rc_heap *mine = monitored_heap();
    pthread_t t[4];
    for (int i = 0; i < 4; i++) REQUIRE(pthread_create(&t[i], NULL, monitored_thread, NULL) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_EQ(files_in_dir(), 1); /* only this thread's heap is left */
    rc_heap_free(mine);
    CHECK_EQ(files_in_dir(), 0);
    remove_dir();
}

/* The seqlock: a writer publishing data whose words all equal the update's
 * number, a reader checking every copy it keeps is of one update. */
typedef struct race { rc_mon_file *f; _Atomic int done; uint64_t last; } race;
static void *writer(void *arg)
{
    race *r = arg;
    static rc_mon_data d;
    for (uint64_t k = 1; k <= 200000; k++) {
        uint64_t *w = (uint64_t *)(void *)&d;
        for (size_t i = 0; i < RC_MON_WORDS; i++) w[i] = k;
        rc_mon_write(r->f, &d);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

TEST(a_reader_never_keeps_a_torn_copy)
{
    static rc_mon_file f;
    race r = {&f, 0, 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, writer, &r) == 0);
    static rc_mon_data d;
    long whole = 0, torn = 0;
    while (!atomic_load(&r.done)) {
        if (rc_mon_read(&f, &d, 1) != 0) continue;
        const uint64_t *w = (const uint64_t *)(const void *)&d;
        bool same = true;
        for (size_t i = 1; i < RC_MON_WORDS; i++) same &= w[i] == w[0];
        if (same) whole++;
        else torn++;
        CHECK(w[0] >= r.last); /* never older than a copy already seen */
        r.last = w[0];
    }
    pthread_join(t, NULL);
    printf("  %ld whole copies read, %ld torn\n", whole, torn);
    CHECK_EQ(torn, 0);
    CHECK(whole > 0);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
