/* eval.c — environments, EVAL with its special forms and tail calls, apply,
 * quasiquote, exceptions and the stack guard. */
#include <stdarg.h>
#include <stdlib.h>

#include "mal.h"

V    mal_exc;
Env *repl_env;
Str *S_DEBUG_EVAL;
int  mal_debug_eval_seen;

/* ---- exceptions ---- */

static Str *oom_str; /* made at start: throwing it allocates nothing */

V mal_throw(V v)
{
    M_INCREF(v);
    M_XDECREF(mal_exc);
    mal_exc = v;
    return NULL;
}

V mal_oom(void)
{
    return mal_throw(oom_str);
}

V mal_error(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    Str *s = str_cstr(buf);
    if (!s) return NULL; /* out of memory already thrown */
    mal_throw(s);
    M_DECREF(s);
    return NULL;
}

/* ---- the stack guard: EVAL, the reader, the printer and = measure the C
 * stack used and throw "stack overflow" well before it runs out. */

static char  *stack_base;
static size_t stack_limit;

void mal_stack_init(void *base, size_t limit)
{
    stack_base = base;
    stack_limit = limit;
}

int mal_stack_check(void)
{
    char *here = __builtin_frame_address(0);
    if (UNLIKELY((size_t)(stack_base - here) > stack_limit)) {
        mal_error("stack overflow");
        return -1;
    }
    return 0;
}

/* ---- environments ---- */

Env *env_new(Env *outer, uint32_t cap)
{
    Env *e = mal_alloc(&mal_env_type, sizeof(Env) + cap * sizeof(Pair));
    if (!e) return NULL;
    e->o.tag = T_ENV;
    e->cap = cap;
    e->pairs = e->inl;
    if (outer) { M_INCREF(outer); e->outer = outer; }
    return e;
}

#define ENV_LINEAR 12

static Pair *frame_find(Env *e, Str *sym)
{
    if (e->index) {
        uint32_t mask = e->icap - 1;
        for (uint32_t j = sym->hash & mask; e->index[j]; j = (j + 1) & mask)
            if (e->pairs[e->index[j] - 1].sym == sym) return &e->pairs[e->index[j] - 1];
        return NULL;
    }
    Pair *p = e->pairs;
    for (uint32_t i = 0, n = e->n; i < n; i++)
        if (p[i].sym == sym) return &p[i];
    return NULL;
}

V env_get(Env *e, Str *sym)
{
    for (; e; e = e->outer) {
        Pair *p = frame_find(e, sym);
        if (p) return p->val;
    }
    return NULL;
}

static int env_reindex(Env *e)
{
    uint32_t icap = 32;
    while (icap < 2 * e->cap) icap *= 2;
    uint32_t *ix = mal_buf_alloc(e, icap * sizeof(uint32_t));
    if (!ix) return -1;
    memset(ix, 0, icap * sizeof(uint32_t));
    for (uint32_t i = 0; i < e->n; i++) {
        uint32_t j = e->pairs[i].sym->hash & (icap - 1);
        while (ix[j]) j = (j + 1) & (icap - 1);
        ix[j] = i + 1;
    }
    mal_buf_free(e, e->index);
    e->index = ix;
    e->icap = icap;
    return 0;
}

int env_set(Env *e, Str *sym, V val)
{
    if (UNLIKELY(sym == S_DEBUG_EVAL)) mal_debug_eval_seen = 1;
    Pair *p = frame_find(e, sym);
    if (p) {
        V old = p->val;
        M_INCREF(val);
        p->val = val;
        M_DECREF(old);
        return 0;
    }
    if (e->n == e->cap) {
        uint32_t ncap = e->cap < 4 ? 8 : e->cap * 2;
        Pair *np;
        if (e->pairs == e->inl) {
            np = mal_buf_alloc(e, ncap * sizeof(Pair));
            if (np) memcpy(np, e->inl, e->n * sizeof(Pair));
        } else {
            np = mal_buf_realloc(e, e->pairs, ncap * sizeof(Pair));
        }
        if (!np) return -1;
        e->pairs = np;
        e->cap = ncap;
        if (ncap > ENV_LINEAR && env_reindex(e) < 0) return -1;
    }
    M_INCREF(sym);
    M_INCREF(val);
    e->pairs[e->n].sym = sym;
    e->pairs[e->n].val = val;
    e->n++;
    if (e->index) {
        uint32_t j = sym->hash & (e->icap - 1);
        while (e->index[j]) j = (j + 1) & (e->icap - 1);
        e->index[j] = e->n;
    }
    return 0;
}

