/*
** builtins.h: the built-in types, their constructors and accessors.
**
** Constructors return a new object or NULL with the current error set.
** Accessors that can fail say so; the others assume the right type.
*/
#ifndef REMAP_BUILTINS_H
#define REMAP_BUILTINS_H

#include "object.h"
#include <stdarg.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

extern rm_type rm_type_type;     /* the type of static and user types */
extern rm_type rm_class_type;    /* the type of classes */
extern rm_type rm_none_type;
extern rm_type rm_bool_type;
extern rm_type rm_int_type;
extern rm_type rm_float_type;
extern rm_type rm_str_type;
extern rm_type rm_tuple_type;
extern rm_type rm_list_type;
extern rm_type rm_dict_type;
extern rm_type rm_set_type;
extern rm_type rm_function_type;
extern rm_type rm_method_type;   /* bound method */
extern rm_type rm_module_type;
extern rm_type rm_capsule_type;
extern rm_type rm_weakref_type;

#define RM_IS(o, t) (((rm_object *)(o))->ob_type == &(t))

/* What an unchecked accessor (rm_int_value, rm_str_cstr...) does in a build
   with RM_DEBUG when given the wrong object: prints the accessor, what it
   expected and what it got, and aborts. */
__attribute__((noreturn)) void rm_debug_wrong_type(const char *accessor, const void *obj, const char *expected);

/* ---- Singletons (immortal) ---- */
extern rm_object rm_none_object;
extern rm_object rm_true_object;
extern rm_object rm_false_object;
#define rm_none (&rm_none_object)
#define rm_true (&rm_true_object)
#define rm_false (&rm_false_object)
rm_object *rm_bool(bool value);
/* The singletons as functions, for languages that cannot use the macros. */
inline rm_object *rm_get_none(void) { return rm_none; }
rm_object *rm_get_true(void);
rm_object *rm_get_false(void);

/* Type tests, as functions for the same reason. */
bool rm_is_none(rm_object *o);
bool rm_is_bool(rm_object *o);
bool rm_is_int(rm_object *o);
bool rm_is_float(rm_object *o);
bool rm_is_str(rm_object *o);
bool rm_is_tuple(rm_object *o);
bool rm_is_list(rm_object *o);
bool rm_is_dict(rm_object *o);
bool rm_is_set(rm_object *o);
bool rm_is_function(rm_object *o);
bool rm_is_method(rm_object *o);
bool rm_is_module(rm_object *o);
bool rm_is_instance(rm_object *o); /* of any class */

/* ---- int, float ----
** An int is the header and its value. The ints RM_SMALL_INT_MIN to
** RM_SMALL_INT_MAX are shared immortal objects: rm_int allocates none of
** them. rm_int and rm_int_value are inline (C99 inline: a call the compiler
** does not inline goes to the host's copy), so a module's arithmetic does
** not call into the host for a small int. */
typedef struct rm_int_object {
    RM_OBJECT_HEADER;
    int64_t value;
} rm_int_object;
#define RM_SMALL_INT_MIN (-256)
#define RM_SMALL_INT_MAX 1023
extern rm_int_object rm_small_ints[RM_SMALL_INT_MAX - RM_SMALL_INT_MIN + 1];
/* rm_int past the small ints (any value works): allocates. */
rm_object *rm_int_large(int64_t value);
inline rm_object *rm_int(int64_t value) {
    if ((uint64_t)(value - RM_SMALL_INT_MIN) <= (uint64_t)(RM_SMALL_INT_MAX - RM_SMALL_INT_MIN))
        return (rm_object *)&rm_small_ints[value - RM_SMALL_INT_MIN];
    return rm_int_large(value);
}
/* o must be an int: unchecked (read arguments with rm_args_parse, module.h).
   Compiled with -DRM_DEBUG, it checks, and on anything else prints what it
   got and aborts (rm_debug_wrong_type), as the core's other unchecked
   accessors do in a core built with RM_DEBUG (CSources/config.h). */
inline int64_t rm_int_value(rm_object *o) {
#ifdef RM_DEBUG
    if (!o || o->ob_type != &rm_int_type) rm_debug_wrong_type("rm_int_value", o, "an int");
#endif
    return ((rm_int_object *)o)->value;
}
/* The checked read: 0 and the value in *out, or -1 with RM_ERR_TYPE if o
   is not an int (o NULL: -1, keeping the error of the call that gave it).
   Inline like rm_int_value: a hit is a compare and a load in the module;
   a miss sets the error in rm_int_check_failed. */
