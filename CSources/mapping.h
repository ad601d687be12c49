/*
** mapping.h: the mapping and its probe table, shared by mapping.c and
** remap.c.
*/
#ifndef REMAP_MAPPING_H
#define REMAP_MAPPING_H

#include "internal.h"
#include "scratch.h"

#pragma GCC visibility push(hidden)

/* Which heap blocks hold a key: one bit per 4 KiB block, the block number
   taken modulo the bitmap's size. Old objects sit in a few blocks, so a slot
   pointing anywhere else is answered with one load from a bitmap that stays
   in L1, without probing. 32768 bits: a 4 KiB bitmap, and with tens of key
   blocks a false positive rate near 1 in 1000. */
#define RM_FILTER_BLOCK_SHIFT 12
#define RM_FILTER_BITS 32768

/*
** A large map of struct instances moved by a reload (struct_reload.c):
** a bitmap with one bit per granule between the lowest and the highest
** key, beside each bitmap word the running count of the set bits
** before it (one cache line holds both: a lookup misses twice, not three
** times, which at 10^7 keys, where they no longer fit in cache, was a
** fifth of the walk), and the values in the order of their keys'
** addresses. A key's value is vals[base + popcount(bits below it in its
** word)]. At 10^6 moved
** instances the bitmap and the counts take about 1.5% of the keys' span
** (2 MB over a 128 MB heap) where an open-addressing table took 32 MB
** that every reference slot missed in; a slot holding an address that is
** not a key is answered from the bitmap alone, and a key costs one miss
** in vals (the table cost two: keys, then vals).
**
** The granule is the largest power of two (16 to 256 bytes) that no key's
** allocation is smaller than: then no two objects start in one granule
** (granules are aligned, so none straddles two Boehm blocks, and the
** objects of a block are all of its size), and an object whose granule's
** bit is set is the key. A moved instance was allocated with room
** (RM_STRUCT_ROOM), so 64 bytes is common: at 10^7 moves in a reused heap
** the keys spanned 2.4 GB, and 16-byte granules made a 37 MB bitmap that
** no longer fit in the cache, 64-byte ones a 9 MB one.
*/
typedef struct rm_moves_word {
    uint64_t bits; /* one per granule */
    uint64_t base; /* set bits in the words before this one */
} rm_moves_word;

typedef struct rm_moves {
    uintptr_t lo, span; /* keys in [lo, lo + span); span 0 when empty */
    unsigned shift;     /* log2 of the granule's bytes */
    rm_moves_word *words;
    rm_object **vals;
    size_t count;
    rm_scratch *area; /* where the two arrays are, or NULL: malloc'ed */
    size_t area_used;
} rm_moves;

/* Builds the index of keys[i] -> vals[i], keys distinct objects none of
   whose allocations is smaller than `min_size` bytes, in `area`
   (scratch.h) if it is free and the keys are dense, else in malloc'ed
   memory. Returns -1 if out of memory (then *mv is empty). */
int rm_moves_build(rm_moves *mv, rm_object *const *keys, rm_object *const *vals, size_t n, size_t min_size,
                   rm_scratch *area);
/* The same in two steps: everything that can fail (the memory, sized by
   the keys' span; untouched pages cost nothing), then the filling, which
   cannot fail. A transaction reserves its undo's index and fills it only
   when it rolls back. */
int rm_moves_reserve(rm_moves *mv, rm_object *const *keys, size_t n, size_t min_size, rm_scratch *area);
void rm_moves_fill(rm_moves *mv, rm_object *const *keys, rm_object *const *vals);
void rm_moves_free(rm_moves *mv);

/* Where key `a`'s value is in vals, or NULL if `a` is no key (the walk
   prefetches that place ahead of the lookup). */
static inline __attribute__((always_inline)) rm_object *const *rm_moves_find(uintptr_t lo, uintptr_t span,
                                                                              unsigned shift,
                                                                              const rm_moves_word *words,
                                                                              rm_object *const *vals, uintptr_t a) {
    uintptr_t d = a - lo;
    /* Objects are 16-byte aligned (lo too): an address that is not is no
       key. */
    if (d >= span || (d & 15)) return NULL;
    size_t g = d >> shift;
    const rm_moves_word *w = &words[g >> 6];
    uint64_t bit = (uint64_t)1 << (g & 63);
    if (!(w->bits & bit)) return NULL;
    return &vals[w->base + (size_t)__builtin_popcountll(w->bits & (bit - 1))];
}

static inline __attribute__((always_inline)) rm_object *rm_moves_lookup(uintptr_t lo, uintptr_t span,
                                                                         unsigned shift,
                                                                         const rm_moves_word *words,
                                                                         rm_object *const *vals, uintptr_t a) {
    rm_object *const *at = rm_moves_find(lo, span, shift, words, vals, a);
    return at ? *at : NULL;
}

/* Open addressing on addresses. Before the table, two cheap filters: the
   bounds of the keys, [lo, lo + span], and the block bitmap. Keys may also
   be in a moves index (`moves`, or NULL), asked when the table has not
   the key. */
