/* monitor.c — the live monitor: each heap's figures in a file of shared
 * memory that tools/recycle-top reads from another process.  The file's
 * layout, its seqlock and where it lives are in monitor.h.
 *
 * The monitor is one of the leak-hunting tools (heap->tools->monitor), so it
 * costs nothing while off: rc_new and the free path test heap->tools, as
 * they always do, and nothing more.  On, it sees
 *   every allocation and free, through the tools' hooks (tools.c): counts,
 *   bytes and live objects per type — a few adds and one lookup in a small
 *   map, the last type cached;
 *   every collection, through a gc callback (as trace.c does): generation,
 *   pause (a histogram for the percentiles).
 * It publishes at the end of every collection, and otherwise at most every
 * RC__MON_PERIOD_NS, checking the clock every RC__MON_TICK hook calls: a
 * heap that neither allocates nor collects has nothing new to say.
 *
 * Files go away at rc_heap_free and, for heaps still alive then, at exit:
 * every monitor is on one list (the only global state here, under a
 * mutex), which an atexit handler walks.  A child of fork() inherits its
 * parent's monitors; its first publication gives each a file of its own.
 */
#define _GNU_SOURCE /* O_CLOEXEC */
#include "tools.h"
#include "monitor.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define RC__MON_PERIOD_NS 100000000u /* 100 ms between updates at most */
#define RC__MON_TICK      256        /* hook calls between looks at the clock */
#define RC__MON_CACHE     64         /* types' entries cached by address */

typedef struct mon_type {
    const rc_type *t;
    uint64_t       count, bytes;
} mon_type;

struct rc__monitor {
    rc_heap      *h;
    rc_mon_file  *file;          /* the shared mapping */
    char         *path;
    pid_t         pid;           /* whose file it is */
    uint64_t      serial;
    rc_mon_data   d;             /* the figures, published by copying */
    rc__pmap      type_index;    /* rc_type * -> index + 1 in types */
    mon_type     *types;
    size_t        ntypes, captypes;
    struct { const rc_type *t; size_t i; } cache[RC__MON_CACHE]; /* recent lookups */
    uint32_t      tick;
    uint64_t      last_ns;       /* the last update */
    uint64_t      rate_ns, rate_allocs, rate_alloc_bytes; /* the rates' window start */
    struct rc__monitor *next;    /* the process's list */
};

/* ------------------------------------------------------------------ */
/* The process's monitors, for the exit handler                        */
/* ------------------------------------------------------------------ */

static pthread_mutex_t monitors_lock = PTHREAD_MUTEX_INITIALIZER;
static rc__monitor *monitors;
static uint64_t monitor_serial;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* Removes the files of this process's heaps still alive (not those a
 * parent made before fork: they are the parent's). */
static void remove_files_at_exit(void)
{
    pid_t self = getpid();
    pthread_mutex_lock(&monitors_lock);
    for (rc__monitor *m = monitors; m; m = m->next)
        if (m->pid == self && m->path) unlink(m->path);
    pthread_mutex_unlock(&monitors_lock);
}

static void register_exit_handler(void) { atexit(remove_files_at_exit); }

/* ------------------------------------------------------------------ */
/* The file                                                            */
/* ------------------------------------------------------------------ */

/* Where the files go: RECYCLE_MONITOR_DIR, /dev/shm, $XDG_RUNTIME_DIR. */
static const char *monitor_dir(void)
{
    const char *d = getenv("RECYCLE_MONITOR_DIR");
    if (d && *d) return d;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) return "/dev/shm";
    d = getenv("XDG_RUNTIME_DIR");
    return d && *d ? d : NULL;
}

/* The process's start time in clock ticks since boot (/proc/self/stat,
 * field 22): with the pid, it names this process even after pid reuse. */
static uint64_t start_ticks(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return 0;
    /* After ")": field 3 (state) ... field 22 (starttime). */
    for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Makes m's file for the current process: written under a temporary name,
 * then renamed, so readers see only whole headers.  0, or an error code. */
static int open_file(rc__monitor *m)
{
    const char *dir = monitor_dir();
    if (!dir) return RC_ENOENT;
    pid_t pid = getpid();
    size_t n = strlen(dir) + 64;
    char *path = malloc(n), *tmp = malloc(n);
    if (!path || !tmp) {
        free(path);
        free(tmp);
        return RC_ENOMEM;
    }
    snprintf(path, n, "%s/" RC_MON_PREFIX "%ld-%llu" RC_MON_SUFFIX, dir, (long)pid,
             (unsigned long long)m->serial);
    snprintf(tmp, n, "%s/.recycle-tmp-%ld-%llu", dir, (long)pid,
             (unsigned long long)m->serial);
    int err = RC_ENOENT;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    rc_mon_file *f = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, sizeof *f) == 0)
        f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0) close(fd);
    if (f != MAP_FAILED) {
        f->hdr.magic = RC_MON_MAGIC;
        f->hdr.version = RC_MON_VERSION;
        f->hdr.header_size = sizeof f->hdr;
        f->hdr.data_size = sizeof(rc_mon_data);
        f->hdr.pid = (int32_t)pid;
        f->hdr.start_ticks = start_ticks();
        f->hdr.serial = m->serial;
        f->hdr.heap = (uint64_t)(uintptr_t)m->h;
        f->hdr.created_ns = m->d.updated_ns;
        snprintf(f->hdr.version_string, sizeof f->hdr.version_string, "%s",
                 rc_version_string());
        if (rename(tmp, path) == 0) {
            m->file = f;
            m->path = path;
            m->pid = pid;
            free(tmp);
            return 0;
        }
        munmap(f, sizeof *f);
    }
    unlink(tmp);
    free(tmp);
    free(path);
    return err;
}

