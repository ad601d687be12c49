/*
** capsule.c: opaque native pointers with a finalizer, and weak references.
** Both are settled at the end of each mark phase (heap.c, prune).
*/
#include "internal.h"

rm_type rm_capsule_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "capsule",
    .tp_basicsize = sizeof(rm_capsule_object),
    .tp_flags = RM_TYPE_ATOMIC, /* its pointer is native memory */
    .tp_layout = RM_LAYOUT_LEAF,
};

rm_object *rm_capsule_new(void *pointer, const char *name, void (*finalizer)(void *)) {
    if (finalizer && rm_capsule_track() < 0) return NULL;
    rm_capsule_object *c = (rm_capsule_object *)rm_alloc(&rm_capsule_type, sizeof *c);
    if (!c) return NULL;
    rm_library_note((const void *)finalizer);
    rm_library_note(name);
    c->pointer = pointer;
    c->name = name;
    c->finalizer = finalizer;
    return (rm_object *)c;
}

void *rm_capsule_pointer(rm_object *c) {
    RM_DEBUG_EXPECT(RM_IS(c, rm_capsule_type), c, "rm_capsule_pointer", "a capsule");
    return ((rm_capsule_object *)c)->pointer;
}

/* ---- weak reference ----
** The target is stored hidden so Boehm does not count it. The remap walk
** rewrites it like a slot (RM_LAYOUT_WEAKREF), so it has no traverse:
** marking, referrer search and the checker must not see it as strong. */
rm_type rm_weakref_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "weakref",
    .tp_basicsize = sizeof(rm_weakref_object),
    .tp_layout = RM_LAYOUT_WEAKREF,
};

rm_object *rm_weakref_new(rm_object *target) {
    rm_weakref_object *w = (rm_weakref_object *)rm_alloc(&rm_weakref_type, sizeof *w);
    if (!w) return NULL;
    w->hidden = RM_HIDE(target);
    /* A target Boehm does not manage (None, a static type) never dies. */
    w->ob_aux = !rm_is_heap_object(target);
    return (rm_object *)w;
}

rm_object *rm_weakref_get(rm_object *w) {
    uintptr_t h = ((rm_weakref_object *)w)->hidden;
    return h ? RM_REVEAL(h) : NULL;
}
