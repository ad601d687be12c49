/*
** graph_leaf.c: module "gleaf" of the fault-injection graph, never
** reloaded and importing nothing: define(cls) creates, at run time, class
** Circle(cls) with its own field r = 3 and keeps it in state `classes`;
** make(x) makes a Circle with x set. A reload of cls's module must rebase
** Circle (new fields, new hook) although gleaf is not reloaded.
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *classes_of(rm_object *self) {
    return rm_dict_get_str(rm_module_dict(rm_function_module(self)), "classes");
}

static rm_object *define(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *classes = classes_of(self), *base;
    if (rm_args_parse(args, nargs, "O!", &rm_class_type, &base) < 0) return NULL;
    rm_object *circle = classes ? rm_class_new("Circle", base, rm_function_module(self)) : NULL;
    if (!circle || rm_class_add_field(circle, "r", rm_int(3)) < 0 || rm_list_append(classes, circle) < 0) return NULL;
    return circle;
}

static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *classes = classes_of(self), *x;
    if (rm_args_parse(args, nargs, "O", &x) < 0) return NULL;
    if (!classes || rm_list_size(classes) == 0) {
        rm_error_set(RM_ERR_VALUE, "call define first");
        return NULL;
    }
    rm_object *inst = rm_instance_new(rm_list_get(classes, 0), NULL, 0);
    return inst && rm_setattr(inst, "x", x) == 0 ? inst : NULL;
}

int rm_module_init(rm_builder *m) {
    if (!rm_def_state(m, "classes", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "define", define, 1) || !rm_def_function(m, "make", make, 1)) return -1;
    return 0;
}
