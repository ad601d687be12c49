/*
** mapping.c: the old -> new mapping a remap applies.
**
** The pairs live in arrays Boehm scans (allocated uncollectable), so the new
** objects stay alive for as long as the mapping does, wherever the caller
** keeps the mapping itself. Beside them, a probe table of old addresses in
** malloc memory answers "is this slot's value mapped?" from the address
** alone: it is what the remap walk consults for every slot, so it is kept
** sparse and small enough to stay in cache. A reload's moved struct
** instances (up to every instance of a class) are not put in it: they get
** a moves index of their own (mapping.h, rm_moves), which the probe asks
** after its table.
*/
#include "mapping.h"

#include <stdlib.h>

/* Builds a probe table for `n` keys into *p. Returns -1 if out of memory. */
int rm_probe_init(rm_probe *p, size_t n) {
    unsigned bits = 4;
    while (!rm_probe_holds(bits, n)) bits++;
    size_t size = (size_t)1 << bits;
    p->keys = calloc(size, sizeof *p->keys);
    p->vals = calloc(size, sizeof *p->vals);
    if (!p->keys || !p->vals) {
        free(p->keys);
        free(p->vals);
        p->keys = NULL;
        p->vals = NULL;
        return -1;
    }
    memset(p->filter, 0, sizeof p->filter);
    p->moves = NULL;
    p->bits = bits;
    p->mask = size - 1;
    p->lo = UINTPTR_MAX;
    p->span = 0;
    p->count = 0;
    return 0;
}

void rm_probe_free(rm_probe *p) {
    free(p->keys);
    free(p->vals);
    p->keys = NULL;
    p->vals = NULL;
}

/* Inserts a key known to be absent; widens the bounds. */
void rm_probe_put(rm_probe *p, rm_object *key, rm_object *val) {
    uintptr_t a = (uintptr_t)key;
    size_t i = rm_probe_start(a, p->bits);
    while (p->keys[i]) i = (i + 1) & p->mask;
    p->keys[i] = a;
    p->vals[i] = val;
    p->count++;
    size_t bit = rm_filter_bit(a);
    p->filter[bit >> 6] |= (uint64_t)1 << (bit & 63);
    uintptr_t hi = p->span ? p->lo + p->span : p->lo;
    if (p->count == 1) {
        p->lo = a;
        p->span = 0;
        return;
    }
    if (a < p->lo) p->lo = a;
    if (a > hi) hi = a;
    p->span = hi - p->lo;
}

rm_object **rm_probe_cell(rm_probe *p, rm_object *key) {
    uintptr_t a = (uintptr_t)key;
    if (!p->count || a - p->lo > p->span) return NULL;
    for (size_t i = rm_probe_start(a, p->bits);; i = (i + 1) & p->mask) {
        if (p->keys[i] == a) return &p->vals[i];
        if (!p->keys[i]) return NULL;
    }
}

/* ---- The moves index (see mapping.h) ---- */

/* A bitmap of more than this many bytes per key is sparse: calloc'ed,
   its untouched pages cost nothing, where a scratch area's would have to be
   cleared. */
#define DENSE_BITMAP_BYTES 16

/* The granule (see mapping.h): at most 256 bytes, at least Boehm's 16. */
static unsigned granule_shift(size_t min_size) {
    unsigned shift = 4;
    while (shift < 8 && ((size_t)2 << shift) <= min_size) shift++;
    return shift;
}

int rm_moves_reserve(rm_moves *mv, rm_object *const *keys, size_t n, size_t min_size, rm_scratch *area) {
    memset(mv, 0, sizeof *mv);
    if (!n) return 0;
    unsigned shift = granule_shift(min_size);
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = (uintptr_t)keys[i];
        if (a < lo) lo = a;
        if (a > hi) hi = a;
    }
    lo &= ~(((uintptr_t)1 << shift) - 1);
    size_t granules = ((hi - lo) >> shift) + 1, words = (granules + 63) / 64;
    size_t vals_at = words * sizeof(rm_moves_word), used = vals_at + n * sizeof(rm_object *);
    unsigned char *block = words * sizeof(rm_moves_word) <= DENSE_BITMAP_BYTES * n && area ? rm_scratch_lend(area, used) : NULL;
    if (block) {
        *mv = (rm_moves){lo, granules << shift, shift, (rm_moves_word *)block, (rm_object **)(block + vals_at), n, area, used};
        return 0;
    }
    rm_moves_word *w = calloc(words, sizeof *w);
    rm_object **out = malloc(n * sizeof *out);
    if (!w || !out) {
        free(w);
        free(out);
        return -1;
    }
    *mv = (rm_moves){lo, granules << shift, shift, w, out, n, NULL, 0};
    return 0;
}

