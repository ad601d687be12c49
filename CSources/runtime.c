/*
** runtime.c: start-up, the runtime lock, thread registration and the
** current error.
*/
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t lock_owner;
static bool lock_owned;
static bool initialized;
unsigned rm_walk_threads = 1;

/* Boehm's warnings (e.g. "Repeated allocation of very large block") are
   printed by default; they are not errors of ours, so keep stderr quiet. */
static void quiet_warning(char *msg, GC_word arg) {
    (void)msg;
    (void)arg;
}

static void after_register(void);

/*
** Starts Boehm once. Interior pointers are turned off before GC_INIT: every
** reference the runtime keeps points at an object's start, and the extra
** byte per object they need would push a 32-byte object into a 48-byte
** size class. Thread registration is allowed so that threads not created
** through Boehm (Swift's, Dispatch's) can call rm_thread_attach.
**
** Any thread may be the first: GC_INIT registers the calling thread with
** Boehm, so that thread gets what rm_thread_attach gives every other one
** (Boehm's signals unblocked, unregistration when it exits). A Dispatch
** worker that started the runtime otherwise kept Boehm's signals blocked,
** and the next collection from another thread aborted the process
** ("Signals delivery fails constantly"). Once only, even when two threads
** start it at the same time.
*/
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;
static char init_message[256];

static void init_once_body(void) {
    GC_set_all_interior_pointers(0);
    GC_INIT();
    if (!GC_is_init_called() || GC_get_heap_size() == 0) {
        snprintf(init_message, sizeof init_message, "Boehm GC could not be started");
        init_status = -1;
        return;
    }
    GC_allow_register_threads();
    GC_set_warn_proc(quiet_warning);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    rm_walk_threads = cores < 1 ? 1 : cores > RM_WALK_THREADS_DEFAULT_MAX ? RM_WALK_THREADS_DEFAULT_MAX : (unsigned)cores;
    rm_heap_init();
    rm_small_ints_init();
    if (GC_thread_is_registered()) after_register();
    __atomic_store_n(&initialized, true, __ATOMIC_RELEASE);
}

int rm_init(void) {
    pthread_once(&init_once, init_once_body);
    if (init_status != 0) {
        rm_error_set(RM_ERR_RUNTIME, "%s", init_message);
        return -1;
    }
    return 0;
}

void rm_set_walk_threads(unsigned n) {
    rm_walk_threads = n < 1 ? 1 : n > RM_MAX_WALKERS ? RM_MAX_WALKERS : n;
}

/* Threads waiting for the lock, and how many times it was taken: a safe
   point hands the lock over only when someone waits, and waits until
   someone took it. */
static int waiters;
static uint64_t acquisitions;

void rm_acquire(void) {
    __atomic_add_fetch(&waiters, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&runtime_lock);
    __atomic_sub_fetch(&waiters, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&acquisitions, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&lock_owner, pthread_self(), __ATOMIC_RELAXED);
    __atomic_store_n(&lock_owned, true, __ATOMIC_RELAXED);
}

/* Inside a reload (a hook calling it) the lock is not handed over: the
   waiter could be another reload, or a request that would see the heap
   half-reloaded. */
void rm_safe_point(void) {
    if (!__atomic_load_n(&waiters, __ATOMIC_SEQ_CST) || rm_txn_active()) return;
    uint64_t seen = __atomic_load_n(&acquisitions, __ATOMIC_SEQ_CST);
    rm_release();
    while (__atomic_load_n(&acquisitions, __ATOMIC_SEQ_CST) == seen && __atomic_load_n(&waiters, __ATOMIC_SEQ_CST))
        sched_yield();
    rm_acquire();
}

/* Releasing the lock (a safe point's too) is where libraries the last
   collection proved unused, and that no frame in progress runs, are
   closed. */
void rm_release(void) {
    rm_libraries_after_collection();
    __atomic_store_n(&lock_owned, false, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&runtime_lock);
}

/* Any thread may ask, holding the lock or not, so the owner is read
   atomically; relaxed is enough: only the holder itself can see its own
   id there, and it wrote it. */
bool rm_lock_held(void) {
    return __atomic_load_n(&lock_owned, __ATOMIC_RELAXED) &&
           pthread_equal(__atomic_load_n(&lock_owner, __ATOMIC_RELAXED), pthread_self());
}

/* At the end of a collection's mark phase, world stopped: was it started
   by the holder of the runtime lock? Async-signal-safe (no stdio, no lock). */
void rm_debug_check_collection_lock(void) {
#if RM_DEBUG_LOCK
    if (!rm_lock_held()) {
        static const char msg[] = "remap: a collection started without the runtime lock\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        abort();
    }
#endif
}

void rm_debug_check_lock(void) {
#if RM_DEBUG_LOCK
    if (!rm_lock_held()) {
        fprintf(stderr, "remap: heap used without the runtime lock (call rm_acquire)\n");
        abort();
    }
#endif
}

