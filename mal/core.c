/* core.c — the core namespace: numbers, strings, symbols, collections,
 * atoms, metadata, I/O and evaluation. */
#include <stdlib.h>
#include <time.h>

#include "mal.h"

#define RET_INCREF(x) do { V r_ = (x); M_INCREF(r_); return r_; } while (0)

static V type_error(const char *fn, const char *want, V got)
{
    char *s = pr_cstr(got, 1);
    mal_error("%s: %s expected, got %.80s", fn, want, s ? s : "?");
    free(s);
    return NULL;
}

#define WANT_INT(fn, i) do { if (!IS_INT(args[i])) return type_error(fn, "a number", args[i]); } while (0)

/* ---- numbers ---- */

static V c_add(V *args, int argc) { (void)argc; WANT_INT("+", 0); WANT_INT("+", 1); return MK_INT(INT_OF(args[0]) + INT_OF(args[1])); }
static V c_sub(V *args, int argc) { (void)argc; WANT_INT("-", 0); WANT_INT("-", 1); return MK_INT(INT_OF(args[0]) - INT_OF(args[1])); }
static V c_mul(V *args, int argc) { (void)argc; WANT_INT("*", 0); WANT_INT("*", 1); return MK_INT(INT_OF(args[0]) * INT_OF(args[1])); }
static V c_div(V *args, int argc)
{
    (void)argc;
    WANT_INT("/", 0);
    WANT_INT("/", 1);
    if (INT_OF(args[1]) == 0) return mal_error("division by zero");
    return MK_INT(INT_OF(args[0]) / INT_OF(args[1]));
}
static V c_lt(V *args, int argc) { (void)argc; WANT_INT("<", 0); WANT_INT("<", 1); return MK_BOOL(INT_OF(args[0]) < INT_OF(args[1])); }
static V c_le(V *args, int argc) { (void)argc; WANT_INT("<=", 0); WANT_INT("<=", 1); return MK_BOOL(INT_OF(args[0]) <= INT_OF(args[1])); }
static V c_gt(V *args, int argc) { (void)argc; WANT_INT(">", 0); WANT_INT(">", 1); return MK_BOOL(INT_OF(args[0]) > INT_OF(args[1])); }
static V c_ge(V *args, int argc) { (void)argc; WANT_INT(">=", 0); WANT_INT(">=", 1); return MK_BOOL(INT_OF(args[0]) >= INT_OF(args[1])); }

static V c_eq(V *args, int argc)
{
    (void)argc;
    int r = mal_equal(args[0], args[1]);
    return r < 0 ? NULL : MK_BOOL(r);
}

