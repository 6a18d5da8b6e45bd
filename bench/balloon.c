/* balloon.c — workload 9: memory must not balloon while a program makes
 * cyclic garbage fast.  recycle (-DSYS_RECYCLE) and, for the server loop,
 * the Boehm GC (-DSYS_BOEHM); CPython runs both in bench/py/balloon.py.
 *
 *   --case=fast_cycles  CPython's test_gc fast-cycles stress
 *                       (_test_gc_fast_cycles.py), thresholds (200, 10): a
 *                       1,000-node doubly linked chain, then 20,000 times a
 *                       new 21-node doubly linked chain whose head refers to
 *                       the old chain, kept in a list of 20 that is emptied
 *                       when full.  The tracked heap may grow by at most
 *                       27,000 objects over its size after the old chain;
 *                       reported: the largest growth seen at each check.
 *   --case=server       A server-like loop: --steps=N requests (default
 *                       20,000), --inflight=K of them alive at once (default
 *                       256, first in, first out).  A request is a cycle of
 *                       two containers (request <-> handler) and the request
 *                       holds a 64 KiB buffer (rc_new_var of an atomic
 *                       type).  Reported: peak tracked objects and peak
 *                       resident memory against the live set (K requests).
 */
#include "common.h"

#if defined(SYS_RECYCLE)
#include <recycle.h>
#elif defined(SYS_BOEHM)
#include <gc.h>
#else
#error "compile with -DSYS_RECYCLE or -DSYS_BOEHM"
#endif

enum { BUF = 64 * 1024 };

typedef struct request {
    void          *handler; /* -> handler, which points back */
    unsigned char *buf;     /* BUF bytes */
    size_t         id;
} request;
typedef struct handler {
    void  *req;
    size_t id;
} handler;

#if defined(SYS_RECYCLE)
static rc_heap *h;

/* --- the fast-cycles stress --- */
typedef struct ll {
    void *next, *prev, *surprise;
} ll;
static int ll_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    ll *p = obj;
    int e;
    if (p->next && (e = visit(&p->next, arg))) return e;
    if (p->prev && (e = visit(&p->prev, arg))) return e;
    if (p->surprise && (e = visit(&p->surprise, arg))) return e;
    return 0;
}
static const rc_type ll_type = {"LinkedList", sizeof(ll), ll_traverse, NULL, NULL, 0};

static size_t tracked(void)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    return (size_t)(st[0].tracked + st[1].tracked + st[2].tracked);
}
/* LinkedList(next, prev): links itself between them. */
static ll *ll_new(ll *next, ll *prev)
{
    ll *p = rc_new(h, &ll_type);
    BENCH_VERIFY(p != NULL);
    if (next) {
        rc_setref(&p->next, next);
        rc_setref(&next->prev, p);
    }
    if (prev) {
        rc_setref(&p->prev, prev);
        rc_setref(&prev->next, p);
    }
    return p;
}
static ll *make_ll(int depth)
{
    ll *head = ll_new(NULL, NULL);
    for (int i = 0; i < depth; i++) {
        ll *n = ll_new(head, head->prev);
        rc_decref(head);
        head = n;
    }
    return head;
}
static void fast_cycles(void)
{
    h = rc_heap_new(NULL);
    BENCH_VERIFY(h != NULL);
    rc_gc_set_threshold(h, 200, 10, 10);
    int iters = bench_quick() ? 2000 : 20000;
    ll *head = make_ll(1000);
    size_t initial = tracked(), worst = 0, made = 1001;
    BENCH_VERIFY(initial == 1001);
    ll *olds[20];
    int nolds = 0;
    bench_reset_peak();
    long rss0 = bench_rss();
    for (int i = 0; i < iters; i++) {
        ll *newhead = make_ll(20);
        made += 21;
        rc_setref(&newhead->surprise, head);
        olds[nolds++] = newhead;
        if (nolds == 20) {
            size_t grown = tracked() - initial;
            if (grown > worst) worst = grown;
            BENCH_VERIFY(grown < 27000); /* the bound test_gc asserts */
            while (nolds) rc_decref(olds[--nolds]);
        }
    }
    while (nolds) rc_decref(olds[--nolds]);
    long peak = bench_peak_rss();
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t auto_collected = st[0].collected + st[1].collected + st[2].collected;
    long rest = rc_gc_collect(h, 2);
    BENCH_VERIFY(tracked() == 1001 && auto_collected + (uint64_t)rest == made - 1001);
    rc_decref(head);
    BENCH_VERIFY(rc_gc_collect(h, 2) == 1001);
    bench_emit("fast_cycles",
               ",\"max_growth\":%zu,\"bound\":27000,\"iters\":%d,\"objects\":%zu,"
               "\"peak_rss_growth\":%ld",
               worst, iters, made, peak - rss0);
    rc_heap_free(h);
}

/* --- the server loop --- */
static int request_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    request *r = obj;
    int e;
    if (r->handler && (e = visit(&r->handler, arg))) return e;
    if (r->buf && (e = visit((void **)&r->buf, arg))) return e;
    return 0;
}
static int handler_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    handler *p = obj;
    return p->req ? visit(&p->req, arg) : 0;
}
static const rc_type request_type = {"request", sizeof(request), request_traverse, NULL, NULL, 0};
static const rc_type handler_type = {"handler", sizeof(handler), handler_traverse, NULL, NULL, 0};
static const rc_type buffer_type = {"buffer", 0, NULL, NULL, NULL, 0};

