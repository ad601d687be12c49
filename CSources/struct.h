/*
** struct.h: struct classes (struct.c) and their reload (struct_reload.c),
** shared with the files that dispatch to them (class.c, object.c, the
** remap walk, layout_plan.c, migrate.c, txn.c, check.c).
**
** A struct class's instances are the module's C struct: the header, then
** fields at fixed offsets. The class's field table (rm_struct_layout) is
** the one declaration of those fields: the dynamic API boxes and converts
** through it, and its list of reference offsets is what traverse, the
** remap walk and the heap checker read. Instances have no attribute dict
** and no inline slots (ob_aux is 0, RM_FLAG_STRUCT is set), so every path
** written for slot instances answers "not stored here" and falls through
** to the struct paths.
*/
#ifndef REMAP_STRUCT_H
#define REMAP_STRUCT_H

#include "internal.h"

#pragma GCC visibility push(hidden)

/* One field: kind, element count (1 for a scalar), byte offset. */
typedef struct rm_struct_field {
    uint32_t offset;
    uint32_t count;
    uint8_t kind;
    bool array;
} rm_struct_field;

/*
** A struct class's field table, in one GC block the class points at
** (scanned: `init` may hold default objects). Built by rm_def_struct,
** changed only by rm_def_field_default while the module is being built.
*/
typedef struct rm_struct_layout {
    size_t size;         /* the C struct's sizeof */
    size_t alloc;        /* bytes asked of the allocator per instance */
    size_t min_capacity; /* every instance's allocation holds at least this */
    size_t max_capacity; /* and none holds more than this (bytes, rounded) */
    size_t nfields;      /* parallel to the class's cls_fields */
    size_t nrefs;
    rm_struct_field *fields;
    uint32_t *refs;      /* byte offsets of the reference slots, ascending */
    unsigned char *init; /* [size]: a new instance's bytes after the header */
} rm_struct_layout;

static inline rm_struct_layout *rm_struct_of(const rm_type *cls) { return cls->cls_struct; }

/* The bytes one element of `kind` takes. */
size_t rm_field_kind_size(uint8_t kind);
const char *rm_field_kind_name(uint8_t kind);

/* An instance of a struct class: zero-filled, then the defaults. */
rm_object *rm_struct_alloc(rm_type *cls);
/* Field i of a struct instance, boxed (an array as a tuple); NULL with the
   error set (out of memory, a u64 past int64). */
rm_object *rm_struct_get(rm_object *obj, size_t i);
/* Converts `value` to field i's kind and writes it, after journaling;
   nothing is written on failure (-1, TypeError or ValueError). */
int rm_struct_set(rm_object *obj, size_t i, rm_object *value);
/* The same conversion into `to` (a field's bytes) without journaling. */
int rm_struct_store(const rm_type *cls, size_t i, void *to, rm_object *value);
/* A struct field's value from bytes laid out as `layout` (boxed). */
rm_object *rm_struct_box(const rm_struct_layout *layout, size_t i, const unsigned char *base);

/* class.c: a class made for rm_def_struct, which may have a struct base
   (rm_class_new refuses one). */
rm_object *rm_struct_class_new(const char *name, rm_object *base, rm_object *module);
/* The struct class itself (rm_def_struct without the binding). */
rm_object *rm_struct_class_make(const char *name, rm_object *base, size_t size, const rm_field_spec *specs,
                                rm_object *module);

/* rebase.c: a copy of struct class `c` on `new_base`; NULL with the error
   set if the new base's struct no longer ends before c's own fields. */
rm_object *rm_struct_rebase(rm_type *c, rm_object *new_base);

/* Whether instances of `a` are laid out as instances of `b` (two slot
   classes are: their instances describe themselves). */
bool rm_struct_same_layout(const rm_type *a, const rm_type *b);

/* check.c: whether a struct instance's field table is consistent (its
   reference list is exactly its object fields' slots); -1 with the error
   set. */
int rm_struct_check(rm_object *o);
/* check.c: whether a struct class's own table is as the collector needs
   it (its initial bytes pointer-aligned); -1 with the error set. */
int rm_struct_class_check(const rm_type *c);

#pragma GCC visibility pop

#endif
