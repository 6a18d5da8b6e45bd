/* recycle.h — the public interface of recycle.
 *
 * recycle gives C programs the memory management CPython gives Python
 * objects: reference counting that frees an object the moment its last
 * reference goes, a generational cycle collector for the cycles counting
 * cannot free, and a pool allocator under both.  The contract this header
 * implements is docs/API.md; every public name starts with rc_ / RC_.
 *
 * Everything here is per heap: there is no global state, and a heap is used
 * by one thread at a time.
 */
#ifndef RECYCLE_H
#define RECYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
/* Under clang -Weverything the header is warning-free as it stands, with
 * three groups off inside it (and nowhere else): the C++98-compatibility
 * ones say only that it needs C++11 (nullptr, long long), and -Wpadded
 * reports the 4 bytes after rc_type.flags and rc_config.policy, a layout
 * the contract fixes. */
#  if defined(__clang__)
#    pragma clang diagnostic push
#    pragma clang diagnostic ignored "-Wc++98-compat"
#    pragma clang diagnostic ignored "-Wc++98-compat-pedantic"
#    pragma clang diagnostic ignored "-Wpadded"
#  endif
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Version and export                                                  */
/* ------------------------------------------------------------------ */

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION_HEX \
    ((RC_VERSION_MAJOR << 16) | (RC_VERSION_MINOR << 8) | RC_VERSION_PATCH)

#if defined(_WIN32)
#  define RC_API
#elif defined(__GNUC__)
#  define RC_API __attribute__((visibility("default")))
#else
#  define RC_API
#endif

