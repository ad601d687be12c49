/*
** model.c: the model of the object graph: records, building random graphs
** on the heap while recording them, mutations, reachability, and the
** record-by-record comparison of the heap with the model.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Objects created per cluster: big enough that most edges stay inside one
   cluster (so dropping a cluster's handle makes real garbage), small enough
   that every round builds many. */
#define CLUSTER_SIZE 256

/* Percent of references that go to another cluster, and to None/True/False. */
#define GLOBAL_EDGE_PERCENT 3
#define SPECIAL_EDGE_PERCENT 8

/* Str content ids below this are shared on purpose: equal strs made
   separately, so dict keys collide by content. */
#define SMALL_CID 64

/* ---- Records and the pool ---- */

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(p, c * elem);
    if (!q) fatal("out of memory growing the model to %zu entries", c);
    *cap = c;
    return q;
}

ref_t model_add(model *m, rm_object *ptr, int kind, uint16_t flags) {
    if (!ptr) fatal("creating a %s failed: %s", kind_name(kind), rm_error_message());
    if (m->nrecs >= INT32_MAX - 1) fatal("too many records");
    m->recs = grow(m->recs, &m->caprecs, m->nrecs + 1, sizeof(record));
    record *rec = &m->recs[m->nrecs];
    memset(rec, 0, sizeof *rec);
    rec->ptr = ptr;
    rec->kind = (uint8_t)kind;
    rec->flags = flags | RF_LIVE;
    if (kind != K_LIST && kind != K_DICT && kind != K_SET) rec->flags |= RF_HASHABLE;
    rec->refs = (uint32_t)m->npool;
    m->live++;
    return (ref_t)m->nrecs++;
}

ref_t *refs_of(model *m, ref_t id) { return m->pool + m->recs[id].refs; }

void set_refs(model *m, ref_t id, const ref_t *refs, size_t n) {
    record *rec = &m->recs[id];
    if (n <= rec->nrefs) { /* shrinking or same size: in place */
        memmove(m->pool + rec->refs, refs, n * sizeof(ref_t));
        rec->nrefs = (uint32_t)n;
        return;
    }
    if (m->npool + n > UINT32_MAX) fatal("model pool overflow");
    /* refs may point into the pool: grow first, then copy from the new base. */
    ptrdiff_t inside = (refs >= m->pool && refs < m->pool + m->npool) ? refs - m->pool : -1;
    m->pool = grow(m->pool, &m->cappool, m->npool + n, sizeof(ref_t));
    if (inside >= 0) refs = m->pool + inside;
    memmove(m->pool + m->npool, refs, n * sizeof(ref_t));
    m->recs[id].refs = (uint32_t)m->npool;
    m->recs[id].nrefs = (uint32_t)n;
    m->npool += n;
}

/* Appends one or two references to a record. */
static void append_refs(model *m, ref_t id, ref_t a, ref_t b, size_t n) {
    record *rec = &m->recs[id];
    size_t old = rec->nrefs;
    if (rec->refs + old == m->npool) { /* last in the pool: extend in place */
        m->pool = grow(m->pool, &m->cappool, m->npool + n, sizeof(ref_t));
    } else {
        m->pool = grow(m->pool, &m->cappool, m->npool + old + n, sizeof(ref_t));
        memmove(m->pool + m->npool, m->pool + rec->refs, old * sizeof(ref_t));
        rec->refs = (uint32_t)m->npool;
        m->npool += old;
    }
    m->pool[rec->refs + old] = a;
    if (n > 1) m->pool[rec->refs + old + 1] = b;
    rec->nrefs += (uint32_t)n;
    m->npool += n;
}

rm_object *ref_ptr(model *m, ref_t r) {
    switch (r) {
    case REF_NONE: return rm_none;
    case REF_TRUE: return rm_true;
    case REF_FALSE: return rm_false;
    case REF_NULL:
    case REF_GONE: return NULL;
    default: return m->recs[r].ptr;
    }
}

bool ref_hashable(model *m, ref_t r) {
    if (r == REF_NULL || r == REF_GONE) return false;
    if (r < 0) return true;
    return (m->recs[r].flags & RF_HASHABLE) != 0;
}

/*
** Equality as the runtime decides it (rm_equal): the same object; or two
** objects of the same type whose type compares contents: ints and floats by
** value, strs by content (content id), tuples item by item. Everything else
** (instances, classes, functions...) by identity.
*/
bool ref_equal(model *m, ref_t a, ref_t b) {
    if (a == b) return true;
    if (a < 0 || b < 0) return false;
    record *x = &m->recs[a], *y = &m->recs[b];
    if (x->kind != y->kind) return false;
    switch (x->kind) {
    case K_INT: return x->v.i == y->v.i;
    case K_FLOAT: return x->v.f == y->v.f;
    case K_STR: return x->v.cid == y->v.cid;
    case K_TUPLE:
        if (x->nrefs != y->nrefs) return false;
        for (uint32_t i = 0; i < x->nrefs; i++)
            if (!ref_equal(m, m->pool[x->refs + i], m->pool[y->refs + i])) return false;
        return true;
    default: return false;
    }
}

const char *kind_name(int kind) {
    static const char *names[K_COUNT] = {"int", "float", "str", "tuple", "list", "dict", "set",
                                         "class", "instance", "function", "method", "module",
                                         "weakref", "capsule"};
    return kind >= 0 && kind < K_COUNT ? names[kind] : "?";
}

/* cid 0 is "__name__" (a module dict's first key); others are "s<cid>"
   followed by 0-23 'x' chosen by the cid, so strs differ in length too. */
void str_content(uint32_t cid, char *buf, size_t size) {
    if (cid == 0) {
        snprintf(buf, size, "__name__");
        return;
    }
    int n = snprintf(buf, size, "s%" PRIu32, cid);
    unsigned pad = (unsigned)((cid * 2654435761u) >> 27) % 24;
    for (unsigned i = 0; i < pad && (size_t)n + 1 < size; i++) buf[n++] = 'x';
    buf[n] = '\0';
}

const char *describe(model *m, ref_t r) {
    static char bufs[8][192];
    static unsigned next;
    char *b = bufs[next++ % 8];
    switch (r) {
    case REF_NONE: return "None";
    case REF_TRUE: return "True";
    case REF_FALSE: return "False";
    case REF_NULL: return "NULL";
    case REF_GONE: return "(dead weak target)";
    default: break;
    }
    record *rec = &m->recs[r];
    char content[64];
    switch (rec->kind) {
    case K_INT: snprintf(b, 192, "#%d int %" PRId64 " at %p", r, rec->v.i, (void *)rec->ptr); break;
    case K_FLOAT: snprintf(b, 192, "#%d float %g at %p", r, rec->v.f, (void *)rec->ptr); break;
    case K_STR:
        str_content(rec->v.cid, content, sizeof content);
        snprintf(b, 192, "#%d str '%s' at %p", r, content, (void *)rec->ptr);
        break;
    default:
        snprintf(b, 192, "#%d %s (%u refs%s) at %p", r, kind_name(rec->kind), rec->nrefs,
                 rec->flags & RF_ADOPTED ? ", made by the runtime" : "", (void *)rec->ptr);
        break;
    }
    return b;
}

/* ---- Handles ---- */

