/*
** dict.c: dicts and sets, two faces of the table in table.c.
*/
#include "internal.h"

/* References: every live entry's key and value (a set has no values). */
static int table_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_table_object *t = (rm_table_object *)self;
    for (size_t i = 0; i < t->used; i++) {
        rm_entry *e = &t->entries[i];
        if (!e->key) continue;
        RM_VISIT(&e->key);
        RM_VISIT(&e->value);
    }
    return 0;
}

static uint32_t table_hash(rm_object *self, int *error) {
    rm_error_set(RM_ERR_TYPE, "unhashable type: '%s'", self->ob_type->tp_name);
    *error = 1;
    return 0;
}

static size_t table_size(rm_object *self) {
    rm_table_object *t = (rm_table_object *)self;
    return sizeof *t + t->capacity * sizeof(rm_entry) + t->nindex * sizeof(int32_t);
}

rm_type rm_dict_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "dict",
    .tp_basicsize = sizeof(rm_table_object),
    .tp_layout = RM_LAYOUT_TABLE,
    .tp_traverse = table_traverse,
    .tp_hash = table_hash,
    .tp_size = table_size,
};

rm_type rm_set_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "set",
    .tp_basicsize = sizeof(rm_table_object),
    .tp_layout = RM_LAYOUT_TABLE,
    .tp_traverse = table_traverse,
    .tp_hash = table_hash,
    .tp_size = table_size,
};

static rm_object *table_new(rm_type *type) {
    rm_table_object *t = (rm_table_object *)rm_alloc(type, sizeof *t);
    if (!t || rm_table_init(t) < 0) return NULL;
    return (rm_object *)t;
}

/* Finds key's entry; NULL if absent or on error (*error set). */
static rm_entry *lookup(rm_object *table, rm_object *key, int *error) {
    if (!rm_hashable(key)) return NULL;
    uint32_t hash = rm_hash(key, error);
    if (*error) return NULL;
    return rm_table_find((rm_table_object *)table, key, hash, error);
}

/* ---- dict ---- */

rm_object *rm_dict_new(void) { return table_new(&rm_dict_type); }

size_t rm_dict_size(rm_object *d) {
    RM_DEBUG_EXPECT(RM_IS(d, rm_dict_type), d, "rm_dict_size", "a dict");
    return ((rm_table_object *)d)->live;
}

rm_object *rm_dict_get(rm_object *d, rm_object *key) {
    int error = 0;
    rm_entry *e = lookup(d, key, &error);
    return e ? e->value : NULL;
}

/* By C string: the key is its interned name (lookup.c), so a literal costs
   no allocation. */
rm_object *rm_dict_get_str(rm_object *d, const char *key) {
    rm_object *k = rm_cname(key);
    return k ? rm_dict_get(d, k) : NULL;
}

int rm_dict_set(rm_object *d, rm_object *key, rm_object *value) {
    if (rm_missing(value, "rm_dict_set")) return -1;
    return rm_table_insert((rm_table_object *)d, key, value);
}

int rm_dict_set_str(rm_object *d, const char *key, rm_object *value) {
    rm_object *k = rm_cname(key);
    return k ? rm_dict_set(d, k, value) : -1;
}

int rm_dict_contains(rm_object *d, rm_object *key) {
    int error = 0;
    rm_entry *e = lookup(d, key, &error);
    return error ? -1 : e != NULL;
}

/* Deleting leaves the entry in place with a NULL key (see table.c). */
static int table_delete(rm_object *table, rm_object *key) {
    int error = 0;
    rm_entry *e = lookup(table, key, &error);
    if (error) return -1;
    if (!e) return 0;
    if (rm_journal(table) < 0) return -1;
    e->key = NULL;
    e->value = NULL;
    ((rm_table_object *)table)->live--;
    return 1;
}

int rm_dict_del(rm_object *d, rm_object *key) {
    int rc = table_delete(d, key);
    if (rc == 0) {
        rm_object *r = rm_repr(key);
        rm_error_set(RM_ERR_KEY, "key not found: %s", r ? rm_str_cstr(r) : "?");
        return -1;
    }
    return rc < 0 ? -1 : 0;
}

