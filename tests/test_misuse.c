/* test_misuse.c — debug builds (RC_DEBUG) turn misuse into a clear message:
 * a count going below zero, a double free, use of a freed object (incref),
 * a reference into another heap found while collecting, a pointer that is
 * no rc object.  Each scenario runs twice, in a child process:
 *   - with the default handler: the child must abort, and its stderr must
 *     carry the message, naming the object's type and "allocated at
 *     <file>:<line>" (the line of the rc_new call below);
 *   - with a handler (rc_set_misuse_handler) that records the message and
 *     returns: the call does nothing more and the program goes on — more
 *     objects, a full collection, rc_heap_check, rc_heap_free.
 * Release builds detect nothing (API.md: nothing aborts in a release
 * build): there each test says so and passes.
 */
#include "check.h"

#include <recycle.h>

#if defined(RC_DEBUG) && RC_DEBUG

typedef struct thing {
    void *slot[2];
} thing;

static int thing_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    thing *t = obj;
    for (int i = 0; i < 2; i++) {
        if (t->slot[i]) {
            int r = visit(&t->slot[i], arg);
            if (r) return r;
        }
    }
    return 0;
}

static const rc_type T_THING = {"misuse_thing", sizeof(thing), thing_traverse, NULL, NULL, 0};

/* A release that drops a reference it does not own: its object's count is
 * already zero. */
static void drop_self(void *obj) { rc_decref(obj); }
static const rc_type T_SELFDROP = {"misuse_selfdrop", sizeof(thing), NULL, NULL, drop_self, 0};

/* The child announces the site of the rc_new call the message must name. */
static void site_is(const char *file, int line)
{
    fprintf(stderr, "expected site: allocated at %s:%d>\n", file, line);
}

/* ---- the scenarios: each commits one misuse, then goes on ---- */

/* After the misuse (when the handler returned): the heap still works. */
static void carry_on(rc_heap *h)
{
    thing *a = rc_new(h, &T_THING), *b = rc_new(h, &T_THING);
    REQUIRE(a && b);
    rc_setref(&a->slot[0], b);
    rc_setref(&b->slot[0], a);
    rc_decref(a);
    rc_decref(b);
    CHECK_EQ(rc_gc_collect(h, 2), 2);
    CHECK_EQ(rc_heap_check(h, stderr), 0);
    rc_heap_free(h);
}

static void sc_count_below_zero(void)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    void *o = rc_new(h, &T_SELFDROP); site_is(__FILE__, __LINE__);
    REQUIRE(o);
    rc_decref(o); /* its release drops one reference too many */
    carry_on(h);
}

static void sc_double_free(void)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    thing *o = rc_new(h, &T_THING); site_is(__FILE__, __LINE__);
    REQUIRE(o);
    rc_decref(o);
    rc_decref(o); /* freed already */
    carry_on(h);
}

static void sc_incref_freed(void)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    thing *o = rc_new(h, &T_THING); site_is(__FILE__, __LINE__);
    REQUIRE(o);
    rc_decref(o);
    rc_incref(o); /* use after free */
    carry_on(h);
}

static void sc_other_heap(void)
{
    rc_heap *h1 = rc_heap_new(NULL), *h2 = rc_heap_new(NULL);
    REQUIRE(h1 && h2);
    thing *mine = rc_new(h1, &T_THING);
    thing *foreign = rc_new(h2, &T_THING); site_is(__FILE__, __LINE__);
    REQUIRE(mine && foreign);
    mine->slot[0] = foreign; /* steals the reference: an object of h2 in h1 */
    rc_gc_collect(h1, 2);    /* the collection finds it */
    mine->slot[0] = NULL;
    rc_decref(foreign);
    rc_decref(mine);
    rc_heap_free(h2);
    carry_on(h1);
}

static void sc_not_an_object(void)
{
    rc_heap *h = rc_heap_new(NULL);
    REQUIRE(h);
    static _Alignas(16) unsigned char buf[256];
    memset(buf, 0x5a, sizeof buf);
    rc_incref(buf + 128); /* a pointer into a plain buffer */
    carry_on(h);
}

/* ---- running one ---- */

static char handled[512];
static int handled_count;
static const void *handled_obj;

static void record(const char *message, const void *obj, void *data)
{
    (void)data;
    snprintf(handled, sizeof handled, "%s", message);
    handled_obj = obj;
    handled_count++;
}

/* Runs fn in a child whose stderr goes to a file; returns the wait status
 * and the text. */
static int in_child(void (*fn)(void), int handler, char **text)
{
    FILE *err = check_capture_open();
    REQUIRE(err != NULL);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fileno(err), 2);
        alarm(60);
        check_failures = 0;
        if (handler) rc_set_misuse_handler(record, NULL);
        fn();
        if (handler) {
            fprintf(stderr, "handled %d: %s\n", handled_count, handled);
            if (handled_count != 1) check_failures++;
        }
        fprintf(stderr, "went on\n");
        fflush(stderr);
        _exit(check_failures ? 1 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    *text = check_capture_text(err);
    fclose(err);
    return status;
}

static void expect_message(const char *text, const char *what, const char *type)
{
    CHECK_CONTAINS(text, "recycle: misuse: ");
    CHECK_CONTAINS(text, what);
    if (type) {
        /* "expected site: allocated at F:L>" -> the message must say
         * "<TYPE object at ADDR, allocated at F:L>" */
        const char *e = text ? strstr(text, "expected site: ") : NULL;
        REQUIRE(e != NULL);
        char site[300];
        snprintf(site, sizeof site, "%.*s", (int)(strchr(e, '\n') - e - 15), e + 15);
        const char *m = strstr(text, "recycle: misuse: ");
        REQUIRE(m != NULL);
        char want[400];
        snprintf(want, sizeof want, "<%s object at ", type);
        CHECK_CONTAINS(m, want);
        CHECK_CONTAINS(m, site);
    }
}

static void scenario(void (*fn)(void), const char *what, const char *type)
{
    /* 1. the default handler: message on stderr, then abort */
    char *text = NULL;
    int status = in_child(fn, 0, &text);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    REQUIRE(text != NULL);
    expect_message(text, what, type);
    CHECK(strstr(text, "went on") == NULL);
    if (check_failures) fprintf(stderr, "  child's stderr:\n%s\n", text);
    free(text);

    /* 2. a handler that records and returns: the program goes on */
    status = in_child(fn, 1, &text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    REQUIRE(text != NULL);
    expect_message(text, what, type);
    CHECK_CONTAINS(text, "handled 1: recycle: misuse: ");
    CHECK_CONTAINS(text, "went on");
    if (check_failures) fprintf(stderr, "  child's stderr:\n%s\n", text);
    free(text);
}

#define SCENARIO(fn, what, type) scenario(fn, what, type)
#else
#define SCENARIO(fn, what, type) printf("  skipped (release build)\n")
#endif

TEST(misuse_count_below_zero)
{
    SCENARIO(sc_count_below_zero, "count going below zero", "misuse_selfdrop");
}

TEST(misuse_double_free)
{
    SCENARIO(sc_double_free, "decref: use of a freed object", "misuse_thing");
}

TEST(misuse_incref_of_freed_object)
{
    SCENARIO(sc_incref_freed, "incref: use of a freed object", "misuse_thing");
}

TEST(misuse_reference_into_another_heap)
{
    SCENARIO(sc_other_heap, "collect: a reference into another heap", "misuse_thing");
}

TEST(misuse_not_an_rc_object)
{
    SCENARIO(sc_not_an_object, "incref of a pointer that is not an rc object", NULL);
}

int main(int argc, char **argv) { return check_main(argc, argv); }
