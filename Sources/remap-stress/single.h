/*
** single.h: what the files of the single-threaded mode share (single.c
** describes a round): the round's state, the mapping plan, the address
** maps, the snapshot and the report expectations.
*/
#ifndef REMAP_STRESS_SINGLE_H
#define REMAP_STRESS_SINGLE_H

#include "model.h"

typedef struct pair {
    ref_t old, new_;
    uint32_t old_hash, new_hash; /* ob_hash before the remap */
    bool shared_new;             /* the new object is the target of several pairs */
} pair;

typedef struct plan {
    pair *pairs;
    size_t n, cap;
    bool injective;
} plan;

/* The round's state (single.c). */
extern model M;
extern rng R;
extern int round_no;
/* Set when the heap and the model disagree: later rounds would only
   report the same divergence again, so the run stops after this round. */
extern bool diverged;

/* ---- single_plan.c ---- */

/* Address map: old object -> new object. */
typedef struct ptrmap {
    uintptr_t *keys;
    rm_object **vals;
    size_t mask;
} ptrmap;

size_t ptr_slot(uintptr_t a, size_t mask);
void ptrmap_init(ptrmap *p, size_t n);
void ptrmap_free(ptrmap *p);
void ptrmap_put(ptrmap *p, rm_object *k, rm_object *v);
rm_object *ptrmap_get(const ptrmap *p, rm_object *k);
rm_object *apply(const ptrmap *f, rm_object *v);
void build_recmap(void);
ref_t record_of(rm_object *p);
ref_t fref(ref_t r);
void plan_mapping(plan *p, size_t want, bool injective);

/* ---- single_snapshot.c ---- */

enum tindex { T_TUPLE, T_LIST, T_DICT, T_SET, T_CLASS, T_FUNCTION, T_METHOD, T_MODULE, T_WEAKREF, T_INSTANCE, T_OTHER, T_COUNT };
extern const rm_type *tindex_types[T_INSTANCE];

#define S_CLASSMAPPED 0x01
#define S_SEEN 0x02
#define S_LISTED_TABLE 0x04
#define S_LISTED_INSTANCE 0x08
#define S_MISMATCH 0x10

typedef struct snap {
    rm_object *obj;
    uint32_t hash;    /* fold of (slot address, f(value)) */
    uint32_t nslots;  /* non-NULL slots rm_traverse visits, type included */
    uint32_t changed; /* slots f changes, a weakref's target included */
    uint8_t tindex;
    uint8_t flags;
} snap;

typedef struct snapshot {
    snap *e;
    size_t n, cap;
    uint32_t *index; /* open addressing: entry + 1 */
    size_t mask;
    const ptrmap *f;
    /* the visitor's running state */
    uint64_t acc;
    uint32_t count, changed;
    bool after;
    /* after the remap */
    size_t new_objects, bad_types, leaves_seen;
    size_t mismatch[32];
    size_t nmismatch;
} snapshot;

extern snapshot S;

int tindex_of(const rm_type *t);
/* rm_heap_each visitors: the fold before the remap, the check after it. */
int snapshot_before(rm_object *o, void *arg);
int snapshot_after(rm_object *o, void *arg);
void snapshot_index(snapshot *s);
snap *snapshot_find(snapshot *s, rm_object *o);
void explain_mismatches(snapshot *s);

/* ---- single_report.c ---- */

typedef struct expect {
    size_t slots, handles, objects, instances, inst_touched, inst_slots;
    size_t type_objects[T_COUNT], type_slots[T_COUNT];
    size_t nslots_total;
} expect;

/* The step being checked, for check names: "remap" or "rollback". */
extern const char *step_label;

const char *options_label(unsigned o);
void mark_tables(void);
void check_report(const rm_remap_report *rep, const expect *x, size_t handle_count);
void check_instances(const rm_remap_report *rep, const expect *x, unsigned options);
void check_tables_listed(const rm_remap_report *rep);
void check_hashes(const plan *p, unsigned options);

/* ---- single_checks.c ---- */
size_t check_all_records(const char *what);
size_t check_heap(const char *what, const char *when);
void apply_to_model(void);
size_t check_lookups(const char *what);
size_t check_calls(const char *what);
void check_mapping_api(rm_mapping *map, const plan *p);
size_t reckon_with_plan(const plan *p);

/* ---- single_step.c ---- */
bool remap_step(plan *p, rm_mapping *map, const char *label);

#endif
