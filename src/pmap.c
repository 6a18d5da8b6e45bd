/* pmap.c — the pointer map (rc__pmap, declared in internal.h): non-zero
 * words (pointers) to 64-bit values.  The core keeps buffers' owners in one
 * (buf.c); the leak-hunting tools (src/tools/) keep their tables in
 * others (allocation sites, snapshot groups, the heap graph, DOT's nodes,
 * the monitor's types).
 *
 * Open addressing with linear probing, at most 70% full; deletion shifts
 * the entries after the hole back, so there are no tombstones and a
 * lookup stops at the first empty slot.  Keys are pointers (or other
 * non-zero words): the multiplication mixes their low, aligned bits away.
 * (Hashes that keep neighbouring addresses in neighbouring slots were
 * tried: they cluster, and lose.)
 */
#include "internal.h"

#include <stdlib.h>

static inline size_t home(uintptr_t key, size_t cap)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 29) & (cap - 1);
}

uint64_t *rc__pmap_get(const rc__pmap *m, uintptr_t key)
{
    if (m->cap == 0) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = home(key, m->cap);; i = (i + 1) & mask) {
        if (m->e[i].key == key) return &m->e[i].val;
        if (m->e[i].key == 0) return NULL;
    }
}

static int grow(rc__pmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct rc__pent *e = calloc(cap, sizeof *e);
    if (!e) return RC_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        uintptr_t k = m->e[i].key;
        if (!k) continue;
        size_t j = home(k, cap);
        while (e[j].key) j = (j + 1) & (cap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

uint64_t *rc__pmap_put(rc__pmap *m, uintptr_t key, bool *added)
{
    if (added) *added = false;
    if ((m->len + 1) * 10 > m->cap * 7 && grow(m) != 0) return NULL;
    size_t mask = m->cap - 1;
    size_t i = home(key, m->cap);
    for (; m->e[i].key; i = (i + 1) & mask)
        if (m->e[i].key == key) return &m->e[i].val;
    m->e[i].key = key;
    m->e[i].val = 0;
    m->len++;
    if (added) *added = true;
    return &m->e[i].val;
}

bool rc__pmap_del(rc__pmap *m, uintptr_t key)
{
    if (m->cap == 0) return false;
    size_t mask = m->cap - 1;
    size_t i = home(key, m->cap);
    for (;; i = (i + 1) & mask) {
        if (m->e[i].key == key) break;
        if (m->e[i].key == 0) return false;
    }
    /* Backward shift: an entry may fill the hole at i unless its home lies
     * cyclically in (i, j]. */
    for (size_t j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
        size_t k = home(m->e[j].key, m->cap);
        bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (stays) continue;
        m->e[i] = m->e[j];
        i = j;
    }
    m->e[i].key = 0;
    m->len--;
    return true;
}

void rc__pmap_free(rc__pmap *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->len = 0;
}
