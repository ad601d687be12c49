/*
** guarded.c: the new code of a reload, run under the crash guard.
**
** The module's init, its module hook and the class hooks are the code a
** reload cannot vouch for. Each runs inside rm_guard (guard.c): a crash in
** it comes back here as an error, the core state the crash interrupted (the
** function being called on this thread, the native frames of the calls into
** module code) is put back as it was on entry, and the loader rolls the
** transaction back. Fault points of these phases are reached inside the
** guard, so an injected crash is caught like a real one.
*/
#define _GNU_SOURCE
#include "internal.h"
#include "guard.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The length of NAME when `base` is a loader's private copy of a module,
   NAME-PID-N-RANDOM.so (NativeLibrary.swift names them so); else -1. */
static int private_copy_stem(const char *base) {
    int i = (int)strlen(base) - 3;
    if (i <= 0 || strcmp(base + i, ".so") != 0) return -1;
    for (int part = 0; part < 3; part++) {
        int end = i;
        while (i > 0 && base[i - 1] >= '0' && base[i - 1] <= '9') i--;
        if (i == end || i < 2 || base[i - 1] != '-') return -1;
        i--;
    }
    return i;
}

/* Where a crash happened, for its message: the file the instruction lies
   in and its offset ("shop.so+0x1f3a", a private copy named after its
   module again), and the nearest exported symbol when there is one. */
static void describe_pc(void *pc, char *place, size_t size, const char **symbol) {
    Dl_info info;
    *symbol = NULL;
    if (!pc || !dladdr(pc, &info) || !info.dli_fname) {
        snprintf(place, size, "%p", pc);
        return;
    }
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    unsigned long offset = (unsigned long)((uintptr_t)pc - (uintptr_t)info.dli_fbase);
    int stem = private_copy_stem(base);
    if (stem > 0) snprintf(place, size, "%.*s.so+%#lx", stem, base, offset);
    else snprintf(place, size, "%s+%#lx", base, offset);
    *symbol = info.dli_sname;
}

/* Runs fn(context) guarded; on a crash sets the error and *crashed. The
   message names the function object being called when it crashed
   ("SIGSEGV in shop.tick (shop.so+0x1f3a)"), else the nearest symbol. */
static int run_guarded(rm_guarded_fn fn, void *context, int *crashed) {
    rm_object *current = rm_function_current();
    rm_native_frame *top = rm_native_top();
    rm_crash crash = {0};
    *crashed = 0;
    int rc = rm_guard(fn, context, &crash);
    if (rc != RM_GUARD_CRASHED) return rc;
    rm_object *in = rm_function_current();
    rm_function_set_current(current);
    rm_native_unwind_to(top);
    *crashed = crash.signal;
    char place[256];
    const char *symbol;
    describe_pc(crash.pc, place, sizeof place, &symbol);
    const char *name = in && in != current ? rm_str_cstr(rm_function_name(in)) : symbol ? symbol : "?";
    if (crash.signal == SIGABRT)
        rm_error_set(RM_ERR_RUNTIME, "crashed: %s (abort) in %s (%s)", rm_signal_name(crash.signal), name, place);
    else
        rm_error_set(RM_ERR_RUNTIME, "crashed: %s in %s (%s), address %p", rm_signal_name(crash.signal), name, place,
                     crash.address);
    return -1;
}

typedef struct init_call {
    rm_module *module;
    rm_module_init_fn init;
} init_call;

static int run_init(void *arg) {
    init_call *c = arg;
    if (rm_fault_at(RM_FAULT_INIT)) return -1;
    return rm_module_builder_run(c->module, c->init);
}

int rm_guarded_init(rm_module *m, rm_module_init_fn init, int *crashed) {
    init_call c = {m, init};
    return run_guarded(run_init, &c, crashed) == 0 ? 0 : -1;
}

typedef struct plain_call {
    rm_object *callable;
    rm_object *const *args;
    size_t nargs;
    const char *point;
    rm_object *result;
} plain_call;

static int run_call(void *arg) {
    plain_call *c = arg;
    if (c->point && rm_fault(c->point)) return -1;
    c->result = rm_call(c->callable, c->args, c->nargs);
    return c->result ? 0 : -1;
}

rm_object *rm_guarded_call(rm_object *callable, rm_object *const *args, size_t nargs, const char *point,
                           int *crashed) {
    plain_call c = {callable, args, nargs, point, NULL};
    return run_guarded(run_call, &c, crashed) == 0 ? c.result : NULL;
}

static int run_migrate(void *arg) { return rm_migrate_instances(arg); }

int rm_guarded_migrate(rm_migration *result, int *crashed) {
    return run_guarded(run_migrate, result, crashed) == 0 ? 0 : -1;
}
