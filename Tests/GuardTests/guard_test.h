/*
** guard_test.h: what the files of the rm_guard test program share: the
** check counter, the functions that crash on purpose and the helpers that
** inspect signal state (guard_support.c), and the cases of each file.
*/
#ifndef REMAP_GUARD_TEST_H
#define REMAP_GUARD_TEST_H

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

/* ---- guard_test.c ---- */
extern int passed, failed;

#define CHECK(cond) check((cond), #cond, __func__, __LINE__)

void check(int ok, const char *what, const char *where, int line);

/* ---- guard_support.c: crashing functions (rm_guard bodies) ---- */
int null_write(void *context);
int divide_by_zero(void *context);
int trap(void *context);
int call_abort(void *context);
int overflow(void *context);
int touch_past_eof(void *context);
int return_context(void *context);

/* ---- guard_support.c: helpers ---- */
int same_action(const struct sigaction *a, const struct sigaction *b);
int same_stack(const stack_t *a, const stack_t *b);
int count_mappings(void);
/* Runs body in a forked child; returns its wait status. */
int in_child(void (*body)(void));
int exited_with(int status, int code);
int is_ours(int sig);

/* ---- guard_crash_test.c: each crash caught and answered ---- */
void test_return_value(void);
void test_segv(void);
void test_bus(void);
void test_fpe(void);
void test_ill(void);
void test_abort(void);
void test_overflow(void);
void test_thread_overflow(void);
void test_nested(void);
void test_many_crashes(void);

/* ---- guard_restore_test.c: the caller's signal state put back ---- */
void test_altstack_restored(void);
void test_handlers_restored(void);
void test_mask_restored(void);

/* ---- guard_passon_test.c: signals that are not the guard's to catch ---- */
void test_passed_on(void);
void test_signal_names(void);

#endif
