/*
** str.c: immutable byte strings. The content hash is computed once, at
** creation, and kept in the header's hash field.
*/
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* FNV-1a, then mixed: fast on short names, which is what dict keys are. */
static uint32_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return rm_hash_mix(h);
}

static int str_equal(rm_object *a, rm_object *b) {
    rm_str_object *x = (rm_str_object *)a, *y = (rm_str_object *)b;
    return x->ob_hash == y->ob_hash && x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
}

static size_t str_size(rm_object *self) {
    return sizeof(rm_str_object) + ((rm_str_object *)self)->len + 1;
}

rm_type rm_str_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "str",
    .tp_basicsize = sizeof(rm_str_object),
    .tp_flags = RM_TYPE_ATOMIC,
    .tp_layout = RM_LAYOUT_LEAF,
    .tp_equal = str_equal,
    .tp_size = str_size,
};

rm_object *rm_str_n(const char *bytes, size_t len) {
    rm_str_object *s = (rm_str_object *)rm_alloc(&rm_str_type, sizeof(rm_str_object) + len + 1);
    if (!s) return NULL;
    s->len = len;
    memcpy(s->data, bytes, len);
    s->data[len] = '\0';
    s->ob_hash = hash_bytes(bytes, len);
    return (rm_object *)s;
}

rm_object *rm_str(const char *cstr) { return rm_str_n(cstr, strlen(cstr)); }

/*
** rm_str_vformat: a str from a printf format and a va_list. The text is
** formatted into a stack buffer; if it does not fit, it is formatted again
** into a collectable buffer of the exact size, from a copy of `ap` taken
** before the first pass (a va_list is consumed by reading it). Fails with
** RM_ERR_VALUE on a format vsnprintf refuses, or on memory. rm_str_format
** is this with `...`; Swift, which cannot call a variadic C function, calls
** this one through withVaList.
*/
rm_object *rm_str_vformat(const char *fmt, va_list ap) {
    char small[256];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(again);
        rm_error_set(RM_ERR_VALUE, "bad format string");
        return NULL;
    }
    if ((size_t)n < sizeof small) {
        va_end(again);
        return rm_str_n(small, (size_t)n);
    }
    char *big = rm_gc_alloc_atomic((size_t)n + 1);
    if (big) vsnprintf(big, (size_t)n + 1, fmt, again);
    va_end(again);
    return big ? rm_str_n(big, (size_t)n) : NULL;
}

rm_object *rm_str_format(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rm_object *s = rm_str_vformat(fmt, ap);
    va_end(ap);
    return s;
}

/* ---- Interned names ----
** One immortal str per distinct text, in malloc memory, found by content
** in an open-addressing table (Lua interns short strings the same way).
** Names are never freed: intern identifiers, not data. */
static rm_str_object **names;
static size_t nnames, names_mask;

static bool names_grow(void) {
    size_t cap = names_mask ? 2 * (names_mask + 1) : 256;
    rm_str_object **grown = calloc(cap, sizeof *grown);
    if (!grown) return false;
    for (size_t i = 0; names_mask && i <= names_mask; i++) {
        rm_str_object *s = names[i];
        if (!s) continue;
        size_t j = s->ob_hash & (cap - 1);
        while (grown[j]) j = (j + 1) & (cap - 1);
        grown[j] = s;
    }
    free(names);
    names = grown;
    names_mask = cap - 1;
    return true;
}

rm_object *rm_name_n(const char *bytes, size_t len) {
    rm_debug_check_lock();
    uint32_t hash = hash_bytes(bytes, len);
    size_t i = names_mask ? hash & names_mask : 0;
    for (; names_mask && names[i]; i = (i + 1) & names_mask) {
        rm_str_object *s = names[i];
        if (s->ob_hash == hash && s->len == len && memcmp(s->data, bytes, len) == 0) return (rm_object *)s;
    }
    if ((nnames + 1) * 4 > (names_mask + 1) * 3) {
        if (!names_grow()) goto out_of_memory;
        for (i = hash & names_mask; names[i]; i = (i + 1) & names_mask) {}
    }
    rm_str_object *s = malloc(sizeof(rm_str_object) + len + 1);
    if (!s) goto out_of_memory;
    s->ob_type = &rm_str_type;
    s->ob_hash = hash;
    s->ob_flags = RM_FLAG_IMMORTAL;
    s->ob_aux = 0;
    s->len = len;
    memcpy(s->data, bytes, len);
    s->data[len] = '\0';
    names[i] = s;
    nnames++;
    return (rm_object *)s;

out_of_memory:
    rm_error_set(RM_ERR_MEMORY, "out of memory interning a name");
    return NULL;
}

rm_object *rm_name(const char *cstr) { return cstr ? rm_name_n(cstr, strlen(cstr)) : NULL; }

const char *rm_str_cstr(rm_object *s) {
    RM_DEBUG_EXPECT(RM_IS(s, rm_str_type), s, "rm_str_cstr", "a str");
    return ((rm_str_object *)s)->data;
}

size_t rm_str_len(rm_object *s) {
    RM_DEBUG_EXPECT(RM_IS(s, rm_str_type), s, "rm_str_len", "a str");
    return ((rm_str_object *)s)->len;
}

bool rm_str_eq(rm_object *s, const char *cstr) {
    RM_DEBUG_EXPECT(RM_IS(s, rm_str_type), s, "rm_str_eq", "a str");
    rm_str_object *o = (rm_str_object *)s;
    return strlen(cstr) == o->len && memcmp(o->data, cstr, o->len) == 0;
}
