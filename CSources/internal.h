/*
** internal.h: what the C core's files share and nobody else sees.
*/
#ifndef REMAP_INTERNAL_H
#define REMAP_INTERNAL_H

#include "boehm.h"
#include "config.h"
#include "remap/remap.h"
#include "loader.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* What the core's files share is hidden from the shared library's
   exports: only include/remap/ is the API (nm -D shows nothing else). */
#pragma GCC visibility push(hidden)

_Static_assert(sizeof(rm_object) == 16, "the object header is 16 bytes");

/* Thread-locals of the core. The core is linked into the host executable
   or a library it loads at start, never dlopen'ed: initial-exec avoids a
   __tls_get_addr call per access, which SwiftPM's -fPIC would otherwise
   give every call into module code. */
#define RM_THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
_Static_assert(sizeof(void *) == 8, "Remap assumes 64-bit pointers");

/* A static type: immortal, its own type is rm_type_type. */
#define RM_STATIC_HEADER(typeobj) \
    .ob_type = (typeobj), .ob_hash = 0, .ob_flags = RM_FLAG_IMMORTAL, .ob_aux = 0

/* Flags of the reload transaction (txn.c), never set outside one. */
#define RM_FLAG_JOURNALED 0x0004u /* a copy is in the journal */
#define RM_FLAG_TXN_NEW 0x0008u   /* allocated during the transaction */
/* An instance whose dict word holds the value of field ob_aux instead of
   an attribute dict: a migration that adds a field to a full instance uses
   the word while the instance has no attribute dict (layout.c). */
#define RM_FLAG_WORD_FIELD 0x0010u
/* An instance whose dict word holds the value of a removed field until the
   reload that removed it ends (layout.c): it has no attribute dict. */
#define RM_FLAG_WORD_STASH 0x0020u
/* An instance the walk migrated without listing it (layout.c): only
   meaningful while its class is a target of the active transaction (every
   walk clears it on the instances it retypes; neither a commit nor a
   rollback clears it: it says nothing outside a transaction). */
#define RM_FLAG_MIGRATED 0x0040u
/* A class, or its method dict or field index: a change to it invalidates
   the attribute lookup cache (lookup.c). */
#define RM_FLAG_LOOKUP 0x0080u
/* A class a committed reload replaced: every reference the heap held was
   rewritten, so it is dead or held from outside; rm_mapping_add_subclasses
   no longer rebases it (its base slot names the new base, its fields are
   stale). Also set on the classes a rolled-back reload made: garbage. */
#define RM_FLAG_REPLACED 0x0100u
/* An instance of a struct class (struct.h): no inline slots (ob_aux 0),
   no attribute dict; its fields are its class's field table's. */
#define RM_FLAG_STRUCT 0x0200u
/* A struct instance allocated before a reload's walk to receive an
   instance that does not fit its allocation (struct_reload.c): the walker
   that meets the old one fills it; the others skip it. */
#define RM_FLAG_MOVE_TARGET 0x0400u

/* ---- Objects with a variable part ---- */
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
_Static_assert(offsetof(rm_instance_object, slots) == sizeof(rm_object) + sizeof(rm_object *),
               "RM_INSTANCE_SLOTS (builtins.h) finds the inline slots here");

/* Fields an instance stores: its inline slots, and the dict word when it
   holds a field. Fields past these are in the attribute dict or have their
   class's default. */
static inline size_t rm_stored_fields(const rm_instance_object *inst) {
    return inst->ob_aux + ((inst->ob_flags & RM_FLAG_WORD_FIELD) != 0);
}

/* The slot storing field i, or NULL if the instance does not store it. */
static inline rm_object **rm_field_slot(rm_instance_object *inst, size_t i) {
    if (i < inst->ob_aux) return &inst->slots[i];
    if (i == inst->ob_aux && (inst->ob_flags & RM_FLAG_WORD_FIELD)) return &inst->dict;
    return NULL;
}

/* The attribute dict, or NULL. */
static inline rm_object *rm_attr_dict(const rm_instance_object *inst) {
    return (inst->ob_flags & (RM_FLAG_WORD_FIELD | RM_FLAG_WORD_STASH | RM_FLAG_STRUCT)) ? NULL : inst->dict;
}

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