/* Two passes over the keys (rm_moves_reserve made a third, for their
   bounds): their bits; then, after the running counts are summed over the
   bitmap, each value into its key's rank. */
void rm_moves_fill(rm_moves *mv, rm_object *const *keys, rm_object *const *vals) {
    size_t n = mv->count, nwords = ((mv->span >> mv->shift) + 63) / 64;
    rm_moves_word *words = mv->words;
    if (mv->area) memset(words, 0, nwords * sizeof *words); /* calloc'ed otherwise */
    for (size_t i = 0; i < n; i++) {
        size_t g = ((uintptr_t)keys[i] - mv->lo) >> mv->shift;
        words[g >> 6].bits |= (uint64_t)1 << (g & 63);
    }
    uint64_t sum = 0;
    for (size_t w = 0; w < nwords; w++) {
        words[w].base = sum;
        sum += (uint64_t)__builtin_popcountll(words[w].bits);
    }
    for (size_t i = 0; i < n; i++) {
        size_t g = ((uintptr_t)keys[i] - mv->lo) >> mv->shift;
        const rm_moves_word *w = &words[g >> 6];
        uint64_t bit = (uint64_t)1 << (g & 63);
        mv->vals[w->base + (size_t)__builtin_popcountll(w->bits & (bit - 1))] = vals[i];
    }
}

int rm_moves_build(rm_moves *mv, rm_object *const *keys, rm_object *const *vals, size_t n, size_t min_size,
                   rm_scratch *area) {
    if (rm_moves_reserve(mv, keys, n, min_size, area) < 0) return -1;
    rm_moves_fill(mv, keys, vals);
    return 0;
}

void rm_moves_free(rm_moves *mv) {
    if (mv->area) {
        rm_scratch_return(mv->area, mv->area_used);
    } else {
        free(mv->words);
        free(mv->vals);
    }
    memset(mv, 0, sizeof *mv);
}

/* ---- The public mapping ---- */

rm_mapping *rm_mapping_new(void) {
    rm_mapping *m = calloc(1, sizeof *m);
    if (!m || rm_probe_init(&m->probe, 8) < 0) {
        free(m);
        rm_error_set(RM_ERR_MEMORY, "out of memory for a mapping");
        return NULL;
    }
    return m;
}

/* Gives back the pair arrays, wherever they are. */
static void release_pairs(rm_mapping *m) {
    if (m->area) {
        GC_remove_roots(m->olds, m->olds + 2 * m->capacity);
        rm_scratch_return(m->area, 2 * m->capacity * sizeof *m->olds);
        m->area = NULL;
    } else {
        GC_FREE(m->olds);
        GC_FREE(m->news);
    }
}

void rm_mapping_free(rm_mapping *m) {
    if (!m) return;
    rm_probe_free(&m->probe);
    rm_moves_free(&m->move_index);
    release_pairs(m);
    free(m);
}

size_t rm_mapping_count(const rm_mapping *m) { return m->count; }

rm_object *rm_mapping_lookup(const rm_mapping *m, rm_object *old_obj) {
    return rm_probe_get(&m->probe, old_obj);
}

/* Grows the pair arrays (scanned) and rebuilds the probe table when it is
   too full (`probe_want` keys: the move pairs are in the moves index). New
   arrays are built before the old ones are dropped. */
static int reserve2(rm_mapping *m, size_t want, size_t probe_want) {
    if (want > m->capacity) {
        size_t cap = m->capacity ? m->capacity * 2 : 16;
        while (cap < want) cap *= 2;
        rm_object **olds = GC_MALLOC_UNCOLLECTABLE(cap * sizeof *olds);
        rm_object **news = GC_MALLOC_UNCOLLECTABLE(cap * sizeof *news);
        if (!olds || !news) {
            GC_FREE(olds);
            GC_FREE(news);
            return -1;
        }
        if (m->count) {
            memcpy(olds, m->olds, m->count * sizeof *olds);
            memcpy(news, m->news, m->count * sizeof *news);
        }
        release_pairs(m);
        m->olds = olds;
        m->news = news;
        m->capacity = cap;
    }
    if (!rm_probe_holds(m->probe.bits, probe_want)) {
        rm_probe fresh;
        size_t n = probe_want;
        if (rm_probe_init(&fresh, n < RM_MAPPING_LARGE ? n * 2 : n + n / 4) < 0) return -1;
        /* The move pairs are the last m->moves of the pairs taken so far. */
        for (size_t i = 0; i < m->count - m->moves; i++) rm_probe_put(&fresh, m->olds[i], m->news[i]);
        fresh.moves = m->probe.moves;
        rm_probe_free(&m->probe);
        m->probe = fresh;
    }
    return 0;
}

