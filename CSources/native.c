/*
** native.c: the registry of threads that call into C code, and the
** question library.c asks of it: is any frame running code in a library?
**
** Each thread's record lives in its own thread-local storage and is linked
** into the registry on its first call; a key destructor unlinks it when
** the thread exits (thread-local storage outlives key destructors). The
** registry has its own mutex: threads exit without the runtime lock.
*/
#include "internal.h"

#include <pthread.h>

RM_THREAD_LOCAL rm_native_thread rm_native_self;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static rm_native_thread *registry;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool have_key;
/* Threads whose exit could not be watched: never registered, so their
   frames are unknown and no library can be proved unused. */
static bool untracked;

static void unregister(void *arg) {
    rm_native_thread *t = arg;
    pthread_mutex_lock(&registry_lock);
    if (t->prev) t->prev->next = t->next;
    else registry = t->next;
    if (t->next) t->next->prev = t->prev;
    t->registered = false;
    pthread_mutex_unlock(&registry_lock);
}

static void make_key(void) { have_key = pthread_key_create(&exit_key, unregister) == 0; }

void rm_native_register(void) {
    rm_native_thread *t = &rm_native_self;
    pthread_once(&key_once, make_key);
    pthread_mutex_lock(&registry_lock);
    if (!have_key || pthread_setspecific(exit_key, t) != 0) {
        untracked = true;
        /* Marked registered all the same: its frames still link (on its own
           chain, seen by nobody); only the registry lacks it. */
        t->registered = true;
    } else {
        t->prev = NULL;
        t->next = registry;
        if (registry) registry->prev = t;
        registry = t;
        t->registered = true;
    }
    pthread_mutex_unlock(&registry_lock);
}

bool rm_native_frame_in(uintptr_t lo, uintptr_t hi) {
    pthread_mutex_lock(&registry_lock);
    bool found = untracked;
    for (rm_native_thread *t = registry; t && !found; t = t->next)
        for (rm_native_frame *f = t->top; f && !found; f = f->outer)
            found = (uintptr_t)f->code >= lo && (uintptr_t)f->code < hi;
    pthread_mutex_unlock(&registry_lock);
    return found;
}
