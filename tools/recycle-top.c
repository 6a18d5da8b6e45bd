/* recycle-top — the live figures of a process's recycle heaps, like top.
 *
 *   recycle-top [--once] [--json] [--sort=KEY] [--delay=SECONDS] PID
 *
 * The process publishes them when run with RECYCLE_MONITOR=1 (or
 * rc_config.monitor = 1): one file of shared memory per heap, whose layout
 * and seqlock are in src/tools/monitor.h.  Live, the screen refreshes every
 * second (--delay) and takes keys: b, o, c, p sort the heaps by bytes in use,
 * objects, collections, longest pause; t sorts the types by bytes or count;
 * n / j / down / tab and N / k / up select the next or previous heap, whose
 * top types are listed below the heaps; q quits.  --once prints the figures
 * once; --json prints them once as JSON: {"pid": N, "heaps": [...]}.
 * Files of processes that are gone are ignored and removed.
 *
 * Exit status: 0; 1 when the process does not exist, publishes no heap, or
 * exits while watched; 2 for a bad command line.
 */
#define _GNU_SOURCE
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAPS 256

typedef struct heap_view {
    rc_mon_header hdr;
    rc_mon_data   d;
    bool          torn; /* no whole copy could be read */
} heap_view;

enum { SORT_BYTES, SORT_OBJECTS, SORT_COLLECTIONS, SORT_PAUSE };
static const char *const sort_names[] = {"bytes", "objects", "collections", "pause"};

static const char *prog = "recycle-top";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [--once] [--json] [--sort=bytes|objects|collections|pause]\n"
            "                   [--delay=SECONDS] PID\n"
            "Shows the live figures of PID's recycle heaps (run it with RECYCLE_MONITOR=1).\n"
            "Keys: b/o/c/p sort heaps, t sorts types, n/j/down/tab and N/k/up select a heap,\n"
            "q quits.\n",
            prog);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Finding and reading the files                                       */
/* ------------------------------------------------------------------ */

