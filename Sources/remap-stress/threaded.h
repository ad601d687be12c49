/*
** threaded.h: what the files of --threads mode share (threaded.c
** describes the mode): the shared classes and functions, the log of
** remaps, and the mutators' state. All of it is guarded by the runtime
** lock.
*/
#ifndef REMAP_STRESS_THREADED_H
#define REMAP_STRESS_THREADED_H

#include "stress.h"

#include <pthread.h>

#define NCLASSES 8
#define NFUNCS 6
#define NMUTATORS 2
/* Dicts and sets each mutator keeps for its whole life. */
#define NTABLES 4

/* One remap of the log: its (old, new) address pairs. */
typedef struct epoch {
    rm_object **olds, **news;
    size_t n;
} epoch;

/* ---- threaded.c: the shared state ---- */
extern epoch *epochs;
extern size_t nepochs;
extern bool stop;
extern size_t batches[NMUTATORS];
extern rm_handle shared_classes, shared_funcs;

/* What a mutator built, with the object it must refer to now. */
typedef struct tracked {
    rm_object *obj;    /* the object built */
    rm_object *expect; /* what it must refer to now */
    rm_object *aux;    /* a dict entry's value */
    uint8_t kind;
    int32_t chunk;     /* -1: a permanent table */
} tracked;

typedef struct mutator {
    int id;
    rng r;
    pthread_t thread;
    tracked *t;
    size_t n, cap;
    size_t seen_epoch;
    rm_handle *chunk_handles; /* chunk i's root list */
    size_t *chunk_count;
    size_t chunk_cap;
    int32_t first_chunk, cur_chunk;
    rm_handle tables_handle; /* a list of the NTABLES dicts and sets */
    rm_object *dicts[NTABLES / 2], *sets[NTABLES / 2];
    size_t created, verified_groups;
} mutator;

/* ---- threaded_mutator.c (runtime lock held) ---- */
rm_object *checked(rm_object *o, const char *what);
rm_object *shared_get(rm_handle h, size_t i);
rm_object *make_class(const char *name, size_t nfields, int64_t tag);
void verify(mutator *mu, const char *when);
void *mutator_main(void *arg);

#endif