void handle_add(model *m, ref_t target, bool is_root) {
    rm_handle h = rm_handle_new(ref_ptr(m, target));
    if (!h) fatal("rm_handle_new failed: %s", rm_error_message());
    m->handles = grow(m->handles, &m->caphandles, m->nhandles + 1, sizeof(handle_rec));
    m->handles[m->nhandles++] = (handle_rec){.h = h, .target = target, .is_root = is_root};
}

void handle_drop(model *m, size_t index) {
    rm_handle_free(m->handles[index].h);
    m->handles[index] = m->handles[--m->nhandles];
}

/* ---- Picking references ---- */

enum want { W_ANY, W_HASHABLE, W_CLASS, W_FUNCTION, W_STR, W_INT, W_MODULE, W_TUPLEKEY };

static bool satisfies(model *m, ref_t id, int want) {
    record *rec = &m->recs[id];
    if (!(rec->flags & RF_LIVE) || (rec->flags & RF_ROOTLIST)) return false;
    switch (want) {
    case W_ANY: return true;
    case W_HASHABLE: return (rec->flags & RF_HASHABLE) != 0;
    case W_CLASS: return rec->kind == K_CLASS;
    case W_FUNCTION: return rec->kind == K_FUNCTION;
    case W_STR: return rec->kind == K_STR;
    case W_INT: return rec->kind == K_INT;
    case W_MODULE: return rec->kind == K_MODULE;
    case W_TUPLEKEY: return rec->kind == K_TUPLE && (rec->flags & RF_HASHABLE);
    }
    return false;
}

ref_t pick_live(model *m, rng *r, int kind, bool mappable) {
    if (!m->nrecs) return -1;
    for (int tries = 0; tries < 96; tries++) {
        ref_t id = (ref_t)rng_below(r, m->nrecs);
        record *rec = &m->recs[id];
        if (!(rec->flags & RF_LIVE) || (rec->flags & RF_ROOTLIST)) continue;
        if (kind >= 0 && rec->kind != kind) continue;
        if (mappable && (rec->flags & (RF_NOMAP | RF_MAPPED))) continue;
        return id;
    }
    return -1;
}

static ref_t pick_global(model *m, rng *r, int want) {
    for (int tries = 0; tries < 64 && m->nrecs; tries++) {
        ref_t id = (ref_t)rng_below(r, m->nrecs);
        if (satisfies(m, id, want)) return id;
    }
    return -1;
}

/*
** A reference for a new edge: mostly an object of the same cluster, a few
** to other clusters, some None/True/False. Returns -1 only for a specific
** kind that could not be found (never for W_ANY and W_HASHABLE).
*/
static ref_t pick_ref(model *m, rng *r, cluster *c, int want) {
    unsigned roll = (unsigned)rng_below(r, 100);
    if ((want == W_ANY || want == W_HASHABLE) && roll < SPECIAL_EDGE_PERCENT)
        return (ref_t[]){REF_NONE, REF_TRUE, REF_FALSE}[rng_below(r, 3)];
    ref_t id = -1;
    if (roll < SPECIAL_EDGE_PERCENT + GLOBAL_EDGE_PERCENT || !c || m->nrecs == c->first) {
        id = pick_global(m, r, want);
    } else {
        size_t span = m->nrecs - c->first;
        for (int tries = 0; tries < 24 && id < 0; tries++) {
            ref_t cand = (ref_t)(c->first + rng_below(r, span));
            if (satisfies(m, cand, want)) id = cand;
        }
        if (id < 0) id = pick_global(m, r, want);
    }
    if (id < 0 && (want == W_ANY || want == W_HASHABLE)) id = REF_NONE;
    return id;
}

/* ---- Clusters ---- */

static void cluster_add(model *m, cluster *c, ref_t id) {
    if (rm_list_append(m->recs[c->root].ptr, m->recs[id].ptr) < 0)
        fatal("rm_list_append to a root list failed: %s", rm_error_message());
    c->members = grow(c->members, &c->capmembers, c->nmembers + 1, sizeof(ref_t));
    c->members[c->nmembers++] = id;
}

void cluster_begin(model *m, cluster *c) {
    memset(c, 0, sizeof *c);
    c->root = model_add(m, rm_list_new(0), K_LIST, RF_NOMAP | RF_ROOTLIST);
    handle_add(m, c->root, true);
    c->first = m->nrecs;
    m->ncluster++;
}

void cluster_end(model *m, cluster *c) {
    set_refs(m, c->root, c->members, c->nmembers);
    free(c->members);
    c->members = NULL;
}

/* ---- Creating objects ---- */

static ref_t new_int(model *m, cluster *c, int64_t value) {
    ref_t id = model_add(m, rm_int(value), K_INT, 0);
    m->recs[id].v.i = value;
    cluster_add(m, c, id);
    return id;
}

static ref_t new_float(model *m, cluster *c, double value) {
    ref_t id = model_add(m, rm_float(value), K_FLOAT, 0);
    m->recs[id].v.f = value;
    cluster_add(m, c, id);
    return id;
}

static ref_t new_str(model *m, cluster *c, uint32_t cid) {
    char content[64];
    str_content(cid, content, sizeof content);
    ref_t id = model_add(m, rm_str(content), K_STR, 0);
    m->recs[id].v.cid = cid;
    cluster_add(m, c, id);
    return id;
}

/* A str the runtime made (a class, function or module name, a key). */
static ref_t adopt_str(model *m, rm_object *s, uint32_t cid) {
    /* A key rm_setattr made from a C string is an interned name: immortal,
       shared, never mapped. */
    ref_t id = model_add(m, s, K_STR, RF_ADOPTED | (rm_is_heap_object(s) ? 0 : RF_NOMAP));
    m->recs[id].v.cid = cid;
    return id;
}

/* Few distinct values, so keys collide by content; past the small-int
   cache (immortal, shared objects the model cannot map). */
static int64_t random_small_int(rng *r) { return (int64_t)rng_below(r, 41) - 20 + 1000000; }

static double random_float(rng *r) {
    static const double pool[] = {0.0, -0.0, 1.5, -2.25, 1e300, 3.0};
    if (rng_chance(r, 70)) return pool[rng_below(r, sizeof pool / sizeof pool[0])];
    return (double)(int64_t)rng_next(r) / 1024.0;
}

static ref_t new_empty(model *m, rng *r, cluster *c, int kind);

/* A tuple of up to 5 items, biased to classes and functions; hashable
   only: every item is hashable. */
static ref_t new_tuple(model *m, rng *r, cluster *c, bool hashable_only) {
    ref_t items[5];
    size_t n = rng_below(r, 6);
    bool hashable = true;
    for (size_t i = 0; i < n; i++) {
        unsigned roll = (unsigned)rng_below(r, 100);
        ref_t it = -1;
        if (roll < 25) it = pick_ref(m, r, c, W_CLASS);
        else if (roll < 45) it = pick_ref(m, r, c, W_FUNCTION);
        if (it < 0) it = pick_ref(m, r, c, hashable_only ? W_HASHABLE : W_ANY);
        items[i] = it;
        hashable = hashable && ref_hashable(m, it);
    }
    rm_object *t = rm_tuple_new(n);
    if (!t) fatal("rm_tuple_new failed: %s", rm_error_message());
    for (size_t i = 0; i < n; i++) rm_tuple_set(t, i, ref_ptr(m, items[i]));
    ref_t id = model_add(m, t, K_TUPLE, 0);
    if (!hashable) m->recs[id].flags &= (uint16_t)~RF_HASHABLE;
    set_refs(m, id, items, n);
    cluster_add(m, c, id);
    return id;
}