static void close_file(rc__monitor *m, bool remove)
{
    if (m->file) munmap(m->file, sizeof *m->file);
    if (m->path && remove) unlink(m->path);
    free(m->path);
    m->file = NULL;
    m->path = NULL;
}

/* ------------------------------------------------------------------ */
/* Counting                                                            */
/* ------------------------------------------------------------------ */

/* The entry of type t; NULL when out of memory (the object goes uncounted
 * by type, and so does its free: the totals stay consistent). */
static __attribute__((noinline)) mon_type *type_entry_slow(rc__monitor *m, const rc_type *t,
                                                            size_t slot)
{
    uint64_t *v = rc__pmap_get(&m->type_index, (uintptr_t)t);
    if (!v) {
        if (m->ntypes == m->captypes) {
            size_t cap = m->captypes ? m->captypes * 2 : 16;
            mon_type *nt = realloc(m->types, cap * sizeof *nt);
            if (!nt) return NULL;
            m->types = nt;
            m->captypes = cap;
        }
        v = rc__pmap_put(&m->type_index, (uintptr_t)t, NULL);
        if (!v) return NULL;
        *v = m->ntypes + 1;
        m->types[m->ntypes++] = (mon_type){t, 0, 0};
    }
    m->cache[slot].t = t;
    m->cache[slot].i = (size_t)*v - 1;
    return &m->types[m->cache[slot].i];
}

static inline mon_type *type_entry(rc__monitor *m, const rc_type *t)
{
    /* Types are usually static structures side by side: their addresses
     * differ in the bits above the 4th. */
    size_t slot = ((uintptr_t)t >> 4) & (RC__MON_CACHE - 1);
    if (RC_LIKELY(m->cache[slot].t == t)) return &m->types[m->cache[slot].i];
    return type_entry_slow(m, t, slot);
}

static void publish(rc__monitor *m, uint64_t now);

/* Every RC__MON_TICK hook calls, a look at the clock. */
static inline void tick(rc__monitor *m)
{
    if ((++m->tick & (RC__MON_TICK - 1)) != 0) return;
    uint64_t now = rc__now_ns();
    if (now - m->last_ns >= RC__MON_PERIOD_NS) publish(m, now);
}

void rc__monitor_new(rc__monitor *m, rc__head *hd)
{
    uint64_t bytes = rc__block_size(rc__block_of(hd));
    m->d.allocs++;
    m->d.alloc_bytes += bytes;
    m->d.objects++;
    mon_type *e = type_entry(m, rc__type(hd));
    if (e) {
        e->count++;
        e->bytes += bytes;
    }
    tick(m);
}

void rc__monitor_free(rc__monitor *m, rc__head *hd)
{
    uint64_t bytes = rc__block_size(rc__block_of(hd));
    m->d.frees++;
    m->d.objects--;
    mon_type *e = type_entry(m, rc__type(hd));
    if (e && e->count > 0) { /* (0: its birth went uncounted) */
        e->count--;
        e->bytes -= bytes;
    }
    tick(m);
}

/* ------------------------------------------------------------------ */
/* Publishing                                                          */
/* ------------------------------------------------------------------ */

/* The smallest bucket edge with at least share/1000 of the pauses. */
static uint64_t percentile(const rc_mon_data *d, uint64_t n, unsigned share)
{
    if (n == 0) return 0;
    uint64_t want = (n * share + 999) / 1000, seen = 0;
    for (unsigned b = 0; b < RC_MON_PAUSE_BUCKETS; b++) {
        seen += d->pause_hist[b];
        if (seen >= want) {
            uint64_t top = rc_mon_bucket_top(b);
            return top < d->pause_max_ns ? top : d->pause_max_ns;
        }
    }
    return d->pause_max_ns;
}

/* The RC_MON_TOP largest types by bytes into d->top (a selection: there
 * are few types, and few of them live). */
static void top_types(rc__monitor *m)
{
    rc_mon_data *d = &m->d;
    size_t k = 0, live = 0;
    for (size_t i = 0; i < m->ntypes; i++) {
        const mon_type *e = &m->types[i];
        if (e->count == 0) continue;
        live++;
        size_t at = k < RC_MON_TOP ? k++ : RC_MON_TOP;
        if (at == RC_MON_TOP) {
            if (e->bytes <= d->top[RC_MON_TOP - 1].bytes) continue;
            at = RC_MON_TOP - 1;
        }
        while (at > 0 && d->top[at - 1].bytes < e->bytes) {
            d->top[at] = d->top[at - 1];
            at--;
        }
        rc_mon_type *o = &d->top[at];
        memset(o->name, 0, sizeof o->name);
        snprintf(o->name, sizeof o->name, "%s", e->t->name ? e->t->name : "?");
        o->count = e->count;
        o->bytes = e->bytes;
    }
    for (size_t i = k; i < RC_MON_TOP; i++) memset(&d->top[i], 0, sizeof d->top[i]);
    d->ntop = k;
    d->ntypes = live;
}

