/* mal.h — the MAL interpreter's values, memory macros and shared functions.
 *
 * A value (V) is either an immediate — a 63-bit integer (low bit 1) or one of
 * nil / true / false (small constants) — or a pointer to a recycle object whose
 * user part starts with an Obj header giving its tag.  Tagged immediates never
 * reach rc_incref/rc_decref or a traverse's visit: every count operation goes
 * through M_INCREF/M_DECREF, which skip them.
 *
 * Ownership: functions return new references (NULL = an exception is pending
 * in mal_exc); arguments are borrowed.  See mal/DESIGN.md.
 *
 * The same sources build two interpreters: recycle-mal (reference counting +
 * recycle's collector) and, with MAL_BOEHM, recycle-mal-boehm (GC_MALLOC, the
 * count operations compiled away).  Only this header and mem.c differ.
 */
#ifndef MAL_H
#define MAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <recycle.h>

#if defined(__GNUC__)
#  define LIKELY(x)   __builtin_expect(!!(x), 1)
#  define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define LIKELY(x)   (x)
#  define UNLIKELY(x) (x)
#endif

typedef void *V;

/* ---- immediates ---- */
#define M_NIL   ((V)(uintptr_t)0x2)
#define M_TRUE  ((V)(uintptr_t)0x4)
#define M_FALSE ((V)(uintptr_t)0x6)
#define IS_INT(v) (((uintptr_t)(v)) & 1u)
#define IS_IMM(v) (((uintptr_t)(v)) & 15u)
#define MK_INT(i) ((V)((((uintptr_t)(intptr_t)(i)) << 1) | 1u))
#define INT_OF(v) (((intptr_t)(uintptr_t)(v)) >> 1)
#define MK_BOOL(b) ((b) ? M_TRUE : M_FALSE)
#define TRUTHY(v) ((v) != M_NIL && (v) != M_FALSE)

enum {
    T_NIL, T_TRUE, T_FALSE, T_INT,
    T_STR, T_SYM, T_KW, T_LIST, T_VEC, T_MAP, T_BUILTIN, T_CLOSURE, T_ATOM, T_ENV
};

/* The first field of every object's user part. */
typedef struct Obj {
    uint16_t tag;
    uint16_t file; /* lists read from source: index into mal_files */
    uint32_t line; /* lists read from source: line of the '(' */
} Obj;

/* Strings, symbols and keywords.  data points at inl, or (strings built by
 * a StrBuf past MAL_INLINE_STR bytes) at a buffer the string owns. */
typedef struct Str {
    Obj         o;
    uint32_t    hash;
    uint32_t    pad;
    size_t      len;
    char       *data;
    struct Str *next; /* symbols and keywords: the intern table's chain */
    char        inl[];
} Str;
#define MAL_INLINE_STR 256

/* A list cell.  count is the length of the list starting here; the empty
 * list is a cell with count 0.  tail is NULL at the end. */
typedef struct List {
    Obj          o;
    size_t       count;
    V            head;
    struct List *tail;
    V            meta;
    V            cache; /* (quasiquote X) forms: X expanded, or NULL */
} List;

typedef struct Vec {
    Obj    o;
    size_t n;
    V      meta;
    V      items[];
} Vec;

/* Hash maps are immutable: n key/value pairs in insertion order, and for
 * more than MAP_LINEAR pairs an open-addressing index (icap slots holding
 * pair number + 1) after them. */
typedef struct Map {
    Obj      o;
    uint32_t n, icap;
    V        meta;
    V        kv[];
} Map;
#define MAP_LINEAR 8
#define MAP_INDEX(m) ((uint32_t *)((m)->kv + 2 * (size_t)(m)->n))

typedef V (*BuiltinFn)(V *args, int argc);
typedef struct Builtin {
    Obj         o;
    int         min, max; /* arity; max -1 = any */
    BuiltinFn   fn;
    const char *name;
    V           meta;
} Builtin;

struct Env;
typedef struct Closure {
    Obj         o;
    int         nparams;  /* fixed parameters */
    int         variadic; /* params->items[nparams] takes the rest */
    int         is_macro;
    int         pad;
    Vec        *params;   /* the symbols */
    V           body;
    struct Env *env;
    V           meta;
    V           src_params; /* as written, for printing */
} Closure;

typedef struct Atom {
    Obj o;
    V   val;
} Atom;

typedef struct Pair { Str *sym; V val; } Pair;
typedef struct Env {
    Obj         o;
    uint32_t    n, cap;
    struct Env *outer;
    Pair       *pairs;   /* inl, or a buffer the env owns */
    uint32_t   *index;   /* NULL, or icap slots: pair number + 1 */
    uint32_t    icap;
    uint32_t    pad;
    Pair        inl[];
} Env;

static inline int tag_of(V v)
{
    if (IS_INT(v)) return T_INT;
    if (IS_IMM(v)) return (int)((uintptr_t)v >> 1) - 1; /* 2,4,6 -> 0,1,2 */
    return ((Obj *)v)->tag;
}

/* ---- memory: the only place the two builds differ ---- */
extern const rc_type mal_str_type, mal_sym_type, mal_list_type, mal_vec_type,
    mal_map_type, mal_builtin_type, mal_closure_type, mal_atom_type, mal_env_type;

