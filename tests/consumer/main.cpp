// main.cpp — tests/consumer/main.c's program in C++: a two-node cycle
// collected by a full collection, through every inline function of the
// header (rc_incref, rc_decref, rc_setref, rc_clearref, rc_xincref,
// rc_xdecref).  tests/install_test.sh builds it against the installed
// library; the header_cxx test compiles it with clang++ -std=c++17
// -Weverything -Werror (release and -DRC_DEBUG=1 inline paths), so a header
// that C++ reserves names in or casts C-style in fails the suite.
#include <recycle.h>

#include <cstdio>
#include <cstring>

namespace {

struct node {
    void *next; // a strong reference, or NULL
    void *spare;
};

int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = static_cast<node *>(obj);
    if (n->next) {
        int r = visit(&n->next, arg);
        if (r) return r;
    }
    if (n->spare) return visit(&n->spare, arg);
    return 0;
}

int releases;
void node_release(void *) { releases++; }

// Positional, six fields, as programs wrote rc_type before `describe` was
// added after flags: it must still compile (describe is then null;
// test_leaktools checks that from C).
const rc_type node_type = {"node", sizeof(node), node_traverse, nullptr, node_release, 0};

int fail(const char *what)
{
    std::fprintf(stderr, "consumer_cxx: %s\n", what);
    return 1;
}

} // namespace

int main()
{
    if (rc_version() != RC_VERSION_HEX) return fail("header and library versions differ");

    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0; // nothing collects behind our back
    rc_heap *h = rc_heap_new(&cfg);
    if (!h) return fail(rc_strerror(rc_last_error(nullptr)));

    // The header's constants from C++ too.
    if (rc_gc_set_threshold(h, RC_THRESHOLD_MAX + 1, 10, 10) != -1) return fail("a wrapped threshold");
    if (rc_gc_set_debug(h, RC_DEBUG_ALL) != 0 || rc_gc_set_debug(h, 0) != 0) return fail("debug flags");

    node *a = static_cast<node *>(rc_new(h, &node_type));
    node *b = static_cast<node *>(rc_new(h, &node_type));
    if (!a || !b) return fail(rc_strerror(rc_last_error(h)));
    rc_setref(&a->next, b);
    rc_setref(&b->next, a);
    rc_setref(&a->spare, b);
    rc_clearref(&a->spare);
    rc_xincref(a);
    rc_xdecref(a);
    rc_incref(b);
    rc_decref(b);
    if (rc_refcount(a) != 2 || rc_refcount(b) != 2) return fail("refcounts are not 2 and 2");

    rc_decref(a);
    rc_decref(b); // now only the cycle holds them
    if (releases != 0) return fail("a node was released while still in a cycle");
    if (rc_gc_collect(h, 2) != 2) return fail("the collection did not find the 2-object cycle");
    if (releases != 2) return fail("the cycle's nodes were not both released");

    rc_heap_free(h);
    std::printf("consumer_cxx: recycle %s from C++: collected a 2-object cycle\n",
                rc_version_string());
    return 0;
}
