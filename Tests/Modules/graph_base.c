/*
** graph_base.c: module "gbase", the root of the fault-injection graph
** (FaultInjectionTests). gmid imports it (a reload of gbase cascades to
** gmid); gleaf derives a class from it at run time without importing it.
**
** v1: class Shape (field x = 0; area() = x*x; describe()); version() = 1;
**     LIMIT = 10; old_fn() (removed in v2); state registry (list), index
**     (dict), seen (set), log (list).
** v2: Shape gains field z (an initializer: old x + 100; defined before y,
**     so an instance without room keeps it in its dict word), field y = 7
**     and a class hook __reload__(added, removed) that sets y = 2x, an
**     attribute note = "migrated" that is not a field, and appends to log;
**     area() = x*x*2; version() = 2; LIMIT = 20; a module hook that changes
**     kept state and an old instance.
** Point (fields x = 0, y = 0, no hook) becomes (y, x, w = 5) in v2: its
** instances are migrated by the walk alone, with nothing listed to undo.
** Struct classes (issue 21): Cell (n i32, w f64, ref object) becomes (n
** i64 widened, w, extra i64 = 9 with an initializer old n * 3, ref) in v2,
** with a class hook (added, removed, old) that writes w directly, then sets
** it to old w + 1: migrated in place, copied for the rollback. Blob (a i64)
** gains six i64 fields in v2, past every instance's allocation: every Blob
** moves in the walk.
** Every call's result is checked: the fault tests fail allocations here.
*/
#include <remap/module.h>
#include <stddef.h>
RM_MODULE_ABI;

typedef struct Cell {
    RM_INSTANCE_HEADER;
#if VERSION == 1
    int32_t n;
#else
    int64_t n;
#endif
    double w;
#if VERSION != 1
    int64_t extra;
#endif
    rm_object *ref;
} Cell;

static const rm_field_spec cell_fields[] = {
#if VERSION == 1
    RM_FIELD(Cell, n, RM_I32),
#else
    RM_FIELD(Cell, n, RM_I64),
#endif
    RM_FIELD(Cell, w, RM_F64),
#if VERSION != 1
    RM_FIELD(Cell, extra, RM_I64),
#endif
    RM_FIELD(Cell, ref, RM_OBJECT),
    RM_FIELDS_END,
};

typedef struct Blob {
    RM_INSTANCE_HEADER;
    int64_t a;
#if VERSION != 1
    int64_t b1, b2, b3, b4, b5, b6;
#endif
} Blob;

static const rm_field_spec blob_fields[] = {
    RM_FIELD(Blob, a, RM_I64),
#if VERSION != 1
    RM_FIELD(Blob, b1, RM_I64), RM_FIELD(Blob, b2, RM_I64), RM_FIELD(Blob, b3, RM_I64),
    RM_FIELD(Blob, b4, RM_I64), RM_FIELD(Blob, b5, RM_I64), RM_FIELD(Blob, b6, RM_I64),
#endif
    RM_FIELDS_END,
};

#if VERSION != 1
static rm_object *cell_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    Cell *c = RM_STRUCT(Cell, self);
    c->w = -1; /* a direct write: the rollback must undo it */
    rm_object *w = rm_getattr(args[2], "w");
    if (!w) return NULL;
    c->w = rm_float_value(w) + 1;
    return rm_get_none();
}

static rm_object *extra_from_n(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *n = rm_getattr(args[0], "n");
    return n ? rm_int(rm_int_value(n) * 3) : NULL;
}
#endif

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

static rm_object *area(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t v;
    if (rm_int_check(rm_getattr(self, "x"), &v) < 0) return NULL;
    return rm_int(v * v * VERSION);
}

static rm_object *describe(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str_format("shape v%d", VERSION);
}

#if VERSION == 1
static rm_object *old_fn(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(-1); }
#else
static rm_object *namespace_get(rm_object *self, const char *name) {
    rm_object *ns = rm_module_dict(rm_function_module(self));
    rm_object *v = rm_dict_get_str(ns, name);
    if (!v && !rm_error_occurred()) rm_error_set(RM_ERR_KEY, "no %s", name);
    return v;
}

