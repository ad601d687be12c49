/*
** guard_test.c: tests of rm_guard (CSources/guard.c), a plain C program.
** Build and run with Tests/GuardTests/run.sh. Prints "N passed, M failed"
** last and exits non-zero on any failure. This file has main and the check
** counter; the cases are in guard_*_test.c, one topic each.
**
** Cases that leave the process in a state the others must not see (a
** handler of our own for SIGSEGV, a thread that crashes, a fault in libgc,
** abort outside a guard) run in a forked child and report by exit status.
*/
#include "guard_test.h"

int passed, failed;

void check(int ok, const char *what, const char *where, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s:%d: %s\n", where, line, what);
    }
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
