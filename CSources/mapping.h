/*
** mapping.h: the mapping and its probe table, shared by mapping.c and
** remap.c.
*/
#ifndef REMAP_MAPPING_H
#define REMAP_MAPPING_H

#include "internal.h"

/* Open addressing on addresses, with the bounds of the keys checked first:
   a slot whose value lies outside [lo, lo + span] is answered without
   touching the table. */
typedef struct rm_probe {
    uintptr_t *keys; /* 0 = empty */
    rm_object **vals;
    size_t mask;
    unsigned bits;
    size_t count;
    uintptr_t lo, span;
} rm_probe;

int rm_probe_init(rm_probe *p, size_t n);
void rm_probe_free(rm_probe *p);
void rm_probe_put(rm_probe *p, rm_object *key, rm_object *val);

static inline size_t rm_probe_start(uintptr_t addr, unsigned bits) {
    /* Objects are 16-byte aligned: drop the zero bits, then Fibonacci-hash. */
    return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* The new object for `key`, or NULL. An empty table has span 0 and lo
   UINTPTR_MAX, so every address fails the bounds check. */
static inline rm_object *rm_probe_get(const rm_probe *p, rm_object *key) {
    uintptr_t a = (uintptr_t)key;
    if (a - p->lo > p->span) return NULL;
    for (size_t i = rm_probe_start(a, p->bits);; i = (i + 1) & p->mask) {
        uintptr_t k = p->keys[i];
        if (k == a) return p->vals[i];
        if (!k) return NULL;
    }
}

struct rm_mapping {
    size_t count, capacity;
    rm_object **olds; /* uncollectable: Boehm scans them */
    rm_object **news;
    rm_probe probe;   /* old -> new */
};

#endif
