/* reader.c — text to MAL values.  Lists remember the file and line they
 * were read from: EVAL hands them to recycle as allocation sites. */
#include <stdlib.h>

#include "mal.h"

const V M_READ_NONE = (V)(uintptr_t)0x8;

uint16_t    mal_nfiles = 1;
const char *mal_files[65536] = { "<repl>" };

uint16_t mal_file_id(const char *path)
{
    for (uint16_t i = 0; i < mal_nfiles; i++)
        if (strcmp(mal_files[i], path) == 0) return i;
    if (mal_nfiles == 65535) return 0;
    char *copy = strdup(path);
    if (!copy) return 0;
    mal_files[mal_nfiles] = copy;
    return mal_nfiles++;
}

typedef struct Reader {
    const char *s, *end;
    uint32_t    line;
    uint16_t    file;
} Reader;

static void skip_ws(Reader *r)
{
    while (r->s < r->end) {
        char c = *r->s;
        if (c == '\n') { r->line++; r->s++; }
        else if (c == ' ' || c == '\t' || c == '\r' || c == ',') r->s++;
        else if (c == ';') { while (r->s < r->end && *r->s != '\n') r->s++; }
        else break;
    }
}

static int is_delim(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ';' || c == '('
        || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\'' || c == '"'
        || c == '`' || c == '~' || c == '^' || c == '@';
}

static V read_form(Reader *r);

static V wrap(Reader *r, const char *name, int with_meta)
{
    Str *sym = sym_intern(name, strlen(name), T_SYM);
    if (!sym) return NULL;
    V x = read_form(r);
    if (!x) { M_DECREF(sym); return NULL; }
    List *l;
    if (with_meta) {
        V y = read_form(r);
        if (!y) { M_DECREF(x); M_DECREF(sym); return NULL; }
        V items[3] = { sym, y, x };
        l = list_from(items, 3);
        M_DECREF(y);
    } else {
        V items[2] = { sym, x };
        l = list_from(items, 2);
    }
    M_DECREF(x);
    M_DECREF(sym);
    return l;
}

static V read_seq(Reader *r, char close)
{
    uint32_t line = r->line;
    size_t n = 0, cap = 8;
    V *items = mal_scratch_alloc(cap * sizeof(V)), ret = NULL;
    if (!items) return mal_oom();
    r->s++;
    for (;;) {
        skip_ws(r);
        if (r->s >= r->end) { mal_error("unbalanced input: expected '%c', got EOF", close); goto done; }
        if (*r->s == close) { r->s++; break; }
        if (*r->s == ')' || *r->s == ']' || *r->s == '}') {
            mal_error("unbalanced input: expected '%c', got '%c'", close, *r->s);
            goto done;
        }
        V x = read_form(r);
        if (!x) goto done;
        if (n == cap) {
            V *ni = mal_scratch_realloc(items, 2 * cap * sizeof(V));
            if (!ni) { M_DECREF(x); mal_oom(); goto done; }
            items = ni;
            cap *= 2;
        }
        items[n++] = x;
    }
    if (close == ')') {
        List *l = list_from(items, n);
        if (l && n) { l->o.line = line; l->o.file = r->file; }
        ret = l;
    } else if (close == ']') {
        ret = vec_from(items, n);
    } else if (n % 2) {
        mal_error("a hash-map needs an even number of forms");
    } else {
        ret = map_from(items, n / 2);
    }
done:
    for (size_t i = 0; i < n; i++) M_DECREF(items[i]);
    mal_scratch_free(items);
    return ret;
}

static V read_string(Reader *r)
{
    StrBuf b;
    if (sb_init(&b) < 0) return NULL;
    r->s++;
    for (;;) {
        if (r->s >= r->end) { sb_drop(&b); return mal_error("unbalanced string: expected '\"', got EOF"); }
        char c = *r->s++;
        if (c == '"') break;
        if (c == '\n') r->line++;
        if (c == '\\') {
            if (r->s >= r->end) { sb_drop(&b); return mal_error("unbalanced string: expected '\"', got EOF"); }
            c = *r->s++;
            if (c == 'n') c = '\n';
        }
        sb_add(&b, &c, 1);
    }
    return sb_finish(&b);
}

static V read_atom(Reader *r)
{
    const char *t = r->s;
    while (r->s < r->end && !is_delim(*r->s)) r->s++;
    size_t n = (size_t)(r->s - t);
    if (n == 0) { r->s++; return mal_error("unexpected character '%c'", *t); }
    size_t i = (t[0] == '-' && n > 1) ? 1 : 0;
    int digits = 1;
    for (size_t j = i; j < n; j++) if (t[j] < '0' || t[j] > '9') { digits = 0; break; }
    if (digits) {
        intptr_t v = 0;
        for (size_t j = i; j < n; j++) v = (intptr_t)((uintptr_t)v * 10u + (uintptr_t)(t[j] - '0'));
        return MK_INT(i ? -v : v);
    }
    if (n == 3 && memcmp(t, "nil", 3) == 0) return M_NIL;
    if (n == 4 && memcmp(t, "true", 4) == 0) return M_TRUE;
    if (n == 5 && memcmp(t, "false", 5) == 0) return M_FALSE;
    if (t[0] == ':') return sym_intern(t + 1, n - 1, T_KW);
    return sym_intern(t, n, T_SYM);
}

static V read_form(Reader *r)
{
    if (mal_stack_check() < 0) return NULL;
    skip_ws(r);
    if (r->s >= r->end) return mal_error("unbalanced input: unexpected EOF");
    switch (*r->s) {
    case '(': return read_seq(r, ')');
    case '[': return read_seq(r, ']');
    case '{': return read_seq(r, '}');
    case ')': case ']': case '}':
        r->s++;
        return mal_error("unbalanced input: unexpected '%c'", r->s[-1]);
    case '\'': r->s++; return wrap(r, "quote", 0);
    case '`': r->s++; return wrap(r, "quasiquote", 0);
    case '~':
        r->s++;
        if (r->s < r->end && *r->s == '@') { r->s++; return wrap(r, "splice-unquote", 0); }
        return wrap(r, "unquote", 0);
    case '@': r->s++; return wrap(r, "deref", 0);
    case '^': r->s++; return wrap(r, "with-meta", 1);
    case '"': return read_string(r);
    default: return read_atom(r);
    }
}

V read_str(const char *s, size_t n, const char *file)
{
    Reader r = { s, s + n, 1, file ? mal_file_id(file) : 0 };
    skip_ws(&r);
    if (r.s >= r.end) return M_READ_NONE;
    return read_form(&r);
}

/* Every form of a source text, as a list: what load-file evaluates. */
V read_all(const char *s, size_t n, const char *file)
{
    Reader r = { s, s + n, 1, file ? mal_file_id(file) : 0 };
    size_t k = 0, cap = 16;
    V *forms = mal_scratch_alloc(cap * sizeof(V)), ret = NULL;
    if (!forms) return mal_oom();
    for (;;) {
        skip_ws(&r);
        if (r.s >= r.end) { ret = list_from(forms, k); break; }
        V x = read_form(&r);
        if (!x) break;
        if (k == cap) {
            V *nf = mal_scratch_realloc(forms, 2 * cap * sizeof(V));
            if (!nf) { M_DECREF(x); mal_oom(); break; }
            forms = nf;
            cap *= 2;
        }
        forms[k++] = x;
    }
    for (size_t i = 0; i < k; i++) M_DECREF(forms[i]);
    mal_scratch_free(forms);
    return ret;
}