static ref_t new_empty(model *m, rng *r, cluster *c, int kind) {
    rm_object *o = kind == K_LIST ? rm_list_new(rng_below(r, 5)) : kind == K_DICT ? rm_dict_new() : rm_set_new();
    ref_t id = model_add(m, o, kind, 0);
    cluster_add(m, c, id);
    return id;
}

/* Fields are named f0, f1, ... in slot order, so a subclass names its own
   fields after its base's. */
static void add_field(model *m, ref_t cls, size_t index, ref_t def) {
    char name[16];
    snprintf(name, sizeof name, "f%zu", index);
    if (rm_class_add_field(m->recs[cls].ptr, name, ref_ptr(m, def)) < 0)
        fatal("rm_class_add_field failed: %s", rm_error_message());
    append_refs(m, cls, def, 0, 1);
}

/*
** A class: name (adopted str), optional base and module, a unique int
** "ctag" class attribute (never remapped: it identifies the class through
** method calls), a method "tag", and `own` fields of its own after the
** base's. The model's references: name, base, module, ctag, defaults...
*/
static ref_t new_class_with(model *m, rng *r, cluster *c, ref_t base, ref_t module, size_t own) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    rm_object *cls = rm_class_new(name, base >= 0 ? ref_ptr(m, base) : NULL, module >= 0 ? ref_ptr(m, module) : NULL);
    ref_t id = model_add(m, cls, K_CLASS, 0);
    cluster_add(m, c, id);
    ref_t name_id = adopt_str(m, ((rm_type *)cls)->cls_name, cid);
    ref_t tag = model_add(m, rm_int((int64_t)id + 1000000000), K_INT, RF_NOMAP);
    m->recs[tag].v.i = (int64_t)id + 1000000000;
    cluster_add(m, c, tag);
    if (rm_setattr(cls, "ctag", m->recs[tag].ptr) < 0) fatal("rm_setattr(class, ctag) failed: %s", rm_error_message());
    if (rm_class_set_method(cls, "tag", method_tag, 0) < 0)
        fatal("rm_class_set_method failed: %s", rm_error_message());
    ref_t head[4] = {name_id, base >= 0 ? base : REF_NULL, module >= 0 ? module : REF_NULL, tag};
    set_refs(m, id, head, 4);
    size_t inherited = 0;
    if (base >= 0) {
        inherited = m->recs[base].nrefs - 4;
        for (size_t i = 0; i < inherited; i++) append_refs(m, id, refs_of(m, base)[4 + i], 0, 1);
    }
    for (size_t i = 0; i < own; i++) add_field(m, id, inherited + i, pick_ref(m, r, c, W_ANY));
    return id;
}

static ref_t new_class(model *m, rng *r, cluster *c) {
    ref_t base = rng_chance(r, 30) ? pick_ref(m, r, c, W_CLASS) : -1;
    ref_t module = rng_chance(r, 50) ? pick_ref(m, r, c, W_MODULE) : -1;
    return new_class_with(m, r, c, base, module, rng_below(r, 5));
}

static ref_t new_instance_of(model *m, cluster *c, ref_t cls) {
    ref_t id = model_add(m, rm_instance_alloc(m->recs[cls].ptr), K_INSTANCE, 0);
    cluster_add(m, c, id);
    size_t nfields = m->recs[cls].nrefs - 4;
    ref_t head[2] = {cls, REF_NULL};
    set_refs(m, id, head, 2);
    for (size_t i = 0; i < nfields; i++) append_refs(m, id, refs_of(m, cls)[4 + i], 0, 1);
    return id;
}

static ref_t new_function(model *m, rng *r, cluster *c) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    ref_t module = rng_chance(r, 50) ? pick_ref(m, r, c, W_MODULE) : REF_NULL;
    if (module < 0) module = REF_NULL;
    ref_t closure = rng_chance(r, 10) ? REF_NULL : pick_ref(m, r, c, W_ANY);
    rm_object *f = rm_function_new(name, fn_generic, 0, ref_ptr(m, module), ref_ptr(m, closure));
    ref_t id = model_add(m, f, K_FUNCTION, 0);
    cluster_add(m, c, id);
    ref_t refs[3] = {adopt_str(m, rm_function_name(f), cid), module, closure};
    set_refs(m, id, refs, 3);
    return id;
}

static ref_t new_method(model *m, rng *r, cluster *c) {
    ref_t fn = pick_ref(m, r, c, W_FUNCTION);
    if (fn < 0) fn = new_function(m, r, c);
    ref_t self = pick_ref(m, r, c, W_ANY);
    ref_t id = model_add(m, rm_method_new(ref_ptr(m, fn), ref_ptr(m, self)), K_METHOD, 0);
    cluster_add(m, c, id);
    ref_t refs[2] = {fn, self};
    set_refs(m, id, refs, 2);
    return id;
}

/* A module: its name and its dict (with "__name__" -> name) are made by the
   runtime and adopted as records. */
static ref_t new_module(model *m, cluster *c) {
    char name[64];
    uint32_t cid = m->next_cid++;
    str_content(cid, name, sizeof name);
    rm_object *mod = rm_module_new(name);
    ref_t id = model_add(m, mod, K_MODULE, 0);
    cluster_add(m, c, id);
    ref_t name_id = adopt_str(m, rm_module_name(mod), cid);
    ref_t dict = model_add(m, rm_module_dict(mod), K_DICT, RF_ADOPTED);
    size_t pos = 0;
    rm_object *k = NULL, *v = NULL;
    if (!rm_dict_next(m->recs[dict].ptr, &pos, &k, &v)) fatal("a new module's dict is empty");
    ref_t key = adopt_str(m, k, 0);
    if (v != m->recs[name_id].ptr) fatal("a new module's __name__ is not its name");
    ref_t entries[2] = {key, name_id};
    set_refs(m, dict, entries, 2);
    ref_t refs[2] = {name_id, dict};
    set_refs(m, id, refs, 2);
    return id;
}

static ref_t new_weakref(model *m, rng *r, cluster *c) {
    ref_t target = pick_ref(m, r, c, W_ANY);
    ref_t id = model_add(m, rm_weakref_new(ref_ptr(m, target)), K_WEAKREF, 0);
    m->recs[id].v.target = ref_ptr(m, target);
    cluster_add(m, c, id);
    set_refs(m, id, &target, 1);
    return id;
}

static ref_t new_capsule(model *m, cluster *c) {
    size_t serial = capsule_new_serial();
    rm_object *cap = rm_capsule_new((void *)(uintptr_t)(serial + 1), "remap-stress", capsule_finalizer);
    ref_t id = model_add(m, cap, K_CAPSULE, 0);
    m->recs[id].v.serial = serial;
    cluster_add(m, c, id);
    return id;
}

/* ---- Dicts and sets, on the model ---- */

static size_t find_key(model *m, ref_t t, ref_t key, size_t stride) {
    record *rec = &m->recs[t];
    for (size_t i = 0; i < rec->nrefs; i += stride)
        if (ref_equal(m, m->pool[rec->refs + i], key)) return i;
    return SIZE_MAX;
}