/* A leaf: an object with no reference but its type slot (int, float, str,
   capsule, a user type without traverse). The one definition: its type is
   RM_TYPE_ATOMIC, so it is allocated where Boehm does not scan and kept in
   the registry the remap walk skips (heap.c), and its layout is
   RM_LAYOUT_LEAF, which the walk dispatches on (remap_walk.c);
   rm_heap_check fails a type whose flag and layout disagree, or a leaf
   whose traverse visits a slot. */
static inline bool rm_type_is_leaf(const rm_type *t) { return (t->tp_flags & RM_TYPE_ATOMIC) != 0; }

/* ---- heap.c ---- */
/* Called by each collection's prune, world stopped and Boehm's lock held
   (no allocation, no lock): begin, then object for every live object of
   both registries, then end. One observer at a time; NULL removes it. */
typedef struct rm_prune_observer {
    void (*begin)(void);
    void (*object)(rm_object *o);
    void (*end)(void);
} rm_prune_observer;
void rm_heap_set_prune_observer(const rm_prune_observer *observer);
/* The registry of live objects the walks visit: a dense array of hidden
   pointers, compacted at the end of each collection's mark phase. */
typedef struct rm_registry {
    uintptr_t *items;
    size_t count;
    size_t capacity;
} rm_registry;
extern rm_registry rm_live;
extern rm_registry rm_classes; /* every class, for rm_mapping_add_subclasses */
int rm_register_class(rm_object *cls);
void rm_heap_init(void);
void *rm_gc_alloc(size_t size);        /* scanned, not registered */
void *rm_gc_alloc_atomic(size_t size); /* not scanned, not registered */
int rm_capsule_track(void);            /* reserve room for a finalizer */
/* Objects allocated from rm_heap_txn_begin on carry RM_FLAG_TXN_NEW until
   rm_heap_txn_end clears it. */
void rm_heap_txn_begin(void);
void rm_heap_txn_end(void);
/* rm_live[0, mark) existed before the transaction. */
size_t rm_heap_txn_mark(void);
void rm_run_pending_finalizers(void);

/* ---- handle.c ---- */
typedef int (*rm_handle_visitor)(rm_object **slot, void *arg);
int rm_handles_each(rm_handle_visitor fn, void *arg);
/* Handles freed during a transaction are reused only after it: the walk's
   undo may write to their slots. */
void rm_handles_txn_end(void);

/* ---- table.c ---- */
int rm_table_init(rm_table_object *t);
rm_entry *rm_table_find(rm_table_object *t, rm_object *key, uint32_t hash, int *error);
int rm_table_insert(rm_table_object *t, rm_object *key, rm_object *value);
int rm_table_rehash(rm_table_object *t, rm_rehash_keep keep, size_t *collisions);
int rm_table_check(rm_table_object *t);
bool rm_table_next(rm_table_object *t, size_t *pos, rm_entry **entry);
int rm_hashable(rm_object *key);

/* ---- txn.c: the journal ----
** Every API function that changes an existing object calls rm_journal
** first; inside a transaction the first change of an object that predates
** it copies the object into the journal. Returns -1 (out of memory) when the
** copy cannot be made: the change must then not happen. */
extern bool rm_txn_on;
/* rm_lookup_epoch (lookup.c) is public: module code checks it inline. */
int rm_journal_object(rm_object *o);
int rm_journal_handle(rm_object **slot);
static inline int rm_journal(rm_object *o) {
    if (__builtin_expect(o->ob_flags & RM_FLAG_LOOKUP, 0)) rm_lookup_epoch++;
    if (__builtin_expect(!rm_txn_on, 1)) return 0;
    if (o->ob_flags & (RM_FLAG_JOURNALED | RM_FLAG_TXN_NEW | RM_FLAG_IMMORTAL)) return 0;
    return rm_journal_object(o);
}

/* An argument that is NULL is the failed result of an earlier call: the
   callee fails too, keeping that call's error (CPython's convention), so
   an allocation failure in module code is never turned into a value. */
static inline int rm_missing(const void *arg, const char *what) {
    if (arg) return 0;
    if (!rm_error_occurred()) rm_error_set(RM_ERR_VALUE, "%s: NULL argument", what);
    return 1;
}

