/*
** old_names.c: module "old_names", written against the names the author API
** had before it settled on one vocabulary (docs/modules.md, "Old names").
** It must still compile, with a deprecation warning per old name, and
** behave as before (OldNamesTests).
**   make(x, y)  a Point through rm_new_instance (fields filled in order)
**   probe(p)    (rm_isinstance(p, Point), rm_is_class(Point), p.x + 1 set
**               through rm_getattr_obj / rm_setattr_obj)
**   described   "<name> generation <n>" from the builder's old accessors
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *point_class(rm_object *fn) {
    return rm_dict_get_str(rm_module_dict(rm_function_module(fn)), "Point");
}

static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_new_instance(point_class(self), args, nargs);
}

static rm_object *probe(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *cls = point_class(self), *name = rm_str("x"), *p;
    int64_t x;
    if (rm_args_parse(args, nargs, "O", &p) < 0) return NULL;
    if (!name || rm_int_check(rm_getattr_obj(p, name), &x) < 0 || rm_setattr_obj(p, name, rm_int(x + 1)) < 0)
        return NULL;
    int is = rm_isinstance(p, cls);
    int class_test = rm_is_class(cls);
    rm_object *items[3] = {rm_int(is), rm_int(class_test), rm_getattr_obj(p, name)};
    return rm_tuple_of(3, items);
}

int rm_module_init(rm_module *m) {
    rm_object *cls = rm_def_class(m, "Point", NULL);
    if (!cls || rm_def_field(cls, "x", rm_int(0)) < 0 || rm_def_field(cls, "y", rm_int(0)) < 0) return -1;
    if (!rm_def_function(m, "make", make, 2) || !rm_def_function(m, "probe", probe, 1)) return -1;
    rm_object *module = rm_module_object(m);
    if (!module || !rm_is_module(module)) return -1;
    return rm_def_value(m, "described", rm_str_format("%s generation %lld", rm_module_get_name(m),
                                                      (long long)rm_module_get_generation(m)));
}
