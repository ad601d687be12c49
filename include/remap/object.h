/*
** object.h: the object header, type tables and the traverse protocol.
**
** Every heap object starts with RM_OBJECT_HEADER. Its type is itself an
** object (a static built-in type, or a class allocated on the heap), and the
** type slot is a reference like any other: remapping a class rewrites the
** type slot of every instance of it.
*/
#ifndef REMAP_OBJECT_H
#define REMAP_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rm_type rm_type;

/* Marks an old name kept so existing module sources compile: the compiler
   warns and names the replacement (docs/modules.md, "Old names"). */
#define RM_DEPRECATED(replacement) __attribute__((deprecated("use " replacement)))

/* 16 bytes: the type, a 32-bit hash (identity hash for most objects, content
   hash for strings), 16 flag bits and 16 bits a type may use (an instance
   keeps its slot count there). */
#define RM_OBJECT_HEADER \
    rm_type *ob_type;    \
    uint32_t ob_hash;    \
    uint16_t ob_flags;   \
    uint16_t ob_aux

typedef struct rm_object {
    RM_OBJECT_HEADER;
} rm_object;

/* Object flags (ob_flags). */
#define RM_FLAG_COMPOSITE_KEYS 0x0001u /* a dict/set that holds a tuple or bound-method key */
#define RM_FLAG_IMMORTAL 0x0002u /* static object, not on the GC heap */

/* A visitor gets the address of a reference slot, so it can read it and
   rewrite it. Return non-zero to stop the traversal (the value is passed
   back by traverse). */
typedef int (*rm_visitproc)(rm_object **slot, void *arg);
typedef int (*rm_traverseproc)(rm_object *self, rm_visitproc visit, void *arg);

/* Keeps every traverse function looking alike: the parameters must be named
   `visit` and `arg`. NULL slots are skipped. */
#define RM_VISIT(slotp)                                               \
    do {                                                              \
        if (*(rm_object **)(slotp) != NULL) {                         \
            int rm_visit_rc_ = visit((rm_object **)(slotp), arg);     \
            if (rm_visit_rc_) return rm_visit_rc_;                    \
        }                                                             \
    } while (0)

typedef uint32_t (*rm_hashproc)(rm_object *self, int *error);
typedef int (*rm_equalproc)(rm_object *a, rm_object *b); /* 1, 0, -1 error */
typedef rm_object *(*rm_callproc)(rm_object *callable, rm_object *const *args, size_t nargs);
typedef size_t (*rm_sizeproc)(rm_object *self);

/* How the remap walk finds an object's reference slots without a call:
   RM_LAYOUT_TRAVERSE  call the type's traverse (always correct);
   RM_LAYOUT_LEAF      no reference but the type slot (str, int, float);
   RM_LAYOUT_FIXED     the type slot plus the slots at fixed_offsets;
   RM_LAYOUT_INSTANCE  a class instance: type, dict, ob_aux inline slots;
   RM_LAYOUT_TABLE     a dict or set: keys are remembered in the report;
   RM_LAYOUT_TUPLE     a tuple (visited like FIXED with a count);
   RM_LAYOUT_WEAKREF   a weak reference: the target is a hidden pointer;
   RM_LAYOUT_LIST      a list: items[0, size) in its own block;
   RM_LAYOUT_STRUCT    a struct class's instance: the type slot plus the
                       reference fields its class's field table lists. */
enum rm_layout {
    RM_LAYOUT_TRAVERSE = 0,
    RM_LAYOUT_LEAF,
    RM_LAYOUT_FIXED,
    RM_LAYOUT_INSTANCE,
    RM_LAYOUT_TABLE,
    RM_LAYOUT_TUPLE,
    RM_LAYOUT_WEAKREF,
    RM_LAYOUT_LIST,
    RM_LAYOUT_STRUCT,
};

#define RM_MAX_FIXED_SLOTS 8

/* Type flags. */
#define RM_TYPE_HEAP 0x0001u   /* a class: allocated on the GC heap */
#define RM_TYPE_ATOMIC 0x0002u /* instances hold no pointer Boehm must scan */
#define RM_TYPE_USER 0x0004u   /* defined by C user code with rm_type_new */

/*
** A type table. Built-in types are static; user C types are created with
** rm_type_new (never freed); classes are heap objects of type rm_class_type
** whose table describes their instances.
*/
struct rm_type {
    RM_OBJECT_HEADER;
    const char *tp_name;
    size_t tp_basicsize;
    uint32_t tp_flags;
    uint8_t tp_layout;
    uint8_t tp_nfixed;
    uint16_t tp_fixed[RM_MAX_FIXED_SLOTS]; /* byte offsets of reference slots */
    rm_traverseproc tp_traverse;
    rm_hashproc tp_hash;   /* NULL: identity hash from the header */
    rm_equalproc tp_equal; /* NULL: identity */
    rm_callproc tp_call;   /* NULL: not callable */
    rm_sizeproc tp_size;   /* NULL: tp_basicsize */
    void (*tp_finalize)(rm_object *self); /* run after the object died */
    /* Class part, NULL for static and user types. */
    rm_object *cls_name;     /* str */
    rm_object *cls_base;     /* class or NULL */
    rm_object *cls_dict;     /* dict: methods and class attributes */
    rm_object *cls_fields;   /* tuple of str, inherited fields first */
    rm_object *cls_defaults; /* tuple, parallel to cls_fields */
    rm_object *cls_index;    /* dict: field name -> int slot index */
    rm_object *cls_module;   /* module or NULL */
    rm_object *cls_reload;   /* dict or NULL: field name -> initializer
                                (function) or the old name it was renamed
                                from (str), read when a reload migrates */
    /* Struct classes only (else NULL): the field table, the one
       declaration of an instance's fields and references (not an object:
       a block the class keeps alive; CSources/struct.h). */
    struct rm_struct_layout *cls_struct;
};

/*
** Defining a native type from C. The returned type is immortal. `traverse`
** must visit every reference field (RM_VISIT); the type slot is visited by
** the runtime. Objects are allocated with rm_alloc(type, size).
*/
rm_type *rm_type_new(const char *name, size_t basicsize, rm_traverseproc traverse);

/* Reading an object's type. */
#define RM_TYPE(o) (((rm_object *)(o))->ob_type)
const char *rm_type_name(const rm_type *type);

/* Traverse an object's reference slots, including its type slot.
   Returns the first non-zero value a visitor returned, else 0. */
int rm_traverse(rm_object *obj, rm_visitproc visit, void *arg);

/* Generic protocol. */
uint32_t rm_hash(rm_object *obj, int *error);
int rm_equal(rm_object *a, rm_object *b);
size_t rm_sizeof(rm_object *obj);
bool rm_is_heap_object(const rm_object *obj);

#ifdef __cplusplus
}
#endif
#endif
