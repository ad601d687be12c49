/*
** module.h: the API a module is written against.
**
** A native module is a shared library that contains, at file scope,
**
**     #include <remap/module.h>
**     RM_MODULE_ABI;
**     int rm_module_init(rm_builder *b) { ... return 0; }
**
** rm_module_init runs on every load and every reload, each time into a fresh
** module. It declares what the module defines; the reloader matches the new
** definitions with the old ones by qualified name (module.Class.method).
** On failure it returns -1 with the current error set (rm_error_set), and
** the reload changes nothing.
*/
#ifndef REMAP_MODULE_H
#define REMAP_MODULE_H

#include "object.h"
#include "runtime.h"
#include "builtins.h"
#include "heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI a module is compiled against. The loader refuses a module whose
   version differs from the host's. */
#define RM_ABI_VERSION 1

/* Place once at file scope in a C module. A module written in Swift, which
   cannot export data, exports a function instead:
       @_cdecl("rm_module_abi") public func abi() -> UInt32 { UInt32(RM_ABI_VERSION) } */
#define RM_MODULE_ABI \
    __attribute__((visibility("default"))) const unsigned rm_module_abi_version = RM_ABI_VERSION
typedef unsigned (*rm_module_abi_fn)(void);

/* What rm_module_init gets: the builder of one generation of the module.
   The module itself is an rm_object (rm_builder_module). rm_module is the
   builder's old name, the same type. */
typedef struct rm_module rm_module;
typedef struct rm_module rm_builder;

/* The signature of the entry point a module exports. */
typedef int (*rm_module_init_fn)(rm_builder *b);

/* The module object being built, and the module's name. */
rm_object *rm_builder_module(rm_builder *b);
const char *rm_builder_name(rm_builder *b);
/* The generation being built: 1 on first load, then 2, 3... */
int64_t rm_builder_generation(rm_builder *b);

/* Old names: they compile, with a warning naming the new one. */
RM_DEPRECATED("rm_builder_module") rm_object *rm_module_object(rm_builder *b);
RM_DEPRECATED("rm_builder_name") const char *rm_module_get_name(rm_builder *b);
RM_DEPRECATED("rm_builder_generation") int64_t rm_module_get_generation(rm_builder *b);

/* ---- Arguments: the checked way to read them ----
** A function reads its arguments with rm_args_parse, which checks their
** number and types before anything is stored, as CPython's
** PyArg_ParseTuple does:
**
**     int64_t n; double speed = 1.0;
**     if (rm_args_parse(args, nargs, "i|d", &n, &speed) < 0) return NULL;
**
** One letter per argument, each with the C variable it fills:
**   i  int64_t *       an int (a bool is not an int here)
**   d  double *        a float, or an int converted
**   b  bool *          a bool
**   s  const char **   a str without NUL bytes (its bytes, valid while the
**                      str is alive: during the call, as it is an argument)
**   O  rm_object **    any object
**   O! rm_type *, rm_object **
**                      an object of that type: &rm_list_type, a type made
**                      by rm_type_new, or a class (cast: (rm_type *)cls),
**                      which also accepts instances of its subclasses
**   |  the arguments after it are optional: a variable whose argument is
**      absent keeps its value (give it its default first)
**   :name  at the end: the function's name in messages (by default the
**      name of the function being called, rm_function_current)
** Returns 0, or -1 with RM_ERR_TYPE set and no variable written:
**   "spawn() takes exactly 1 argument (2 given)",
**   "spawn() argument 1 must be int, not str"
** (RM_ERR_VALUE for a NUL byte in an `s`, RM_ERR_RUNTIME for a bad
** format). rm_args_vparse takes a va_list (from Swift: withVaList). */
int rm_args_parse(rm_object *const *args, size_t nargs, const char *format, ...);
int rm_args_vparse(rm_object *const *args, size_t nargs, const char *format, va_list ap);

/* ---- Definitions: replaced on every reload ---- */
/* A function: `fn` is called with the function object as `self`. nargs < 0:
   any number of arguments. Returns the function (borrowed) or NULL. */
rm_object *rm_def_function(rm_builder *b, const char *name, rm_cfunction fn, int nargs);
/* A class; base may be NULL. Old instances get the new class on reload. */
rm_object *rm_def_class(rm_builder *b, const char *name, rm_object *base);
/* A method: called with the instance as `self`, the arguments after it.
   A method named __reload__ is the class's reload hook, called after a
   reload for each old instance whose class changed, once its fields are
   migrated and initialized, with
     0 arguments,
     2: (added, removed), tuples of the field names added and removed, or
     3: (added, removed, old), `old` being a read-only view of the instance
        as it was: rm_getattr(old, name) reads any old field, the removed
        ones included. The view is valid only during the call.
   If it fails for any instance, the whole reload is rolled back. */
int rm_def_method(rm_object *cls, const char *name, rm_cfunction fn, int nargs);
/* A field with a default: new instances start with it, old instances get it
   on reload if they lack it. */
int rm_def_field(rm_object *cls, const char *name, rm_object *default_value);
/* An initializer for field `name` (defined first with rm_def_field): when a
   reload migrates an old instance that did not have the field, its value
   is fn(self, old) instead of the default. `self` is the migrated instance
   (reading the field gives the default), args[0] the old-instance view
   (see the hook above). Returns the value, or NULL with the error set: the
   reload is then rolled back. CLOS's update-instance-for-redefined-class
   and Dart's lazy field initializers are the models. */
int rm_def_field_init(rm_object *cls, const char *name, rm_cfunction fn);
/* Field `new_name` (defined first) is the old field `old_name` renamed:
   old instances keep its value under the new name. A field that also
   changes type is the class hook's job. */
