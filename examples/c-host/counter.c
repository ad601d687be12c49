/* The module the C host loads. VERSION is set by the Makefile's build. */
#include <remap/module.h>
RM_MODULE_ABI;

#ifndef STEP
#define STEP 1
#endif

static rm_object *bump(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *box = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "count");
    int64_t n;
    if (rm_int_check(rm_list_get(box, 0), &n) < 0) return NULL; /* checked: a TypeError if not an int */
    n += STEP;
    return rm_list_set(box, 0, rm_int(n)) < 0 ? NULL : rm_int(n);
}

int rm_module_init(rm_builder *m) {
    rm_object *box = rm_list_new(1);
    if (!box || rm_list_append(box, rm_int(0)) < 0 || !rm_def_state(m, "count", box)) return -1;
    return rm_def_function(m, "bump", bump, 0) ? 0 : -1;
}
