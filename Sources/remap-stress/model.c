/*
** model.c: the model of the object graph: records, the reference pool,
** handles, descriptions, and picking references for new edges. Building
** (model_create.c, model_tables.c, model_build.c), mutations
** (model_mutate.c), reachability (model_live.c) and the comparison with
** the heap (model_check.c) have files of their own.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Records and the pool ---- */

void *grow(void *p, size_t *cap, size_t need, size_t elem) {
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
void append_refs(model *m, ref_t id, ref_t a, ref_t b, size_t n) {
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
** value, strs by content (content id), tuples item by item, bound methods
** by their function and receiver, each by identity. Everything else
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
    case K_METHOD:
        return x->nrefs == 2 && y->nrefs == 2 && m->pool[x->refs] == m->pool[y->refs] &&
               m->pool[x->refs + 1] == m->pool[y->refs + 1];
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
ref_t pick_ref(model *m, rng *r, cluster *c, int want) {
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
