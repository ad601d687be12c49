/*
** heap.h: allocation, the live-object walk, remap, referrers, statistics and
** the heap checker.
*/
#ifndef REMAP_HEAP_H
#define REMAP_HEAP_H

#include "object.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates a zeroed object of `size` bytes (at least type->tp_basicsize),
   sets its header and registers it with the heap walk. */
rm_object *rm_alloc(rm_type *type, size_t size);

/* A full collection; then runs the finalizers of dead capsules. Takes the
   runtime lock (and registers the thread) if the caller does not hold it. */
void rm_collect(void);
/* A full collection, then closes every library replaced by a reload that
   no live object can run any more (functions, objects of its user types,
   capsules and queued finalizers) and no thread is running (a call into
   it in progress, a safe point inside it included). Returns how many were
   closed. Without this call, such libraries are closed when the lock is
   next released after a collection, or at the start of a reload. */
size_t rm_collect_and_close(void);
/* Collections so far (each prunes the registry of dead objects). */
size_t rm_collection_count(void);
/* RM_GC_STRESS=N in the environment at rm_init: every Nth allocation runs
   a full collection first (not while collections are disabled). The N in
   effect, 0 when off. */
size_t rm_gc_stress_interval(void);

/* Visits every live object the runtime allocated (not the immortal ones),
   each exactly once. The callback must not allocate. Stop early by returning
   non-zero. */
typedef int (*rm_object_visitor)(rm_object *obj, void *arg);
int rm_heap_each(rm_object_visitor fn, void *arg);

/* ---- Remap ----
** A mapping old -> new, kept in memory Boehm scans for as long as it lives,
** so the new objects stay alive. Free it with rm_mapping_free. */
typedef struct rm_mapping rm_mapping;
rm_mapping *rm_mapping_new(void);
/* Refuses (-1, RM_ERR_VALUE) an old object that is not on the heap (static
   types, None, True, False), a duplicate old object and a NULL new one. */
int rm_mapping_add(rm_mapping *m, rm_object *old_obj, rm_object *new_obj);
size_t rm_mapping_count(const rm_mapping *m);
rm_object *rm_mapping_lookup(const rm_mapping *m, rm_object *old_obj); /* NULL if unmapped */
/* new -> old, for rolling back a remap. NULL + error on failure. */
rm_mapping *rm_mapping_inverse(const rm_mapping *m);
void rm_mapping_free(rm_mapping *m);

#define RM_REPORT_TYPES 32 /* types with their own line in the report */

/* Per type: the objects that had at least one slot rewritten, and the
   slots. Class instances are counted apart, all classes together. */
typedef struct rm_type_count {
    const rm_type *type; /* NULL: every other type */
    size_t objects;
    size_t slots_rewritten;
} rm_type_count;

/* What a remap did. The object lists are roots: they keep their objects
   alive until rm_report_clear, which every report needs (each held report
   takes two of Boehm's root ranges, of which there are about 2048). */
typedef struct rm_remap_report {
    size_t objects_visited;
    size_t handles_visited;
    size_t slots_visited;   /* heap reference slots, NULL ones included */
    size_t slots_rewritten;   /* heap slots; handles are counted apart */
    size_t handles_rewritten;
    size_t bytes_visited;
    double seconds;
    unsigned threads;
    size_t ntypes;
    rm_type_count types[RM_REPORT_TYPES + 1];
    size_t instances_touched;        /* instances with a rewritten slot */
    size_t instance_slots_rewritten; /* including their class slots */
    /* Dicts and sets to rehash: a key slot was rewritten, a key is a new
       object whose identity hash was replaced, or a key is a tuple whose
       hash depends on a rewritten item. */
    rm_object **tables;
    size_t ntables;
    /* Instances whose class slot was rewritten. */
    rm_object **instances;
    size_t ninstances;
    size_t capacity_instances; /* of the instances block (reused later) */
} rm_remap_report;

/* Options for rm_remap_ex. */
#define RM_REMAP_KEEP_HASHES 0x1u   /* new objects keep their own identity hash */
#define RM_REMAP_NO_INSTANCES 0x2u  /* do not list the instances */
#define RM_REMAP_SINGLE_THREAD 0x4u /* walk on the calling thread only */

/*
** Rewrites every reference slot of every live object and every handle that
** holds an old object of `m` to the new object, as one simultaneous
** application of the mapping (a swap a<->b swaps; a chain a->b, b->c turns
** a into b, never c). By default each new object takes the identity hash of
** the old one it replaces (Smalltalk's becomeForward:), so hashed
** collections keyed by old objects stay valid; tables that still need a
** rehash are listed in the report. Membership is tested against the small
** mapping table, never by reading the slot's target. Needs the runtime lock.
** Returns 0, or -1 when out of memory: before the walk (objects_visited is
** 0: nothing was rewritten), or after it for the report's lists
** (objects_visited > 0: the slots were rewritten; remap the inverse mapping
** to undo it).
*/
int rm_remap(const rm_mapping *m, rm_remap_report *report);
int rm_remap_ex(const rm_mapping *m, unsigned options, rm_remap_report *report);
void rm_report_clear(rm_remap_report *report);

/* Every object that holds a reference to `target` (a list, possibly empty);
   *handles receives the number of handles holding it (may be NULL). */
rm_object *rm_referrers(rm_object *target, size_t *handles);

/* ---- Statistics ---- */
typedef struct rm_type_stats {
    const rm_type *type; /* NULL: the rest */
    size_t objects;
    size_t bytes;
} rm_type_stats;

typedef struct rm_heap_stats {
    size_t objects;
    size_t bytes;
    size_t handles;
    size_t ntypes;
    rm_type_stats types[RM_REPORT_TYPES + 1];
    size_t gc_heap_bytes; /* Boehm's heap size */
    size_t collections;   /* since rm_init */
} rm_heap_stats;
void rm_heap_stats_get(rm_heap_stats *stats);

/* ---- The heap checker ----
** Walks every object and every handle and validates each reference (a live
** heap object or an immortal one, with a valid type) and each dict and set
** (every key found at its hash). Returns 0, or -1 with an error naming the
** first fault. */
int rm_heap_check(void);

/* Worker threads the remap walk may use (default: the number of cores,
   at most 8). */
void rm_set_walk_threads(unsigned n);

#ifdef __cplusplus
}
#endif
#endif
