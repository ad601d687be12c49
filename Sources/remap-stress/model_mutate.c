/*
** model_mutate.c: random mutations of live containers and handles, with
** what they may drop kept alive until the next reckoning.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Mutations ---- */

/*
** RF_LIVE is only updated by reckon_live, so a mutation that drops the last
** reference to an object leaves it flagged live, and a later pick could hand
** it out after a collection freed it: under RM_GC_STRESS one always comes.
** What a mutation may drop (the old target of a handle, everything the
** mutated container held) is kept in the mutation's root list, so every
** record flagged live stays reachable until the next reckoning.
*/
static void keep_alive(model *m, cluster *c, ref_t id) {
    if (id >= 0) cluster_add(m, c, id);
}

static void keep_refs_alive(model *m, cluster *c, ref_t id) {
    for (uint32_t i = 0; i < m->recs[id].nrefs; i++) keep_alive(m, c, refs_of(m, id)[i]);
}

static void mutate_one(model *m, rng *r, cluster *c) {
    static const int kinds[] = {K_LIST, K_DICT, K_SET, K_INSTANCE, K_DICT, K_LIST};
    if (m->nhandles && rng_chance(r, 10)) {
        size_t i = rng_below(r, m->nhandles);
        if (m->handles[i].is_root) return;
        ref_t t = pick_live(m, r, -1, false);
        if (t < 0) return;
        keep_alive(m, c, m->handles[i].target);
        rm_handle_set(m->handles[i].h, ref_ptr(m, t));
        m->handles[i].target = t;
        return;
    }
    ref_t id = pick_live(m, r, kinds[rng_below(r, 6)], false);
    if (id < 0) return;
    keep_refs_alive(m, c, id);
    record *rec = &m->recs[id];
    rm_object *o = rec->ptr;
    switch (rec->kind) {
    case K_LIST: {
        unsigned roll = (unsigned)rng_below(r, 100);
        ref_t v = pick_ref(m, r, c, W_ANY);
        if (roll < 45 && rec->nrefs) {
            size_t i = rng_below(r, rec->nrefs);
            if (rm_list_set(o, i, ref_ptr(m, v)) < 0) fatal("rm_list_set failed: %s", rm_error_message());
            refs_of(m, id)[i] = v;
        } else if (roll < 95) {
            if (rm_list_append(o, ref_ptr(m, v)) < 0) fatal("rm_list_append failed: %s", rm_error_message());
            append_refs(m, id, v, 0, 1);
        } else {
            rm_list_clear(o);
            set_refs(m, id, NULL, 0);
        }
        break;
    }
    case K_DICT:
        if (rng_chance(r, 25) && rec->nrefs) {
            ref_t key = refs_of(m, id)[2 * rng_below(r, rec->nrefs / 2)];
            if (rm_dict_del(o, ref_ptr(m, key)) < 0) fatal("rm_dict_del failed: %s", rm_error_message());
            model_dict_del(m, id, key);
        } else if (rng_chance(r, 30) && rec->nrefs) {
            ref_t key = refs_of(m, id)[2 * rng_below(r, rec->nrefs / 2)];
            dict_set(m, id, key, pick_ref(m, r, c, W_ANY));
        } else {
            dict_set(m, id, key_for(m, r, c, (int)rng_below(r, F_COUNT)), pick_ref(m, r, c, W_ANY));
        }
        break;
    case K_SET:
        if (rng_chance(r, 25) && rec->nrefs) {
            ref_t key = refs_of(m, id)[rng_below(r, rec->nrefs)];
            if (rm_set_discard(o, ref_ptr(m, key)) != 1) fatal("rm_set_discard did not find a member");
            model_set_discard(m, id, key);
        } else {
            set_add(m, id, key_for(m, r, c, (int)rng_below(r, F_COUNT)));
        }
        break;
    case K_INSTANCE:
        if (rng_chance(r, 60) && rec->nrefs > 2) {
            size_t i = rng_below(r, rec->nrefs - 2);
            ref_t v = pick_ref(m, r, c, W_ANY);
            rm_instance_set_slot(o, i, ref_ptr(m, v));
            refs_of(m, id)[2 + i] = v;
        } else {
            instance_setattr(m, r, c, id);
        }
        break;
    default: break;
    }
}

void mutate(model *m, rng *r, size_t count) {
    cluster c;
    cluster_begin(m, &c);
    for (size_t i = 0; i < count; i++) mutate_one(m, r, &c);
    cluster_end(m, &c);
}
