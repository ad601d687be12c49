/*
** model_build.h: what the model's files (model*.c) share beyond model.h:
** the shape of the random graphs and the helpers that create objects and
** store references, on the heap and the model together.
*/
#ifndef REMAP_STRESS_MODEL_BUILD_H
#define REMAP_STRESS_MODEL_BUILD_H

#include "model.h"

/* Objects created per cluster: big enough that most edges stay inside one
   cluster (so dropping a cluster's handle makes real garbage), small enough
   that every round builds many. */
#define CLUSTER_SIZE 256

/* Percent of references that go to another cluster, and to None/True/False. */
#define GLOBAL_EDGE_PERCENT 3
#define SPECIAL_EDGE_PERCENT 8

/* Str content ids below this are shared on purpose: equal strs made
   separately, so dict keys collide by content. */
#define SMALL_CID 64

/* What a new edge may point to (pick_ref). */
enum want { W_ANY, W_HASHABLE, W_CLASS, W_FUNCTION, W_STR, W_INT, W_MODULE, W_TUPLEKEY };

/* Key families: every dict and set draws its keys from one. */
enum family { F_STR, F_INT, F_FLOAT, F_CLASS, F_FUNCTION, F_TUPLE, F_MIXED, F_COUNT };

/* ---- model.c ---- */
void *grow(void *p, size_t *cap, size_t need, size_t elem);
void append_refs(model *m, ref_t id, ref_t a, ref_t b, size_t n);
ref_t pick_ref(model *m, rng *r, cluster *c, int want);

/* ---- model_create.c: one new object, recorded in cluster c ---- */
void cluster_add(model *m, cluster *c, ref_t id);
ref_t new_int(model *m, cluster *c, int64_t value);
ref_t new_float(model *m, cluster *c, double value);
ref_t new_str(model *m, cluster *c, uint32_t cid);
ref_t adopt_str(model *m, rm_object *s, uint32_t cid);
int64_t random_small_int(rng *r);
double random_float(rng *r);
ref_t new_empty(model *m, rng *r, cluster *c, int kind);
ref_t new_tuple(model *m, rng *r, cluster *c, bool hashable_only);
ref_t new_class_with(model *m, rng *r, cluster *c, ref_t base, ref_t module, size_t own);
ref_t new_class(model *m, rng *r, cluster *c);
ref_t new_instance_of(model *m, cluster *c, ref_t cls);
ref_t new_function(model *m, rng *r, cluster *c);
ref_t new_method(model *m, rng *r, cluster *c);
ref_t new_module(model *m, cluster *c);
ref_t new_weakref(model *m, rng *r, cluster *c);
ref_t new_capsule(model *m, cluster *c);

/* ---- model_tables.c: on the heap and the model together ---- */
void dict_set(model *m, ref_t d, ref_t key, ref_t value);
void set_add(model *m, ref_t s, ref_t key);
ref_t key_for(model *m, rng *r, cluster *c, int family);
void setattr_cstr(model *m, ref_t dict, rm_object *owner, uint32_t cid, ref_t value);
void instance_setattr(model *m, rng *r, cluster *c, ref_t inst);

#endif