/* The version of the library linked in, as RC_VERSION_HEX and as "0.1.0". */
RC_API unsigned    rc_version(void);
RC_API const char *rc_version_string(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* One list gives the codes and their messages, so they cannot drift. */
#define RC_ERRNO_MAP(X)                                                     \
    X(NOMEM,   -1, "out of memory")                                        \
    X(INVAL,   -2, "invalid argument")                                     \
    X(RANGE,   -3, "generation out of range")     \
    X(STATE,   -4, "call not valid in the current state")                  \
    X(NOENT,   -5, "no such entry")                                        \
    X(BUSY,    -6, "the heap is busy: a collection, free or walk is running") \
    X(MISUSE,  -7, "misuse of an object detected")

/* RC_OK last, so that the list ends without a trailing comma. */
enum {
#define RC_IMPL_ERRNO_ENUM(name, code, msg) RC_E##name = (code),
    RC_ERRNO_MAP(RC_IMPL_ERRNO_ENUM)
#undef RC_IMPL_ERRNO_ENUM
    RC_OK = 0
};

typedef struct rc_heap rc_heap;

/* The code of the last failure on this heap (a negative RC_E* code), or 0.
 * With h == NULL: the last failure in this thread with no heap to blame
 * (rc_heap_new, a NULL heap, the snapshot functions). */
RC_API int         rc_last_error(const rc_heap *h);
/* A message for a code; never NULL ("unknown error" for unknown codes). */
RC_API const char *rc_strerror(int code);

/* ------------------------------------------------------------------ */
/* Heaps                                                               */
/* ------------------------------------------------------------------ */

/* Debug flags, distinct bits, as Python's gc.DEBUG_*. */
#define RC_DEBUG_STATS         (1u << 0) /* one summary per collection   */
#define RC_DEBUG_COLLECTABLE   (1u << 1) /* a line per collectable object */
#define RC_DEBUG_UNCOLLECTABLE (1u << 2) /* a line per uncollectable one  */
#define RC_DEBUG_SAVEALL       (1u << 5) /* keep garbage in the list      */
#define RC_DEBUG_LEAK \
    (RC_DEBUG_COLLECTABLE | RC_DEBUG_UNCOLLECTABLE | RC_DEBUG_SAVEALL)
/* Every defined flag: any other bit is RC_EINVAL. */
#define RC_DEBUG_ALL (RC_DEBUG_STATS | RC_DEBUG_LEAK)

/* The largest threshold accepted (2^48): larger ones, such as a negative
 * int converted to size_t, are RC_EINVAL. */
#define RC_THRESHOLD_MAX (RC_IMPL_CAST(size_t, 1) << 48) /* (size_t)1 << 48 */

/* Scheduling policies for automatic collection (rc_config.policy). */
enum {
    /* Python's rules, exactly (the default): see docs/API.md. */
    RC_POLICY_PYTHON = 0,
    /* Python's rules with a young threshold that adapts to what automatic
     * collections find: it doubles after each one that finds no garbage, up
     * to the number of tracked objects, and falls back to threshold[0] as
     * soon as one finds some.  Programs that make no cycles pay almost
     * nothing for the collector; cyclic garbage waiting for collection is
     * bounded by the size of the tracked heap.  A byte trigger also runs a
     * full collection when the bytes in live blocks have grown by a quarter
     * (at least 4 MiB) since the last full one, so cycles holding large
     * buffers cannot pile up memory between collections. */
    RC_POLICY_ADAPTIVE = 1
};

typedef struct rc_config {
    size_t   threshold[3]; /* 700, 10, 10; each at most RC_THRESHOLD_MAX */
    unsigned debug;        /* RC_DEBUG_* flags, 0 */
    int      gc_enabled;   /* 1 (or 0) */
    FILE    *debug_stream; /* NULL here means stderr */
    size_t   memory_limit; /* bytes of objects, buffers + headers, 0 = none */
    int      policy;       /* RC_POLICY_*, RC_POLICY_PYTHON */
    /* Testing hook: the Nth block allocation of this heap (1-based) and
     * every one after it fails as if the system refused, 0 = never. */
    unsigned long fail_alloc_after;
    /* Leak-hunting tools (see the section at the end); the environment
     * (RECYCLE_SITES, RECYCLE_TRACE, RECYCLE_DEBUG) adds to these. */
    int         sites;       /* 1: objects remember their allocation site; 0 */
    int         site_depth;  /* frames of native backtrace per site (turns
                                sites on), 0..RC_SITE_DEPTH_MAX; 0 */
    unsigned    site_sample; /* a backtrace for 1 allocation in N; 0 = 1 = all */
    int         leak_report; /* 1: rc_heap_free prints rc_leak_report; 0 */
    const char *trace_path;  /* timeline file (JSON lines); NULL = none */
    /* 1: the live monitor publishes this heap's figures for recycle-top
     * (RECYCLE_MONITOR=1 too); 0 */
    int         monitor;
} rc_config;

RC_API void     rc_config_init(rc_config *cfg);
/* cfg NULL = defaults; NULL on failure (see rc_last_error(NULL)): RC_EINVAL
 * for a threshold above RC_THRESHOLD_MAX, a debug bit outside RC_DEBUG_ALL,
 * gc_enabled not 0 or 1, an unknown policy or a bad tools setting. */
RC_API rc_heap *rc_heap_new(const rc_config *cfg);
/* Runs one last full collection, then calls `release` exactly once for every
 * object still alive (frozen, garbage list and resurrected ones included),
 * runs no further finalizer, and frees all memory; returns 0 (also for
 * NULL).  Called from user code this heap is running (a finalizer, release,
 * weak-reference or gc callback, walk function) it is refused: -1 with
 * RC_EBUSY, the heap untouched. */
RC_API int      rc_heap_free(rc_heap *h);

/* ------------------------------------------------------------------ */
/* Types and objects                                                   */
/* ------------------------------------------------------------------ */

typedef int (*rc_visit_fn)(void **slot, void *arg); /* non-zero stops */

/* The finalizer needs its referents intact: a cycle holding such an object
 * is not freed but moved to the garbage list (Python's tp_del). */
#define RC_TYPE_LEGACY_FINALIZER (1u << 0)

typedef struct rc_type {
    const char *name; /* shown in stats and reports */
    size_t      size; /* bytes of the user part */
    /* Visit every strong reference the object holds, by the address of the
     * slot that holds it; return what visit returns when it is non-zero.
     * NULL = the type holds no references (atomic: never tracked). */
    int  (*traverse)(void *obj, rc_visit_fn visit, void *arg);
    /* Optional; runs at most once, before reclamation; may resurrect. */
    void (*finalize)(void *obj);
    /* Optional; frees what is not an rc object (fds, malloc'd buffers). */
    void (*release)(void *obj);
    unsigned    flags; /* RC_TYPE_* */
    /* Optional: writes a short description of obj ("<list of 3>",
     * "GET /index.html") into buf like snprintf (at most len bytes, NUL
     * included) and returns the length it wanted, or a negative number on
     * failure.  The leak-hunting tools show it wherever they show an object
     * (why-alive chains, the leak report, DOT labels, snapshots' examples,
     * the trace).  It must not allocate, free or change references.  Added
     * after flags, so positional initialisers of the six fields above stay
     * valid: describe is then NULL. */
    int  (*describe)(void *obj, char *buf, size_t len);
} rc_type;

/* A new object of type t: zeroed, count 1, 16-byte aligned, tracked if the
 * type has traverse.  NULL with RC_ENOMEM or RC_EINVAL on failure.  An
 * automatic collection may run inside this call. */
RC_API void *rc_new(rc_heap *h, const rc_type *t);
/* As rc_new with a user part of `size` bytes (at least t->size). */
RC_API void *rc_new_var(rc_heap *h, const rc_type *t, size_t size);

/* As rc_new / rc_new_var, given the call site: file, line and function.
 * rc_new and rc_new_var are macros over these, so that every object can
 * tell where it was allocated (allocation sites, rc_config.sites; debug
 * builds' misuse messages).  (rc_new)(h, t) calls the plain function,
 * which knows no file, line or function. */
RC_API void *rc_new_at(rc_heap *h, const rc_type *t, const char *file, int line,
                       const char *func);
RC_API void *rc_new_var_at(rc_heap *h, const rc_type *t, size_t size,
                           const char *file, int line, const char *func);
#define rc_new(h, t)           rc_new_at((h), (t), __FILE__, __LINE__, __func__)
#define rc_new_var(h, t, size) rc_new_var_at((h), (t), (size), __FILE__, __LINE__, __func__)

RC_API size_t         rc_refcount(const void *obj);
RC_API const rc_type *rc_type_of(const void *obj);
RC_API rc_heap       *rc_heap_of(const void *obj);
/* The usable size of the object's user part: at least what was asked; the
 * bytes past what was asked are not zeroed. */
RC_API size_t         rc_size_of(const void *obj);

/* Tracking, like Python's gc.is_tracked and the C API's GC_Track/UnTrack.
 * rc_track of an atomic object does nothing; rc_untrack is harmless on an
 * untracked object.  An untracked container is invisible to collections and
 * walks, yet still drops its references when freed. */
RC_API void rc_track(void *obj);
RC_API void rc_untrack(void *obj);
RC_API int  rc_is_tracked(const void *obj);
RC_API int  rc_is_finalized(const void *obj);

/* --- the object header (private; shown only for the inline paths) ---
 * The rc_impl_ / RC_IMPL_ names are the library's: do not use them.  They
 * contain no double underscore, so C++ (which reserves such names) accepts
 * the header under clang++ -Weverything; RC_IMPL_CAST keeps the inline
 * functions free of C-style casts in C++. */
#ifdef __cplusplus
#  define RC_IMPL_CAST(type, expr) (static_cast<type>(expr))
#else
#  define RC_IMPL_CAST(type, expr) ((type)(expr))
#endif
#if defined(__cplusplus) && __cplusplus >= 201103L
#  define RC_IMPL_NULL nullptr
#else
#  define RC_IMPL_NULL NULL
#endif
typedef struct rc_impl_head {
    uint32_t  refcnt; /* strong references */
    uint32_t  gc;     /* collector's word: see src/gc.c */
    uintptr_t tf;     /* const rc_type * | flag bits */
} rc_impl_head;
#define RC_IMPL_HEAD(obj) (RC_IMPL_CAST(rc_impl_head *, obj) - 1)

RC_API void rc_impl_dealloc(void *obj);        /* the count reached zero */
RC_API void rc_impl_incref_checked(void *obj); /* debug builds */
RC_API void rc_impl_decref_checked(void *obj); /* debug builds */

#if defined(RC_DEBUG) && RC_DEBUG
static inline void rc_incref(void *obj) { rc_impl_incref_checked(obj); }
static inline void rc_decref(void *obj) { rc_impl_decref_checked(obj); }
#else
/* One add; one subtract and a well-predicted branch. */
static inline void rc_incref(void *obj) { RC_IMPL_HEAD(obj)->refcnt++; }
static inline void rc_decref(void *obj)
{
    if (--RC_IMPL_HEAD(obj)->refcnt == 0)
        rc_impl_dealloc(obj);
}
#endif
/* A program compiled with RC_DEBUG must link a debug library (librecycle-
 * debug, pkg-config recycle-debug; or an RC_DEBUG=ON build's librecycle):
 * only that defines this symbol, so against the release library the link
 * fails, naming it, instead of running unchecked. */
#if defined(RC_DEBUG) && RC_DEBUG
RC_API extern const int rc_debug_header_needs_librecycle_debug;
#  if defined(__GNUC__)
__attribute__((used)) static const int *const rc_impl_debug_library_check =
    &rc_debug_header_needs_librecycle_debug;
#  endif
#endif
static inline void rc_xincref(void *obj) { if (obj) rc_incref(obj); }
static inline void rc_xdecref(void *obj) { if (obj) rc_decref(obj); }

/* Store a new reference in *slot and drop the old one, in the order that
 * keeps the slot valid if dropping the old value runs a finalizer. */
static inline void rc_setref(void **slot, void *value)
{
    void *old = *slot;
    rc_xincref(value);
    *slot = value;
    rc_xdecref(old);
}
/* Drop the reference in *slot and set it to NULL. */
static inline void rc_clearref(void **slot) { rc_setref(slot, RC_IMPL_NULL); }

/* ------------------------------------------------------------------ */
/* Buffers: storage owned by an object                                 */
/* ------------------------------------------------------------------ */

/* Memory that belongs to one object — a list's item array, a dict's table,
 * a string's bytes — taken from the heap, so that the heap counts it: in
 * bytes in use (rc_heap_memory_stats), in memory_limit, in the adaptive
 * policy's byte trigger, and with its owner in snapshots and the leak
 * report.  The pattern for a growable container (docs/API.md, "Buffers"):
 *
 *     typedef struct list { size_t len, cap; void **items; } list;
 *     static int list_traverse(void *o, rc_visit_fn visit, void *arg) {
 *         list *l = o;
 *         for (size_t i = 0; i < l->len; i++)
 *             if (l->items[i]) { int r = visit(&l->items[i], arg); if (r) return r; }
 *         return 0;
 *     }
 *     // append: grow first; on failure the old array is intact
 *     if (l->len == l->cap) {
 *         size_t cap = l->cap ? 2 * l->cap : 8;
 *         void **items = rc_buf_realloc(l, l->items, cap * sizeof *items);
 *         if (!items) return -1;          // RC_ENOMEM: l unchanged
 *         l->items = items;
 *         l->cap = cap;
 *     }
 *     rc_incref(x); l->items[l->len++] = x;
 *
 * The library drops the references traverse visits and then frees the
 * buffers a dying object still has, after its release: a type needs no
 * release just to free them.
 *
 * owner is a live object of a heap; the program must hold a reference to
 * it, since a collection may run inside these calls.  Buffers are 16-byte
 * aligned and not zeroed.  rc_heap_free frees what no one freed.
 * Failures return NULL with rc_last_error(heap) set and change nothing:
 * RC_EINVAL (owner NULL or not a live object, buf not a live buffer of
 * owner, n == 0), RC_ENOMEM (past memory_limit after one full collection,
 * the system refuses, or n too large).  Debug builds also report a buffer
 * freed twice or used with the wrong owner to the misuse handler. */
RC_API void *rc_buf_alloc(void *owner, size_t n);
/* Resizes buf to n bytes, keeping its contents up to the smaller size; may
 * move it.  buf NULL: as rc_buf_alloc.  On failure buf is left intact. */
RC_API void *rc_buf_realloc(void *owner, void *buf, size_t n);
/* Frees buf at once (ASan and valgrind see later uses).  buf NULL: nothing. */
RC_API void  rc_buf_free(void *owner, void *buf);

/* ------------------------------------------------------------------ */
/* Weak references                                                     */
/* ------------------------------------------------------------------ */

/* A weak reference is itself an rc object (atomic): rc_decref it when done. */
typedef struct rc_weakref rc_weakref;
typedef void (*rc_weakref_cb)(rc_weakref *ref, void *data);

/* A weak reference to obj (any rc object); NULL + error on failure.  The
 * callback (may be NULL) runs once, when obj dies, while the weak reference
 * is itself alive; it is never called for a weak reference that dies in the
 * same garbage as its referent. */
RC_API rc_weakref *rc_weakref_new(void *obj, rc_weakref_cb callback, void *data);
/* As rc_weakref_new, given the call site, which allocation sites record for
 * the weak reference object; rc_weakref_new is a macro over it, as rc_new
 * is over rc_new_at. */
RC_API rc_weakref *rc_weakref_new_at(void *obj, rc_weakref_cb callback, void *data,
                                     const char *file, int line, const char *func);
#define rc_weakref_new(obj, callback, data) \
    rc_weakref_new_at((obj), (callback), (data), __FILE__, __LINE__, __func__)
/* A new reference to the referent, or NULL once it is gone. */
RC_API void       *rc_weakref_get(rc_weakref *ref);
/* How many weak references point at obj now (Python's getweakrefcount). */
RC_API size_t      rc_weakref_count(const void *obj);

/* ------------------------------------------------------------------ */
/* The collector — Python's gc module                                  */
/* ------------------------------------------------------------------ */

RC_API int  rc_gc_enable(rc_heap *h);   /* returns the previous state */
RC_API int  rc_gc_disable(rc_heap *h);  /* returns the previous state */
RC_API int  rc_gc_isenabled(const rc_heap *h);
RC_API int  rc_gc_pause(rc_heap *h);    /* nests; returns the new depth */
RC_API int  rc_gc_resume(rc_heap *h);   /* returns the new depth; -1 unpaused */

/* Collect generation 0..2 (and all younger).  Returns the unreachable
 * objects found (collected + uncollectable), 0 if a collection is already
 * running, -1 with RC_ERANGE for a bad generation. */
RC_API long rc_gc_collect(rc_heap *h, int generation);
/* Runs the collection automatic scheduling would run now, or none (0). */
RC_API long rc_gc_collect_if_due(rc_heap *h);
/* Also collect when ms milliseconds passed since the last collection,
 * checked at allocation; 0 = off. */
RC_API int  rc_gc_set_interval(rc_heap *h, unsigned long ms);

RC_API void rc_gc_get_threshold(const rc_heap *h, size_t out[3]);
/* 0, or -1 with RC_EINVAL (a threshold above RC_THRESHOLD_MAX, a NULL
 * heap), changing nothing. */
RC_API int  rc_gc_set_threshold(rc_heap *h, size_t t0, size_t t1, size_t t2);
RC_API void rc_gc_get_count(const rc_heap *h, size_t out[3]);

/* 0, or -1 with RC_EINVAL (a bit outside RC_DEBUG_ALL, a NULL heap),
 * changing nothing. */
RC_API int      rc_gc_set_debug(rc_heap *h, unsigned flags);
RC_API unsigned rc_gc_get_debug(const rc_heap *h);
/* Where debug output goes (NULL = stderr). */
RC_API void     rc_gc_set_debug_stream(rc_heap *h, FILE *stream);

typedef struct rc_gen_stats {
    uint64_t collections;     /* collections of this generation */
    uint64_t collected;       /* objects they freed */
    uint64_t uncollectable;   /* objects they found but could not free */
    uint64_t pause_ns_total;  /* time they took */
    uint64_t pause_ns_max;
    uint64_t bytes_reclaimed; /* bytes of objects they freed */
    uint64_t tracked;         /* objects in this generation now */
} rc_gen_stats;
RC_API void rc_gc_get_stats(const rc_heap *h, rc_gen_stats out[3]);

/* The garbage list (Python's gc.garbage); it holds a reference to each. */
RC_API size_t rc_gc_garbage_count(const rc_heap *h);
RC_API void  *rc_gc_garbage_get(const rc_heap *h, size_t i); /* borrowed */
RC_API void   rc_gc_garbage_clear(rc_heap *h);

/* Callbacks at the start and stop of every collection (gc.callbacks). */
enum { RC_GC_START = 0, RC_GC_STOP = 1 };
typedef struct rc_gc_info {
    int      generation;
    uint64_t collected;     /* 0 at start */
    uint64_t uncollectable; /* 0 at start */
    uint64_t duration_ns;   /* 0 at start */
} rc_gc_info;
typedef void (*rc_gc_callback_fn)(rc_heap *h, int phase,
                                  const rc_gc_info *info, void *data);
RC_API int rc_gc_callback_add(rc_heap *h, rc_gc_callback_fn fn, void *data);
RC_API int rc_gc_callback_remove(rc_heap *h, rc_gc_callback_fn fn, void *data);

/* Walks.  Each returns 0 after a complete walk, the walk function's
 * non-zero value if it stopped the walk, or -1 with an error. */
typedef int (*rc_walk_fn)(void *obj, void *arg);
/* Tracked objects of a generation (-1 = all), frozen ones excepted. */
RC_API int rc_gc_get_objects(rc_heap *h, int generation, rc_walk_fn fn, void *arg);
/* Tracked objects that refer to obj, each once. */
RC_API int rc_gc_get_referrers(rc_heap *h, const void *obj, rc_walk_fn fn, void *arg);
/* Every non-NULL slot obj's traverse visits. */
RC_API int rc_gc_get_referents(const void *obj, rc_walk_fn fn, void *arg);

/* Freezing (gc.freeze): frozen objects are ignored by every collection and
 * walk until unfrozen; unfreezing puts them in the oldest generation. */
RC_API void   rc_gc_freeze(rc_heap *h);
RC_API void   rc_gc_unfreeze(rc_heap *h);
RC_API size_t rc_gc_get_freeze_count(const rc_heap *h);

/* ------------------------------------------------------------------ */
/* Misuse                                                              */
/* ------------------------------------------------------------------ */

/* Debug builds (-DRC_DEBUG=ON) detect misuse: a count going below zero, use
 * of a freed object, a pointer that is no rc object, a double free, a
 * reference into another heap found by a collection, one heap used by two
 * threads at once ("OP: heap used by two threads at once: HEAP").  Each is reported to
 * the misuse handler with a message naming the object's type and allocation
 * site ("recycle: misuse: WHAT: <TYPE object at ADDR, allocated at F:L>").
 * The default handler prints it to stderr and aborts; a handler that
 * returns makes the call do nothing more (the count is left as it was).
 * Process-wide: set it before heaps are used from several threads.
 * fn NULL restores the default. */
typedef void (*rc_misuse_fn)(const char *message, const void *obj, void *data);
RC_API void rc_set_misuse_handler(rc_misuse_fn fn, void *data);

/* ------------------------------------------------------------------ */
/* Consistency                                                         */
/* ------------------------------------------------------------------ */

/* Verifies the heap's internal invariants (generation membership and
 * counts, the tracked array and the paged bands, counts never below the
 * references the heap can see, no reference into another heap).  Returns
 * 0 if all hold, -1 otherwise, describing each violation on `out` (NULL =
 * silent).  Walks the whole heap: for tests and debugging. */
RC_API int rc_heap_check(const rc_heap *h, FILE *out);

/* ------------------------------------------------------------------ */
/* Memory statistics (the pool allocator)                              */
/* ------------------------------------------------------------------ */

#define RC_MEM_CLASSES 64 /* at most this many size classes are reported */

typedef struct rc_memory_stats {
    size_t bytes_in_use;    /* bytes of live blocks: objects, buffers + headers */
    size_t bytes_from_os;   /* bytes the heap holds mapped from the system  */
    size_t arenas_in_use;   /* arenas (segments) held                       */
    size_t pools_in_use;    /* pools (pages) holding at least one block     */
    size_t large_objects;   /* objects too large for a size class           */
    size_t large_bytes;     /* bytes those occupy                           */
    /* 1 - bytes_in_use / bytes_from_os: the share of held memory that no
     * live object uses (0 = none wasted). */
    double fragmentation;
    size_t nclasses;        /* entries used in classes[]                    */
    struct {
        size_t block_size;    /* bytes per block, header included          */
        size_t blocks_in_use;
        size_t blocks_free;   /* free blocks in pools of this class        */
    } classes[RC_MEM_CLASSES];
} rc_memory_stats;

/* Fills *out; 0, or -1 with RC_EINVAL for NULL arguments. */
RC_API int rc_heap_memory_stats(const rc_heap *h, rc_memory_stats *out);

/* ------------------------------------------------------------------ */
/* Leak-hunting tools                                                  */
/* ------------------------------------------------------------------ */
/* What objgraph, tracemalloc and memray give Python programs: where each
 * object was allocated, snapshots of the heap and their differences, the
 * shortest chain of references that keeps an object alive, reference
 * graphs in Graphviz DOT, a leak report and a timeline (docs/API.md,
 * "Leak-hunting tools").  The heap knows every reference between its
 * objects, so an object whose count exceeds the references the heap holds
 * to it is held from outside the heap: by the C program.  Every tool is off
 * until asked for (rc_config, the calls below, or the environment:
 * RECYCLE_SITES, RECYCLE_TRACE, RECYCLE_DEBUG); off, they cost rc_new one
 * predictable branch and no memory. */

/* --- allocation sites --- */
#define RC_SITE_DEPTH_MAX 64

typedef struct rc_site {
    const char  *file;    /* __FILE__ of the rc_new call; NULL if unknown */
    int          line;
    const char  *func;    /* the calling function; NULL if unknown */
    int          nframes; /* native backtrace: return addresses, the caller */
    void *const *frames;  /* first; NULL when nframes == 0 */
} rc_site;

/* Objects created from now on remember their site: file, line, function,
 * and `depth` frames of backtrace (0..RC_SITE_DEPTH_MAX) for one allocation
 * in `sample` (0 or 1: every one).  With sites on already, changes depth
 * and sample.  0, or -1 with RC_EINVAL / RC_ENOMEM. */
RC_API int rc_sites_start(rc_heap *h, int depth, unsigned sample);
/* Forgets every recorded site; 0, or -1 with RC_EINVAL. */
RC_API int rc_sites_stop(rc_heap *h);
/* 0 with *out filled, or -1 with RC_ENOENT (no site recorded for obj) or
 * RC_EINVAL.  The strings and frames live until rc_sites_stop or
 * rc_heap_free. */
RC_API int rc_site_of(const void *obj, rc_site *out);

/* --- snapshots and their differences --- */
typedef struct rc_snapshot rc_snapshot;

/* How statistics are grouped. */
enum { RC_STAT_TYPE = 0, RC_STAT_SITE = 1, RC_STAT_TYPE_SITE = 2 };

typedef struct rc_stat {
    const char  *type;       /* type name; NULL when grouped by site only */
    const char  *file;       /* site; NULL when unknown or grouped by type */
    int          line;
    const char  *func;
    int          nframes;    /* the site's backtrace, symbolized */
    const char *const *frames;
    long long    count;      /* live objects */
    long long    bytes;      /* their blocks and buffers' blocks: headers and
                                rounding included */
    long long    count_diff; /* growth since the older snapshot (diffs; */
    long long    bytes_diff; /* 0 in a plain snapshot) */
    /* One object of the entry, as the tools show it: "<TYPE object at
     * ADDR: DESCRIPTION>" (DESCRIPTION from the type's describe); NULL in
     * a diff's entries that only the older snapshot has. */
    const char  *example;
    /* Retained bytes: what would be freed with all the entry's objects —
     * the union of their subtrees in the dominator tree (rc_retained_of);
     * -1 when unknown (a snapshot taken during a collection).  A diff
     * keeps the newer snapshot's. */
    long long    retained;
} rc_stat;

/* Live objects and bytes per type and per allocation site: every live
 * block, tracked or not.  NULL with RC_EINVAL or RC_ENOMEM. */
RC_API rc_snapshot *rc_snapshot_take(rc_heap *h);
/* `newer` with each entry's growth since `older` (entries of either),
 * largest growth first (objgraph's show_growth, tracemalloc's compare_to).
 * Free it with rc_snapshot_free.  NULL with RC_EINVAL or RC_ENOMEM. */
RC_API rc_snapshot *rc_snapshot_diff(const rc_snapshot *older, const rc_snapshot *newer);
/* The entries grouped `by` (RC_STAT_*), largest first (bytes, or growth
 * for a diff); *n gets their number.  NULL with RC_EINVAL. */
RC_API const rc_stat *rc_snapshot_stats(const rc_snapshot *s, int by, size_t *n);
/* The whole heap as one entry; 0, or -1 with RC_EINVAL. */
RC_API int  rc_snapshot_total(const rc_snapshot *s, rc_stat *out);
/* The `top` first entries (0 = all) as a table; 0, or -1 with RC_EINVAL. */
RC_API int  rc_snapshot_print(const rc_snapshot *s, int by, size_t top, FILE *stream);
/* The snapshot as one line of JSON (docs/API.md); 0, or -1. */
RC_API int  rc_snapshot_write_json(const rc_snapshot *s, FILE *stream);
RC_API void rc_snapshot_free(rc_snapshot *s);

/* --- why is this alive? --- */
enum {
    RC_HELD_OUTSIDE      = 0, /* an object held from outside the heap reaches it */
    RC_HELD_GARBAGE_LIST = 1, /* only the garbage list (gc.garbage) does */
    RC_HELD_CYCLE        = 2  /* neither: cyclic garbage waiting for collection */
};
/* Prints the shortest chain of references that keeps obj alive, from an
 * object held from outside the heap, each link with its slot and site.
 * Returns the verdict (RC_HELD_*), or -1 with RC_EINVAL (obj is not a live
 * object of h), RC_EBUSY (during a collection) or RC_ENOMEM. */
RC_API int rc_why_alive(rc_heap *h, const void *obj, FILE *stream);
/* The same chain as objects: chain[0] is held from outside the heap (the
 * garbage list; for RC_HELD_CYCLE: lies on the cycle that holds obj), each
 * refers to the next, the last is obj.  Up to max are stored; *len gets the
 * whole length.  Returns the verdict, or -1 as rc_why_alive. */
RC_API int rc_why_alive_chain(rc_heap *h, const void *obj, void **chain, size_t max,
                              size_t *len);

/* --- reference graphs --- */
enum { RC_DOT_REFERENTS = 0, RC_DOT_REFERRERS = 1 };
/* The objects obj refers to (or that refer to it), `depth` links deep, as a
 * Graphviz digraph (objgraph's show_refs / show_backrefs): objects held
 * from outside the heap and references on cycles are marked.  0, or -1
 * with RC_EINVAL, RC_EBUSY or RC_ENOMEM. */
RC_API int rc_dump_dot(rc_heap *h, const void *obj, int depth, int direction,
                       FILE *stream);

/* --- leak report --- */
/* Every live object grouped by type and site, what holds each group (from
 * outside, garbage list, cycles), and why the `top` largest groups are
 * alive.  rc_heap_free prints it to the debug stream when RC_DEBUG_LEAK is
 * set or rc_config.leak_report asks.  0, or -1 with an error. */
RC_API int rc_leak_report(rc_heap *h, size_t top, FILE *stream);

/* --- retained sizes --- */
/* What would be freed if obj's holders let go of it: obj and every object
 * only it keeps alive — its subtree in the dominator tree of the heap,
 * whose roots are the objects held from outside the heap and the garbage
 * list — with the bytes of their blocks (headers and rounding included)
 * and buffers.  An object no root reaches (garbage a collection will
 * free) retains nothing: {0, 0}.  Each call walks the whole heap, with at
 * most 32 bytes of memory per object. */
typedef struct rc_retained { size_t objects; size_t bytes; } rc_retained;
/* 0, or -1 with RC_EINVAL (not a live object of h), RC_EBUSY (called
 * during a collection) or RC_ENOMEM. */
RC_API int  rc_retained_of(rc_heap *h, void *obj, rc_retained *out);
/* The n objects with the largest retained bytes, largest first, none
 * inside another's retained set (so: children of the roots in the
 * dominator tree); returns how many were written, or -1 as above.  The
 * pointers are borrowed. */
typedef struct rc_retainer { void *obj; rc_retained retained; } rc_retainer;
RC_API long rc_top_retainers(rc_heap *h, rc_retainer *out, size_t n);

/* --- timeline and profile scopes --- */
/* Appends to `path` (truncated first), as JSON lines: every collection,
 * samples of heap size and resident memory, profile scopes, snapshots
 * (rc_trace_snapshot) and, at rc_trace_stop or rc_heap_free, a final
 * snapshot with the leak suspects.  tools/recycle-report turns it into an
 * HTML report.  0, or -1 with RC_EINVAL, RC_ESTATE (tracing already),
 * RC_ENOENT (cannot open path) or RC_ENOMEM. */
RC_API int rc_trace_start(rc_heap *h, const char *path);
RC_API int rc_trace_stop(rc_heap *h);
/* Writes a snapshot labelled `label` into the trace; the first one is the
 * baseline the leak suspects' growth is measured from.  0, or -1 with
 * RC_ESTATE (no trace) or another error. */
RC_API int rc_trace_snapshot(rc_heap *h, const char *label);

typedef struct rc_profile_stats {
    uint64_t calls;       /* scopes of this name ended */
    uint64_t allocs, alloc_bytes; /* objects created inside them */
    uint64_t frees, free_bytes;   /* objects freed inside them */
    int64_t  net_bytes;   /* alloc_bytes - free_bytes */
    int64_t  peak_bytes;  /* the largest net growth any one scope reached */
    uint64_t time_ns;     /* time inside them */
} rc_profile_stats;
/* Scopes nest (up to 64 deep); each counts what happens until its end,
 * nested scopes included, and is written to the trace if there is one.
 * 0, or -1 with RC_EINVAL, RC_ESTATE (too deep / no open scope), RC_ENOMEM. */
RC_API int rc_profile_begin(rc_heap *h, const char *name);
RC_API int rc_profile_end(rc_heap *h);
/* The totals of the ended scopes called `name`; 0, or -1 with RC_ENOENT. */
RC_API int rc_profile_get(const rc_heap *h, const char *name, rc_profile_stats *out);

#ifdef __cplusplus
}
#  if defined(__clang__)
#    pragma clang diagnostic pop
#  endif
#endif
#endif /* RECYCLE_H */
