/*
** list.c: growable arrays. The items live in a separate GC block that grows
** by doubling; the old block is left to the collector.
*/
#include "internal.h"

/* References: items[0, size). */
static int list_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_list_object *l = (rm_list_object *)self;
    for (size_t i = 0; i < l->size; i++) RM_VISIT(&l->items[i]);
    return 0;
}

static uint32_t list_hash(rm_object *self, int *error) {
    rm_error_set(RM_ERR_TYPE, "unhashable type: 'list'");
    *error = 1;
    return 0;
}

static size_t list_size(rm_object *self) {
    return sizeof(rm_list_object) + ((rm_list_object *)self)->capacity * sizeof(rm_object *);
}

rm_type rm_list_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "list",
    .tp_basicsize = sizeof(rm_list_object),
    .tp_layout = RM_LAYOUT_LIST,
    .tp_traverse = list_traverse,
    .tp_hash = list_hash,
    .tp_size = list_size,
};

rm_object *rm_list_new(size_t capacity) {
    rm_list_object *l = (rm_list_object *)rm_alloc(&rm_list_type, sizeof *l);
    if (!l) return NULL;
    if (capacity) {
        if (!(l->items = rm_gc_alloc(capacity * sizeof(rm_object *)))) return NULL;
        l->capacity = capacity;
    }
    return (rm_object *)l;
}

size_t rm_list_size(rm_object *l) {
    RM_DEBUG_EXPECT(RM_IS(l, rm_list_type), l, "rm_list_size", "a list");
    return ((rm_list_object *)l)->size;
}

rm_object *rm_list_get(rm_object *l, size_t i) {
    RM_DEBUG_EXPECT(RM_IS(l, rm_list_type), l, "rm_list_get", "a list");
    rm_list_object *o = (rm_list_object *)l;
    if (i >= o->size) {
        rm_error_set(RM_ERR_INDEX, "list index %zu out of range (size %zu)", i, o->size);
        return NULL;
    }
    return o->items[i];
}

rm_object *const *rm_list_items(rm_object *l) { return ((rm_list_object *)l)->items; }

int rm_list_set(rm_object *l, size_t i, rm_object *item) {
    rm_list_object *o = (rm_list_object *)l;
    if (rm_missing(l, "rm_list_set") || rm_missing(item, "rm_list_set")) return -1;
    if (i >= o->size) {
        rm_error_set(RM_ERR_INDEX, "list index %zu out of range (size %zu)", i, o->size);
        return -1;
    }
    if (rm_journal(l) < 0) return -1;
    o->items[i] = item;
    return 0;
}

/* Grows into a new block first, so a failed allocation leaves the list as
   it was. */
int rm_list_append(rm_object *l, rm_object *item) {
    rm_list_object *o = (rm_list_object *)l;
    if (rm_missing(l, "rm_list_append") || rm_missing(item, "rm_list_append") || rm_journal(l) < 0) return -1;
    if (o->size == o->capacity) {
        size_t cap = o->capacity ? o->capacity * 2 : 4;
        rm_object **items = rm_gc_alloc(cap * sizeof(rm_object *));
        if (!items) return -1;
        if (o->size) memcpy(items, o->items, o->size * sizeof(rm_object *));
        o->items = items;
        o->capacity = cap;
    }
    o->items[o->size++] = item;
    return 0;
}

int rm_list_clear(rm_object *l) {
    rm_list_object *o = (rm_list_object *)l;
    if (rm_journal(l) < 0) return -1;
    if (o->size) memset(o->items, 0, o->size * sizeof(rm_object *));
    o->size = 0;
    return 0;
}
