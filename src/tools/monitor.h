/* monitor.h — the live monitor's file: its binary layout, shared by the
 * library (src/monitor.c, the writer) and tools/recycle-top (a reader in
 * another process).  It depends on nothing else in the library.
 *
 * With RECYCLE_MONITOR=1 or rc_config.monitor = 1, each heap owns one file
 *
 *     DIR/recycle-PID-SERIAL.mon
 *
 * DIR is $RECYCLE_MONITOR_DIR if set, else /dev/shm, else $XDG_RUNTIME_DIR;
 * PID is the process id (decimal), SERIAL numbers the monitored heaps of the
 * process from 1.  A reader finds every heap of a process by the prefix
 * "recycle-PID-".  The file is made under a temporary name (".recycle-tmp-
 * PID-SERIAL") and renamed once its header is written, so a reader never
 * sees a half-made header.  It is removed by rc_heap_free and at exit
 * (atexit); a reader ignores (and removes) files whose process is gone:
 * no such pid, or a pid whose start time (/proc/PID/stat, field 22) differs
 * from start_ticks — a reused pid.
 *
 * Layout (all integers native-endian, 64-bit aligned):
 *
 *     rc_mon_header   written once, before the rename; never changes
 *     seq             the seqlock's sequence number (_Atomic uint64_t)
 *     data            rc_mon_data, as RC_MON_WORDS _Atomic uint64_t words
 *
 * Versions: `version` changes when a field changes meaning or moves; new
 * fields are only appended to rc_mon_data, which `data_size` gives, so a
 * reader of the same version reads the fields it knows (data_size is at
 * least as large) and ignores the rest.
 *
 * The seqlock.  One writer (the heap's thread), any number of readers, no
 * lock, and a reader never keeps a torn copy:
 *
 *   writer:  seq := s + 1 (odd: writing)          relaxed store
 *            every data word                      release stores
 *            seq := s + 2 (even: stable)          release store
 *   reader:  s1 := seq                            acquire load
 *            every data word                      acquire loads
 *            s2 := seq                            relaxed load
 *            the copy is whole iff s1 == s2 and s1 is even; else retry.
 *
 * A release store of a data word orders the odd seq before it; a reader
 * whose acquire load sees that word therefore sees seq >= s + 1 at s2, and
 * retries.  The acquire loads also keep s2 after the data loads.  (Boehm,
 * "Can seqlocks get along with programming language memory models?", 2012,
 * the variant without fences: ThreadSanitizer does not model fences, and
 * on x86-64 these orders cost plain moves.)  The words are atomics, so
 * neither side has a data race; a 64-bit lock-free atomic is address-free,
 * so this holds across processes sharing the mapping.
 */
#ifndef RC_MONITOR_H
#define RC_MONITOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RC_MON_MAGIC   UINT64_C(0x4e4f4d4359434552) /* the bytes "RECYCMON", little-endian */
#define RC_MON_VERSION 1u
#define RC_MON_PREFIX  "recycle-"  /* recycle-PID-SERIAL.mon */
#define RC_MON_SUFFIX  ".mon"
#define RC_MON_TOP     16          /* top types by bytes */
#define RC_MON_NAME    48          /* bytes of a type name, NUL included */
#define RC_MON_PAUSE_BUCKETS 96    /* the pause histogram */

/* The pause histogram: bucket 0 holds pauses under 256 ns; then 4 buckets
 * per doubling, bucket 1 + 4 (k - 8) + q for pauses in
 * [2^k (1 + q/4), 2^k (1 + (q+1)/4)) ns, k = 8..30; the last bucket
 * holds everything from 2^31.75 ns (~3.6 s) up. */
static inline unsigned rc_mon_pause_bucket(uint64_t ns)
{
    if (ns < 256) return 0;
    unsigned k = 63u - (unsigned)__builtin_clzll(ns);
    unsigned q = (unsigned)((ns >> (k - 2)) & 3u);
    unsigned b = 1u + 4u * (k - 8u) + q;
    return b < RC_MON_PAUSE_BUCKETS ? b : RC_MON_PAUSE_BUCKETS - 1;
}
/* The upper edge of bucket b in ns (what a percentile in b is reported as). */
static inline uint64_t rc_mon_bucket_top(unsigned b)
{
    if (b == 0) return 256;
    unsigned k = 8u + (b - 1u) / 4u, q = (b - 1u) % 4u;
    return ((uint64_t)1 << k) + (((uint64_t)(q + 1u) << k) >> 2);
}