void rm_int_check_failed(rm_object *o);
inline int rm_int_check(rm_object *o, int64_t *out) {
    if (__builtin_expect(o && o->ob_type == &rm_int_type, 1)) {
        *out = ((rm_int_object *)o)->value;
        return 0;
    }
    rm_int_check_failed(o);
    return -1; /* seen by the caller's compiler: *out is not read after it */
}
rm_object *rm_float(double value);
double rm_float_value(rm_object *o); /* o must be a float: unchecked (RM_DEBUG checks) */

/* ---- str (immutable, UTF-8 bytes, content hash cached in the header) ---- */
rm_object *rm_str(const char *cstr);
rm_object *rm_str_n(const char *bytes, size_t len);
/* An interned name: one immortal str per distinct text, never freed, safe
   to keep in a C static across collections and reloads. Attribute and
   method lookups by an interned name compare it by address. */
rm_object *rm_name(const char *cstr);
rm_object *rm_name_n(const char *bytes, size_t len);
rm_object *rm_str_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with a va_list: from Swift, which cannot call a variadic C
   function, rm_str_vformat("%lld items", va) inside withVaList([n]) { va in ... }. */
rm_object *rm_str_vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
const char *rm_str_cstr(rm_object *s); /* NUL-terminated */
size_t rm_str_len(rm_object *s);
bool rm_str_eq(rm_object *s, const char *cstr);

/* ---- tuple (immutable once built) ---- */
rm_object *rm_tuple_new(size_t n); /* items NULL until set */
rm_object *rm_tuple_of(size_t n, rm_object *const *items);
size_t rm_tuple_size(rm_object *t);
rm_object *rm_tuple_get(rm_object *t, size_t i);
void rm_tuple_set(rm_object *t, size_t i, rm_object *item); /* while building */

/* ---- list ---- */
rm_object *rm_list_new(size_t capacity);
size_t rm_list_size(rm_object *l);
rm_object *rm_list_get(rm_object *l, size_t i); /* NULL + RM_ERR_INDEX */
/* The items [0, rm_list_size) in place, for a loop over many of them
   without a call per item: valid until the list next changes (an append
   may move them) or the runtime lock is released. */
rm_object *const *rm_list_items(rm_object *l);
int rm_list_set(rm_object *l, size_t i, rm_object *item);
int rm_list_append(rm_object *l, rm_object *item);
int rm_list_clear(rm_object *l);

/* ---- dict (insertion ordered, open addressing, cached key hashes) ----
** Keys must be hashable: every object is, by identity, except lists, dicts
** and sets, which are refused with RM_ERR_TYPE. */
rm_object *rm_dict_new(void);
size_t rm_dict_size(rm_object *d);
rm_object *rm_dict_get(rm_object *d, rm_object *key);      /* NULL, no error, if absent */
rm_object *rm_dict_get_str(rm_object *d, const char *key); /* same, by C string */
int rm_dict_set(rm_object *d, rm_object *key, rm_object *value);
int rm_dict_set_str(rm_object *d, const char *key, rm_object *value);
int rm_dict_del(rm_object *d, rm_object *key); /* -1 + RM_ERR_KEY if absent */
int rm_dict_contains(rm_object *d, rm_object *key); /* 1, 0, -1 */
/* Iteration in insertion order: start with *pos = 0. */
bool rm_dict_next(rm_object *d, size_t *pos, rm_object **key, rm_object **value);
void rm_dict_clear(rm_object *d);
rm_object *rm_dict_copy(rm_object *d);
/* Recompute every key's hash and rebuild the table, after keys were
   rewritten. Keys that became equal keep the entry inserted last; their
   number is added to *collisions (may be NULL). The dict is unchanged if it
   fails (-1). */
int rm_dict_rehash(rm_object *d, size_t *collisions);