static rm_object *shape_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t x;
    rm_object *added, *removed;
    if (rm_args_parse(args, nargs, "O!O!", &rm_tuple_type, &added, &rm_tuple_type, &removed) < 0) return NULL;
    if (rm_int_check(rm_getattr(self, "x"), &x) < 0) return NULL;
    rm_object *y = rm_int(2 * x);
    rm_object *note = y ? rm_str("migrated") : NULL;
    if (!note || rm_setattr(self, "y", y) < 0 || rm_setattr(self, "note", note) < 0) return NULL;
    rm_object *log = namespace_get(rm_function_current(), "log");
    if (!log) return NULL;
    return rm_list_append(log, rm_tuple_size(added) ? rm_tuple_get(added, 0) : rm_get_none()) < 0 ? NULL
                                                                                               : rm_get_none();
}

static rm_object *z_from_x(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *old;
    int64_t x;
    if (rm_args_parse(args, nargs, "O", &old) < 0 || rm_int_check(rm_getattr(old, "x"), &x) < 0) return NULL;
    return rm_int(x + 100);
}

/* Changes what the reload keeps: a list, a dict, a set, an old instance. */
static rm_object *module_reload(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *registry = namespace_get(self, "registry");
    rm_object *index = registry ? namespace_get(self, "index") : NULL;
    rm_object *seen = index ? namespace_get(self, "seen") : NULL;
    rm_object *mark = seen ? rm_str("hooked") : NULL;
    if (!mark || rm_list_append(registry, mark) < 0 || rm_dict_set(index, mark, rm_get_true()) < 0 ||
        rm_set_add(seen, mark) < 0)
        return NULL;
    rm_object *first = rm_list_size(registry) > 1 ? rm_list_get(registry, 0) : NULL;
    if (first && rm_setattr(first, "touched", rm_get_true()) < 0) return NULL;
    return rm_get_none();
}
#endif

int rm_module_init(rm_builder *m) {
    rm_object *shape = rm_def_class(m, "Shape", NULL);
    if (!shape || rm_def_field(shape, "x", rm_int(0)) < 0 || rm_def_method(shape, "area", area, 0) < 0 ||
        rm_def_method(shape, "describe", describe, 0) < 0)
        return -1;
    rm_object *point = rm_def_class(m, "Point", NULL);
#if VERSION == 1
    if (!point || rm_def_field(point, "x", rm_int(0)) < 0 || rm_def_field(point, "y", rm_int(0)) < 0) return -1;
#else
    if (!point || rm_def_field(point, "y", rm_int(0)) < 0 || rm_def_field(point, "x", rm_int(0)) < 0 ||
        rm_def_field(point, "w", rm_int(5)) < 0)
        return -1;
#endif
    rm_object *cell = rm_def_struct(m, "Cell", NULL, sizeof(Cell), cell_fields);
    rm_object *blob = cell ? rm_def_struct(m, "Blob", NULL, sizeof(Blob), blob_fields) : NULL;
    if (!blob) return -1;
#if VERSION != 1
    if (rm_def_field_default(cell, "extra", rm_int(9)) < 0 || rm_def_field_init(cell, "extra", extra_from_n) < 0 ||
        rm_def_method(cell, "__reload__", cell_reload, 3) < 0 || rm_def_field_default(blob, "b6", rm_int(6)) < 0)
        return -1;
#endif
    if (!rm_def_function(m, "version", version, 0) || rm_def_value(m, "LIMIT", rm_int(10 * VERSION)) < 0) return -1;
    if (!rm_def_state(m, "registry", rm_list_new(0)) || !rm_def_state(m, "index", rm_dict_new()) ||
        !rm_def_state(m, "seen", rm_set_new()) || !rm_def_state(m, "log", rm_list_new(0)))
        return -1;
#if VERSION == 1
    if (!rm_def_function(m, "old_fn", old_fn, 0)) return -1;
#else
    if (rm_def_field(shape, "z", rm_int(0)) < 0 || rm_def_field_init(shape, "z", z_from_x) < 0 ||
        rm_def_field(shape, "y", rm_int(7)) < 0 || rm_def_method(shape, "__reload__", shape_reload, 2) < 0 ||
        !rm_def_function(m, "__reload__", module_reload, 1))
        return -1;
#endif
    return 0;
}
