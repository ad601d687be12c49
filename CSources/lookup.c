/*
** lookup.c: caches that make attribute lookup cost a few loads.
**
** 1. C-string names. rm_getattr(obj, "x") used to allocate and hash a str
**    for "x" on every call. A direct-mapped table keyed by the string's
**    address gives its interned name; the text is compared too, since an
**    address can be reused (a stack buffer, an unloaded library).
** 2. What a name is on a class: its field index and the class attribute
**    found through the bases. A direct-mapped table keyed by (class, name)
**    addresses, valid while its epoch is current. The epoch moves on every
**    change to a class, its method dict or its field index (they carry
**    RM_FLAG_LOOKUP, and every change goes through rm_journal), on every
**    remap (which rewrites class slots and dict values in place), after a
**    rollback, and when a collection frees a class (its address may come
**    back). CPython 3.12 keys its inline caches on a type version tag the
**    same way.
** 3. Both at once for the C-string calls: (class, C string) addresses give
**    the field index and attribute in one probe (internal.h, rm_site).
** Classes and attributes are kept hidden: a cache entry never keeps one
** alive (nor an old library mapped). An attribute the epoch vouches for is
** alive: its class's dict holds it, or the change that dropped it moved
** the epoch, or the collection that freed its class did.
*/
#include "internal.h"

uint32_t rm_lookup_epoch = 1;

void rm_lookup_invalidate(void) { rm_lookup_epoch++; }

/* ---- C-string names ---- */

rm_cname_entry rm_cnames[1 << RM_CNAME_BITS];
rm_attr_entry rm_attrs[1 << RM_ATTR_BITS];

rm_text_key rm_text_key_of(rm_object *name, const char *cstr) {
    const rm_str_object *s = (const rm_str_object *)name;
    rm_text_key key = {~(uint64_t)0, 0}; /* never matches */
    if (s->len < 8 && ((uintptr_t)cstr & 4095) <= 4096 - 8) {
        key.prefix = 0;
        memcpy(&key.prefix, s->data, s->len + 1);
        key.mask = s->len == 7 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * (s->len + 1))) - 1;
    }
    return key;
}

static bool same_text(rm_object *name, const char *cstr) {
    return strcmp(cstr, ((rm_str_object *)name)->data) == 0;
}

rm_object *rm_cname_miss(const char *cstr) {
    rm_cname_entry *e = &rm_cnames[rm_lookup_slot((uintptr_t)cstr, RM_CNAME_BITS)];
    if (e->cstr == cstr && e->name && same_text(e->name, cstr)) return e->name; /* a long name */
    rm_object *name = rm_name(cstr);
    if (name) *e = (rm_cname_entry){cstr, name, rm_text_key_of(name, cstr)};
    return name;
}

/* ---- Names on classes ---- */

void rm_lookup_miss(rm_type *cls, rm_object *name, int32_t *field, rm_object **attr) {
    uintptr_t key = RM_HIDE(cls);
    rm_attr_entry *e = &rm_attrs[rm_lookup_slot((uintptr_t)cls ^ ((uintptr_t)name << 7), RM_ATTR_BITS)];
    rm_object *index = cls->cls_index ? rm_dict_get(cls->cls_index, name) : NULL;
    *field = index ? (int32_t)rm_int_value(index) : -1;
    *attr = rm_class_lookup((rm_object *)cls, name);
    *e = (rm_attr_entry){key, name, *attr ? RM_HIDE(*attr) : 0, rm_lookup_epoch, *field};
}

/* ---- C-string names on classes ---- */

rm_site_entry rm_sites[1 << RM_SITE_BITS] __attribute__((aligned(64)));

static bool is_instance(rm_object *o) { return (o->ob_type->tp_flags & RM_TYPE_HEAP) != 0; }

rm_site_entry *rm_site_find(rm_object *obj, const char *cstr) {
    if (!obj || !cstr || !is_instance(obj)) return NULL;
    rm_type *cls = obj->ob_type;
    rm_site_entry *e = &rm_sites[rm_lookup_slot((uintptr_t)cstr ^ ((uintptr_t)cls << 9), RM_SITE_BITS)];
    if (e->cstr == cstr && e->cls == RM_HIDE(cls) && e->epoch == rm_lookup_epoch && same_text(e->name, cstr))
        return e;
    rm_object *name = rm_cname(cstr);
    if (!name) return NULL;
    int32_t field;
    rm_object *attr;
    rm_lookup(cls, name, &field, &attr);
    *e = (rm_site_entry){cstr, RM_HIDE(cls), rm_text_key_of(name, cstr), name, attr ? RM_HIDE(attr) : 0,
                         rm_lookup_epoch, field, 0};
    return e;
}