extern const char *mal_cur_file; /* the form being evaluated: allocation sites */
extern int         mal_cur_line;

void *mal_alloc(const rc_type *t, size_t size); /* zeroed; NULL + exception */
void *mal_buf_alloc(void *owner, size_t n);
void *mal_buf_realloc(void *owner, void *buf, size_t n);
void  mal_buf_free(void *owner, void *buf);
/* Scratch arrays of values that live only during one call (arguments being
 * evaluated, the reader's items): malloc in recycle-mal, where the values
 * they hold are counted references; in recycle-mal-boehm uncollectable GC
 * memory, which the collector scans, so a value held only there is never
 * freed under it (Boehm cannot see into malloc's memory).  NULL: out of
 * memory, nothing thrown. */
void *mal_scratch_alloc(size_t n);
void *mal_scratch_realloc(void *p, size_t n);
void  mal_scratch_free(void *p);

#ifdef MAL_BOEHM
#  define M_INCREF(v) ((void)(v))
#  define M_DECREF(v) ((void)(v))
#else
#  define M_INCREF(v) do { V m_v_ = (V)(v); if (!IS_IMM(m_v_)) rc_incref(m_v_); } while (0)
#  define M_DECREF(v) do { V m_v_ = (V)(v); if (!IS_IMM(m_v_)) rc_decref(m_v_); } while (0)
#endif
#define M_XINCREF(v) do { V m_x_ = (V)(v); if (m_x_) M_INCREF(m_x_); } while (0)
#define M_XDECREF(v) do { V m_x_ = (V)(v); if (m_x_) M_DECREF(m_x_); } while (0)

extern rc_heap *mal_heap; /* NULL in the Boehm build */
int  mem_init(size_t memory_limit);
int  mem_run_thread(void *(*fn)(void *), void *arg, size_t stack_size);
void mem_finish(void); /* MAL_PAUSES=1: prints the pause percentiles first */

/* ---- exceptions ---- */
extern V mal_exc;           /* the pending exception (a reference), or NULL */
V    mal_throw(V v);        /* steals nothing: increfs v; returns NULL */
V    mal_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
V    mal_oom(void);         /* throws the preallocated "out of memory" */
int  mal_stack_check(void); /* 0, or -1 with "stack overflow" thrown */
void mal_stack_init(void *base, size_t limit);
int  eval_init(void);
void eval_finish(void);

/* ---- values ---- */
Str *str_new(const char *s, size_t len);
Str *str_cstr(const char *s);
Str *sym_intern(const char *s, size_t len, int tag); /* T_SYM or T_KW */
List *list_empty(void);                  /* a new reference to the empty list */
List *list_cons(V head, List *tail);     /* tail NULL or a list (may be empty) */
List *list_from(V *items, size_t n);
Vec  *vec_new(size_t n);                 /* items nil, to be filled (owned) */
Vec  *vec_from(V *items, size_t n);
Map  *map_from(V *kv, size_t npairs);    /* later keys win */
V     map_get(Map *m, V key);            /* borrowed, or NULL */
Builtin *builtin_new(const char *name, BuiltinFn fn, int min, int max);
uint32_t hash_bytes(const char *s, size_t n);
int   mal_describe(void *obj, char *buf, size_t len); /* rc_type.describe: MAL syntax */
int   mal_equal(V a, V b);               /* 1, 0, or -1 with an exception */
size_t seq_count(V v);                   /* list or vector */
V     seq_nth(V v, size_t i);            /* borrowed */
int   is_seq(V v);

/* A growable string, owned by a Str under construction. */
typedef struct StrBuf {
    Str *s; char *p; size_t len, cap; int failed;
    char local[MAL_INLINE_STR];
} StrBuf;
int  sb_init(StrBuf *b);
void sb_add(StrBuf *b, const char *s, size_t n);
static inline void sb_adds(StrBuf *b, const char *s) { sb_add(b, s, strlen(s)); }
Str *sb_finish(StrBuf *b); /* NULL + exception (out of memory) */
Str *read_file(const char *path, const char *who); /* NULL + exception naming who */
void sb_drop(StrBuf *b);

/* ---- environments ---- */
Env *env_new(Env *outer, uint32_t cap);
V    env_get(Env *e, Str *sym);           /* borrowed, or NULL */
int  env_set(Env *e, Str *sym, V val);    /* 0, or -1 + exception */

/* ---- reader / printer ---- */
V    read_str(const char *s, size_t n, const char *file); /* NULL + exc; M_READ_NONE: no form */
extern const V M_READ_NONE;
V    read_all(const char *s, size_t n, const char *file); /* a list of forms */
int  pr_value(StrBuf *b, V v, int readably); /* 0, or -1 (stack overflow thrown) */
Str *pr_str(V v, int readably);
char *pr_cstr(V v, int readably);        /* malloc'd, for diagnostics */
extern uint16_t mal_nfiles;
extern const char *mal_files[];
uint16_t mal_file_id(const char *path);

/* ---- evaluation ---- */
extern Env *repl_env;
V    EVAL(V ast, Env *env);
V    mal_apply(V f, V *args, int argc);
void core_init(Env *env);
void gcns_init(Env *env);
void def_builtin(Env *env, const char *name, BuiltinFn fn, int min, int max);
extern Str *S_DEBUG_EVAL;
extern int  mal_debug_eval_seen;

#endif