static V c_time_ms(V *args, int argc)
{
    (void)args; (void)argc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return MK_INT((intptr_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ---- predicates ---- */

#define PRED(name, expr) static V name(V *args, int argc) { (void)argc; V x = args[0]; return MK_BOOL(expr); }
PRED(c_nilp, x == M_NIL)
PRED(c_truep, x == M_TRUE)
PRED(c_falsep, x == M_FALSE)
PRED(c_stringp, tag_of(x) == T_STR)
PRED(c_symbolp, tag_of(x) == T_SYM)
PRED(c_keywordp, tag_of(x) == T_KW)
PRED(c_numberp, IS_INT(x))
PRED(c_fnp, tag_of(x) == T_BUILTIN || (tag_of(x) == T_CLOSURE && !((Closure *)x)->is_macro))
PRED(c_macrop, tag_of(x) == T_CLOSURE && ((Closure *)x)->is_macro)
PRED(c_listp, tag_of(x) == T_LIST)
PRED(c_vectorp, tag_of(x) == T_VEC)
PRED(c_mapp, tag_of(x) == T_MAP)
PRED(c_seqp, is_seq(x))
PRED(c_atomp, tag_of(x) == T_ATOM)

/* ---- strings ---- */

static V join(V *args, int argc, int readably, const char *sep, int newline_print)
{
    StrBuf b;
    sb_init(&b);
    for (int i = 0; i < argc; i++) {
        if (i && sep) sb_adds(&b, sep);
        if (pr_value(&b, args[i], readably) < 0) { sb_drop(&b); return NULL; }
    }
    if (newline_print) {
        if (b.failed) { sb_drop(&b); return mal_oom(); }
        fwrite(b.p, 1, b.len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        sb_drop(&b);
        return M_NIL;
    }
    return sb_finish(&b);
}

static V c_pr_str(V *args, int argc) { return join(args, argc, 1, " ", 0); }
static V c_str(V *args, int argc) { return join(args, argc, 0, NULL, 0); }
static V c_prn(V *args, int argc) { return join(args, argc, 1, " ", 1); }
static V c_println(V *args, int argc) { return join(args, argc, 0, " ", 1); }

static V c_read_string(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_STR) return type_error("read-string", "a string", args[0]);
    V r = read_str(((Str *)args[0])->data, ((Str *)args[0])->len, NULL);
    return r == M_READ_NONE ? M_NIL : r;
}

Str *read_file(const char *path, const char *who)
{
    FILE *f = fopen(path, "rb");
    if (!f) return mal_error("%s: cannot open '%.200s'", who, path);
    StrBuf b;
    sb_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_add(&b, chunk, n);
    fclose(f);
    return sb_finish(&b);
}

static V c_slurp(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_STR) return type_error("slurp", "a string", args[0]);
    return read_file(((Str *)args[0])->data, "slurp");
}

static V c_readline(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_STR) return type_error("readline", "a string", args[0]);
    fputs(((Str *)args[0])->data, stdout);
    fflush(stdout);
    StrBuf b;
    sb_init(&b);
    int c, any = 0;
    while ((c = getchar()) != EOF && c != '\n') { char ch = (char)c; sb_add(&b, &ch, 1); any = 1; }
    if (c == EOF && !any) { sb_drop(&b); return M_NIL; }
    return sb_finish(&b);
}

static V c_symbol(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) == T_SYM) RET_INCREF(args[0]);
    if (tag_of(args[0]) != T_STR) return type_error("symbol", "a string", args[0]);
    return sym_intern(((Str *)args[0])->data, ((Str *)args[0])->len, T_SYM);
}

static V c_keyword(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) == T_KW) RET_INCREF(args[0]);
    if (tag_of(args[0]) != T_STR) return type_error("keyword", "a string", args[0]);
    return sym_intern(((Str *)args[0])->data, ((Str *)args[0])->len, T_KW);
}

/* ---- lists and vectors ---- */

static V c_list(V *args, int argc) { return list_from(args, (size_t)argc); }
static V c_vector(V *args, int argc) { return vec_from(args, (size_t)argc); }

/* A new list of a sequence's items (nil: empty). */
static List *to_list(V s)
{
    if (tag_of(s) == T_LIST) { M_INCREF(s); return s; }
    if (s == M_NIL) return list_empty();
    Vec *v = s;
    return list_from(v->items, v->n);
}

static V c_cons(V *args, int argc)
{
    (void)argc;
    if (!is_seq(args[1]) && args[1] != M_NIL) return type_error("cons", "a list", args[1]);
    List *t = to_list(args[1]);
    if (!t) return NULL;
    List *l = list_cons(args[0], t);
    M_DECREF(t);
    return l;
}

static V c_concat(V *args, int argc)
{
    for (int i = 0; i < argc; i++)
        if (!is_seq(args[i]) && args[i] != M_NIL) return type_error("concat", "a list", args[i]);
    /* The last list is shared as the tail; the others are copied. */
    int last = argc - 1;
    while (last >= 0 && (args[last] == M_NIL || seq_count(args[last]) == 0)) last--;
    if (last < 0) return list_empty();
    List *acc = to_list(args[last]);
    if (!acc) return NULL;
    size_t total = 0;
    for (int i = 0; i < last; i++) if (args[i] != M_NIL) total += seq_count(args[i]);
    if (total == 0) return acc;
    V *items = mal_scratch_alloc(total * sizeof(V));
    if (!items) { M_DECREF(acc); return mal_oom(); }
    size_t k = 0;
    for (int i = 0; i < last; i++) {
        if (args[i] == M_NIL) continue;
        if (tag_of(args[i]) == T_LIST)
            for (List *p = args[i]; p && p->count; p = p->tail) items[k++] = p->head;
        else
            for (size_t j = 0; j < ((Vec *)args[i])->n; j++) items[k++] = ((Vec *)args[i])->items[j];
    }
    for (size_t i = total; acc && i-- > 0;) {
        List *c = list_cons(items[i], acc);
        M_DECREF(acc);
        acc = c;
    }
    mal_scratch_free(items);
    return acc;
}

