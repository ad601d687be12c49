/*
** library.c: where a loaded shared library's code lies, so the loader can
** tell when no function object points into it any more.
*/
#define _GNU_SOURCE
#include "internal.h"
#include "segments.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>

/* The address range of every segment of the library that defines `symbol`.
   Returns 0, or -1 with the error set. */
int rm_library_range(void *symbol, uintptr_t *lo, uintptr_t *hi) {
    Dl_info info;
    if (!dladdr(symbol, &info) || !info.dli_fbase) {
        rm_error_set(RM_ERR_IMPORT, "cannot find the library of symbol %p", symbol);
        return -1;
    }
    if (!rm_object_segments((uintptr_t)info.dli_fbase, lo, hi)) {
        rm_error_set(RM_ERR_IMPORT, "cannot find the segments of %s", info.dli_fname ? info.dli_fname : "?");
        return -1;
    }
    return 0;
}

/* ---- Retired libraries ----
** A library replaced by a reload (or one whose version failed to load)
** stays mapped until no live object can run its code or read its data:
** functions whose C function is in it, objects of user types whose
** procedures or name are in it, capsules whose finalizer or name is in it,
** and queued finalizers. Counting happens inside each collection's own pass
** over the registry (heap.c's prune, which calls this file's observer while a
** library is retired), so proving a library unused costs no
** extra walk. Nor may any thread have a frame in its code (native.c's
** native frames: an entry's loop keeps its own version mapped, and only
** that one). It is closed at the next check after that collection:
** rm_release (a safe point's included), rm_collect_and_close, the start
** of a reload. */
typedef struct retired_library {
    void *handle;
    uintptr_t lo, hi;
    size_t live;   /* objects found using it by the last collection */
    bool counted;  /* a collection has counted since it was retired */
    bool revived;  /* something pointed into it after that collection */
} retired_library;

/* What each collection's prune calls while a library is retired. */
static void count_begin(void);
static void count_object(rm_object *o);
static void count_end(void);
static const rm_prune_observer counter = {count_begin, count_object, count_end};

static retired_library *retired;
static size_t nretired, retired_capacity;
static size_t checked_at = (size_t)-1; /* rm_collection_count() of the last close */
static size_t closed_total;

int rm_library_retire(void *handle, uintptr_t lo, uintptr_t hi) {
    if (nretired == retired_capacity) {
        size_t cap = retired_capacity ? retired_capacity * 2 : 16;
        retired_library *grown = realloc(retired, cap * sizeof *grown);
        if (!grown) {
            /* Never close what may still run: keep it mapped for good. */
            rm_error_set(RM_ERR_MEMORY, "out of memory retiring a library; it stays loaded");
            return -1;
        }
        retired = grown;
        retired_capacity = cap;
    }
    retired[nretired++] = (retired_library){handle, lo, hi, 0, false, false};
    rm_heap_set_prune_observer(&counter);
    return 0;
}

size_t rm_libraries_retired(void) { return nretired; }
size_t rm_libraries_closed(void) { return closed_total; }

static retired_library *library_at(uintptr_t p) {
    for (size_t i = 0; i < nretired; i++)
        if (p >= retired[i].lo && p < retired[i].hi) return &retired[i];
    return NULL;
}

/* Called for code or data pointers a new object takes (rm_function_new,
   rm_capsule_new, rm_type_new): the last count no longer holds. */
void rm_library_note(const void *p) {
    retired_library *lib = nretired && p ? library_at((uintptr_t)p) : NULL;
    if (lib) lib->revived = true;
}

/* From prune, world stopped: no allocation, no lock. */
static void count_begin(void) {
    for (size_t i = 0; i < nretired; i++) retired[i].live = 0;
}

static void count_pointer(const void *p) {
    retired_library *lib = p ? library_at((uintptr_t)p) : NULL;
    if (lib) lib->live++;
}

static void count_object(rm_object *o) {
    rm_type *t = o->ob_type;
    if (t == &rm_function_type) {
        count_pointer((const void *)((rm_function_object *)o)->fn);
    } else if (t == &rm_capsule_type) {
        count_pointer((const void *)((rm_capsule_object *)o)->finalizer);
        count_pointer(((rm_capsule_object *)o)->name);
    } else if (t->tp_flags & RM_TYPE_USER) {
        count_pointer((const void *)t->tp_traverse);
        count_pointer((const void *)t->tp_hash);
        count_pointer((const void *)t->tp_equal);
        count_pointer((const void *)t->tp_call);
        count_pointer((const void *)t->tp_size);
        count_pointer((const void *)t->tp_finalize);
        count_pointer(t->tp_name);
    }
}

static void count_end(void) {
    for (size_t i = 0; i < nretired; i++) {
        retired[i].counted = true;
        retired[i].revived = false;
    }
}

/*
** Closes every retired library the last collection found unused, that no
** frame in progress runs code of, and no queued finalizer lives in.
** Returns how many closed. Under the runtime lock: no frame is linked or
** unlinked meanwhile.
*/
size_t rm_libraries_close_unused(void) {
    if (!nretired) return 0;
    checked_at = rm_collection_count();
    size_t kept = 0, closed = 0;
    for (size_t i = 0; i < nretired; i++) {
        retired_library lib = retired[i];
        bool unused = lib.counted && !lib.revived && lib.live == 0 && !rm_finalizer_pending_in(lib.lo, lib.hi) &&
                      !rm_native_frame_in(lib.lo, lib.hi);
        if (unused) {
            dlclose(lib.handle);
            closed++;
        } else {
            retired[kept++] = lib;
        }
    }
    nretired = kept;
    if (!nretired) rm_heap_set_prune_observer(NULL); /* nothing to count: collections skip it */
    closed_total += closed;
    return closed;
}

/* rm_release's check: only after a collection, so it costs nothing else. */
void rm_libraries_after_collection(void) {
    if (nretired && checked_at != rm_collection_count()) rm_libraries_close_unused();
}

size_t rm_libraries_reclaim(void) {
    size_t waiting = 0;
    for (size_t i = 0; i < nretired; i++) waiting += !retired[i].counted;
    return waiting >= RM_RETIRED_COLLECT_AT ? rm_collect_and_close() : rm_libraries_close_unused();
}

size_t rm_collect_and_close(void) {
    rm_collect();
    return rm_libraries_close_unused();
}
