/* test_model.c — model-based random testing: random operation lists run
 * against the heap and, beside it, an independent oracle (tests/model_ops.h
 * describes both and what is compared).  A mismatch prints the seed, then
 * shrinks the operation list (shortest failing prefix, then chunks removed
 * while it still fails) and prints the shrunk list as a C initializer and
 * as a trace, ready to become a case of model_regressions below.
 *
 * Runs are split into episodes (a fresh heap each, its thresholds, policy
 * and memory limit drawn from its seed).  The episode seeds are fixed, so
 * CI is reproducible; long runs start where CI stops:
 *   CHECK_SEED=<s>      run only the episode with seed s (and shrink it if it fails)
 *   RC_MODEL_SEED=<s>   the first episode's seed (1); episodes take s, s+1, ...
 *   RC_MODEL_OPS=<n>    operations in all (the episodes that make them up)
 *   MODEL_SEEDS=<n>     run n episodes
 *   MODEL_OPS=<n>       operations per episode
 *   MODEL_FAULT_OPS=<n> operations of the fault-injection run
 * Defaults depend on the build: 1,000,000 checked operations in the release
 * and sanitizer builds, fewer in the debug build (rc_heap_check after every
 * operation) and far fewer under valgrind.
 */
#include "check.h"
#include "model_ops.h"

#include <stddef.h>
#include <sys/time.h>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/common_interface_defs.h>
#  define MODEL_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    include <sanitizer/common_interface_defs.h>
#    define MODEL_ASAN 1
#  endif
#endif

#if defined(RC_VALGRIND) && RC_VALGRIND
#  define MODEL_BUILD "valgrind"
#  define MODEL_EPISODES 10
#  define MODEL_EPISODE_OPS 2500
#  define MODEL_VERIFY_EVERY 8
#  define MODEL_HEAP_CHECK_EVERY 4
#  define MODEL_FAULT_RUN_OPS 150
#elif defined(RC_DEBUG) && RC_DEBUG
#  define MODEL_BUILD "debug"
#  define MODEL_EPISODES 120
#  define MODEL_EPISODE_OPS 2500
#  define MODEL_VERIFY_EVERY 1 /* and rc_heap_check after every operation */
#  define MODEL_HEAP_CHECK_EVERY 1
#  define MODEL_FAULT_RUN_OPS 300
#elif defined(MODEL_ASAN)
#  define MODEL_BUILD "asan"
#  define MODEL_EPISODES 250
#  define MODEL_EPISODE_OPS 4000
#  define MODEL_VERIFY_EVERY 4
#  define MODEL_HEAP_CHECK_EVERY 8
#  define MODEL_FAULT_RUN_OPS 500
#else
#  define MODEL_BUILD "release"
#  define MODEL_EPISODES 250
#  define MODEL_EPISODE_OPS 4000
#  define MODEL_VERIFY_EVERY 4
#  define MODEL_HEAP_CHECK_EVERY 8
#  define MODEL_FAULT_RUN_OPS 500
#endif

static size_t env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? (size_t)strtoull(s, NULL, 0) : dflt;
}

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* An episode's heap settings, drawn from its seed. */
static void episode_config(uint64_t seed, m_config *cfg)
{
    static const size_t t0s[] = {2, 5, 10, 25, 50, 100, 700};
    static const size_t lives[] = {40, 120, 250, 400};
    uint64_t s = seed ^ 0xc0ffee1234567ull;
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = seed;
    cfg->threshold[0] = t0s[m_rand(&s) % 7];
    cfg->threshold[1] = 1 + m_rand(&s) % 10;
    cfg->threshold[2] = 1 + m_rand(&s) % 10;
    cfg->policy = m_rand(&s) % 4 == 0 ? RC_POLICY_ADAPTIVE : RC_POLICY_PYTHON;
    cfg->max_live = lives[m_rand(&s) % 4];
    /* One episode in six under a memory limit of a few times what its
     * population needs: allocations fail there, in user code too. */
    if (m_rand(&s) % 6 == 0) cfg->memory_limit = cfg->max_live * (64 + m_rand(&s) % 192);
    cfg->verify_every = MODEL_VERIFY_EVERY;
    cfg->heap_check_every = MODEL_HEAP_CHECK_EVERY;
    cfg->out = stderr;
}

