/* check.h — the test harness: typed asserts that print both operands, and a
 * runner that runs each test in a forked child with a timeout, so that one
 * crashing test is reported by name and the others still run.
 *
 * A test file defines its tests with TEST(name) { ... } and ends with
 *
 *     int main(int argc, char **argv) { return check_main(argc, argv); }
 *
 * Tests register themselves (constructor attribute).  `./test_x name` runs one
 * test; CHECK_NOFORK=1 runs them in-process (for gdb and valgrind).
 * Randomised tests take their seed from check_seed(), which prints it and
 * honours CHECK_SEED=<n> for reproduction.
 */
#ifndef RC_CHECK_H
#define RC_CHECK_H

#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void (*check_fn)(void);
struct check_test { const char *name; check_fn fn; };

#define CHECK_MAX_TESTS 512
static struct check_test check_tests[CHECK_MAX_TESTS];
static int check_ntests;
static int check_failures; /* failures inside the current test */

#define TEST(name)                                                           \
    static void test_##name(void);                                          \
    __attribute__((constructor)) static void check_register_##name(void)    \
    {                                                                        \
        if (check_ntests < CHECK_MAX_TESTS)                                  \
            check_tests[check_ntests++] = (struct check_test){#name, test_##name}; \
    }                                                                        \
    static void test_##name(void)

#define CHECK_FAIL_AT(file, line, ...)                                       \
    do {                                                                     \
        fprintf(stderr, "%s:%d: check failed: ", file, line);                \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        check_failures++;                                                    \
    } while (0)

/* Non-fatal: record and go on. */
#define CHECK(cond)                                                          \
    do { if (!(cond)) CHECK_FAIL_AT(__FILE__, __LINE__, "%s", #cond); } while (0)

/* Fatal: record and leave the test (the child exits non-zero). */
#define REQUIRE(cond)                                                        \
    do { if (!(cond)) { CHECK_FAIL_AT(__FILE__, __LINE__, "%s", #cond);     \
                        check_abort_test(); } } while (0)

#define CHECK_INT_OP(a, op, b)                                               \
    do { long long check_a_ = (long long)(a), check_b_ = (long long)(b);     \
         if (!(check_a_ op check_b_))                                        \
             CHECK_FAIL_AT(__FILE__, __LINE__, "%s %s %s (%lld vs %lld)",    \
                           #a, #op, #b, check_a_, check_b_); } while (0)
#define CHECK_UINT_OP(a, op, b)                                              \
    do { unsigned long long check_a_ = (unsigned long long)(a),              \
                            check_b_ = (unsigned long long)(b);              \
         if (!(check_a_ op check_b_))                                        \
             CHECK_FAIL_AT(__FILE__, __LINE__, "%s %s %s (%llu vs %llu)",    \
                           #a, #op, #b, check_a_, check_b_); } while (0)

#define CHECK_EQ(a, b)  CHECK_INT_OP(a, ==, b)
#define CHECK_NE(a, b)  CHECK_INT_OP(a, !=, b)
#define CHECK_LT(a, b)  CHECK_INT_OP(a, <, b)
#define CHECK_LE(a, b)  CHECK_INT_OP(a, <=, b)
#define CHECK_GT(a, b)  CHECK_INT_OP(a, >, b)
#define CHECK_GE(a, b)  CHECK_INT_OP(a, >=, b)
#define CHECK_UEQ(a, b) CHECK_UINT_OP(a, ==, b)
#define CHECK_PTR_EQ(a, b)                                                   \
    do { const void *check_a_ = (a), *check_b_ = (b);                        \
         if (check_a_ != check_b_)                                           \
             CHECK_FAIL_AT(__FILE__, __LINE__, "%s == %s (%p vs %p)",        \
                           #a, #b, check_a_, check_b_); } while (0)
#define CHECK_NULL(a)    CHECK_PTR_EQ(a, NULL)
#define CHECK_NOTNULL(a) CHECK((a) != NULL)
#define CHECK_STR_EQ(a, b)                                                   \
    do { const char *check_a_ = (a), *check_b_ = (b);                        \
         if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0)     \
             CHECK_FAIL_AT(__FILE__, __LINE__, "%s == %s (\"%s\" vs \"%s\")", \
                           #a, #b, check_a_ ? check_a_ : "(null)",           \
                           check_b_ ? check_b_ : "(null)"); } while (0)
#define CHECK_CONTAINS(hay, needle)                                          \
    do { const char *check_h_ = (hay), *check_n_ = (needle);                 \
         if (!check_h_ || !strstr(check_h_, check_n_))                       \
             CHECK_FAIL_AT(__FILE__, __LINE__, "\"%s\" contains \"%s\"",     \
                           check_h_ ? check_h_ : "(null)", check_n_); } while (0)

static inline void check_abort_test(void) { exit(1); }

/* The seed of a randomised test: CHECK_SEED if set, else from the clock.
 * Printed, so a failure can be reproduced. */
static inline uint64_t check_seed(void)
{
    const char *s = getenv("CHECK_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0)
                      : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    fprintf(stderr, "seed: CHECK_SEED=%" PRIu64 "\n", seed);
    return seed;
}

/* xorshift64*: small, fast, reproducible. */
static inline uint64_t check_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Captures what a function writes to a FILE: open with check_capture_open,
 * read the text with check_capture_text (caller frees). */
static inline FILE *check_capture_open(void) { return tmpfile(); }
static inline char *check_capture_text(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    if (n < 0) return NULL;
    char *buf = malloc((size_t)n + 1);
    if (!buf) return NULL;
    rewind(f);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

static int check_run_one(const struct check_test *t, int fork_it, unsigned timeout)
{
    if (!fork_it) {
        check_failures = 0;
        t->fn();
        return check_failures == 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 0; }
    if (pid == 0) {
        alarm(timeout);
        check_failures = 0;
        t->fn();
        fflush(stdout);
        _exit(check_failures == 0 ? 0 : 1);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "  %s: killed by signal %d%s\n", t->name, WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
        return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static inline int check_main(int argc, char **argv)
{
    const char *nf = getenv("CHECK_NOFORK");
    int fork_it = !(nf && *nf && strcmp(nf, "0") != 0);
    const char *to = getenv("CHECK_TIMEOUT");
    unsigned timeout = to ? (unsigned)atoi(to) : 300;
    int passed = 0, failed = 0;
    for (int i = 0; i < check_ntests; i++) {
        const struct check_test *t = &check_tests[i];
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], t->name) == 0) wanted = 1;
            if (!wanted) continue;
        }
        int ok = check_run_one(t, fork_it, timeout);
        printf("%s %s\n", ok ? "ok  " : "FAIL", t->name);
        fflush(stdout);
        if (ok) passed++; else failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

#endif /* RC_CHECK_H */
