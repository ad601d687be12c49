/*
** hooked: reload hooks that a new version removes.
**
** v1: a module __reload__ hook and a class Thing whose __reload__ method
**     each add 1 to their counter in the state `counts` (a list of two
**     ints: [module hook calls, class hook calls]).
** v2: the same module without either hook.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#if VERSION == 1
/* Adds 1 to counts[i] in the namespace of the module of the function
   being called. */
static rm_object *bump(size_t i) {
    rm_object *ns = rm_module_dict(rm_function_module(rm_function_current()));
    rm_object *counts = rm_dict_get_str(ns, "counts");
    if (!counts) {
        rm_error_set(RM_ERR_KEY, "hooked: no counts");
        return NULL;
    }
    int64_t n;
    if (rm_int_check(rm_list_get(counts, i), &n) < 0 || rm_list_set(counts, i, rm_int(n + 1)) < 0) return NULL;
    return rm_get_none();
}

static rm_object *module_reload(rm_object *self, rm_object *const *args, size_t nargs) { return bump(0); }
static rm_object *thing_reload(rm_object *self, rm_object *const *args, size_t nargs) { return bump(1); }
#endif

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

int rm_module_init(rm_builder *m) {
    rm_object *counts = rm_list_new(2);
    if (!counts || rm_list_append(counts, rm_int(0)) < 0 || rm_list_append(counts, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "counts", counts)) return -1;
    rm_object *thing = rm_def_class(m, "Thing", NULL);
    if (!thing || rm_def_field(thing, "n", rm_int(0)) < 0) return -1;
    if (!rm_def_function(m, "version", version, 0)) return -1;
#if VERSION == 1
    if (rm_def_method(thing, "__reload__", thing_reload, 0) < 0) return -1;
    if (!rm_def_function(m, "__reload__", module_reload, 1)) return -1;
#endif
    return 0;
}
