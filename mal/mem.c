/* mem.c — where MAL values get their memory: recycle, or (MAL_BOEHM) the
 * Boehm GC.  Nothing else in the interpreter knows which. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#ifdef MAL_BOEHM
#  define GC_THREADS
#  include <gc.h>
#  define THREAD_CREATE GC_pthread_create
#  define THREAD_JOIN   GC_pthread_join
#else
#  define THREAD_CREATE pthread_create
#  define THREAD_JOIN   pthread_join
#endif

#include "mal.h"

/* Collection pauses, for mal/bench.sh (MAL_PAUSES=1): every pause in ns. */
static uint64_t *pauses;
static size_t    npauses, pauses_cap;

static void pause_add(uint64_t ns)
{
    if (npauses == pauses_cap) {
        size_t ncap = pauses_cap ? 2 * pauses_cap : 1024;
        uint64_t *p = realloc(pauses, ncap * sizeof *p);
        if (!p) return;
        pauses = p;
        pauses_cap = ncap;
    }
    pauses[npauses++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One line on stderr: how many pauses, p50, p99 and max in microseconds. */
static void mem_pauses_report(void)
{
    if (!pauses_cap && !getenv("MAL_PAUSES")) return;
    qsort(pauses, npauses, sizeof *pauses, cmp_u64);
    double p50 = npauses ? pauses[(npauses - 1) / 2] / 1e3 : 0;
    double p99 = npauses ? pauses[(npauses - 1) * 99 / 100] / 1e3 : 0;
    double mx = npauses ? pauses[npauses - 1] / 1e3 : 0;
    fprintf(stderr, "mal-pauses: n=%zu p50=%.1f p99=%.1f max=%.1f (us)\n", npauses, p50, p99, mx);
    free(pauses);
    pauses = NULL;
    npauses = pauses_cap = 0;
}

rc_heap    *mal_heap;
const char *mal_cur_file = "<repl>";
int         mal_cur_line;

#ifndef MAL_BOEHM

static void on_collection(rc_heap *h, int phase, const rc_gc_info *info, void *data)
{
    (void)h; (void)data;
    if (phase == RC_GC_STOP) pause_add(info->duration_ns);
}

int mem_init(size_t memory_limit)
{
    rc_config cfg;
    rc_config_init(&cfg);
    cfg.memory_limit = memory_limit;
    const char *p = getenv("MAL_GC_POLICY");
    if (p && strcmp(p, "adaptive") == 0) cfg.policy = RC_POLICY_ADAPTIVE;
    mal_heap = rc_heap_new(&cfg);
    if (!mal_heap) return -1;
    if (getenv("MAL_PAUSES")) rc_gc_callback_add(mal_heap, on_collection, NULL);
    return 0;
}

void mem_finish(void)
{
    rc_gc_callback_remove(mal_heap, on_collection, NULL);
    mem_pauses_report();
    rc_heap_free(mal_heap);
    mal_heap = NULL;
}

/* Every value is allocated here, attributed to the MAL form being evaluated. */
void *mal_alloc(const rc_type *t, size_t size)
{
    void *p = rc_new_var_at(mal_heap, t, size, mal_cur_file, mal_cur_line, "mal");
    if (UNLIKELY(!p)) mal_oom();
    return p;
}

/* Storage owned by one object: counted in the heap (bytes in use, memory
 * limit, snapshots).  rc_buf_* from the library. */
void *mal_buf_alloc(void *owner, size_t n)
{
    void *p = rc_buf_alloc(owner, n);
    if (UNLIKELY(!p)) mal_oom();
    return p;
}

void *mal_buf_realloc(void *owner, void *buf, size_t n)
{
    void *p = rc_buf_realloc(owner, buf, n);
    if (UNLIKELY(!p)) mal_oom();
    return p;
}

void mal_buf_free(void *owner, void *buf)
{
    rc_buf_free(owner, buf);
}

void *mal_scratch_alloc(size_t n) { return malloc(n); }
void *mal_scratch_realloc(void *p, size_t n) { return realloc(p, n); }
void  mal_scratch_free(void *p) { free(p); }

#else /* MAL_BOEHM */

static uint64_t gc_started;

static void on_gc_event(GC_EventType e)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (e == GC_EVENT_START) gc_started = now;
    else if (e == GC_EVENT_END && gc_started) { pause_add(now - gc_started); gc_started = 0; }
}

int mem_init(size_t memory_limit)
{
    if (memory_limit) GC_set_max_heap_size(memory_limit);
    if (getenv("MAL_PAUSES")) GC_set_on_collection_event(on_gc_event);
    return 0;
}

void mem_finish(void)
{
    GC_set_on_collection_event(0);
    mem_pauses_report();
}

static void run_release(void *obj, void *data)
{
    ((const rc_type *)data)->release(obj);
}

/* Containers are scanned, atomic types are not; a type whose release must
 * run (symbols leave the intern table) gets a finalizer. */
void *mal_alloc(const rc_type *t, size_t size)
{
    void *p = t->traverse || t == &mal_str_type ? GC_MALLOC(size) : GC_MALLOC_ATOMIC(size);
    if (UNLIKELY(!p)) { mal_oom(); return NULL; }
    if (!t->traverse) memset(p, 0, size);
    if (t->release && t == &mal_sym_type)
        GC_register_finalizer_no_order(p, run_release, (void *)t, NULL, NULL);
    return p;
}

void *mal_buf_alloc(void *owner, size_t n)
{
    (void)owner;
    void *p = GC_MALLOC(n);
    if (UNLIKELY(!p)) mal_oom();
    return p;
}

void *mal_buf_realloc(void *owner, void *buf, size_t n)
{
    (void)owner;
    void *p = GC_REALLOC(buf, n);
    if (UNLIKELY(!p)) mal_oom();
    return p;
}

void mal_buf_free(void *owner, void *buf)
{
    (void)owner;
    (void)buf;
}

void *mal_scratch_alloc(size_t n) { return GC_MALLOC_UNCOLLECTABLE(n); }
void *mal_scratch_realloc(void *p, size_t n) { return GC_REALLOC(p, n); }
void  mal_scratch_free(void *p) { GC_FREE(p); }

#endif

/* The interpreter runs on a thread of its own, with a stack of known size
 * that the stack guard measures against. */
int mem_run_thread(void *(*fn)(void *), void *arg, size_t stack_size)
{
    pthread_attr_t attr;
    pthread_t      t;
#ifdef MAL_BOEHM
    GC_INIT();
#endif
    if (pthread_attr_init(&attr) != 0) return -1;
    pthread_attr_setstacksize(&attr, stack_size);
    int rc = THREAD_CREATE(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0) return -1;
    return THREAD_JOIN(t, NULL);
}