/* An equal key keeps its entry (and its key object); only the value changes. */
void model_dict_set(model *m, ref_t d, ref_t key, ref_t value) {
    size_t i = find_key(m, d, key, 2);
    if (i != SIZE_MAX) refs_of(m, d)[i + 1] = value;
    else append_refs(m, d, key, value, 2);
}

static void remove_refs(model *m, ref_t id, size_t at, size_t n) {
    record *rec = &m->recs[id];
    ref_t *p = m->pool + rec->refs;
    memmove(p + at, p + at + n, (rec->nrefs - at - n) * sizeof(ref_t));
    rec->nrefs -= (uint32_t)n;
}

void model_dict_del(model *m, ref_t d, ref_t key) {
    size_t i = find_key(m, d, key, 2);
    if (i != SIZE_MAX) remove_refs(m, d, i, 2);
}

void model_set_add(model *m, ref_t s, ref_t key) {
    if (find_key(m, s, key, 1) == SIZE_MAX) append_refs(m, s, key, 0, 1);
}

void model_set_discard(model *m, ref_t s, ref_t key) {
    size_t i = find_key(m, s, key, 1);
    if (i != SIZE_MAX) remove_refs(m, s, i, 1);
}

/*
** After a rehash: entries whose keys became equal are merged; the entry
** inserted last wins (its key and value) at the place of the first.
*/
size_t model_table_merge(model *m, ref_t t) {
    record *rec = &m->recs[t];
    size_t stride = rec->kind == K_DICT ? 2 : 1;
    ref_t *p = m->pool + rec->refs;
    size_t kept = 0, merged = 0;
    for (size_t i = 0; i < rec->nrefs; i += stride) {
        size_t j = 0;
        while (j < kept && !ref_equal(m, p[j], p[i])) j += stride;
        if (j < kept) {
            merged++;
        } else {
            j = kept;
            kept += stride;
        }
        memmove(p + j, p + i, stride * sizeof(ref_t));
    }
    rec->nrefs = (uint32_t)kept;
    return merged;
}

static void dict_set(model *m, ref_t d, ref_t key, ref_t value) {
    if (rm_dict_set(m->recs[d].ptr, ref_ptr(m, key), ref_ptr(m, value)) < 0)
        fatal("rm_dict_set(%s, %s) failed: %s", describe(m, d), describe(m, key), rm_error_message());
    model_dict_set(m, d, key, value);
}

static void set_add(model *m, ref_t s, ref_t key) {
    if (rm_set_add(m->recs[s].ptr, ref_ptr(m, key)) < 0)
        fatal("rm_set_add(%s, %s) failed: %s", describe(m, s), describe(m, key), rm_error_message());
    model_set_add(m, s, key);
}

/* Key families: every dict and set draws its keys from one. */
enum family { F_STR, F_INT, F_FLOAT, F_CLASS, F_FUNCTION, F_TUPLE, F_MIXED, F_COUNT };

static ref_t key_for(model *m, rng *r, cluster *c, int family) {
    ref_t k = -1;
    switch (family) {
    case F_STR:
        k = rng_chance(r, 50) ? new_str(m, c, 1 + (uint32_t)rng_below(r, SMALL_CID)) : pick_ref(m, r, c, W_STR);
        break;
    case F_INT: k = rng_chance(r, 50) ? new_int(m, c, random_small_int(r)) : pick_ref(m, r, c, W_INT); break;
    case F_FLOAT: k = new_float(m, c, random_float(r)); break;
    case F_CLASS: k = pick_ref(m, r, c, W_CLASS); break;
    case F_FUNCTION: k = pick_ref(m, r, c, W_FUNCTION); break;
    case F_TUPLE: k = rng_chance(r, 50) ? pick_ref(m, r, c, W_TUPLEKEY) : new_tuple(m, r, c, true); break;
    default: k = pick_ref(m, r, c, W_HASHABLE); break;
    }
    if (k < 0) k = new_str(m, c, 1 + (uint32_t)rng_below(r, SMALL_CID));
    return k;
}

/* Sets an attribute by C string: the runtime makes the key str. An equal
   key already in the model keeps its entry; otherwise the new key is the
   dict's last entry, adopted as a record. */
static void setattr_cstr(model *m, ref_t dict, rm_object *owner, uint32_t cid, ref_t value) {
    char name[64];
    str_content(cid, name, sizeof name);
    if (rm_setattr(owner, name, ref_ptr(m, value)) < 0) fatal("rm_setattr(%s) failed: %s", name, rm_error_message());
    ref_t probe_key = -1;
    record *rec = &m->recs[dict];
    for (uint32_t i = 0; i < rec->nrefs && probe_key < 0; i += 2) {
        ref_t k = m->pool[rec->refs + i];
        if (k >= 0 && m->recs[k].kind == K_STR && m->recs[k].v.cid == cid) probe_key = k;
    }
    if (probe_key < 0) {
        size_t pos = 0;
        rm_object *k = NULL, *last = NULL;
        while (rm_dict_next(rec->ptr, &pos, &k, NULL)) last = k;
        if (!last || !rm_str_eq(last, name)) fatal("rm_setattr(%s): the new key is not the dict's last entry", name);
        probe_key = adopt_str(m, last, cid);
    }
    model_dict_set(m, dict, probe_key, value);
}

/* An instance's attribute dict, adopted when the first attribute made it. */
static ref_t instance_dict(model *m, ref_t inst) {
    ref_t d = refs_of(m, inst)[1];
    if (d != REF_NULL) return d;
    rm_object *dp = rm_instance_dict(m->recs[inst].ptr);
    if (!dp) fatal("an instance has attributes but no attribute dict");
    d = model_add(m, dp, K_DICT, RF_ADOPTED);
    refs_of(m, inst)[1] = d;
    return d;
}

static void instance_setattr(model *m, rng *r, cluster *c, ref_t inst) {
    ref_t value = pick_ref(m, r, c, W_ANY);
    uint32_t cid = 1 + (uint32_t)rng_below(r, SMALL_CID);
    if (rng_chance(r, 50)) {
        ref_t name = rng_chance(r, 50) ? pick_ref(m, r, c, W_STR) : -1;
        if (name < 0) name = new_str(m, c, cid);
        if (rm_setattr_name(m->recs[inst].ptr, m->recs[name].ptr, ref_ptr(m, value)) < 0)
            fatal("rm_setattr_obj failed: %s", rm_error_message());
        model_dict_set(m, instance_dict(m, inst), name, value);
    } else {
        rm_object *o = m->recs[inst].ptr;
        char buf[64];
        str_content(cid, buf, sizeof buf);
        if (!rm_instance_dict(o)) {
            /* The first attribute creates the dict: set it, adopt, record. */
            if (rm_setattr(o, buf, ref_ptr(m, value)) < 0) fatal("rm_setattr failed: %s", rm_error_message());
            ref_t d = instance_dict(m, inst);
            size_t pos = 0;
            rm_object *k = NULL;
            if (!rm_dict_next(m->recs[d].ptr, &pos, &k, NULL)) fatal("rm_setattr made an empty dict");
            model_dict_set(m, d, adopt_str(m, k, cid), value);
        } else {
            setattr_cstr(m, instance_dict(m, inst), o, cid, value);
        }
    }
}

