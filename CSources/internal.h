/*
** internal.h: what the C core's files share and nobody else sees.
*/
#ifndef REMAP_INTERNAL_H
#define REMAP_INTERNAL_H

/* As in Sources/CBoehm/shim.h: thread functions need GC_THREADS. */
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include "config.h"
#include "remap/remap.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

_Static_assert(sizeof(rm_object) == 16, "the object header is 16 bytes");
_Static_assert(sizeof(void *) == 8, "Remap assumes 64-bit pointers");

/* A static type: immortal, its own type is rm_type_type. */
#define RM_STATIC_HEADER(typeobj) \
    .ob_type = (typeobj), .ob_hash = 0, .ob_flags = RM_FLAG_IMMORTAL, .ob_aux = 0

/* ---- Objects with a variable part ---- */
typedef struct rm_int_object {
    RM_OBJECT_HEADER;
    int64_t value;
} rm_int_object;

typedef struct rm_float_object {
    RM_OBJECT_HEADER;
    double value;
} rm_float_object;

typedef struct rm_str_object {
    RM_OBJECT_HEADER;
    size_t len;
    char data[]; /* len bytes and a NUL */
} rm_str_object;

typedef struct rm_tuple_object {
    RM_OBJECT_HEADER;
    size_t size;
    rm_object *items[];
} rm_tuple_object;

typedef struct rm_list_object {
    RM_OBJECT_HEADER;
    size_t size;
    size_t capacity;
    rm_object **items; /* GC block of `capacity` slots */
} rm_list_object;

/* One entry of a dict or set: a NULL key marks a deleted entry. */
typedef struct rm_entry {
    rm_object *key;
    rm_object *value; /* NULL in a set */
    uint64_t hash;    /* cached; only the low 32 bits are used */
} rm_entry;

/* A dict and a set share this table: entries in insertion order, and an
   open-addressing index of entry numbers (int32, -1 empty, -2 deleted). */
typedef struct rm_table_object {
    RM_OBJECT_HEADER;
    size_t used;     /* entries[0, used) were written, some may be deleted */
    size_t live;     /* entries with a key */
    size_t capacity; /* of entries */
    size_t nindex;   /* slots in index, a power of two */
    rm_entry *entries; /* GC block */
    int32_t *index;    /* GC atomic block */
} rm_table_object;

typedef struct rm_function_object {
    RM_OBJECT_HEADER;
    rm_object *name;
    rm_object *module;
    rm_object *closure;
    rm_cfunction fn;
    int64_t nargs;
} rm_function_object;

typedef struct rm_method_object {
    RM_OBJECT_HEADER;
    rm_object *function;
    rm_object *self;
} rm_method_object;

/* An instance: its class is ob_type, its slot count ob_aux. */
typedef struct rm_instance_object {
    RM_OBJECT_HEADER;
    rm_object *dict; /* attributes that are not fields, or NULL */
    rm_object *slots[];
} rm_instance_object;

typedef struct rm_module_obj {
    RM_OBJECT_HEADER;
    rm_object *name;
    rm_object *dict;
    int64_t generation;
} rm_module_obj;

typedef struct rm_capsule_object {
    RM_OBJECT_HEADER;
    void *pointer;
    const char *name;
    void (*finalizer)(void *pointer);
} rm_capsule_object;

typedef struct rm_weakref_object {
    RM_OBJECT_HEADER;
    uintptr_t hidden; /* GC_HIDE_POINTER(target), 0 when cleared */
} rm_weakref_object;

#define RM_HIDE(p) ((uintptr_t)GC_HIDE_POINTER(p))
#define RM_REVEAL(h) ((rm_object *)GC_REVEAL_POINTER(h))

/* ---- heap.c ---- */
/* The registry of live objects the walks visit: a dense array of hidden
   pointers, compacted at the end of each collection's mark phase. */
typedef struct rm_registry {
    uintptr_t *items;
    size_t count;
    size_t capacity;
} rm_registry;
extern rm_registry rm_live;
void rm_heap_init(void);
void *rm_gc_alloc(size_t size);        /* scanned, not registered */
void *rm_gc_alloc_atomic(size_t size); /* not scanned, not registered */
int rm_capsule_track(void);            /* reserve room for a finalizer */
void rm_run_pending_finalizers(void);

/* ---- handle.c ---- */
typedef int (*rm_handle_visitor)(rm_object **slot, void *arg);
int rm_handles_each(rm_handle_visitor fn, void *arg);

/* ---- table.c ---- */
int rm_table_init(rm_table_object *t);
rm_entry *rm_table_find(rm_table_object *t, rm_object *key, uint32_t hash, int *error);
int rm_table_insert(rm_table_object *t, rm_object *key, rm_object *value);
int rm_table_rehash(rm_table_object *t, size_t *collisions);
int rm_table_check(rm_table_object *t);
bool rm_table_next(rm_table_object *t, size_t *pos, rm_entry **entry);
int rm_hashable(rm_object *key);

/* ---- runtime.c ---- */
extern unsigned rm_walk_threads;
void rm_debug_check_lock(void);
uint32_t rm_next_identity_hash(void);

/* ---- remap.c / check.c ---- */
bool rm_type_is_known(const rm_type *t);

/* ---- function.c ---- */
rm_object *rm_function_invoke(rm_object *f, rm_object *self, rm_object *const *args, size_t nargs);

/* ---- object.c ---- */
uint32_t rm_hash_mix(uint64_t x);

#endif
