/*
** guard_restore_test.c: after rm_guard returns or catches a crash, the
** caller's alternate stack, signal handlers and signal mask are as they
** were.
*/
#include "guard_test.h"

/* The signals the guard handles. */
static const int five[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

static char own_stack[256 * 1024];

static int inspect_inside(void *context) {
    stack_t ss;
    sigaltstack(NULL, &ss);
    int ok = !(ss.ss_flags & SS_DISABLE) && ss.ss_size >= 64 * 1024 && ss.ss_sp != own_stack;
    for (int i = 0; i < 5; i++) ok &= is_ours(five[i]);
    return ok;
}

/* The caller's own alternate stack is put back; inside, the guard's is used. */
void test_altstack_restored(void) {
    stack_t mine = {.ss_sp = own_stack, .ss_size = sizeof own_stack}, saved, after;
    sigaltstack(NULL, &saved);
    CHECK(sigaltstack(&mine, NULL) == 0);
    CHECK(rm_guard(inspect_inside, NULL, NULL) == 1);
    rm_crash crash;
    CHECK(rm_guard(overflow, NULL, &crash) == RM_GUARD_CRASHED);
    sigaltstack(NULL, &after);
    CHECK(after.ss_sp == own_stack && after.ss_size == sizeof own_stack && after.ss_flags == 0);
    sigaltstack(&saved, NULL);
    CHECK(rm_guard(inspect_inside, NULL, NULL) == 1);
}

static void noop_handler(int sig, siginfo_t *info, void *uc) {}

static struct sigaction replacement;

static int install_fpe_handler(void *context) {
    memset(&replacement, 0, sizeof replacement);
    replacement.sa_sigaction = noop_handler;
    replacement.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &replacement, NULL);
    sigaction(SIGFPE, NULL, &replacement);
    return 0;
}

void test_handlers_restored(void) {
    struct sigaction original[5], custom[5], now;
    for (int i = 0; i < 5; i++) sigaction(five[i], NULL, &original[i]);
    /* A handler with flags and a mask for SIGSEGV and SIGFPE, SIG_IGN for SIGBUS. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = noop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGSEGV, &sa, NULL);
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGBUS, &sa, NULL);
    for (int i = 0; i < 5; i++) sigaction(five[i], NULL, &custom[i]);

    int value = 3, same = 0;
    rm_crash crash;
    CHECK(rm_guard(return_context, &value, NULL) == 3);
    for (int i = 0; i < 5; i++) same += same_action(&custom[i], (sigaction(five[i], NULL, &now), &now));
    CHECK(same == 5);
    CHECK(rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGSEGV);
    CHECK(rm_guard(call_abort, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGABRT);
    same = 0;
    for (int i = 0; i < 5; i++) same += same_action(&custom[i], (sigaction(five[i], NULL, &now), &now));
    CHECK(same == 5);

    for (int i = 0; i < 5; i++) sigaction(five[i], &original[i], NULL);
    /* A handler installed inside the guard replaces ours and stays. */
    CHECK(rm_guard(install_fpe_handler, NULL, NULL) == 0);
    CHECK(same_action(&replacement, (sigaction(SIGFPE, NULL, &now), &now)));
    sigaction(SIGFPE, &original[2], NULL);
    same = 0;
    CHECK(rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED);
    for (int i = 0; i < 5; i++) same += same_action(&original[i], (sigaction(five[i], NULL, &now), &now));
    CHECK(same == 5);
}

/* SIGUSR1 blocked before stays blocked; SIGUSR2 and the five, unblocked
   before, are not left blocked by the handler's mask (which blocks all but
   the five). */
void test_mask_restored(void) {
    sigset_t block, before, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &block, &before);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    rm_crash crash;
    CHECK(rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    CHECK(sigismember(&after, SIGUSR1) == 1);
    CHECK(sigismember(&after, SIGUSR2) == 0);
    int unblocked = 0;
    for (int i = 0; i < 5; i++) unblocked += !sigismember(&after, five[i]);
    CHECK(unblocked == 5);
    CHECK(rm_guard(call_abort, NULL, &crash) == RM_GUARD_CRASHED);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    CHECK(sigismember(&after, SIGUSR1) == 1 && !sigismember(&after, SIGABRT));
    CHECK(sigismember(&after, SIGUSR2) == 0);
    CHECK(rm_guard(overflow, NULL, &crash) == RM_GUARD_CRASHED);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    CHECK(sigismember(&after, SIGUSR1) == 1 && !sigismember(&after, SIGUSR2));
    pthread_sigmask(SIG_SETMASK, &before, NULL);
}