/* ---- set ---- */
rm_object *rm_set_new(void);
size_t rm_set_size(rm_object *s);
int rm_set_add(rm_object *s, rm_object *key);
int rm_set_contains(rm_object *s, rm_object *key);
int rm_set_discard(rm_object *s, rm_object *key); /* 1 removed, 0 absent */
bool rm_set_next(rm_object *s, size_t *pos, rm_object **key);
int rm_set_rehash(rm_object *s, size_t *collisions);
/* Which entry a rehash keeps of keys that became equal. */
typedef enum rm_rehash_keep {
    RM_KEEP_LAST = 0, /* the entry inserted last (rm_dict_rehash, rm_set_rehash) */
    RM_KEEP_FIRST,    /* the entry inserted first: the older binding stays */
} rm_rehash_keep;
/* rm_dict_rehash or rm_set_rehash (by the table's type) with the surviving
   entry, key and value, chosen by `keep`; it stays at the place of the
   first. Unchanged on failure (-1). */
int rm_rehash_keeping(rm_object *table, rm_rehash_keep keep, size_t *collisions);
void rm_set_clear(rm_object *s);

/* ---- function (a native C function with a name, a module and a closure) ----
** A plain call gets the function object itself as `self`; a method called on
** an instance gets the instance. nargs < 0 in rm_function_new: variadic. */
typedef rm_object *(*rm_cfunction)(rm_object *self, rm_object *const *args, size_t nargs);
rm_object *rm_function_new(const char *name, rm_cfunction fn, int nargs,
                           rm_object *module, rm_object *closure);
rm_object *rm_function_name(rm_object *f);
rm_object *rm_function_closure(rm_object *f);
rm_object *rm_function_module(rm_object *f);
rm_cfunction rm_function_pointer(rm_object *f);
int rm_function_arity(rm_object *f); /* < 0: variadic */

/* ---- bound method ----
** Equal to another (rm_equal) and hashed alike when both bind the same
** function to the same receiver, as in Python and Dart: rm_getattr(a, "f")
** twice gives two methods that are one key of a set. A reload keeps it so:
** a method kept from before finds the one bound to the new function. */
rm_object *rm_method_new(rm_object *function, rm_object *self);
rm_object *rm_method_function(rm_object *m);
rm_object *rm_method_self(rm_object *m);

/* ---- class and instance ----
** Single inheritance. Fields have inline slots in each instance, in the
** order of cls_fields (inherited fields first). */
rm_object *rm_class_new(const char *name, rm_object *base, rm_object *module);
int rm_class_add_field(rm_object *cls, const char *name, rm_object *default_value);
int rm_class_set_method(rm_object *cls, const char *name, rm_cfunction fn, int nargs);
/* How a reload fills an existing field on the old instances it migrates
   (see rm_def_field_init and rm_def_field_renamed in module.h). */
int rm_class_set_field_init(rm_object *cls, const char *name, rm_cfunction fn);
int rm_class_set_field_renamed(rm_object *cls, const char *new_name, const char *old_name);
rm_object *rm_class_lookup(rm_object *cls, rm_object *name); /* through bases; NULL if absent */
bool rm_is_class(rm_object *o);
/* Is obj an instance of cls or of a class derived from it? */
bool rm_is_instance_of(rm_object *obj, rm_object *cls);
size_t rm_class_field_count(rm_object *cls);
/* A new instance: rm_instance_alloc, then __init__(args) if the class has
   one (as calling the class does). */
rm_object *rm_instance_new(rm_object *cls, rm_object *const *args, size_t nargs);
/* A new instance with every field at its default; does not run __init__. */
rm_object *rm_instance_alloc(rm_object *cls);
size_t rm_instance_slot_count(rm_object *inst);
rm_object *rm_instance_slot(rm_object *inst, size_t i);
void rm_instance_set_slot(rm_object *inst, size_t i, rm_object *value);
rm_object *rm_instance_dict(rm_object *inst); /* extra attributes, or NULL */

/* ---- module ---- */
/* A module with an empty namespace but for "__name__" (its name, a str). */
rm_object *rm_module_new(const char *name);
rm_object *rm_module_name(rm_object *m);
rm_object *rm_module_dict(rm_object *m);
int64_t rm_module_generation(rm_object *m);
void rm_module_set_generation(rm_object *m, int64_t generation);

/* ---- capsule: an opaque native pointer with a finalizer ----
** The finalizer runs once, on a thread holding the runtime lock, after a
** collection found the capsule unreachable. */
rm_object *rm_capsule_new(void *pointer, const char *name, void (*finalizer)(void *pointer));
void *rm_capsule_pointer(rm_object *c);

