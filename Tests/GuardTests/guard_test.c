/*
** guard_test.c: tests of rm_guard (CSources/guard.c), a plain C program.
** Build and run with Tests/GuardTests/run.sh. Prints "N passed, M failed"
** last and exits non-zero on any failure.
**
** Cases that leave the process in a state the others must not see (a
** handler of our own for SIGSEGV, a thread that crashes, a fault in libgc,
** abort outside a guard) run in a forked child and report by exit status.
*/
#define _GNU_SOURCE
#include "guard.h"

#include <gc/gc.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond) check((cond), #cond, __func__, __LINE__)

static void check(int ok, const char *what, const char *where, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n", where, line, what);
    }
}

static const int five[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};


/* ---- Crashing functions ---- */

static int null_write(void *context) {
    *(volatile int *)context = 1;
    return 0;
}

static int divide_by_zero(void *context) {
    volatile int a = 1, b = 0;
    return a / b;
}

static int trap(void *context) {
    __builtin_trap();
}

static int call_abort(void *context) {
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

static int overflow(void *context) {
    return recurse(0);
}

static int touch_past_eof(void *context) {
    return *(volatile char *)context;
}

static int return_context(void *context) {
    return *(int *)context;
}


/* ---- Helpers ---- */

static int same_action(const struct sigaction *a, const struct sigaction *b) {
    if (a->sa_sigaction != b->sa_sigaction || a->sa_flags != b->sa_flags) return 0;
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s)) return 0;
    return 1;
}

static int same_stack(const stack_t *a, const stack_t *b) {
    if (a->ss_flags != b->ss_flags) return 0;
    return (a->ss_flags & SS_DISABLE) || (a->ss_sp == b->ss_sp && a->ss_size == b->ss_size);
}

