/*
** model_tables.c: dicts and sets on the model (mirroring the runtime's
** rules for equal keys), the same operations on the heap and the model
** together, the key families, and attributes.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Dicts and sets, on the model ---- */

static size_t find_key(model *m, ref_t t, ref_t key, size_t stride) {
    record *rec = &m->recs[t];
    for (size_t i = 0; i < rec->nrefs; i += stride)
        if (ref_equal(m, m->pool[rec->refs + i], key)) return i;
    return SIZE_MAX;
}

/* An equal key keeps its entry (and its key object); only the value changes. */
void model_dict_set(model *m, ref_t d, ref_t key, ref_t value) {
    size_t i = find_key(m, d, key, 2);
    if (i != SIZE_MAX) refs_of(m, d)[i + 1] = value;
    else append_refs(m, d, key, value, 2);
}

static void remove_refs(model *m, ref_t id, size_t at, size_t n) {
    record *rec = &m->recs[id];
    ref_t *p = m->pool + rec->refs;
    memmove(p + at, p + at + n, (rec->nrefs - at - n) * sizeof(ref_t));
    rec->nrefs -= (uint32_t)n;
}

void model_dict_del(model *m, ref_t d, ref_t key) {
    size_t i = find_key(m, d, key, 2);
    if (i != SIZE_MAX) remove_refs(m, d, i, 2);
}

void model_set_add(model *m, ref_t s, ref_t key) {
    if (find_key(m, s, key, 1) == SIZE_MAX) append_refs(m, s, key, 0, 1);
}

void model_set_discard(model *m, ref_t s, ref_t key) {
    size_t i = find_key(m, s, key, 1);
    if (i != SIZE_MAX) remove_refs(m, s, i, 1);
}

/*
** After a rehash: entries whose keys became equal are merged; the entry
** inserted last wins (its key and value) at the place of the first.
*/
size_t model_table_merge(model *m, ref_t t) {
    record *rec = &m->recs[t];
    size_t stride = rec->kind == K_DICT ? 2 : 1;
    ref_t *p = m->pool + rec->refs;
    size_t kept = 0, merged = 0;
    for (size_t i = 0; i < rec->nrefs; i += stride) {
        size_t j = 0;
        while (j < kept && !ref_equal(m, p[j], p[i])) j += stride;
        if (j < kept) {
            merged++;
        } else {
            j = kept;
            kept += stride;
        }
        memmove(p + j, p + i, stride * sizeof(ref_t));
    }
    rec->nrefs = (uint32_t)kept;
    return merged;
}

void dict_set(model *m, ref_t d, ref_t key, ref_t value) {
    if (rm_dict_set(m->recs[d].ptr, ref_ptr(m, key), ref_ptr(m, value)) < 0)
        fatal("rm_dict_set(%s, %s) failed: %s", describe(m, d), describe(m, key), rm_error_message());
    model_dict_set(m, d, key, value);
}

void set_add(model *m, ref_t s, ref_t key) {
    if (rm_set_add(m->recs[s].ptr, ref_ptr(m, key)) < 0)
        fatal("rm_set_add(%s, %s) failed: %s", describe(m, s), describe(m, key), rm_error_message());
    model_set_add(m, s, key);
}

ref_t key_for(model *m, rng *r, cluster *c, int family) {
    ref_t k = -1;
    switch (family) {
    case F_STR:
        k = rng_chance(r, 50) ? new_str(m, c, 1 + (uint32_t)rng_below(r, SMALL_CID)) : pick_ref(m, r, c, W_STR);
        break;
    case F_INT: k = rng_chance(r, 50) ? new_int(m, c, random_small_int(r)) : pick_ref(m, r, c, W_INT); break;
    case F_FLOAT: k = new_float(m, c, random_float(r)); break;
    case F_CLASS: k = pick_ref(m, r, c, W_CLASS); break;
    case F_FUNCTION: k = pick_ref(m, r, c, W_FUNCTION); break;
    case F_TUPLE: k = rng_chance(r, 50) ? pick_ref(m, r, c, W_TUPLEKEY) : new_tuple(m, r, c, true); break;
    default: k = pick_ref(m, r, c, W_HASHABLE); break;
    }
    if (k < 0) k = new_str(m, c, 1 + (uint32_t)rng_below(r, SMALL_CID));
    return k;
}

/* Sets an attribute by C string: the runtime makes the key str. An equal
   key already in the model keeps its entry; otherwise the new key is the
   dict's last entry, adopted as a record. */
void setattr_cstr(model *m, ref_t dict, rm_object *owner, uint32_t cid, ref_t value) {
    char name[64];
    str_content(cid, name, sizeof name);
    if (rm_setattr(owner, name, ref_ptr(m, value)) < 0) fatal("rm_setattr(%s) failed: %s", name, rm_error_message());
    ref_t probe_key = -1;
    record *rec = &m->recs[dict];
    for (uint32_t i = 0; i < rec->nrefs && probe_key < 0; i += 2) {
        ref_t k = m->pool[rec->refs + i];
        if (k >= 0 && m->recs[k].kind == K_STR && m->recs[k].v.cid == cid) probe_key = k;
    }
    if (probe_key < 0) {
        size_t pos = 0;
        rm_object *k = NULL, *last = NULL;
        while (rm_dict_next(rec->ptr, &pos, &k, NULL)) last = k;
        if (!last || !rm_str_eq(last, name)) fatal("rm_setattr(%s): the new key is not the dict's last entry", name);
        probe_key = adopt_str(m, last, cid);
    }
    model_dict_set(m, dict, probe_key, value);
}

/* An instance's attribute dict, adopted when the first attribute made it. */
static ref_t instance_dict(model *m, ref_t inst) {
    ref_t d = refs_of(m, inst)[1];
    if (d != REF_NULL) return d;
    rm_object *dp = rm_instance_dict(m->recs[inst].ptr);
    if (!dp) fatal("an instance has attributes but no attribute dict");
    d = model_add(m, dp, K_DICT, RF_ADOPTED);
    refs_of(m, inst)[1] = d;
    return d;
}

void instance_setattr(model *m, rng *r, cluster *c, ref_t inst) {
    ref_t value = pick_ref(m, r, c, W_ANY);
    uint32_t cid = 1 + (uint32_t)rng_below(r, SMALL_CID);
    if (rng_chance(r, 50)) {
        ref_t name = rng_chance(r, 50) ? pick_ref(m, r, c, W_STR) : -1;
        if (name < 0) name = new_str(m, c, cid);
        if (rm_setattr_name(m->recs[inst].ptr, m->recs[name].ptr, ref_ptr(m, value)) < 0)
            fatal("rm_setattr_name failed: %s", rm_error_message());
        model_dict_set(m, instance_dict(m, inst), name, value);
    } else {
        rm_object *o = m->recs[inst].ptr;
        char buf[64];
        str_content(cid, buf, sizeof buf);
        if (!rm_instance_dict(o)) {
            /* The first attribute creates the dict: set it, adopt, record. */
            if (rm_setattr(o, buf, ref_ptr(m, value)) < 0) fatal("rm_setattr failed: %s", rm_error_message());
            ref_t d = instance_dict(m, inst);
            size_t pos = 0;
            rm_object *k = NULL;
            if (!rm_dict_next(m->recs[d].ptr, &pos, &k, NULL)) fatal("rm_setattr made an empty dict");
            model_dict_set(m, d, adopt_str(m, k, cid), value);
        } else {
            setattr_cstr(m, instance_dict(m, inst), o, cid, value);
        }
    }
}
