/*
** shapes: a class Square, functions, a value and state, in two versions.
**
** v1: Square(side) with area = side*side; version() = 1; LIMIT = 10;
**     state `registry` (a list) and `reloads` (an int in a list);
**     old_only() (removed in v2); make(side).
** v2 (any VERSION other than 1): area = side*side*100; a new field `color`
**     (default "red"); a class __reload__ that counts the instances it sees;
**     version() = 2; LIMIT = 20; added(); a module __reload__ that counts
**     reloads. version() and LIMIT follow VERSION (VERSION, VERSION*10).
** Every version: hook_count() returns how many times the class hook ran.
**
** -DHOOK_FAILS_AT=n: the class hook fails on that call (1-based); 0 (the
**     default) never.
** -DMODULE_HOOK_FAILS=1: the v2 module __reload__ fails ("module hook says
**     no").
** -DINIT_FAILS=1: rm_module_init fails ("init of version N fails on
**     purpose").
*/
#include <remap/module.h>
RM_MODULE_ABI;

#ifndef HOOK_FAILS_AT
#define HOOK_FAILS_AT 0
#endif
#ifndef MODULE_HOOK_FAILS
#define MODULE_HOOK_FAILS 0
#endif
#ifndef INIT_FAILS
#define INIT_FAILS 0
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

static int64_t hook_calls;

static rm_object *area(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t s;
    if (rm_int_check(rm_getattr(self, "side"), &s) < 0) return NULL;
#if VERSION == 1
    return rm_int(s * s);
#else
    return rm_int(s * s * 100);
#endif
}

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_int(VERSION);
}

static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t side;
    if (rm_args_parse(args, nargs, "i", &side) < 0) return NULL;
    rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Square");
    rm_object *inst = rm_instance_new(cls, NULL, 0);
    if (!inst || rm_setattr(inst, "side", rm_int(side)) < 0) return NULL;
    return inst;
}

#if VERSION == 1
static rm_object *old_only(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str("old");
}
#else
static rm_object *added(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str("added");
}

/* Class hook: counts calls in a field of the instance and in a
   module-wide counter, and fails on call number HOOK_FAILS_AT. */
static rm_object *square_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    hook_calls++;
    if (HOOK_FAILS_AT > 0 && hook_calls == HOOK_FAILS_AT) {
        rm_error_set(RM_ERR_VALUE, "square hook refuses instance %lld", (long long)hook_calls);
        return NULL;
    }
    rm_object *seen = rm_getattr(self, "seen");
    if (!seen) rm_error_clear();
    int64_t n = seen && rm_is_int(seen) ? rm_int_value(seen) : 0;
    if (rm_setattr(self, "seen", rm_int(n + 1)) < 0) return NULL;
    return rm_get_none();
}
#endif

static rm_object *hook_count(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_int(hook_calls);
}

#if VERSION != 1
/* Module hook: carries a counter over from the old namespace. */
static rm_object *module_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    if (MODULE_HOOK_FAILS) {
        rm_error_set(RM_ERR_VALUE, "module hook says no");
        return NULL;
    }
    rm_object *old_namespace;
    if (rm_args_parse(args, nargs, "O!", &rm_dict_type, &old_namespace) < 0) return NULL;
    rm_object *old = rm_dict_get_str(old_namespace, "reloads");
    rm_object *ns = rm_module_dict(rm_function_module(self));
    rm_object *box = rm_dict_get_str(ns, "reloads");
    int64_t n;
    if (old && box && rm_is_list(old) && rm_list_size(box) == 1) {
        if (rm_int_check(rm_list_get(old, 0), &n) < 0 || rm_list_set(box, 0, rm_int(n + 1)) < 0) return NULL;
    }
    return rm_get_none();
}
#endif

int rm_module_init(rm_builder *m) {
    if (INIT_FAILS) {
        rm_error_set(RM_ERR_VALUE, "init of version " STR(VERSION) " fails on purpose");
        return -1;
    }
    rm_object *sq = rm_def_class(m, "Square", NULL);
    if (!sq || rm_def_field(sq, "side", rm_int(1)) < 0) return -1;
    if (rm_def_method(sq, "area", area, 0) < 0) return -1;
#if VERSION == 1
    if (!rm_def_function(m, "old_only", old_only, 0)) return -1;
#else
    if (rm_def_field(sq, "color", rm_str("red")) < 0) return -1;
    if (rm_def_method(sq, "__reload__", square_reload, 0) < 0) return -1;
    if (!rm_def_function(m, "added", added, 0)) return -1;
    if (!rm_def_function(m, "__reload__", module_reload, 1)) return -1;
#endif
    if (!rm_def_function(m, "version", version, 0)) return -1;
    if (!rm_def_function(m, "make", make, 1)) return -1;
    if (!rm_def_function(m, "hook_count", hook_count, 0)) return -1;
    if (rm_def_value(m, "LIMIT", rm_int(VERSION * 10)) < 0) return -1;
    if (!rm_def_state(m, "registry", rm_list_new(0))) return -1;
    rm_object *box = rm_list_new(1);
    if (!box || rm_list_append(box, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "reloads", box)) return -1;
    return 0;
}