static int count_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f) return -1;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* Runs body in a forked child; returns its wait status. */
static int in_child(void (*body)(void)) {
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

static int exited_with(int status, int code) {
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static int is_ours(int sig) {
    struct sigaction now;
    sigaction(sig, NULL, &now);
    return (now.sa_flags & SA_SIGINFO) && (now.sa_flags & SA_ONSTACK) && (now.sa_flags & SA_NODEFER);
}


/* ---- Cases ---- */

static void test_return_value(void) {
    int value = 42;
    rm_crash crash = {.signal = 99};
    CHECK(rm_guard(return_context, &value, &crash) == 42);
    CHECK(crash.signal == 0 && crash.address == NULL && crash.pc == NULL);
    value = -7;
    CHECK(rm_guard(return_context, &value, NULL) == -7);
}

static void test_segv(void) {
    rm_crash crash;
    CHECK(rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGSEGV);
    CHECK(crash.address == NULL);
    CHECK(crash.pc != NULL);
    int *bad = (int *)(uintptr_t)0x10;
    CHECK(rm_guard(null_write, bad, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGSEGV && crash.address == (void *)bad);
    CHECK(rm_guard(null_write, NULL, NULL) == RM_GUARD_CRASHED);
}

static void test_bus(void) {
    char path[] = "/tmp/guard_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    unlink(path);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    if (p != MAP_FAILED) {
        rm_crash crash;
        CHECK(rm_guard(touch_past_eof, p + 8, &crash) == RM_GUARD_CRASHED);
        CHECK(crash.signal == SIGBUS && crash.address == p + 8);
        munmap(p, 4096);
    }
    close(fd);
}

static void test_fpe(void) {
    rm_crash crash;
    CHECK(rm_guard(divide_by_zero, NULL, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGFPE && crash.pc != NULL);
}

static void test_ill(void) {
#if defined(__x86_64__)
    rm_crash crash;
    CHECK(rm_guard(trap, NULL, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGILL && crash.pc != NULL);
#else
    printf("skip test_ill: __builtin_trap is not SIGILL here\n");
#endif
}

static void abort_child(void) {
    abort();
}

/* glibc 2.36 releases its abort lock before raise: abort twice, then go on. */
static void test_abort(void) {
    rm_crash crash;
    for (int i = 0; i < 2; i++) {
        CHECK(rm_guard(call_abort, NULL, &crash) == RM_GUARD_CRASHED);
        CHECK(crash.signal == SIGABRT && crash.address == NULL);
    }
    void *p = malloc(100);
    CHECK(p != NULL);
    free(p);
    CHECK(rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGSEGV);
    int status = in_child(abort_child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_overflow(void) {
    rm_crash crash;
    CHECK(rm_guard(overflow, NULL, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGSEGV);
    CHECK(rm_guard(overflow, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGSEGV);
}

/* A second thread: its own alternate stack, its own overflow. */
static void *guarded_thread(void *arg) {
    rm_crash crash;
    int ok = rm_guard(overflow, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGSEGV;
    ok &= rm_guard(null_write, NULL, &crash) == RM_GUARD_CRASHED && crash.signal == SIGSEGV;
    stack_t ss;
    sigaltstack(NULL, &ss);
    ok &= (ss.ss_flags & SS_DISABLE) != 0;
    return (void *)(intptr_t)ok;
}

static void test_thread_overflow(void) {
    pthread_t t;
    void *ok = NULL;
    CHECK(pthread_create(&t, NULL, guarded_thread, NULL) == 0);
    pthread_join(t, &ok);
    CHECK(ok == (void *)1);
}

static int inner_then_crash(void *context) {
    rm_crash crash;
    int *stage = context;
    if (rm_guard(null_write, NULL, &crash) != RM_GUARD_CRASHED || crash.signal != SIGSEGV) return -1;
    *stage = 1;
    if (!is_ours(SIGSEGV)) return -2; /* the inner guard kept the handlers */
    if (rm_guard(divide_by_zero, NULL, &crash) != RM_GUARD_CRASHED || crash.signal != SIGFPE) return -3;
    *stage = 2;
    return 5;
}

static int inner_then_outer_crash(void *context) {
    int stage = 0;
    if (inner_then_crash(&stage) != 5) return -1;
    *(int *)context = stage;
    abort(); /* caught by the outer guard */
}

static void test_nested(void) {
    int stage = 0;
    rm_crash crash;
    CHECK(rm_guard(inner_then_crash, &stage, &crash) == 5);
    CHECK(stage == 2 && crash.signal == 0);
    stage = 0;
    CHECK(rm_guard(inner_then_outer_crash, &stage, &crash) == RM_GUARD_CRASHED);
    CHECK(stage == 2 && crash.signal == SIGABRT);
}

static void test_many_crashes(void) {
    stack_t before, after;
    sigaltstack(NULL, &before);
    rm_crash crash;
    rm_guard(null_write, NULL, &crash); /* maps this thread's stack */
    int maps = count_mappings(), restored = 0, caught = 0;
    for (int i = 0; i < 1000; i++) {
        caught += rm_guard(i % 2 ? null_write : divide_by_zero, NULL, &crash) == RM_GUARD_CRASHED;
        sigaltstack(NULL, &after);
        restored += same_stack(&before, &after);
    }
    CHECK(caught == 1000);
    CHECK(restored == 1000);
    CHECK(count_mappings() == maps);
}

static char own_stack[256 * 1024];

static int inspect_inside(void *context) {
    stack_t ss;
    sigaltstack(NULL, &ss);
    int ok = !(ss.ss_flags & SS_DISABLE) && ss.ss_size >= 64 * 1024 && ss.ss_sp != own_stack;
    for (int i = 0; i < 5; i++) ok &= is_ours(five[i]);
    return ok;
}

/* The caller's own alternate stack is put back; inside, the guard's is used. */
static void test_altstack_restored(void) {
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

static void test_handlers_restored(void) {
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
static void test_mask_restored(void) {
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


/* ---- In a child: signals the guard must pass on ---- */

static volatile sig_atomic_t test_handler_ran;
static __thread sigjmp_buf thread_escape;

static void escaping_handler(int sig, siginfo_t *info, void *uc) {
    test_handler_ran = 1;
    siglongjmp(thread_escape, 1);
}

static void install_escaping_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = escaping_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
}

static void *crashing_thread(void *arg) {
    if (sigsetjmp(thread_escape, 1) == 0) *(volatile int *)NULL = 1;
    return NULL;
}

static int start_crashing_thread(void *context) {
    pthread_t t;
    if (pthread_create(&t, NULL, crashing_thread, NULL) != 0) return -1;
    pthread_join(t, NULL);
    return 7;
}

/* The main thread is inside a guard; another thread's crash reaches our handler. */
static void other_thread_child(void) {
    install_escaping_handler();
    struct sigaction mine;
    sigaction(SIGSEGV, NULL, &mine);
    rm_crash crash;
    if (rm_guard(start_crashing_thread, NULL, &crash) != 7) _exit(1);
    if (crash.signal != 0) _exit(2);
    if (!test_handler_ran) _exit(3);
    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    if (!same_action(&mine, &now)) _exit(4);
    /* Once every guard returned, the next one catches SIGSEGV again. */
    if (rm_guard(null_write, NULL, &crash) != RM_GUARD_CRASHED || crash.signal != SIGSEGV) _exit(5);
}

static void *aborting_thread(void *arg) {
    abort();
}

static int start_aborting_thread(void *context) {
    pthread_t t;
    pthread_create(&t, NULL, aborting_thread, NULL);
    pthread_join(t, NULL);
    return 0;
}

static void other_thread_abort_child(void) {
    rm_guard(start_aborting_thread, NULL, NULL);
    _exit(1);
}

static volatile sig_atomic_t sent_received;

static void counting_handler(int sig) {
    sent_received++;
}

static int send_segv(void *context) {
    kill(getpid(), SIGSEGV);
    return 9;
}

/* A SIGSEGV sent with kill() is not a crash of this thread. */
static void sent_signal_child(void) {
    signal(SIGSEGV, counting_handler);
    rm_crash crash;
    if (rm_guard(send_segv, NULL, &crash) != 9 || crash.signal != 0) _exit(1);
    if (sent_received != 1) _exit(2);
}

/* Exits 42 when the fault reached here with its pc inside libgc. */
static void gc_fault_handler(int sig, siginfo_t *info, void *uc) {
    void *pc = NULL;
#if defined(__x86_64__)
    pc = (void *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    pc = (void *)((ucontext_t *)uc)->uc_mcontext.pc;
#endif
    Dl_info at, gc;
    int in_gc = dladdr(pc, &at) && dladdr((void *)GC_malloc, &gc) && at.dli_fbase == gc.dli_fbase;
    _exit(in_gc ? 42 : 43);
}

static int fault_in_gc(void *context) {
    return (int)GC_size((void *)(uintptr_t)0x12345000);
}

static void gc_fault_child(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = gc_fault_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    rm_guard(fault_in_gc, NULL, NULL);
    _exit(1);
}

static void test_passed_on(void) {
    int status = in_child(other_thread_child);
    CHECK(exited_with(status, 0));
    if (!exited_with(status, 0)) printf("  other_thread_child status %#x\n", status);
    status = in_child(other_thread_abort_child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    status = in_child(sent_signal_child);
    CHECK(exited_with(status, 0));
    status = in_child(gc_fault_child);
    CHECK(exited_with(status, 42));
    if (!exited_with(status, 42)) printf("  gc_fault_child status %#x\n", status);
}

static void test_signal_names(void) {
    CHECK(strcmp(rm_signal_name(SIGSEGV), "SIGSEGV") == 0);
    CHECK(strcmp(rm_signal_name(SIGBUS), "SIGBUS") == 0);
    CHECK(strcmp(rm_signal_name(SIGFPE), "SIGFPE") == 0);
    CHECK(strcmp(rm_signal_name(SIGILL), "SIGILL") == 0);
    CHECK(strcmp(rm_signal_name(SIGABRT), "SIGABRT") == 0);
    CHECK(rm_signal_name(12345) != NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_return_value();
    test_segv();
    test_bus();
    test_fpe();
    test_ill();
    test_abort();
    test_overflow();
    test_thread_overflow();
    test_nested();
    test_many_crashes();
    test_altstack_restored();
    test_handlers_restored();
    test_mask_restored();
    test_passed_on();
    test_signal_names();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