/* ---- special forms ---- */

enum { SF_NONE, SF_DEF, SF_LET, SF_DO, SF_IF, SF_FN, SF_QUOTE, SF_QUASIQUOTE,
       SF_QQEXPAND, SF_DEFMACRO, SF_MACROEXPAND, SF_TRY };

static Str *S_UNQUOTE, *S_SPLICE_UNQUOTE, *S_CONCAT, *S_CONS, *S_VEC, *S_QUOTE,
    *S_AMP, *S_CATCH;

static Str *special(const char *name, int id)
{
    Str *s = sym_intern(name, strlen(name), T_SYM);
    if (s) s->pad = (uint32_t)id;
    return s;
}

/* The interpreter's own references to these symbols live for the whole run. */
static Str *specials[16];

int eval_init(void)
{
    oom_str = str_cstr("out of memory");
    static const char *names[] = { "def!", "let*", "do", "if", "fn*", "quote", "quasiquote",
                                   "quasiquoteexpand", "defmacro!", "macroexpand", "try*" };
    static const int ids[] = { SF_DEF, SF_LET, SF_DO, SF_IF, SF_FN, SF_QUOTE, SF_QUASIQUOTE,
                               SF_QQEXPAND, SF_DEFMACRO, SF_MACROEXPAND, SF_TRY };
    for (int i = 0; i < 11; i++) if (!(specials[i] = special(names[i], ids[i]))) return -1;
    S_QUOTE = specials[5];
    S_UNQUOTE = sym_intern("unquote", 7, T_SYM);
    S_SPLICE_UNQUOTE = sym_intern("splice-unquote", 14, T_SYM);
    S_CONCAT = sym_intern("concat", 6, T_SYM);
    S_CONS = sym_intern("cons", 4, T_SYM);
    S_VEC = sym_intern("vec", 3, T_SYM);
    S_AMP = sym_intern("&", 1, T_SYM);
    S_CATCH = sym_intern("catch*", 6, T_SYM);
    S_DEBUG_EVAL = sym_intern("DEBUG-EVAL", 10, T_SYM);
    return oom_str && S_UNQUOTE && S_SPLICE_UNQUOTE && S_CONCAT && S_CONS && S_VEC && S_AMP
        && S_CATCH && S_DEBUG_EVAL ? 0 : -1;
}

void eval_finish(void)
{
    for (int i = 0; i < 11; i++) M_XDECREF(specials[i]);
    Str *more[] = { S_UNQUOTE, S_SPLICE_UNQUOTE, S_CONCAT, S_CONS, S_VEC, S_AMP, S_CATCH,
                    S_DEBUG_EVAL, oom_str };
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) M_XDECREF(more[i]);
    M_XDECREF(mal_exc);
    mal_exc = NULL;
}

/* ---- quasiquote ---- */

static List *list2(V a, V b)
{
    List *t = list_cons(b, NULL);
    if (!t) return NULL;
    List *l = list_cons(a, t);
    M_DECREF(t);
    return l;
}

static List *list3(V a, V b, V c)
{
    List *t = list2(b, c);
    if (!t) return NULL;
    List *l = list_cons(a, t);
    M_DECREF(t);
    return l;
}

static int starts_with(V v, Str *sym)
{
    return tag_of(v) == T_LIST && ((List *)v)->count > 0 && ((List *)v)->head == (V)sym;
}

static V qq(V ast);

static V qq_seq(V seq)
{
    size_t n = seq_count(seq);
    V *items = mal_scratch_alloc((n ? n : 1) * sizeof(V));
    if (!items) return mal_oom();
    for (size_t i = 0; i < n; i++) items[i] = seq_nth(seq, i);
    V acc = list_empty();
    for (size_t i = n; acc && i-- > 0;) {
        V elt = items[i], next;
        if (starts_with(elt, S_SPLICE_UNQUOTE)) {
            if (((List *)elt)->count < 2) { M_DECREF(acc); mal_scratch_free(items); return mal_error("splice-unquote needs an argument"); }
            next = list3(S_CONCAT, ((List *)elt)->tail->head, acc);
        } else {
            V q = qq(elt);
            next = q ? (V)list3(S_CONS, q, acc) : NULL;
            M_XDECREF(q);
        }
        M_DECREF(acc);
        acc = next;
    }
    mal_scratch_free(items);
    return acc;
}

