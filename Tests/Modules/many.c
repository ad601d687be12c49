/*
** many: many definitions whose answers carry the version.
**
** FUNCTIONS functions f0, f1, ... (default 40) and then CLASSES classes
** C0, C1, ... (default 10), each with a field x (default 0) and a method
** get(); every function and method returns VERSION. With the defaults:
** 50 definitions.
*/
#include <remap/module.h>
#include <stdio.h>
RM_MODULE_ABI;

#ifndef FUNCTIONS
#define FUNCTIONS 40
#endif
#ifndef CLASSES
#define CLASSES 10
#endif

static rm_object *answer(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }
int rm_module_init(rm_builder *m) {
    char name[32];
    for (int i = 0; i < FUNCTIONS; i++) {
        snprintf(name, sizeof name, "f%d", i);
        if (!rm_def_function(m, name, answer, 0)) return -1;
    }
    for (int i = 0; i < CLASSES; i++) {
        snprintf(name, sizeof name, "C%d", i);
        rm_object *c = rm_def_class(m, name, NULL);
        if (!c || rm_def_field(c, "x", rm_int(0)) < 0 || rm_def_method(c, "get", answer, 0) < 0) return -1;
    }
    return 0;
}
