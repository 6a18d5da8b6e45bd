// strict.cpp: the public header under clang++ -std=c++17 -Weverything
// -Werror with no group turned off on the command line (header_cxx_strict).
// It instantiates the structs whose layout -Wpadded reports and calls the
// inline paths, so a warning anywhere in the header fails the build.
#include <recycle.h>

int strict_use(rc_heap *h, void **slot);
int strict_use(rc_heap *h, void **slot)
{
    static rc_type t; // zero-initialised: no hooks
    t.name = "strict";
    t.size = 8;
    rc_config cfg;
    rc_config_init(&cfg);
    void *o = rc_new(h, &t);
    rc_setref(slot, o);
    rc_xdecref(o);
    rc_clearref(slot);
    return cfg.gc_enabled;
}
