/*
** cached.c: module "cached" for the lookup-cache tests (LookupCacheTests).
** Base and Thing(Base); Thing.get() answers VERSION * 10 + the field a;
** Base.kind() answers "base vVERSION". Thing.get_typed() answers the same
** through the typed fast API (an interned name, rm_getattr_int) and
** Thing.set_typed(v) sets a with rm_setattr_int; get_cached / set_cached
** do the same through inline caches (rm_getattr_int_cached).
**   v1: Thing(a = 1, b = 2)
**   v2: Thing(z = 0, b = 2, a = 1): a moved, z added in front
**   v3: Thing's base is Other (kind() answers "other"), fields as v2
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *get(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t a;
    return rm_int_check(rm_getattr(self, "a"), &a) < 0 ? NULL : rm_int(VERSION * 10 + a);
}

static rm_object *name_a;

static rm_object *get_typed(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t a;
    return rm_getattr_int(self, name_a, &a) < 0 ? NULL : rm_int(VERSION * 10 + a);
}

static rm_object *set_typed(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t v;
    if (rm_args_parse(args, nargs, "i", &v) < 0 || rm_setattr_int(self, name_a, v) < 0) return NULL;
    return rm_none;
}

/* The same through inline caches (one per access site, kept across calls
   and reloads: a static of this library, which a reload replaces). */
static rm_field_cache a_read, a_write;

static rm_object *get_cached(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t a;
    return rm_getattr_int_cached(self, name_a, &a_read, &a) < 0 ? NULL : rm_int(VERSION * 10 + a);
}

static rm_object *set_cached(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t v;
    if (rm_args_parse(args, nargs, "i", &v) < 0 || rm_setattr_int_cached(self, name_a, &a_write, v) < 0) return NULL;
    return rm_none;
}

static rm_object *kind(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_str_format("base v%d", VERSION);
}

static rm_object *other_kind(rm_object *self, rm_object *const *args, size_t nargs) { return rm_str("other"); }

int rm_module_init(rm_builder *m) {
    rm_object *base = rm_def_class(m, "Base", NULL);
    rm_object *other = base ? rm_def_class(m, "Other", NULL) : NULL;
    if (!other || rm_def_method(base, "kind", kind, 0) < 0 || rm_def_method(other, "kind", other_kind, 0) < 0) return -1;
    rm_object *thing = rm_def_class(m, "Thing", VERSION >= 3 ? other : base);
    if (!thing) return -1;
#if VERSION >= 2
    if (rm_def_field(thing, "z", rm_int(0)) < 0) return -1;
    if (rm_def_field(thing, "b", rm_int(2)) < 0 || rm_def_field(thing, "a", rm_int(1)) < 0) return -1;
#else
    if (rm_def_field(thing, "a", rm_int(1)) < 0 || rm_def_field(thing, "b", rm_int(2)) < 0) return -1;
#endif
    if (!(name_a = rm_name("a")) || rm_def_method(thing, "get_typed", get_typed, 0) < 0 ||
        rm_def_method(thing, "set_typed", set_typed, 1) < 0 || rm_def_method(thing, "get_cached", get_cached, 0) < 0 ||
        rm_def_method(thing, "set_cached", set_cached, 1) < 0)
        return -1;
    return rm_def_method(thing, "get", get, 0);
}