/* The start time of pid (/proc/PID/stat field 22); 0 if unknown. */
static uint64_t start_ticks_of(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    for (int field = 2; field < 22 && p; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static bool process_exists(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Whether the file of (pid, start) belongs to a live process. */
static bool owner_alive(long pid, uint64_t start)
{
    if (!process_exists(pid)) return false;
    uint64_t now = start_ticks_of(pid);
    return start == 0 || now == 0 || now == start;
}

/* The directories files may be in: RECYCLE_MONITOR_DIR alone if set, else
 * /dev/shm and $XDG_RUNTIME_DIR. */
static int monitor_dirs(const char *dirs[2])
{
    const char *d = getenv("RECYCLE_MONITOR_DIR");
    if (d && *d) {
        dirs[0] = d;
        return 1;
    }
    int n = 0;
    dirs[n++] = "/dev/shm";
    d = getenv("XDG_RUNTIME_DIR");
    if (d && *d) dirs[n++] = d;
    return n;
}

/* Reads one file: 1 with *v filled, 0 if it is not a usable monitor file
 * of a live process (a stale one is removed), -1 if it is of another
 * version (message once). */
static int read_file(const char *path, long want_pid, heap_view *v)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(rc_mon_header)) {
        close(fd);
        return 0;
    }
    size_t size = (size_t)st.st_size;
    const rc_mon_file *f = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (f == MAP_FAILED) return 0;
    int ret = 0;
    const rc_mon_header *h = &f->hdr;
    if (h->magic != RC_MON_MAGIC) goto out;
    if (h->version != RC_MON_VERSION) {
        static bool said;
        if (!said)
            fprintf(stderr, "%s: %s: layout version %u, this recycle-top reads %u\n", prog,
                    path, h->version, RC_MON_VERSION);
        said = true;
        ret = -1;
        goto out;
    }
    if (h->header_size != sizeof *h || h->data_size < sizeof(rc_mon_data) ||
        size < sizeof(rc_mon_file))
        goto out;
    if (!owner_alive(h->pid, h->start_ticks)) {
        unlink(path); /* stale: its process is gone */
        goto out;
    }
    if (h->pid != want_pid) goto out;
    v->hdr = *h;
    v->torn = rc_mon_read(f, &v->d, 1000) != 0;
    ret = 1;
out:
    munmap((void *)f, size);
    return ret;
}

/* The heaps of pid, by serial; also removes stale files of any process. */
static int scan(long pid, heap_view *views, int max)
{
    const char *dirs[2];
    int ndirs = monitor_dirs(dirs), n = 0;
    for (int k = 0; k < ndirs; k++) {
        DIR *dir = opendir(dirs[k]);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            const char *name = e->d_name;
            long fpid;
            unsigned long long serial;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dirs[k], name);
            if (strncmp(name, ".recycle-tmp-", 13) == 0) {
                /* a file whose maker died before renaming it */
                if (sscanf(name + 13, "%ld-%llu", &fpid, &serial) == 2 &&
                    !process_exists(fpid))
                    unlink(path);
                continue;
            }
            size_t len = strlen(name), sl = strlen(RC_MON_SUFFIX);
            if (strncmp(name, RC_MON_PREFIX, strlen(RC_MON_PREFIX)) != 0 || len <= sl ||
                strcmp(name + len - sl, RC_MON_SUFFIX) != 0)
                continue;
            if (sscanf(name + strlen(RC_MON_PREFIX), "%ld-%llu", &fpid, &serial) != 2)
                continue;
            if (fpid != pid && process_exists(fpid)) continue; /* not ours to read */
            if (n < max && read_file(path, pid, &views[n]) == 1) n++;
        }
        closedir(dir);
    }
    /* by serial: the order heaps were made in */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && views[j - 1].hdr.serial > views[j].hdr.serial; j--) {
            heap_view t = views[j];
            views[j] = views[j - 1];
            views[j - 1] = t;
        }
    return n;
}

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

static uint64_t collections(const rc_mon_data *d)
{
    return d->collections[0] + d->collections[1] + d->collections[2];
}

/* Allocations per second: the library's figure over its last update
 * interval, or 0 when it has not updated for a second (it updates at most
 * every 100 ms while it allocates, so it has not been allocating). */
static uint64_t alloc_rate(const rc_mon_data *d, uint64_t now)
{
    return now > d->updated_ns && now - d->updated_ns > 1000000000u ? 0 : d->alloc_rate;
}

static void human_bytes(char *buf, size_t n, double b)
{
    const char *unit = "KMGTP";
    if (b < 1024) {
        snprintf(buf, n, "%.0fB", b);
        return;
    }
    int u = -1;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, n, b < 10 ? "%.1f%c" : "%.0f%c", b, unit[u]);
}

static void human_count(char *buf, size_t n, double c)
{
    if (c < 10000) snprintf(buf, n, "%.0f", c);
    else if (c < 1e6) snprintf(buf, n, "%.0fk", c / 1e3);
    else if (c < 1e9) snprintf(buf, n, c < 1e7 ? "%.1fM" : "%.0fM", c / 1e6);
    else snprintf(buf, n, "%.1fG", c / 1e9);
}

static void human_ns(char *buf, size_t n, uint64_t ns)
{
    if (ns < 1000) snprintf(buf, n, "%lluns", (unsigned long long)ns);
    else if (ns < 1000000) snprintf(buf, n, "%.0fus", (double)ns / 1e3);
    else if (ns < 1000000000) snprintf(buf, n, "%.1fms", (double)ns / 1e6);
    else snprintf(buf, n, "%.2fs", (double)ns / 1e9);
}

static void human_signed_bytes(char *buf, size_t n, double b)
{
    char tmp[24];
    human_bytes(tmp, sizeof tmp, b < 0 ? -b : b);
    snprintf(buf, n, "%c%.22s", b < 0 ? '-' : '+', tmp);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else putc(*p, f);
    }
    putc('"', f);
}

