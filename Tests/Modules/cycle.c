/*
** cycle: a module whose init imports another, for import cycles.
**
** -DSELF_NAME=x -DOTHER_NAME=y (both required): defines f_x (returns 1),
**     then imports f_y from module y. Build ping with SELF_NAME=ping,
**     OTHER_NAME=pong and pong the other way round for a cycle.
** Every version is the same.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#define STR_(x) #x
#define STR(x) STR_(x)

static rm_object *f(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(1); }
int rm_module_init(rm_builder *m) {
    if (!rm_def_function(m, "f_" STR(SELF_NAME), f, 0)) return -1;
    return rm_import_from(m, STR(OTHER_NAME), "f_" STR(OTHER_NAME)) ? 0 : -1;
}
