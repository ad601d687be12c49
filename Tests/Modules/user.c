/*
** user: imports shapes.version and calls it through its own binding.
**
** Every version is the same: call_version() calls the `version` bound in
** this module's namespace (by rm_import_from of shapes.version).
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *call_version(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *f = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "version");
    return f ? rm_call(f, NULL, 0) : NULL;
}

int rm_module_init(rm_builder *m) {
    if (!rm_import_from(m, "shapes", "version")) return -1;
    if (!rm_def_function(m, "call_version", call_version, 0)) return -1;
    return 0;
}
