/*
** guard_passon_test.c: signals the guard must pass on, each in a forked
** child (a handler of our own, a crash on another thread, a signal sent
** with kill, a fault in libgc, an abort libgc raised), and the signal names
** it reports.
*/
#include "guard_test.h"

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

/* libgc's fatal error, raised the way it raises them: its abort function,
   then abort() from libc, with its allocation lock held. Distinct,
   non-adjacent root ranges, until libgc has no room for another. */
static uintptr_t root_words[2 * 100000];

static int too_many_root_sets(void *context) {
    for (size_t i = 0; i < sizeof root_words / sizeof root_words[0]; i += 2)
        GC_add_roots(&root_words[i], &root_words[i + 1]);
    return 0;
}

/* Regression: the guard caught libgc's abort, and the host went on with
   libgc's lock held: every later request that needed the heap hung. The
   process must end with the abort instead. */
static void gc_abort_child(void) {
    GC_INIT();
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);   /* libgc's message */
    rm_crash crash;
    int rc = rm_guard(too_many_root_sets, NULL, &crash);
    _exit(rc == RM_GUARD_CRASHED ? 1 : 2);
}

void test_passed_on(void) {
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
    status = in_child(gc_abort_child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)) printf("  gc_abort_child status %#x\n", status);
}

void test_signal_names(void) {
    CHECK(strcmp(rm_signal_name(SIGSEGV), "SIGSEGV") == 0);
    CHECK(strcmp(rm_signal_name(SIGBUS), "SIGBUS") == 0);
    CHECK(strcmp(rm_signal_name(SIGFPE), "SIGFPE") == 0);
    CHECK(strcmp(rm_signal_name(SIGILL), "SIGILL") == 0);
    CHECK(strcmp(rm_signal_name(SIGABRT), "SIGABRT") == 0);
    CHECK(rm_signal_name(12345) != NULL);
}
