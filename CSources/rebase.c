/*
** rebase.c: re-resolving inheritance after a reload.
**
** A class copies its base's fields (and defaults) when it is created, so a
** subclass whose base a reload replaces would keep the old base's layout:
** no new fields, stale defaults. Such a class, wherever it is defined
** (often in a module that is not reloaded), is replaced too, by a copy on
** the new base: the reload's mapping gets old subclass -> copy, so its
** instances migrate and find the new base's methods and hooks like the
** reloaded classes' own instances do.
*/
#include "mapping.h"
#include "struct.h"

/*
** A copy of `c` on `new_base`: same name, module and attributes; fields are
** the new base's, then c's own ones (those its old base lacks), with c's
** defaults; an inherited field whose default c overrode keeps c's default.
** Own and inherited fields are told apart by name, not by position: a base
** that gained a field after c was made has more fields than c inherited.
** Returns the copy or NULL with the error set.
*/
static rm_object *rebase(rm_type *c, rm_object *new_base) {
    rm_type *old_base = (rm_type *)c->cls_base;
    rm_object *copy = c->cls_struct ? rm_struct_rebase(c, new_base)
                                    : rm_class_new(rm_str_cstr(c->cls_name), new_base, c->cls_module);
    if (!copy) return NULL;
    rm_type *n = (rm_type *)copy;
    size_t pos = 0;
    rm_object *key, *value;
    while (rm_dict_next(c->cls_dict, &pos, &key, &value))
        if (rm_dict_set(n->cls_dict, key, value) < 0) return NULL;
    for (size_t i = 0; !c->cls_struct && i < rm_tuple_size(c->cls_fields); i++) {
        rm_object *name = rm_tuple_get(c->cls_fields, i), *def = rm_tuple_get(c->cls_defaults, i);
        rm_object *at = rm_dict_get(old_base->cls_index, name);
        if (at && def == rm_tuple_get(old_base->cls_defaults, (size_t)rm_int_value(at))) continue;
        if (rm_class_add_field(copy, rm_str_cstr(name), def) < 0) return NULL;
    }
    /* An own __call__ set c's call; otherwise it was inherited. */
    if (c->tp_call != old_base->tp_call) n->tp_call = c->tp_call;
    return copy;
}

/* One pass over the classes: rebases those whose base is mapped and that
   are not mapped themselves. Returns how many it added, or -1. */
static long rebase_pass(rm_mapping *m, rm_object *pairs) {
    long added = 0;
    size_t count = rm_classes.count; /* classes made by this pass come after */
    for (size_t i = 0; i < count; i++) {
        rm_type *c = (rm_type *)RM_REVEAL(rm_classes.items[i]);
        if (!c->cls_base || (c->ob_flags & RM_FLAG_REPLACED) || rm_mapping_lookup(m, (rm_object *)c)) continue;
        rm_object *new_base = rm_mapping_lookup(m, c->cls_base);
        if (!new_base || !rm_is_class(new_base)) continue;
        rm_object *copy = rebase(c, new_base);
        if (!copy || rm_mapping_add(m, (rm_object *)c, copy) < 0 || rm_list_append(pairs, (rm_object *)c) < 0 ||
            rm_list_append(pairs, copy) < 0)
            return -1;
        added++;
    }
    return added;
}

/* Passes until none adds a class: each reaches one level further down the
   inheritance tree, so base classes are rebased before their subclasses.
   Collections wait meanwhile: one would compact the class registry under
   the loop (the copies allocate). */
rm_object *rm_mapping_add_subclasses(rm_mapping *m) {
    rm_object *pairs = rm_list_new(0);
    if (!pairs || rm_fault_at(RM_FAULT_DEPENDENTS)) return NULL;
    long added;
    GC_disable();
    do {
        added = rebase_pass(m, pairs);
    } while (added > 0);
    GC_enable();
    return added < 0 ? NULL : pairs;
}
