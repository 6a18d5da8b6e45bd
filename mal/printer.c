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