/* ------------------------------------------------------------------ */
/* Crash attribution: which episode was running                        */
/* ------------------------------------------------------------------ */

static volatile uint64_t crash_seed;
static volatile unsigned long crash_fail_after;
static volatile int crash_armed;

static void crash_note(void)
{
    if (!crash_armed) return;
    char buf[200];
    int n = snprintf(buf, sizeof buf,
                     "model: crashed in episode CHECK_SEED=%llu (fail_alloc_after %lu) at op "
                     "%zu; rerun it alone to shrink it\n",
                     (unsigned long long)crash_seed, (unsigned long)crash_fail_after,
                     m_cur ? m_cur->op_no : (size_t)0);
    if (n > 0 && write(2, buf, (size_t)n) < 0) {}
}

static void crash_signal(int sig)
{
    crash_note();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void crash_arm(uint64_t seed, unsigned long fail_after)
{
    crash_seed = seed;
    crash_fail_after = fail_after;
    if (!crash_armed) {
        signal(SIGSEGV, crash_signal);
        signal(SIGBUS, crash_signal);
        signal(SIGABRT, crash_signal);
#ifdef MODEL_ASAN
        __sanitizer_set_death_callback(crash_note);
#endif
    }
    crash_armed = 1;
}

/* ------------------------------------------------------------------ */
/* Shrinking                                                           */
/* ------------------------------------------------------------------ */

/* Whether ops fail (a mismatch or a crash), run in a child process. */
static int replay_fails(const m_config *cfg, const m_op *ops, size_t n)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        alarm(120);
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            dup2(fileno(null), 1);
            dup2(fileno(null), 2);
        }
        m_config c2 = *cfg;
        c2.out = NULL;
        c2.trace = 0;
        int f = m_run(&c2, ops, n, NULL, NULL);
        _exit(f ? 1 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Delta debugging: the shortest failing prefix, then chunks removed while
 * the list still fails, halving the chunk size down to one operation.
 * Returns the new length (ops is rewritten in place). */
static size_t shrink(const m_config *cfg, m_op *ops, size_t n, double budget_s)
{
    double t0 = now_s();
    size_t lo = 0, hi = n; /* prefix hi fails */
    while (lo + 1 < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (replay_fails(cfg, ops, mid)) hi = mid;
        else lo = mid;
    }
    n = hi;
    m_op *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp) return n;
    for (size_t chunk = n / 2 ? n / 2 : 1; chunk >= 1 && now_s() - t0 < budget_s;) {
        int removed = 0;
        for (size_t i = 0; i < n && now_s() - t0 < budget_s;) {
            size_t k = chunk < n - i ? chunk : n - i;
            memcpy(tmp, ops, i * sizeof *ops);
            memcpy(tmp + i, ops + i + k, (n - i - k) * sizeof *ops);
            if (n - k > 0 && replay_fails(cfg, tmp, n - k)) {
                memcpy(ops, tmp, (n - k) * sizeof *ops);
                n -= k;
                removed = 1;
            } else {
                i += k;
            }
        }
        if (!removed) {
            if (chunk == 1) break;
            chunk /= 2;
        }
    }
    free(tmp);
    return n;
}

/* A failing episode: shrink it and print the reproduction. */
static void report_failure(const m_config *cfg, const m_op *ops, size_t n)
{
    fprintf(stderr, "model: episode CHECK_SEED=%llu failed (thresholds %zu/%zu/%zu, policy %d, "
                    "fail_alloc_after %lu, memory_limit %zu, %zu operations); shrinking...\n",
            (unsigned long long)cfg->seed, cfg->threshold[0], cfg->threshold[1],
            cfg->threshold[2], cfg->policy, cfg->fail_after, cfg->memory_limit, n);
    m_op *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy) return;
    memcpy(copy, ops, n * sizeof *ops);
    double budget = (double)env_size("MODEL_SHRINK_SECONDS", 120);
    if (!replay_fails(cfg, copy, n)) {
        fprintf(stderr, "model: the failure does not reproduce in a replay\n");
        free(copy);
        return;
    }
    size_t k = shrink(cfg, copy, n, budget);
    fprintf(stderr, "model: shrunk to %zu operations.  As a regression case "
                    "(threshold %zu/%zu/%zu, policy %d, fail_alloc_after %lu, memory_limit %zu):\n",
            k, cfg->threshold[0], cfg->threshold[1], cfg->threshold[2], cfg->policy,
            cfg->fail_after, cfg->memory_limit);
    m_print_ops(stderr, copy, k);
    fprintf(stderr, "model: the shrunk run, traced:\n");
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        m_config c2 = *cfg;
        c2.trace = 1;
        c2.out = stderr;
        c2.verify_every = 1;
        m_run(&c2, copy, k, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    if (pid > 0) while (waitpid(pid, &status, 0) < 0) {}
    free(copy);
}

