/* types.c — the recycle types of MAL values, their constructors, the symbol
 * table, equality and string building. */
#include <stdarg.h>
#include <stdlib.h>

#include "mal.h"

#define VISIT(x) do { if (!IS_IMM(x) && (x)) { int r_ = visit((void **)&(x), arg); if (r_) return r_; } } while (0)

/* ---- traverse / release ---- */

static int list_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    List *l = obj;
    VISIT(l->head);
    VISIT(l->tail);
    VISIT(l->meta);
    VISIT(l->cache);
    return 0;
}

static int vec_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Vec *v = obj;
    for (size_t i = 0; i < v->n; i++) VISIT(v->items[i]);
    VISIT(v->meta);
    return 0;
}

static int map_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Map *m = obj;
    for (size_t i = 0; i < 2 * (size_t)m->n; i++) VISIT(m->kv[i]);
    VISIT(m->meta);
    return 0;
}

static int builtin_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Builtin *b = obj;
    VISIT(b->meta);
    return 0;
}

static int closure_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Closure *c = obj;
    VISIT(c->params);
    VISIT(c->body);
    VISIT(c->env);
    VISIT(c->meta);
    VISIT(c->src_params);
    return 0;
}

static int atom_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Atom *a = obj;
    VISIT(a->val);
    return 0;
}

static int env_traverse(void *obj, rc_visit_fn visit, void *arg)
{
    Env *e = obj;
    VISIT(e->outer);
    for (uint32_t i = 0; i < e->n; i++) {
        VISIT(e->pairs[i].sym);
        VISIT(e->pairs[i].val);
    }
    return 0;
}

static void str_release(void *obj)
{
    Str *s = obj;
    if (s->data && s->data != s->inl) mal_buf_free(s, s->data);
}

static void env_release(void *obj)
{
    Env *e = obj;
    if (e->pairs && e->pairs != e->inl) mal_buf_free(e, e->pairs);
    mal_buf_free(e, e->index);
}

/* ---- the intern table: symbols and keywords, one object per name ---- */

static Str   **itab;
static size_t  itab_cap, itab_n;

static void sym_release(void *obj)
{
    Str *s = obj;
    if (!itab) return;
    Str **pp = &itab[s->hash & (itab_cap - 1)];
    while (*pp && *pp != s) pp = &(*pp)->next;
    if (*pp) { *pp = s->next; itab_n--; }
}

