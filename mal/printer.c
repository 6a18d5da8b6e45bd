/* printer.c — MAL values to text, readably (pr-str) or not (str). */
#include <inttypes.h>
#include <stdlib.h>

#include "mal.h"

static void pr_string(StrBuf *b, Str *s, int readably)
{
    if (!readably) { sb_add(b, s->data, s->len); return; }
    sb_add(b, "\"", 1);
    const char *p = s->data, *run = p, *end = p + s->len;
    for (; p < end; p++) {
        const char *esc = *p == '"' ? "\\\"" : *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : NULL;
        if (!esc) continue;
        sb_add(b, run, (size_t)(p - run));
        sb_add(b, esc, 2);
        run = p + 1;
    }
    sb_add(b, run, (size_t)(end - run));
    sb_add(b, "\"", 1);
}

int pr_value(StrBuf *b, V v, int readably)
{
    char num[32];
    switch (tag_of(v)) {
    case T_NIL: sb_adds(b, "nil"); return 0;
    case T_TRUE: sb_adds(b, "true"); return 0;
    case T_FALSE: sb_adds(b, "false"); return 0;
    case T_INT:
        snprintf(num, sizeof num, "%" PRIdPTR, INT_OF(v));
        sb_adds(b, num);
        return 0;
    case T_STR: pr_string(b, v, readably); return 0;
    case T_SYM: sb_add(b, ((Str *)v)->data, ((Str *)v)->len); return 0;
    case T_KW: sb_add(b, ":", 1); sb_add(b, ((Str *)v)->data, ((Str *)v)->len); return 0;
    case T_BUILTIN: sb_adds(b, "#<builtin "); sb_adds(b, ((Builtin *)v)->name); sb_adds(b, ">"); return 0;
    case T_CLOSURE: sb_adds(b, ((Closure *)v)->is_macro ? "#<macro>" : "#<function>"); return 0;
    case T_ENV: sb_adds(b, "#<env>"); return 0;
    default: break;
    }
    if (mal_stack_check() < 0) return -1;
    switch (tag_of(v)) {
    case T_ATOM:
        sb_adds(b, "(atom ");
        if (pr_value(b, ((Atom *)v)->val, readably) < 0) return -1;
        sb_adds(b, ")");
        return 0;
    case T_LIST:
        sb_adds(b, "(");
        for (List *l = v; l && l->count; l = l->tail) {
            if (l != v) sb_adds(b, " ");
            if (pr_value(b, l->head, readably) < 0) return -1;
        }
        sb_adds(b, ")");
        return 0;
    case T_VEC: {
        Vec *x = v;
        sb_adds(b, "[");
        for (size_t i = 0; i < x->n; i++) {
            if (i) sb_adds(b, " ");
            if (pr_value(b, x->items[i], readably) < 0) return -1;
        }
        sb_adds(b, "]");
        return 0;
    }
    case T_MAP: {
        Map *m = v;
        sb_adds(b, "{");
        for (size_t i = 0; i < 2 * (size_t)m->n; i++) {
            if (i) sb_adds(b, " ");
            if (pr_value(b, m->kv[i], readably) < 0) return -1;
        }
        sb_adds(b, "}");
        return 0;
    }
    default:
        sb_adds(b, "#<?>");
        return 0;
    }
}

Str *pr_str(V v, int readably)
{
    StrBuf b;
    if (sb_init(&b) < 0) return NULL;
    if (pr_value(&b, v, readably) < 0) { sb_drop(&b); return NULL; }
    return sb_finish(&b);
}

/* For messages: a malloc'd C string, or NULL (nothing thrown). */
char *pr_cstr(V v, int readably)
{
    V saved = mal_exc;
    mal_exc = NULL;
    Str *s = pr_str(v, readably);
    char *r = s ? strdup(s->data) : NULL;
    M_XDECREF(s);
    M_XDECREF(mal_exc);
    mal_exc = saved;
    return r;
}

/* ------------------------------------------------------------------ */
/* describe: a value in MAL syntax for the leak tools                  */
/* ------------------------------------------------------------------ */
/* rc_type.describe for every MAL type: writes at most len bytes (always
 * terminated when len > 0) and returns the length it wanted, like
 * snprintf.  The tools call it while they walk the heap, so it allocates
 * nothing and throws nothing: it goes at most DESC_DEPTH levels deep and
 * shows at most DESC_ITEMS elements of each collection, then "...". */
