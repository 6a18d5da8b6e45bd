/* dot.c — reference graphs as Graphviz DOT, like objgraph's show_refs and
 * show_backrefs: the objects an object refers to (or that refer to it), a
 * given number of links deep, with what the other tools know about each:
 * held from outside the heap (and by how many references), in the garbage
 * list, on a reference cycle, allocation site.
 *
 * Forwards is a breadth-first search over traverse.  Backwards needs the
 * referrers, which nothing indexes: each level is one pass over the heap's
 * containers looking for references into the current frontier (objgraph
 * calls gc.get_referrers per object; one pass per level is cheaper).  Cycles
 * are the strongly connected components of the drawn graph (Tarjan's
 * algorithm, iterative), so only cycles inside the picture are marked.  The
 * picture is bounded: at most MAX_NODES objects and FANOUT edges per object,
 * what is left out summarised as "... N more".
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <stdlib.h>

#define MAX_NODES 400
#define FANOUT    40

typedef struct node {
    uint32_t id;     /* graph id */
    int      level;
    uint32_t more;   /* neighbours left out */
    uint32_t fan;    /* referrers drawn (backwards) */
    uint32_t comp;   /* strongly connected component */
    bool     cyclic; /* in a component of two or more, or refers to itself */
} node;

typedef struct edge {
    uint32_t from, to; /* node indices */
    uint32_t slot;
} edge;

typedef struct dot_ctx {
    rc__graph g;
    rc__pmap  index;   /* graph id + 1 -> node index + 1 */
    node     *nodes;
    size_t    nn;
    edge     *edges;
    size_t    ne, cape;
    uint32_t  cur, k, fan;
    int       level;
    bool      failed, full;
} dot_ctx;

/* The node of graph id `id`, added at `level` if new; SIZE_MAX if the
 * picture is full or memory ran out. */
static size_t node_of(dot_ctx *c, uint32_t id, int level)
{
    bool added;
    if (c->nn >= MAX_NODES) {
        uint64_t *v = rc__pmap_get(&c->index, (uintptr_t)id + 1);
        if (v) return *v - 1;
        c->full = true;
        return SIZE_MAX;
    }
    uint64_t *v = rc__pmap_put(&c->index, (uintptr_t)id + 1, &added);
    if (!v) {
        c->failed = true;
        return SIZE_MAX;
    }
    if (added) {
        c->nodes[c->nn] = (node){id, level, 0, 0, 0, false};
        *v = ++c->nn;
    }
    return *v - 1;
}

static int add_edge(dot_ctx *c, uint32_t from, uint32_t to, uint32_t slot)
{
    /* No duplicates: each (object, slot) is visited once per level. */
    if (c->ne == c->cape) {
        size_t cap = c->cape ? c->cape * 2 : 64;
        edge *e = realloc(c->edges, cap * sizeof *e);
        if (!e) {
            c->failed = true;
            return RC_ENOMEM;
        }
        c->edges = e;
        c->cape = cap;
    }
    c->edges[c->ne++] = (edge){from, to, slot};
    return 0;
}

/* Forwards: the node being expanded is c->cur; each slot one edge. */
static int visit_referent(void **slot, void *arg)
{
    dot_ctx *c = arg;
    uint32_t k = c->k++;
    if (!*slot) return 0;
    uint32_t id = rc__graph_id(&c->g, *slot);
    if (id == UINT32_MAX) return 0;
    if (c->fan >= FANOUT) {
        c->nodes[c->cur].more++;
        return 0;
    }
    size_t to = node_of(c, id, c->level + 1);
    if (to == SIZE_MAX) {
        c->nodes[c->cur].more++;
        return c->failed;
    }
    c->fan++;
    return add_edge(c, c->cur, (uint32_t)to, k) ? 1 : 0;
}

/* Backwards: the object being scanned is graph id c->cur; a slot into a
 * node of the frontier (level c->level) makes the scanned object a node. */
