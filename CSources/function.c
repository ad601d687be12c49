/*
** function.c: native functions and bound methods.
*/
#include "internal.h"

#include <stddef.h>

/* References: name, module, closure (fixed offsets, see tp_fixed). */
static int function_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_function_object *f = (rm_function_object *)self;
    RM_VISIT(&f->name);
    RM_VISIT(&f->module);
    RM_VISIT(&f->closure);
    return 0;
}

/* The function being called on this thread: a method gets the instance as
   `self`, so a function defined in Swift finds its closure through this. */
__attribute__((visibility("hidden"))) RM_THREAD_LOCAL rm_object *rm_current_function;

rm_object *rm_function_current(void) { return rm_current_function; }
void rm_function_set_current(rm_object *f) { rm_current_function = f; }

rm_object *rm_function_arity_error(rm_object *fobj, size_t nargs) {
    rm_function_object *f = (rm_function_object *)fobj;
    rm_error_set(RM_ERR_TYPE, "%s() takes %lld argument%s (%zu given)", rm_str_cstr(f->name),
                 (long long)f->nargs, f->nargs == 1 ? "" : "s", nargs);
    return NULL;
}

rm_object *rm_function_failed(rm_object *fobj) {
    if (!rm_error_occurred())
        rm_error_set(RM_ERR_RUNTIME, "%s() returned NULL without setting an error",
                     rm_str_cstr(((rm_function_object *)fobj)->name));
    return NULL;
}

rm_object *rm_function_invoke(rm_object *f, rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_invoke(f, self, args, nargs);
}

static rm_object *function_call(rm_object *f, rm_object *const *args, size_t nargs) {
    return rm_invoke(f, f, args, nargs);
}

rm_type rm_function_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "function",
    .tp_basicsize = sizeof(rm_function_object),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 3,
    .tp_fixed = {offsetof(rm_function_object, name), offsetof(rm_function_object, module),
                 offsetof(rm_function_object, closure)},
    .tp_traverse = function_traverse,
    .tp_call = function_call,
};

rm_object *rm_function_new(const char *name, rm_cfunction fn, int nargs, rm_object *module, rm_object *closure) {
    if (!fn) {
        rm_error_set(RM_ERR_VALUE, "function %s: NULL C function", name);
        return NULL;
    }
    rm_object *n = rm_str(name);
    if (!n) return NULL;
    rm_function_object *f = (rm_function_object *)rm_alloc(&rm_function_type, sizeof *f);
    if (!f) return NULL;
    rm_library_note((const void *)fn);
    f->name = n;
    f->fn = fn;
    f->nargs = nargs;
    f->module = module;
    f->closure = closure;
    return (rm_object *)f;
}

/* The accessors below are unchecked; RM_DEBUG checks them (config.h). */
#define EXPECT_FUNCTION(f, accessor) RM_DEBUG_EXPECT(RM_IS(f, rm_function_type), f, accessor, "a function")

rm_object *rm_function_name(rm_object *f) {
    EXPECT_FUNCTION(f, "rm_function_name");
    return ((rm_function_object *)f)->name;
}
rm_object *rm_function_closure(rm_object *f) {
    EXPECT_FUNCTION(f, "rm_function_closure");
    return ((rm_function_object *)f)->closure;
}
rm_object *rm_function_module(rm_object *f) {
    EXPECT_FUNCTION(f, "rm_function_module");
    return ((rm_function_object *)f)->module;
}
rm_cfunction rm_function_pointer(rm_object *f) {
    EXPECT_FUNCTION(f, "rm_function_pointer");
    return ((rm_function_object *)f)->fn;
}
int rm_function_arity(rm_object *f) {
    EXPECT_FUNCTION(f, "rm_function_arity");
    return (int)((rm_function_object *)f)->nargs;
}

/* ---- bound method ---- */

/* References: function, self. */
static int method_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_method_object *m = (rm_method_object *)self;
    RM_VISIT(&m->function);
    RM_VISIT(&m->self);
    return 0;
}

static rm_object *method_call(rm_object *mobj, rm_object *const *args, size_t nargs) {
    rm_method_object *m = (rm_method_object *)mobj;
    if (!RM_IS(m->function, rm_function_type)) {
        rm_error_set(RM_ERR_TYPE, "bound method of a '%s' object is not callable", rm_type_name(m->function->ob_type));
        return NULL;
    }
    return rm_invoke(m->function, m->self, args, nargs);
}

/*
** Two bound methods are equal when they bind the same function to the same
** receiver, both by identity (Python since 3.8, Dart's tear-offs): getting
** `a.hello` twice gives two method objects, and a set of callbacks must
** hold one of them. The hash mixes the two parts' header hashes, which a
** remap hands over from an old function to its new version: a method
** hashed before a reload hashes alike after it, when it binds the new
** function. A table holding a method whose parts a remap rewrote is
** rehashed all the same (walk_results.c), which merges bm(a, old_f) with
** bm(a, new_f) when both were keys.
*/
static uint32_t method_hash(rm_object *self, int *error) {
    rm_method_object *m = (rm_method_object *)self;
    uint64_t f = m->function ? m->function->ob_hash : 0, s = m->self ? m->self->ob_hash : 0;
    return rm_hash_mix(f << 32 ^ s ^ 0x6d6574686f64ULL);
}

static int method_equal(rm_object *a, rm_object *b) {
    rm_method_object *x = (rm_method_object *)a, *y = (rm_method_object *)b;
    return x->function == y->function && x->self == y->self;
}

rm_type rm_method_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "method",
    .tp_basicsize = sizeof(rm_method_object),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 2,
    .tp_fixed = {offsetof(rm_method_object, function), offsetof(rm_method_object, self)},
    .tp_traverse = method_traverse,
    .tp_hash = method_hash,
    .tp_equal = method_equal,
    .tp_call = method_call,
};

rm_object *rm_method_new(rm_object *function, rm_object *self) {
    rm_method_object *m = (rm_method_object *)rm_alloc(&rm_method_type, sizeof *m);
    if (!m) return NULL;
    m->function = function;
    m->self = self;
    return (rm_object *)m;
}

rm_object *rm_method_function(rm_object *m) {
    RM_DEBUG_EXPECT(RM_IS(m, rm_method_type), m, "rm_method_function", "a bound method");
    return ((rm_method_object *)m)->function;
}
rm_object *rm_method_self(rm_object *m) {
    RM_DEBUG_EXPECT(RM_IS(m, rm_method_type), m, "rm_method_self", "a bound method");
    return ((rm_method_object *)m)->self;
}
