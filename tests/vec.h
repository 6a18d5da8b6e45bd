/* vec.h — a test container with a variable number of reference slots:
 * n, then the slots (allocate with rc_new_var(h, t, sizeof(vec) + n *
 * sizeof(void *))).  test_leaktools.c and test_retained.c build their
 * graphs from it, each with an rc_type of its own. */
#ifndef RC_TESTS_VEC_H
#define RC_TESTS_VEC_H

#include <recycle.h>
#include <stddef.h>

typedef struct vec {
    size_t n;
    void  *s[];
} vec;

static inline int vec_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    vec *v = obj;
    for (size_t i = 0; i < v->n; i++) {
        int r = visit(&v->s[i], arg);
        if (r) return r;
    }
    return 0;
}

#endif