/* ---- weak reference ----
** Does not keep its target alive; cleared when a collection finds the target
** unreachable. Remap retargets it: a weak reference to an old object then
** refers to the new one. */
rm_object *rm_weakref_new(rm_object *target);
rm_object *rm_weakref_get(rm_object *w); /* NULL once cleared */

/* ---- attributes and calls ----
** A name is a C string, or with the _name variants a str object: an
** interned one (rm_name) kept by the caller is the fastest, any str works. */
rm_object *rm_getattr(rm_object *obj, const char *name);
int rm_setattr(rm_object *obj, const char *name, rm_object *value);
bool rm_is_callable(rm_object *obj);
rm_object *rm_call(rm_object *callable, rm_object *const *args, size_t nargs);
rm_object *rm_call_method(rm_object *obj, const char *name, rm_object *const *args, size_t nargs);
rm_object *rm_getattr_name(rm_object *obj, rm_object *name);
int rm_setattr_name(rm_object *obj, rm_object *name, rm_object *value);
rm_object *rm_call_method_name(rm_object *obj, rm_object *name, rm_object *const *args, size_t nargs);
/* Typed, with an interned name: an int attribute read into *out, or set
   from a C integer, with no rm_object in the caller. 0, or -1 with the
   error set (RM_ERR_TYPE: the attribute is not an int). */
int rm_getattr_int(rm_object *obj, rm_object *name, int64_t *out);
int rm_setattr_int(rm_object *obj, rm_object *name, int64_t value);

/* ---- Inline caches: an int field in a few loads, inside module code ----
** A cache the module keeps per access site (a static rm_field_cache, zero
** to start), as CPython's specializing interpreter keeps one per
** instruction: the class last seen (hidden from the collector, so it keeps
** nothing alive) and the name's inline slot there, valid while the lookup
** epoch has not moved. The epoch moves on every reload, remap, rollback and
** change to a class, and when a reload begins: a cache filled before it, or
** while it runs (it is not filled then), never answers during it. Anything
** else (a miss, another class, a field the instance does not store inline,
** a value that is not an int) takes rm_getattr_int / rm_setattr_int and
** refills the cache. Same results and errors as those. */
typedef struct rm_field_cache {
    uintptr_t cls; /* ~class */
    uint32_t epoch;
    uint32_t slot;
} rm_field_cache;
extern uint32_t rm_lookup_epoch;
/* An instance: the header, its attribute-dict word, then its inline slots
   (ob_aux of them). */
#define RM_INSTANCE_SLOTS(o) ((rm_object **)((char *)(o) + sizeof(rm_object) + sizeof(rm_object *)))
int rm_getattr_int_fill(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t *out);
int rm_setattr_int_fill(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t value);

inline int rm_getattr_int_cached(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t *out) {
    if (obj && ~(uintptr_t)obj->ob_type == cache->cls && cache->epoch == rm_lookup_epoch && cache->slot < obj->ob_aux) {
        rm_object *v = RM_INSTANCE_SLOTS(obj)[cache->slot];
        if (v && v->ob_type == &rm_int_type) {
            *out = ((rm_int_object *)v)->value;
            return 0;
        }
    }
    return rm_getattr_int_fill(obj, name, cache, out);
}

inline int rm_setattr_int_cached(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t value) {
    rm_object *boxed = rm_int(value);
    if (obj && boxed && ~(uintptr_t)obj->ob_type == cache->cls && cache->epoch == rm_lookup_epoch &&
        cache->slot < obj->ob_aux) {
        RM_INSTANCE_SLOTS(obj)[cache->slot] = boxed;
        return 0;
    }
    return rm_setattr_int_fill(obj, name, cache, value);
}

/* A short printable description, for messages ("<instance of Point>"). */
rm_object *rm_repr(rm_object *obj);

/* ---- Old names: they compile, with a warning naming the new one ---- */
RM_DEPRECATED("rm_is_instance_of") int rm_isinstance(rm_object *obj, rm_object *cls);
RM_DEPRECATED("rm_instance_new") rm_object *rm_new_instance(rm_object *cls, rm_object *const *args, size_t nargs);
RM_DEPRECATED("rm_getattr_name") rm_object *rm_getattr_obj(rm_object *obj, rm_object *name);
RM_DEPRECATED("rm_setattr_name") int rm_setattr_obj(rm_object *obj, rm_object *name, rm_object *value);

#ifdef __cplusplus
}
#endif
#endif
