/*
** guard.c: runs a function with the crash signals caught (rm_guard), so a
** host survives a fault in code it has just loaded.
**
** Signal actions belong to the process, so the handlers are installed while
** at least one thread is inside a guard; each thread decides for itself,
** through `current`, whether a signal is its crash. A signal the guard must
** not take (another thread's, one sent with kill, a fault inside libgc, an
** abort libgc raised) goes where it would have gone without the guard.
*/
#define _GNU_SOURCE
#include "guard.h"
#include "segments.h"

#include "boehm.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MAP_STACK
#define MAP_STACK 0
#endif

/* The alternate stack only has to hold the kernel's signal frame and a
   handler that records three words and jumps; the frame grows with the CPU's
   vector state (several KiB with AVX-512), hence the wide margin. */
#define ALTSTACK_SIZE (64 * 1024)

/* Initial-exec TLS: the handler may run on a thread that never called
   rm_guard, and must not make the dynamic loader allocate its TLS block. */
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

typedef struct guard {
    sigjmp_buf env;
    rm_crash crash;
    struct guard *outer;
} guard;

static const int caught[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NCAUGHT ((int)(sizeof caught / sizeof caught[0]))

/* The innermost guard of this thread, NULL outside. Written only by its own
   thread and read by that thread's handler: one aligned pointer store, which
   a signal cannot observe half done. */
static THREAD_LOCAL guard *volatile current;
/* This thread's alternate stack (mmap'd, reused), NULL until its first guard. */
static THREAD_LOCAL char *altstack;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key; /* unmaps a thread's stack when it exits */
static bool have_key;
static size_t page_size, altstack_size;
static uintptr_t gc_lo, gc_hi;     /* libgc's segments; empty if not found */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int guarded_threads;                /* under lock */
static struct sigaction previous[NCAUGHT]; /* written while ours are not installed */


/* ---- Where libgc lies ---- */

/*
** Finds the PT_LOAD segments of the object that defines GC_malloc, as
** rm_library_range does (dlpi_addr, the load bias, equals a shared library's
** base). If libgc is linked statically into the same object as this file,
** its code cannot be told from ours: the range stays empty and faults in
** libgc are caught like any other.
*/
static void find_gc(void) {
    Dl_info gc, self;
    if (!dladdr((void *)GC_malloc, &gc) || !gc.dli_fbase) return;
    if (dladdr((void *)rm_guard, &self) && self.dli_fbase == gc.dli_fbase) return;
    if (!rm_object_segments((uintptr_t)gc.dli_fbase, &gc_lo, &gc_hi)) gc_lo = gc_hi = 0;
}

static bool in_gc(void *pc) {
    return (uintptr_t)pc >= gc_lo && (uintptr_t)pc < gc_hi;
}

/*
** libgc's fatal errors ("Too many root sets", out of memory in a
** collection) call its abort function, then abort() from libc: the pc of
** that SIGABRT is not in libgc, and the allocation lock is still held. If
** the guard took it, the host would carry on with the lock held and every
** later allocation would hang. So the abort function marks the process as
** ending, and the handler passes every signal on from then: the process
** ends with libgc's message, which is better than a hang.
*/
static volatile sig_atomic_t collector_aborted;
static GC_abort_func previous_abort;

static void on_gc_abort(const char *msg) {
    collector_aborted = 1;
    static const char prefix[] = "remap: the collector (libgc) aborted: ";
    ssize_t w = write(2, prefix, sizeof prefix - 1);
    (void)w;
    if (previous_abort) previous_abort(msg);
}


/* ---- Alternate stacks ---- */

static void unmap_altstack(void *base) {
    munmap(base, page_size + altstack_size);
}

/* Once per process: sizes, the thread-exit key and libgc's range. Without the
   key (pthread_key_create failed), an exiting thread's stack stays mapped. */
static void setup(void) {
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    altstack_size = ALTSTACK_SIZE;
#ifdef _SC_SIGSTKSZ
    long min = sysconf(_SC_SIGSTKSZ);
    if (min > 0 && (size_t)min > altstack_size)
        altstack_size = ((size_t)min + page_size - 1) / page_size * page_size;
#endif
    have_key = pthread_key_create(&altstack_key, unmap_altstack) == 0;
    find_gc();
    previous_abort = GC_get_abort_func();
    GC_set_abort_func(on_gc_abort);
}

/*
** Maps this thread's alternate stack with a PROT_NONE page below it, so a
** handler that overflows it faults instead of writing over other memory.
** Returns the usable bottom, or NULL if the mapping failed.
*/
static char *new_altstack(void) {
    char *base = mmap(NULL, page_size + altstack_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) return NULL;
    mprotect(base, page_size, PROT_NONE);
    if (have_key) pthread_setspecific(altstack_key, base);
    return base + page_size;
}

/*
** Switches the thread to its alternate stack, saving the old setting in *old.
** Returns whether it switched. It does not when the thread runs on its old
** alternate stack now (rm_guard called from a signal handler: the kernel
** refuses the change) or when no stack could be mapped; the guard then still
** catches every crash but a stack overflow.
*/
static bool push_altstack(stack_t *old) {
    if (sigaltstack(NULL, old) != 0 || (old->ss_flags & SS_ONSTACK)) return false;
    if (!altstack) altstack = new_altstack();
    if (!altstack) return false;
    stack_t ss = {.ss_sp = altstack, .ss_size = altstack_size, .ss_flags = 0};
    return sigaltstack(&ss, NULL) == 0;
}


/* ---- The handler ---- */

static void *fault_pc(void *uc) {
#if defined(__linux__) && defined(__x86_64__)
    return (void *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__linux__) && defined(__aarch64__)
    return (void *)((ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return NULL;
#endif
}

/*
** A signal the guard does not take: puts the previous action back, then lets
** the signal reach it. A fault returns and the kernel runs the faulting
** instruction again; a signal that was sent (abort's raise, kill) has been
** consumed, so it is raised again. Async-signal-safe; keeps errno.
*/
static void pass_on(int sig, bool fault) {
    int saved_errno = errno;
    for (int i = 0; i < NCAUGHT; i++)
        if (caught[i] == sig) sigaction(sig, &previous[i], NULL);
    if (!fault) raise(sig);
    errno = saved_errno;
}

/*
** The guard's handler, on the alternate stack with every signal but the five
** blocked (so Boehm cannot stop this thread while its sp is there). It takes
** the signal when this thread is inside a guard, the signal is a fault
** (si_code > 0) or was raised by this process at this thread (abort, raise:
** SI_TKILL), and the pc is not inside libgc. Then it records the crash and
** jumps back into rm_guard, which restores the mask. Otherwise pass_on.
*/
static void on_signal(int sig, siginfo_t *info, void *uc) {
    guard *g = current;
    void *pc = fault_pc(uc);
    bool fault = info->si_code > 0 && sig != SIGABRT;
    bool raised = info->si_code == SI_TKILL && info->si_pid == getpid();
    if (g && (fault || raised) && !in_gc(pc) && !collector_aborted) {
        g->crash.signal = sig;
        g->crash.address = fault ? info->si_addr : NULL;
        g->crash.pc = pc;
        siglongjmp(g->env, 1);
    }
    pass_on(sig, fault);
}


/* ---- Entering and leaving ---- */

/*
** The outermost guard of a thread: the alternate stack first, then the
** handlers if no other thread has them installed. Each previous action is
** read before ours replaces it, so `previous` is complete whenever a handler
** can run. Cannot fail; see push_altstack for what a missing stack costs.
*/
static bool enter(stack_t *old_stack) {
    pthread_once(&once, setup);
    bool switched = push_altstack(old_stack);
    pthread_mutex_lock(&lock);
    if (guarded_threads++ == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigfillset(&sa.sa_mask);
        for (int i = 0; i < NCAUGHT; i++) sigdelset(&sa.sa_mask, caught[i]);
        for (int i = 0; i < NCAUGHT; i++) {
            sigaction(caught[i], NULL, &previous[i]);
            sigaction(caught[i], &sa, NULL);
        }
    }
    pthread_mutex_unlock(&lock);
    return switched;
}

/*
** The reverse of enter. The last guarded thread puts back each previous
** action, unless something replaced ours meanwhile (pass_on, or the host
** installing its own handler), which then stays.
*/
static void leave(const stack_t *old_stack, bool switched) {
    pthread_mutex_lock(&lock);
    if (--guarded_threads == 0) {
        for (int i = 0; i < NCAUGHT; i++) {
            struct sigaction now;
            sigaction(caught[i], NULL, &now);
            if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_signal)
                sigaction(caught[i], &previous[i], NULL);
        }
    }
    pthread_mutex_unlock(&lock);
    if (switched) sigaltstack(old_stack, NULL);
}

/*
** The part of rm_guard that can be jumped back into, in its own frame so that
** no local of rm_guard lives across sigsetjmp. `current` is published only
** after sigsetjmp, so the handler never jumps to an unset buffer; the jump
** back restores the mask the thread had at the call.
*/
static __attribute__((noinline)) int run(guard *g, rm_guarded_fn fn, void *context) {
    if (sigsetjmp(g->env, 1) != 0) return RM_GUARD_CRASHED;
    atomic_signal_fence(memory_order_seq_cst);
    current = g;
    return fn(context);
}

/* Enter (outermost only), run, restore `current`, leave (outermost only). */
int rm_guard(rm_guarded_fn fn, void *context, rm_crash *crash) {
    guard g = {.outer = current};
    stack_t old_stack;
    bool outermost = g.outer == NULL, switched = false;
    if (crash) memset(crash, 0, sizeof *crash);
    if (outermost) switched = enter(&old_stack);
    int result = run(&g, fn, context);
    current = g.outer;
    if (outermost) leave(&old_stack, switched);
    if (crash && g.crash.signal) *crash = g.crash;
    return result;
}

const char *rm_signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "unknown signal";
    }
}