static void print_json(FILE *f, long pid, const heap_view *v, int n, uint64_t now)
{
    fprintf(f, "{\"pid\": %ld, \"heaps\": [", pid);
    for (int i = 0; i < n; i++) {
        const rc_mon_data *d = &v[i].d;
        fprintf(f, "%s\n  {\"heap\": %llu, \"address\": \"0x%llx\", \"version\": ",
                i ? "," : "", (unsigned long long)v[i].hdr.serial,
                (unsigned long long)v[i].hdr.heap);
        json_str(f, v[i].hdr.version_string);
        fprintf(f,
                ", \"torn\": %s, \"age_ns\": %llu, \"uptime_ns\": %llu, \"updates\": %llu,\n"
                "   \"bytes_in_use\": %llu, \"bytes_held\": %llu, \"bytes_peak\": %llu, "
                "\"bytes_at_start\": %llu, \"growth_bytes\": %lld,\n"
                "   \"live_objects\": %llu, \"growth_objects\": %lld, "
                "\"objects\": [%llu, %llu, %llu], \"frozen\": %llu, \"garbage\": %llu,\n"
                "   \"collections\": %llu, \"collections_by_generation\": [%llu, %llu, %llu], "
                "\"collected\": %llu, \"uncollectable\": %llu,\n"
                "   \"pause_total_ns\": %llu, \"pause_max_ns\": %llu, \"pause_p50_ns\": %llu, "
                "\"pause_p90_ns\": %llu, \"pause_p99_ns\": %llu,\n"
                "   \"allocs\": %llu, \"alloc_bytes\": %llu, \"frees\": %llu, "
                "\"alloc_rate\": %llu, \"alloc_byte_rate\": %llu, \"types\": %llu,\n"
                "   \"top_types\": [",
                v[i].torn ? "true" : "false",
                (unsigned long long)(now > d->updated_ns ? now - d->updated_ns : 0),
                (unsigned long long)(d->updated_ns - v[i].hdr.created_ns),
                (unsigned long long)d->updates, (unsigned long long)d->bytes_in_use,
                (unsigned long long)d->bytes_held, (unsigned long long)d->bytes_peak,
                (unsigned long long)d->bytes_at_start,
                (long long)d->bytes_in_use - (long long)d->bytes_at_start,
                (unsigned long long)d->objects,
                (long long)d->objects - (long long)d->objects_at_start,
                (unsigned long long)d->tracked[0], (unsigned long long)d->tracked[1],
                (unsigned long long)d->tracked[2], (unsigned long long)d->frozen,
                (unsigned long long)d->garbage, (unsigned long long)collections(d),
                (unsigned long long)d->collections[0], (unsigned long long)d->collections[1],
                (unsigned long long)d->collections[2], (unsigned long long)d->collected,
                (unsigned long long)d->uncollectable, (unsigned long long)d->pause_total_ns,
                (unsigned long long)d->pause_max_ns, (unsigned long long)d->pause_p50_ns,
                (unsigned long long)d->pause_p90_ns, (unsigned long long)d->pause_p99_ns,
                (unsigned long long)d->allocs, (unsigned long long)d->alloc_bytes,
                (unsigned long long)d->frees, (unsigned long long)alloc_rate(d, now),
                (unsigned long long)(alloc_rate(d, now) ? d->alloc_byte_rate : 0),
                (unsigned long long)d->ntypes);
        for (uint64_t k = 0; k < d->ntop && k < RC_MON_TOP; k++) {
            fprintf(f, "%s{\"name\": ", k ? ", " : "");
            char name[RC_MON_NAME];
            memcpy(name, d->top[k].name, sizeof name);
            name[sizeof name - 1] = '\0';
            json_str(f, name);
            fprintf(f, ", \"count\": %llu, \"bytes\": %llu}",
                    (unsigned long long)d->top[k].count, (unsigned long long)d->top[k].bytes);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "%s]}\n", n ? "\n" : "");
}

/* ------------------------------------------------------------------ */
/* The text screen                                                     */
/* ------------------------------------------------------------------ */

typedef struct screen {
    long     pid;
    int      sort;          /* SORT_* */
    bool     types_by_count;
    uint64_t selected;      /* serial of the selected heap; 0: the first */
} screen;

static uint64_t sort_key(const heap_view *v, int sort)
{
    switch (sort) {
    case SORT_OBJECTS: return v->d.objects;
    case SORT_COLLECTIONS: return collections(&v->d);
    case SORT_PAUSE: return v->d.pause_max_ns;
    default: return v->d.bytes_in_use;
    }
}

static void sort_heaps(heap_view *v, int n, int sort)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sort_key(&v[j - 1], sort) < sort_key(&v[j], sort); j--) {
            heap_view t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* The screen as text (lines end in "\n"; live mode turns them into CR LF
 * and clears each line's tail). */
static void print_text(FILE *f, screen *s, heap_view *v, int n, uint64_t now)
{
    sort_heaps(v, n, s->sort);
    int sel = 0;
    for (int i = 0; i < n; i++)
        if (v[i].hdr.serial == s->selected) sel = i;
    if (n) s->selected = v[sel].hdr.serial;

    uint64_t bytes = 0, objects = 0;
    for (int i = 0; i < n; i++) {
        bytes += v[i].d.bytes_in_use;
        objects += v[i].d.objects;
    }
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32], b9[32];
    human_bytes(b1, sizeof b1, (double)bytes);
    human_count(b2, sizeof b2, (double)objects);
    fprintf(f, "recycle-top - pid %ld, %d heap%s, %s in use, %s objects, sorted by %s\n",
            s->pid, n, n == 1 ? "" : "s", b1, b2, sort_names[s->sort]);
    fprintf(f, "\n  %4s %7s %7s %7s %7s %7s %7s %6s %7s %7s %7s %8s %7s\n", "HEAP", "INUSE",
            "HELD", "OBJECTS", "GEN0", "GEN1", "GEN2", "GCS", "P50", "P99", "MAXPAUSE",
            "ALLOC/S", "GROWTH");
    for (int i = 0; i < n; i++) {
        const rc_mon_data *d = &v[i].d;
        human_bytes(b1, sizeof b1, (double)d->bytes_in_use);
        human_bytes(b2, sizeof b2, (double)d->bytes_held);
        human_count(b3, sizeof b3, (double)d->objects);
        human_count(b4, sizeof b4, (double)d->tracked[0]);
        human_count(b5, sizeof b5, (double)d->tracked[1]);
        human_count(b6, sizeof b6, (double)d->tracked[2]);
        human_count(b7, sizeof b7, (double)collections(d));
        human_ns(b8, sizeof b8, d->pause_p50_ns);
        human_ns(b9, sizeof b9, d->pause_p99_ns);
        char mx[32], rate[32], growth[32];
        human_ns(mx, sizeof mx, d->pause_max_ns);
        human_count(rate, sizeof rate, (double)alloc_rate(d, now));
        human_signed_bytes(growth, sizeof growth,
                           (double)d->bytes_in_use - (double)d->bytes_at_start);
        fprintf(f, "%c %4llu %7s %7s %7s %7s %7s %7s %6s %7s %7s %7s %8s %7s%s\n",
                i == sel ? '>' : ' ', (unsigned long long)v[i].hdr.serial, b1, b2, b3, b4,
                b5, b6, b7, b8, b9, mx, rate, growth, v[i].torn ? " (busy)" : "");
    }
    if (!n) {
        fprintf(f, "  (no heap now)\n");
        return;
    }
    const rc_mon_data *d = &v[sel].d;
    rc_mon_type top[RC_MON_TOP];
    uint64_t nt = d->ntop < RC_MON_TOP ? d->ntop : RC_MON_TOP;
    memcpy(top, d->top, sizeof top);
    if (s->types_by_count)
        for (uint64_t i = 1; i < nt; i++)
            for (uint64_t j = i; j > 0 && top[j - 1].count < top[j].count; j--) {
                rc_mon_type t = top[j];
                top[j] = top[j - 1];
                top[j - 1] = t;
            }
    human_ns(b1, sizeof b1, now > d->updated_ns ? now - d->updated_ns : 0);
    human_ns(b2, sizeof b2, d->updated_ns - v[sel].hdr.created_ns);
    human_count(b3, sizeof b3, (double)d->allocs);
    human_bytes(b4, sizeof b4, (double)d->bytes_peak);
    fprintf(f, "\nheap %llu at 0x%llx: up %s, updated %s ago, %s objects allocated, peak %s\n",
            (unsigned long long)v[sel].hdr.serial, (unsigned long long)v[sel].hdr.heap, b2, b1,
            b3, b4);
    fprintf(f, "  collected %llu, uncollectable %llu, garbage list %llu, frozen %llu\n",
            (unsigned long long)d->collected, (unsigned long long)d->uncollectable,
            (unsigned long long)d->garbage, (unsigned long long)d->frozen);
    fprintf(f, "top types by %s (%llu type%s live):\n", s->types_by_count ? "count" : "bytes",
            (unsigned long long)d->ntypes, d->ntypes == 1 ? "" : "s");
    fprintf(f, "  %-32s %10s %10s\n", "TYPE", "COUNT", "BYTES");
    for (uint64_t k = 0; k < nt; k++) {
        char name[RC_MON_NAME];
        memcpy(name, top[k].name, sizeof name);
        name[sizeof name - 1] = '\0';
        human_count(b1, sizeof b1, (double)top[k].count);
        human_bytes(b2, sizeof b2, (double)top[k].bytes);
        fprintf(f, "  %-32.32s %10s %10s\n", name, b1, b2);
    }
}

/* ------------------------------------------------------------------ */
/* Live mode                                                           */
/* ------------------------------------------------------------------ */

static struct termios saved_tty;
static bool raw_on;
static volatile sig_atomic_t stop_signal;

static void restore_tty(void)
{
    if (raw_on) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    raw_on = false;
    fputs("\033[?25h", stdout); /* the cursor again */
    fflush(stdout);
}

static void on_signal(int sig) { stop_signal = sig; }

static void raw_mode(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) != 0) return;
    struct termios t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0) raw_on = true;
}

