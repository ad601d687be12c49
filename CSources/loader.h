/*
** loader.h: what the Swift loader (Sources/Reload) needs from the core and
** no module author or C host uses: module builders, the import hook,
** tombstones, and the reload transaction. Include/internal/ to
** include/remap/'s Include/, as in CPython.
**
** Swift imports it as the CRemapLoader module (Sources/CRemapLoader's module
** map points here); the core's files include it through internal.h, so each
** definition is checked against its declaration. Hidden like internal.h:
** Swift links the core into the same image, so nothing here is exported
** from libRemapHost.so and no module or host can come to depend on it.
** Hosts reload through include/remap/host.h, which drives all of this.
*/
#ifndef REMAP_LOADER_H
#define REMAP_LOADER_H

#include "remap/remap.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(hidden)

/* ---- Building a module ---- */
/* Loads module `name` for rm_import_from: returns the module object or NULL
   with the error set. Installed by the loader. The hook is process-wide and
   keeps `context` as given: it must stay valid until the hook is replaced
   or removed (rm_set_import_hook(NULL, NULL)). */
typedef rm_object *(*rm_import_hook)(const char *importer, const char *name, void *context);
void rm_set_import_hook(rm_import_hook hook, void *context);

/* A builder for one generation of a module. `previous` is the namespace of
   the generation being replaced, or NULL on first load: state is taken from
   it. Lives in memory Boehm scans until rm_module_builder_free. */
rm_module *rm_module_builder_new(const char *name, rm_object *previous, int64_t generation);
void rm_module_builder_free(rm_module *m);
/* name -> int (rm_def_kind) of every definition made. */
rm_object *rm_module_builder_kinds(rm_module *m);
/* names of the modules imported, in order (a list of str). */
rm_object *rm_module_builder_imports(rm_module *m);
/* name -> str: the module each rm_import_from binding came from. */
rm_object *rm_module_builder_import_sources(rm_module *m);
/* Runs an init function against the builder. */
int rm_module_builder_run(rm_module *m, rm_module_init_fn init);

/* A function that fails with "<qualname> was removed in generation N". */
rm_object *rm_tombstone_new(const char *qualname, int64_t generation);

/* The address range of the library that defines `symbol` (every segment
   of it): what rm_library_retire below is given. 0, or -1 with the error
   set. */
int rm_library_range(void *symbol, uintptr_t *lo, uintptr_t *hi);

/* ---- The reload transaction ----
** A transaction makes everything between rm_txn_begin and rm_txn_commit
** undoable by rm_txn_rollback:
**   - every change made through the API to an object that existed before
**     the transaction (list, dict, set, instance, class, module, tuple,
**     handle) is journaled the first time it happens: a copy of the object
**     is kept and put back on rollback;
**   - the one remap walk of the transaction (rm_txn_remap) is undone slot
**     by slot, without inverting the mapping (two old objects may map to one
**     new object);
**   - objects allocated during the transaction are not journaled: a
**     rollback leaves them unreachable from the old world.
** What cannot be journaled: fields of user C types written directly, and
** memory outside the heap.
*/

/* Starts a transaction. -1 (RM_ERR_RELOAD) if one is already active: a
   reload cannot start inside another. */
int rm_txn_begin(void);
int rm_txn_active(void);

/* The transaction's remap walk: rm_remap with an undo log. At most one per
   transaction. Returns 0, or -1 with the error set; after -1 the slots may
   be partly rewritten, and rm_txn_rollback undoes what was. `m` must stay
   alive (not freed) until the transaction ends: a rollback reads it. */
int rm_txn_remap(const rm_mapping *m, rm_remap_report *report);

/* Ends the transaction keeping every change. */
void rm_txn_commit(void);
/* Ends the transaction putting back every journaled object and every slot
   the walk rewrote. Never allocates, never fails. */
void rm_txn_rollback(void);

/* Objects journaled so far in the active transaction (for reports). */
size_t rm_txn_journaled(void);

/* ---- Classes ----
** Classes whose inheritance passes through a replaced class (a subclass in
** a module that is not reloaded, its own subclasses...) are rebased: a copy
** on the new base, with the new base's fields and defaults followed by its
** own, is added to the mapping, base classes first. Returns a list
** [old, new, old, new, ...] of the pairs added, or NULL with the error set. */
rm_object *rm_mapping_add_subclasses(rm_mapping *m);

/* What the transaction's remap did to the instances of one replaced
   class, and what rm_migrate_instances then did. Read with rm_txn_class
   before the transaction ends. */
