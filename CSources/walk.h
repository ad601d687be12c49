/*
** walk.h: what remap.c (the walk's driver), remap_walk.c (one walker
** thread) and walk_results.c (the walk's preparation and what is made of
** its results) share: the walker's state.
*/
#ifndef REMAP_WALK_H
#define REMAP_WALK_H

#include "layout.h"

#include <pthread.h>
#include <stdlib.h>

#pragma GCC visibility push(hidden)

/* A growable array of objects in malloc memory. Safe only while
   collections are disabled: Boehm does not see it. */
typedef struct objvec {
    rm_object **items;
    size_t count, capacity;
    bool failed;
} objvec;

static inline void objvec_push(objvec *v, rm_object *o) {
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 256;
        rm_object **items = realloc(v->items, cap * sizeof *items);
        if (!items) {
            v->failed = true;
            return;
        }
        v->items = items;
        v->capacity = cap;
    }
    v->items[v->count++] = o;
}

/* Instance-list buffers kept from one remap to the next, one per walker:
   a reload of a class with 10^6 instances lists 8 MB of pointers, and fresh
   malloc memory costs a page fault per 4 KiB on every remap. Used and
   changed only under the runtime lock. */
extern objvec rm_spare_instances[RM_MAX_WALKERS];

/* Per-type counts, an open-addressing table on the type's address; past
   TYPE_LINES types the rest share the last line. */
#define TYPE_LINES 64

typedef struct type_line {
    const rm_type *type;
    size_t objects, rewritten;
} type_line;

/* What one walker thread accumulates. */
typedef struct walker {
    const rm_probe *olds;
    const rm_probe *changed; /* new objects whose identity hash changes */
    bool list_instances;
    bool list_tables;        /* false in an undo walk: it must not allocate */
    rm_undo_log *log;        /* where rewrites to tagged targets are logged */
    rm_object *owner;        /* the object whose traverse is running */
    size_t objects, slots, rewritten, bytes;
    size_t instances_touched, instance_rewrites;
    type_line types[TYPE_LINES + 1];
    objvec tables;    /* tables with a rewritten or rehash-needing key */
    objvec composite; /* tables with tuple or method keys, checked after the walk */
    objvec instances; /* instances whose class was rewritten */
    const rm_plans *plans; /* a transaction's: instances are migrated */
    const rm_plans *undo_plans; /* an undo walk's: unlisted ones go back */
    rm_plan_part part;     /* where this walker lists instances: a copy of
                              its rm_plans part during the walk (the parts
                              share cache lines; the walkers must not) */
    rm_plan_part saves;    /* a copy of its rm_plans saves during the walk */
    bool plan_work;        /* its plan part and save buffers are allocated
                              (rm_walk_alloc_plan_work): instances get listed */
    size_t *counts;        /* per plan: instances retyped, migrated in place */
    rm_object **scratch;   /* plans->max_fields */
    bool lists_failed;
    pthread_t thread;
} walker;

/* ---- remap_walk.c ---- */
/* The registry range the next walk's walkers share, from its start:
   call before starting them. */
void rm_walk_registry(uintptr_t *items, size_t count);
/* One walker: takes chunks of the registry until none is left. */
void *rm_walk_thread(void *arg);
/* Rewrites one slot for a traverse function or the handle table (the
   walker's owner NULL); `arg` is the walker. */
int rm_walk_slot_visitor(rm_object **slot, void *arg);

/* ---- walk_results.c ---- */
bool rm_walk_key_holds_new_in(const rm_probe *news, rm_table_object *t);
bool rm_walk_hands_over_hash(rm_object *old_obj, rm_object *new_obj);
bool rm_walk_report_list(objvec *parts, size_t nparts, rm_object ***list, size_t *count, size_t *capacity);
int rm_walk_alloc_plan_work(walker *ws, unsigned nw, rm_plans *plans);
void rm_walk_end_plan_work(walker *ws, unsigned nw, rm_plans *plans, bool walked);
void rm_walk_merge_types(rm_remap_report *r, walker *ws, unsigned nw);

#pragma GCC visibility pop

#endif
