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
