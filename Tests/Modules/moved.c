/*
** moved: a method that moves from a subclass into its base class.
**
** v1: Base has no m (with -DBOTH: Base.m returns 10); Sub(Base).m returns 1.
** v2: Base.m returns 2 (with -DBOTH: 20); Sub defines no m and inherits it.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#ifndef BOTH
#define BOTH 0
#endif

#if VERSION == 1

static rm_object *base_m(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(10); }
static rm_object *sub_m(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(1); }

int rm_module_init(rm_builder *m) {
    rm_object *base = rm_def_class(m, "Base", NULL);
    if (!base) return -1;
    if (BOTH && rm_def_method(base, "m", base_m, 0) < 0) return -1;
    rm_object *sub = rm_def_class(m, "Sub", base);
    if (!sub || rm_def_method(sub, "m", sub_m, 0) < 0) return -1;
    return 0;
}

#else

static rm_object *base_m(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(BOTH ? 20 : 2); }

int rm_module_init(rm_builder *m) {
    rm_object *base = rm_def_class(m, "Base", NULL);
    if (!base || rm_def_method(base, "m", base_m, 0) < 0) return -1;
    if (!rm_def_class(m, "Sub", base)) return -1;
    return 0;
}

#endif