/* One episode, in this process; on a mismatch, shrink and report. */
static int run_episode(m_config *cfg, size_t nops, m_stats *st)
{
    crash_arm(cfg->seed, cfg->fail_after);
    m_op *log = NULL;
    int f = m_run(cfg, NULL, nops, st, &log);
    if (f) report_failure(cfg, log, (size_t)st->ops);
    free(log);
    return f;
}

static void add_stats(m_stats *t, const m_stats *s)
{
    t->ops += s->ops;
    t->steps += s->steps;
    t->verifies += s->verifies;
    t->heap_checks += s->heap_checks;
    t->collections += s->collections;
    t->full_collections += s->full_collections;
    t->allocs += s->allocs;
    t->enomem += s->enomem;
    t->finalizers += s->finalizers;
    t->callbacks += s->callbacks;
    t->releases += s->releases;
    t->unsynced += s->unsynced;
    t->uncollectable += s->uncollectable;
    t->resurrected += s->resurrected;
    t->trash_weakrefs += s->trash_weakrefs;
    t->deep_steps += s->deep_steps;
    t->deferred_retracked += s->deferred_retracked;
    t->order_open_callbacks += s->order_open_callbacks;
    t->saveall_saved += s->saveall_saved;
    t->hooks += s->hooks;
    t->hooks_in_collection += s->hooks_in_collection;
    t->hook_collections += s->hook_collections;
    t->hook_allocs += s->hook_allocs;
    t->hook_resyncs += s->hook_resyncs;
    t->untracked += s->untracked;
}

static void print_stats(const char *what, const m_stats *t, double secs)
{
    printf("  %s: %llu operations (%llu steps) checked against the oracle in %.1fs: "
           "%llu collections (%llu full), %llu objects, %llu finalizers, %llu weakref "
           "callbacks, %llu full verifications, %llu rc_heap_check, %llu ENOMEM, %llu resyncs\n",
           what, (unsigned long long)t->ops, (unsigned long long)t->steps, secs,
           (unsigned long long)t->collections, (unsigned long long)t->full_collections,
           (unsigned long long)t->allocs, (unsigned long long)t->finalizers,
           (unsigned long long)t->callbacks, (unsigned long long)t->verifies,
           (unsigned long long)t->heap_checks, (unsigned long long)t->enomem,
           (unsigned long long)t->unsynced);
    printf("  corners reached: %llu uncollectable (legacy), %llu resurrected in collections, "
           "%llu trash weakrefs cleared without callback, %llu steps freeing >= 64 objects, "
           "%llu objects re-tracked from the deferred list, %llu callbacks whose running "
           "depended on the order of frees, %llu objects kept by SAVEALL\n",
           (unsigned long long)t->uncollectable, (unsigned long long)t->resurrected,
           (unsigned long long)t->trash_weakrefs, (unsigned long long)t->deep_steps,
           (unsigned long long)t->deferred_retracked,
           (unsigned long long)t->order_open_callbacks, (unsigned long long)t->saveall_saved);
    printf("  user code calling the API: %llu calls (%llu during a collection), %llu "
           "collections started from the counting path, %llu objects allocated, %llu steps "
           "re-read after a hook collected or froze mid-free, %llu containers untracked\n",
           (unsigned long long)t->hooks, (unsigned long long)t->hooks_in_collection,
           (unsigned long long)t->hook_collections, (unsigned long long)t->hook_allocs,
           (unsigned long long)t->hook_resyncs, (unsigned long long)t->untracked);
    fflush(stdout);
}

