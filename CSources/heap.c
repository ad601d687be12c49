/*
** heap.c: allocation on Boehm and the registry of live objects.
**
** How the runtime finds every live object (see docs/internals.md, "Finding every live
** object"): each object is appended to a registry when it is allocated. The
** registry lives in malloc memory and holds hidden pointers, so it keeps
** nothing alive. At the end of every collection's mark phase, with the world
** stopped and before anything is swept, the registry is compacted: entries
** whose object Boehm did not mark are dropped. So every registered object
** was marked by the last collection or allocated after it, and so was
** everything it points to: nothing a walk can reach from the registry has
** been swept, and a walk never reads reused memory. No object is ever freed
** by hand, so this invariant has no exception.
**
** Leaf objects (int, float, str: no reference but an immortal static type)
** are allocated atomic and kept in a registry of their own, which the remap
** walk skips: nothing in them can be remapped.
*/
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/*
** Built with AddressSanitizer, a frame may live on a "fake stack" (to catch
** use after return): memory Boehm does not scan, so an object only such a
** frame holds is collected under it. The core asks ASan to keep frames on
** the real stack. Not weak: the ASan runtime has a weak default of its own,
** which a weak one here would lose to; a program that wants other defaults
** sets ASAN_OPTIONS (keeping detect_stack_use_after_return=0).
*/
#if RM_ASAN
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void) {
    return "detect_stack_use_after_return=0";
}
#endif

rm_registry rm_live;
static rm_registry leaves;
/* Every class, also in rm_live: the few a reload must look through. */
rm_registry rm_classes;

/* Finalizers of dead capsules, found during a mark phase and run later with
   the runtime lock held. Room is reserved when a capsule is created, because
   nothing may be allocated while the world is stopped. */
typedef struct pending_finalizer {
    void (*fn)(void *);
    void *pointer;
} pending_finalizer;

static pending_finalizer *pending;
static size_t npending, pending_capacity, capsules_tracked;
static size_t collections;

/* Where the objects allocated during the transaction start in rm_live:
   compaction keeps the order, so prune moves the mark with it. */
static size_t txn_mark;
static bool txn_marking;

size_t rm_collection_count(void) { return collections; }

/* Who counts the live objects during each prune: library.c, while it has
   retired libraries to prove unused. The heap knows nothing of libraries. */
static const rm_prune_observer *observer;

void rm_heap_set_prune_observer(const rm_prune_observer *o) { observer = o; }

/*
** Runs at GC_EVENT_MARK_END with the world stopped and Boehm's lock held:
** must not allocate, must not take a lock. Compacts both registries in
** place; clears weak references whose target died; queues the finalizers of
** dead capsules. Reading a dead object's header is safe: nothing has been
** swept yet.
*/
static void prune(rm_registry *r) {
    size_t kept = 0;
    bool moves_mark = r == &rm_live && txn_marking;
    for (size_t i = 0; i < r->count; i++) {
        if (moves_mark && i == txn_mark) {
            txn_mark = kept;
            moves_mark = false;
        }
        uintptr_t hidden = r->items[i];
        rm_object *o = RM_REVEAL(hidden);
        if (GC_is_marked(o)) {
            r->items[kept++] = hidden;
            if (observer) observer->object(o);
            if (o->ob_type == &rm_weakref_type) {
                rm_weakref_object *w = (rm_weakref_object *)o;
                if (w->hidden && !w->ob_aux && !GC_is_marked(RM_REVEAL(w->hidden)))
                    w->hidden = 0;
            }
        } else if (o->ob_type == &rm_capsule_type) {
            rm_capsule_object *c = (rm_capsule_object *)o;
            /* Only a capsule with a finalizer reserved room: giving room back
               for the others let later finalizers find the queue full. */
            if (c->finalizer) {
                if (npending < pending_capacity) {
                    pending[npending].fn = c->finalizer;
                    pending[npending].pointer = c->pointer;
                    npending++;
                }
                if (capsules_tracked) capsules_tracked--;
            }
        }
    }
    if (moves_mark) txn_mark = kept; /* the mark was at the end */
    r->count = kept;
}

/*
** Pruning compacts the registries in place, so the thread that collects must
** be the holder of the runtime lock: every other thread that touches them
** holds it, and a collection started elsewhere could stop the holder in the
** middle of a push or a walk over rm_live. Every path into Boehm that can
** collect is under the lock: rm_alloc and rm_gc_alloc check it, rm_collect
** takes it, rm_thread_attach registers a thread (which allocates) under it.
** A debug build checks it here.
*/
static void on_collection_event(GC_EventType event) {
    if (event != GC_EVENT_MARK_END) return;
    rm_debug_check_collection_lock();
    const rm_prune_observer *counting = observer;
    if (counting) counting->begin();
    prune(&rm_live);
    prune(&leaves);
    if (counting) counting->end();
    size_t classes = rm_classes.count;
    prune(&rm_classes);
    /* A dead class's address may be reused: the lookup cache keys on it. */
    if (rm_classes.count != classes) rm_lookup_invalidate();
    collections++;
}

