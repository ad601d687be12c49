/*
** attr_fast.c: the entry points module code calls in its hot loops,
** rm_getattr, rm_setattr and rm_call_method with a C string or an interned
** name, and the typed rm_getattr_int / rm_setattr_int.
**
** Each is a hit of a lookup cache (lookup.c, internal.h) answered in a few
** loads by a function that calls nothing but the method it runs; anything
** else, the first call for a class and name included, goes to the whole
** protocol in object.c, whose lookups fill the caches. A hit says the
** object is an instance (only classes get entries); a field answers only
** if the instance stores it in an inline slot and it is set.
*/
#include "internal.h"

/* The value of field `field` if the instance stores it inline, or NULL. */
static inline rm_object *inline_field(rm_object *obj, int32_t field) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    return field >= 0 && (uint32_t)field < inst->ob_aux ? inst->slots[field] : NULL;
}

/* A field set in place: rm_journal would do nothing (an instance is never a
   class, and no reload is in progress). */
static inline bool set_inline_field(rm_object *obj, int32_t field, rm_object *value) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    if (field < 0 || (uint32_t)field >= inst->ob_aux || rm_txn_on) return false;
    inst->slots[field] = value;
    return true;
}

/* obj.f(args) for a function f on the class that neither a field nor an
   attribute dict (the instance has none) can shadow; NULL if it is not so. */
static inline rm_object *unshadowed_function(rm_object *obj, int32_t field, uintptr_t attr) {
    if (field >= 0 || !attr || rm_attr_dict((rm_instance_object *)obj)) return NULL;
    rm_object *f = RM_REVEAL(attr);
    return RM_IS(f, rm_function_type) ? f : NULL;
}

/* ---- C-string names ---- */

/* The name for cstr, for the whole protocol: NULL with the error set. */
static rm_object *name_of(rm_object *obj, const char *cstr, const char *who) {
    if (rm_missing(obj, who) || rm_missing(cstr, who)) return NULL;
    return rm_cname(cstr);
}

static __attribute__((noinline)) rm_object *getattr_slow(rm_object *obj, const char *cstr) {
    rm_site_entry *e = rm_site_find(obj, cstr);
    rm_object **slot = e && e->field >= 0 ? rm_field_slot((rm_instance_object *)obj, (size_t)e->field) : NULL;
    if (slot && *slot) return *slot;
    rm_object *name = name_of(obj, cstr, "rm_getattr");
    return name ? rm_getattr_full(obj, name) : NULL;
}

rm_object *rm_getattr(rm_object *obj, const char *cstr) {
    rm_site_entry *e = __builtin_expect(obj != NULL, 1) ? rm_site(obj, cstr) : NULL;
    rm_object *v = e ? inline_field(obj, e->field) : NULL;
    return __builtin_expect(v != NULL, 1) ? v : getattr_slow(obj, cstr);
}

static __attribute__((noinline)) int setattr_slow(rm_object *obj, const char *cstr, rm_object *value) {
    rm_site_entry *e = value ? rm_site_find(obj, cstr) : NULL;
    rm_object **slot = e && e->field >= 0 ? rm_field_slot((rm_instance_object *)obj, (size_t)e->field) : NULL;
    if (slot) {
        if (rm_journal(obj) < 0) return -1;
        *slot = value;
        return 0;
    }
    rm_object *name = name_of(obj, cstr, "rm_setattr");
    return name ? rm_setattr_full(obj, name, value) : -1;
}

int rm_setattr(rm_object *obj, const char *cstr, rm_object *value) {
    rm_site_entry *e = __builtin_expect(obj && value, 1) ? rm_site(obj, cstr) : NULL;
    return e && set_inline_field(obj, e->field, value) ? 0 : setattr_slow(obj, cstr, value);
}

static __attribute__((noinline)) rm_object *call_method_slow(rm_object *obj, const char *cstr,
                                                              rm_object *const *args, size_t nargs) {
    rm_site_entry *e = rm_site_find(obj, cstr);
    rm_object *f = e ? unshadowed_function(obj, e->field, e->attr) : NULL;
    if (f) return rm_invoke(f, obj, args, nargs);
    rm_object *name = e ? e->name : name_of(obj, cstr, "rm_call_method");
    return name ? rm_call_method_slow(obj, name, args, nargs) : NULL;
}