/* ---- Filling containers (phase 2: every cluster object exists) ---- */

static void fill_list(model *m, rng *r, cluster *c, ref_t l) {
    size_t n = rng_below(r, 9);
    for (size_t i = 0; i < n; i++) {
        ref_t v = pick_ref(m, r, c, W_ANY);
        if (rm_list_append(m->recs[l].ptr, ref_ptr(m, v)) < 0) fatal("rm_list_append failed: %s", rm_error_message());
        append_refs(m, l, v, 0, 1);
    }
}

static void fill_dict(model *m, rng *r, cluster *c, ref_t d) {
    int family = (int)rng_below(r, F_COUNT);
    size_t n = rng_below(r, 11);
    for (size_t i = 0; i < n; i++) dict_set(m, d, key_for(m, r, c, family), pick_ref(m, r, c, W_ANY));
    if (rng_chance(r, 20) && m->recs[d].nrefs) {
        ref_t key = refs_of(m, d)[2 * rng_below(r, m->recs[d].nrefs / 2)];
        if (rm_dict_del(m->recs[d].ptr, ref_ptr(m, key)) < 0) fatal("rm_dict_del failed: %s", rm_error_message());
        model_dict_del(m, d, key);
    }
}

static void fill_set(model *m, rng *r, cluster *c, ref_t s) {
    static const int families[] = {F_CLASS, F_FUNCTION, F_TUPLE, F_STR, F_MIXED, F_INT};
    int family = families[rng_below(r, 6)];
    size_t n = rng_below(r, 11);
    for (size_t i = 0; i < n; i++) set_add(m, s, key_for(m, r, c, family));
    if (rng_chance(r, 15) && m->recs[s].nrefs) {
        ref_t key = refs_of(m, s)[rng_below(r, m->recs[s].nrefs)];
        if (rm_set_discard(m->recs[s].ptr, ref_ptr(m, key)) != 1) fatal("rm_set_discard did not find a member");
        model_set_discard(m, s, key);
    }
}

static void fill_instance(model *m, rng *r, cluster *c, ref_t inst) {
    size_t nslots = m->recs[inst].nrefs - 2;
    for (size_t i = 0; i < nslots; i++) {
        if (!rng_chance(r, 60)) continue;
        ref_t v = pick_ref(m, r, c, W_ANY);
        rm_instance_set_slot(m->recs[inst].ptr, i, ref_ptr(m, v));
        refs_of(m, inst)[2 + i] = v;
    }
    if (rng_chance(r, 30)) {
        size_t n = 1 + rng_below(r, 2);
        for (size_t i = 0; i < n; i++) instance_setattr(m, r, c, inst);
    }
}

static void fill_module(model *m, rng *r, cluster *c, ref_t mod) {
    size_t n = rng_below(r, 5);
    ref_t d = refs_of(m, mod)[1];
    for (size_t i = 0; i < n; i++) {
        if (rng_chance(r, 50)) dict_set(m, d, key_for(m, r, c, F_STR), pick_ref(m, r, c, W_ANY));
        else setattr_cstr(m, d, m->recs[mod].ptr, 1 + (uint32_t)rng_below(r, SMALL_CID), pick_ref(m, r, c, W_ANY));
    }
}

/* ---- Clusters ---- */

static ref_t create_random(model *m, rng *r, cluster *c) {
    unsigned roll = (unsigned)rng_below(r, 100);
    if (roll < 9) return new_int(m, c, rng_chance(r, 50) ? random_small_int(r) : (int64_t)rng_next(r));
    if (roll < 13) return new_float(m, c, random_float(r));
    if (roll < 27) return new_str(m, c, rng_chance(r, 40) ? 1 + (uint32_t)rng_below(r, SMALL_CID) : m->next_cid++);
    if (roll < 37) return new_tuple(m, r, c, rng_chance(r, 70));
    if (roll < 45) return new_empty(m, r, c, K_LIST);
    if (roll < 53) return new_empty(m, r, c, K_DICT);
    if (roll < 58) return new_empty(m, r, c, K_SET);
    if (roll < 62) return new_class(m, r, c);
    if (roll < 77) {
        ref_t cls = pick_ref(m, r, c, W_CLASS);
        if (cls < 0) cls = new_class(m, r, c);
        return new_instance_of(m, c, cls);
    }
    if (roll < 84) return new_function(m, r, c);
    if (roll < 89) return new_method(m, r, c);
    if (roll < 91) return new_module(m, c);
    if (roll < 97) return new_weakref(m, r, c);
    return new_capsule(m, c);
}

/*
** One cluster: a root list held by a handle; `count` objects created in a
** first phase (tuples, classes, functions take references to objects made
** before them), then containers and instances filled in a second phase
** (references anywhere in the cluster, so cycles form), then value handles
** on some of the objects.
*/
static void build_one(model *m, rng *r, size_t count) {
    cluster c;
    cluster_begin(m, &c);
    for (size_t i = 0; i < count; i++) create_random(m, r, &c);
    size_t n1 = c.nmembers;
    for (size_t i = 0; i < n1; i++) {
        ref_t id = c.members[i];
        switch (m->recs[id].kind) {
        case K_LIST: fill_list(m, r, &c, id); break;
        case K_DICT: fill_dict(m, r, &c, id); break;
        case K_SET: fill_set(m, r, &c, id); break;
        case K_INSTANCE: fill_instance(m, r, &c, id); break;
        case K_MODULE: fill_module(m, r, &c, id); break;
        default: break;
        }
    }
    for (size_t i = 0; i < count / 16 + 1; i++) handle_add(m, c.members[rng_below(r, c.nmembers)], false);
    cluster_end(m, &c);
}

void build_cluster(model *m, rng *r, size_t count) {
    while (count > 0) {
        size_t n = count < CLUSTER_SIZE ? count : CLUSTER_SIZE;
        build_one(m, r, n);
        count -= n;
    }
}

