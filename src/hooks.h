/* hooks.h — the core's one door into the leak-hunting tools (src/tools/).
 * Every call the core makes into them is declared here; nothing else of the
 * tools is visible to the core, so the core reads (and would build) without
 * them, and a tool's internals (src/tools/tools.h) can change without the
 * core's files knowing.
 *
 *   heap.c     rc__tools_check and rc__tools_init at rc_heap_new,
 *              rc__tools_heap_free at rc_heap_free;
 *   object.c   rc__tools_new after every allocation while heap->tools is
 *              set (the slow half of rc_new; the fast path only tests it);
 *   internal.h rc__tools_free in rc__release_and_free, at every death
 *              (by counting or in a collection) while heap->tools is set;
 *   gc.c       reads only whether heap->tools is set (rc__update_trigger
 *              closes the allocator's fast free path then).
 *
 * heap->tools (struct rc__tools, opaque here) is NULL while every tool is
 * off, which is the whole cost of the tools then.  Collections reach the
 * tools that want them (the trace, the monitor) through the public gc
 * callbacks, so the collector calls no tool.
 *
 * Included by internal.h, after the heap and the header it relies on.
 */
#ifndef RC_HOOKS_H
#define RC_HOOKS_H

struct rc__tools; /* src/tools/tools.h; NULL in heap->tools = every tool off */

RC_INTERNAL int  rc__tools_check(const rc_config *cfg);   /* 0 or RC_EINVAL */
/* Applies cfg and the environment; 0, or an error code (cfg's trace file
 * cannot be opened: RC_ENOENT; RC_ENOMEM). */
RC_INTERNAL int  rc__tools_init(rc_heap *h, const rc_config *cfg);
RC_INTERNAL void rc__tools_new(rc_heap *h, void *obj, const char *file, int line,
                               const char *func, void *ra);
RC_INTERNAL void rc__tools_free(rc_heap *h, rc__head *hd); /* before the block goes */

/* rc_heap_free, after its last collection: the leak report, the trace's
 * final snapshot; frees the tools. */
RC_INTERNAL void rc__tools_heap_free(rc_heap *h);
#endif /* RC_HOOKS_H */
