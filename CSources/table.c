/*
** table.c: the hash table behind dicts and sets.
**
** Entries are kept in insertion order in one array; an open-addressing index
** of entry numbers points into it (CPython's compact dict). A deleted entry
** keeps its place with a NULL key until the next resize, so the index needs
** no tombstones of its own. Each entry caches its key's hash: lookups compare
** hashes before calling equal, and a remap that rewrites keys is followed by
** rm_table_rehash, which recomputes them.
*/
#include "internal.h"

#define EMPTY (-1)

_Static_assert(RM_TABLE_MIN_INDEX >= 2 && (RM_TABLE_MIN_INDEX & (RM_TABLE_MIN_INDEX - 1)) == 0,
               "RM_TABLE_MIN_INDEX: a power of two, at least 2");

/* Entries an index of `nindex` slots may hold before it must grow: at
   least one, and always fewer than nindex, so that every probe (which stops
   at an empty slot) ends. */
static size_t usable(size_t nindex) {
    size_t n = nindex * RM_TABLE_LOAD_PERCENT / 100;
    if (n >= nindex) n = nindex - 1;
    return n ? n : 1;
}

int rm_hashable(rm_object *key) {
    rm_type *t = key->ob_type;
    return t != &rm_list_type && t != &rm_dict_type && t != &rm_set_type;
}

/* Allocates an index of `nindex` slots, all empty. */
static int32_t *new_index(size_t nindex) {
    int32_t *index = rm_gc_alloc_atomic(nindex * sizeof(int32_t));
    if (index) memset(index, 0xff, nindex * sizeof(int32_t));
    return index;
}

int rm_table_init(rm_table_object *t) {
    t->nindex = RM_TABLE_MIN_INDEX;
    t->capacity = usable(t->nindex);
    t->entries = rm_gc_alloc(t->capacity * sizeof(rm_entry));
    t->index = new_index(t->nindex);
    return t->entries && t->index ? 0 : -1;
}

/* Linear probing: the hashes are mixed, so neighbours are independent. */
static size_t probe_slot(const int32_t *index, size_t mask, uint32_t hash) {
    size_t i = hash & mask;
    while (index[i] != EMPTY) i = (i + 1) & mask;
    return i;
}

/*
** Finds the entry of `key`, whose hash is `hash`. Returns NULL if absent.
** *error is set to 1 if comparing keys failed.
*/
rm_entry *rm_table_find(rm_table_object *t, rm_object *key, uint32_t hash, int *error) {
    size_t mask = t->nindex - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        int32_t ix = t->index[i];
        if (ix == EMPTY) return NULL;
        rm_entry *e = &t->entries[ix];
        if (!e->key) continue;
        if (e->key == key) return e;
        if ((uint32_t)e->hash == hash) {
            int eq = rm_equal(e->key, key);
            if (eq < 0) {
                *error = 1;
                return NULL;
            }
            if (eq) return e;
        }
    }
}

/*
** Rebuilds entries and index with room for `want` live entries, keeping
** insertion order and dropping deleted entries. Builds both new arrays
** before touching the table, so the table is intact if allocation fails.
*/
static int resize(rm_table_object *t, size_t want) {
    size_t nindex = RM_TABLE_MIN_INDEX;
    while (usable(nindex) < want) nindex *= 2;
    size_t capacity = usable(nindex);
    rm_entry *entries = rm_gc_alloc(capacity * sizeof(rm_entry));
    int32_t *index = new_index(nindex);
    if (!entries || !index) return -1;
    size_t n = 0, mask = nindex - 1;
    for (size_t i = 0; i < t->used; i++) {
        if (!t->entries[i].key) continue;
        entries[n] = t->entries[i];
        index[probe_slot(index, mask, (uint32_t)entries[n].hash)] = (int32_t)n;
        n++;
    }
    t->entries = entries;
    t->index = index;
    t->nindex = nindex;
    t->capacity = capacity;
    t->used = t->live = n;
    return 0;
}

/* Inserts or replaces. Returns 0, or -1 with the error set. */
int rm_table_insert(rm_table_object *t, rm_object *key, rm_object *value) {
    if (rm_missing(t, "dict or set") || rm_missing(key, "key")) return -1;
    if (!rm_hashable(key)) {
        rm_error_set(RM_ERR_TYPE, "unhashable type: '%s'", rm_type_name(key->ob_type));
        return -1;
    }
    int error = 0;
    uint32_t hash = rm_hash(key, &error);
    if (error) return -1;
    rm_entry *e = rm_table_find(t, key, hash, &error);
    if (error || rm_journal((rm_object *)t) < 0) return -1;
    if (e) {
        e->value = value;
        return 0;
    }
    if (t->used == t->capacity && resize(t, t->live + 1) < 0) return -1;
    e = &t->entries[t->used];
    e->key = key;
    e->value = value;
    e->hash = hash;
    t->index[probe_slot(t->index, t->nindex - 1, hash)] = (int32_t)t->used;
    t->used++;
    t->live++;
    if (RM_IS(key, rm_tuple_type) || RM_IS(key, rm_method_type)) t->ob_flags |= RM_FLAG_COMPOSITE_KEYS;
    return 0;
}

