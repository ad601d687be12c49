/*
** model_create.c: creating objects of every kind on the heap while
** recording them in the model (one record each, plus the records of what
** the runtime made on their behalf: a class's name, a module's dict), in
** the cluster being built.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Clusters ---- */

void cluster_add(model *m, cluster *c, ref_t id) {
    if (rm_list_append(m->recs[c->root].ptr, m->recs[id].ptr) < 0)
        fatal("rm_list_append to a root list failed: %s", rm_error_message());
    c->members = grow(c->members, &c->capmembers, c->nmembers + 1, sizeof(ref_t));
    c->members[c->nmembers++] = id;
}

void cluster_begin(model *m, cluster *c) {
    memset(c, 0, sizeof *c);
    c->root = model_add(m, rm_list_new(0), K_LIST, RF_NOMAP | RF_ROOTLIST);
    handle_add(m, c->root, true);
    c->first = m->nrecs;
    m->ncluster++;
}

void cluster_end(model *m, cluster *c) {
    set_refs(m, c->root, c->members, c->nmembers);
    free(c->members);
    c->members = NULL;
}

/* ---- Creating objects ---- */

ref_t new_int(model *m, cluster *c, int64_t value) {
    ref_t id = model_add(m, rm_int(value), K_INT, 0);
    m->recs[id].v.i = value;
    cluster_add(m, c, id);
    return id;
}

ref_t new_float(model *m, cluster *c, double value) {
    ref_t id = model_add(m, rm_float(value), K_FLOAT, 0);
    m->recs[id].v.f = value;
    cluster_add(m, c, id);
    return id;
}

ref_t new_str(model *m, cluster *c, uint32_t cid) {
    char content[64];
    str_content(cid, content, sizeof content);
    ref_t id = model_add(m, rm_str(content), K_STR, 0);
    m->recs[id].v.cid = cid;
    cluster_add(m, c, id);
    return id;
}

/* A str the runtime made (a class, function or module name, a key). */
ref_t adopt_str(model *m, rm_object *s, uint32_t cid) {
    /* A key rm_setattr made from a C string is an interned name: immortal,
       shared, never mapped. */
    ref_t id = model_add(m, s, K_STR, RF_ADOPTED | (rm_is_heap_object(s) ? 0 : RF_NOMAP));
    m->recs[id].v.cid = cid;
    return id;
}

/* Few distinct values, so keys collide by content; past the small-int
   cache (immortal, shared objects the model cannot map). */
int64_t random_small_int(rng *r) { return (int64_t)rng_below(r, 41) - 20 + 1000000; }

double random_float(rng *r) {
    static const double pool[] = {0.0, -0.0, 1.5, -2.25, 1e300, 3.0};
    if (rng_chance(r, 70)) return pool[rng_below(r, sizeof pool / sizeof pool[0])];
    return (double)(int64_t)rng_next(r) / 1024.0;
}


/* A tuple of up to 5 items, biased to classes and functions; hashable
   only: every item is hashable. */
ref_t new_tuple(model *m, rng *r, cluster *c, bool hashable_only) {
    ref_t items[5];
    size_t n = rng_below(r, 6);
    bool hashable = true;
    for (size_t i = 0; i < n; i++) {
        unsigned roll = (unsigned)rng_below(r, 100);
        ref_t it = -1;
        if (roll < 25) it = pick_ref(m, r, c, W_CLASS);
        else if (roll < 45) it = pick_ref(m, r, c, W_FUNCTION);
        if (it < 0) it = pick_ref(m, r, c, hashable_only ? W_HASHABLE : W_ANY);
        items[i] = it;
        hashable = hashable && ref_hashable(m, it);
    }
    rm_object *t = rm_tuple_new(n);
    if (!t) fatal("rm_tuple_new failed: %s", rm_error_message());
    for (size_t i = 0; i < n; i++) rm_tuple_set(t, i, ref_ptr(m, items[i]));
    ref_t id = model_add(m, t, K_TUPLE, 0);
    if (!hashable) m->recs[id].flags &= (uint16_t)~RF_HASHABLE;
    set_refs(m, id, items, n);
    cluster_add(m, c, id);
    return id;
}

ref_t new_empty(model *m, rng *r, cluster *c, int kind) {
    rm_object *o = kind == K_LIST ? rm_list_new(rng_below(r, 5)) : kind == K_DICT ? rm_dict_new() : rm_set_new();
    ref_t id = model_add(m, o, kind, 0);
    cluster_add(m, c, id);
    return id;
}

/* Fields are named f0, f1, ... in slot order, so a subclass names its own
   fields after its base's. */
static void add_field(model *m, ref_t cls, size_t index, ref_t def) {
    char name[16];
    snprintf(name, sizeof name, "f%zu", index);
    if (rm_class_add_field(m->recs[cls].ptr, name, ref_ptr(m, def)) < 0)
        fatal("rm_class_add_field failed: %s", rm_error_message());
    append_refs(m, cls, def, 0, 1);
}

