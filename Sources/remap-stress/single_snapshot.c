/*
** single_snapshot.c: the snapshot of every slot of every object before a
** remap (folded with f applied) and the check of the same fold after it,
** with an explanation of the objects whose slots do not match.
*/
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The snapshot ---- */

const rm_type *tindex_types[T_INSTANCE] = {&rm_tuple_type, &rm_list_type,   &rm_dict_type,
                                                  &rm_set_type,   &rm_class_type,  &rm_function_type,
                                                  &rm_method_type, &rm_module_type, &rm_weakref_type};

snapshot S;

int tindex_of(const rm_type *t) {
    if (t->tp_flags & RM_TYPE_HEAP) return T_INSTANCE;
    for (int i = 0; i < T_INSTANCE; i++)
        if (tindex_types[i] == t) return i;
    return T_OTHER;
}

static bool is_leaf(rm_object *o) { return (o->ob_type->tp_flags & RM_TYPE_ATOMIC) != 0; }

static uint64_t fold(uint64_t acc, rm_object **slot, rm_object *v) {
    acc ^= (uint64_t)(uintptr_t)slot * 0x9e3779b97f4a7c15ULL;
    acc = (acc << 23 | acc >> 41) ^ ((uint64_t)(uintptr_t)v * 0xc2b2ae3d27d4eb4fULL);
    return acc * 0xff51afd7ed558ccdULL;
}

static int snap_visit(rm_object **slot, void *arg) {
    snapshot *s = arg;
    rm_object *v = *slot;
    if (s->after) {
        s->acc = fold(s->acc, slot, v);
    } else {
        rm_object *fv = apply(s->f, v);
        s->changed += fv != v;
        s->acc = fold(s->acc, slot, fv);
    }
    s->count++;
    return 0;
}

static uint32_t finish(uint64_t acc) { return (uint32_t)(acc ^ (acc >> 32)); }

int snapshot_before(rm_object *o, void *arg) {
    snapshot *s = arg;
    if (is_leaf(o)) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->e = realloc(s->e, s->cap * sizeof *s->e);
        if (!s->e) fatal("out of memory for the snapshot");
    }
    s->acc = 0x243f6a8885a308d3ULL;
    s->count = s->changed = 0;
    rm_traverse(o, snap_visit, s);
    snap *e = &s->e[s->n++];
    e->obj = o;
    e->nslots = s->count;
    e->changed = s->changed;
    e->hash = finish(s->acc);
    e->tindex = (uint8_t)tindex_of(o->ob_type);
    e->flags = 0;
    if (e->tindex == T_INSTANCE && apply(s->f, (rm_object *)o->ob_type) != (rm_object *)o->ob_type)
        e->flags |= S_CLASSMAPPED;
    if (e->tindex == T_WEAKREF) {
        rm_object *t = rm_weakref_get(o);
        if (t && apply(s->f, t) != t) e->changed++;
    }
    return 0;
}

void snapshot_index(snapshot *s) {
    size_t size = 16;
    while (size < 2 * s->n + 2) size *= 2;
    free(s->index);
    s->index = calloc(size, sizeof *s->index);
    if (!s->index) fatal("out of memory for the snapshot index");
    s->mask = size - 1;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = ptr_slot((uintptr_t)s->e[i].obj, s->mask);
        while (s->index[k]) k = (k + 1) & s->mask;
        s->index[k] = (uint32_t)(i + 1);
    }
}

snap *snapshot_find(snapshot *s, rm_object *o) {
    for (size_t k = ptr_slot((uintptr_t)o, s->mask);; k = (k + 1) & s->mask) {
        uint32_t v = s->index[k];
        if (!v) return NULL;
        if (s->e[v - 1].obj == o) return &s->e[v - 1];
    }
}

/* A type the walk may follow: a built-in static type or a live class. */
static bool type_is_valid(const rm_type *t) {
    if (t == &rm_int_type || t == &rm_float_type || t == &rm_str_type || t == &rm_capsule_type) return true;
    for (int i = 0; i < T_INSTANCE; i++)
        if (tindex_types[i] == t) return true;
    /* A class: a heap object whose type is rm_class_type. Not necessarily a
       live record: an object the collector kept conservatively may be an
       instance of a class the model dropped. */
    return rm_is_heap_object((const rm_object *)t) && ((const rm_object *)t)->ob_type == &rm_class_type;
}

int snapshot_after(rm_object *o, void *arg) {
    snapshot *s = arg;
    ref_t id = record_of(o);
    if (id >= 0) M.recs[id].flags |= RF_SEEN;
    if (!type_is_valid(o->ob_type)) {
        s->bad_types++;
        if (s->bad_types <= 5) check_fail("object at %p (%s) has an invalid type %p after the remap", (void *)o,
                                          id >= 0 ? describe(&M, id) : "not modeled", (void *)o->ob_type);
        return 0;
    }
    if (is_leaf(o)) {
        s->leaves_seen++;
        return 0;
    }
    snap *e = snapshot_find(s, o);
    if (!e) {
        s->new_objects++;
        return 0;
    }
    s->acc = 0x243f6a8885a308d3ULL;
    s->count = 0;
    rm_traverse(o, snap_visit, s);
    e->flags |= S_SEEN;
    if (finish(s->acc) != e->hash || s->count != e->nslots) {
        e->flags |= S_MISMATCH;
        if (s->nmismatch < sizeof s->mismatch / sizeof s->mismatch[0]) s->mismatch[s->nmismatch++] = (size_t)(e - s->e);
    }
    return 0;
}

/* Explains a slot checksum mismatch: which slot still holds an old object,
   or holds something that is neither f(old value) candidate. */
static int explain_visit(rm_object **slot, void *arg) {
    snapshot *s = arg;
    rm_object *v = *slot;
    if (ptrmap_get(s->f, v) && s->count < 64) {
        ref_t id = record_of(v);
        check_fail("    slot %u (at %p) still holds an OLD object %p %s; it should be %p", s->count, (void *)slot,
                   (void *)v, id >= 0 ? describe(&M, id) : "", (void *)apply(s->f, v));
    }
    s->count++;
    return 0;
}

void explain_mismatches(snapshot *s) {
    for (size_t i = 0; i < s->nmismatch; i++) {
        snap *e = &s->e[s->mismatch[i]];
        ref_t id = record_of(e->obj);
        check_fail("slots of %s (%s) differ from f(slots before): %u slots before, checksum mismatch",
                   id >= 0 ? describe(&M, id) : "an object the runtime made", type_label(e->obj->ob_type), e->nslots);
        s->count = 0;
        rm_traverse(e->obj, explain_visit, s);
    }
}
