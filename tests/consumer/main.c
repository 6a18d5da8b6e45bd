/* main.c — a program that uses an installed recycle, as a user would: only
 * <recycle.h> and the installed library.  tests/install_test.sh builds it
 * with pkg-config and with find_package(recycle), and runs it.
 *
 * It makes the smallest cycle, two nodes pointing at each other, drops the
 * last outside references, and checks that a full collection finds exactly
 * those two objects.  Exits 0 and prints the library's version on success.
 */
#include <recycle.h>

#include <stdio.h>
#include <string.h>

typedef struct node {
    void *next; /* a strong reference, or NULL */
    int   value;
} node;

static int node_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    node *n = obj;
    if (n->next) {
        int r = visit(&n->next, arg);
        if (r) return r;
    }
    return 0;
}

static int releases;
static void node_release(void *obj)
{
    (void)obj;
    releases++;
}

static const rc_type node_type = {
    .name = "node",
    .size = sizeof(node),
    .traverse = node_traverse,
    .release = node_release,
};

#define FAIL(...) \
    do { fprintf(stderr, "consumer: " __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

int main(void)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d",
             RC_VERSION_MAJOR, RC_VERSION_MINOR, RC_VERSION_PATCH);
    if (strcmp(rc_version_string(), expected) != 0 || rc_version() != RC_VERSION_HEX)
        FAIL("header says %s, library says %s", expected, rc_version_string());

    rc_config cfg;
    rc_config_init(&cfg);
    cfg.gc_enabled = 0; /* nothing collects behind our back */
    rc_heap *h = rc_heap_new(&cfg);
    if (!h)
        FAIL("rc_heap_new: %s", rc_strerror(rc_last_error(NULL)));

    node *a = rc_new(h, &node_type);
    node *b = rc_new(h, &node_type);
    if (!a || !b)
        FAIL("rc_new: %s", rc_strerror(rc_last_error(h)));
    a->value = 1;
    b->value = 2;
    rc_setref(&a->next, b);
    rc_setref(&b->next, a);
    if (rc_refcount(a) != 2 || rc_refcount(b) != 2)
        FAIL("refcounts %zu and %zu, expected 2 and 2", rc_refcount(a), rc_refcount(b));

    rc_decref(a);
    rc_decref(b); /* now only the cycle holds them */
    if (releases != 0)
        FAIL("a node was released while still in a cycle");

    long found = rc_gc_collect(h, 2);
    if (found != 2)
        FAIL("rc_gc_collect found %ld objects, expected 2", found);
    if (releases != 2)
        FAIL("%d nodes released, expected 2", releases);
    if (rc_gc_collect(h, 2) != 0)
        FAIL("a second collection found garbage");

    rc_heap_free(h);
    printf("consumer: recycle %s: collected a 2-object cycle\n", rc_version_string());
    return 0;
}
