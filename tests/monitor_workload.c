/* monitor_workload — a live process for recycle-top's tests (and a way to
 * measure what the monitor costs).
 *
 *   monitor_workload run SECONDS [HEAPS]
 *       HEAPS heaps (default 1), each allocating for SECONDS: a list that
 *       grows (it never lets go: "leak" objects), churn of short-lived
 *       "temp" objects, cycles of "node" objects for the collector, and a
 *       few large "blob"s.  Heap i does (i + 1) times heap 1's work, so
 *       sorting by bytes orders them.  Prints "ready PID" once every heap
 *       has allocated, then works in bursts with pauses (the machine is
 *       shared) until the time is up or it gets SIGTERM.
 *   monitor_workload bench N
 *       Allocates and frees N small objects (half atomic, half containers)
 *       in one heap and prints "ns_per_alloc X": the cost of one
 *       rc_new + rc_decref pair, whatever RECYCLE_MONITOR says.
 */
#define _POSIX_C_SOURCE 200809L
#include <recycle.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct node { void *next; void *other; } node;
typedef struct leak { void *next; char payload[48]; } leak;

static int node_traverse(void *o, rc_visit_fn visit, void *arg)
{
    node *n = o;
    int r = 0;
    if (n->next && (r = visit(&n->next, arg)) != 0) return r;
    return n->other ? visit(&n->other, arg) : 0;
}
static int leak_traverse(void *o, rc_visit_fn visit, void *arg)
{
    leak *l = o;
    return l->next ? visit(&l->next, arg) : 0;
}

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, 0};
static const rc_type leak_type = {"leak", sizeof(leak), leak_traverse, NULL, NULL, 0};
static const rc_type temp_type = {"temp", 32, NULL, NULL, NULL, 0};
static const rc_type blob_type = {"blob", 16, NULL, NULL, NULL, 0};

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct work {
    rc_heap *h;
    leak    *head; /* the growing list */
    int      scale;
} work;

static int burst(work *w)
{
    for (int k = 0; k < w->scale; k++) {
        for (int i = 0; i < 200; i++) { /* churn */
            void *t = rc_new(w->h, &temp_type);
            if (!t) return -1;
            rc_decref(t);
        }
        for (int i = 0; i < 20; i++) { /* growth */
            leak *l = rc_new(w->h, &leak_type);
            if (!l) return -1;
            l->next = w->head;
            w->head = l;
        }
        for (int i = 0; i < 10; i++) { /* cycles for the collector */
            node *a = rc_new(w->h, &node_type), *b = rc_new(w->h, &node_type);
            if (!a || !b) return -1;
            rc_setref(&a->next, b);
            rc_setref(&b->next, a);
            rc_decref(a);
            rc_decref(b);
        }
        void *blob = rc_new_var(w->h, &blob_type, 4096);
        if (!blob) return -1;
        rc_decref(blob);
    }
    return 0;
}

static int run(double seconds, int nheaps)
{
    work w[16];
    if (nheaps < 1 || nheaps > 16) return 2;
    for (int i = 0; i < nheaps; i++) {
        w[i].h = rc_heap_new(NULL);
        w[i].head = NULL;
        w[i].scale = i + 1;
        if (!w[i].h || burst(&w[i]) != 0) {
            fprintf(stderr, "monitor_workload: %s\n", rc_strerror(rc_last_error(w[i].h)));
            return 1;
        }
        rc_gc_collect(w[i].h, 0);
    }
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    double end = now_s() + seconds;
    struct timespec nap = {0, 20 * 1000 * 1000};
    while (!stop && now_s() < end) {
        for (int i = 0; i < nheaps; i++)
            if (burst(&w[i]) != 0) return 1;
        nanosleep(&nap, NULL);
    }
    for (int i = 0; i < nheaps; i++) {
        if (w[i].head) rc_decref(w[i].head);
        rc_heap_free(w[i].h);
    }
    return 0;
}

static int bench(long n)
{
    rc_heap *h = rc_heap_new(NULL);
    if (!h) return 1;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        void *o = rc_new(h, (i & 1) ? &node_type : &temp_type);
        if (!o) return 1;
        rc_decref(o);
    }
    double t1 = now_s();
    rc_heap_free(h);
    printf("ns_per_alloc %.2f\n", (t1 - t0) * 1e9 / (double)n);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (argc >= 3 && strcmp(argv[1], "run") == 0)
        return run(atof(argv[2]), argc >= 4 ? atoi(argv[3]) : 1);
    if (argc >= 3 && strcmp(argv[1], "bench") == 0) return bench(atol(argv[2]));
    fprintf(stderr, "usage: monitor_workload run SECONDS [HEAPS] | bench N\n");
    return 2;
}
