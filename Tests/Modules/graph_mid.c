/*
** graph_mid.c: module "gmid" of the fault-injection graph. Imports
** gbase.Shape and gbase.version, so a reload of gbase cascades here.
** Square(Shape) adds field side = 1; area() = side*side (+ VERSION - 1);
** call_version() calls the imported version(). v2 adds fields tag = "sq"
** and kind (an initializer: old side * 10) before side: old instances have
** no room for them and are moved.
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *square_area(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t s;
    if (rm_int_check(rm_getattr(self, "side"), &s) < 0) return NULL;
    return rm_int(s * s + VERSION - 1);
}

static rm_object *call_version(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *version = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "version");
    return version ? rm_call(version, NULL, 0) : NULL;
}

#if VERSION > 1
static rm_object *kind_from_side(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *old;
    int64_t side;
    if (rm_args_parse(args, nargs, "O", &old) < 0 || rm_int_check(rm_getattr(old, "side"), &side) < 0) return NULL;
    return rm_int(side * 10);
}
#endif

int rm_module_init(rm_builder *m) {
    rm_object *shape = rm_import_from(m, "gbase", "Shape");
    if (!shape || !rm_import_from(m, "gbase", "version")) return -1;
    rm_object *square = rm_def_class(m, "Square", shape);
    if (!square) return -1;
#if VERSION > 1
    if (rm_def_field(square, "tag", rm_str("sq")) < 0 || rm_def_field(square, "kind", rm_int(0)) < 0 ||
        rm_def_field_init(square, "kind", kind_from_side) < 0)
        return -1;
#endif
    if (rm_def_field(square, "side", rm_int(1)) < 0 || rm_def_method(square, "area", square_area, 0) < 0) return -1;
    return rm_def_function(m, "call_version", call_version, 0) ? 0 : -1;
}