static void publish(rc__monitor *m, uint64_t now)
{
    rc_heap *h = m->h;
    rc_mon_data *d = &m->d;
    if (m->pid != getpid()) { /* a child of fork(): a file of its own */
        close_file(m, false);
        if (open_file(m) != 0) return;
    }
    if (!m->file) return;
    d->bytes_in_use = h->alloc->in_use;
    d->bytes_held = h->alloc->committed;
    if (d->bytes_in_use > d->bytes_peak) d->bytes_peak = d->bytes_in_use;
    d->tracked[0] = h->live[RC__GEN0];
    d->tracked[1] = h->live[RC__GEN1];
    d->tracked[2] = h->live[RC__OLD] + h->live[RC__PENDING];
    d->frozen = h->live[RC__FROZEN];
    d->garbage = h->garbage.len;
    d->collected = d->uncollectable = d->pause_total_ns = d->pause_max_ns = 0;
    for (int g = 0; g < 3; g++) {
        const rc_gen_stats *st = &h->stats[g];
        d->collections[g] = st->collections;
        d->collected += st->collected;
        d->uncollectable += st->uncollectable;
        d->pause_total_ns += st->pause_ns_total;
        if (st->pause_ns_max > d->pause_max_ns) d->pause_max_ns = st->pause_ns_max;
    }
    /* The histogram counts the collections seen since the monitor started,
     * which is all of them (it starts with the heap). */
    uint64_t hist_n = 0;
    for (unsigned b = 0; b < RC_MON_PAUSE_BUCKETS; b++) hist_n += d->pause_hist[b];
    d->pause_p50_ns = percentile(d, hist_n, 500);
    d->pause_p90_ns = percentile(d, hist_n, 900);
    d->pause_p99_ns = percentile(d, hist_n, 990);
    /* Rates over windows of at least RC__MON_PERIOD_NS: collections may
     * follow each other closely. */
    uint64_t dt = now - m->rate_ns;
    if (dt >= RC__MON_PERIOD_NS) {
        d->alloc_rate = (uint64_t)((double)(d->allocs - m->rate_allocs) * 1e9 / (double)dt);
        d->alloc_byte_rate =
            (uint64_t)((double)(d->alloc_bytes - m->rate_alloc_bytes) * 1e9 / (double)dt);
        m->rate_ns = now;
        m->rate_allocs = d->allocs;
        m->rate_alloc_bytes = d->alloc_bytes;
    }
    top_types(m);
    d->updated_ns = now;
    d->updates++;
    rc_mon_write(m->file, d);
    m->last_ns = now;
}

/* A gc callback: at the end of every collection, the pause into the
 * histogram and an update. */
static void on_collection(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    rc__monitor *m = data;
    (void)h;
    if (phase != RC_GC_STOP) return;
    m->d.pause_hist[rc_mon_pause_bucket(info->duration_ns)]++;
    publish(m, rc__now_ns());
}

/* ------------------------------------------------------------------ */
/* Life                                                                */
/* ------------------------------------------------------------------ */

int rc__monitor_start(rc_heap *h, rc__tools *t)
{
    rc__monitor *m = calloc(1, sizeof *m);
    if (!m) return RC_ENOMEM;
    m->h = h;
    m->d.updated_ns = m->last_ns = m->rate_ns = rc__now_ns();
    m->d.bytes_in_use = m->d.bytes_at_start = m->d.bytes_peak = h->alloc->in_use;
    pthread_mutex_lock(&monitors_lock);
    m->serial = ++monitor_serial;
    pthread_mutex_unlock(&monitors_lock);
    int err = open_file(m);
    if (err == 0 && rc_gc_callback_add(h, on_collection, m) != 0) err = RC_ENOMEM;
    if (err != 0) {
        close_file(m, true);
        free(m);
        return err;
    }
    pthread_once(&exit_once, register_exit_handler);
    pthread_mutex_lock(&monitors_lock);
    m->next = monitors;
    monitors = m;
    pthread_mutex_unlock(&monitors_lock);
    t->monitor = m;
    publish(m, m->last_ns);
    return 0;
}

void rc__monitor_stop(rc_heap *h, rc__tools *t)
{
    rc__monitor *m = t->monitor;
    if (!m) return;
    rc_gc_callback_remove(h, on_collection, m);
    pthread_mutex_lock(&monitors_lock);
    for (rc__monitor **p = &monitors; *p; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    pthread_mutex_unlock(&monitors_lock);
    close_file(m, m->pid == getpid());
    rc__pmap_free(&m->type_index);
    free(m->types);
    free(m);
    t->monitor = NULL;
}

const char *rc__monitor_path(const rc__monitor *m) { return m ? m->path : NULL; }