static int reserve(rm_mapping *m, size_t want) { return reserve2(m, want, want - m->moves); }

int rm_mapping_reserve(rm_mapping *m, size_t want) {
    if (reserve(m, want) == 0) return 0;
    rm_error_set(RM_ERR_MEMORY, "out of memory for a mapping of %zu pairs", want);
    return -1;
}

/* A reload's pairs when it moves this many struct instances or more: in a
   scratch area (scratch.h) registered as a root, not in uncollectable
   blocks. At 10^7 moves Boehm cleared 256 MB of fresh blocks for them on
   every reload, most of it page faults. */
#define SCRATCH_PAIRS 65536
static rm_scratch pairs_area;

static bool pairs_in_scratch(rm_mapping *m, size_t n) {
    size_t want = m->count + n;
    rm_object **block = want >= SCRATCH_PAIRS && !m->area ? rm_scratch_lend(&pairs_area, 2 * want * sizeof *block) : NULL;
    if (!block) return false;
    memcpy(block, m->olds, m->count * sizeof *block);
    memcpy(block + want, m->news, m->count * sizeof *block);
    GC_add_roots(block, block + 2 * want);
    GC_FREE(m->olds);
    GC_FREE(m->news);
    m->olds = block;
    m->news = block + want;
    m->capacity = want;
    m->area = &pairs_area;
    return true;
}

int rm_mapping_reserve_moves(rm_mapping *m, size_t n) {
    if (m->moves || (!pairs_in_scratch(m, n) && reserve2(m, m->count + n, m->count) < 0)) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for a mapping of %zu moved instances", n);
        return -1;
    }
    return 0;
}

/* The moves index of the one mapping a reload builds at a time: freed with
   it, at the end of its transaction. */
static rm_scratch index_area;

int rm_mapping_index_moves(rm_mapping *m, size_t n, size_t old_min, size_t new_min) {
    if (rm_moves_build(&m->move_index, m->olds + m->count, m->news + m->count, n, old_min, &index_area) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for a mapping of %zu moved instances", n);
        return -1;
    }
    m->count += n;
    m->moves = n;
    m->moved_min_size = new_min;
    m->probe.moves = &m->move_index;
    return 0;
}

int rm_mapping_add(rm_mapping *m, rm_object *old_obj, rm_object *new_obj) {
    if (!old_obj || !new_obj) {
        rm_error_set(RM_ERR_VALUE, "a mapping pair needs an old and a new object");
        return -1;
    }
    if (!rm_is_heap_object(old_obj)) {
        rm_error_set(RM_ERR_VALUE, "cannot remap %s: not an object on the heap (built-in types, None, "
                                   "True and False are immortal)", rm_type_name(old_obj->ob_type));
        return -1;
    }
    if (m->moves) {
        rm_error_set(RM_ERR_VALUE, "a mapping whose struct instances were moved takes no more pairs");
        return -1;
    }
    if (rm_probe_get(&m->probe, old_obj)) {
        rm_error_set(RM_ERR_VALUE, "object mapped twice (a %s)", rm_type_name(old_obj->ob_type));
        return -1;
    }
    if (reserve(m, m->count + 1) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for a mapping");
        return -1;
    }
    m->olds[m->count] = old_obj;
    m->news[m->count] = new_obj;
    m->count++;
    rm_probe_put(&m->probe, old_obj, new_obj);
    return 0;
}

/* new -> old. Fails if two old objects map to the same new one (the inverse
   is not a function). */
rm_mapping *rm_mapping_inverse(const rm_mapping *m) {
    rm_mapping *inv = rm_mapping_new();
    if (!inv) return NULL;
    for (size_t i = 0; i < m->count; i++) {
        if (!rm_is_heap_object(m->news[i]) || rm_mapping_add(inv, m->news[i], m->olds[i]) < 0) {
            rm_error_set(RM_ERR_VALUE, "mapping has no inverse: pair %zu maps to %s", i,
                         rm_is_heap_object(m->news[i]) ? "an object already mapped to" : "an immortal object");
            rm_mapping_free(inv);
            return NULL;
        }
    }
    return inv;
}
