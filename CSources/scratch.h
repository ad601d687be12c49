/*
** scratch.h: memory a reload needs for a moment, kept mapped for the next
** one (scratch.c).
*/
#ifndef REMAP_SCRATCH_H
#define REMAP_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

typedef struct rm_scratch {
    unsigned char *base;
    size_t size; /* mapped bytes */
    bool busy;   /* lent out (rm_scratch_lend) */
} rm_scratch;

/* At least `bytes` of memory (contents undefined, the previous ones not
   kept): the area's mapping when it is large enough, else a larger one.
   NULL when out of memory; the area is then empty. */
void *rm_scratch_get(rm_scratch *s, size_t bytes);
/* Done until the next rm_scratch_get: the first `used` bytes' pages are
   given back lazily (the kernel takes them under memory pressure; until
   then the next use finds them without a page fault). */
void rm_scratch_done(rm_scratch *s, size_t used);
/* For memory that outlives the call that takes it: rm_scratch_get on an
   area that is not lent out, which is then lent until rm_scratch_return.
   NULL if it is lent (the caller uses malloc instead) or out of memory. */
void *rm_scratch_lend(rm_scratch *s, size_t bytes);
void rm_scratch_return(rm_scratch *s, size_t used);

#pragma GCC visibility pop

#endif
