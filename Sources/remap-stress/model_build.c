/*
** model_build.c: building random clusters (create every object, then fill
** the containers, so an edge can go to any of them) and the new objects of
** a mapping (make_like).
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Filling containers (phase 2: every cluster object exists) ---- */

static void fill_list(model *m, rng *r, cluster *c, ref_t l) {
    size_t n = rng_below(r, 9);
    for (size_t i = 0; i < n; i++) {
        ref_t v = pick_ref(m, r, c, W_ANY);
        if (rm_list_append(m->recs[l].ptr, ref_ptr(m, v)) < 0) fatal("rm_list_append failed: %s", rm_error_message());
        append_refs(m, l, v, 0, 1);
    }
}

static void fill_dict(model *m, rng *r, cluster *c, ref_t d) {
    int family = (int)rng_below(r, F_COUNT);
    size_t n = rng_below(r, 11);
    for (size_t i = 0; i < n; i++) dict_set(m, d, key_for(m, r, c, family), pick_ref(m, r, c, W_ANY));
    if (rng_chance(r, 20) && m->recs[d].nrefs) {
        ref_t key = refs_of(m, d)[2 * rng_below(r, m->recs[d].nrefs / 2)];
        if (rm_dict_del(m->recs[d].ptr, ref_ptr(m, key)) < 0) fatal("rm_dict_del failed: %s", rm_error_message());
        model_dict_del(m, d, key);
    }
}

static void fill_set(model *m, rng *r, cluster *c, ref_t s) {
    static const int families[] = {F_CLASS, F_FUNCTION, F_TUPLE, F_STR, F_MIXED, F_INT};
    int family = families[rng_below(r, 6)];
    size_t n = rng_below(r, 11);
    for (size_t i = 0; i < n; i++) set_add(m, s, key_for(m, r, c, family));
    if (rng_chance(r, 15) && m->recs[s].nrefs) {
        ref_t key = refs_of(m, s)[rng_below(r, m->recs[s].nrefs)];
        if (rm_set_discard(m->recs[s].ptr, ref_ptr(m, key)) != 1) fatal("rm_set_discard did not find a member");
        model_set_discard(m, s, key);
    }
}

static void fill_instance(model *m, rng *r, cluster *c, ref_t inst) {
    size_t nslots = m->recs[inst].nrefs - 2;
    for (size_t i = 0; i < nslots; i++) {
        if (!rng_chance(r, 60)) continue;
        ref_t v = pick_ref(m, r, c, W_ANY);
        rm_instance_set_slot(m->recs[inst].ptr, i, ref_ptr(m, v));
        refs_of(m, inst)[2 + i] = v;
    }
    if (rng_chance(r, 30)) {
        size_t n = 1 + rng_below(r, 2);
        for (size_t i = 0; i < n; i++) instance_setattr(m, r, c, inst);
    }
}

static void fill_module(model *m, rng *r, cluster *c, ref_t mod) {
    size_t n = rng_below(r, 5);
    ref_t d = refs_of(m, mod)[1];
    for (size_t i = 0; i < n; i++) {
        if (rng_chance(r, 50)) dict_set(m, d, key_for(m, r, c, F_STR), pick_ref(m, r, c, W_ANY));
        else setattr_cstr(m, d, m->recs[mod].ptr, 1 + (uint32_t)rng_below(r, SMALL_CID), pick_ref(m, r, c, W_ANY));
    }
}

/* ---- Clusters ---- */

static ref_t create_random(model *m, rng *r, cluster *c) {
    unsigned roll = (unsigned)rng_below(r, 100);
    if (roll < 9) return new_int(m, c, rng_chance(r, 50) ? random_small_int(r) : (int64_t)rng_next(r));
    if (roll < 13) return new_float(m, c, random_float(r));
    if (roll < 27) return new_str(m, c, rng_chance(r, 40) ? 1 + (uint32_t)rng_below(r, SMALL_CID) : m->next_cid++);
    if (roll < 37) return new_tuple(m, r, c, rng_chance(r, 70));
    if (roll < 45) return new_empty(m, r, c, K_LIST);
    if (roll < 53) return new_empty(m, r, c, K_DICT);
    if (roll < 58) return new_empty(m, r, c, K_SET);
    if (roll < 62) return new_class(m, r, c);
    if (roll < 77) {
        ref_t cls = pick_ref(m, r, c, W_CLASS);
        if (cls < 0) cls = new_class(m, r, c);
        return new_instance_of(m, c, cls);
    }
    if (roll < 84) return new_function(m, r, c);
    if (roll < 89) return new_method(m, r, c);
    if (roll < 91) return new_module(m, c);
    if (roll < 97) return new_weakref(m, r, c);
    return new_capsule(m, c);
}