static V c_vec(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) == T_VEC) RET_INCREF(args[0]);
    if (args[0] == M_NIL) return vec_new(0);
    if (tag_of(args[0]) != T_LIST) return type_error("vec", "a list", args[0]);
    List *l = args[0];
    Vec *v = vec_new(l->count);
    if (!v) return NULL;
    size_t i = 0;
    for (; l && l->count; l = l->tail) { M_INCREF(l->head); v->items[i++] = l->head; }
    return v;
}

static V c_nth(V *args, int argc)
{
    (void)argc;
    if (!is_seq(args[0])) return type_error("nth", "a list", args[0]);
    WANT_INT("nth", 1);
    intptr_t i = INT_OF(args[1]);
    if (i < 0 || (size_t)i >= seq_count(args[0])) return mal_error("nth: index %ld out of range", (long)i);
    RET_INCREF(seq_nth(args[0], (size_t)i));
}

static V c_first(V *args, int argc)
{
    (void)argc;
    if (args[0] == M_NIL) return M_NIL;
    if (!is_seq(args[0])) return type_error("first", "a list", args[0]);
    if (seq_count(args[0]) == 0) return M_NIL;
    RET_INCREF(seq_nth(args[0], 0));
}

static V c_rest(V *args, int argc)
{
    (void)argc;
    V s = args[0];
    if (s == M_NIL) return list_empty();
    if (!is_seq(s)) return type_error("rest", "a list", s);
    if (tag_of(s) == T_LIST) {
        List *l = s;
        if (l->tail) RET_INCREF(l->tail);
        return list_empty();
    }
    Vec *v = s;
    return v->n ? list_from(v->items + 1, v->n - 1) : list_empty();
}

static V c_emptyp(V *args, int argc)
{
    (void)argc;
    if (args[0] == M_NIL) return M_TRUE;
    if (tag_of(args[0]) == T_MAP) return MK_BOOL(((Map *)args[0])->n == 0);
    if (tag_of(args[0]) == T_STR) return MK_BOOL(((Str *)args[0])->len == 0);
    if (!is_seq(args[0])) return type_error("empty?", "a list", args[0]);
    return MK_BOOL(seq_count(args[0]) == 0);
}

static V c_count(V *args, int argc)
{
    (void)argc;
    if (args[0] == M_NIL) return MK_INT(0);
    if (tag_of(args[0]) == T_MAP) return MK_INT(((Map *)args[0])->n);
    if (tag_of(args[0]) == T_STR) return MK_INT(((Str *)args[0])->len);
    if (!is_seq(args[0])) return type_error("count", "a list", args[0]);
    return MK_INT(seq_count(args[0]));
}

static V c_apply(V *args, int argc)
{
    V last = args[argc - 1];
    if (!is_seq(last) && last != M_NIL) return type_error("apply", "a list", last);
    size_t nl = last == M_NIL ? 0 : seq_count(last), n = (size_t)(argc - 2) + nl;
    V *a = mal_scratch_alloc((n ? n : 1) * sizeof(V));
    if (!a) return mal_oom();
    size_t k = 0;
    for (int i = 1; i < argc - 1; i++) a[k++] = args[i];
    if (nl && tag_of(last) == T_LIST)
        for (List *p = last; p && p->count; p = p->tail) a[k++] = p->head;
    else
        for (size_t i = 0; i < nl; i++) a[k++] = ((Vec *)last)->items[i];
    V r = mal_apply(args[0], a, (int)n);
    mal_scratch_free(a);
    return r;
}

static V c_map(V *args, int argc)
{
    (void)argc;
    V s = args[1];
    if (!is_seq(s) && s != M_NIL) return type_error("map", "a list", s);
    size_t n = s == M_NIL ? 0 : seq_count(s);
    V *out = mal_scratch_alloc((n ? n : 1) * sizeof(V));
    if (!out) return mal_oom();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        V x = tag_of(s) == T_LIST ? NULL : ((Vec *)s)->items[i];
        if (!x) { List *l = s; for (size_t j = 0; j < i; j++) l = l->tail; x = l->head; }
        V y = mal_apply(args[0], &x, 1);
        if (!y) break;
        out[k++] = y;
    }
    V r = k == n ? (V)list_from(out, n) : NULL;
    for (size_t i = 0; i < k; i++) M_DECREF(out[i]);
    mal_scratch_free(out);
    return r;
}