typedef struct rc_mon_header {
    uint64_t magic;        /* RC_MON_MAGIC */
    uint32_t version;      /* RC_MON_VERSION */
    uint32_t header_size;  /* sizeof(rc_mon_header) */
    uint32_t data_size;    /* sizeof(rc_mon_data) of the writer */
    int32_t  pid;          /* the writing process */
    uint64_t start_ticks;  /* its start time (/proc/PID/stat field 22) */
    uint64_t serial;       /* the heap's number in the process, from 1 */
    uint64_t heap;         /* the rc_heap's address */
    uint64_t created_ns;   /* CLOCK_MONOTONIC when the heap began */
    char     version_string[16]; /* the library's, "0.1.0" */
} rc_mon_header;

typedef struct rc_mon_type {
    char     name[RC_MON_NAME]; /* truncated, NUL-terminated */
    uint64_t count;             /* live objects of the type */
    uint64_t bytes;             /* their blocks, headers included */
} rc_mon_type;

/* The figures, as of updated_ns.  "Bytes" are bytes of live blocks (objects
 * with their headers, and buffers), as rc_heap_memory_stats counts them. */
typedef struct rc_mon_data {
    uint64_t updated_ns;      /* CLOCK_MONOTONIC of this update */
    uint64_t updates;         /* publications so far */
    uint64_t bytes_in_use;    /* live blocks */
    uint64_t bytes_held;      /* mapped from the system (bytes_from_os) */
    uint64_t bytes_peak;      /* the most bytes_in_use any update saw */
    uint64_t bytes_at_start;  /* bytes_in_use when the monitor started */
    uint64_t objects;         /* live objects, tracked or not */
    uint64_t objects_at_start;
    uint64_t tracked[3];      /* tracked objects per generation */
    uint64_t frozen;          /* tracked objects frozen (rc_gc_freeze) */
    uint64_t garbage;         /* the garbage list's length */
    uint64_t collections[3];  /* per generation */
    uint64_t collected;       /* objects collections freed */
    uint64_t uncollectable;
    uint64_t pause_total_ns;
    uint64_t pause_max_ns;
    uint64_t pause_p50_ns;    /* percentiles from the histogram: the upper */
    uint64_t pause_p90_ns;    /* edge of the bucket, at most pause_max_ns; */
    uint64_t pause_p99_ns;    /* 0 before the first collection */
    uint64_t allocs;          /* objects allocated since the start */
    uint64_t alloc_bytes;     /* their bytes */
    uint64_t frees;           /* objects freed */
    uint64_t alloc_rate;      /* objects allocated per second over the last */
    uint64_t alloc_byte_rate; /* update interval; bytes per second */
    uint64_t ntypes;          /* types with live objects */
    uint64_t ntop;            /* entries used in top[] */
    rc_mon_type top[RC_MON_TOP]; /* largest by bytes first */
    uint64_t pause_hist[RC_MON_PAUSE_BUCKETS]; /* collections per bucket */
} rc_mon_data;

#define RC_MON_WORDS (sizeof(rc_mon_data) / sizeof(uint64_t))
_Static_assert(sizeof(rc_mon_data) % sizeof(uint64_t) == 0, "data is whole words");
_Static_assert(sizeof(rc_mon_header) % 8 == 0, "seq is 8-aligned");

typedef struct rc_mon_file {
    rc_mon_header    hdr;
    _Atomic uint64_t seq;
    _Atomic uint64_t data[RC_MON_WORDS];
} rc_mon_file;

/* Writer: publishes *d (the caller is the file's only writer). */
static inline void rc_mon_write(rc_mon_file *f, const rc_mon_data *d)
{
    uint64_t s = atomic_load_explicit(&f->seq, memory_order_relaxed);
    atomic_store_explicit(&f->seq, s + 1, memory_order_relaxed);
    const uint64_t *w = (const uint64_t *)(const void *)d;
    for (size_t i = 0; i < RC_MON_WORDS; i++)
        atomic_store_explicit(&f->data[i], w[i], memory_order_release);
    atomic_store_explicit(&f->seq, s + 2, memory_order_release);
}

/* Reader: one whole copy into *d, trying up to `tries` times; 0, or -1 if
 * every try overlapped a write (or no update was ever published). */
static inline int rc_mon_read(const rc_mon_file *f, rc_mon_data *d, int tries)
{
    uint64_t *w = (uint64_t *)(void *)d;
    for (int t = 0; t < tries; t++) {
        uint64_t s1 = atomic_load_explicit((_Atomic uint64_t *)&f->seq, memory_order_acquire);
        if (s1 & 1) continue;
        for (size_t i = 0; i < RC_MON_WORDS; i++)
            w[i] = atomic_load_explicit((_Atomic uint64_t *)&f->data[i], memory_order_acquire);
        uint64_t s2 = atomic_load_explicit((_Atomic uint64_t *)&f->seq, memory_order_relaxed);
        if (s1 == s2 && s1 != 0) return 0;
    }
    return -1;
}

#endif /* RC_MONITOR_H */
