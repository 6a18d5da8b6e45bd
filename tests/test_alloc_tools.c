/* test_alloc_tools.c — the pool allocator is visible to memory checkers
 * (src/track.h): a pooled block used after its free is reported, as
 * QuickJS's pool is not.  Each deliberate bug runs in a forked child so the
 * test itself survives it.
 *
 *   built with ASan:          the child writes (or reads) a freed block (a
 *                             buffer of rc_buf_alloc too), or
 *                             page memory never handed out; the parent
 *                             checks the child died and that its stderr
 *                             names the error ("use-after-poison", which is
 *                             how ASan reports manually poisoned memory, or
 *                             "use-after-free").
 *   built with RC_VALGRIND=1  the child makes bad accesses and reports
 *   and run under valgrind:   VALGRIND_COUNT_ERRORS before and after each
 *                             through a pipe; the parent checks the count
 *                             rose.  The child's exit status is ignored, so
 *                             the test passes with or without
 *                             --error-exitcode: only the parent's status is
 *                             the test's, and the parent makes no error.
 *                             The child's deliberate errors DO appear in the
 *                             log (its own "ERROR SUMMARY: 2 errors"); a CI
 *                             step that greps valgrind logs for errors must
 *                             skip this test.  Run it as:
 *                               CHECK_NOFORK=1 valgrind --leak-check=full \
 *                                 --error-exitcode=9 ./test_alloc_tools
 *                             (valgrind must start the test binary itself:
 *                             `valgrind env ... ./test` checks only `env`).
 *   built with neither:       prints "skipped: not built with ASan/valgrind"
 *                             and passes.
 */
#include "internal.h"
#include "track.h"
#include "check.h"

#include <errno.h>

#if RC_TRACK_ENABLED
static int fake_heap;
#define OWNER ((rc_heap *)&fake_heap)
#endif

#if defined(RC__ASAN)

enum { BAD_WRITE, BAD_READ, BAD_UNUSED, BAD_BIG, BAD_BUF, BAD_BUF_OWNER };

static const rc_type T_OWNER = {"owner", 16, NULL, NULL, NULL, 0};

static void do_bad_access(int kind)
{
    rc__alloc *a = rc__alloc_new(OWNER, 0, 0);
    volatile unsigned char *p = NULL;
    switch (kind) {
    case BAD_WRITE:
        p = rc__alloc_block(a, 64);
        rc__free_block((void *)p);
        p[20] = 1;                       /* write into the freed block */
        break;
    case BAD_READ:
        p = rc__alloc_block(a, 200);
        rc__free_block((void *)p);
        fprintf(stderr, "read %d\n", p[100]);
        break;
    case BAD_UNUSED:
        p = rc__alloc_block(a, 64);
        p[4096] = 1;                     /* page memory never handed out */
        break;
    case BAD_BIG:
        p = rc__alloc_block(a, 40000);
        rc__free_block((void *)p);       /* kept mapped for reuse, poisoned */
        p[30000] = 1;
        break;
    case BAD_BUF:
    case BAD_BUF_OWNER: {                /* buffers (rc_buf_alloc) */
        rc_heap *h = rc_heap_new(NULL);
        void *owner = rc_new(h, &T_OWNER);
        p = rc_buf_alloc(owner, 300);
        p[299] = 1;                      /* fine: live */
        if (kind == BAD_BUF) rc_buf_free(owner, (void *)p);
        else rc_decref(owner);           /* its buffer goes with it */
        p[10] = 1;
        break;
    }
    }
    rc__alloc_destroy(a);
}

/* Runs the bad access in a child with stderr captured; returns the text. */
static char *run_child(int kind, int *status)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        do_bad_access(kind);
        _exit(0); /* not caught */
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fds[0]);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    return buf;
}

static void expect_report(int kind, const char *what)
{
    int status = 0;
    char *text = run_child(kind, &status);
    REQUIRE(text != NULL);
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0)); /* the child died */
    CHECK(strstr(text, "use-after-poison") || strstr(text, "use-after-free"));
    const char *line = strstr(text, "ERROR: AddressSanitizer");
    if (line)
        fprintf(stderr, "  %s: %.*s\n", what, (int)strcspn(line, "\n"), line);
    else
        fprintf(stderr, "  %s: no report; child said:\n%s\n", what, text);
    free(text);
}

TEST(asan_catches_write_after_free)  { expect_report(BAD_WRITE, "write after free"); }
TEST(asan_catches_read_after_free)   { expect_report(BAD_READ, "read after free"); }
TEST(asan_catches_unused_page_memory){ expect_report(BAD_UNUSED, "unused page memory"); }
TEST(asan_catches_big_block_after_free) { expect_report(BAD_BIG, "big block after free"); }
TEST(asan_catches_buffer_after_free)   { expect_report(BAD_BUF, "buffer after rc_buf_free"); }
TEST(asan_catches_buffer_after_owner_died) { expect_report(BAD_BUF_OWNER, "buffer after its owner died"); }