static int visit_referrer(void **slot, void *arg)
{
    dot_ctx *c = arg;
    uint32_t k = c->k++;
    if (!*slot) return 0;
    uint32_t id = rc__graph_id(&c->g, *slot);
    if (id == UINT32_MAX) return 0;
    uint64_t *v = rc__pmap_get(&c->index, (uintptr_t)id + 1);
    if (!v || c->nodes[*v - 1].level != c->level) return 0;
    node *to = &c->nodes[*v - 1];
    if (to->fan >= FANOUT) {
        to->more++;
        return 0;
    }
    size_t from = node_of(c, c->cur, c->level + 1);
    if (from == SIZE_MAX) {
        to->more++;
        return c->failed;
    }
    to->fan++;
    return add_edge(c, (uint32_t)from, (uint32_t)(to - c->nodes), k) ? 1 : 0;
}

static void expand_forwards(dot_ctx *c, int depth)
{
    for (size_t i = 0; i < c->nn && !c->failed; i++) {
        if (c->nodes[i].level >= depth) continue;
        void *o = rc__graph_obj(&c->g, c->nodes[i].id);
        const rc_type *t = rc__type(RC__HEAD(o));
        if (!t->traverse) continue;
        c->cur = (uint32_t)i;
        c->k = c->fan = 0;
        c->level = c->nodes[i].level;
        t->traverse(o, visit_referent, c);
    }
}

/* The nodes at the depth limit: what they refer to is not drawn. */
static int visit_count_cut(void **slot, void *arg)
{
    dot_ctx *c = arg;
    if (*slot && rc__graph_id(&c->g, *slot) != UINT32_MAX) c->nodes[c->cur].more++;
    return 0;
}

static void mark_cut_forwards(dot_ctx *c, int depth)
{
    for (size_t i = 0; i < c->nn; i++) {
        if (c->nodes[i].level < depth) continue;
        void *o = rc__graph_obj(&c->g, c->nodes[i].id);
        const rc_type *t = rc__type(RC__HEAD(o));
        c->cur = (uint32_t)i;
        if (t->traverse) t->traverse(o, visit_count_cut, c);
    }
}

/* ... and what refers to them (one more pass over the heap). */
static int visit_count_cut_back(void **slot, void *arg)
{
    dot_ctx *c = arg;
    if (!*slot) return 0;
    uint32_t id = rc__graph_id(&c->g, *slot);
    if (id == UINT32_MAX) return 0;
    uint64_t *v = rc__pmap_get(&c->index, (uintptr_t)id + 1);
    if (v && c->nodes[*v - 1].level == c->level) c->nodes[*v - 1].more++;
    return 0;
}

static void mark_cut_backwards(dot_ctx *c, int depth)
{
    c->level = depth;
    for (uint32_t id = 0; id < c->g.n; id++) {
        void *o = rc__graph_obj(&c->g, id);
        if (!o) continue;
        const rc_type *t = rc__type(RC__HEAD(o));
        if (t->traverse) t->traverse(o, visit_count_cut_back, c);
    }
}

static void expand_backwards(dot_ctx *c, int depth)
{
    for (c->level = 0; c->level < depth && !c->failed; c->level++) {
        for (uint32_t id = 0; id < c->g.n && !c->failed; id++) {
            void *o = rc__graph_obj(&c->g, id);
            if (!o) continue;
            const rc_type *t = rc__type(RC__HEAD(o));
            if (!t->traverse) continue;
            c->cur = id;
            c->k = 0;
            t->traverse(o, visit_referrer, c);
        }
    }
}