/* Handles one key; returns false for quit. */
static bool key(screen *s, const heap_view *v, int n, const char *k, size_t len)
{
    int step = 0;
    if (len >= 3 && k[0] == '\033' && k[1] == '[') {
        if (k[2] == 'B') step = 1;
        else if (k[2] == 'A') step = -1;
    } else {
        switch (k[0]) {
        case 'q': case 'Q': return false;
        case 'b': s->sort = SORT_BYTES; break;
        case 'o': s->sort = SORT_OBJECTS; break;
        case 'c': s->sort = SORT_COLLECTIONS; break;
        case 'p': s->sort = SORT_PAUSE; break;
        case 't': s->types_by_count = !s->types_by_count; break;
        case 'n': case 'j': case '\t': step = 1; break;
        case 'N': case 'k': step = -1; break;
        default: break;
        }
    }
    if (step && n) {
        int sel = 0;
        for (int i = 0; i < n; i++)
            if (v[i].hdr.serial == s->selected) sel = i;
        sel = (sel + step + n) % n;
        s->selected = v[sel].hdr.serial;
    }
    return true;
}

static void draw(screen *s, heap_view *v, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return;
    print_text(m, s, v, n, now_ns());
    fprintf(m, "\nsort heaps: [b]ytes [o]bjects [c]ollections [p]ause   [t]ypes by "
               "count/bytes   [n]ext/[N]prev heap   [q]uit\n");
    fclose(m);
    fputs("\033[H", stdout);
    for (char *p = buf; *p; p++) {
        if (*p == '\n') fputs("\033[K\r\n", stdout); /* clear the line's tail */
        else putc(*p, stdout);
    }
    fputs("\033[J", stdout); /* and the screen's */
    fflush(stdout);
    free(buf);
}