static V qq(V ast)
{
    if (mal_stack_check() < 0) return NULL;
    switch (tag_of(ast)) {
    case T_LIST:
        if (starts_with(ast, S_UNQUOTE)) {
            if (((List *)ast)->count < 2) return mal_error("unquote needs an argument");
            V r = ((List *)ast)->tail->head;
            M_INCREF(r);
            return r;
        }
        return qq_seq(ast);
    case T_VEC: {
        V inner = qq_seq(ast);
        if (!inner) return NULL;
        V r = list2(S_VEC, inner);
        M_DECREF(inner);
        return r;
    }
    case T_MAP: case T_SYM:
        return list2(S_QUOTE, ast);
    default:
        M_INCREF(ast);
        return ast;
    }
}

/* ---- functions ---- */

static V make_closure(V params, V body, Env *env)
{
    if (!is_seq(params)) return mal_error("fn*: parameters must be a list or vector");
    size_t n = seq_count(params);
    Vec *ps = vec_new(n);
    if (!ps) return NULL;
    int fixed = 0, variadic = 0;
    for (size_t i = 0; i < n; i++) {
        V p = seq_nth(params, i);
        if (tag_of(p) != T_SYM) { M_DECREF(ps); return mal_error("fn*: parameter is not a symbol"); }
        if (p == (V)S_AMP) {
            if (i + 2 != n || tag_of(seq_nth(params, i + 1)) != T_SYM) {
                M_DECREF(ps);
                return mal_error("fn*: & must be followed by one symbol");
            }
            variadic = 1;
            V r = seq_nth(params, i + 1);
            M_INCREF(r);
            ps->items[fixed] = r;
            break;
        }
        M_INCREF(p);
        ps->items[fixed++] = p;
    }
    ps->n = (size_t)fixed + (size_t)variadic;
    Closure *c = mal_alloc(&mal_closure_type, sizeof(Closure));
    if (!c) { M_DECREF(ps); return NULL; }
    c->o.tag = T_CLOSURE;
    c->nparams = fixed;
    c->variadic = variadic;
    c->params = ps;
    M_INCREF(body);
    c->body = body;
    M_INCREF(env);
    c->env = env;
    c->meta = M_NIL;
    M_INCREF(params);
    c->src_params = params;
    return c;
}

/* A new environment binding c's parameters to args.  steal: on success the
 * references to the fixed parameters' arguments move into the environment
 * (the caller still owns args[nparams..]).  src: NULL, or the list whose
 * items args are, so that a rest parameter shares its tail (a macro's
 * (& xs) is the form's own tail: no copy). */
static Env *bind(Closure *c, V *args, int argc, int steal, List *src)
{
    if (UNLIKELY(argc < c->nparams || (!c->variadic && argc > c->nparams))) {
        mal_error("wrong number of arguments: %d given, %s%d expected", argc,
                  c->variadic ? "at least " : "", c->nparams);
        return NULL;
    }
    Env *e = env_new(c->env, (uint32_t)(c->nparams + c->variadic));
    if (!e) return NULL;
    Pair *p = e->pairs;
    V *syms = c->params->items;
    for (int i = 0; i < c->nparams; i++) {
        M_INCREF(syms[i]);
        if (!steal) M_INCREF(args[i]);
        p[i].sym = syms[i];
        p[i].val = args[i];
        if (UNLIKELY(syms[i] == (V)S_DEBUG_EVAL)) mal_debug_eval_seen = 1;
    }
    e->n = (uint32_t)c->nparams;
    if (c->variadic) {
        List *rest;
        if (src && argc > c->nparams) {
            rest = src;
            for (int i = 0; i < c->nparams; i++) rest = rest->tail;
            M_INCREF(rest);
        } else {
            rest = list_from(args + c->nparams, (size_t)(argc - c->nparams));
        }
        if (!rest) {
            if (steal) for (int i = 0; i < c->nparams; i++) M_INCREF(args[i]); /* given back */
            M_DECREF(e);
            return NULL;
        }
        M_INCREF(syms[c->nparams]);
        p[c->nparams].sym = syms[c->nparams];
        p[c->nparams].val = rest;
        e->n++;
    }
    /* Duplicate parameter names: the last one wins, as with let*. */
    return e;
}