/* Tarjan's strongly connected components, without recursion. */
static int mark_cycles(dot_ctx *c)
{
    size_t n = c->nn, m = c->ne, n1 = n ? n : 1;
    uint32_t *start = calloc(n + 1, sizeof *start), *adj = malloc((m ? m : 1) * sizeof *adj);
    uint32_t *index = malloc(n1 * sizeof *index), *low = malloc(n1 * sizeof *low);
    uint32_t *stack = malloc(n1 * sizeof *stack), *call = malloc(n1 * sizeof *call);
    uint32_t *next = malloc(n1 * sizeof *next);
    bool *on = calloc(n1, sizeof *on);
    int err = RC_ENOMEM;
    if (!start || !adj || !index || !low || !stack || !call || !next || !on) goto out;
    for (size_t e = 0; e < m; e++) start[c->edges[e].from + 1]++;
    for (size_t i = 0; i < n; i++) start[i + 1] += start[i];
    for (size_t i = 0; i < n; i++) next[i] = start[i];
    for (size_t e = 0; e < m; e++) adj[next[c->edges[e].from]++] = c->edges[e].to;
    for (size_t i = 0; i < n; i++) index[i] = UINT32_MAX;
    uint32_t counter = 0, sp = 0, comps = 0;
    for (uint32_t root = 0; root < n; root++) {
        if (index[root] != UINT32_MAX) continue;
        size_t depth = 0;
        call[depth++] = root;
        index[root] = low[root] = counter++;
        next[root] = start[root];
        stack[sp++] = root;
        on[root] = true;
        while (depth) {
            uint32_t v = call[depth - 1];
            if (next[v] < start[v + 1]) {
                uint32_t w = adj[next[v]++];
                if (index[w] == UINT32_MAX) {
                    index[w] = low[w] = counter++;
                    next[w] = start[w];
                    stack[sp++] = w;
                    on[w] = true;
                    call[depth++] = w;
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                uint32_t size = 0, w;
                do {
                    w = stack[--sp];
                    on[w] = false;
                    c->nodes[w].comp = comps;
                    size++;
                } while (w != v);
                if (size > 1)
                    for (uint32_t i = sp; i < sp + size; i++) c->nodes[stack[i]].cyclic = true;
                comps++;
            }
            depth--;
            if (depth) {
                uint32_t u = call[depth - 1];
                if (low[v] < low[u]) low[u] = low[v];
            }
        }
    }
    for (size_t e = 0; e < m; e++) /* a reference to itself is a cycle too */
        if (c->edges[e].from == c->edges[e].to) c->nodes[c->edges[e].from].cyclic = true;
    err = 0;
out:
    free(start);
    free(adj);
    free(index);
    free(low);
    free(stack);
    free(call);
    free(next);
    free(on);
    return err;
}

/* A DOT string: quotes and backslashes escaped, newlines as \n. */
static void dot_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        putc(*s, f);
    }
}

static bool in_garbage_list(const rc_heap *h, const void *o)
{
    for (size_t i = 0; i < h->garbage.len; i++)
        if (h->garbage.v[i] == o) return true;
    return false;
}

static void write_node(const dot_ctx *c, size_t i, const void *target, FILE *f)
{
    const node *nd = &c->nodes[i];
    const rc_heap *h = c->g.h;
    void *o = rc__graph_obj(&c->g, nd->id);
    const rc_type *t = rc__type(RC__HEAD(o));
    size_t ext = rc__graph_external(&c->g, nd->id);
    bool garbage = in_garbage_list(h, o);

    fprintf(f, "  o%u [label=\"", (unsigned)nd->id);
    dot_str(f, t && t->name ? t->name : "?");
    char desc[RC__DESCRIBE_MAX];
    if (rc__describe_text(o, desc, sizeof desc) > 0) {
        fputs("\\n", f);
        dot_str(f, desc);
    }
    fprintf(f, "\\n%p\\ncount %u", o, (unsigned)RC__HEAD(o)->refcnt);
    if (ext) fprintf(f, ", %zu from outside", ext);
    const rc__site *s = rc__site_get(h, o);
    if (s && s->file) {
        char buf[320];
        const char *base = strrchr(s->file, '/');
        snprintf(buf, sizeof buf, "\n%s:%d%s%s", base ? base + 1 : s->file, s->line,
                 s->func ? " " : "", s->func ? s->func : "");
        dot_str(f, buf);
    }
    if (garbage) fputs("\\nin the garbage list", f);
    if (nd->more) fprintf(f, "\\n(+%u not shown)", (unsigned)nd->more);
    fputs("\"", f);
    const char *fill = o == target ? "#ffe08a" : ext ? "#ffcdd2" : garbage ? "#d7d7d7"
                     : nd->cyclic ? "#bbdefb" : "#ffffff";
    fprintf(f, ", fillcolor=\"%s\"", fill);
    if (ext) fputs(", color=\"#c62828\", penwidth=2.5", f);
    if (o == target) fputs(", peripheries=2", f);
    if (nd->more) fputs(", style=\"filled,dashed\"", f);
    fputs("];\n", f);
}