static V c_conj(V *args, int argc)
{
    V s = args[0];
    if (tag_of(s) == T_VEC) {
        Vec *v = s, *w = vec_new(v->n + (size_t)argc - 1);
        if (!w) return NULL;
        for (size_t i = 0; i < v->n; i++) { M_INCREF(v->items[i]); w->items[i] = v->items[i]; }
        for (int i = 1; i < argc; i++) { M_INCREF(args[i]); w->items[v->n + (size_t)i - 1] = args[i]; }
        return w;
    }
    if (tag_of(s) != T_LIST && s != M_NIL) return type_error("conj", "a list or vector", s);
    List *acc = to_list(s);
    for (int i = 1; acc && i < argc; i++) {
        List *c = list_cons(args[i], acc);
        M_DECREF(acc);
        acc = c;
    }
    return acc;
}

static V c_seq(V *args, int argc)
{
    (void)argc;
    V s = args[0];
    switch (tag_of(s)) {
    case T_NIL: return M_NIL;
    case T_LIST: if (((List *)s)->count == 0) return M_NIL; RET_INCREF(s);
    case T_VEC: return ((Vec *)s)->n ? (V)list_from(((Vec *)s)->items, ((Vec *)s)->n) : M_NIL;
    case T_STR: {
        Str *str = s;
        if (!str->len) return M_NIL;
        V *cs = mal_scratch_alloc(str->len * sizeof(V));
        if (!cs) return mal_oom();
        size_t k = 0;
        for (; k < str->len; k++) if (!(cs[k] = str_new(str->data + k, 1))) break;
        V r = k == str->len ? (V)list_from(cs, k) : NULL;
        for (size_t i = 0; i < k; i++) M_DECREF(cs[i]);
        mal_scratch_free(cs);
        return r;
    }
    default: return type_error("seq", "a list, vector or string", s);
    }
}

/* ---- hash maps ---- */

static V c_hash_map(V *args, int argc)
{
    if (argc % 2) return mal_error("hash-map: needs an even number of arguments");
    return map_from(args, (size_t)argc / 2);
}

static V c_assoc(V *args, int argc)
{
    if (tag_of(args[0]) != T_MAP) return type_error("assoc", "a hash-map", args[0]);
    if (argc % 2 == 0) return mal_error("assoc: needs key/value pairs");
    Map *m = args[0];
    size_t n = 2 * (size_t)m->n + (size_t)argc - 1;
    V *kv = mal_scratch_alloc(n * sizeof(V));
    if (!kv) return mal_oom();
    memcpy(kv, m->kv, 2 * (size_t)m->n * sizeof(V));
    memcpy(kv + 2 * (size_t)m->n, args + 1, ((size_t)argc - 1) * sizeof(V));
    Map *r = map_from(kv, n / 2);
    mal_scratch_free(kv);
    return r;
}

static V c_dissoc(V *args, int argc)
{
    if (tag_of(args[0]) != T_MAP) return type_error("dissoc", "a hash-map", args[0]);
    Map *m = args[0];
    V *kv = mal_scratch_alloc((2 * (size_t)m->n + 1) * sizeof(V));
    if (!kv) return mal_oom();
    size_t k = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        int drop = 0;
        for (int j = 1; j < argc && !drop; j++) {
            int r = mal_equal(m->kv[2 * i], args[j]);
            if (r < 0) { mal_scratch_free(kv); return NULL; }
            drop = r;
        }
        if (!drop) { kv[k++] = m->kv[2 * i]; kv[k++] = m->kv[2 * i + 1]; }
    }
    Map *r = map_from(kv, k / 2);
    mal_scratch_free(kv);
    return r;
}

static V c_get(V *args, int argc)
{
    (void)argc;
    if (args[0] == M_NIL) return M_NIL;
    if (tag_of(args[0]) != T_MAP) return type_error("get", "a hash-map", args[0]);
    V v = map_get(args[0], args[1]);
    if (!v) return M_NIL;
    RET_INCREF(v);
}

static V c_containsp(V *args, int argc)
{
    (void)argc;
    if (args[0] == M_NIL) return M_FALSE;
    if (tag_of(args[0]) != T_MAP) return type_error("contains?", "a hash-map", args[0]);
    return MK_BOOL(map_get(args[0], args[1]) != NULL);
}

