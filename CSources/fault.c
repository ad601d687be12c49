/*
** fault.c: named failure points for the reload transaction's tests.
**
** Each point is counted every time it is reached while a transaction is
** active; one point at a time can be armed to fail at its nth occurrence.
** A test counts the occurrences of a clean reload, then fails each one in
** turn and checks that the world is exactly as before (SQLite's
** fault-injection tests). Unarmed, a point costs a load and a branch.
*/
#include "internal.h"

#include <execinfo.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const names[RM_FAULT_NPOINTS] = {
    [RM_FAULT_LOAD] = "load",
    [RM_FAULT_INIT] = "init",
    [RM_FAULT_MODULE_HOOK] = "module_hook",
    [RM_FAULT_DEPENDENTS] = "dependents",
    [RM_FAULT_REMAP] = "remap",
    [RM_FAULT_REHASH] = "rehash",
    [RM_FAULT_MIGRATE] = "migrate",
    [RM_FAULT_CLASS_HOOK] = "class_hook",
    [RM_FAULT_FIELD_INIT] = "field_init",
    [RM_FAULT_PUBLISH] = "publish",
    [RM_FAULT_ALLOC] = "alloc",
};

size_t rm_fault_counts[RM_FAULT_NPOINTS];
int rm_fault_armed = -1;
static size_t armed_at;
static rm_fault_mode armed_mode;

const char *rm_fault_point_name(size_t i) { return i < RM_FAULT_NPOINTS ? names[i] : NULL; }

static int point_index(const char *point) {
    for (int i = 0; point && i < RM_FAULT_NPOINTS; i++)
        if (strcmp(names[i], point) == 0) return i;
    return -1;
}

int rm_fault_arm(const char *point, size_t nth, rm_fault_mode mode) {
    int i = point_index(point);
    if (i < 0 || nth == 0) {
        rm_error_set(RM_ERR_VALUE, "no fault point '%s' (or occurrence 0)", point ? point : "(null)");
        return -1;
    }
    rm_fault_armed = i;
    armed_at = rm_fault_counts[i] + nth;
    armed_mode = mode;
    return 0;
}

void rm_fault_disarm(void) { rm_fault_armed = -1; }

size_t rm_fault_count(const char *point) {
    int i = point_index(point);
    return i < 0 ? 0 : rm_fault_counts[i];
}

void rm_fault_reset_counts(void) {
    memset(rm_fault_counts, 0, sizeof rm_fault_counts);
    rm_fault_armed = -1;
}

/* Counts one occurrence; fails it if it is the armed one. Points are only
   counted inside a transaction, so code outside reloads never fails. The
   armed point fires once, then disarms. */
int rm_fault_fire(rm_fault_point point, size_t n) {
    if ((int)point != rm_fault_armed || n != armed_at) return 0;
    rm_fault_armed = -1;
    /* For whoever hunts the code that swallowed an injected failure. */
    if (getenv("REMAP_FAULT_BACKTRACE")) {
        void *frames[32];
        backtrace_symbols_fd(frames, backtrace(frames, 32), STDERR_FILENO);
    }
    if (armed_mode == RM_FAULT_CRASH) {
        /* As a crashing module would: a write through NULL. */
        *(volatile int *)(uintptr_t)0 = 1;
    }
    rm_error_set(point == RM_FAULT_ALLOC ? RM_ERR_MEMORY : RM_ERR_RUNTIME, "injected fault at %s #%zu",
                 names[point], n);
    return 1;
}

int rm_fault(const char *point) {
    int i = point_index(point);
    return i < 0 ? 0 : rm_fault_at((rm_fault_point)i);
}
