/*
** guard_support.c: for the rm_guard tests, the functions that crash on
** purpose (each a guarded body) and the helpers that inspect signal
** handlers, alternate stacks and mappings, or run a case in a child.
*/
#include "guard_test.h"

/* ---- Crashing functions ---- */

int null_write(void *context) {
    *(volatile int *)context = 1;
    return 0;
}

int divide_by_zero(void *context) {
    volatile int a = 1, b = 0;
    return a / b;
}

int trap(void *context) {
    __builtin_trap();
}

int call_abort(void *context) {
    abort();
}

/* Not provably infinite, so the compiler keeps the recursion. */
static volatile int recursion_limit = -1;

static int recurse(int depth) {
    volatile char frame[512];
    frame[0] = (char)depth;
    if (depth == recursion_limit) return 0;
    return recurse(depth + 1) + frame[0];
}

int overflow(void *context) {
    return recurse(0);
}

int touch_past_eof(void *context) {
    return *(volatile char *)context;
}

int return_context(void *context) {
    return *(int *)context;
}


/* ---- Helpers ---- */

int same_action(const struct sigaction *a, const struct sigaction *b) {
    if (a->sa_sigaction != b->sa_sigaction || a->sa_flags != b->sa_flags) return 0;
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s)) return 0;
    return 1;
}

int same_stack(const stack_t *a, const stack_t *b) {
    if (a->ss_flags != b->ss_flags) return 0;
    return (a->ss_flags & SS_DISABLE) || (a->ss_sp == b->ss_sp && a->ss_size == b->ss_size);
}

int count_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f) return -1;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* Runs body in a forked child; returns its wait status. */
int in_child(void (*body)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

int exited_with(int status, int code) {
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

int is_ours(int sig) {
    struct sigaction now;
    sigaction(sig, NULL, &now);
    return (now.sa_flags & SA_SIGINFO) && (now.sa_flags & SA_ONSTACK) && (now.sa_flags & SA_NODEFER);
}
