/*
** pauser: a module __reload__ hook that calls rm_safe_point while it runs.
**
** v1: version() and the state `hooks` (a list).
** v2: also a module __reload__ that appends the generation being built to
**     `hooks`, then calls rm_safe_point() 50 times, 2 ms apart.
*/
#include <remap/module.h>
#include <unistd.h>
RM_MODULE_ABI;

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

#if VERSION != 1
static rm_object *module_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *module = rm_function_module(self);
    rm_object *hooks = rm_dict_get_str(rm_module_dict(module), "hooks");
    rm_object *gen = rm_int(rm_module_generation(module));
    if (!hooks || !gen || rm_list_append(hooks, gen) < 0) return NULL;
    for (int i = 0; i < 50; i++) {
        rm_safe_point();
        usleep(2000);
    }
    return rm_get_none();
}
#endif

int rm_module_init(rm_builder *m) {
    if (!rm_def_state(m, "hooks", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "version", version, 0)) return -1;
#if VERSION != 1
    if (!rm_def_function(m, "__reload__", module_reload, 1)) return -1;
#endif
    return 0;
}
