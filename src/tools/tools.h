/* tools.h — what the leak-hunting tools (src/tools/) share among
 * themselves: the per-heap state behind heap->tools, allocation sites, the
 * trace and profile scopes, the monitor's hooks, snapshots' internal
 * calls, the heap graph (whyalive.c), the dominator tree (retained.c) and
 * how an object is described in their output.  The core never includes
 * this header: it calls the tools only through src/hooks.h.
 *
 *   tools.c     the state and its life, the hooks, the environment, output
 *   sites.c     allocation sites
 *   snapshot.c  snapshots and their differences
 *   whyalive.c  external counts, why-alive chains, the leak report
 *   retained.c  the dominator tree and retained sizes
 *   dot.c       reference graphs as DOT
 *   trace.c     the timeline and profile scopes
 *   monitor.c   the live monitor (its file's layout: monitor.h)
 */
#ifndef RC_TOOLS_H
#define RC_TOOLS_H

#include "../internal.h"

#include <stdio.h>

/* One interned allocation site; ids start at 1 (0 = unknown). */
typedef struct rc__site {
    const char *file, *func;
    int         line, nframes;
    void      **frames;
    uint64_t    hash;
} rc__site;

#define RC__SCOPES_MAX 64
typedef struct rc__scope {
    uint32_t name;                       /* index into tools->prof */
    uint64_t t0, allocs, alloc_bytes, frees, free_bytes;
    int64_t  net, peak;
} rc__scope;
typedef struct rc__prof {                /* totals per scope name */
    char            *name;
    rc_profile_stats st;
} rc__prof;

/* Everything the tools keep for one heap; heap->tools is NULL until a tool
 * is turned on (src/hooks.h).  rc_new tests that pointer; the free path tests the
 * allocator's `watched` flag, which rc__update_trigger keeps in step. */
typedef struct rc__tools {
    /* allocation sites (sites.c) */
    bool      sites_on;
    int       depth;          /* backtrace frames */
    unsigned  sample, countdown;
    rc__pmap  obj_site;       /* object -> site id */
    rc__site *site;           /* site[id - 1] */
    uint32_t  nsites, capsites;
    uint32_t *site_index;     /* open addressing over ids by hash */
    uint32_t  capindex;
    const char *last_file, *last_func; /* the last site without frames ... */
    int       last_line;
    uint32_t  last_id;        /* ... and its id (0: none) */
    /* timeline (trace.c) */
    FILE     *trace;
    uint64_t  t0, last_sample;
    uint32_t  tick;
    rc_snapshot *baseline;    /* first snapshot of the trace */
    /* profile scopes (trace.c) */
    rc__scope scope[RC__SCOPES_MAX];
    int       nscopes;
    rc__prof *prof;
    size_t    nprof, capprof;
    /* rc_heap_free prints the leak report */
    bool      leak_report;
    /* the live monitor (monitor.c); NULL = off */
    struct rc__monitor *monitor;
} rc__tools;

RC_INTERNAL rc__tools *rc__tools_get(rc_heap *h);         /* creates; NULL: no memory */


/* sites.c */
RC_INTERNAL int  rc__sites_record(rc__tools *t, const void *obj, const char *file,
                                  int line, const char *func, void *ra);
RC_INTERNAL const rc__site *rc__site_get(const rc_heap *h, const void *obj);
RC_INTERNAL void rc__sites_fini(rc__tools *t);

/* trace.c */
RC_INTERNAL void rc__trace_tick(rc_heap *h);           /* every allocation, when tracing */
RC_INTERNAL void rc__profile_account(rc__tools *t, int64_t bytes); /* + alloc, - free */
RC_INTERNAL void rc__trace_fini(rc_heap *h);           /* final snapshot, close */
RC_INTERNAL void rc__profile_fini(rc__tools *t);

/* monitor.c: the live monitor (its file's layout: monitor.h) */
typedef struct rc__monitor rc__monitor;
/* Starts t->monitor for h (its file, its gc callback); 0 or an error code
 * (RC_ENOENT: no directory for the file or it cannot be made; RC_ENOMEM). */
RC_INTERNAL int  rc__monitor_start(rc_heap *h, rc__tools *t);
RC_INTERNAL void rc__monitor_stop(rc_heap *h, rc__tools *t); /* removes the file */
RC_INTERNAL void rc__monitor_new(rc__monitor *m, rc__head *hd);  /* an object is born */
RC_INTERNAL void rc__monitor_free(rc__monitor *m, rc__head *hd); /* ... and dies */
RC_INTERNAL const char *rc__monitor_path(const rc__monitor *m);  /* its file; tests */

/* snapshot.c: a snapshot that also keeps one object per (type, site) group
 * (valid only until the heap changes), for the leak report and suspects. */
RC_INTERNAL rc_snapshot *rc__snapshot_take(rc_heap *h, const char *label);
RC_INTERNAL void *rc__snapshot_example(const rc_snapshot *s, size_t i); /* TYPE_SITE entry i */
/* The k (type, site) groups of `now` that grew most since `base` (the
 * largest if base is NULL), each with an object of the group; returns how
 * many.  out's strings belong to `now`. */
RC_INTERNAL size_t rc__snapshot_suspects(const rc_snapshot *base, const rc_snapshot *now,
                                         size_t k, rc_stat *out, void **ex);

/* whyalive.c: every live object numbered (tracked ones by their index,
 * others after them) with the references the heap itself holds to it. */