/*
** RM_GC_STRESS=N in the environment (read once, at rm_init): every Nth
** allocation through rm_gc_alloc / rm_gc_alloc_atomic (so every rm_alloc)
** first runs a full collection, as Wren's WREN_DEBUG_GC_STRESS does: an
** object kept alive only by memory Boehm does not scan is then freed, and
** its reuse shows, at once instead of in production. Never while
** collections are disabled (a walk over the registry, the heap check, a
** layout commit: GC_disable), never from a thread that does not hold the
** runtime lock, never inside a stress collection.
*/
static size_t gc_stress_every;
static size_t gc_stress_count;
static bool gc_stress_running;

size_t rm_gc_stress_interval(void) { return gc_stress_every; }

static void gc_stress(void) {
    if (++gc_stress_count < gc_stress_every) return;
    gc_stress_count = 0;
    if (gc_stress_running || GC_is_disabled() || !rm_lock_held()) return;
    gc_stress_running = true;
    GC_gcollect();
    gc_stress_running = false;
}

void rm_heap_init(void) {
    GC_set_on_collection_event(on_collection_event);
    const char *stress = getenv("RM_GC_STRESS");
    if (stress && *stress) {
        char *end;
        unsigned long n = strtoul(stress, &end, 10);
        if (*end == '\0' && n > 0) gc_stress_every = n;
    }
}

/* Room for one more capsule's finalizer in the pending queue. */
int rm_capsule_track(void) {
    if (capsules_tracked + npending >= pending_capacity) {
        size_t cap = pending_capacity ? pending_capacity * 2 : 64;
        pending_finalizer *p = realloc(pending, cap * sizeof *p);
        if (!p) {
            rm_error_set(RM_ERR_MEMORY, "out of memory for capsule finalizers");
            return -1;
        }
        pending = p;
        pending_capacity = cap;
    }
    capsules_tracked++;
    return 0;
}

bool rm_finalizer_pending_in(uintptr_t lo, uintptr_t hi) {
    for (size_t i = 0; i < npending; i++) {
        uintptr_t fn = (uintptr_t)pending[i].fn;
        if (fn >= lo && fn < hi) return true;
    }
    return false;
}

/* Finalizers are user code: run them outside the collector, under the
   runtime lock, each once. A finalizer may allocate; one that triggers a
   collection may queue more, which this loop also runs. */
void rm_run_pending_finalizers(void) {
    while (npending > 0) {
        pending_finalizer f = pending[--npending];
        f.fn(f.pointer);
    }
}

/* Room for `more` entries past r's count: the capacity doubled as needed. */
static int registry_reserve(rm_registry *r, size_t more) {
    size_t cap = r->capacity;
    while (cap < r->count + more) cap = cap ? 2 * cap : 4096;
    if (cap == r->capacity) return 0;
    uintptr_t *items = realloc(r->items, cap * sizeof *items);
    if (!items) return -1;
    r->items = items;
    r->capacity = cap;
    return 0;
}

static int registry_push(rm_registry *r, rm_object *o) {
    if (r->count == r->capacity && registry_reserve(r, 1) < 0) return -1;
    r->items[r->count++] = RM_HIDE(o);
    return 0;
}

int rm_register_objects(rm_object *const *objs, size_t n) {
    if (registry_reserve(&rm_live, n) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for the object registry");
        return -1;
    }
    for (size_t i = 0; i < n; i++) rm_live.items[rm_live.count++] = RM_HIDE(objs[i]);
    return 0;
}

void rm_heap_txn_begin(void) {
    txn_mark = rm_live.count;
    txn_marking = true;
}

size_t rm_heap_txn_mark(void) { return txn_marking ? txn_mark : rm_live.count; }

/* Clears RM_FLAG_TXN_NEW on registry entries [begin, end), prefetching. */
typedef struct flag_range {
    pthread_t thread;
    size_t begin, end;
} flag_range;

static void *clear_txn_new(void *arg) {
    flag_range *r = arg;
    for (size_t i = r->begin; i < r->end; i++) {
        if (i + 16 < r->end) __builtin_prefetch(RM_REVEAL(rm_live.items[i + 16]), 1);
        RM_REVEAL(rm_live.items[i])->ob_flags &= ~RM_FLAG_TXN_NEW;
    }
    return NULL;
}

/* A reload that moved 10^6 struct instances made as many objects, each a
   cache miss here: two threads halve it (they write disjoint objects'
   headers, and nothing else runs). */