V mal_apply(V f, V *args, int argc)
{
    int t = tag_of(f);
    if (t == T_BUILTIN) {
        Builtin *b = f;
        if (UNLIKELY(argc < b->min || (b->max >= 0 && argc > b->max)))
            return mal_error("%s: wrong number of arguments (%d)", b->name, argc);
        return b->fn(args, argc);
    }
    if (t == T_CLOSURE) {
        Closure *c = f;
        M_INCREF(c);
        Env *e = bind(c, args, argc, 0, NULL);
        V r = e ? EVAL(c->body, e) : NULL;
        M_XDECREF(e);
        M_DECREF(c);
        return r;
    }
    char *s = pr_cstr(f, 1);
    mal_error("%.100s is not a function", s ? s : "value");
    free(s);
    return NULL;
}

/* ---- EVAL ---- */

static void debug_eval(V ast, Env *env)
{
    V d = env_get(env, S_DEBUG_EVAL);
    if (!d || !TRUTHY(d)) return;
    char *s = pr_cstr(ast, 1);
    if (s) printf("EVAL: %s\n", s);
    free(s);
}

static V eval_seq_items(V ast, Env *env)
{
    int t = tag_of(ast);
    if (t == T_VEC) {
        Vec *src = ast;
        Vec *v = vec_new(src->n);
        if (!v) return NULL;
        for (size_t i = 0; i < src->n; i++) {
            V x = EVAL(src->items[i], env);
            if (!x) { M_DECREF(v); return NULL; }
            v->items[i] = x;
        }
        return v;
    }
    Map *src = ast;
    size_t n = 2 * (size_t)src->n;
    V *kv = mal_scratch_alloc((n ? n : 1) * sizeof(V));
    if (!kv) return mal_oom();
    size_t i;
    for (i = 0; i < n; i += 2) {
        kv[i] = src->kv[i];
        kv[i + 1] = EVAL(src->kv[i + 1], env);
        if (!kv[i + 1]) break;
    }
    V r = i == n ? (V)map_from(kv, src->n) : NULL;
    for (size_t j = 0; j < i; j += 2) M_DECREF(kv[j + 1]);
    mal_scratch_free(kv);
    return r;
}

static V not_found(Str *sym)
{
    return mal_error("'%.200s' not found", sym->data);
}

/* The value of an argument form without a nested EVAL where it is a symbol
 * or a constant. */
static inline V eval_arg(V x, Env *env)
{
    if (IS_IMM(x)) return x;
    int t = ((Obj *)x)->tag;
    if (t == T_SYM && !mal_debug_eval_seen) {
        V v = env_get(env, x);
        if (UNLIKELY(!v)) return not_found(x);
        M_INCREF(v);
        return v;
    }
    if (t == T_STR || t == T_KW) { M_INCREF(x); return x; }
    return EVAL(x, env);
}

#define ARGS_INLINE 8

