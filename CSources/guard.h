/*
** guard.h: running a function with crash signals caught, so that a host
** survives a fault in code it has just loaded.
**
** A caught crash leaves whatever fn was doing half done: locks it held stay
** held, objects it was building stay half built. The guard only makes the
** process survive long enough to report the crash and back the change out.
** A fault inside the collector (libgc) is never caught: the heap cannot be
** trusted after it.
**
** Core-private: the reload transaction runs new code through it
** (guarded.c, declared in loader.h); neither the loader nor a host calls it.
*/
#ifndef REMAP_GUARD_H
#define REMAP_GUARD_H

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(hidden)

/* What a caught crash was. */
typedef struct rm_crash {
    int signal;        /* SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT; 0 if none */
    void *address;     /* si_addr (faulting address), NULL for SIGABRT */
    void *pc;          /* instruction pointer at the fault, from the ucontext
                          (x86_64 REG_RIP; aarch64 pc), or NULL */
} rm_crash;

typedef int (*rm_guarded_fn)(void *context);

#define RM_GUARD_CRASHED (-1000)

/* Runs fn(context) on the calling thread with SIGSEGV, SIGBUS, SIGFPE, SIGILL
   and SIGABRT caught: returns fn's result, or RM_GUARD_CRASHED with *crash
   filled (crash may be NULL) when one of those signals was raised by this
   thread while fn ran. *crash is zeroed first, so crash->signal tells a
   crash from fn returning RM_GUARD_CRASHED itself. The previous handlers,
   the signal mask and the alternate signal stack are restored before
   returning, in both cases. Nested calls work (the innermost guard catches).

   Not caught, and delivered as if there were no guard: a signal on another
   thread, one sent with kill() or sigqueue(), a fault whose pc lies inside
   libgc, and any signal once libgc has called its abort function (a fatal
   collector error: its lock is held, nothing can go on). Such a signal puts the previous action back; that signal is then
   not caught until every guard in the process has returned. fn must not
   leave by longjmp past rm_guard. */
int rm_guard(rm_guarded_fn fn, void *context, rm_crash *crash);

/* The name of a signal for messages: "SIGSEGV", ... */
const char *rm_signal_name(int signal);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
