/* gcns.c — the gc namespace: Python's gc module, in MAL. */
#include "mal.h"

void gcns_init(Env *env)
{
    (void)env;
}