typedef struct rm_class_migration {
    rm_object *old_cls, *new_cls;
    size_t instances;   /* instances of old_cls the walk retyped */
    size_t in_place;    /* migrated to the new layout during the walk */
    size_t moved;       /* no room: fields moved to the attribute dict after it */
    size_t given_dict;  /* migrated in place, then given an attribute dict by an
                           initializer or hook (counted in in_place too) */
    size_t initialized; /* field initializer calls that returned */
    size_t hooks_run;   /* __reload__ calls that returned */
    double seconds;     /* after the walk: moves, initializers and hooks
                           (estimated: one instance in 32 is timed; the
                           classes' sum never exceeds the pass's time) */
} rm_class_migration;

/* The replaced classes of the active transaction's remap, in mapping order
   (rebased subclasses included). rm_txn_class returns NULL past the end. */
size_t rm_txn_class_count(void);
const rm_class_migration *rm_txn_class(size_t i);

/* What rm_migrate_instances did, and where it stopped on failure. */
typedef struct rm_migration {
    size_t migrated;        /* instances on a new field layout */
    size_t hooks_run;       /* class __reload__ calls that returned */
    size_t initialized;     /* field initializer calls that returned */
    size_t failed_class;    /* on failure: rm_txn_class index */
    size_t failed_instance; /* on failure: which of that class's instances */
    const char *failed_step; /* on failure: "move", "field initializer", "__reload__" */
} rm_migration;

/* After rm_txn_remap, which migrated the instances that had room: moves
   the others (fields past their room go to the attribute dict), runs the
   field initializers, then each new class's __reload__ (see module.h), for
   every instance the walk retyped. Every change is journaled. Returns 0,
   or -1 with the error set and the place in *result. */
int rm_migrate_instances(rm_migration *result);

/* ---- New code, run under the crash guard (guard.h) ----
** A crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, abort) in the code these run
** fails the call with an error naming the signal, sets *crashed to it, and
** resets the core's per-call state; the caller rolls back. `point` names
** the fault point reached inside the guard (NULL: none). */
int rm_guarded_init(rm_module *m, rm_module_init_fn init, int *crashed);
rm_object *rm_guarded_call(rm_object *callable, rm_object *const *args, size_t nargs, const char *point,
                           int *crashed);
int rm_guarded_migrate(rm_migration *result, int *crashed);
/* "SIGSEGV" for SIGSEGV, ...: the name a *crashed signal is reported by. */
const char *rm_signal_name(int signal);

/* Hands a dlopen handle of a module library to the runtime, which closes
   it once no live object can run its code or read its data, [lo, hi) being
   where it is mapped (rm_library_range). Any library that ran code (a
   loaded, a failed, a replaced version) is retired, never closed directly.
   -1 if out of memory: the library then stays mapped for good. */
int rm_library_retire(void *handle, uintptr_t lo, uintptr_t hi);
/* Closes what the last collection proved unused (rm_collect_and_close,
   heap.h, without collecting). Returns how many closed. */
size_t rm_libraries_close_unused(void);
/* Libraries retired and still mapped; closed so far by this process. */
size_t rm_libraries_retired(void);
size_t rm_libraries_closed(void);
/* At the start of a reload: closes the retired libraries proved unused,
   after a full collection if RM_RETIRED_COLLECT_AT (config.h) of them
   wait for one. Returns how many closed. */
size_t rm_libraries_reclaim(void);

/* ---- Fault injection ----
** Named failure points, each counted every time it is reached while a
** transaction is active. Arming makes the nth occurrence (1-based) of one
** point fail: with an error (RM_FAULT_ERROR), or with a SIGSEGV
** (RM_FAULT_CRASH, only meaningful where the crash guard runs). SQLite's
** fault-injection tests are the model: count a clean run, then fail each
** occurrence in turn. */
typedef enum rm_fault_mode {
    RM_FAULT_ERROR = 0,
    RM_FAULT_CRASH = 1,
} rm_fault_mode;

/* The points, in order; NULL past the last. */
const char *rm_fault_point_name(size_t i);
/* Arms `point` to fail at its nth occurrence from now. -1 for an unknown
   point. One point is armed at a time. */
int rm_fault_arm(const char *point, size_t nth, rm_fault_mode mode);
void rm_fault_disarm(void);
/* Occurrences of `point` since the last rm_fault_reset_counts. */
size_t rm_fault_count(const char *point);
void rm_fault_reset_counts(void);
/* Reaches `point`: returns 1 with the error set if this occurrence is the
   armed one (or crashes, in crash mode), else 0. */
int rm_fault(const char *point);


#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
