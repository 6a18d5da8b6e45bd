/* tools.c — what the leak-hunting tools share: the per-heap state
 * (heap->tools) and its life, the hooks the core calls (declared in
 * src/hooks.h: object.c, heap.c and rc__release_and_free call them), the
 * environment (RECYCLE_SITES, RECYCLE_TRACE, RECYCLE_DEBUG, RECYCLE_MONITOR),
 * and how an object is described in their output.
 *
 * The cost when every tool is off: rc_new and the free path test
 * heap->tools, which stays NULL, and nothing else; no object carries a byte
 * for the tools.  The tools themselves live beside this file: sites.c
 * (allocation sites), snapshot.c, whyalive.c (and the leak report),
 * retained.c (the dominator tree), dot.c, trace.c (the timeline and profile
 * scopes) and monitor.c (the live monitor); tools.h is what they share.
 */
#define _POSIX_C_SOURCE 200809L
#include "tools.h"

#include <execinfo.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* The tools' state and the hooks                                      */
/* ------------------------------------------------------------------ */

rc__tools *rc__tools_get(rc_heap *h)
{
    if (!h->tools) {
        h->tools = calloc(1, sizeof *h->tools);
        rc__update_trigger(h); /* closes the fast paths */
    }
    return h->tools;
}

void rc__tools_new(rc_heap *h, void *obj, const char *file, int line, const char *func,
                   void *ra)
{
    rc__tools *t = h->tools;
    /* A failure to record only loses the site: the object is fine. */
    if (t->sites_on) (void)rc__sites_record(t, obj, file, line, func, ra);
    if (t->nscopes)
        rc__profile_account(t, (int64_t)rc__block_size(rc__block_of(RC__HEAD(obj))));
    if (t->trace) rc__trace_tick(h);
    if (t->monitor) rc__monitor_new(t->monitor, RC__HEAD(obj));
}

void rc__tools_free(rc_heap *h, rc__head *hd)
{
    rc__tools *t = h->tools;
    if (t->sites_on) rc__pmap_del(&t->obj_site, (uintptr_t)rc__obj_of(hd));
    if (t->nscopes) rc__profile_account(t, -(int64_t)rc__block_size(rc__block_of(hd)));
    if (t->monitor) rc__monitor_free(t->monitor, hd);
}

void rc__tools_heap_free(rc_heap *h)
{
    rc__tools *t = h->tools;
    if ((h->debug & RC_DEBUG_LEAK) == RC_DEBUG_LEAK || (t && t->leak_report))
        (void)rc_leak_report(h, 3, h->debug_stream ? h->debug_stream : stderr);
    if (!t) return;
    rc__monitor_stop(h, t);
    rc__trace_fini(h);
    rc__profile_fini(t);
    rc__sites_fini(t);
    free(t);
    h->tools = NULL;
}

