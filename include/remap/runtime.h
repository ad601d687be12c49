/*
** runtime.h: starting the runtime, the runtime lock, threads, errors and
** handles.
**
** Locking: one runtime lock guards the heap. Every call into this API other
** than rm_init, rm_acquire and the error accessors expects the caller to hold
** it. Remap takes it exclusively by being called under it; its helper
** threads only run while the caller waits.
*/
#ifndef REMAP_RUNTIME_H
#define REMAP_RUNTIME_H

#include "object.h"
#include <stdarg.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts Boehm and the runtime. Idempotent and thread-safe: any thread may
   be the first (it is registered with Boehm as by rm_thread_attach).
   Returns 0, or -1 with the error set if Boehm could not be started (then
   every later call returns -1 too). */
int rm_init(void);

/* The runtime lock. Not recursive. */
void rm_acquire(void);
void rm_release(void);
bool rm_lock_held(void); /* by the calling thread */

/* A safe point: if another thread waits for the lock (a reload or a request
   from the control socket), let it run, then take the lock back. Call it,
   holding the lock, from long-running loops of host or module code. Code
   that calls it from a module must expect that module's definitions to have
   been replaced when it returns; its own frame keeps running the old code,
   whose library stays mapped meanwhile. */
void rm_safe_point(void);

/* A thread not created through Boehm registers before it touches the heap.
   Also unblocks Boehm's stop-the-world signals, which Dispatch worker
   threads block. Idempotent per thread. The thread is unregistered when it
   exits (or earlier with rm_thread_detach). Registering allocates, which
   may collect, so it takes the runtime lock (waiting for it if another
   thread holds it) unless the caller holds it. */
int rm_thread_attach(void);
void rm_thread_detach(void);

/* Overwrites the unused part of the calling thread's stack below the caller
   (64 KiB). Stacks are scanned conservatively: a pointer left there by a
   call that has returned keeps its object alive until something overwrites
   it. Call it before a collection that must find garbage promptly. */
void rm_scrub_stack(void);

/* ---- Errors ----
** A function that fails returns NULL (or -1) and sets the current error of
** the calling thread: a kind and a message. */
typedef enum rm_error_kind {
    RM_OK = 0,
    RM_ERR_TYPE,      /* wrong type of argument */
    RM_ERR_VALUE,     /* right type, bad value */
    RM_ERR_KEY,       /* missing key */
    RM_ERR_INDEX,     /* index out of range */
    RM_ERR_ATTRIBUTE, /* missing attribute */
    RM_ERR_MEMORY,    /* allocation failed */
    RM_ERR_RUNTIME,   /* anything else */
    RM_ERR_IMPORT,    /* a module could not be loaded */
    RM_ERR_RELOAD,    /* a reload failed */
    RM_ERR_REMOVED,   /* a definition removed by a reload was called */
} rm_error_kind;

void rm_error_set(rm_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rm_error_setv(rm_error_kind kind, const char *fmt, va_list ap);
void rm_error_set_message(rm_error_kind kind, const char *message); /* not variadic */
rm_error_kind rm_error_occurred(void);
const char *rm_error_message(void); /* "" when no error */
const char *rm_error_kind_name(rm_error_kind kind);
void rm_error_clear(void);

/* ---- Handles ----
** A handle is a slot in a table Boehm scans: the way to keep a heap reference
** in memory Boehm does not scan (a Swift object, a malloc block). Handles are
** roots, and remap rewrites them like heap slots. */
typedef struct rm_handle_slot *rm_handle;

rm_handle rm_handle_new(rm_object *obj); /* NULL with an error on failure */
rm_object *rm_handle_get(rm_handle h);
void rm_handle_set(rm_handle h, rm_object *obj);
void rm_handle_free(rm_handle h);
size_t rm_handle_count(void);

#ifdef __cplusplus
}
#endif
#endif