V EVAL(V ast, Env *env)
{
    V   ast_hold = NULL; /* our reference keeping ast alive, if any */
    Env *env_hold = NULL;
    V   ret = NULL;
    if (mal_stack_check() < 0) return NULL;

/* Continue with ast = x in env e: x borrowed (SET_AST) or a new reference
 * (ADOPT_AST); e a new reference. */
#define SET_AST(x) do { V n_ = (x); M_INCREF(n_); M_XDECREF(ast_hold); ast_hold = n_; ast = n_; } while (0)
#define ADOPT_AST(x) do { V n_ = (x); M_XDECREF(ast_hold); ast_hold = n_; ast = n_; } while (0)
#define ADOPT_ENV(e) do { Env *o_ = env_hold; env_hold = (e); env = env_hold; M_XDECREF(o_); } while (0)

    for (;;) {
        if (UNLIKELY(mal_debug_eval_seen)) debug_eval(ast, env);
        if (IS_IMM(ast)) { ret = ast; goto out; }
        int t = ((Obj *)ast)->tag;
        if (t == T_SYM) {
            V v = env_get(env, ast);
            if (!v) { ret = not_found(ast); goto out; }
            M_INCREF(v);
            ret = v;
            goto out;
        }
        if (t == T_VEC || t == T_MAP) { ret = eval_seq_items(ast, env); goto out; }
        if (t != T_LIST || ((List *)ast)->count == 0) { M_INCREF(ast); ret = ast; goto out; }

        List *l = ast;
        V head = l->head;
        List *a = l->tail; /* the arguments */
        if (l->o.line) { mal_cur_line = (int)l->o.line; mal_cur_file = mal_files[l->o.file]; }

        if (tag_of(head) == T_SYM && ((Str *)head)->pad) {
            size_t argc = l->count - 1;
            switch (((Str *)head)->pad) {
            case SF_DEF: {
                if (argc != 2 || tag_of(a->head) != T_SYM) { ret = mal_error("def!: needs a symbol and a value"); goto out; }
                V v = EVAL(a->tail->head, env);
                if (!v) goto out;
                if (env_set(env, a->head, v) < 0) { M_DECREF(v); goto out; }
                ret = v;
                goto out;
            }
            case SF_DEFMACRO: {
                if (argc != 2 || tag_of(a->head) != T_SYM) { ret = mal_error("defmacro!: needs a symbol and a function"); goto out; }
                V v = EVAL(a->tail->head, env);
                if (!v) goto out;
                if (tag_of(v) != T_CLOSURE) { M_DECREF(v); ret = mal_error("defmacro!: not a function"); goto out; }
                Closure *src = v;
                Closure *m = mal_alloc(&mal_closure_type, sizeof(Closure));
                if (!m) { M_DECREF(v); goto out; }
                *m = *src;
                m->is_macro = 1;
                M_INCREF(m->params); M_INCREF(m->body); M_INCREF(m->env);
                M_INCREF(m->meta); M_INCREF(m->src_params);
                M_DECREF(v);
                if (env_set(env, a->head, m) < 0) { M_DECREF(m); goto out; }
                ret = m;
                goto out;
            }
            case SF_LET: {
                if (argc < 1 || !is_seq(a->head) || seq_count(a->head) % 2) {
                    ret = mal_error("let*: needs a list of bindings");
                    goto out;
                }
                V b = a->head;
                size_t nb = seq_count(b) / 2;
                Env *ne = env_new(env, (uint32_t)nb);
                if (!ne) goto out;
                for (size_t i = 0; i < nb; i++) {
                    V sym = seq_nth(b, 2 * i);
                    if (tag_of(sym) != T_SYM) { M_DECREF(ne); ret = mal_error("let*: binding name is not a symbol"); goto out; }
                    V v = EVAL(seq_nth(b, 2 * i + 1), ne);
                    if (!v) { M_DECREF(ne); goto out; }
                    int rc = env_set(ne, sym, v);
                    M_DECREF(v);
                    if (rc < 0) { M_DECREF(ne); goto out; }
                }
                V body = argc >= 2 ? a->tail->head : M_NIL;
                SET_AST(body);
                ADOPT_ENV(ne);
                continue;
            }
            case SF_DO: {
                if (argc == 0) { ret = M_NIL; goto out; }
                for (; a->tail; a = a->tail) {
                    V v = EVAL(a->head, env);
                    if (!v) goto out;
                    M_DECREF(v);
                }
                SET_AST(a->head);
                continue;
            }
            case SF_IF: {
                if (argc < 2 || argc > 3) { ret = mal_error("if: needs 2 or 3 arguments"); goto out; }
                V c = EVAL(a->head, env);
                if (!c) goto out;
                int yes = TRUTHY(c);
                M_DECREF(c);
                if (yes) SET_AST(a->tail->head);
                else if (argc == 3) SET_AST(a->tail->tail->head);
                else { ret = M_NIL; goto out; }
                continue;
            }
            case SF_FN:
                if (argc < 1) { ret = mal_error("fn*: needs parameters"); goto out; }
                ret = make_closure(a->head, argc >= 2 ? a->tail->head : M_NIL, env);
                goto out;
            case SF_QUOTE:
                if (argc != 1) { ret = mal_error("quote: needs 1 argument"); goto out; }
                M_INCREF(a->head);
                ret = a->head;
                goto out;
            case SF_QQEXPAND:
            case SF_QUASIQUOTE: {
                if (argc != 1) { ret = mal_error("quasiquote: needs 1 argument"); goto out; }
                /* The expansion depends on the form alone: made once, kept
                 * on the form (a macro's template is expanded at each call). */
                if (!l->cache && !(l->cache = qq(a->head))) goto out;
                V x = l->cache;
                M_INCREF(x);
                if (((Str *)head)->pad == SF_QQEXPAND) { ret = x; goto out; }
                ADOPT_AST(x);
                continue;
            }
            case SF_MACROEXPAND: {
                if (argc != 1) { ret = mal_error("macroexpand: needs 1 argument"); goto out; }
                V x = a->head;
                M_INCREF(x);
                for (;;) {
                    if (tag_of(x) != T_LIST || ((List *)x)->count == 0 || tag_of(((List *)x)->head) != T_SYM) break;
                    V f = env_get(env, ((List *)x)->head);
                    if (!f || tag_of(f) != T_CLOSURE || !((Closure *)f)->is_macro) break;
                    size_t n = ((List *)x)->count - 1;
                    V *args = mal_scratch_alloc((n ? n : 1) * sizeof(V));
                    if (!args) { M_DECREF(x); ret = mal_oom(); goto out; }
                    size_t i = 0;
                    for (List *p = ((List *)x)->tail; p; p = p->tail) args[i++] = p->head;
                    V y = mal_apply(f, args, (int)n);
                    mal_scratch_free(args);
                    M_DECREF(x);
                    if (!y) goto out;
                    x = y;
                }
                ret = x;
                goto out;
            }
            case SF_TRY: {
                if (argc < 1 || argc > 2) { ret = mal_error("try*: needs a form and a catch*"); goto out; }
                V r = EVAL(a->head, env);
                if (r || argc == 1) { ret = r; goto out; }
                V c = a->tail->head;
                if (!starts_with(c, S_CATCH) || ((List *)c)->count != 3
                    || tag_of(((List *)c)->tail->head) != T_SYM) {
                    ret = mal_error("try*: malformed catch*");
                    goto out;
                }
                V exc = mal_exc;
                mal_exc = NULL;
                Env *ne = env_new(env, 1);
                if (!ne) { M_DECREF(exc); goto out; }
                int rc = env_set(ne, ((List *)c)->tail->head, exc);
                M_DECREF(exc);
                if (rc < 0) { M_DECREF(ne); goto out; }
                SET_AST(((List *)c)->tail->tail->head);
                ADOPT_ENV(ne);
                continue;
            }
            }
        }

        /* A call. */
        V f = eval_arg(head, env);
        if (!f) goto out;
        int ft = tag_of(f);
        size_t argc = l->count - 1;
        V argbuf[ARGS_INLINE];
        V *args = argbuf;
        if (argc > ARGS_INLINE && !(args = mal_scratch_alloc(argc * sizeof(V)))) { M_DECREF(f); ret = mal_oom(); goto out; }

        if (ft == T_CLOSURE && ((Closure *)f)->is_macro) {
            size_t i = 0;
            for (List *p = a; p; p = p->tail) args[i++] = p->head;
            Closure *mc = f;
            Env *me = bind(mc, args, (int)argc, 0, a);
            if (args != argbuf) mal_scratch_free(args);
            V x = me ? EVAL(mc->body, me) : NULL;
            M_XDECREF(me);
            M_DECREF(f);
            if (!x) goto out;
            ADOPT_AST(x);
            continue;
        }
        size_t i = 0;
        for (List *p = a; p; p = p->tail) {
            V x = eval_arg(p->head, env);
            if (!x) break;
            args[i++] = x;
        }
        if (i < argc) {
            for (size_t j = 0; j < i; j++) M_DECREF(args[j]);
            if (args != argbuf) mal_scratch_free(args);
            M_DECREF(f);
            goto out;
        }
        if (ft == T_CLOSURE) {
            Closure *c = f;
            Env *ne = bind(c, args, (int)argc, 1, NULL);
            for (size_t j = ne ? (size_t)c->nparams : 0; j < argc; j++) M_DECREF(args[j]);
            if (args != argbuf) mal_scratch_free(args);
            if (!ne) { M_DECREF(f); goto out; }
            SET_AST(c->body);
            ADOPT_ENV(ne);
            M_DECREF(f);
            continue;
        }
        ret = mal_apply(f, args, (int)argc);
        for (size_t j = 0; j < argc; j++) M_DECREF(args[j]);
        if (args != argbuf) mal_scratch_free(args);
        M_DECREF(f);
        goto out;
    }
out:
    M_XDECREF(ast_hold);
    M_XDECREF(env_hold);
    return ret;
#undef SET_AST
#undef ADOPT_AST
#undef ADOPT_ENV
}