#define DESC_DEPTH 3
#define DESC_ITEMS 4

typedef struct Desc { char *buf; size_t len, pos; } Desc;

static void d_add(Desc *d, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, d->pos++)
        if (d->pos + 1 < d->len) d->buf[d->pos] = s[i];
}
static void d_adds(Desc *d, const char *s) { d_add(d, s, strlen(s)); }

static void d_value(Desc *d, V v, int depth);

static void d_items(Desc *d, const char *open, const char *close, V *items, size_t n,
                    int depth)
{
    d_adds(d, open);
    for (size_t i = 0; i < n; i++) {
        if (i) d_adds(d, " ");
        if (i == DESC_ITEMS) { d_adds(d, "..."); break; }
        d_value(d, items[i], depth + 1);
    }
    d_adds(d, close);
}

static void d_value(Desc *d, V v, int depth)
{
    char num[32];
    if (!v) { d_adds(d, "#<unset>"); return; } /* a slot not filled in yet */
    int tag = tag_of(v);
    if (depth >= DESC_DEPTH && (tag == T_LIST || tag == T_VEC || tag == T_MAP || tag == T_ATOM)) {
        d_adds(d, tag == T_LIST ? "(...)" : tag == T_VEC ? "[...]" : tag == T_MAP ? "{...}" : "(atom ...)");
        return;
    }
    switch (tag) {
    case T_NIL: d_adds(d, "nil"); return;
    case T_TRUE: d_adds(d, "true"); return;
    case T_FALSE: d_adds(d, "false"); return;
    case T_INT:
        snprintf(num, sizeof num, "%" PRIdPTR, INT_OF(v));
        d_adds(d, num);
        return;
    case T_STR: {
        Str *s = v;
        d_adds(d, "\"");
        d_add(d, s->data, s->len < 24 ? s->len : 24);
        d_adds(d, s->len > 24 ? "...\"" : "\"");
        return;
    }
    case T_SYM: d_add(d, ((Str *)v)->data, ((Str *)v)->len); return;
    case T_KW: d_adds(d, ":"); d_add(d, ((Str *)v)->data, ((Str *)v)->len); return;
    case T_BUILTIN: d_adds(d, "#<builtin "); d_adds(d, ((Builtin *)v)->name); d_adds(d, ">"); return;
    case T_CLOSURE: {
        Closure *c = v;
        d_adds(d, c->is_macro ? "(defmacro! " : "(fn* ");
        d_value(d, c->src_params ? c->src_params : (V)c->params, DESC_DEPTH - 1);
        d_adds(d, " ...)");
        return;
    }
    case T_ENV: {
        Env *e = v;
        snprintf(num, sizeof num, "%" PRIu32, e->n);
        d_adds(d, "#<env of ");
        d_adds(d, num);
        d_adds(d, e->n == 1 ? " binding>" : " bindings>");
        return;
    }
    case T_ATOM:
        d_adds(d, "(atom ");
        d_value(d, ((Atom *)v)->val, depth + 1);
        d_adds(d, ")");
        return;
    case T_LIST: {
        d_adds(d, "(");
        size_t i = 0;
        for (List *l = v; l && l->count; l = l->tail, i++) {
            if (i) d_adds(d, " ");
            if (i == DESC_ITEMS) { d_adds(d, "..."); break; }
            d_value(d, l->head, depth + 1);
        }
        d_adds(d, ")");
        return;
    }
    case T_VEC: d_items(d, "[", "]", ((Vec *)v)->items, ((Vec *)v)->n, depth); return;
    case T_MAP: d_items(d, "{", "}", ((Map *)v)->kv, 2 * (size_t)((Map *)v)->n, depth); return;
    default: d_adds(d, "#<?>"); return;
    }
}

int mal_describe(void *obj, char *buf, size_t len)
{
    Desc d = { buf, len, 0 };
    d_value(&d, obj, 0);
    if (len) buf[d.pos < len ? d.pos : len - 1] = '\0';
    return d.pos > (size_t)INT32_MAX ? INT32_MAX : (int)d.pos;
}
