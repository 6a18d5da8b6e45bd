/* main.c — recycle-mal: the REPL, running a file with arguments, the
 * prelude, and the exit-time leak check. */
#include <errno.h>
#include <stdlib.h>

#include "mal.h"

#ifndef MAL_HOST
#  define MAL_HOST "recycle"
#endif

static const char prelude[] =
    "(def! not (fn* [x] (if x false true)))\n"
    "(defmacro! cond (fn* [& clauses]\n"
    "  (if (empty? clauses) nil\n"
    "    (if (empty? (rest clauses)) (throw \"cond: odd number of forms\")\n"
    "      `(if ~(first clauses) ~(nth clauses 1) (cond ~@(rest (rest clauses))))))))\n";

static int         opt_argc;
static char      **opt_argv;
static size_t      opt_limit;
static int         opt_stats;
static int         exit_code;

static void print_error(void)
{
    V e = mal_exc;
    mal_exc = NULL;
    char *s = pr_cstr(e, tag_of(e) != T_STR);
    fprintf(stdout, "Error: %s\n", s ? s : "out of memory");
    fflush(stdout);
    free(s);
    M_XDECREF(e);
}

/* Reads and evaluates every form of a file in the top-level environment. */
static V load_file(const char *path)
{
    Str *src = read_file(path, "load-file");
    if (!src) return NULL;
    V forms = read_all(src->data, src->len, path);
    M_DECREF(src);
    if (!forms) return NULL;
    const char *saved_file = mal_cur_file;
    int saved_line = mal_cur_line;
    V r = M_NIL;
    for (List *l = forms; l && l->count; l = l->tail) {
        V x = EVAL(l->head, repl_env);
        if (!x) { r = NULL; break; }
        M_DECREF(x);
    }
    M_DECREF(forms);
    mal_cur_file = saved_file;
    mal_cur_line = saved_line;
    return r;
}

static V c_load_file(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_STR) return mal_error("load-file: a string expected");
    return load_file(((Str *)args[0])->data);
}