bool rm_table_next(rm_table_object *t, size_t *pos, rm_entry **entry) {
    while (*pos < t->used) {
        rm_entry *e = &t->entries[(*pos)++];
        if (e->key) {
            *entry = e;
            return true;
        }
    }
    return false;
}

/*
** After a remap rewrote keys: recompute every live key's hash, then rebuild
** the table, merging keys that became equal at the place of the first.
** Which entry survives (its key and value) is `keep`'s choice: the one
** inserted last (RM_KEEP_LAST) or first (RM_KEEP_FIRST). Hashes are
** computed into a scratch array first and the new arrays are built before
** the swap, so on failure (an unhashable key, no memory) the table is
** unchanged.
*/
int rm_table_rehash(rm_table_object *t, rm_rehash_keep keep, size_t *collisions) {
    if (rm_journal((rm_object *)t) < 0) return -1;
    size_t n = t->live;
    uint64_t *hashes = rm_gc_alloc_atomic((n ? n : 1) * sizeof(uint64_t));
    if (!hashes) return -1;
    size_t k = 0;
    for (size_t i = 0; i < t->used; i++) {
        rm_object *key = t->entries[i].key;
        if (!key) continue;
        int error = 0;
        if (!rm_hashable(key)) {
            rm_error_set(RM_ERR_TYPE, "unhashable key after remap: '%s'", rm_type_name(key->ob_type));
            return -1;
        }
        hashes[k++] = rm_hash(key, &error);
        if (error) return -1;
    }
    size_t nindex = RM_TABLE_MIN_INDEX;
    while (usable(nindex) < n) nindex *= 2;
    rm_table_object fresh = {
        .ob_type = t->ob_type,
        .nindex = nindex,
        .capacity = usable(nindex),
    };
    fresh.entries = rm_gc_alloc(fresh.capacity * sizeof(rm_entry));
    fresh.index = new_index(nindex);
    if (!fresh.entries || !fresh.index) return -1;
    size_t merged = 0;
    k = 0;
    for (size_t i = 0; i < t->used; i++) {
        rm_entry *old = &t->entries[i];
        if (!old->key) continue;
        uint32_t hash = (uint32_t)hashes[k++];
        int error = 0;
        rm_entry *e = rm_table_find(&fresh, old->key, hash, &error);
        if (error) return -1;
        if (e) {
            if (keep == RM_KEEP_LAST) {
                e->key = old->key;
                e->value = old->value;
            }
            merged++;
            continue;
        }
        e = &fresh.entries[fresh.used];
        e->key = old->key;
        e->value = old->value;
        e->hash = hash;
        fresh.index[probe_slot(fresh.index, nindex - 1, hash)] = (int32_t)fresh.used;
        fresh.used++;
    }
    t->entries = fresh.entries;
    t->index = fresh.index;
    t->nindex = fresh.nindex;
    t->capacity = fresh.capacity;
    t->used = t->live = fresh.used;
    if (collisions) *collisions += merged;
    return 0;
}

/* The checker's view: counts agree, every cached hash is the key's hash,
   and every key is found at its own entry. */
int rm_table_check(rm_table_object *t) {
    size_t live = 0;
    for (size_t i = 0; i < t->used; i++) {
        rm_entry *e = &t->entries[i];
        if (!e->key) continue;
        live++;
        int error = 0;
        uint32_t h = rm_hash(e->key, &error);
        if (error) return -1;
        if (h != (uint32_t)e->hash) {
            rm_error_set(RM_ERR_RUNTIME, "%s entry %zu: cached hash %08x, key hashes to %08x (not rehashed after a remap?)",
                         t->ob_type->tp_name, i, (uint32_t)e->hash, h);
            return -1;
        }
        if (rm_table_find(t, e->key, h, &error) != e) {
            rm_error_set(RM_ERR_RUNTIME, "%s entry %zu: key not found at its hash", t->ob_type->tp_name, i);
            return -1;
        }
    }
    if (live != t->live || t->used > t->capacity || usable(t->nindex) < t->capacity) {
        rm_error_set(RM_ERR_RUNTIME, "%s: counts disagree (live %zu, counted %zu)", t->ob_type->tp_name, t->live, live);
        return -1;
    }
    return 0;
}