/* ---- fault.c ---- */
typedef enum rm_fault_point {
    RM_FAULT_LOAD,
    RM_FAULT_INIT,
    RM_FAULT_MODULE_HOOK,
    RM_FAULT_DEPENDENTS,
    RM_FAULT_REMAP,
    RM_FAULT_REHASH,
    RM_FAULT_MIGRATE,
    RM_FAULT_CLASS_HOOK,
    RM_FAULT_FIELD_INIT,
    RM_FAULT_PUBLISH,
    RM_FAULT_ALLOC,
    RM_FAULT_NPOINTS
} rm_fault_point;
/* Counts one occurrence of `point` inside a transaction and fails it if it
   is the armed one. Inline: points sit on per-instance paths. */
extern size_t rm_fault_counts[RM_FAULT_NPOINTS];
extern int rm_fault_armed;
int rm_fault_fire(rm_fault_point point, size_t n);
static inline int rm_fault_at(rm_fault_point point) {
    if (__builtin_expect(!rm_txn_on, 1)) return 0;
    size_t n = ++rm_fault_counts[point];
    return __builtin_expect((int)point == rm_fault_armed, 0) ? rm_fault_fire(point, n) : 0;
}

/* ---- remap.c, for txn.c ----
** Rewrites whose undo the transaction cannot derive from the mapping are
** logged by the walk: the slot's owner (kept alive by the log), its place,
** and the value it held. A place is a kind in the low two bits and a number:
** a byte offset in the owner, a list index, a table entry (2i key, 2i+1
** value), or an address (handles, slots a user traverse visits). */
#define RM_TAG_LOG ((uintptr_t)1) /* on a probe value: log this rewrite */
#define RM_WHERE_OFFSET 0u
#define RM_WHERE_LIST 1u
#define RM_WHERE_TABLE 2u
#define RM_WHERE_ADDRESS 3u
#define RM_WHERE(kind, n) (((uintptr_t)(n) << 2) | (kind))

typedef struct rm_undo_entry {
    rm_object *owner;
    uintptr_t where;
    rm_object *old;
} rm_undo_entry;

typedef struct rm_undo_log {
    rm_undo_entry *items; /* malloc; a root once the walk is over */
    size_t count, capacity;
    bool failed;
} rm_undo_log;

int rm_undo_push(rm_undo_log *log, rm_object *owner, uintptr_t where, rm_object *old);
#define RM_REMAP_UNDO_WALK 0x100u /* internal: no lists, no hashes, no allocation */
struct rm_probe;
struct rm_plans;
int rm_remap_run(const rm_mapping *m, const struct rm_probe *probe, unsigned options, rm_remap_report *report,
                 rm_undo_log *logs, struct rm_plans *plans);

/* remap.c: -1 (RM_ERR_VALUE) if the mapping would make a class its own
   ancestor (check_bases) or a tuple contain itself (check_cycles, which
   does both); checked by rm_remap_ex and rm_txn_remap before any change. */
int rm_mapping_check_bases(const rm_mapping *m);
int rm_mapping_check_cycles(const rm_mapping *m);

/* ---- library.c ---- */
void rm_library_note(const void *p);

/* heap.c: registers objects allocated elsewhere (each a complete, scanned object),
   in order; all or none. -1 with the error set. */
int rm_register_objects(rm_object *const *objs, size_t n);
void rm_libraries_after_collection(void);
/* heap.c: is a queued finalizer's code in [lo, hi)? */
bool rm_finalizer_pending_in(uintptr_t lo, uintptr_t hi);

/* ---- native.c: frames of calls into C code ----
** Every call into a C function (rm_invoke, a module's init) links a frame,
** on the caller's stack, onto its thread's chain; every thread that ever
** called one is in a registry. "A library's code is on a stack" means a
** frame of some thread runs code in it: library.c closes no retired
** library such a frame lies in, and closes the others even while an entry
** runs (its own version's frame keeps that one mapped, and nothing else).
** Frames are linked and unlinked under the runtime lock, like everything
** module code does, and stay linked while their thread waits in a safe
** point, which is when reloads happen.
*/
typedef struct rm_native_frame {
    const void *code;              /* the C function running */
    struct rm_native_frame *outer; /* the frame it was called from, on this thread */
} rm_native_frame;

