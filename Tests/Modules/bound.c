/*
** bound: bound methods as the keys of a kept set of callbacks
** (BoundMethodTests; issue 20, bug 11: `a.hello` twice gave two keys, and
** across a reload the set did not find the new bound method).
**
** v1: Base.hello() returns "base 1"; Sub(Base) overrides it: "sub 1".
** v2 (any VERSION other than 1): Base.hello() returns "base N"; Sub no
**     longer defines hello and inherits Base's, so a reload replaces both
**     old functions with the new Base.hello.
** Every version: make() returns a new Sub; state `callbacks` (a set);
** register(callback) adds it to the set and returns the set's size.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#define STR_(x) #x
#define STR(x) STR_(x)

static rm_object *base_hello(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str("base " STR(VERSION));
}

#if VERSION == 1
static rm_object *sub_hello(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str("sub " STR(VERSION));
}
#endif

static rm_object *namespace_of(rm_object *fn) { return rm_module_dict(rm_function_module(fn)); }

static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_instance_new(rm_dict_get_str(namespace_of(self), "Sub"), NULL, 0);
}

static rm_object *register_callback(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *callback;
    if (rm_args_parse(args, nargs, "O", &callback) < 0) return NULL;
    rm_object *callbacks = rm_dict_get_str(namespace_of(self), "callbacks");
    if (rm_set_add(callbacks, callback) < 0) return NULL;
    return rm_int((int64_t)rm_set_size(callbacks));
}

int rm_module_init(rm_builder *b) {
    rm_object *base = rm_def_class(b, "Base", NULL);
    if (!base || rm_def_method(base, "hello", base_hello, 0) < 0) return -1;
    rm_object *sub = rm_def_class(b, "Sub", base);
    if (!sub) return -1;
#if VERSION == 1
    if (rm_def_method(sub, "hello", sub_hello, 0) < 0) return -1;
#endif
    if (!rm_def_state(b, "callbacks", rm_set_new())) return -1;
    if (!rm_def_function(b, "make", make, 0)) return -1;
    return rm_def_function(b, "register", register_callback, 1) ? 0 : -1;
}
