/*
** lookup.h: the lookup caches' tables and inline hit paths (lookup.c). Only
** internal.h includes it, inside its hidden-visibility block.
*/
#ifndef REMAP_LOOKUP_H
#define REMAP_LOOKUP_H

/* ---- lookup.c ----
** The caches behind attribute lookup; their hit paths are inline here,
** since every getattr, setattr and method call goes through them. */
#define RM_CNAME_BITS 10
#define RM_ATTR_BITS 12

/* A C string's text is checked with one load: an entry keeps the first 8
   bytes of its name with the NUL (prefix) and a mask of them. A name longer
   than 7 bytes, or a string whose 8 bytes could cross into the next page,
   gets a mask that never matches: the miss path compares it in full. */
typedef struct rm_text_key {
    uint64_t prefix, mask;
} rm_text_key;

static inline bool rm_text_matches(const char *cstr, rm_text_key key) {
    uint64_t w = 0;
#if RM_ASAN
    /* The same bytes the load compares, read one at a time up to the NUL:
       the load may read past a short string (harmless within the page, but
       AddressSanitizer reports it). */
    for (unsigned i = 0; i < 8 && ((key.mask >> (8 * i)) & 0xff); i++) {
        w |= (uint64_t)(unsigned char)cstr[i] << (8 * i);
        if (!cstr[i]) break;
    }
#else
    memcpy(&w, cstr, 8);
#endif
    return (w & key.mask) == key.prefix;
}

typedef struct rm_cname_entry {
    const char *cstr;
    rm_object *name;
    rm_text_key text;
} rm_cname_entry;

typedef struct rm_attr_entry {
    uintptr_t cls;   /* hidden */
    rm_object *name; /* interned: immortal */
    uintptr_t attr;  /* hidden */
    uint32_t epoch;
    int32_t field;
} rm_attr_entry;

extern rm_cname_entry rm_cnames[1 << RM_CNAME_BITS];
extern rm_attr_entry rm_attrs[1 << RM_ATTR_BITS];
rm_object *rm_cname_miss(const char *cstr);
rm_text_key rm_text_key_of(rm_object *name, const char *cstr);
void rm_lookup_miss(rm_type *cls, rm_object *name, int32_t *field, rm_object **attr);

/* Every address bit counts: string literals sit bytes apart ("x" and "v"
   share an 8-byte word). */
static inline size_t rm_lookup_slot(uintptr_t a, unsigned bits) {
    return (size_t)((a * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* The interned name for a C string, from a cache keyed by its address (a
   literal's address is stable; the text is checked too, since an address
   can be reused). NULL: out of memory. */
static inline rm_object *rm_cname(const char *cstr) {
    rm_cname_entry *e = &rm_cnames[rm_lookup_slot((uintptr_t)cstr, RM_CNAME_BITS)];
    if (e->cstr == cstr && e->name && rm_text_matches(cstr, e->text)) return e->name; /* e->name: filled */
    return rm_cname_miss(cstr);
}

/* The entry for `name` on `cls` if the cache vouches for it. Only classes
   get entries, so a hit also says the object is an instance. */
static inline rm_attr_entry *rm_attr_hit(rm_type *cls, rm_object *name) {
    rm_attr_entry *e = &rm_attrs[rm_lookup_slot((uintptr_t)cls ^ ((uintptr_t)name << 7), RM_ATTR_BITS)];
    return e->cls == RM_HIDE(cls) && e->name == name && e->epoch == rm_lookup_epoch ? e : NULL;
}

/* What `name` is on instances of `cls`: its field index (or -1) and the
   class attribute found through the bases (or NULL), from a cache that any
   change to a class, a remap or a class's death invalidates. */
static inline void rm_lookup(rm_type *cls, rm_object *name, int32_t *field, rm_object **attr) {
    rm_attr_entry *e = rm_attr_hit(cls, name);
    if (e) {
        *field = e->field;
        *attr = e->attr ? RM_REVEAL(e->attr) : NULL;
        return;
    }
    rm_lookup_miss(cls, name, field, attr);
}
/* 3. The plain API's hot path: what the C string `cstr` names on `cls`, in
   one probe keyed by both addresses (rm_getattr(p, "x") needs neither the
   name's cache nor the class's). Only classes get entries, so a hit also
   says the object is an instance. */
/* 1024 entries of a cache line each (64 KiB): a loop touches a few (class,
   name) pairs, which rarely collide in a direct-mapped table this size, and
   a bigger one would crowd the L2 cache the heap needs. */
#define RM_SITE_BITS 10

typedef struct rm_site_entry {
    const char *cstr;
    uintptr_t cls;   /* hidden */
    rm_text_key text;
    rm_object *name; /* interned */
    uintptr_t attr;  /* hidden */
    uint32_t epoch;
    int32_t field;
    uint64_t pad_;   /* an entry is a cache line */
} rm_site_entry;

_Static_assert(sizeof(rm_site_entry) == 64, "a site entry is a cache line");
extern rm_site_entry rm_sites[1 << RM_SITE_BITS];

/* The entry for (obj's class, cstr) if the cache vouches for it in a few
   loads, calling nothing. NULL (cstr may be NULL): ask rm_site_find. */
static inline rm_site_entry *rm_site(rm_object *obj, const char *cstr) {
    uintptr_t cls = (uintptr_t)obj->ob_type;
    rm_site_entry *e = &rm_sites[rm_lookup_slot((uintptr_t)cstr ^ (cls << 9), RM_SITE_BITS)];
    if (e->cstr != cstr || e->cls != RM_HIDE(cls) || e->epoch != rm_lookup_epoch) return NULL;
    return rm_text_matches(cstr, e->text) ? e : NULL;
}

/* rm_site for any name: the text compared in full, the entry filled on a
   miss if obj is an instance. NULL: not an instance, or out of memory. */
rm_site_entry *rm_site_find(rm_object *obj, const char *cstr);

void rm_lookup_invalidate(void);

#endif