int rc__tools_check(const rc_config *cfg)
{
    if (cfg->sites != 0 && cfg->sites != 1) return RC_EINVAL;
    if (cfg->site_depth < 0 || cfg->site_depth > RC_SITE_DEPTH_MAX) return RC_EINVAL;
    if (cfg->monitor != 0 && cfg->monitor != 1) return RC_EINVAL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The environment                                                     */
/* ------------------------------------------------------------------ */

/* RECYCLE_DEBUG=word,word...: the RC_DEBUG_* flags by name, and "report"
 * (the leak report at rc_heap_free without the flags' side effects). */
static unsigned debug_words(const char *s, bool *report)
{
    static const struct { const char *word; unsigned flags; } words[] = {
        {"stats", RC_DEBUG_STATS},         {"collectable", RC_DEBUG_COLLECTABLE},
        {"uncollectable", RC_DEBUG_UNCOLLECTABLE}, {"saveall", RC_DEBUG_SAVEALL},
        {"leak", RC_DEBUG_LEAK},           {"report", 0},
    };
    unsigned flags = 0;
    while (*s) {
        size_t n = strcspn(s, ", ");
        bool known = n == 0;
        for (size_t i = 0; i < sizeof words / sizeof words[0] && !known; i++) {
            if (strlen(words[i].word) == n && strncmp(s, words[i].word, n) == 0) {
                flags |= words[i].flags;
                if (words[i].flags == 0) *report = true;
                known = true;
            }
        }
        if (!known)
            fprintf(stderr, "recycle: RECYCLE_DEBUG: unknown word \"%.*s\" (stats, "
                            "collectable, uncollectable, saveall, leak, report)\n",
                    (int)n, s);
        s += n;
        if (*s) s++;
    }
    return flags;
}

/* The live monitor: rc_config.monitor, or RECYCLE_MONITOR=1 (0 leaves it
 * off; any other value is warned about and ignored).  A file that cannot be
 * made fails rc_heap_new when the configuration asked for it, and is only
 * warned about when the environment did. */
static int monitor_init(rc_heap *h, bool asked)
{
    bool env_on = false;
    const char *env = getenv("RECYCLE_MONITOR");
    if (env && *env) {
        if (strcmp(env, "1") == 0) env_on = true;
        else if (strcmp(env, "0") != 0)
            fprintf(stderr, "recycle: RECYCLE_MONITOR: \"%s\" is neither 0 nor 1; "
                            "the monitor stays off\n", env);
    }
    if (!asked && !env_on) return 0;
    rc__tools *t = rc__tools_get(h);
    if (!t) return RC_ENOMEM;
    int err = rc__monitor_start(h, t);
    if (err != 0 && !asked) {
        fprintf(stderr, "recycle: RECYCLE_MONITOR: no monitor file for this heap (%s; "
                        "set RECYCLE_MONITOR_DIR to a writable directory)\n",
                rc_strerror(err));
        return 0;
    }
    return err;
}

int rc__tools_init(rc_heap *h, const rc_config *cfg)
{
    bool sites = cfg->sites || cfg->site_depth > 0;
    int depth = cfg->site_depth;
    unsigned sample = cfg->site_sample;
    bool report = cfg->leak_report != 0;

    /* RECYCLE_SITES=1: file, line, function; =N (N > 1): and N frames of
     * backtrace; =N:S: a backtrace for 1 allocation in S. */
    const char *env = getenv("RECYCLE_SITES");
    if (env && *env) {
        char *end, *end2 = NULL;
        long n = strtol(env, &end, 10);
        unsigned long every = 0;
        bool ok = end != env && n >= 0 && n <= RC_SITE_DEPTH_MAX && (!*end || *end == ':');
        if (ok && *end == ':') {
            every = strtoul(end + 1, &end2, 10);
            ok = end2 != end + 1 && !*end2 && end[1] != '-' && every <= UINT32_MAX;
        }
        if (!ok) {
            fprintf(stderr, "recycle: RECYCLE_SITES: bad value \"%s\" (0, 1, N for N frames "
                            "of backtrace up to %d, or N:S for a backtrace 1 allocation in S)\n",
                    env, RC_SITE_DEPTH_MAX);
        } else if (n > 0) {
            sites = true;
            if (n > 1 && n > depth) depth = (int)n;
            if (end2) sample = (unsigned)every;
        }
    }
    env = getenv("RECYCLE_DEBUG");
    if (env && *env) h->debug |= debug_words(env, &report);

    if (sites && rc_sites_start(h, depth, sample) != 0) return RC_ENOMEM;
    if (report) {
        rc__tools *t = rc__tools_get(h);
        if (!t) return RC_ENOMEM;
        t->leak_report = true;
    }
    if (cfg->trace_path && rc_trace_start(h, cfg->trace_path) != 0) return h->last_error;
    int err = monitor_init(h, cfg->monitor != 0);
    if (err != 0) return err;
    env = getenv("RECYCLE_TRACE");
    if (env && *env && !(h->tools && h->tools->trace)) {
        /* Heaps of one process would write one file in turn: from the
         * second on, each writes PATH.N and says so (%h in the path gives
         * every heap its own file instead). */
        static unsigned long env_traces; /* atomically incremented */
        unsigned long nth = __atomic_fetch_add(&env_traces, 1, __ATOMIC_RELAXED);
        char *own = NULL;
        if (nth > 0 && !strstr(env, "%h") && (own = malloc(strlen(env) + 24))) {
            sprintf(own, "%s.%lu", env, nth);
            fprintf(stderr, "recycle: RECYCLE_TRACE: another heap of this process traces to "
                            "%s already; this one writes %s (put %%h in the path for one file "
                            "per heap)\n",
                    env, own);
            env = own;
        }
        if (rc_trace_start(h, env) != 0) {
            fprintf(stderr, "recycle: RECYCLE_TRACE: cannot write %s: %s\n", env,
                    rc_strerror(h->last_error));
            h->last_error = 0; /* the environment cannot make rc_heap_new fail */
        }
        free(own);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Output shared by the tools                                          */
/* ------------------------------------------------------------------ */

bool rc__is_live_object(const rc_heap *h, const void *obj)
{
    if (!h || !obj || ((uintptr_t)obj & 15) != 0) return false;
    void *block = rc__block_of(RC__HEAD(obj));
    return rc__alloc_owns(h->alloc, block) && rc__visible(RC__HEAD(obj));
}

/* The type's describe, called defensively: the buffer is ours and
 * terminated whatever the function wrote, its return value is believed
 * only to say "failed" (negative) or "wanted more" (the text then ends in
 * "..."), and control characters become '?' so one object stays one line
 * of a report. */
size_t rc__describe_text(const void *obj, char *buf, size_t len)
{
    if (len == 0) return 0;
    buf[0] = '\0';
    const rc_type *t = rc__type(RC__HEAD(obj));
    if (!t || !t->describe || len < 2) return 0;
    int want = t->describe((void *)obj, buf, len);
    buf[len - 1] = '\0';
    if (want < 0) {
        buf[0] = '\0';
        return 0;
    }
    size_t n = strlen(buf);
    if ((size_t)want > n && n + 1 == len && len > 4) memcpy(buf + len - 4, "...", 4);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) buf[i] = '?';
    return n;
}

void rc__describe_brief(const void *obj, char *buf, size_t len)
{
    const rc_type *t = rc__type(RC__HEAD(obj));
    char desc[RC__DESCRIBE_MAX];
    if (rc__describe_text(obj, desc, sizeof desc) > 0)
        snprintf(buf, len, "<%s object at %p: %s>", t && t->name ? t->name : "?", obj, desc);
    else
        snprintf(buf, len, "<%s object at %p>", t && t->name ? t->name : "?", obj);
}

void rc__describe_obj(const rc_heap *h, const void *obj, FILE *f)
{
    char brief[RC__DESCRIBE_MAX + 128];
    rc__describe_brief(obj, brief, sizeof brief);
    fputs(brief, f);
    const rc__site *s = rc__site_get(h, obj);
    if (s && s->file) {
        fprintf(f, ", allocated at %s:%d", s->file, s->line);
        if (s->func) fprintf(f, " in %s", s->func);
        return;
    }
    if (s && s->nframes > 0) {
        char **sym = backtrace_symbols(s->frames, 1);
        if (sym) {
            fprintf(f, ", allocated at %s", sym[0]);
            free(sym);
            return;
        }
    }
#if RC__PREFIX
    rc__prefix *p = rc__prefix_of(RC__HEAD(obj));
    if (p->file) fprintf(f, ", allocated at %s:%u", p->file, (unsigned)p->line);
#endif
}

void rc__json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    putc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else putc(*p, f);
        }
    }
    putc('"', f);
}