/* A thread registered by rm_thread_attach is unregistered when it exits,
   by this key's destructor: a registered thread that exits without it leaves
   an entry in Boehm's thread table, and when a new thread (one that blocks
   Boehm's signals, as Dispatch's do) gets the same pthread_t, the next
   collection aborts with "Signals delivery fails constantly". */
static pthread_key_t attached_key;
static pthread_once_t attached_once = PTHREAD_ONCE_INIT;

static void detach_at_exit(void *value) {
    (void)value;
    if (GC_thread_is_registered()) GC_unregister_my_thread();
}

static void make_attached_key(void) {
    pthread_key_create(&attached_key, detach_at_exit);
}

/*
** Registers the calling thread with Boehm so its stack is scanned and it is
** stopped during collections. Dispatch worker threads block every
** asynchronous signal; Boehm suspends threads with two of them, so unblock
** those or collections abort with "Signals delivery fails constantly".
*/
int rm_thread_attach(void) {
    if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE)) {
        rm_error_set(RM_ERR_RUNTIME, "the runtime is not started (call rm_init)");
        return -1;
    }
    if (GC_thread_is_registered()) return 0;
    struct GC_stack_base base;
    if (GC_get_stack_base(&base) != GC_SUCCESS) {
        rm_error_set(RM_ERR_RUNTIME, "cannot find the stack of this thread");
        return -1;
    }
    /* Registering allocates Boehm's record of the thread, and an allocation
       may start a collection, which prunes the registry of live objects:
       only the holder of the runtime lock may do that (another holder could
       be in the middle of a registry push or a walk). */
    bool took = !rm_lock_held();
    if (took) rm_acquire();
    GC_register_my_thread(&base);
    after_register();
    if (took) rm_release();
    return 0;
}

/* What every thread registered with Boehm needs: unregistration at exit,
   and Boehm's stop-the-world signals unblocked. */
static void after_register(void) {
    pthread_once(&attached_once, make_attached_key);
    pthread_setspecific(attached_key, (void *)1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, GC_get_suspend_signal());
    sigaddset(&set, GC_get_thr_restart_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void rm_thread_detach(void) {
    if (GC_thread_is_registered()) GC_unregister_my_thread();
    pthread_once(&attached_once, make_attached_key);
    pthread_setspecific(attached_key, NULL);
}

#define SCRUB_BYTES (64 * 1024)

void __attribute__((noinline)) rm_scrub_stack(void) {
    volatile char area[SCRUB_BYTES];
    memset((char *)area, 0, sizeof area);
    __asm__ volatile("" : : "r"(area) : "memory");
}

/* ---- Identity hashes ----
** Not derived from addresses: a remap hands an old object's hash to its
** replacement, and a hash must not change when memory is reused. A
** per-process counter scrambled by a multiplicative mix spreads well in
** power-of-two tables. Called under the runtime lock. */
static uint64_t hash_counter;

uint32_t rm_next_identity_hash(void) {
    uint32_t h = rm_hash_mix(++hash_counter);
    return h ? h : 1;
}

/* ---- The current error, per thread ---- */
#define ERROR_MESSAGE_MAX 1024

static RM_THREAD_LOCAL rm_error_kind error_kind;
static RM_THREAD_LOCAL char error_message[ERROR_MESSAGE_MAX];

void rm_error_setv(rm_error_kind kind, const char *fmt, va_list ap) {
    error_kind = kind == RM_OK ? RM_ERR_RUNTIME : kind;
    vsnprintf(error_message, sizeof error_message, fmt, ap);
}

void rm_error_set(rm_error_kind kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rm_error_setv(kind, fmt, ap);
    va_end(ap);
}

void rm_error_set_message(rm_error_kind kind, const char *message) { rm_error_set(kind, "%s", message); }

rm_error_kind rm_error_occurred(void) { return error_kind; }

const char *rm_error_message(void) { return error_kind ? error_message : ""; }

void rm_error_clear(void) {
    error_kind = RM_OK;
    error_message[0] = '\0';
}

const char *rm_error_kind_name(rm_error_kind kind) {
    switch (kind) {
    case RM_OK: return "ok";
    case RM_ERR_TYPE: return "TypeError";
    case RM_ERR_VALUE: return "ValueError";
    case RM_ERR_KEY: return "KeyError";
    case RM_ERR_INDEX: return "IndexError";
    case RM_ERR_ATTRIBUTE: return "AttributeError";
    case RM_ERR_MEMORY: return "MemoryError";
    case RM_ERR_RUNTIME: return "RuntimeError";
    case RM_ERR_IMPORT: return "ImportError";
    case RM_ERR_RELOAD: return "ReloadError";
    case RM_ERR_REMOVED: return "RemovedError";
    }
    return "Error";
}