/* CHECK_SEED: the episode runs in a child that logs each operation before
 * running it, so that a crash, too, leaves the list to shrink. */
static int reproduce(const m_config *cfg, size_t nops)
{
    FILE *f = tmpfile();
    if (!f) return 1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        m_config c2 = *cfg;
        c2.log_fd = fileno(f);
        m_stats st;
        int r = m_run(&c2, NULL, nops, &st, NULL);
        print_stats("episode", &st, 0);
        _exit(r ? 1 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    int failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (failed) {
        long len = lseek(fileno(f), 0, SEEK_END);
        size_t n = len > 0 ? (size_t)len / sizeof(m_op) : 0;
        m_op *ops = malloc((n ? n : 1) * sizeof *ops);
        if (ops && pread(fileno(f), ops, n * sizeof *ops, 0) == (ssize_t)(n * sizeof *ops))
            report_failure(cfg, ops, n);
        free(ops);
    }
    fclose(f);
    return failed;
}

/* ------------------------------------------------------------------ */
/* The tests                                                           */
/* ------------------------------------------------------------------ */

/* The CI run: fixed episode seeds 1..MODEL_SEEDS (or CHECK_SEED alone);
 * RC_MODEL_SEED and RC_MODEL_OPS move and size it for long runs. */
TEST(model_fixed_seeds)
{
    size_t nops = env_size("MODEL_OPS", MODEL_EPISODE_OPS);
    size_t episodes = env_size("MODEL_SEEDS", MODEL_EPISODES);
    size_t total_ops = env_size("RC_MODEL_OPS", 0);
    if (nops == 0) nops = 1;
    if (total_ops) episodes = (total_ops + nops - 1) / nops;
    uint64_t first = env_size("RC_MODEL_SEED", 1);
    const char *one = getenv("CHECK_SEED");
    if (!one)
        printf("  episodes of %zu operations, seeds %llu..%llu (RC_MODEL_SEED=%llu "
               "MODEL_SEEDS=%zu MODEL_OPS=%zu reruns them)\n", nops, (unsigned long long)first,
               (unsigned long long)(first + episodes - 1), (unsigned long long)first, episodes,
               nops);
    fflush(stdout);
    int keep_going = env_size("MODEL_KEEP_GOING", 0) != 0; /* long runs: go on, list them */
    m_stats total = {0};
    double t0 = now_s();
    int failed = 0;
    for (size_t e = 0; e < episodes && (!failed || keep_going); e++) {
        uint64_t seed = one ? strtoull(one, NULL, 0) : first + (uint64_t)e;
        m_config cfg;
        episode_config(seed, &cfg);
        m_stats st;
        if (one) {
            failed = reproduce(&cfg, nops);
            break;
        }
        if (failed >= 3) cfg.out = NULL; /* keep going: shrink the first three only */
        m_op *log = NULL;
        crash_arm(cfg.seed, cfg.fail_after);
        if (m_run(&cfg, NULL, nops, &st, &log) != 0) {
            if (failed < 3) report_failure(&cfg, log, (size_t)st.ops);
            printf("  episode CHECK_SEED=%llu FAILED\n", (unsigned long long)seed);
            failed++;
        }
        free(log);
        add_stats(&total, &st);
    }
    crash_armed = 0;
    CHECK(!failed);
    if (!one) print_stats(MODEL_BUILD " build", &total, now_s() - t0);
}

/* Fault injection: a short representative run, then the same run with the
 * Nth block allocation (and every later one) failing, for every N: no
 * crash, no leak, rc_heap_check passes, every failing call says RC_ENOMEM,
 * and the oracle's checks hold (steps it cannot follow are checked for
 * soundness and re-read). */
TEST(model_fault_injection)
{
    static const uint64_t seeds[] = {7, 11};
    size_t nops = env_size("MODEL_FAULT_OPS", MODEL_FAULT_RUN_OPS);
    m_stats st, total = {0};
    unsigned long runs = 0, enomem = 0, points = 0;
    double t0 = now_s();
    for (size_t si = 0; si < sizeof seeds / sizeof *seeds; si++) {
        m_config cfg;
        episode_config(seeds[si], &cfg);
        cfg.threshold[0] = 10;
        cfg.verify_every = 1;
        cfg.heap_check_every = 1;
        cfg.max_live = 60;
        REQUIRE(run_episode(&cfg, nops, &st) == 0);
        unsigned long allocs = (unsigned long)st.allocs;
        CHECK_GT(allocs, 50);
        points += allocs + 2;
        for (unsigned long n = 1; n <= allocs + 2; n++) {
            cfg.fail_after = n;
            if (run_episode(&cfg, nops, &st) != 0) {
                CHECK_FAIL_AT(__FILE__, __LINE__, "seed %llu, fail_alloc_after %lu",
                              (unsigned long long)seeds[si], n);
                break;
            }
            if (n <= allocs) CHECK_GT(st.enomem, 0);
            enomem += (unsigned long)st.enomem;
            add_stats(&total, &st);
            runs++;
        }
    }
    crash_armed = 0;
    printf("  fault injection: %lu runs of %zu operations (2 seeds, every allocation 1..N+2 "
           "failing in turn, %lu points): %lu RC_ENOMEM reported and checked, %llu operations "
           "checked, %llu steps re-read after a collection the oracle could not follow "
           "(%.1fs)\n", runs, nops, points, enomem, (unsigned long long)total.ops,
           (unsigned long long)total.unsynced, now_s() - t0);
}

/* ------------------------------------------------------------------ */
/* Regression cases: shrunk failures, fixed                            */
/* ------------------------------------------------------------------ */

/* Hand-written cases, one documented corner each (operation arguments are
 * indices: see m_exec in model_ops.h).  Each must also reach its corner,
 * as the coverage counters show, so that it keeps testing what it says. */

/* A legacy cycle: uncollectable, kept on the garbage list, again after the
 * list is cleared; broken by the program, its legacy finalizer runs on the
 * counting path, once; the weak reference's callback runs. */
static const m_op case_legacy[] = {
    {MOP_NEW, 1 + 3 * FIN_LEGACY, 0, 0}, /* #0 node/legacy */
    {MOP_NEW, 1, 0, 0},                  /* #1 node */
    {MOP_SET, 0, 0, 8 * 1 + 2},          /* #0.slot[0] = #1 */
    {MOP_SET, 1, 0, 2},                  /* #1.slot[0] = #0 */
    {MOP_WEAK, 1, 1, 1},                 /* #2: weakref to #1, callback */
    {MOP_DROP, 0, 0, 0},                 /* drop #0 */
    {MOP_DROP, 1, 0, 0},                 /* drop #1: a garbage legacy cycle */
    {MOP_COLLECT, 2, 0, 0},              /* uncollectable: #0 on the list */
    {MOP_GCLEAR, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0},              /* uncollectable again */
    {MOP_TAKE, 0, 0, 0},                 /* the program takes #0 */
    {MOP_GCLEAR, 0, 0, 0},
    {MOP_CLEAR, 0, 0, 0},                /* #0.slot[0] = NULL: #1 dies, callback */
    {MOP_DROP, 0, 1, 0},                 /* drop #0: its legacy finalizer runs */
    {MOP_COLLECT, 2, 0, 0},
};

/* A garbage ring whose last node resurrects it; dropped again, SAVEALL
 * keeps it on the garbage list, intact; cleared, it is collected. */
static const m_op case_resurrect_saveall[] = {
    {MOP_RING, 8, 24, 0},   /* 9 nodes, the last one /resurrect */
    {MOP_COLLECT, 2, 0, 0}, /* its finalizer runs: all 9 survive */
    {MOP_DROP, 0, 1, 0},    /* drop what the finalizer took */
    {MOP_SAVEALL, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0}, /* 9 collected, kept on the list */
    {MOP_SAVEALL, 0, 0, 0},
    {MOP_GCLEAR, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0}, /* 9 collected, freed */
};

/* A weak reference held only by garbage is cleared with no callback,
 * although its referent lives on. */
static const m_op case_trash_weakref[] = {
    {MOP_NEW, 1, 0, 0},         /* #0 (the referent, held) */
    {MOP_NEW, 1, 0, 0},         /* #1 */
    {MOP_WEAK, 0, 1, 1},        /* #2: weakref to #0, callback */
    {MOP_SET, 1, 0, 1},         /* #1.slot[0] = #2 */
    {MOP_SET, 1, 1, 8 * 1 + 2}, /* #1.slot[1] = #1 */
    {MOP_DROP, 0, 1, 0},        /* drop #2: held by #1 only */
    {MOP_DROP, 1, 0, 0},        /* drop #1: garbage */
    {MOP_COLLECT, 2, 0, 0},
    {MOP_CHECK, 0, 0, 0},
};

/* A 90-node chain, promoted, then dropped at once: node 64 waits on the
 * deferred list, its finalizer resurrects it, and it is tracked anew
 * (generation 0). */
static const m_op case_deferred_resurrect[] = {
    {MOP_CHAIN, 89, 24, 0}, /* node 64 /resurrect; held by a root */
    {MOP_COLLECT, 0, 0, 0}, /* promoted to generation 1 */
    {MOP_DROP, 0, 1, 0},    /* drop the head */
    {MOP_CHECK, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0},
};

/* Found by the long run (episodes CHECK_SEED=1582 and 5337, 4000
 * operations per episode; 5337 shrunk from 1164 operations to these 3):
 * an 88-node chain whose node 64 resurrects, held by the program, frozen,
 * then dropped at once.  Node 64 waits on the deferred list, its finalizer
 * resurrects it, and it is tracked anew in generation 0: a frozen object
 * unfrozen (rc_gc_get_freeze_count 24 -> 23), although API.md keeps frozen
 * objects hidden from walks and collections until rc_gc_unfreeze — and
 * the same resurrection nested less deep leaves it frozen. */
static const m_op case_frozen_deferred_resurrect[] = {
    {MOP_CHAIN, 87u, 1133479450u, 807597656u},
    {MOP_FREEZE, 3147980726u, 2620032378u, 1090309447u},
    {MOP_DROP, 2573557469u, 3335657501u, 2798712946u},
};

/* User code calling back into the API (MOP_HOOK), hand-written:
 * finalizers, releases and weak-reference callbacks of a garbage ring,
 * running during the collection, collect (0, nothing runs), freeze
 * (RC_EBUSY), ask why-alive (RC_EBUSY), check the heap, untrack and track,
 * allocate (the containers wait for the next collection). */
static const m_op case_hooks_in_collection[] = {
    {MOP_NEW, 1, 0, 0},                   /* #0 node, held */
    {MOP_NEW, 1, 0, 0},                   /* #1 node, held */
    {MOP_HOOK, HK_COLLECT, HS_ALL - 1, 2},  /* the next 3 runs: collect */
    {MOP_RING, 20, 8, 0},                 /* 21 nodes, mixed finalizers */
    {MOP_HOOK, HK_FREEZE, HS_ALL - 1, 5},
    {MOP_COLLECT, 2, 0, 0},
    {MOP_RING, 20, 8, 0},
    {MOP_HOOK, HK_WHY, HS_ALL - 1, 5},
    {MOP_COLLECT, 2, 0, 0},
    {MOP_RING, 20, 8, 0},
    {MOP_HOOK, HK_TRACK, HS_ALL - 1, 5},
    {MOP_COLLECT, 1, 0, 0},
    {MOP_RING, 20, 8, 0},
    {MOP_HOOK, HK_ALLOC, HS_ALL - 1, 5},
    {MOP_COLLECT, 0, 0, 0},
    {MOP_CHECK, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0},
};

/* gc callbacks that allocate at RC_GC_START and RC_GC_STOP: what they make
 * is in generation 0 after the collection, not examined by it; again with
 * a walk, a snapshot and the leak report from the callbacks. */
static const m_op case_gc_callback_alloc[] = {
    {MOP_HOOK, HK_ALLOC, HS_START - 1, 5}, /* b % 31 + 1 = HS_START */
    {MOP_COLLECT, 2, 0, 0},
    {MOP_HOOK, HK_ALLOC, HS_STOP - 1, 5},
    {MOP_COLLECT, 1, 0, 0},
    {MOP_CHECK, 0, 0, 0},
    {MOP_HOOK, HK_SNAPSHOT, HS_START + HS_STOP - 1, 5},
    {MOP_COLLECT, 2, 0, 0},
    {MOP_COLLECT, 0, 0, 0},
    {MOP_HOOK, HK_LEAK, HS_START + HS_STOP - 1, 5},
    {MOP_COLLECT, 2, 0, 0},
    {MOP_HOOK, HK_WALK, HS_START + HS_STOP - 1, 5},
    {MOP_COLLECT, 2, 0, 0},
};

/* Found by the widened tester (seed 22, before b1edc84; issue 12 item 2):
 * the leak report, why-alive, a snapshot or rc_heap_check from the release
 * of an object dying by counting saw the dying object (count 0): the leak
 * report crashed in print_why. */
static const m_op case_tools_from_release[] = {
    {MOP_NEW, 0, 0, 0},                     /* #0 atom */
    {MOP_HOOK, HK_LEAK, HS_REL - 1, 0},     /* the next release: the leak report */
    {MOP_DROP, 0, 0, 0},                    /* drop #0 */
    {MOP_NEW, 1, 0, 0},                     /* #1 node */
    {MOP_NEW, 0, 0, 0},                     /* #2 atom */
    {MOP_SET, 0, 0, 8 * 1 + 2},             /* #1.slot[0] = #2 */
    {MOP_DROP, 1, 1, 0},                    /* drop #2: #1 holds it */
    {MOP_HOOK, HK_ANY, HS_REL + HS_WCB - 1, 5},
    {MOP_WEAK, 0, 1, 1},                    /* #3: weakref to #1, callback */
    {MOP_DROP, 0, 0, 0},                    /* drop #1: its callback, two releases */
    {MOP_CHECK, 0, 0, 0},
};

/* Issue 12 item 1 (fixed in b1edc84), as the widened tester reaches it: a
 * frozen 200-node chain dropped at once; node 64 waits on the deferred list
 * with count 0 while the releases of the others check the heap (it was
 * still tracked in the frozen band: rc_heap_check failed) and unfreeze
 * (it became collectable: freed twice). */
static const m_op case_frozen_deferred_from_release[] = {
    {MOP_CHAIN, 199, 0, 0},                /* #0..#199, held by a root */
    {MOP_FREEZE, 0, 0, 0},
    {MOP_HOOK, HK_CHECK, HS_REL - 1, 5},   /* the next 6 releases check the heap */
    {MOP_DROP, 0, 0, 0},
    {MOP_CHAIN, 199, 0, 0},
    {MOP_FREEZE, 0, 0, 0},
    {MOP_HOOK, HK_UNFREEZE, HS_REL - 1, 0}, /* the next release unfreezes */
    {MOP_DROP, 0, 0, 0},
    {MOP_CHECK, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0},
};

/* Found by the widened tester (seed 1000102 of the 10M-operation run,
 * after b1edc84): why-alive, its chain and DOT, asked from a finalizer
 * during a collection about an object that finalizer has just resurrected
 * (still marked as being collected), said RC_EINVAL ("not a live object")
 * instead of RC_EBUSY. */
static const m_op case_why_alive_resurrected[] = {
    {MOP_HOOK, HK_WHY, HS_FIN - 1, 0}, /* the next finalizer asks why-alive */
    {MOP_RING, 8, 24, 0},              /* 9 nodes, the last one /resurrect */
    {MOP_COLLECT, 2, 0, 0},            /* it resurrects, then asks */
};

/* Found while widening the tester: a container the program untracked,
 * dropped at the depth where frees wait on the deferred list, whose
 * finalizer resurrects it, came back tracked (generation 0), although the
 * same resurrection nested less deep leaves it untracked. */
static const m_op case_untracked_deferred_resurrect[] = {
    {MOP_CHAIN, 89, 24, 0}, /* #0..#89, node 64 /resurrect, held by a root */
    {MOP_TAKE, 64, 0, 0},   /* the program takes #64 */
    {MOP_TRACK, 1, 0, 0},   /* rc_untrack(#64) */
    {MOP_DROP, 0, 1, 0},    /* drops #64 */
    {MOP_DROP, 0, 0, 0},    /* drops the head: #64 waits, then resurrects */
    {MOP_CHECK, 0, 0, 0},
    {MOP_COLLECT, 2, 0, 0},
};

typedef struct model_case {
    const char   *name;
    const m_op   *ops;
    size_t        n;
    size_t        threshold[3];
    unsigned long fail_after;
    size_t        corner;    /* offsetof(m_stats, the counter that must move) */
    const char   *known_bug; /* a library bug not fixed yet: the case must fail */
} model_case;

#define MODEL_CASE(ops, corner) \
    {#ops, ops, sizeof ops / sizeof *ops, {700, 10, 10}, 0, offsetof(m_stats, corner), NULL}

/* Shrunk failures go here, with the thresholds and fail_alloc_after the
 * report printed (corner: offsetof(m_stats, ops) if none).  While the bug
 * is open, known_bug says so and the case must still fail; once fixed,
 * clear known_bug and the case guards the fix. */
static const model_case model_cases[] = {
    MODEL_CASE(case_legacy, uncollectable),
    MODEL_CASE(case_resurrect_saveall, saveall_saved),
    MODEL_CASE(case_trash_weakref, trash_weakrefs),
    MODEL_CASE(case_deferred_resurrect, deferred_retracked),
    {"case_frozen_deferred_resurrect", case_frozen_deferred_resurrect,
     sizeof case_frozen_deferred_resurrect / sizeof *case_frozen_deferred_resurrect,
     {5, 5, 3}, 0, offsetof(m_stats, deep_steps),
     NULL /* fixed: a frozen object stays frozen while deferred (object.c) */},
    MODEL_CASE(case_hooks_in_collection, hooks_in_collection),
    MODEL_CASE(case_gc_callback_alloc, hook_allocs),
    MODEL_CASE(case_tools_from_release, hooks),
    MODEL_CASE(case_frozen_deferred_from_release, deep_steps),
    MODEL_CASE(case_why_alive_resurrected, resurrected),
    {"case_untracked_deferred_resurrect", case_untracked_deferred_resurrect,
     sizeof case_untracked_deferred_resurrect / sizeof *case_untracked_deferred_resurrect,
     {700, 10, 10}, 0, offsetof(m_stats, deep_steps),
     NULL /* fixed: the deferred-list entry remembers whether it was tracked (object.c) */},
};

TEST(model_regressions)
{
    for (size_t i = 0; i < sizeof model_cases / sizeof *model_cases; i++) {
        const model_case *mc = &model_cases[i];
        m_config cfg;
        episode_config(1, &cfg);
        memcpy(cfg.threshold, mc->threshold, sizeof cfg.threshold);
        cfg.fail_after = mc->fail_after;
        cfg.verify_every = 1;
        cfg.heap_check_every = 1;
        m_stats st;
        if (mc->known_bug) {
            cfg.out = NULL;
            int f = m_run(&cfg, mc->ops, mc->n, &st, NULL);
            if (f) {
                printf("  %s: known library bug, still there: %s\n", mc->name, mc->known_bug);
            } else {
                fprintf(stderr, "  %s no longer fails (%s fixed?): clear its known_bug so "
                                "that it guards the fix\n", mc->name, mc->known_bug);
                CHECK_EQ(f, 1);
            }
            continue;
        }
        int f = m_run(&cfg, mc->ops, mc->n, &st, NULL);
        uint64_t corner = *(const uint64_t *)((const char *)&st + mc->corner);
        if (f || corner == 0) {
            fprintf(stderr, "  case %s: %d mismatches, corner reached %llu times; traced:\n",
                    mc->name, f, (unsigned long long)corner);
            cfg.trace = 1;
            m_run(&cfg, mc->ops, mc->n, &st, NULL);
        }
        CHECK_EQ(f, 0);
        CHECK_GT(corner, 0);
    }
}

int main(int argc, char **argv) { return check_main(argc, argv); }
