/*
** flaky.c: module "flaky", an entry function for the restart supervisor.
** run() counts its calls in the kept state `count` (a list of one int,
** which survives restarts and reloads), then
**   VERSION 1: call 1 fails with an error, call 2 crashes (a write through
**              NULL), later calls return the count;
**   VERSION 2: fails with an error on every call ("still broken");
**   VERSION 3: returns the count at once;
**   VERSION 4: call 1 runs long, calling rm_safe_point every millisecond
**              until stop() was called, then aborts; later calls return
**              the count.
** calls() returns the count; version() the version; stop() ends call 1 of
** version 4 (through the kept state `stopped`, a list: the same object in
** every generation, which the old code's frame can still read).
*/
#include <remap/module.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
RM_MODULE_ABI;

static volatile int zero;

static rm_object *state(rm_object *fn, const char *name) {
    return rm_dict_get_str(rm_module_dict(rm_function_module(fn)), name);
}

static rm_object *calls_list(rm_object *fn) { return state(fn, "count"); }

static int64_t count_call(rm_object *fn) {
    rm_object *calls = calls_list(fn);
    int64_t n;
    if (!calls || rm_int_check(rm_list_get(calls, 0), &n) < 0) return -1;
    return rm_list_set(calls, 0, rm_int(n + 1)) < 0 ? -1 : n + 1;
}

static rm_object *run(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n = count_call(self);
    if (n < 0) return NULL;
#if VERSION == 1
    if (n == 1) {
        rm_error_set(RM_ERR_VALUE, "call %lld fails on purpose", (long long)n);
        return NULL;
    }
    if (n == 2) *(volatile int *)(uintptr_t)zero = 1;
#elif VERSION == 2
    rm_error_set(RM_ERR_VALUE, "still broken at call %lld", (long long)n);
    return NULL;
#elif VERSION == 4
    if (n == 1) {
        rm_object *stop = state(self, "stopped");
        while (stop && rm_list_size(stop) == 0) {
            rm_safe_point();
            usleep(1000);
        }
        abort();
    }
#endif
    return rm_int(n);
}

static rm_object *calls(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *list = calls_list(self);
    return list ? rm_list_get(list, 0) : NULL;
}

static rm_object *stop(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *list = state(self, "stopped");
    return list && rm_list_append(list, rm_get_true()) == 0 ? rm_get_none() : NULL;
}

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

int rm_module_init(rm_module *m) {
    rm_object *initial = rm_list_new(0);
    if (!initial || rm_list_append(initial, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "count", initial) || !rm_def_state(m, "stopped", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "run", run, 0) || !rm_def_function(m, "calls", calls, 0) ||
        !rm_def_function(m, "version", version, 0) || !rm_def_function(m, "stop", stop, 0))
        return -1;
    return 0;
}
