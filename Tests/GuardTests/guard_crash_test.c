/*
** guard_crash_test.c: rm_guard catches each crash it is meant to (every
** signal, a stack overflow, on another thread, nested guards, a thousand
** crashes in a row) and reports it; abort outside a guard still aborts.
*/
#include "guard_test.h"

/* ---- Cases ---- */

void test_return_value(void) {
    int value = 42;
    rm_crash crash = {.signal = 99};
    CHECK(rm_guard(return_context, &value, &crash) == 42);
    CHECK(crash.signal == 0 && crash.address == NULL && crash.pc == NULL);
    value = -7;
    CHECK(rm_guard(return_context, &value, NULL) == -7);
}

void test_segv(void) {
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

void test_bus(void) {
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

void test_fpe(void) {
    rm_crash crash;
    CHECK(rm_guard(divide_by_zero, NULL, &crash) == RM_GUARD_CRASHED);
    CHECK(crash.signal == SIGFPE && crash.pc != NULL);
}

void test_ill(void) {
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
void test_abort(void) {
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

void test_overflow(void) {
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

void test_thread_overflow(void) {
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

void test_nested(void) {
    int stage = 0;
    rm_crash crash;
    CHECK(rm_guard(inner_then_crash, &stage, &crash) == 5);
    CHECK(stage == 2 && crash.signal == 0);
    stage = 0;
    CHECK(rm_guard(inner_then_outer_crash, &stage, &crash) == RM_GUARD_CRASHED);
    CHECK(stage == 2 && crash.signal == SIGABRT);
}

void test_many_crashes(void) {
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