void rm_heap_txn_end(void) {
    if (!txn_marking) return;
    size_t n = rm_live.count - txn_mark;
    flag_range halves[2] = {{.begin = txn_mark, .end = rm_live.count}};
    bool helped = false;
    if (n >= 2 * RM_WALK_CHUNK && rm_walk_threads > 1) {
        halves[1] = (flag_range){.begin = txn_mark + n / 2, .end = rm_live.count};
        halves[0].end = halves[1].begin;
        helped = pthread_create(&halves[1].thread, NULL, clear_txn_new, &halves[1]) == 0;
        if (!helped) halves[0].end = rm_live.count;
    }
    clear_txn_new(&halves[0]);
    if (helped) pthread_join(halves[1].thread, NULL);
    txn_marking = false;
}

/* Every allocation is a fault point inside a transaction. */
int rm_register_class(rm_object *cls) {
    if (registry_push(&rm_classes, cls) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for the class registry");
        return -1;
    }
    return 0;
}

void *rm_gc_alloc(size_t size) {
    rm_debug_check_lock();
    if (rm_txn_on && rm_fault_at(RM_FAULT_ALLOC)) return NULL;
    if (gc_stress_every) gc_stress();
    void *p = GC_MALLOC(size);
    if (!p) rm_error_set(RM_ERR_MEMORY, "out of memory (%zu bytes)", size);
    return p;
}

void *rm_gc_alloc_atomic(size_t size) {
    rm_debug_check_lock();
    if (rm_txn_on && rm_fault_at(RM_FAULT_ALLOC)) return NULL;
    if (gc_stress_every) gc_stress();
    void *p = GC_MALLOC_ATOMIC(size);
    if (!p) rm_error_set(RM_ERR_MEMORY, "out of memory (%zu bytes)", size);
    return p;
}

/*
** Allocates and registers an object. Atomic types get memory Boehm does not
** scan (and does not clear). The header is complete before the object is
** registered, so a collection during a later allocation sees a valid type.
*/
rm_object *rm_alloc(rm_type *type, size_t size) {
    rm_debug_check_lock();
    if (npending) rm_run_pending_finalizers();
    if (size < sizeof(rm_object)) size = sizeof(rm_object);
    bool atomic = rm_type_is_leaf(type);
    rm_object *o = atomic ? rm_gc_alloc_atomic(size) : rm_gc_alloc(size);
    if (!o) return NULL;
    if (atomic) memset(o, 0, size);
    o->ob_type = type;
    o->ob_hash = rm_next_identity_hash();
    if (rm_txn_on && !atomic) o->ob_flags = RM_FLAG_TXN_NEW;
    if (type->tp_flags & RM_TYPE_USER) rm_library_note((const void *)type->tp_traverse);
    if (registry_push(atomic ? &leaves : &rm_live, o) < 0) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for the object registry");
        return NULL;
    }
    return o;
}

/* Takes the lock if the caller does not hold it: a collection prunes the
   registry, which only the lock holder may change. */
void rm_collect(void) {
    bool took = !rm_lock_held();
    if (took) {
        if (rm_thread_attach() < 0) return;
        rm_acquire();
    }
    GC_gcollect();
    rm_run_pending_finalizers();
    if (took) rm_release();
}

/*
** Visits every registered object, containers first, then leaves. Collections
** are disabled meanwhile so the registry is not compacted under the loop;
** the loop re-reads the array each step so an allocation that grows it is
** harmless. Objects allocated during the walk are not visited.
*/
int rm_heap_each(rm_object_visitor fn, void *arg) {
    rm_debug_check_lock();
    int rc = 0;
    GC_disable();
    rm_registry *registries[2] = {&rm_live, &leaves};
    for (int r = 0; r < 2 && rc == 0; r++) {
        size_t n = registries[r]->count;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = fn(RM_REVEAL(registries[r]->items[i]), arg);
    }
    GC_enable();
    return rc;
}

/* ---- Statistics ---- */

static int count_object(rm_object *o, void *arg) {
    rm_heap_stats *s = arg;
    size_t bytes = rm_sizeof(o);
    const rm_type *t = o->ob_type;
    s->objects++;
    s->bytes += bytes;
    size_t i = 0;
    while (i < s->ntypes && s->types[i].type != t) i++;
    if (i == s->ntypes) {
        if (s->ntypes < RM_REPORT_TYPES) s->ntypes++;
        else { i = RM_REPORT_TYPES; t = NULL; }
        s->types[i].type = t;
    }
    s->types[i].objects++;
    s->types[i].bytes += bytes;
    return 0;
}

/* Per-type counts: instances are counted per class; past RM_REPORT_TYPES
   types the rest share the last line (type NULL). */
void rm_heap_stats_get(rm_heap_stats *stats) {
    memset(stats, 0, sizeof *stats);
    rm_heap_each(count_object, stats);
    stats->handles = rm_handle_count();
    stats->gc_heap_bytes = GC_get_heap_size();
    stats->collections = collections;
}