bool rm_dict_next(rm_object *d, size_t *pos, rm_object **key, rm_object **value) {
    RM_DEBUG_EXPECT(RM_IS(d, rm_dict_type) || RM_IS(d, rm_set_type), d, "rm_dict_next", "a dict or a set");
    rm_entry *e;
    if (!rm_table_next((rm_table_object *)d, pos, &e)) return false;
    if (key) *key = e->key;
    if (value) *value = e->value;
    return true;
}

/* Empties a dict or a set: fresh arrays, or, if they cannot be had, the
   old ones with every entry deleted. */
static void table_clear(rm_object *d) {
    rm_table_object *t = (rm_table_object *)d;
    if (rm_journal(d) < 0) return; /* no error return: the table stays as it was */
    rm_table_object fresh = {.ob_type = t->ob_type};
    if (rm_table_init(&fresh) < 0) {
        /* Keep the arrays; just empty them. */
        for (size_t i = 0; i < t->used; i++) t->entries[i].key = t->entries[i].value = NULL;
        t->live = 0;
        return;
    }
    t->entries = fresh.entries;
    t->index = fresh.index;
    t->nindex = fresh.nindex;
    t->capacity = fresh.capacity;
    t->used = t->live = 0;
}

void rm_dict_clear(rm_object *d) { table_clear(d); }

rm_object *rm_dict_copy(rm_object *d) {
    rm_object *copy = rm_dict_new();
    if (!copy) return NULL;
    size_t pos = 0;
    rm_object *k, *v;
    while (rm_dict_next(d, &pos, &k, &v))
        if (rm_dict_set(copy, k, v) < 0) return NULL;
    return copy;
}

int rm_dict_rehash(rm_object *d, size_t *collisions) {
    if (!RM_IS(d, rm_dict_type)) {
        rm_error_set(RM_ERR_TYPE, "rm_dict_rehash: not a dict");
        return -1;
    }
    return rm_table_rehash((rm_table_object *)d, RM_KEEP_LAST, collisions);
}

/* ---- set ---- */

rm_object *rm_set_new(void) { return table_new(&rm_set_type); }

size_t rm_set_size(rm_object *s) {
    RM_DEBUG_EXPECT(RM_IS(s, rm_set_type), s, "rm_set_size", "a set");
    return ((rm_table_object *)s)->live;
}

int rm_set_add(rm_object *s, rm_object *key) {
    return rm_table_insert((rm_table_object *)s, key, NULL);
}

int rm_set_contains(rm_object *s, rm_object *key) { return rm_dict_contains(s, key); }

int rm_set_discard(rm_object *s, rm_object *key) { return table_delete(s, key); }

void rm_set_clear(rm_object *s) { table_clear(s); }

bool rm_set_next(rm_object *s, size_t *pos, rm_object **key) {
    return rm_dict_next(s, pos, key, NULL);
}

int rm_set_rehash(rm_object *s, size_t *collisions) {
    if (!RM_IS(s, rm_set_type)) {
        rm_error_set(RM_ERR_TYPE, "rm_set_rehash: not a set");
        return -1;
    }
    return rm_table_rehash((rm_table_object *)s, RM_KEEP_LAST, collisions);
}

int rm_rehash_keeping(rm_object *table, rm_rehash_keep keep, size_t *collisions) {
    if (!RM_IS(table, rm_dict_type) && !RM_IS(table, rm_set_type)) {
        rm_error_set(RM_ERR_TYPE, "rm_rehash_keeping: not a dict or set");
        return -1;
    }
    if (keep != RM_KEEP_LAST && keep != RM_KEEP_FIRST) {
        rm_error_set(RM_ERR_VALUE, "rm_rehash_keeping: keep must be RM_KEEP_LAST or RM_KEEP_FIRST");
        return -1;
    }
    return rm_table_rehash((rm_table_object *)table, keep, collisions);
}
