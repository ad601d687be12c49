/*
** migrate.c: moving an instance from its old class's field layout to the
** new class's, after a reload replaced the class.
**
** A plan maps each field of the new class to the slot of the same field in
** the old class, or to "take the default". Migration builds the new slot
** values first, then writes them; fields past the instance's slot count go
** to a copy of its attribute dict. The undo record keeps what is needed to
** put the instance back exactly: its old slot values, slot count and dict.
*/
#include "internal.h"

/* The plan as a tuple of ints (old slot, or -1), or None if both classes
   have the same fields in the same order (nothing to move). */
rm_object *rm_migration_plan(rm_object *old_cls, rm_object *new_cls) {
    rm_type *o = (rm_type *)old_cls, *n = (rm_type *)new_cls;
    size_t nnew = rm_tuple_size(n->cls_fields), nold = rm_tuple_size(o->cls_fields);
    bool same = nnew == nold;
    for (size_t i = 0; same && i < nnew; i++)
        same = rm_equal(rm_tuple_get(n->cls_fields, i), rm_tuple_get(o->cls_fields, i)) == 1;
    if (same) return rm_none;
    rm_object *plan = rm_tuple_new(nnew);
    if (!plan) return NULL;
    for (size_t i = 0; i < nnew; i++) {
        rm_object *at = rm_dict_get(o->cls_index, rm_tuple_get(n->cls_fields, i));
        rm_object *slot = rm_int(at ? rm_int_value(at) : -1);
        if (!slot) return NULL;
        rm_tuple_set(plan, i, slot);
    }
    return plan;
}

/* Reads field `i` of the old layout: an inline slot, or the dict when the
   instance predates the field. */
static rm_object *old_field(rm_instance_object *inst, rm_type *old_cls, int64_t i) {
    if (i < inst->ob_aux) return inst->slots[i];
    if (!inst->dict) return NULL;
    return rm_dict_get(inst->dict, rm_tuple_get(old_cls->cls_fields, (size_t)i));
}

/*
** Migrates `inst` (whose class slot already holds the new class) using
** `plan` from old_cls. Returns the undo record, or NULL with the error set
** and the instance unchanged.
*/
rm_object *rm_instance_migrate(rm_object *obj, rm_object *old_cls, rm_object *plan) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    rm_type *n = obj->ob_type, *o = (rm_type *)old_cls;
    size_t nnew = rm_tuple_size(plan), k = inst->ob_aux;
    rm_object *values = rm_tuple_new(nnew);
    rm_object *undo = values ? rm_tuple_new(k + 2) : NULL;
    if (!undo) return NULL;
    for (size_t i = 0; i < nnew; i++) {
        int64_t from = rm_int_value(rm_tuple_get(plan, i));
        rm_object *v = from >= 0 ? old_field(inst, o, from) : NULL;
        rm_tuple_set(values, i, v ? v : rm_tuple_get(n->cls_defaults, i));
    }
    /* Fields that no longer fit inline go to a new dict; the old dict is
       kept as it was, for the undo. */
    rm_object *dict = inst->dict;
    if (nnew > k) {
        dict = inst->dict ? rm_dict_copy(inst->dict) : rm_dict_new();
        if (!dict) return NULL;
        for (size_t i = k; i < nnew; i++)
            if (rm_dict_set(dict, rm_tuple_get(n->cls_fields, i), rm_tuple_get(values, i)) < 0) return NULL;
    }
    rm_object *count = rm_int((int64_t)k);
    if (!count) return NULL;
    rm_tuple_set(undo, 0, count);
    rm_tuple_set(undo, 1, inst->dict ? inst->dict : rm_none);
    for (size_t i = 0; i < k; i++) rm_tuple_set(undo, i + 2, inst->slots[i]);
    /* Nothing can fail from here on. */
    size_t inline_count = nnew < k ? nnew : k;
    for (size_t i = 0; i < inline_count; i++) inst->slots[i] = rm_tuple_get(values, i);
    for (size_t i = inline_count; i < k; i++) inst->slots[i] = NULL;
    inst->ob_aux = (uint16_t)inline_count;
    inst->dict = dict;
    return undo;
}

/* Puts an instance back as rm_instance_migrate found it. */
void rm_instance_restore(rm_object *obj, rm_object *undo) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    size_t k = (size_t)rm_int_value(rm_tuple_get(undo, 0));
    rm_object *dict = rm_tuple_get(undo, 1);
    inst->dict = dict == rm_none ? NULL : dict;
    for (size_t i = 0; i < k; i++) inst->slots[i] = rm_tuple_get(undo, i + 2);
    inst->ob_aux = (uint16_t)k;
}

/* The field names of `a` that `b` lacks, as a tuple. */
rm_object *rm_fields_missing(rm_object *a, rm_object *b) {
    rm_type *x = (rm_type *)a, *y = (rm_type *)b;
    rm_object *names = rm_list_new(0);
    if (!names) return NULL;
    for (size_t i = 0; i < rm_tuple_size(x->cls_fields); i++) {
        rm_object *f = rm_tuple_get(x->cls_fields, i);
        if (!rm_dict_get(y->cls_index, f) && rm_list_append(names, f) < 0) return NULL;
    }
    return rm_tuple_of(rm_list_size(names), ((rm_list_object *)names)->items);
}

/* ---- Code liveness ---- */

typedef struct code_search {
    const uintptr_t *ranges; /* lo0, hi0, lo1, hi1, ... */
    size_t nranges;
    size_t *counts;
} code_search;

static void count_pointer(code_search *s, const void *fn) {
    uintptr_t p = (uintptr_t)fn;
    if (!p) return;
    for (size_t i = 0; i < s->nranges; i++)
        if (p >= s->ranges[2 * i] && p < s->ranges[2 * i + 1]) s->counts[i]++;
}

/* A function object runs the code its pointer designates; an object of a
   user C type runs its type's procedures. */
static int code_in_use(rm_object *o, void *arg) {
    code_search *s = arg;
    if (RM_IS(o, rm_function_type)) {
        count_pointer(s, (const void *)((rm_function_object *)o)->fn);
    } else if (o->ob_type->tp_flags & RM_TYPE_USER) {
        rm_type *t = o->ob_type;
        count_pointer(s, (const void *)t->tp_traverse);
        count_pointer(s, (const void *)t->tp_hash);
        count_pointer(s, (const void *)t->tp_equal);
        count_pointer(s, (const void *)t->tp_call);
        count_pointer(s, (const void *)t->tp_finalize);
    } else if (RM_IS(o, rm_capsule_type)) {
        count_pointer(s, (const void *)((rm_capsule_object *)o)->finalizer);
    }
    return 0;
}

/*
** For each of `n` code ranges [lo, hi), counts the objects on the heap that
** may run code inside it: one walk for all ranges. A library can be unmapped
** when its count is 0. Dead objects not yet pruned count too, so the answer
** errs on the side of keeping a library open.
*/
void rm_code_in_use(const uintptr_t *ranges, size_t n, size_t *counts) {
    memset(counts, 0, n * sizeof *counts);
    code_search s = {ranges, n, counts};
    if (n) rm_heap_each(code_in_use, &s);
}