/*
** A replacement for `old`, of the same kind, made in cluster c. A class is
** a new version of the old one: same base and module, the old one's own
** fields and sometimes one more, new defaults. A tuple is hashable if the
** old one is: it may replace a key, and a rollback maps it back to the old
** one wherever it was used since. Sometimes the new object is also made a key of a
** random dict or set before the remap, so that table must be rehashed when
** the new object takes the old one's identity hash.
*/
ref_t make_like(model *m, rng *r, cluster *c, ref_t old) {
    record *o = &m->recs[old];
    ref_t id = -1;
    switch (o->kind) {
    case K_INT: id = new_int(m, c, random_small_int(r)); break;
    case K_FLOAT: id = new_float(m, c, random_float(r)); break;
    case K_STR: id = new_str(m, c, rng_chance(r, 50) ? 1 + (uint32_t)rng_below(r, SMALL_CID) : m->next_cid++); break;
    case K_TUPLE:
        if (ref_hashable(m, old)) {
            id = new_tuple(m, r, c, true);
        } else { /* unhashable like the old one: it holds a list */
            ref_t items[2] = {new_empty(m, r, c, K_LIST), pick_ref(m, r, c, W_ANY)};
            rm_object *t = rm_tuple_of(2, (rm_object *[]){ref_ptr(m, items[0]), ref_ptr(m, items[1])});
            id = model_add(m, t, K_TUPLE, 0);
            m->recs[id].flags &= (uint16_t)~RF_HASHABLE;
            set_refs(m, id, items, 2);
            cluster_add(m, c, id);
        }
        break;
    case K_LIST:
        id = new_empty(m, r, c, K_LIST);
        fill_list(m, r, c, id);
        break;
    case K_DICT:
        id = new_empty(m, r, c, K_DICT);
        fill_dict(m, r, c, id);
        break;
    case K_SET:
        id = new_empty(m, r, c, K_SET);
        fill_set(m, r, c, id);
        break;
    case K_CLASS: {
        ref_t *refs = refs_of(m, old);
        ref_t base = refs[1] >= 0 ? refs[1] : -1, module = refs[2] >= 0 ? refs[2] : -1;
        size_t inherited = base >= 0 ? m->recs[base].nrefs - 4 : 0;
        size_t own = m->recs[old].nrefs - 4;
        own = own > inherited ? own - inherited : 0;
        id = new_class_with(m, r, c, base, module, own + (rng_chance(r, 30) ? 1 : 0));
        break;
    }
    case K_INSTANCE: {
        ref_t cls = rng_chance(r, 70) ? refs_of(m, old)[0] : pick_ref(m, r, c, W_CLASS);
        if (cls < 0) cls = refs_of(m, old)[0];
        id = new_instance_of(m, c, cls);
        fill_instance(m, r, c, id);
        break;
    }
    case K_FUNCTION: id = new_function(m, r, c); break;
    case K_METHOD: id = new_method(m, r, c); break;
    case K_MODULE:
        id = new_module(m, c);
        fill_module(m, r, c, id);
        break;
    case K_WEAKREF: id = new_weakref(m, r, c); break;
    case K_CAPSULE: id = new_capsule(m, c); break;
    default: fatal("make_like: unknown kind %d", o->kind);
    }
    if (ref_hashable(m, id) && rng_chance(r, 20)) {
        ref_t t = pick_live(m, r, rng_chance(r, 50) ? K_DICT : K_SET, false);
        if (t >= 0 && m->recs[t].kind == K_DICT) dict_set(m, t, id, pick_ref(m, r, c, W_ANY));
        else if (t >= 0) set_add(m, t, id);
    }
    return id;
}

/* ---- Mutations ---- */

/*
** RF_LIVE is only updated by reckon_live, so a mutation that drops the last
** reference to an object leaves it flagged live, and a later pick could hand
** it out after a collection freed it: under RM_GC_STRESS one always comes.
** What a mutation may drop (the old target of a handle, everything the
** mutated container held) is kept in the mutation's root list, so every
** record flagged live stays reachable until the next reckoning.
*/
static void keep_alive(model *m, cluster *c, ref_t id) {
    if (id >= 0) cluster_add(m, c, id);
}

static void keep_refs_alive(model *m, cluster *c, ref_t id) {
    for (uint32_t i = 0; i < m->recs[id].nrefs; i++) keep_alive(m, c, refs_of(m, id)[i]);
}

static void mutate_one(model *m, rng *r, cluster *c) {
    static const int kinds[] = {K_LIST, K_DICT, K_SET, K_INSTANCE, K_DICT, K_LIST};
    if (m->nhandles && rng_chance(r, 10)) {
        size_t i = rng_below(r, m->nhandles);
        if (m->handles[i].is_root) return;
        ref_t t = pick_live(m, r, -1, false);
        if (t < 0) return;
        keep_alive(m, c, m->handles[i].target);
        rm_handle_set(m->handles[i].h, ref_ptr(m, t));
        m->handles[i].target = t;
        return;
    }
    ref_t id = pick_live(m, r, kinds[rng_below(r, 6)], false);
    if (id < 0) return;
    keep_refs_alive(m, c, id);
    record *rec = &m->recs[id];
    rm_object *o = rec->ptr;
    switch (rec->kind) {
    case K_LIST: {
        unsigned roll = (unsigned)rng_below(r, 100);
        ref_t v = pick_ref(m, r, c, W_ANY);
        if (roll < 45 && rec->nrefs) {
            size_t i = rng_below(r, rec->nrefs);
            if (rm_list_set(o, i, ref_ptr(m, v)) < 0) fatal("rm_list_set failed: %s", rm_error_message());
            refs_of(m, id)[i] = v;
        } else if (roll < 95) {
            if (rm_list_append(o, ref_ptr(m, v)) < 0) fatal("rm_list_append failed: %s", rm_error_message());
            append_refs(m, id, v, 0, 1);
        } else {
            rm_list_clear(o);
            set_refs(m, id, NULL, 0);
        }
        break;
    }
    case K_DICT:
        if (rng_chance(r, 25) && rec->nrefs) {
            ref_t key = refs_of(m, id)[2 * rng_below(r, rec->nrefs / 2)];
            if (rm_dict_del(o, ref_ptr(m, key)) < 0) fatal("rm_dict_del failed: %s", rm_error_message());
            model_dict_del(m, id, key);
        } else if (rng_chance(r, 30) && rec->nrefs) {
            ref_t key = refs_of(m, id)[2 * rng_below(r, rec->nrefs / 2)];
            dict_set(m, id, key, pick_ref(m, r, c, W_ANY));
        } else {
            dict_set(m, id, key_for(m, r, c, (int)rng_below(r, F_COUNT)), pick_ref(m, r, c, W_ANY));
        }
        break;
    case K_SET:
        if (rng_chance(r, 25) && rec->nrefs) {
            ref_t key = refs_of(m, id)[rng_below(r, rec->nrefs)];
            if (rm_set_discard(o, ref_ptr(m, key)) != 1) fatal("rm_set_discard did not find a member");
            model_set_discard(m, id, key);
        } else {
            set_add(m, id, key_for(m, r, c, (int)rng_below(r, F_COUNT)));
        }
        break;
    case K_INSTANCE:
        if (rng_chance(r, 60) && rec->nrefs > 2) {
            size_t i = rng_below(r, rec->nrefs - 2);
            ref_t v = pick_ref(m, r, c, W_ANY);
            rm_instance_set_slot(o, i, ref_ptr(m, v));
            refs_of(m, id)[2 + i] = v;
        } else {
            instance_setattr(m, r, c, id);
        }
        break;
    default: break;
    }
}

void mutate(model *m, rng *r, size_t count) {
    cluster c;
    cluster_begin(m, &c);
    for (size_t i = 0; i < count; i++) mutate_one(m, r, &c);
    cluster_end(m, &c);
}

/* ---- Reachability and compaction ---- */

