/*
** args: every letter of rm_args_parse, for ArgsParseTests (issue 20, bug 7:
** a module read its arguments unchecked, and a str or a float passed for
** an int crashed the host).
**
** scale(n, [factor]): "i|d", variadic: (n, factor), factor 0.5 by default.
** every(n, x, flag, text, any, list): "idbsOO!" with &rm_list_type:
**     the tuple of what was read (text as a new str).
** named(n): "i:renamed", the name messages give is "renamed".
** only_points(p): "O!" with the class Point: p's x.
** bad_format(): a format with an unknown letter.
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *scale(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    double factor = 0.5;
    if (rm_args_parse(args, nargs, "i|d", &n, &factor) < 0) return NULL;
    rm_object *items[2] = {rm_int(n), rm_float(factor)};
    return rm_tuple_of(2, items);
}

static rm_object *every(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    double x;
    bool flag;
    const char *text;
    rm_object *any, *list;
    if (rm_args_parse(args, nargs, "idbsOO!", &n, &x, &flag, &text, &any, &rm_list_type, &list) < 0) return NULL;
    rm_object *items[6] = {rm_int(n), rm_float(x), rm_bool(flag), rm_str(text), any, list};
    return rm_tuple_of(6, items);
}

static rm_object *named(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    return rm_args_parse(args, nargs, "i:renamed", &n) < 0 ? NULL : rm_int(n);
}

static rm_object *only_points(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Point"), *p;
    if (rm_args_parse(args, nargs, "O!", (rm_type *)cls, &p) < 0) return NULL;
    return rm_getattr(p, "x");
}

static rm_object *bad_format(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    return rm_args_parse(args, nargs, "q", &n) < 0 ? NULL : rm_int(n);
}

int rm_module_init(rm_builder *b) {
    rm_object *point = rm_def_class(b, "Point", NULL);
    if (!point || rm_def_field(point, "x", rm_int(0)) < 0) return -1;
    if (!rm_def_class(b, "Point3", point)) return -1;
    if (!rm_def_function(b, "scale", scale, -1) || !rm_def_function(b, "every", every, -1)) return -1;
    if (!rm_def_function(b, "named", named, -1) || !rm_def_function(b, "only_points", only_points, 1)) return -1;
    return rm_def_function(b, "bad_format", bad_format, -1) ? 0 : -1;
}