static V keys_or_vals(V m0, int off, const char *fn)
{
    if (tag_of(m0) != T_MAP) return type_error(fn, "a hash-map", m0);
    Map *m = m0;
    V *xs = mal_scratch_alloc(((size_t)m->n + 1) * sizeof(V));
    if (!xs) return mal_oom();
    for (uint32_t i = 0; i < m->n; i++) xs[i] = m->kv[2 * i + (uint32_t)off];
    List *l = list_from(xs, m->n);
    mal_scratch_free(xs);
    return l;
}

static V c_keys(V *args, int argc) { (void)argc; return keys_or_vals(args[0], 0, "keys"); }
static V c_vals(V *args, int argc) { (void)argc; return keys_or_vals(args[0], 1, "vals"); }

/* ---- atoms ---- */

static V c_atom(V *args, int argc)
{
    (void)argc;
    Atom *a = mal_alloc(&mal_atom_type, sizeof(Atom));
    if (!a) return NULL;
    a->o.tag = T_ATOM;
    M_INCREF(args[0]);
    a->val = args[0];
    return a;
}

static V c_deref(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_ATOM) return type_error("deref", "an atom", args[0]);
    RET_INCREF(((Atom *)args[0])->val);
}

static void atom_set(Atom *a, V v)
{
    V old = a->val;
    M_INCREF(v);
    a->val = v;
    M_DECREF(old);
}

static V c_reset(V *args, int argc)
{
    (void)argc;
    if (tag_of(args[0]) != T_ATOM) return type_error("reset!", "an atom", args[0]);
    atom_set(args[0], args[1]);
    RET_INCREF(args[1]);
}

static V c_swap(V *args, int argc)
{
    if (tag_of(args[0]) != T_ATOM) return type_error("swap!", "an atom", args[0]);
    Atom *a = args[0];
    V buf[8], *xs = argc <= 8 ? buf : mal_scratch_alloc((size_t)argc * sizeof(V));
    if (!xs) return mal_oom();
    xs[0] = a->val;
    M_INCREF(xs[0]); /* the function may reset the atom meanwhile */
    for (int i = 2; i < argc; i++) xs[i - 1] = args[i];
    V r = mal_apply(args[1], xs, argc - 1);
    M_DECREF(xs[0]);
    if (xs != buf) mal_scratch_free(xs);
    if (!r) return NULL;
    atom_set(a, r);
    return r;
}

/* ---- metadata ---- */

static V *meta_slot(V v)
{
    switch (tag_of(v)) {
    case T_LIST: return &((List *)v)->meta;
    case T_VEC: return &((Vec *)v)->meta;
    case T_MAP: return &((Map *)v)->meta;
    case T_BUILTIN: return &((Builtin *)v)->meta;
    case T_CLOSURE: return &((Closure *)v)->meta;
    default: return NULL;
    }
}

static V c_meta(V *args, int argc)
{
    (void)argc;
    V *slot = meta_slot(args[0]);
    if (!slot) return M_NIL;
    RET_INCREF(*slot);
}

static V c_with_meta(V *args, int argc)
{
    (void)argc;
    V v = args[0], c;
    switch (tag_of(v)) {
    case T_LIST: {
        List *l = v;
        if (l->count == 0) {
            c = mal_alloc(&mal_list_type, sizeof(List));
            if (c) { ((List *)c)->o.tag = T_LIST; ((List *)c)->head = M_NIL; }
        } else {
            c = list_cons(l->head, l->tail);
        }
        break;
    }
    case T_VEC: c = vec_from(((Vec *)v)->items, ((Vec *)v)->n); break;
    case T_MAP: {
        Map *m = v;
        size_t sz = sizeof(Map) + 2 * (size_t)m->n * sizeof(V) + m->icap * sizeof(uint32_t);
        c = mal_alloc(&mal_map_type, sz);
        if (c) {
            memcpy(c, m, sz);
            for (size_t i = 0; i < 2 * (size_t)m->n; i++) M_INCREF(m->kv[i]);
        }
        break;
    }
    case T_BUILTIN: {
        Builtin *b = v;
        c = builtin_new(b->name, b->fn, b->min, b->max);
        break;
    }
    case T_CLOSURE: {
        Closure *src = v, *d = mal_alloc(&mal_closure_type, sizeof(Closure));
        if (d) {
            *d = *src;
            M_INCREF(d->params); M_INCREF(d->body); M_INCREF(d->env); M_INCREF(d->src_params);
        }
        c = d;
        break;
    }
    default: return type_error("with-meta", "a collection or function", v);
    }
    if (!c) return NULL;
    V *slot = meta_slot(c);
    M_INCREF(args[1]);
    *slot = args[1]; /* the copy's meta slot held no reference of its own */
    return c;
}

