/*
** mapping.h: the mapping and its probe table, shared by mapping.c and
** remap.c.
*/
#ifndef REMAP_MAPPING_H
#define REMAP_MAPPING_H

#include "internal.h"

#pragma GCC visibility push(hidden)

/* Which heap blocks hold a key: one bit per 4 KiB block, the block number
   taken modulo the bitmap's size. Old objects sit in a few blocks, so a slot
   pointing anywhere else is answered with one load from a bitmap that stays
   in L1, without probing. 32768 bits: a 4 KiB bitmap, and with tens of key
   blocks a false positive rate near 1 in 1000. */
#define RM_FILTER_BLOCK_SHIFT 12
#define RM_FILTER_BITS 32768

/* Open addressing on addresses. Before the table, two cheap filters: the
   bounds of the keys, [lo, lo + span], and the block bitmap. */
typedef struct rm_probe {
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
} rm_probe_view;

static inline rm_probe_view rm_probe_view_of(const rm_probe *p) {
    rm_probe_view v = {p->lo, p->span, p->filter, p->keys, p->vals, p->mask, p->bits};
    return v;
}

/* The new object for `key`, or NULL. An empty table has span 0 and lo
   UINTPTR_MAX, so every address fails the bounds check. */
static inline __attribute__((always_inline)) rm_object *rm_probe_view_get(const rm_probe_view *p, rm_object *key) {
    uintptr_t a = (uintptr_t)key;
    if (a - p->lo > p->span) return NULL;
    size_t bit = rm_filter_bit(a);
    if (!(p->filter[bit >> 6] & ((uint64_t)1 << (bit & 63)))) return NULL;
    for (size_t i = rm_probe_start(a, p->bits);; i = (i + 1) & p->mask) {
        uintptr_t k = p->keys[i];
        if (k == a) return p->vals[i];
        if (!k) return NULL;
    }
}

static inline rm_object *rm_probe_get(const rm_probe *p, rm_object *key) {
    rm_probe_view v = rm_probe_view_of(p);
    return rm_probe_view_get(&v, key);
}

struct rm_mapping {
    size_t count, capacity;
    rm_object **olds; /* uncollectable: Boehm scans them */
    rm_object **news;
    rm_probe probe;   /* old -> new */
    size_t moves;     /* the last `moves` pairs are struct instances moved to
                         new allocations (struct_reload.c): each new one is
                         fresh, mapped from that one old one only, and has
                         its identity hash already, so the walk's driver and
                         the transaction skip their checks for them */
};

/* Appends a move pair, room made first (rm_mapping_reserve). */
void rm_mapping_push_move(rm_mapping *m, rm_object *old_obj, rm_object *new_obj);

#pragma GCC visibility pop

#endif
