/*
** collide.c: module "collide", whose reload makes two dict keys equal.
**   v1: classes Circle and Round, and the kept state `labels`, a dict keyed
**       by them: {Circle: "circle", Round: "round"}, Circle inserted first.
**   v2: one class Circle, also bound as Round: the remap maps both old
**       classes to it, so the two keys of `labels` become one (a collision
**       the reload's --on-collision policy resolves).
** label() is labels[Circle]; size() the number of entries.
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *labels_of(rm_object *fn, rm_object **circle) {
    rm_object *ns = rm_module_dict(rm_function_module(fn));
    *circle = rm_dict_get_str(ns, "Circle");
    return rm_dict_get_str(ns, "labels");
}

static rm_object *label(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *circle, *labels = labels_of(self, &circle);
    return labels && circle ? rm_dict_get(labels, circle) : NULL;
}

static rm_object *size(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *circle, *labels = labels_of(self, &circle);
    return labels ? rm_int((int64_t)rm_dict_size(labels)) : NULL;
}

int rm_module_init(rm_module *m) {
    rm_object *circle = rm_def_class(m, "Circle", NULL);
    if (!circle) return -1;
#if VERSION == 1
    rm_object *round = rm_def_class(m, "Round", NULL);
#else
    rm_object *round = circle;
    /* A class binding, not a value: values are rebound by name, classes
       remapped by identity, so old Round becomes Circle in every slot. */
    if (rm_def_object(m, "Round", circle, RM_DEF_CLASS) < 0) return -1;
#endif
    rm_object *labels = rm_dict_new();
    if (!round || !labels) return -1;
#if VERSION == 1
    if (rm_dict_set(labels, circle, rm_str("circle")) < 0 || rm_dict_set(labels, round, rm_str("round")) < 0)
        return -1;
#endif
    /* Version 2's initial value is never used (the state is kept) and stays
       empty: a dict made during a reload and keyed by its new classes is
       left, after a refused reload, with hashes the rollback took back; it
       is garbage, but rm_heap_check would still walk it until collected. */
    if (!rm_def_state(m, "labels", labels)) return -1;
    if (!rm_def_function(m, "label", label, 0) || !rm_def_function(m, "size", size, 0)) return -1;
    return 0;
}