/*
** One cluster: a root list held by a handle; `count` objects created in a
** first phase (tuples, classes, functions take references to objects made
** before them), then containers and instances filled in a second phase
** (references anywhere in the cluster, so cycles form), then value handles
** on some of the objects.
*/
static void build_one(model *m, rng *r, size_t count) {
    cluster c;
    cluster_begin(m, &c);
    for (size_t i = 0; i < count; i++) create_random(m, r, &c);
    size_t n1 = c.nmembers;
    for (size_t i = 0; i < n1; i++) {
        ref_t id = c.members[i];
        switch (m->recs[id].kind) {
        case K_LIST: fill_list(m, r, &c, id); break;
        case K_DICT: fill_dict(m, r, &c, id); break;
        case K_SET: fill_set(m, r, &c, id); break;
        case K_INSTANCE: fill_instance(m, r, &c, id); break;
        case K_MODULE: fill_module(m, r, &c, id); break;
        default: break;
        }
    }
    for (size_t i = 0; i < count / 16 + 1; i++) handle_add(m, c.members[rng_below(r, c.nmembers)], false);
    cluster_end(m, &c);
}

void build_cluster(model *m, rng *r, size_t count) {
    while (count > 0) {
        size_t n = count < CLUSTER_SIZE ? count : CLUSTER_SIZE;
        build_one(m, r, n);
        count -= n;
    }
}

/*
** A replacement for `old`, of the same kind, made in cluster c. A class is
** a new version of the old one: same base and module, the old one's own
** fields and sometimes one more, new defaults. A tuple is hashable if the
** old one is: it may replace a key, and a rollback maps it back to the old
** one wherever it was used since. Sometimes the new object is also made a key of a
** random dict or set before the remap, so that table must be rehashed when
** the new object takes the old one's identity hash.
*/
ref_t make_like(model *m, rng *r, cluster *c, ref_t old) {
    record *o = &m->recs[old];
    ref_t id = -1;
    switch (o->kind) {
    case K_INT: id = new_int(m, c, random_small_int(r)); break;
    case K_FLOAT: id = new_float(m, c, random_float(r)); break;
    case K_STR: id = new_str(m, c, rng_chance(r, 50) ? 1 + (uint32_t)rng_below(r, SMALL_CID) : m->next_cid++); break;
    case K_TUPLE:
        if (ref_hashable(m, old)) {
            id = new_tuple(m, r, c, true);
        } else { /* unhashable like the old one: it holds a list */
            ref_t items[2] = {new_empty(m, r, c, K_LIST), pick_ref(m, r, c, W_ANY)};
            rm_object *t = rm_tuple_of(2, (rm_object *[]){ref_ptr(m, items[0]), ref_ptr(m, items[1])});
            id = model_add(m, t, K_TUPLE, 0);
            m->recs[id].flags &= (uint16_t)~RF_HASHABLE;
            set_refs(m, id, items, 2);
            cluster_add(m, c, id);
        }
        break;
    case K_LIST:
        id = new_empty(m, r, c, K_LIST);
        fill_list(m, r, c, id);
        break;
    case K_DICT:
        id = new_empty(m, r, c, K_DICT);
        fill_dict(m, r, c, id);
        break;
    case K_SET:
        id = new_empty(m, r, c, K_SET);
        fill_set(m, r, c, id);
        break;
    case K_CLASS: {
        ref_t *refs = refs_of(m, old);
        ref_t base = refs[1] >= 0 ? refs[1] : -1, module = refs[2] >= 0 ? refs[2] : -1;
        size_t inherited = base >= 0 ? m->recs[base].nrefs - 4 : 0;
        size_t own = m->recs[old].nrefs - 4;
        own = own > inherited ? own - inherited : 0;
        id = new_class_with(m, r, c, base, module, own + (rng_chance(r, 30) ? 1 : 0));
        break;
    }
    case K_INSTANCE: {
        ref_t cls = rng_chance(r, 70) ? refs_of(m, old)[0] : pick_ref(m, r, c, W_CLASS);
        if (cls < 0) cls = refs_of(m, old)[0];
        id = new_instance_of(m, c, cls);
        fill_instance(m, r, c, id);
        break;
    }
    case K_FUNCTION: id = new_function(m, r, c); break;
    case K_METHOD: id = new_method(m, r, c); break;
    case K_MODULE:
        id = new_module(m, c);
        fill_module(m, r, c, id);
        break;
    case K_WEAKREF: id = new_weakref(m, r, c); break;
    case K_CAPSULE: id = new_capsule(m, c); break;
    default: fatal("make_like: unknown kind %d", o->kind);
    }
    if (ref_hashable(m, id) && rng_chance(r, 20)) {
        ref_t t = pick_live(m, r, rng_chance(r, 50) ? K_DICT : K_SET, false);
        if (t >= 0 && m->recs[t].kind == K_DICT) dict_set(m, t, id, pick_ref(m, r, c, W_ANY));
        else if (t >= 0) set_add(m, t, id);
    }
    return id;
}
