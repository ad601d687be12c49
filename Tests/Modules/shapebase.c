/*
** shapebase: a base class that other modules derive from at run time.
**
** v1: Shape with field x (default 1).
** v2: Shape with fields x (default 1) and y (default 7), and a class
**     __reload__(self) that sets x to x + 100 on each old instance.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#if VERSION != 1
static rm_object *shape_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *x = rm_getattr(self, "x");
    if (!x) return NULL;
    int64_t v;
    if (rm_int_check(x, &v) < 0) return NULL;
    rm_object *nx = rm_int(v + 100);
    if (!nx || rm_setattr(self, "x", nx) < 0) return NULL;
    return rm_get_none();
}
#endif

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

int rm_module_init(rm_builder *m) {
    rm_object *shape = rm_def_class(m, "Shape", NULL);
    if (!shape || rm_def_field(shape, "x", rm_int(1)) < 0) return -1;
#if VERSION != 1
    if (rm_def_field(shape, "y", rm_int(7)) < 0) return -1;
    if (rm_def_method(shape, "__reload__", shape_reload, 0) < 0) return -1;
#endif
    if (!rm_def_function(m, "version", version, 0)) return -1;
    return 0;
}
