/*
** module.c: modules: a name, a namespace dict and a generation number.
*/
#include "internal.h"

#include <stddef.h>

/* References: name, dict. */
static int module_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_module_obj *m = (rm_module_obj *)self;
    RM_VISIT(&m->name);
    RM_VISIT(&m->dict);
    return 0;
}

rm_type rm_module_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "module",
    .tp_basicsize = sizeof(rm_module_obj),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 2,
    .tp_fixed = {offsetof(rm_module_obj, name), offsetof(rm_module_obj, dict)},
    .tp_traverse = module_traverse,
};

rm_object *rm_module_new(const char *name) {
    rm_object *n = rm_str(name);
    rm_object *d = n ? rm_dict_new() : NULL;
    if (!d) return NULL;
    rm_module_obj *m = (rm_module_obj *)rm_alloc(&rm_module_type, sizeof *m);
    if (!m) return NULL;
    m->name = n;
    m->dict = d;
    m->generation = 1;
    if (rm_dict_set_str(d, "__name__", n) < 0) return NULL;
    return (rm_object *)m;
}

rm_object *rm_module_name(rm_object *m) {
    RM_DEBUG_EXPECT(RM_IS(m, rm_module_type), m, "rm_module_name", "a module");
    return ((rm_module_obj *)m)->name;
}
rm_object *rm_module_dict(rm_object *m) {
    RM_DEBUG_EXPECT(RM_IS(m, rm_module_type), m, "rm_module_dict", "a module");
    return ((rm_module_obj *)m)->dict;
}
int64_t rm_module_generation(rm_object *m) { return ((rm_module_obj *)m)->generation; }
void rm_module_set_generation(rm_object *m, int64_t g) {
    if (rm_journal(m) == 0) ((rm_module_obj *)m)->generation = g;
}