/*
** Marks every record reachable from a handle through strong references
** (every reference but a weakref's target). Unmarked records lose RF_LIVE
** for good: nothing live refers to them, and nothing will (picks take live
** records only). A live weakref whose target died gets REF_GONE, keeping
** the target's last address to recognize it if the collector has not
** cleared the weakref yet.
*/
size_t reckon_live(model *m) {
    for (size_t i = 0; i < m->nrecs; i++) m->recs[i].flags &= (uint16_t)~RF_MARK;
    ref_t *stack = malloc((m->nrecs + m->nhandles + 1) * sizeof *stack);
    if (!stack) fatal("out of memory for reachability");
    size_t top = 0;
    for (size_t i = 0; i < m->nhandles; i++) {
        ref_t t = m->handles[i].target;
        if (t >= 0 && !(m->recs[t].flags & RF_MARK)) {
            m->recs[t].flags |= RF_MARK;
            stack[top++] = t;
        }
    }
    while (top) {
        ref_t id = stack[--top];
        record *rec = &m->recs[id];
        if (rec->kind == K_WEAKREF) continue;
        for (uint32_t i = 0; i < rec->nrefs; i++) {
            ref_t t = m->pool[rec->refs + i];
            if (t >= 0 && !(m->recs[t].flags & RF_MARK)) {
                m->recs[t].flags |= RF_MARK;
                stack[top++] = t;
            }
        }
    }
    free(stack);
    size_t live = 0;
    for (size_t i = 0; i < m->nrecs; i++) {
        record *rec = &m->recs[i];
        if (rec->flags & RF_MARK) {
            rec->flags |= RF_LIVE;
            live++;
        } else {
            rec->flags &= (uint16_t)~RF_LIVE;
        }
    }
    for (size_t i = 0; i < m->nrecs; i++) {
        record *rec = &m->recs[i];
        if ((rec->flags & RF_LIVE) && rec->kind == K_WEAKREF) {
            ref_t t = m->pool[rec->refs];
            if (t >= 0 && !(m->recs[t].flags & RF_LIVE)) m->pool[rec->refs] = REF_GONE;
        }
    }
    m->live = live;
    return live;
}

/* Renumbers live records densely and rebuilds the pool, when more than half
   of the records (or of the pool) are dead weight. */
void compact(model *m) {
    if (m->nrecs < 4096 || (m->nrecs < 2 * m->live && m->npool < 4 * m->nrecs)) return;
    ref_t *idmap = malloc(m->nrecs * sizeof *idmap);
    record *recs = malloc((m->live + 1) * sizeof *recs);
    size_t total = 0;
    for (size_t i = 0; i < m->nrecs; i++)
        if (m->recs[i].flags & RF_LIVE) total += m->recs[i].nrefs;
    ref_t *pool = malloc((total + 1) * sizeof *pool);
    if (!idmap || !recs || !pool) fatal("out of memory compacting the model");
    size_t n = 0;
    for (size_t i = 0; i < m->nrecs; i++) idmap[i] = (m->recs[i].flags & RF_LIVE) ? (ref_t)n++ : -1;
    size_t np = 0;
    for (size_t i = 0; i < m->nrecs; i++) {
        record *old = &m->recs[i];
        if (!(old->flags & RF_LIVE)) continue;
        record *rec = &recs[idmap[i]];
        *rec = *old;
        rec->refs = (uint32_t)np;
        for (uint32_t k = 0; k < old->nrefs; k++) {
            ref_t t = m->pool[old->refs + k];
            if (t >= 0) {
                t = idmap[t];
                if (t < 0) {
                    if (old->kind != K_WEAKREF) fatal("model: live record #%zu refers to a dead one", i);
                    t = REF_GONE;
                }
            }
            pool[np++] = t;
        }
    }
    for (size_t i = 0; i < m->nhandles; i++) {
        ref_t t = m->handles[i].target;
        if (t >= 0) m->handles[i].target = idmap[t];
    }
    free(m->recs);
    free(m->pool);
    free(idmap);
    m->recs = recs;
    m->nrecs = m->caprecs = n;
    m->pool = pool;
    m->npool = np;
    m->cappool = total + 1;
}

/* ---- Checking a record against the heap ---- */

static const rm_type *builtin_type(int kind) {
    switch (kind) {
    case K_INT: return &rm_int_type;
    case K_FLOAT: return &rm_float_type;
    case K_STR: return &rm_str_type;
    case K_TUPLE: return &rm_tuple_type;
    case K_LIST: return &rm_list_type;
    case K_DICT: return &rm_dict_type;
    case K_SET: return &rm_set_type;
    case K_CLASS: return &rm_class_type;
    case K_FUNCTION: return &rm_function_type;
    case K_METHOD: return &rm_method_type;
    case K_MODULE: return &rm_module_type;
    case K_WEAKREF: return &rm_weakref_type;
    case K_CAPSULE: return &rm_capsule_type;
    default: return NULL;
    }
}

#define FAULT(...)                                                            \
    do {                                                                      \
        faults++;                                                             \
        char msg_[512];                                                       \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                             \
        check_fail("%s: %s: %s", what, describe(m, id), msg_);                \
    } while (0)

/* Compares a slot's value with a model reference. The label is a format
   with one size_t (a slot or entry number), formatted only on a fault. */
#define EXPECT_REF_AT(label, index, actual, ref)                                                \
    do {                                                                                        \
        rm_object *a_ = (actual);                                                               \
        ref_t r_ = (ref);                                                                       \
        if (a_ != ref_ptr(m, r_)) {                                                             \
            char l_[48];                                                                        \
            snprintf(l_, sizeof l_, label, (size_t)(index));                                    \
            FAULT("%s is %p, expected %s", l_, (void *)a_, describe(m, r_));                    \
        }                                                                                       \
    } while (0)
#define EXPECT_REF(label, actual, ref) EXPECT_REF_AT(label "%.0zu", 0, actual, ref)

/* Table entries in order against the model; dict (stride 2) or set. */
static size_t check_table(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    size_t stride = rec->kind == K_DICT ? 2 : 1;
    size_t size = rec->kind == K_DICT ? rm_dict_size(rec->ptr) : rm_set_size(rec->ptr);
    if (size != rec->nrefs / stride) FAULT("size %zu, expected %zu", size, (size_t)rec->nrefs / stride);
    size_t pos = 0, i = 0;
    rm_object *k = NULL, *v = NULL;
    while (rm_dict_next(rec->ptr, &pos, &k, stride == 2 ? &v : NULL)) {
        if (i >= rec->nrefs) {
            FAULT("extra entry %zu with key %p", i / stride, (void *)k);
            break;
        }
        EXPECT_REF_AT("entry %zu key", i / stride, k, m->pool[rec->refs + i]);
        if (stride == 2) EXPECT_REF_AT("entry %zu value", i / 2, v, m->pool[rec->refs + i + 1]);
        i += stride;
    }
    if (i < rec->nrefs) FAULT("only %zu entries, expected %zu", i / stride, (size_t)rec->nrefs / stride);
    return faults;
}