int rm_def_field_renamed(rm_object *cls, const char *new_name, const char *old_name);

/* ---- Struct classes ----
** A struct class describes its instances as a C struct that starts with
** RM_INSTANCE_HEADER; module code reads and writes its fields directly
** (p->x), and the dynamic API (rm_getattr, rm_setattr, JSON) sees the same
** fields through the field table. On reload, fields match by name: a field
** of the same kind keeps its value, a widening converts it, an array keeps
** its common prefix; anything else is refused unless rm_def_field_init or
** rm_def_field_renamed says what to do (docs/modules.md, "Struct classes").
**
**     typedef struct Particle {
**         RM_INSTANCE_HEADER;
**         int64_t x, v;
**         rm_object *owner;
**     } Particle;
**     static const rm_field_spec particle_fields[] = {
**         RM_FIELD(Particle, x, RM_I64), RM_FIELD(Particle, v, RM_I64),
**         RM_FIELD(Particle, owner, RM_OBJECT), RM_FIELDS_END,
**     };
**     rm_object *cls = rm_def_struct(b, "Particle", NULL, sizeof(Particle), particle_fields);
*/

/* The first member of an instance's C struct: the object header. A struct
   class derived from another starts with the base's struct instead. */
#define RM_INSTANCE_HEADER RM_OBJECT_HEADER

/* What a field holds: fixed-width ints, floats, a bool (one byte, 0 or 1)
   and object references (rm_object *, NULL reads as None). */
typedef enum rm_field_kind {
    RM_I8 = 1,
    RM_I16,
    RM_I32,
    RM_I64,
    RM_U8,
    RM_U16,
    RM_U32,
    RM_U64,
    RM_F32,
    RM_F64,
    RM_BOOL,
    RM_OBJECT,
    RM_FIELD_KINDS /* one past the last kind */
} rm_field_kind;

/* One field of a struct class: its name, where it is, its kind, and its
   element count (0: a scalar; n: an array of n). `size` is the C member's
   sizeof, checked against the kind when the class is defined. */
typedef struct rm_field_spec {
    const char *name;
    size_t offset;
    size_t size;
    rm_field_kind kind;
    uint32_t count;
} rm_field_spec;

#define RM_FIELD(T, f, kind) {#f, offsetof(T, f), sizeof(((T *)0)->f), (kind), 0}
#define RM_FIELD_ARRAY(T, f, kind, n) {#f, offsetof(T, f), sizeof(((T *)0)->f), (kind), (n)}
#define RM_FIELDS_END {NULL, 0, 0, (rm_field_kind)0, 0}

/* A struct class whose instances are `size` bytes (the struct's sizeof)
   laid out as `fields` says (ended by RM_FIELDS_END). `base` is NULL or a
   struct class whose struct the new one starts with; its fields are
   inherited. Returns the class (borrowed) or NULL with the error set (a
   field outside the struct, overlapping another, or whose C size does not
   match its kind). Methods, class attributes, __init__ and the class hook
   work as for rm_def_class. A class made with rm_def_class cannot derive
   from a struct class (its instances have no field slots). */
rm_object *rm_def_struct(rm_builder *b, const char *name, rm_object *base, size_t size, const rm_field_spec *fields);
/* The default of field `name`: new instances start with it instead of
   zero (an array field: a tuple, or one value for every element). The
   value is converted as rm_setattr would. */
int rm_def_field_default(rm_object *cls, const char *name, rm_object *value);
/* Whether `cls` is a struct class. */
bool rm_is_struct_class(rm_object *cls);
/* `obj` as a pointer to its C struct if it is an instance of struct class
   `cls` (or of one derived from it), else NULL with a TypeError set. */
void *rm_struct_cast(rm_object *cls, rm_object *obj);
/* The same cast without a check. */
#define RM_STRUCT(T, obj) ((T *)(void *)(obj))

/* ---- State and values ---- */
/* State: set to `initial` on first load and kept across reloads (Lisp's
   defvar). Returns the current value: `initial`, or the kept one. */
rm_object *rm_def_state(rm_builder *b, const char *name, rm_object *initial);
/* A value: replaced on every reload (Lisp's defparameter). */
int rm_def_value(rm_builder *b, const char *name, rm_object *value);

/* ---- Imports ---- */
/* Binds `name` in the module being built to the current value of
   module.name, loading `module` first if needed, and records the import (a
   reload of `module` can cascade to this one). Returns the value (borrowed)
   or NULL. */
rm_object *rm_import_from(rm_builder *b, const char *module, const char *name);

/* ---- The module hook ----
** A function named __reload__ defined with rm_def_function(b, "__reload__",
** fn, 1) runs on reload, before the new version replaces the old, with the
** old namespace (a copy: a dict) as its argument. It can move state over by
** writing into its own module's namespace (rm_module_dict of
** rm_function_module(self)). If it fails, the reload changes nothing. */

/* ---- Binding objects, the function being called ---- */
/* What each name of a namespace is. */
typedef enum rm_def_kind {
    RM_DEF_FUNCTION = 1,
    RM_DEF_CLASS,
    RM_DEF_STATE,
    RM_DEF_VALUE,
    RM_DEF_IMPORT,
} rm_def_kind;

/* Binds an existing object under `name` with the given kind. */
int rm_def_object(rm_module *m, const char *name, rm_object *value, rm_def_kind kind);

/* The function object being called on this thread, or NULL: a method or a
   field initializer, called with the instance as `self`, finds its module
   with rm_function_module(rm_function_current()). */
rm_object *rm_function_current(void);

/* What only the loader uses (module builders, the import hook, tombstones,
   the reload transaction) is in CSources/loader.h, not here. */

#ifdef __cplusplus
}
#endif
#endif
