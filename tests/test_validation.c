/* test_validation.c — settings outside their range get RC_EINVAL and change
 * nothing (issue 12, item 7): debug bits outside RC_DEBUG_ALL, gc_enabled
 * other than 0 and 1, thresholds above RC_THRESHOLD_MAX (a negative int
 * converted to size_t), in rc_config and in the setters.
 */
#include "check.h"
#include "recycle.h"

#include <limits.h>

/* rc_heap_new(cfg) must fail with RC_EINVAL. */
static void refused(const rc_config *cfg, const char *what)
{
    rc_heap *h = rc_heap_new(cfg);
    if (h) {
        CHECK_FAIL_AT(__FILE__, __LINE__, "rc_heap_new accepted %s", what);
        rc_heap_free(h);
        return;
    }
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
}

static void accepted(const rc_config *cfg)
{
    rc_heap *h = rc_heap_new(cfg);
    REQUIRE(h != NULL);
    CHECK_EQ(rc_heap_free(h), 0);
}

TEST(config_debug_bits_outside_the_defined_ones)
{
    rc_config cfg;
    for (unsigned bit = 0; bit < sizeof(unsigned) * CHAR_BIT; bit++) {
        rc_config_init(&cfg);
        cfg.debug = 1u << bit;
        if (cfg.debug & RC_DEBUG_ALL) accepted(&cfg);
        else refused(&cfg, "an undefined debug bit");
    }
    rc_config_init(&cfg);
    cfg.debug = RC_DEBUG_ALL;
    accepted(&cfg);
}

TEST(config_gc_enabled_zero_or_one)
{
    static const int bad[] = {2, -1, INT_MAX, INT_MIN};
    rc_config cfg;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc_config_init(&cfg);
        cfg.gc_enabled = bad[i];
        refused(&cfg, "gc_enabled not 0 or 1");
    }
    rc_config_init(&cfg);
    cfg.gc_enabled = 0;
    accepted(&cfg);
}

static const size_t bad_thresholds[] = {(size_t)-1, (size_t)(long)-700, RC_THRESHOLD_MAX + 1};

TEST(config_thresholds_above_the_bound)
{
    rc_config cfg;
    for (int g = 0; g < 3; g++) {
        for (size_t i = 0; i < sizeof bad_thresholds / sizeof *bad_thresholds; i++) {
            rc_config_init(&cfg);
            cfg.threshold[g] = bad_thresholds[i];
            refused(&cfg, "a wrapped threshold");
        }
        rc_config_init(&cfg);
        cfg.threshold[g] = RC_THRESHOLD_MAX;
        accepted(&cfg);
    }
}

typedef struct cell { void *next; } cell;
static int cell_traverse(void *o, rc_visit_fn v, void *a) { return v(&((cell *)o)->next, a); }
static const rc_type cell_type = {"cell", sizeof(cell), cell_traverse, NULL, NULL, 0};

static uint64_t collections(rc_heap *h)
{
    rc_gen_stats st[3];
    rc_gc_get_stats(h, st);
    return st[0].collections + st[1].collections + st[2].collections;
}

/* The case: a threshold set from a negative int turned automatic
 * collection off (100k cyclic allocations, no collection).  Refused, the
 * old thresholds stay and collections go on. */
TEST(set_threshold_refuses_wrapped_values)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    for (int g = 0; g < 3; g++) {
        for (size_t i = 0; i < sizeof bad_thresholds / sizeof *bad_thresholds; i++) {
            size_t t[3] = {700, 10, 10};
            t[g] = bad_thresholds[i];
            CHECK_EQ(rc_gc_set_threshold(h, t[0], t[1], t[2]), -1);
            CHECK_EQ(rc_last_error(h), RC_EINVAL);
            size_t now[3];
            rc_gc_get_threshold(h, now);
            CHECK_UEQ(now[0], 700);
            CHECK_UEQ(now[1], 10);
            CHECK_UEQ(now[2], 10);
        }
    }
    CHECK_EQ(rc_gc_set_threshold(h, 500, RC_THRESHOLD_MAX, 10), 0);
    CHECK_EQ(rc_gc_set_threshold(h, 700, 10, 10), 0);
    CHECK_EQ(rc_gc_set_threshold(NULL, 1, 1, 1), -1);
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_EQ(rc_gc_set_threshold(h, (size_t)-1, 10, 10), -1);
    for (int i = 0; i < 100000; i++) {
        cell *c = rc_new(h, &cell_type);
        REQUIRE(c != NULL);
        rc_setref(&c->next, c);
        rc_decref(c);
    }
    CHECK_GT(collections(h), 100);
    CHECK_EQ(rc_heap_free(h), 0);
}

TEST(set_debug_refuses_undefined_bits)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h != NULL);
    CHECK_EQ(rc_gc_set_debug(h, RC_DEBUG_STATS), 0);
    for (unsigned bit = 0; bit < sizeof(unsigned) * CHAR_BIT; bit++) {
        unsigned flags = 1u << bit;
        if (flags & RC_DEBUG_ALL) continue;
        CHECK_EQ(rc_gc_set_debug(h, flags | RC_DEBUG_SAVEALL), -1);
        CHECK_EQ(rc_last_error(h), RC_EINVAL);
        CHECK_EQ(rc_gc_get_debug(h), RC_DEBUG_STATS); /* unchanged */
    }
    CHECK_EQ(rc_gc_set_debug(h, RC_DEBUG_ALL), 0);
    CHECK_EQ(rc_gc_get_debug(h), RC_DEBUG_ALL);
    CHECK_EQ(rc_gc_set_debug(h, 0), 0);
    CHECK_EQ(rc_gc_set_debug(NULL, 0), -1);
    CHECK_EQ(rc_last_error(NULL), RC_EINVAL);
    CHECK_EQ(rc_heap_free(h), 0);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
