/* misuse.c — how misuse is reported: the program's handler (or the default,
 * which prints and aborts) and the one message format, naming the object's
 * type and, in debug builds, where it was allocated.
 *
 * Misuse is detected where there may be no heap at hand (rc_incref of a
 * freed object), so the handler is process-wide: set it once, before heaps
 * are used from several threads.
 */
#include "internal.h"

#include <stdlib.h>

static rc_misuse_fn handler;
static void        *handler_data;

void rc_set_misuse_handler(rc_misuse_fn fn, void *data)
{
    handler = fn;
    handler_data = data;
}

void rc__misuse(const char *what, const void *obj, bool is_object)
{
    char desc[320], msg[448];
    if (obj && is_object) rc__describe(RC__HEAD(obj), desc, sizeof desc);
    else snprintf(desc, sizeof desc, "%p", obj);
    snprintf(msg, sizeof msg, "recycle: misuse: %s: %s", what, desc);
    if (handler) {
        handler(msg, obj, handler_data);
        return;
    }
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
    abort();
}

#if RC__PREFIX
/* A different address in every thread: the caller's identity. */
static _Thread_local char this_thread;

bool rc__enter(rc_heap *h, const char *op)
{
    void *me = &this_thread;
    if (__atomic_load_n(&h->owner, __ATOMIC_ACQUIRE) == me) {
        h->owner_depth++;
        return true;
    }
    void *none = NULL;
    if (__atomic_compare_exchange_n(&h->owner, &none, me, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        h->owner_depth = 1;
        return true;
    }
    char what[96];
    snprintf(what, sizeof what, "%s: heap used by two threads at once", op);
    rc__misuse(what, h, false);
    return false;
}

void rc__leave(rc_heap *h)
{
    if (--h->owner_depth == 0) __atomic_store_n(&h->owner, NULL, __ATOMIC_RELEASE);
}
#endif