/* --gc=adaptive: RC_POLICY_ADAPTIVE (whose byte trigger is for this). */
static void sys_init(void)
{
    rc_config cfg;
    rc_config_init(&cfg);
    const char *gc = bench_opt("gc");
    if (gc && strcmp(gc, "adaptive") == 0) cfg.policy = RC_POLICY_ADAPTIVE;
    h = rc_heap_new(&cfg);
    BENCH_VERIFY(h != NULL);
}
static request *new_request(size_t id)
{
    request *r = rc_new(h, &request_type);
    handler *p = rc_new(h, &handler_type);
    BENCH_VERIFY(r && p);
    r->buf = rc_new_var(h, &buffer_type, BUF); /* the reference moves in */
    BENCH_VERIFY(r->buf != NULL);
    r->id = p->id = id;
    rc_setref(&r->handler, p);
    rc_setref(&p->req, r);
    rc_decref(p);
    return r;
}
static void drop_request(request *r) { rc_decref(r); }
static size_t heap_objects(void) { return tracked(); }
static void sys_check(size_t steps, size_t inflight)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    uint64_t collected = st[0].collected + st[1].collected + st[2].collected;
    long rest = rc_gc_collect(h, 2);
    /* every dropped request: the request and its handler (the buffer, not
     * tracked, is freed by counting when its request goes) */
    BENCH_VERIFY(collected + (uint64_t)rest == 2 * (steps - inflight));
}
static void sys_done(void)
{
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    BENCH_VERIFY(ms.bytes_in_use == 0);
    rc_heap_free(h);
}

#else /* SYS_BOEHM */
static void sys_init(void) { GC_INIT(); }
static request *new_request(size_t id)
{
    request *r = GC_MALLOC(sizeof(request));
    handler *p = GC_MALLOC(sizeof(handler));
    BENCH_VERIFY(r && p);
    r->buf = GC_MALLOC_ATOMIC(BUF);
    BENCH_VERIFY(r->buf != NULL);
    r->id = p->id = id;
    r->handler = p;
    p->req = r;
    return r;
}
static void drop_request(request *r) { (void)r; }
static size_t heap_objects(void) { return 0; }
static void sys_check(size_t steps, size_t inflight) { (void)steps, (void)inflight; }
static void sys_done(void) {}
static void fast_cycles(void)
{
    fprintf(stderr, "balloon: fast_cycles is for recycle and CPython\n");
    exit(1);
}
#endif

static void server(void)
{
    size_t steps = (size_t)bench_opt_long("steps", bench_quick() ? 2000 : 20000);
    size_t k = (size_t)bench_opt_long("inflight", bench_quick() ? 64 : 256);
    BENCH_VERIFY(k > 0 && steps > k);
    sys_init();
    /* The ring of requests in flight: GC_MALLOC'd under Boehm (scanned). */
#if defined(SYS_BOEHM)
    request **ring = GC_MALLOC(k * sizeof *ring);
#else
    request **ring = calloc(k, sizeof *ring);
#endif
    BENCH_VERIFY(ring != NULL);
    bench_reset_peak();
    long rss0 = bench_rss();
    size_t peak_objects = 0;
    uint64_t sum = 0, want = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < steps; i++) {
        request *old = ring[i % k];
        if (old) {
            /* The request did its work: its buffer holds its id. */
            sum += old->buf[0] + old->buf[BUF - 1] + ((handler *)old->handler)->id;
            drop_request(old);
        }
        request *r = new_request(i);
        r->buf[0] = (unsigned char)i;
        memset(r->buf + 1, (int)(i & 0x7f), BUF - 1); /* the request fills its buffer */
        ring[i % k] = r;
        if (i >= k) want += ((i - k) & 0xff) + ((i - k) & 0x7f) + (i - k);
        size_t o = heap_objects();
        if (o > peak_objects) peak_objects = o;
    }
    double t = bench_now() - t0;
    long peak = bench_peak_rss();
    BENCH_VERIFY(sum == want);
    size_t live = k * (BUF + sizeof(request) + sizeof(handler));
    bench_emit("server",
               ",\"ns\":%.0f,\"steps\":%zu,\"inflight\":%zu,\"live_bytes\":%zu,"
               "\"peak_rss_growth\":%ld,\"rss_ratio\":%.3f,\"peak_objects\":%zu,"
               "\"live_objects\":%zu",
               t * 1e9, steps, k, live, peak - rss0, (double)(peak - rss0) / (double)live,
               peak_objects, 2 * k);
    for (size_t i = 0; i < k; i++) drop_request(ring[i]);
    sys_check(steps, 0);
#if !defined(SYS_BOEHM)
    free(ring);
#endif
    sys_done();
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    const char *kase = bench_case("server");
    if (strcmp(kase, "fast_cycles") == 0) fast_cycles();
    else if (strcmp(kase, "server") == 0) server();
    else {
        fprintf(stderr, "balloon: unknown case %s\n", kase);
        return 1;
    }
    return 0;
}