typedef struct rm_probe {
    const rm_moves *moves;
    uint64_t filter[RM_FILTER_BITS / 64];
    uintptr_t *keys; /* 0 = empty */
    rm_object **vals;
    size_t mask;
    unsigned bits;
    size_t count;
    uintptr_t lo, span;
} rm_probe;

int rm_probe_init(rm_probe *p, size_t n);
/* Whether a table of 2^bits slots holds n keys (see RM_MAPPING_LARGE). */
static inline bool rm_probe_holds(unsigned bits, size_t n) {
    size_t percent = n < RM_MAPPING_LARGE ? RM_MAPPING_LOAD_PERCENT : RM_MAPPING_LARGE_PERCENT;
    return ((size_t)1 << bits) * percent / 100 >= n + 1;
}
/* Room for `want` pairs in all, made before a loop of rm_mapping_add. */
int rm_mapping_reserve(rm_mapping *m, size_t want);
void rm_probe_free(rm_probe *p);
void rm_probe_put(rm_probe *p, rm_object *key, rm_object *val);
/* The value cell of `key`, or NULL if absent: lets a caller update it. */
rm_object **rm_probe_cell(rm_probe *p, rm_object *key);

static inline size_t rm_probe_start(uintptr_t addr, unsigned bits) {
    /* Objects are 16-byte aligned: drop the zero bits, then Fibonacci-hash. */
    return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

static inline size_t rm_filter_bit(uintptr_t addr) {
    return (size_t)(addr >> RM_FILTER_BLOCK_SHIFT) & (RM_FILTER_BITS - 1);
}

/* The probe's fields in a struct of scalars: the remap walk keeps one in
   locals, because a store through a slot may alias any pointer-typed field
   of the probe as far as the compiler knows, which would reload them after
   every rewrite. */
typedef struct rm_probe_view {
    uintptr_t lo, span;
    const uint64_t *filter;
    const uintptr_t *keys;
    rm_object *const *vals;
    size_t mask;
    unsigned bits;
    uintptr_t mlo, mspan; /* the moves index, span 0 if none */
    unsigned mshift;
    const rm_moves_word *mwords;
    rm_object *const *mvals;
} rm_probe_view;

static inline rm_probe_view rm_probe_view_of(const rm_probe *p) {
    rm_probe_view v = {p->lo, p->span, p->filter, p->keys, p->vals, p->mask, p->bits, 0, 0, 4, NULL, NULL};
    if (p->moves && p->moves->count) {
        v.mlo = p->moves->lo;
        v.mspan = p->moves->span;
        v.mshift = p->moves->shift;
        v.mwords = p->moves->words;
        v.mvals = p->moves->vals;
    }
    return v;
}

/* The new object for `key`, or NULL. An empty table has span 0 and lo
   UINTPTR_MAX, so every address fails the bounds check. */
static inline __attribute__((always_inline)) rm_object *rm_probe_view_get(const rm_probe_view *p, rm_object *key) {
    uintptr_t a = (uintptr_t)key;
    if (a - p->lo <= p->span) {
        size_t bit = rm_filter_bit(a);
        if (p->filter[bit >> 6] & ((uint64_t)1 << (bit & 63))) {
            for (size_t i = rm_probe_start(a, p->bits);; i = (i + 1) & p->mask) {
                uintptr_t k = p->keys[i];
                if (k == a) return p->vals[i];
                if (!k) break;
            }
        }
    }
    return rm_moves_lookup(p->mlo, p->mspan, p->mshift, p->mwords, p->mvals, a);
}

static inline rm_object *rm_probe_get(const rm_probe *p, rm_object *key) {
    rm_probe_view v = rm_probe_view_of(p);
    return rm_probe_view_get(&v, key);
}

struct rm_mapping {
    size_t count, capacity;
    rm_object **olds; /* uncollectable: Boehm scans them */
    rm_object **news;
    rm_scratch *area; /* or, for many moves, one block of a scratch area
                         (olds, then news) that is a root of Boehm's */
    rm_probe probe;   /* old -> new; its `moves` is &move_index */
    rm_moves move_index; /* the moved struct instances' pairs */
    size_t moved_min_size; /* the smallest allocation a moved instance was
                              given: the granule of the moves' inverse */
    size_t moves;     /* the last `moves` pairs are struct instances moved to
                         new allocations (struct_reload.c): each new one is
                         fresh, mapped from that one old one only, and has
                         its identity hash already, so the walk's driver and
                         the transaction skip their checks for them */
};

/* Move pairs, taken once per mapping, in two steps: room for n pairs
   past the others (the caller writes them at olds + count and news +
   count, at once: until then Boehm scans what the room held before, and
   collections must be off), then their index, which makes them pairs of
   the mapping (`old_min` and `new_min`: the smallest allocation among the
   old instances and among the new ones). Each returns -1 out of memory,
   the mapping's pairs unchanged. */
int rm_mapping_reserve_moves(rm_mapping *m, size_t n);
int rm_mapping_index_moves(rm_mapping *m, size_t n, size_t old_min, size_t new_min);

#pragma GCC visibility pop

#endif