static int rep(const char *line, size_t n)
{
    V ast = read_str(line, n, NULL);
    if (ast == M_READ_NONE) return 0;
    V r = ast ? EVAL(ast, repl_env) : NULL;
    M_XDECREF(ast);
    if (!r) { print_error(); return -1; }
    Str *s = pr_str(r, 1);
    M_DECREF(r);
    if (!s) { print_error(); return -1; }
    fwrite(s->data, 1, s->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    M_DECREF(s);
    return 0;
}

static void def_value(const char *name, V v)
{
    Str *sym = sym_intern(name, strlen(name), T_SYM);
    if (sym && v) env_set(repl_env, sym, v);
    M_XDECREF(sym);
    M_XDECREF(v);
}

/* Objects alive in the heap: every block, tracked or not. */
#ifndef MAL_BOEHM
static long long live_objects(void)
{
    rc_snapshot *s = rc_snapshot_take(mal_heap);
    rc_stat st;
    long long n = -1;
    if (s && rc_snapshot_total(s, &st) == 0) n = st.count;
    rc_snapshot_free(s);
    return n;
}
#endif

static void *interp(void *arg)
{
    (void)arg;
    char base;
    size_t stack = *(size_t *)arg;
    mal_stack_init(&base, stack - stack / 8 - (1u << 20));
    if (mem_init(opt_limit) < 0 || eval_init() < 0) {
        fprintf(stderr, "recycle-mal: cannot start: out of memory\n");
        exit_code = 2;
        return NULL;
    }
    repl_env = env_new(NULL, 0);
    core_init(repl_env);
    gcns_init(repl_env);
    def_builtin(repl_env, "load-file", c_load_file, 1, 1);
    def_value("*host-language*", str_cstr(MAL_HOST));
    {
        int first = opt_argc > 0 ? 1 : 0;
        V *xs = mal_scratch_alloc(((size_t)opt_argc + 1) * sizeof(V));
        int k = 0;
        for (int i = first; xs && i < opt_argc; i++) xs[k++] = str_cstr(opt_argv[i]);
        def_value("*ARGV*", xs ? list_from(xs, (size_t)k) : NULL);
        for (int i = 0; i < k; i++) M_XDECREF(xs[i]);
        mal_scratch_free(xs);
    }
    V pre = read_all(prelude, sizeof prelude - 1, "<prelude>");
    for (List *l = pre; l && l->count; l = l->tail) {
        V x = EVAL(l->head, repl_env);
        M_XDECREF(x);
    }
    M_XDECREF(pre);

    if (opt_argc > 0) {
        V r = load_file(opt_argv[0]);
        if (!r) { print_error(); exit_code = 1; }
        M_XDECREF(r);
    } else {
        rep("(println (str \"Mal [\" *host-language* \"]\"))", 44);
        char *line = NULL;
        size_t cap = 0;
        for (;;) {
            fputs("user> ", stdout);
            fflush(stdout);
            ssize_t n = getline(&line, &cap, stdin);
            if (n < 0) break;
            rep(line, (size_t)n);
        }
        free(line);
        fputc('\n', stdout);
    }
    fflush(stdout);

#ifndef MAL_BOEHM
    if (opt_stats) {
        rc_gc_collect(mal_heap, 2);
        long long held = live_objects();
        Env *e = repl_env;
        repl_env = NULL;
        M_DECREF(e);
        List *empty = list_empty();
        M_DECREF(empty);
        eval_finish();
        rc_gc_collect(mal_heap, 2);
        long long left = live_objects();
        /* What remains: the empty list (the interpreter's own). */
        fprintf(stderr, "mal-stats: live=%lld after-env-dropped=%lld\n", held, left - 1);
        if (left - 1 != 0) {
            fprintf(stderr, "mal-stats: LEAK: %lld objects outlive the top-level environment\n", left - 1);
            rc_leak_report(mal_heap, 10, stderr);
            exit_code = 3;
        }
    }
#endif
    mem_finish();
    return NULL;
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *lim = getenv("MAL_MEMORY_LIMIT");
    int stack_mb = getenv("MAL_STACK_MB") ? atoi(getenv("MAL_STACK_MB")) : 64;
    if (getenv("MAL_STATS")) opt_stats = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strncmp(argv[i], "--memory-limit=", 15) == 0) lim = argv[i] + 15;
        else if (strcmp(argv[i], "--stats") == 0) opt_stats = 1;
        else if (strncmp(argv[i], "--stack=", 8) == 0) stack_mb = atoi(argv[i] + 8);
        else if (strcmp(argv[i], "--") == 0) { i++; break; }
        else {
            fprintf(stderr, "usage: %s [--memory-limit=BYTES[k|m|g]] [--stack=MIB] [--stats] [FILE ARG...]\n",
                    argv[0]);
            return 2;
        }
    }
    if (lim) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(lim, &end, 10);
        if (errno || end == lim) { fprintf(stderr, "recycle-mal: bad memory limit '%s'\n", lim); return 2; }
        if (*end == 'k' || *end == 'K') v <<= 10;
        else if (*end == 'm' || *end == 'M') v <<= 20;
        else if (*end == 'g' || *end == 'G') v <<= 30;
        opt_limit = (size_t)v;
    }
    opt_argc = argc - i;
    opt_argv = argv + i;
    if (stack_mb < 4 || stack_mb > 65536) {
        fprintf(stderr, "recycle-mal: the stack must be 4..65536 MiB\n");
        return 2;
    }
    size_t stack = (size_t)stack_mb << 20;
    if (mem_run_thread(interp, &stack, stack) != 0) {
        fprintf(stderr, "recycle-mal: cannot start the interpreter thread\n");
        return 2;
    }
    return exit_code;
}
