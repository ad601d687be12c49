/*
** gen: a() and b() return the version; pair() calls both through the
** namespace with work in between, so a reload in the middle of a call
** would show two different answers. Every version is the same but for
** the number a() and b() return (VERSION).
*/
#include <remap/module.h>
RM_MODULE_ABI;
static rm_object *a(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }
static rm_object *b(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }
static rm_object *pair(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *ns = rm_module_dict(rm_function_module(self));
    rm_object *first = rm_call(rm_dict_get_str(ns, "a"), NULL, 0);
    rm_object *junk = rm_list_new(0);
    for (int i = 0; junk && i < 200; i++) rm_list_append(junk, rm_int(i));
    rm_object *second = rm_call(rm_dict_get_str(ns, "b"), NULL, 0);
    if (!first || !second) return NULL;
    rm_object *items[2] = {first, second};
    return rm_tuple_of(2, items);
}
int rm_module_init(rm_builder *m) {
    if (!rm_def_function(m, "a", a, 0) || !rm_def_function(m, "b", b, 0)) return -1;
    return rm_def_function(m, "pair", pair, 0) ? 0 : -1;
}