const rc_type mal_str_type     = { "mal-string", sizeof(Str), NULL, NULL, str_release, 0, mal_describe };
const rc_type mal_sym_type     = { "mal-symbol", sizeof(Str), NULL, NULL, sym_release, 0, mal_describe };
const rc_type mal_list_type    = { "mal-list", sizeof(List), list_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_vec_type     = { "mal-vector", sizeof(Vec), vec_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_map_type     = { "mal-hash-map", sizeof(Map), map_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_builtin_type = { "mal-builtin", sizeof(Builtin), builtin_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_closure_type = { "mal-function", sizeof(Closure), closure_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_atom_type    = { "mal-atom", sizeof(Atom), atom_traverse, NULL, NULL, 0, mal_describe };
const rc_type mal_env_type     = { "mal-env", sizeof(Env), env_traverse, NULL, env_release, 0, mal_describe };

uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 16777619u; }
    return h;
}

static int itab_grow(void)
{
    size_t ncap = itab_cap ? itab_cap * 2 : 1024;
    Str **nt = calloc(ncap, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < itab_cap; i++) {
        Str *s = itab[i];
        while (s) {
            Str *next = s->next;
            s->next = nt[s->hash & (ncap - 1)];
            nt[s->hash & (ncap - 1)] = s;
            s = next;
        }
    }
    free(itab);
    itab = nt;
    itab_cap = ncap;
    return 0;
}

/* A new reference to the symbol (tag T_SYM) or keyword (T_KW) named s. */
Str *sym_intern(const char *s, size_t len, int tag)
{
    uint32_t h = hash_bytes(s, len) ^ (tag == T_KW ? 0x9e3779b9u : 0);
    if (itab_cap) {
        for (Str *p = itab[h & (itab_cap - 1)]; p; p = p->next)
            if (p->hash == h && p->len == len && p->o.tag == tag && memcmp(p->data, s, len) == 0) {
                M_INCREF(p);
                return p;
            }
    }
    if ((!itab_cap || itab_n + 1 > itab_cap * 2 / 3) && itab_grow() < 0) return (Str *)mal_oom();
    Str *p = mal_alloc(&mal_sym_type, sizeof(Str) + len + 1);
    if (!p) return NULL;
    p->o.tag = (uint16_t)tag;
    p->hash = h;
    p->len = len;
    p->data = p->inl;
    memcpy(p->inl, s, len);
    p->inl[len] = 0;
    p->next = itab[h & (itab_cap - 1)];
    itab[h & (itab_cap - 1)] = p;
    itab_n++;
    return p;
}

/* ---- constructors ---- */

Str *str_new(const char *s, size_t len)
{
    Str *p = mal_alloc(&mal_str_type, sizeof(Str) + len + 1);
    if (!p) return NULL;
    p->o.tag = T_STR;
    p->len = len;
    p->data = p->inl;
    memcpy(p->inl, s, len);
    p->inl[len] = 0;
    p->hash = hash_bytes(s, len);
    return p;
}

Str *str_cstr(const char *s) { return str_new(s, strlen(s)); }

static List *the_empty;

List *list_empty(void)
{
    if (!the_empty) {
        the_empty = mal_alloc(&mal_list_type, sizeof(List));
        if (!the_empty) return NULL;
        the_empty->o.tag = T_LIST;
        the_empty->head = M_NIL;
        the_empty->meta = M_NIL;
        /* The interpreter keeps this one for good: not the program's. */
#ifndef MAL_BOEHM
        rc_untrack(the_empty);
#endif
    }
    M_INCREF(the_empty);
    return the_empty;
}

/* A new list cell: head and tail are borrowed (new references are taken). */
List *list_cons(V head, List *tail)
{
    List *l = mal_alloc(&mal_list_type, sizeof(List));
    if (!l) return NULL;
    l->o.tag = T_LIST;
    l->o.file = 0;
    l->o.line = 0;
    M_INCREF(head);
    l->head = head;
    l->meta = M_NIL;
    if (tail && tail->count) {
        M_INCREF(tail);
        l->tail = tail;
        l->count = tail->count + 1;
    } else {
        l->count = 1;
    }
    return l;
}

List *list_from(V *items, size_t n)
{
    if (n == 0) return list_empty();
    List *acc = NULL;
    for (size_t i = n; i-- > 0;) {
        List *c = list_cons(items[i], acc);
        M_XDECREF(acc);
        if (!c) return NULL;
        acc = c;
    }
    return acc;
}

Vec *vec_new(size_t n)
{
    Vec *v = mal_alloc(&mal_vec_type, sizeof(Vec) + n * sizeof(V));
    if (!v) return NULL;
    v->o.tag = T_VEC;
    v->meta = M_NIL;
    for (size_t i = 0; i < n; i++) v->items[i] = M_NIL;
    v->n = n;
    return v;
}

Vec *vec_from(V *items, size_t n)
{
    Vec *v = vec_new(n);
    if (!v) return NULL;
    for (size_t i = 0; i < n; i++) { M_INCREF(items[i]); v->items[i] = items[i]; }
    return v;
}

static uint32_t key_hash(V k)
{
    switch (tag_of(k)) {
    case T_STR: case T_SYM: case T_KW: return ((Str *)k)->hash;
    case T_INT: return (uint32_t)((uintptr_t)k * 2654435761u);
    default: return (uint32_t)tag_of(k);
    }
}

/* Keys are compared with = semantics; strings, keywords and numbers fast. */
static int key_eq(V a, V b)
{
    if (a == b) return 1;
    int ta = tag_of(a);
    if (ta == T_STR && tag_of(b) == T_STR) {
        Str *x = a, *y = b;
        return x->hash == y->hash && x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
    }
    if (ta == T_KW || ta == T_SYM || ta == T_INT) return 0;
    return mal_equal(a, b) == 1;
}

static int map_find(Map *m, V key)
{
    if (m->n <= MAP_LINEAR) {
        for (uint32_t i = 0; i < m->n; i++)
            if (key_eq(m->kv[2 * i], key)) return (int)i;
        return -1;
    }
    uint32_t *ix = MAP_INDEX(m), mask = m->icap - 1;
    for (uint32_t j = key_hash(key) & mask;; j = (j + 1) & mask) {
        if (!ix[j]) return -1;
        if (key_eq(m->kv[2 * (ix[j] - 1)], key)) return (int)(ix[j] - 1);
    }
}

V map_get(Map *m, V key)
{
    int i = map_find(m, key);
    return i < 0 ? NULL : m->kv[2 * i + 1];
}

/* A map of npairs key/value pairs (borrowed); a later duplicate key
 * replaces the earlier one's value. */
Map *map_from(V *kv, size_t npairs)
{
    uint32_t icap = 0;
    if (npairs > MAP_LINEAR) { icap = 16; while (icap < 2 * npairs) icap *= 2; }
    Map *m = mal_alloc(&mal_map_type, sizeof(Map) + 2 * npairs * sizeof(V) + icap * sizeof(uint32_t));
    if (!m) return NULL;
    m->o.tag = T_MAP;
    m->meta = M_NIL;
    /* Fill as a small map first, then index once the pairs are final. */
    uint32_t n = 0;
    for (size_t i = 0; i < npairs; i++) {
        V k = kv[2 * i], v = kv[2 * i + 1];
        int at = -1;
        if (npairs <= MAP_LINEAR) {
            for (uint32_t j = 0; j < n; j++) if (key_eq(m->kv[2 * j], k)) { at = (int)j; break; }
        }
        M_INCREF(v);
        if (at >= 0) { M_DECREF(m->kv[2 * at + 1]); m->kv[2 * at + 1] = v; continue; }
        M_INCREF(k);
        m->kv[2 * n] = k;
        m->kv[2 * n + 1] = v;
        m->n = ++n;
    }
    if (icap) {
        /* Big maps: index, dropping later duplicates into the earlier slot. */
        uint32_t *ix = (uint32_t *)(m->kv + 2 * npairs), mask = icap - 1, w = 0;
        for (uint32_t i = 0; i < n; i++) {
            V k = m->kv[2 * i];
            uint32_t j = key_hash(k) & mask;
            for (; ix[j]; j = (j + 1) & mask)
                if (key_eq(m->kv[2 * (ix[j] - 1)], k)) break;
            if (ix[j]) {
                uint32_t at = ix[j] - 1;
                M_DECREF(m->kv[2 * at + 1]);
                m->kv[2 * at + 1] = m->kv[2 * i + 1];
                M_DECREF(k);
                continue;
            }
            m->kv[2 * w] = k;
            m->kv[2 * w + 1] = m->kv[2 * i + 1];
            ix[j] = ++w;
        }
        for (uint32_t i = w; i < n; i++) m->kv[2 * i] = m->kv[2 * i + 1] = M_NIL;
        /* The index must sit right after the pairs: move it if pairs shrank. */
        if (w != npairs) memmove(m->kv + 2 * w, ix, icap * sizeof(uint32_t));
        m->n = w;
        m->icap = icap;
        if (w <= MAP_LINEAR) m->icap = 0;
    }
    return m;
}

Builtin *builtin_new(const char *name, BuiltinFn fn, int min, int max)
{
    Builtin *b = mal_alloc(&mal_builtin_type, sizeof(Builtin));
    if (!b) return NULL;
    b->o.tag = T_BUILTIN;
    b->fn = fn;
    b->name = name;
    b->min = min;
    b->max = max;
    b->meta = M_NIL;
    return b;
}

/* ---- sequences ---- */

int is_seq(V v)
{
    int t = tag_of(v);
    return t == T_LIST || t == T_VEC;
}

size_t seq_count(V v)
{
    return tag_of(v) == T_LIST ? ((List *)v)->count : ((Vec *)v)->n;
}

V seq_nth(V v, size_t i)
{
    if (tag_of(v) == T_VEC) return ((Vec *)v)->items[i];
    List *l = v;
    while (i--) l = l->tail;
    return l->head;
}

int mal_equal(V a, V b)
{
    if (a == b) return 1;
    int ta = tag_of(a), tb = tag_of(b);
    if (is_seq(a) && is_seq(b)) {
        if (seq_count(a) != seq_count(b)) return 0;
        if (mal_stack_check() < 0) return -1;
        size_t n = seq_count(a);
        if (ta == T_LIST && tb == T_LIST) {
            List *x = a, *y = b;
            for (; x && x->count; x = x->tail, y = y->tail) {
                int r = mal_equal(x->head, y->head);
                if (r != 1) return r;
            }
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            int r = mal_equal(seq_nth(a, i), seq_nth(b, i));
            if (r != 1) return r;
        }
        return 1;
    }
    if (ta != tb) return 0;
    switch (ta) {
    case T_STR: return key_eq(a, b);
    case T_MAP: {
        Map *x = a, *y = b;
        if (x->n != y->n) return 0;
        if (mal_stack_check() < 0) return -1;
        for (uint32_t i = 0; i < x->n; i++) {
            V w = map_get(y, x->kv[2 * i]);
            if (!w) return 0;
            int r = mal_equal(x->kv[2 * i + 1], w);
            if (r != 1) return r;
        }
        return 1;
    }
    default: return 0; /* interned or identity */
    }
}

/* ---- string building ---- */

int sb_init(StrBuf *b)
{
    b->s = NULL;
    b->p = b->local;
    b->len = 0;
    b->cap = sizeof b->local;
    b->failed = 0;
    return 0;
}

/* Short strings are built in b->local; past it, in a buffer owned by a
 * string shell (counted in the heap), which becomes the result. */
void sb_add(StrBuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap * 2;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *p;
        if (!b->s) {
            b->s = mal_alloc(&mal_str_type, sizeof(Str) + 1);
            if (!b->s) { b->failed = 1; return; }
            b->s->o.tag = T_STR;
            b->s->data = b->s->inl;
            p = mal_buf_alloc(b->s, ncap);
            if (p) memcpy(p, b->local, b->len);
        } else {
            p = mal_buf_realloc(b->s, b->p, ncap);
        }
        if (!p) { b->failed = 1; return; }
        b->p = p;
        b->s->data = p; /* the shell owns it from now on */
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void sb_drop(StrBuf *b)
{
    M_XDECREF(b->s);
    b->s = NULL;
}

Str *sb_finish(StrBuf *b)
{
    if (b->failed) {
        sb_drop(b);
        if (!mal_exc) mal_oom();
        return NULL;
    }
    if (!b->s) return str_new(b->p, b->len);
    Str *s = b->s;
    char *p = mal_buf_realloc(s, b->p, b->len + 1);
    if (!p) { sb_drop(b); return NULL; }
    p[b->len] = 0;
    s->data = p;
    s->len = b->len;
    s->hash = hash_bytes(p, b->len);
    b->s = NULL;
    return s;
}
