/*
** leafmod: classes derived at run time from a class it is handed, without
** importing the module that defines it (so reloading that module does not
** cascade here).
**
** define(cls): makes Circle(cls) with an own field r (default 5).
** define_sub(cls): makes Dot(cls) with an own field d (default 3).
** Both are kept in the state `classes` (a dict: name -> class) and
** returned; make() and make_dot() instantiate them.
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *classes_of(rm_object *self) {
    return rm_dict_get_str(rm_module_dict(rm_function_module(self)), "classes");
}

static rm_object *derive(rm_object *self, rm_object *base, const char *name, const char *field, int64_t def) {
    rm_object *cls = rm_class_new(name, base, rm_function_module(self));
    if (!cls || rm_class_add_field(cls, field, rm_int(def)) < 0) return NULL;
    if (rm_dict_set_str(classes_of(self), name, cls) < 0) return NULL;
    return cls;
}

static rm_object *define(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *base;
    return rm_args_parse(args, nargs, "O!", &rm_class_type, &base) < 0 ? NULL : derive(self, base, "Circle", "r", 5);
}

static rm_object *define_sub(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *base;
    return rm_args_parse(args, nargs, "O!", &rm_class_type, &base) < 0 ? NULL : derive(self, base, "Dot", "d", 3);
}

static rm_object *make_named(rm_object *self, const char *name) {
    rm_object *cls = rm_dict_get_str(classes_of(self), name);
    if (!cls) {
        rm_error_set(RM_ERR_KEY, "leafmod: %s is not defined yet", name);
        return NULL;
    }
    return rm_instance_new(cls, NULL, 0);
}

static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) { return make_named(self, "Circle"); }
static rm_object *make_dot(rm_object *self, rm_object *const *args, size_t nargs) { return make_named(self, "Dot"); }

int rm_module_init(rm_builder *m) {
    if (!rm_def_state(m, "classes", rm_dict_new())) return -1;
    if (!rm_def_function(m, "define", define, 1)) return -1;
    if (!rm_def_function(m, "define_sub", define_sub, 1)) return -1;
    if (!rm_def_function(m, "make", make, 0)) return -1;
    if (!rm_def_function(m, "make_dot", make_dot, 0)) return -1;
    return 0;
}