int rc_dump_dot(rc_heap *h, const void *obj, int depth, int direction, FILE *stream)
{
    /* Busy first: while a collection runs, the objects it examines are
     * hidden (rc__visible), yet alive. */
    if (h && h->collecting) return rc__fail(h, RC_EBUSY), -1;
    if (!h || !stream || depth < 0 || !rc__is_live_object(h, obj) ||
        (direction != RC_DOT_REFERENTS && direction != RC_DOT_REFERRERS))
        return rc__fail(h, RC_EINVAL), -1;
    dot_ctx c;
    memset(&c, 0, sizeof c);
    int err = RC_ENOMEM;
    if (rc__graph_build(&c.g, h) != 0) return rc__fail(h, RC_ENOMEM), -1;
    c.nodes = malloc(MAX_NODES * sizeof *c.nodes);
    if (!c.nodes) goto out;
    node_of(&c, rc__graph_id(&c.g, obj), 0);
    if (direction == RC_DOT_REFERENTS) expand_forwards(&c, depth);
    else expand_backwards(&c, depth);
    /* Nodes cut off by the depth limit have neighbours not shown too. */
    if (!c.failed && direction == RC_DOT_REFERENTS) mark_cut_forwards(&c, depth);
    else if (!c.failed) mark_cut_backwards(&c, depth);
    if (c.failed || mark_cycles(&c) != 0) goto out;

    char brief[RC__DESCRIBE_MAX + 128];
    rc__describe_brief(obj, brief, sizeof brief);
    fprintf(stream, "digraph recycle {\n"
                    "  // %s of %s, %d link%s deep.\n"
                    "  // Red: held from outside the heap (count above the references the\n"
                    "  // heap holds).  Yellow: the object asked about.  Blue: on a\n"
                    "  // reference cycle (blue edges close it).  Grey: in the garbage\n"
                    "  // list.  Dashed: has neighbours not shown.  Edge labels: the slot\n"
                    "  // (the n-th reference traverse visits).\n",
            direction == RC_DOT_REFERENTS ? "Referents" : "Referrers", brief, depth,
            depth == 1 ? "" : "s");
    fputs("  graph [rankdir=TB];\n"
          "  node [shape=box, style=filled, fontname=\"monospace\", fontsize=10];\n"
          "  edge [fontname=\"monospace\", fontsize=9];\n",
          stream);
    for (size_t i = 0; i < c.nn; i++) write_node(&c, i, obj, stream);
    for (size_t e = 0; e < c.ne; e++) {
        const node *a = &c.nodes[c.edges[e].from], *b = &c.nodes[c.edges[e].to];
        bool cyc = a->cyclic && b->cyclic && a->comp == b->comp;
        fprintf(stream, "  o%u -> o%u [label=\"%u\"%s];\n", (unsigned)a->id, (unsigned)b->id,
                (unsigned)c.edges[e].slot, cyc ? ", color=\"#1565c0\", penwidth=2" : "");
    }
    if (c.full) fprintf(stream, "  // the picture stopped at %d objects\n", MAX_NODES);
    fputs("}\n", stream);
    err = ferror(stream) ? RC_EINVAL : 0;
out:
    rc__graph_free(&c.g);
    rc__pmap_free(&c.index);
    free(c.nodes);
    free(c.edges);
    if (err) return rc__fail(h, err), -1;
    return 0;
}