/* And no false alarm: live blocks, reuse, walks, owns and stats are clean. */
static int touch(void *block, void *arg)
{
    (void)arg;
    ((volatile unsigned char *)block)[rc__block_size(block) - 1] ^= 1;
    return 0;
}

TEST(asan_no_false_alarm)
{
    rc__alloc *a = rc__alloc_new(OWNER, 0, 0);
    void *v[3000];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3000; i++) {
            v[i] = rc__alloc_block(a, (size_t)(i * 7 % 20000));
            REQUIRE(v[i] != NULL);
            memset(v[i], i | 1, rc__block_size(v[i])); /* word 1 stays non-zero (alloc.h) */
        }
        CHECK_EQ(rc__alloc_walk(a, touch, NULL), 0);
        for (int i = 0; i < 3000; i += 2)
            rc__free_block(v[i]);
        for (int i = 0; i < 3000; i += 2)
            CHECK(!rc__alloc_owns(a, v[i]));
        rc_memory_stats st;
        rc__alloc_stats(a, &st);
        for (int i = 1; i < 3000; i += 2)
            rc__free_block(v[i]);
    }
    rc__alloc_destroy(a);
    /* memory given back and mapped again is clean for everyone */
    for (int i = 0; i < 20; i++) {
        char *m = malloc((size_t)1 << 20);
        REQUIRE(m != NULL);
        memset(m, 1, (size_t)1 << 20);
        free(m);
    }
}

#elif RC_TRACK_ENABLED /* valgrind */

struct counts { unsigned before, after_write, after_read, after_buf; };

static const rc_type T_OWNER = {"owner", 16, NULL, NULL, NULL, 0};

TEST(valgrind_catches_use_after_free)
{
    if (!RUNNING_ON_VALGRIND) {
        printf("skipped: built with RC_VALGRIND=1 but not running under valgrind\n");
        return;
    }
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct counts c;
        rc__alloc *a = rc__alloc_new(OWNER, 0, 0);
        volatile unsigned char *p = rc__alloc_block(a, 64);
        p[20] = 7;                              /* fine: live */
        rc__free_block((void *)p);
        c.before = VALGRIND_COUNT_ERRORS;
        p[20] = 1;                              /* deliberate: write after free */
        c.after_write = VALGRIND_COUNT_ERRORS;
        volatile unsigned char x = p[40];       /* deliberate: read after free */
        (void)x;
        c.after_read = VALGRIND_COUNT_ERRORS;
        rc__alloc_destroy(a);
        rc_heap *h = rc_heap_new(NULL);         /* a buffer (rc_buf_alloc) */
        void *owner = rc_new(h, &T_OWNER);
        p = rc_buf_alloc(owner, 300);
        p[299] = 7;                             /* fine: live */
        rc_buf_free(owner, (void *)p);
        p[10] = 1;                              /* deliberate: write after rc_buf_free */
        c.after_buf = VALGRIND_COUNT_ERRORS;
        rc_heap_free(h);
        ssize_t w = write(fds[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1); /* status ignored: see above */
    }
    close(fds[1]);
    struct counts c = {0, 0, 0, 0};
    ssize_t got;
    while ((got = read(fds[0], &c, sizeof c)) < 0 && errno == EINTR) {}
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    REQUIRE(got == (ssize_t)sizeof c);
    CHECK_GT(c.after_write, c.before);
    CHECK_GT(c.after_read, c.after_write);
    CHECK_GT(c.after_buf, c.after_read);
    fprintf(stderr, "  valgrind counted %u then %u errors (the child's three "
                    "errors above are deliberate)\n", c.after_write - c.before,
            c.after_read - c.after_write);
    fprintf(stderr, "  and %u for the buffer written after rc_buf_free\n",
            c.after_buf - c.after_read);
}

TEST(valgrind_clean_use)
{
    /* Live blocks, reuse, walks, owns and stats make no error, and a
     * destroyed allocator leaves no leak (checked by the run's own leak
     * report). */
    unsigned before = RUNNING_ON_VALGRIND ? VALGRIND_COUNT_ERRORS : 0;
    rc__alloc *a = rc__alloc_new(OWNER, 0, 0);
    void *v[2000];
    for (int i = 0; i < 2000; i++) {
        v[i] = rc__alloc_block(a, (size_t)(i * 13 % 30000));
        REQUIRE(v[i] != NULL);
        memset(v[i], i | 1, rc__block_size(v[i])); /* word 1 stays non-zero (alloc.h) */
    }
    for (int i = 0; i < 2000; i += 3)
        rc__free_block(v[i]);
    for (int i = 0; i < 2000; i += 3)
        CHECK(!rc__alloc_owns(a, v[i]));
    rc_memory_stats st;
    rc__alloc_stats(a, &st);
    CHECK(st.bytes_in_use > 0);
    rc__alloc_destroy(a); /* two thirds still live */
    if (RUNNING_ON_VALGRIND)
        CHECK_UEQ(VALGRIND_COUNT_ERRORS, before);
}

#else

TEST(tools_skipped)
{
    printf("skipped: not built with ASan/valgrind\n");
}

#endif

int main(int argc, char **argv) { return check_main(argc, argv); }