/*
** A class: name (adopted str), optional base and module, a unique int
** "ctag" class attribute (never remapped: it identifies the class through
** method calls), a method "tag", and `own` fields of its own after the
** base's. The model's references: name, base, module, ctag, defaults...
*/
ref_t new_class_with(model *m, rng *r, cluster *c, ref_t base, ref_t module, size_t own) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    rm_object *cls = rm_class_new(name, base >= 0 ? ref_ptr(m, base) : NULL, module >= 0 ? ref_ptr(m, module) : NULL);
    ref_t id = model_add(m, cls, K_CLASS, 0);
    cluster_add(m, c, id);
    ref_t name_id = adopt_str(m, ((rm_type *)cls)->cls_name, cid);
    ref_t tag = model_add(m, rm_int((int64_t)id + 1000000000), K_INT, RF_NOMAP);
    m->recs[tag].v.i = (int64_t)id + 1000000000;
    cluster_add(m, c, tag);
    if (rm_setattr(cls, "ctag", m->recs[tag].ptr) < 0) fatal("rm_setattr(class, ctag) failed: %s", rm_error_message());
    if (rm_class_set_method(cls, "tag", method_tag, 0) < 0)
        fatal("rm_class_set_method failed: %s", rm_error_message());
    ref_t head[4] = {name_id, base >= 0 ? base : REF_NULL, module >= 0 ? module : REF_NULL, tag};
    set_refs(m, id, head, 4);
    size_t inherited = 0;
    if (base >= 0) {
        inherited = m->recs[base].nrefs - 4;
        for (size_t i = 0; i < inherited; i++) append_refs(m, id, refs_of(m, base)[4 + i], 0, 1);
    }
    for (size_t i = 0; i < own; i++) add_field(m, id, inherited + i, pick_ref(m, r, c, W_ANY));
    return id;
}

ref_t new_class(model *m, rng *r, cluster *c) {
    ref_t base = rng_chance(r, 30) ? pick_ref(m, r, c, W_CLASS) : -1;
    ref_t module = rng_chance(r, 50) ? pick_ref(m, r, c, W_MODULE) : -1;
    return new_class_with(m, r, c, base, module, rng_below(r, 5));
}

ref_t new_instance_of(model *m, cluster *c, ref_t cls) {
    ref_t id = model_add(m, rm_instance_alloc(m->recs[cls].ptr), K_INSTANCE, 0);
    cluster_add(m, c, id);
    size_t nfields = m->recs[cls].nrefs - 4;
    ref_t head[2] = {cls, REF_NULL};
    set_refs(m, id, head, 2);
    for (size_t i = 0; i < nfields; i++) append_refs(m, id, refs_of(m, cls)[4 + i], 0, 1);
    return id;
}

ref_t new_function(model *m, rng *r, cluster *c) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    ref_t module = rng_chance(r, 50) ? pick_ref(m, r, c, W_MODULE) : REF_NULL;
    if (module < 0) module = REF_NULL;
    ref_t closure = rng_chance(r, 10) ? REF_NULL : pick_ref(m, r, c, W_ANY);
    rm_object *f = rm_function_new(name, fn_generic, 0, ref_ptr(m, module), ref_ptr(m, closure));
    ref_t id = model_add(m, f, K_FUNCTION, 0);
    cluster_add(m, c, id);
    ref_t refs[3] = {adopt_str(m, rm_function_name(f), cid), module, closure};
    set_refs(m, id, refs, 3);
    return id;
}

ref_t new_method(model *m, rng *r, cluster *c) {
    ref_t fn = pick_ref(m, r, c, W_FUNCTION);
    if (fn < 0) fn = new_function(m, r, c);
    ref_t self = pick_ref(m, r, c, W_ANY);
    ref_t id = model_add(m, rm_method_new(ref_ptr(m, fn), ref_ptr(m, self)), K_METHOD, 0);
    cluster_add(m, c, id);
    ref_t refs[2] = {fn, self};
    set_refs(m, id, refs, 2);
    return id;
}

/* A module: its name and its dict (with "__name__" -> name) are made by the
   runtime and adopted as records. */
ref_t new_module(model *m, cluster *c) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    rm_object *mod = rm_module_new(name);
    ref_t id = model_add(m, mod, K_MODULE, 0);
    cluster_add(m, c, id);
    ref_t name_id = adopt_str(m, rm_module_name(mod), cid);
    ref_t dict = model_add(m, rm_module_dict(mod), K_DICT, RF_ADOPTED);
    size_t pos = 0;
    rm_object *k = NULL, *v = NULL;
    if (!rm_dict_next(m->recs[dict].ptr, &pos, &k, &v)) fatal("a new module's dict is empty");
    ref_t key = adopt_str(m, k, 0);
    if (v != m->recs[name_id].ptr) fatal("a new module's __name__ is not its name");
    ref_t entries[2] = {key, name_id};
    set_refs(m, dict, entries, 2);
    ref_t refs[2] = {name_id, dict};
    set_refs(m, id, refs, 2);
    return id;
}

ref_t new_weakref(model *m, rng *r, cluster *c) {
    ref_t target = pick_ref(m, r, c, W_ANY);
    ref_t id = model_add(m, rm_weakref_new(ref_ptr(m, target)), K_WEAKREF, 0);
    m->recs[id].v.target = ref_ptr(m, target);
    cluster_add(m, c, id);
    set_refs(m, id, &target, 1);
    return id;
}

ref_t new_capsule(model *m, cluster *c) {
    size_t serial = capsule_new_serial();
    rm_object *cap = rm_capsule_new((void *)(uintptr_t)(serial + 1), "remap-stress", capsule_finalizer);
    ref_t id = model_add(m, cap, K_CAPSULE, 0);
    m->recs[id].v.serial = serial;
    cluster_add(m, c, id);
    return id;
}
