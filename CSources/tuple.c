/*
** tuple.c: immutable sequences. Their hash is computed from their items'
** hashes every time (never cached), so it follows the items through a remap.
*/
#include "internal.h"

/* References: every item. */
static int tuple_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_tuple_object *t = (rm_tuple_object *)self;
    for (size_t i = 0; i < t->size; i++) RM_VISIT(&t->items[i]);
    return 0;
}

/* How deep tuples may nest inside tuples before hashing or comparing them
   gives up. A remap can make a tuple contain itself (map a tuple to another
   that holds it): without a limit, its hash would recurse until the stack
   overflows. Real keys nest a few levels. */
#define MAX_TUPLE_DEPTH 256

static RM_THREAD_LOCAL int tuple_depth;

/* Enters one more level of nesting, or fails with an error. */
static int enter_tuple(void) {
    if (tuple_depth >= MAX_TUPLE_DEPTH) {
        rm_error_set(RM_ERR_VALUE, "tuple nested more than %d deep (does it contain itself? a remap can make it so)",
                     MAX_TUPLE_DEPTH);
        return -1;
    }
    tuple_depth++;
    return 0;
}

/* Order-dependent combination of the items' hashes (xxHash's round). */
static uint32_t tuple_hash(rm_object *self, int *error) {
    if (enter_tuple() < 0) {
        *error = 1;
        return 0;
    }
    uint32_t h = 0;
    rm_tuple_object *t = (rm_tuple_object *)self;
    uint64_t acc = 0x27d4eb2f165667c5ULL;
    for (size_t i = 0; i < t->size; i++) {
        rm_object *item = t->items[i] ? t->items[i] : rm_none;
        if (!rm_hashable(item)) {
            rm_error_set(RM_ERR_TYPE, "unhashable type in tuple: '%s'", rm_type_name(item->ob_type));
            *error = 1;
            break;
        }
        acc += (uint64_t)rm_hash(item, error) * 0xc2b2ae3d27d4eb4fULL;
        if (*error) break;
        acc = (acc << 31) | (acc >> 33);
        acc *= 0x9e3779b185ebca87ULL;
    }
    if (!*error) h = rm_hash_mix(acc ^ t->size);
    tuple_depth--;
    return h;
}

static int tuple_equal(rm_object *a, rm_object *b) {
    rm_tuple_object *x = (rm_tuple_object *)a, *y = (rm_tuple_object *)b;
    if (x->size != y->size) return 0;
    if (enter_tuple() < 0) return -1;
    int eq = 1;
    for (size_t i = 0; i < x->size && eq == 1; i++) {
        rm_object *p = x->items[i] ? x->items[i] : rm_none;
        rm_object *q = y->items[i] ? y->items[i] : rm_none;
        eq = rm_equal(p, q);
    }
    tuple_depth--;
    return eq;
}

static size_t tuple_size(rm_object *self) {
    return sizeof(rm_tuple_object) + ((rm_tuple_object *)self)->size * sizeof(rm_object *);
}

rm_type rm_tuple_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "tuple",
    .tp_basicsize = sizeof(rm_tuple_object),
    .tp_layout = RM_LAYOUT_TUPLE,
    .tp_traverse = tuple_traverse,
    .tp_hash = tuple_hash,
    .tp_equal = tuple_equal,
    .tp_size = tuple_size,
};

rm_object *rm_tuple_new(size_t n) {
    rm_tuple_object *t = (rm_tuple_object *)rm_alloc(&rm_tuple_type, sizeof(rm_tuple_object) + n * sizeof(rm_object *));
    if (t) t->size = n;
    return (rm_object *)t;
}

rm_object *rm_tuple_of(size_t n, rm_object *const *items) {
    rm_tuple_object *t = (rm_tuple_object *)rm_tuple_new(n);
    if (t) memcpy(t->items, items, n * sizeof(rm_object *));
    return (rm_object *)t;
}

size_t rm_tuple_size(rm_object *t) {
    RM_DEBUG_EXPECT(RM_IS(t, rm_tuple_type), t, "rm_tuple_size", "a tuple");
    return ((rm_tuple_object *)t)->size;
}

rm_object *rm_tuple_get(rm_object *t, size_t i) {
    RM_DEBUG_EXPECT(RM_IS(t, rm_tuple_type), t, "rm_tuple_get", "a tuple");
    rm_tuple_object *o = (rm_tuple_object *)t;
    if (i >= o->size) {
        rm_error_set(RM_ERR_INDEX, "tuple index %zu out of range (size %zu)", i, o->size);
        return NULL;
    }
    return o->items[i];
}

void rm_tuple_set(rm_object *t, size_t i, rm_object *item) {
    rm_tuple_object *o = (rm_tuple_object *)t;
    if (i < o->size && rm_journal(t) == 0) o->items[i] = item;
}
