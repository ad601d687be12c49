/*
** churn: a module reloaded over and over, whose old libraries must be
** unloaded.
**
** v1, v2: version() returns the version; make_capsule() makes a capsule
**     whose finalizer (code in this library) appends the version to the
**     state `finalized`, and drops it.
** v3: rm_module_init defines a few functions, then fails. With -DLEAK=1 it
**     first keeps one of its functions, churn.leaked, in a handle (a root
**     that outlives the failed attempt); leaked() returns 33, and
**     leaked(True) also frees that handle.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#ifndef LEAK
#define LEAK 0
#endif

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

/* The capsule's pointer is a handle to the `finalized` list. */
static void capsule_done(void *pointer) {
    rm_handle h = pointer;
    rm_object *n = rm_int(VERSION);
    if (!n || rm_list_append(rm_handle_get(h), n) < 0) rm_error_clear();
    rm_handle_free(h);
}

static rm_object *make_capsule(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *finalized = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "finalized");
    rm_handle h = finalized ? rm_handle_new(finalized) : NULL;
    if (!h) return NULL;
    if (!rm_capsule_new(h, "churn.capsule", capsule_done)) {
        rm_handle_free(h);
        return NULL;
    }
    return rm_get_none();
}

#if VERSION == 3
static rm_handle leaked_handle;

static rm_object *leaked(rm_object *self, rm_object *const *args, size_t nargs) {
    bool release = false;
    if (rm_args_parse(args, nargs, "|b", &release) < 0) return NULL;
    if (release && leaked_handle) {
        rm_handle_free(leaked_handle);
        leaked_handle = NULL;
    }
    return rm_int(33);
}
#endif

int rm_module_init(rm_builder *m) {
    if (!rm_def_state(m, "finalized", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "version", version, 0)) return -1;
    if (!rm_def_function(m, "make_capsule", make_capsule, 0)) return -1;
#if VERSION == 3
    if (LEAK) {
        rm_object *f = rm_def_function(m, "leaked", leaked, -1);
        if (!f || !(leaked_handle = rm_handle_new(f))) return -1;
    }
    rm_error_set(RM_ERR_VALUE, "init of churn v3 fails on purpose");
    return -1;
#else
    return 0;
#endif
}