typedef struct rc__graph {
    rc_heap  *h;
    uint32_t  ntracked;  /* h->len when built */
    uint32_t  n;         /* ids: [0, ntracked) tracked slots, then untracked objects */
    rc__pmap  untracked; /* untracked object -> id */
    void    **others;    /* others[id - ntracked] */
    uint32_t *internal;  /* per id: references from heap objects and the garbage list */
} rc__graph;
RC_INTERNAL int      rc__graph_build(rc__graph *g, rc_heap *h); /* 0 or RC_ENOMEM */
RC_INTERNAL void     rc__graph_free(rc__graph *g);
RC_INTERNAL uint32_t rc__graph_id(const rc__graph *g, const void *obj); /* UINT32_MAX: none */
RC_INTERNAL void    *rc__graph_obj(const rc__graph *g, uint32_t id);    /* NULL: tombstone */
RC_INTERNAL size_t   rc__graph_external(const rc__graph *g, uint32_t id);
/* retained.c: the dominator tree of the heap, rooted at a virtual root (0)
 * whose successors are the objects held from outside and the garbage
 * list's.  While it lives, every object's gc word holds its vertex number
 * (reached ones: 1..n-1, in DFS preorder, idom[w] < w) or more than n:
 * nothing that reads gc as a tracked index (rc__graph, the collector) may
 * run until rc__dom_free.  Memory: at most RC__DOM_BYTES_PER_OBJECT per
 * live object (and 64 KiB), counted in mem and peak. */
#define RC__DOM_BYTES_PER_OBJECT 32u
typedef struct rc__dom {
    rc_heap  *h;
    uint32_t  n;           /* vertices, the root included */
    uint32_t *parent;      /* DFS parents, then (the same array) idom */
    uint32_t *idom;
    uint32_t *count;       /* retained objects per vertex */
    uint64_t *bytes;       /* retained bytes per vertex */
    uint32_t *fc, *ns;     /* the tree's first child / next sibling */
    uint32_t *group;       /* per vertex, for rc__dom_groups */
    size_t    objects;     /* live objects (blocks) of the heap */
    size_t    budget, mem, peak; /* bytes: allowed, held now, at most */
    size_t    max_preds;   /* room for predecessor lists (0: the budget's) */
    size_t    shared_refs; /* references to objects with more than one */
    bool      foreign;     /* a traverse reported a pointer that is no object of h */
    bool      scratch;     /* the gc words hold vertex numbers */
    bool      paged_in;    /* the tree paged the old bands in (gc.c) */
} rc__dom;
/* 0, or RC_EBUSY (a collection runs) / RC_ENOMEM (then nothing is held). */
RC_INTERNAL int      rc__dom_build(rc__dom *d, rc_heap *h);
/* The same with at most max_preds predecessor entries at once, and a
 * depth-first search whose stack gives way (its lists, then what it keeps
 * for the semidominators) past max_stack entries; 0: the budget's (tests:
 * windows, single-vertex passes and every fallback on small graphs). */
RC_INTERNAL int      rc__dom_build_with(rc__dom *d, rc_heap *h, size_t max_preds,
                                        size_t max_stack);
RC_INTERNAL void     rc__dom_free(rc__dom *d);          /* gives the gc words back */
RC_INTERNAL uint32_t rc__dom_vertex(const rc__dom *d, const void *obj); /* 0: not reached */
/* Per group: the union of its members' subtrees (what Chrome's summary
 * view shows for a class).  rc__dom_group_array gives the array of each
 * vertex's group, all UINT32_MAX (none) at first, for the caller to fill
 * (NULL: no memory); rc__dom_groups totals them, each group g counted as
 * map[g] when map is not NULL; out has ngroups entries. */
RC_INTERNAL uint32_t *rc__dom_group_array(rc__dom *d);
RC_INTERNAL int      rc__dom_groups(rc__dom *d, const uint32_t *map, size_t ngroups,
                                    rc_retained *out);
/* The up to n children of the root with the most retained bytes, largest
 * first, into v; returns how many. */
RC_INTERNAL size_t   rc__dom_top(const rc__dom *d, uint32_t *v, size_t n);
/* The k vertices (the root excepted) that retain the most, in ascending
 * order (parents before children): the top of the tree; returns how many. */
RC_INTERNAL long     rc__dom_top_part(rc__dom *d, uint32_t *v, size_t k);
/* The objects of vertices v[0..n): obj[i] (stride bytes apart) = v[i]'s. */
RC_INTERNAL int      rc__dom_objects(rc__dom *d, const uint32_t *v, size_t n, void **obj,
                                     size_t stride);

/* Whether obj is a live object of h (safe for any pointer). */
RC_INTERNAL bool     rc__is_live_object(const rc_heap *h, const void *obj);
/* The type's describe text for obj in buf (len bytes, always terminated;
 * "" when the type has none or it failed); returns its length. */
#define RC__DESCRIBE_MAX 128
RC_INTERNAL size_t   rc__describe_text(const void *obj, char *buf, size_t len);
/* "<TYPE object at ADDR>", or "<TYPE object at ADDR: DESCRIPTION>". */
RC_INTERNAL void     rc__describe_brief(const void *obj, char *buf, size_t len);
/* Writes the brief form, then ", allocated at FILE:LINE in FUNC". */
RC_INTERNAL void     rc__describe_obj(const rc_heap *h, const void *obj, FILE *f);
/* Writes s as a JSON string (quotes included); NULL as null. */
RC_INTERNAL void     rc__json_str(FILE *f, const char *s);

#endif /* RC_TOOLS_H */
