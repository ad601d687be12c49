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
** Classes and attributes are kept hidden: a cache entry never keeps one
** alive (nor an old library mapped). An attribute the epoch vouches for is
** alive: its class's dict holds it, or the change that dropped it moved
** the epoch, or the collection that freed its class did.
*/
#include "internal.h"

uint32_t rm_lookup_epoch = 1;

void rm_lookup_invalidate(void) { rm_lookup_epoch++; }

/* ---- C-string names ---- */

#define CNAME_BITS 10

static struct cname_entry {
    const char *cstr;
    rm_object *name;
} cnames[1 << CNAME_BITS];

/* Every address bit counts: string literals sit bytes apart ("x" and "v"
   share an 8-byte word). */
static size_t slot_of(uintptr_t a, unsigned bits) {
    return (size_t)((a * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* Whether the C string still reads `name` (inline: names are short). */
static bool same_text(rm_object *name, const char *cstr) {
    const char *a = rm_str_cstr(name);
    while (*a && *a == *cstr) a++, cstr++;
    return *a == *cstr;
}

rm_object *rm_cname(const char *cstr) {
    struct cname_entry *e = &cnames[slot_of((uintptr_t)cstr, CNAME_BITS)];
    if (e->cstr == cstr && e->name && same_text(e->name, cstr)) return e->name;
    rm_object *name = rm_name(cstr);
    if (name) *e = (struct cname_entry){cstr, name};
    return name;
}

/* ---- Names on classes ---- */

#define ATTR_BITS 12

static struct attr_entry {
    uintptr_t cls;  /* hidden */
    rm_object *name; /* interned: immortal */
    uintptr_t attr; /* hidden */
    uint32_t epoch;
    int32_t field;
} attrs[1 << ATTR_BITS];

void rm_lookup(rm_type *cls, rm_object *name, int32_t *field, rm_object **attr) {
    uintptr_t key = RM_HIDE(cls);
    struct attr_entry *e = &attrs[slot_of((uintptr_t)cls ^ ((uintptr_t)name << 7), ATTR_BITS)];
    if (e->cls == key && e->name == name && e->epoch == rm_lookup_epoch) {
        *field = e->field;
        *attr = e->attr ? RM_REVEAL(e->attr) : NULL;
        return;
    }
    rm_object *index = cls->cls_index ? rm_dict_get(cls->cls_index, name) : NULL;
    *field = index ? (int32_t)rm_int_value(index) : -1;
    *attr = rm_class_lookup((rm_object *)cls, name);
    *e = (struct attr_entry){key, name, *attr ? RM_HIDE(*attr) : 0, rm_lookup_epoch, *field};
}