/* ---- evaluation ---- */

static V c_eval(V *args, int argc)
{
    (void)argc;
    return EVAL(args[0], repl_env);
}

static V c_throw(V *args, int argc)
{
    (void)argc;
    return mal_throw(args[0]);
}

void def_builtin(Env *env, const char *name, BuiltinFn fn, int min, int max)
{
    Str *sym = sym_intern(name, strlen(name), T_SYM);
    Builtin *b = builtin_new(name, fn, min, max);
    if (sym && b) env_set(env, sym, b);
    M_XDECREF(sym);
    M_XDECREF(b);
}

void core_init(Env *env)
{
    static const struct { const char *name; BuiltinFn fn; int min, max; } fns[] = {
        { "+", c_add, 2, 2 }, { "-", c_sub, 2, 2 }, { "*", c_mul, 2, 2 }, { "/", c_div, 2, 2 },
        { "<", c_lt, 2, 2 }, { "<=", c_le, 2, 2 }, { ">", c_gt, 2, 2 }, { ">=", c_ge, 2, 2 },
        { "=", c_eq, 2, 2 }, { "time-ms", c_time_ms, 0, 0 },
        { "nil?", c_nilp, 1, 1 }, { "true?", c_truep, 1, 1 }, { "false?", c_falsep, 1, 1 },
        { "string?", c_stringp, 1, 1 }, { "symbol?", c_symbolp, 1, 1 },
        { "keyword?", c_keywordp, 1, 1 }, { "number?", c_numberp, 1, 1 },
        { "fn?", c_fnp, 1, 1 }, { "macro?", c_macrop, 1, 1 }, { "list?", c_listp, 1, 1 },
        { "vector?", c_vectorp, 1, 1 }, { "map?", c_mapp, 1, 1 },
        { "sequential?", c_seqp, 1, 1 }, { "atom?", c_atomp, 1, 1 },
        { "pr-str", c_pr_str, 0, -1 }, { "str", c_str, 0, -1 }, { "prn", c_prn, 0, -1 },
        { "println", c_println, 0, -1 }, { "read-string", c_read_string, 1, 1 },
        { "slurp", c_slurp, 1, 1 }, { "readline", c_readline, 1, 1 },
        { "symbol", c_symbol, 1, 1 }, { "keyword", c_keyword, 1, 1 },
        { "list", c_list, 0, -1 }, { "vector", c_vector, 0, -1 }, { "cons", c_cons, 2, 2 },
        { "concat", c_concat, 0, -1 }, { "vec", c_vec, 1, 1 }, { "nth", c_nth, 2, 2 },
        { "first", c_first, 1, 1 }, { "rest", c_rest, 1, 1 }, { "empty?", c_emptyp, 1, 1 },
        { "count", c_count, 1, 1 }, { "apply", c_apply, 2, -1 }, { "map", c_map, 2, 2 },
        { "conj", c_conj, 1, -1 }, { "seq", c_seq, 1, 1 },
        { "hash-map", c_hash_map, 0, -1 }, { "assoc", c_assoc, 1, -1 },
        { "dissoc", c_dissoc, 1, -1 }, { "get", c_get, 2, 2 },
        { "contains?", c_containsp, 2, 2 }, { "keys", c_keys, 1, 1 }, { "vals", c_vals, 1, 1 },
        { "atom", c_atom, 1, 1 }, { "deref", c_deref, 1, 1 }, { "reset!", c_reset, 2, 2 },
        { "swap!", c_swap, 2, -1 }, { "meta", c_meta, 1, 1 }, { "with-meta", c_with_meta, 2, 2 },
        { "eval", c_eval, 1, 1 }, { "throw", c_throw, 1, 1 },
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++)
        def_builtin(env, fns[i].name, fns[i].fn, fns[i].min, fns[i].max);
}