typedef struct rm_native_thread {
    rm_native_frame *top;                /* innermost frame, NULL outside C code */
    struct rm_native_thread *prev, *next; /* the registry, under its own mutex */
    bool registered;
} rm_native_thread;

extern RM_THREAD_LOCAL rm_native_thread rm_native_self;
void rm_native_register(void); /* first call on a thread */

static inline void rm_native_push(rm_native_frame *f, const void *code) {
    if (__builtin_expect(!rm_native_self.registered, 0)) rm_native_register();
    f->code = code;
    f->outer = rm_native_self.top;
    rm_native_self.top = f;
}

static inline void rm_native_pop(rm_native_frame *f) { rm_native_self.top = f->outer; }

/* This thread's innermost frame, and putting it back after a crash the
   guard caught (the frames the crash jumped over are gone with it). */
static inline rm_native_frame *rm_native_top(void) { return rm_native_self.top; }
static inline void rm_native_unwind_to(rm_native_frame *f) { rm_native_self.top = f; }

/* Does a frame in progress on any thread run code in [lo, hi)? True as
   well when a thread could not be registered (nothing is then provable). */
bool rm_native_frame_in(uintptr_t lo, uintptr_t hi);

/* ---- runtime.c ---- */
extern unsigned rm_walk_threads;
void rm_debug_check_lock(void);
/* RM_DEBUG (config.h): an unchecked accessor checks that `obj` is not NULL
   and that `ok` holds, else stops with rm_debug_wrong_type (args.c). */
#ifdef RM_DEBUG
#define RM_DEBUG_EXPECT(ok, obj, accessor, expected) \
    do {                                              \
        if (!(obj) || !(ok)) rm_debug_wrong_type(accessor, obj, expected); \
    } while (0)
#else
#define RM_DEBUG_EXPECT(ok, obj, accessor, expected) ((void)0)
#endif
void rm_debug_check_collection_lock(void); /* in a collection, world stopped */
uint32_t rm_next_identity_hash(void);

/* ---- remap.c / check.c ---- */
bool rm_type_is_known(const rm_type *t);

/* ---- function.c ---- */
rm_object *rm_function_invoke(rm_object *f, rm_object *self, rm_object *const *args, size_t nargs);
extern RM_THREAD_LOCAL rm_object *rm_current_function;
rm_object *rm_function_arity_error(rm_object *f, size_t nargs); /* NULL, error set */
rm_object *rm_function_failed(rm_object *f); /* NULL, an error set if none is */

/* Checks the arity, then calls the C function. `self` is the function object
   for a plain call and the instance for a method call. Inline: every call
   and method call ends here. */
static inline rm_object *rm_invoke(rm_object *fobj, rm_object *self, rm_object *const *args, size_t nargs) {
    rm_function_object *f = (rm_function_object *)fobj;
    if (__builtin_expect(f->nargs >= 0 && (size_t)f->nargs != nargs, 0)) return rm_function_arity_error(fobj, nargs);
    rm_object *outer = rm_current_function;
    rm_current_function = fobj;
    rm_native_frame frame;
    rm_native_push(&frame, (const void *)f->fn);
    rm_object *result = f->fn(self, args, nargs);
    rm_native_pop(&frame);
    rm_current_function = outer;
    return __builtin_expect(result != NULL, 1) ? result : rm_function_failed(fobj);
}
void rm_function_set_current(rm_object *f); /* after a caught crash */

/* Seconds on the monotonic clock, for the reports' timings. */
static inline double rm_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- object.c ---- */
uint32_t rm_hash_mix(uint64_t x);
/* The whole attribute protocol, behind the caches of attr_fast.c. */
rm_object *rm_getattr_full(rm_object *obj, rm_object *name);
int rm_setattr_full(rm_object *obj, rm_object *name, rm_object *value);
/* obj.name(args) by the whole attribute protocol. */
rm_object *rm_call_method_slow(rm_object *obj, rm_object *name, rm_object *const *args, size_t nargs);

/* ---- class.c ---- */
rm_object *rm_class_reload_rule(rm_object *cls, rm_object *name);

#include "lookup.h"

/* ---- numbers.c ---- */
void rm_small_ints_init(void);

#pragma GCC visibility pop

#endif