size_t check_record(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    rm_object *o = rec->ptr;
    ref_t *refs = refs_of(m, id);
    const rm_type *want = rec->kind == K_INSTANCE ? (const rm_type *)ref_ptr(m, refs[0]) : builtin_type(rec->kind);
    if (o->ob_type != want) {
        FAULT("type is %p, expected %s", (void *)o->ob_type,
              rec->kind == K_INSTANCE ? describe(m, refs[0]) : type_label(want));
        return faults;
    }
    switch (rec->kind) {
    case K_INT:
        if (rm_int_value(o) != rec->v.i) FAULT("value %" PRId64 ", expected %" PRId64, rm_int_value(o), rec->v.i);
        break;
    case K_FLOAT: {
        double f = rm_float_value(o);
        if (memcmp(&f, &rec->v.f, sizeof f) != 0) FAULT("value %g, expected %g", f, rec->v.f);
        break;
    }
    case K_STR: {
        char content[64];
        str_content(rec->v.cid, content, sizeof content);
        if (!rm_str_eq(o, content) || rm_str_len(o) != strlen(content))
            FAULT("content '%.60s', expected '%s'", rm_str_cstr(o), content);
        break;
    }
    case K_TUPLE:
    case K_LIST: {
        size_t n = rec->kind == K_TUPLE ? rm_tuple_size(o) : rm_list_size(o);
        if (n != rec->nrefs) {
            FAULT("size %zu, expected %u", n, rec->nrefs);
            break;
        }
        for (size_t i = 0; i < n; i++)
            EXPECT_REF_AT("item %zu", i, rec->kind == K_TUPLE ? rm_tuple_get(o, i) : rm_list_get(o, i), refs[i]);
        break;
    }
    case K_DICT:
    case K_SET: faults += check_table(m, id, what); break;
    case K_CLASS: {
        rm_type *c = (rm_type *)o;
        EXPECT_REF("cls_name", c->cls_name, refs[0]);
        EXPECT_REF("cls_base", c->cls_base, refs[1]);
        EXPECT_REF("cls_module", c->cls_module, refs[2]);
        size_t nfields = rec->nrefs - 4;
        if (rm_class_field_count(o) != nfields) {
            FAULT("%zu fields, expected %zu", rm_class_field_count(o), nfields);
            break;
        }
        if (!c->cls_defaults || !RM_IS(c->cls_defaults, rm_tuple_type) || rm_tuple_size(c->cls_defaults) != nfields) {
            FAULT("cls_defaults is not a tuple of %zu", nfields);
            break;
        }
        for (size_t i = 0; i < nfields; i++) EXPECT_REF_AT("default of f%zu", i, rm_tuple_get(c->cls_defaults, i), refs[4 + i]);
        break;
    }
    case K_INSTANCE: {
        size_t n = rm_instance_slot_count(o);
        if (n != rec->nrefs - 2) {
            FAULT("%zu slots, expected %u", n, rec->nrefs - 2);
            break;
        }
        EXPECT_REF("attribute dict", rm_instance_dict(o), refs[1]);
        for (size_t i = 0; i < n; i++) EXPECT_REF_AT("slot %zu", i, rm_instance_slot(o, i), refs[2 + i]);
        break;
    }
    case K_FUNCTION:
        EXPECT_REF("name", rm_function_name(o), refs[0]);
        EXPECT_REF("module", rm_function_module(o), refs[1]);
        EXPECT_REF("closure", rm_function_closure(o), refs[2]);
        if (rm_function_pointer(o) != fn_generic) FAULT("C function pointer changed");
        break;
    case K_METHOD:
        EXPECT_REF("function", rm_method_function(o), refs[0]);
        EXPECT_REF("self", rm_method_self(o), refs[1]);
        break;
    case K_MODULE:
        EXPECT_REF("name", rm_module_name(o), refs[0]);
        EXPECT_REF("dict", rm_module_dict(o), refs[1]);
        break;
    case K_WEAKREF: {
        rm_object *got = rm_weakref_get(o);
        ref_t t = refs[0];
        if (rec->flags & RF_CLEARED) {
            if (got) FAULT("was cleared, now refers to %p again", (void *)got);
        } else if (t == REF_GONE) {
            if (!got) rec->flags |= RF_CLEARED;
            else if (got != rec->v.target)
                FAULT("target died; refers to %p, neither cleared nor its last target %p", (void *)got,
                      (void *)rec->v.target);
        } else if (got != ref_ptr(m, t)) {
            FAULT("refers to %p, expected %s%s", (void *)got, describe(m, t), got ? "" : " (cleared while the target is reachable)");
        }
        break;
    }
    case K_CAPSULE:
        if (rm_capsule_pointer(o) != (void *)(uintptr_t)(rec->v.serial + 1))
            FAULT("pointer %p, expected %p", rm_capsule_pointer(o), (void *)(uintptr_t)(rec->v.serial + 1));
        if (capsule_finalized(rec->v.serial)) FAULT("finalized %u time(s) while reachable", capsule_finalized(rec->v.serial));
        break;
    }
    return faults;
}

/* ---- rm_traverse against the model ---- */

typedef struct slot_list {
    rm_object **addr;
    rm_object **val;
    size_t n, cap;
} slot_list;

static slot_list traversed;

static int collect_slot(rm_object **slot, void *arg) {
    slot_list *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->addr = realloc(s->addr, s->cap * sizeof *s->addr);
        s->val = realloc(s->val, s->cap * sizeof *s->val);
        if (!s->addr || !s->val) fatal("out of memory collecting slots");
    }
    s->addr[s->n] = (rm_object *)slot;
    s->val[s->n++] = *slot;
    return 0;
}

/*
** rm_traverse must visit the type slot and then every non-NULL reference
** the model knows of: in order for tuples, lists, dicts, sets and instances;
** as a set for classes, functions and modules (whose internal slots, like a
** class's dict, are not modeled); never a weakref's target.
*/
size_t crosscheck_traverse(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    ref_t *refs = refs_of(m, id);
    traversed.n = 0;
    if (rm_traverse(rec->ptr, collect_slot, &traversed) != 0) FAULT("rm_traverse returned non-zero");
    if (traversed.n == 0 || traversed.val[0] != (rm_object *)rec->ptr->ob_type || traversed.addr[0] != (rm_object *)&rec->ptr->ob_type) {
        FAULT("rm_traverse did not visit the type slot first");
        return faults;
    }
    ref_t expect[4096];
    size_t n = 0;
    bool ordered = true;
    switch (rec->kind) {
    case K_TUPLE:
    case K_LIST:
    case K_DICT:
    case K_SET:
        for (uint32_t i = 0; i < rec->nrefs && n < 4096; i++) expect[n++] = refs[i];
        break;
    case K_INSTANCE:
        for (uint32_t i = 1; i < rec->nrefs && n < 4096; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    case K_CLASS:
        ordered = false;
        for (uint32_t i = 0; i < 3; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    case K_FUNCTION:
    case K_METHOD:
    case K_MODULE:
        ordered = false;
        for (uint32_t i = 0; i < rec->nrefs; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    default: break; /* leaves, weakrefs, capsules: the type slot only */
    }
    if (rec->nrefs > 4096) return faults; /* too big to cross-check; check_record covers it */
    size_t got = traversed.n - 1;
    if (ordered || rec->kind == K_FUNCTION || rec->kind == K_METHOD || rec->kind == K_MODULE) {
        if (got != n) {
            FAULT("rm_traverse visited %zu slots besides the type, the model has %zu", got, n);
            return faults;
        }
    } else if (got < n) {
        FAULT("rm_traverse visited %zu slots besides the type, the model needs at least %zu", got, n);
        return faults;
    }
    for (size_t i = 0; i < n; i++) {
        rm_object *want = ref_ptr(m, expect[i]);
        bool found = false;
        if (ordered) found = traversed.val[1 + i] == want;
        else
            for (size_t j = 1; j < traversed.n && !found; j++) found = traversed.val[j] == want;
        if (!found) FAULT("rm_traverse: slot %zu %s %s", i, ordered ? "is not" : "missing:", describe(m, expect[i]));
    }
    return faults;
}