static int live(screen *s, double delay)
{
    static heap_view v[MAX_HEAPS];
    raw_mode();
    atexit(restore_tty);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    fputs("\033[?25l\033[H\033[2J", stdout); /* hide the cursor, clear */
    int n = 0;
    bool redraw = true;
    uint64_t next = 0;
    while (!stop_signal) {
        uint64_t now = now_ns();
        if (now >= next) {
            if (!process_exists(s->pid)) {
                restore_tty();
                fprintf(stdout, "\r\n%s: process %ld exited\r\n", prog, s->pid);
                return 1;
            }
            n = scan(s->pid, v, MAX_HEAPS);
            next = now + (uint64_t)(delay * 1e9);
            redraw = true;
        }
        if (redraw) draw(s, v, n);
        redraw = false;
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        uint64_t wait_ms = (next - now_ns()) / 1000000u + 1;
        int r = poll(&pfd, raw_on ? 1 : 0, (int)(wait_ms > 1000 ? 1000 : wait_ms));
        if (r > 0 && (pfd.revents & POLLIN)) {
            char k[16];
            ssize_t got = read(STDIN_FILENO, k, sizeof k);
            if (got <= 0) continue;
            if (!key(s, v, n, k, (size_t)got)) break;
            redraw = true;
        }
    }
    restore_tty();
    fputs("\r\n", stdout);
    return 0;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    bool once = false, json = false;
    double delay = 1.0;
    screen s = {0, SORT_BYTES, false, 0};
    const char *pid_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--once") == 0) {
            once = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strncmp(a, "--sort=", 7) == 0) {
            int k = -1;
            for (int j = 0; j < 4; j++)
                if (strcmp(a + 7, sort_names[j]) == 0) k = j;
            if (k < 0) {
                fprintf(stderr, "%s: --sort: \"%s\" is none of bytes, objects, collections, "
                                "pause\n", prog, a + 7);
                return 2;
            }
            s.sort = k;
        } else if (strncmp(a, "--delay=", 8) == 0) {
            char *end;
            delay = strtod(a + 8, &end);
            if (*end || !(delay >= 0.1 && delay <= 3600)) {
                fprintf(stderr, "%s: --delay: \"%s\" is not a number of seconds in "
                                "[0.1, 3600]\n", prog, a + 8);
                return 2;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' || pid_arg) {
            fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, a);
            usage(stderr);
            return 2;
        } else {
            pid_arg = a;
        }
    }
    if (!pid_arg) {
        usage(stderr);
        return 2;
    }
    char *end;
    errno = 0;
    long pid = strtol(pid_arg, &end, 10);
    if (*end || end == pid_arg || errno || pid <= 0 || pid > 0x7fffffffL) {
        fprintf(stderr, "%s: \"%s\" is not a process id\n", prog, pid_arg);
        return 2;
    }
    s.pid = pid;
    static heap_view v[MAX_HEAPS];
    int n = scan(pid, v, MAX_HEAPS); /* (removes stale files, the pid's too) */
    if (!process_exists(pid)) {
        fprintf(stderr, "%s: no process %ld\n", prog, pid);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "%s: process %ld publishes no recycle heap (start it with "
                        "RECYCLE_MONITOR=1, or set rc_config.monitor = 1)\n", prog, pid);
        return 1;
    }
    if (json) {
        print_json(stdout, pid, v, n, now_ns());
        return 0;
    }
    if (once || !isatty(STDOUT_FILENO)) {
        print_text(stdout, &s, v, n, now_ns());
        return 0;
    }
    return live(&s, delay);
}
