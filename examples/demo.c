/* demo.c — recycle in five short scenes, run by `make demo`.
 *
 *  1. Objects freed at once by counting.
 *  2. Two containers that refer to each other: counting cannot free them,
 *     the cycle collector does.
 *  3. Automatic collection starting by itself past the threshold.
 *  4. Statistics per generation, and the allocator's memory statistics.
 *  5. The garbage list under RC_DEBUG_SAVEALL.
 */
#include <recycle.h>

#include <stdio.h>

/* A "pair": a container with two references, like a Lisp cons cell. */
typedef struct pair {
    const char *name;
    void       *left, *right;
} pair;

static int pair_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    pair *p = obj;
    int r;
    if (p->left && (r = visit(&p->left, arg))) return r;
    if (p->right && (r = visit(&p->right, arg))) return r;
    return 0;
}

static int verbose = 1;
static void pair_release(void *obj)
{
    pair *p = obj;
    if (verbose && p->name) printf("    freed %s\n", p->name);
}

static const rc_type pair_type = {
    .name = "pair",
    .size = sizeof(pair),
    .traverse = pair_traverse, /* a container: tracked by the collector */
    .release = pair_release,
};

static pair *new_pair(rc_heap *h, const char *name)
{
    pair *p = rc_new(h, &pair_type);
    if (p) p->name = name;
    return p;
}

static void print_stats(rc_heap *h)
{
    rc_gen_stats st[3];
    size_t count[3];
    rc_gc_get_stats(h, st);
    rc_gc_get_count(h, count);
    printf("    gen  tracked  collections  collected  uncollectable  max pause\n");
    for (int g = 0; g < 3; g++)
        printf("    %3d  %7llu  %11llu  %9llu  %13llu  %6.1f us\n", g,
               (unsigned long long)st[g].tracked, (unsigned long long)st[g].collections,
               (unsigned long long)st[g].collected, (unsigned long long)st[g].uncollectable,
               st[g].pause_ns_max / 1000.0);
    printf("    counts since the last collections: %zu %zu %zu\n", count[0], count[1],
           count[2]);
}

int main(void)
{
    printf("recycle %s — reference counting plus a cycle collector for C\n\n",
           rc_version_string());
    rc_heap *h = rc_heap_new(NULL);
    if (!h) {
        fprintf(stderr, "rc_heap_new: %s\n", rc_strerror(rc_last_error(NULL)));
        return 1;
    }

    printf("1. Counting frees an object the moment its last reference goes.\n");
    pair *parent = new_pair(h, "parent");
    pair *child = new_pair(h, "child");
    rc_setref(&parent->left, child); /* parent holds a reference to child */
    rc_decref(child);                /* we drop ours: parent still holds one */
    printf("    child's count is %zu (held by parent)\n", rc_refcount(child));
    printf("    dropping parent:\n");
    rc_decref(parent); /* frees parent, which drops child, which is freed */

    printf("\n2. A cycle: a and b refer to each other.\n");
    rc_gc_disable(h); /* so that nothing collects behind our back */
    pair *a = new_pair(h, "a");
    pair *b = new_pair(h, "b");
    rc_setref(&a->left, b);
    rc_setref(&b->left, a);
    rc_decref(a);
    rc_decref(b);
    printf("    we dropped both; counts are still %zu and %zu, nothing was freed.\n",
           rc_refcount(a), rc_refcount(b));
    printf("    rc_gc_collect(h, 2):\n");
    long found = rc_gc_collect(h, 2);
    printf("    the collector found %ld unreachable objects.\n", found);
    rc_gc_enable(h);

    printf("\n3. Automatic collection: threshold 700 container allocations.\n");
    verbose = 0;
    for (int i = 0; i < 2000; i++) { /* 2,000 self-cycles, never collected by hand */
        pair *p = new_pair(h, NULL);
        rc_setref(&p->left, p);
        rc_decref(p);
    }
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    printf("    after making 2,000 garbage cycles: %llu automatic collections of\n"
           "    generation 0 ran and freed %llu objects.\n",
           (unsigned long long)st[0].collections, (unsigned long long)st[0].collected);

    printf("\n4. Statistics per generation (rc_gc_get_stats):\n");
    pair *keep[1000];
    for (int i = 0; i < 1000; i++) keep[i] = new_pair(h, NULL); /* live: promoted */
    rc_gc_collect(h, 1);
    print_stats(h);
    rc_memory_stats ms;
    rc_heap_memory_stats(h, &ms);
    printf("    memory: %zu bytes in live blocks, %zu held from the OS in %zu arena(s),\n"
           "    %zu pool(s) in use, fragmentation %.0f%%\n",
           ms.bytes_in_use, ms.bytes_from_os, ms.arenas_in_use, ms.pools_in_use,
           ms.fragmentation * 100);
    for (int i = 0; i < 1000; i++) rc_decref(keep[i]);

    printf("\n5. RC_DEBUG_SAVEALL keeps what the collector finds in the garbage list.\n");
    verbose = 1;
    rc_gc_set_debug(h, RC_DEBUG_SAVEALL);
    pair *x = new_pair(h, "x");
    rc_setref(&x->right, x);
    rc_decref(x);
    found = rc_gc_collect(h, 2);
    printf("    collect found %ld; the garbage list holds %zu object(s):\n", found,
           rc_gc_garbage_count(h));
    for (size_t i = 0; i < rc_gc_garbage_count(h); i++) {
        pair *g = rc_gc_garbage_get(h, i);
        printf("    [%zu] a %s named %s, count %zu\n", i, rc_type_of(g)->name, g->name,
               rc_refcount(g));
    }
    rc_gc_set_debug(h, 0);
    printf("    breaking its cycle and clearing the list:\n");
    rc_setref(&x->right, NULL);
    rc_gc_garbage_clear(h);

    rc_heap_free(h);
    printf("\nDone: every object was freed.\n");
    return 0;
}
