/*
** crasher.c: module "crasher", whose version 2 crashes where CRASH says:
**   CRASH_INIT_SEGV      a write through NULL in rm_module_init
**   CRASH_INIT_OVERFLOW  unbounded recursion in rm_module_init
**   CRASH_HOOK_ABORT     abort() in the module __reload__ hook
**   CRASH_CLASS_FPE      an integer division by zero in the class hook,
**                        on the 10th instance
** after changing kept state and, in the class hook, the instances it saw
** before. Version 1 is sound: Counter(n = 0), total(), kept state `items`.
*/
#include <remap/module.h>
#include <stdlib.h>
RM_MODULE_ABI;

static rm_object *total(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *items = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "items");
    return items ? rm_int((int64_t)rm_list_size(items) * 10 + VERSION) : NULL;
}

#if VERSION == 2
static volatile int zero;

#ifdef CRASH_CLASS_FPE
static int calls;
#endif

#ifdef CRASH_INIT_OVERFLOW
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int deeper(volatile int *depth) {
    volatile int frame[64];
    frame[0] = *depth + 1;
    return deeper(frame) + frame[1];
}
#endif

static rm_object *module_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *items = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "items");
    if (!items || rm_list_append(items, rm_get_true()) < 0) return NULL;
#ifdef CRASH_HOOK_ABORT
    abort();
#endif
    return rm_get_none();
}

static rm_object *class_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    if (rm_setattr(self, "n", rm_int(1000)) < 0) return NULL;
#ifdef CRASH_CLASS_FPE
    if (++calls == 10) return rm_int(1000003 / zero);
#endif
    return rm_get_none();
}
#endif

int rm_module_init(rm_builder *m) {
    rm_object *items = rm_def_state(m, "items", rm_list_new(0));
    rm_object *counter = rm_def_class(m, "Counter", NULL);
    if (!items || !counter || rm_def_field(counter, "n", rm_int(0)) < 0) return -1;
    if (!rm_def_function(m, "total", total, 0)) return -1;
#if VERSION == 2
    if (rm_list_append(items, rm_get_none()) < 0) return -1;
    if (rm_def_field(counter, "extra", rm_int(5)) < 0 || rm_def_method(counter, "__reload__", class_hook, 0) < 0 ||
        !rm_def_function(m, "__reload__", module_hook, 1))
        return -1;
#ifdef CRASH_INIT_SEGV
    *(volatile int *)(uintptr_t)zero = 1;
#endif
#ifdef CRASH_INIT_OVERFLOW
    volatile int start = 0;
    return deeper(&start);
#endif
#endif
    return 0;
}