rm_object *rm_call_method(rm_object *obj, const char *cstr, rm_object *const *args, size_t nargs) {
    rm_site_entry *e = __builtin_expect(obj != NULL, 1) ? rm_site(obj, cstr) : NULL;
    rm_object *f = e ? unshadowed_function(obj, e->field, e->attr) : NULL;
    return f ? rm_invoke(f, obj, args, nargs) : call_method_slow(obj, cstr, args, nargs);
}

/* ---- Interned names ---- */

rm_object *rm_getattr_name(rm_object *obj, rm_object *name) {
    rm_attr_entry *e = __builtin_expect(obj != NULL, 1) ? rm_attr_hit(obj->ob_type, name) : NULL;
    rm_object *v = e ? inline_field(obj, e->field) : NULL;
    return __builtin_expect(v != NULL, 1) ? v : rm_getattr_full(obj, name);
}

int rm_setattr_name(rm_object *obj, rm_object *name, rm_object *value) {
    rm_attr_entry *e = __builtin_expect(obj && value, 1) ? rm_attr_hit(obj->ob_type, name) : NULL;
    return e && set_inline_field(obj, e->field, value) ? 0 : rm_setattr_full(obj, name, value);
}

rm_object *rm_call_method_name(rm_object *obj, rm_object *name, rm_object *const *args, size_t nargs) {
    rm_attr_entry *e = __builtin_expect(obj != NULL, 1) ? rm_attr_hit(obj->ob_type, name) : NULL;
    rm_object *f = e ? unshadowed_function(obj, e->field, e->attr) : NULL;
    return f ? rm_invoke(f, obj, args, nargs) : rm_call_method_slow(obj, name, args, nargs);
}

/* ---- Typed: an int field without an rm_object in the caller ---- */

static __attribute__((noinline)) int getattr_int_slow(rm_object *obj, rm_object *name, int64_t *out) {
    rm_object *v = rm_getattr_full(obj, name);
    return v ? rm_int_check(v, out) : -1;
}

int rm_getattr_int(rm_object *obj, rm_object *name, int64_t *out) {
    rm_attr_entry *e = __builtin_expect(obj != NULL, 1) ? rm_attr_hit(obj->ob_type, name) : NULL;
    rm_object *v = e ? inline_field(obj, e->field) : NULL;
    if (__builtin_expect(v && RM_IS(v, rm_int_type), 1)) {
        *out = ((rm_int_object *)v)->value;
        return 0;
    }
    return getattr_int_slow(obj, name, out);
}

int rm_setattr_int(rm_object *obj, rm_object *name, int64_t value) {
    rm_object *boxed = rm_int(value);
    rm_attr_entry *e = __builtin_expect(obj && boxed, 1) ? rm_attr_hit(obj->ob_type, name) : NULL;
    return e && set_inline_field(obj, e->field, boxed) ? 0 : rm_setattr_full(obj, name, boxed);
}

/* ---- Inline caches (builtins.h): their miss paths ---- */

/* Points the module's cache at obj's class and the name's inline slot, if
   the cache can vouch for it: not during a reload (the inline set does not
   journal), and only for a field instances of the class store inline. */
static void fill(rm_object *obj, rm_object *name, rm_field_cache *cache) {
    rm_attr_entry *e = obj && !rm_txn_on ? rm_attr_hit(obj->ob_type, name) : NULL;
    if (e && e->field >= 0 && (uint32_t)e->field < ((rm_instance_object *)obj)->ob_aux)
        *cache = (rm_field_cache){~(uintptr_t)obj->ob_type, rm_lookup_epoch, (uint32_t)e->field};
}

int rm_getattr_int_fill(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t *out) {
    if (rm_getattr_int(obj, name, out) < 0) return -1; /* fills the class cache */
    fill(obj, name, cache);
    return 0;
}

int rm_setattr_int_fill(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t value) {
    if (rm_setattr_int(obj, name, value) < 0) return -1;
    fill(obj, name, cache);
    return 0;
}

/* The external copies of the header's inline functions. */
extern inline int rm_getattr_int_cached(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t *out);
extern inline int rm_setattr_int_cached(rm_object *obj, rm_object *name, rm_field_cache *cache, int64_t value);

/* ---- The old names (builtins.h) ---- */
rm_object *rm_getattr_obj(rm_object *obj, rm_object *name) { return rm_getattr_name(obj, name); }
int rm_setattr_obj(rm_object *obj, rm_object *name, rm_object *value) { return rm_setattr_name(obj, name, value); }
