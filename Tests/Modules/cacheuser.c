/*
** cacheuser.c: module "cacheuser" for LookupCacheTests. It reads and writes
** field a of any object through inline caches kept in its statics, and is
** not reloaded when module "cached" is: its caches outlive the class they
** were filled for, so they must miss on the class that replaced it.
**   read_a(p) -> p.a      write_a(p, v) sets p.a
*/
#include <remap/module.h>
RM_MODULE_ABI;

static rm_object *name_a;
static rm_field_cache a_read, a_write;

static rm_object *read_a(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t a;
    rm_object *obj;
    if (rm_args_parse(args, nargs, "O", &obj) < 0) return NULL;
    return rm_getattr_int_cached(obj, name_a, &a_read, &a) < 0 ? NULL : rm_int(a);
}

static rm_object *write_a(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t v;
    rm_object *obj;
    if (rm_args_parse(args, nargs, "Oi", &obj, &v) < 0 || rm_setattr_int_cached(obj, name_a, &a_write, v) < 0)
        return NULL;
    return rm_none;
}

int rm_module_init(rm_builder *b) {
    if (!(name_a = rm_name("a"))) return -1;
    return rm_def_function(b, "read_a", read_a, 1) && rm_def_function(b, "write_a", write_a, 2) ? 0 : -1;
}
