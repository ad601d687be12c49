/*
** migrate.c: moving an instance from its old class's field layout to the
** new class's, after a reload replaced the class, and running the class's
** __reload__ hook on each.
**
** A plan maps each field of the new class to the slot of the same field in
** the old class, or to "take the default". Migration builds the new slot
** values first, then writes them; fields past the instance's slot count go
** to a copy of its attribute dict. Each instance is journaled before it is
** written (txn.c): a rollback puts it back exactly.
*/
#include "mapping.h"

/* The plan as a tuple of ints (old slot, or -1), or None if both classes
   have the same fields in the same order (nothing to move). */
static rm_object *migration_plan(rm_object *old_cls, rm_object *new_cls) {
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
** Moves `inst` (whose class slot already holds the new class) from
** old_cls's layout to its class's, following `plan`. The new values and
** dict are built first; the instance is journaled before it is written, so
** a rollback puts it back. Returns 0, or -1 with the error set and the
** instance unchanged.
*/
static int migrate_one(rm_object *obj, rm_object *old_cls, rm_object *plan) {
    if (rm_fault_at(RM_FAULT_MIGRATE)) return -1;
    rm_instance_object *inst = (rm_instance_object *)obj;
    rm_type *n = obj->ob_type, *o = (rm_type *)old_cls;
    size_t nnew = rm_tuple_size(plan), k = inst->ob_aux;
    rm_object *values = rm_tuple_new(nnew);
    if (!values) return -1;
    for (size_t i = 0; i < nnew; i++) {
        int64_t from = rm_int_value(rm_tuple_get(plan, i));
        rm_object *v = from >= 0 ? old_field(inst, o, from) : NULL;
        rm_tuple_set(values, i, v ? v : rm_tuple_get(n->cls_defaults, i));
    }
    /* Fields that no longer fit inline go to a new dict; the old dict is
       left as it was. */
    rm_object *dict = inst->dict;
    if (nnew > k) {
        dict = inst->dict ? rm_dict_copy(inst->dict) : rm_dict_new();
        if (!dict) return -1;
        for (size_t i = k; i < nnew; i++)
            if (rm_dict_set(dict, rm_tuple_get(n->cls_fields, i), rm_tuple_get(values, i)) < 0) return -1;
    }
    if (rm_journal(obj) < 0) return -1;
    /* Nothing can fail from here on. */
    size_t inline_count = nnew < k ? nnew : k;
    for (size_t i = 0; i < inline_count; i++) inst->slots[i] = rm_tuple_get(values, i);
    for (size_t i = inline_count; i < k; i++) inst->slots[i] = NULL;
    inst->ob_aux = (uint16_t)inline_count;
    inst->dict = dict;
    return 0;
}

/* The field names of `a` that `b` lacks, as a tuple. */
static rm_object *fields_missing(rm_object *a, rm_object *b) {
    rm_type *x = (rm_type *)a, *y = (rm_type *)b;
    rm_object *names = rm_list_new(0);
    if (!names) return NULL;
    for (size_t i = 0; i < rm_tuple_size(x->cls_fields); i++) {
        rm_object *f = rm_tuple_get(x->cls_fields, i);
        if (!rm_dict_get(y->cls_index, f) && rm_list_append(names, f) < 0) return NULL;
    }
    return rm_tuple_of(rm_list_size(names), ((rm_list_object *)names)->items);
}

/* What one replaced class needs for its instances. A GC block: the
   objects in it stay alive while a stack local points at it. */
typedef struct class_work {
    rm_object *old_cls;
    rm_object *plan; /* NULL: same fields */
    rm_object *hook; /* the new class's __reload__, or NULL */
    rm_object *args[2];
    size_t nargs;
} class_work;

/*
** Prepares one pair: the plan, the hook and its arguments. A new class
** that two old classes map to must find the same fields in both, since
** after the walk an instance no longer says which one it had.
*/
static int prepare_class(class_work *w, rm_object *old_cls, rm_object *new_cls, rm_object *hook_name) {
    w->old_cls = old_cls;
    rm_object *plan = migration_plan(old_cls, new_cls);
    if (!plan) return -1;
    w->plan = rm_is_none(plan) ? NULL : plan;
    rm_object *hook = rm_class_lookup(new_cls, hook_name);
    w->hook = hook && rm_is_function(hook) ? hook : NULL;
    if (w->hook && rm_function_arity(w->hook) == 2) {
        if (!(w->args[0] = fields_missing(new_cls, old_cls)) || !(w->args[1] = fields_missing(old_cls, new_cls)))
            return -1;
        w->nargs = 2;
    }
    return 0;
}

int rm_migrate_instances(const rm_remap_report *report, rm_object *const *olds, rm_object *const *news, size_t n,
                         rm_migration *result) {
    memset(result, 0, sizeof *result);
    rm_object *hook_name = rm_str("__reload__");
    class_work *work = hook_name ? rm_gc_alloc((n ? n : 1) * sizeof *work) : NULL;
    rm_probe by_class = {.lo = UINTPTR_MAX};
    if (!work || rm_probe_init(&by_class, n) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory preparing instance migration");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rm_object *seen = rm_probe_get(&by_class, news[i]);
        if (seen) {
            rm_type *a = (rm_type *)work[(uintptr_t)seen - 1].old_cls, *b = (rm_type *)olds[i];
            if (rm_equal(a->cls_fields, b->cls_fields) != 1) {
                rm_error_set(RM_ERR_RELOAD, "classes %s and %s both become %s but have different fields",
                             rm_type_name(a), rm_type_name(b), rm_type_name((rm_type *)news[i]));
                result->failed_pair = i;
                rc = -1;
            }
            continue;
        }
        if (prepare_class(&work[i], olds[i], news[i], hook_name) < 0) {
            result->failed_pair = i;
            rc = -1;
            break;
        }
        if (work[i].plan || work[i].hook) rm_probe_put(&by_class, news[i], (rm_object *)(uintptr_t)(i + 1));
    }
    for (size_t j = 0; rc == 0 && by_class.count && j < report->ninstances; j++) {
        rm_object *inst = report->instances[j];
        rm_object *found = rm_probe_get(&by_class, (rm_object *)inst->ob_type);
        if (!found) continue;
        size_t i = (uintptr_t)found - 1;
        class_work *w = &work[i];
        result->failed_pair = i;
        result->failed_instance = j;
        if (w->plan) {
            if (migrate_one(inst, w->old_cls, w->plan) < 0) { rc = -1; break; }
            result->migrated++;
        }
        if (w->hook) {
            if (rm_fault_at(RM_FAULT_CLASS_HOOK) || !rm_function_invoke(w->hook, inst, w->args, w->nargs)) {
                rc = -1;
                break;
            }
            result->hooks_run++;
        }
    }
    rm_probe_free(&by_class);
    return rc;
}

