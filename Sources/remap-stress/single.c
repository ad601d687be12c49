/*
** single.c: the single-threaded stress rounds.
**
** Each round: top the graph up to --objects records, mutate it, plan a
** random mapping (replacements, swaps, chains, many-to-one, keys of dicts
** and sets, handle values, classes with live instances), then one remap
** step: snapshot the heap, remap, and check the heap against two
** independent predictions:
**   - the snapshot: for every object rm_heap_each visits, its rm_traverse
**     slots (address, f(value)) are folded into a checksum before the remap;
**     after it the same fold over (address, value) must match. This covers
**     every slot of every object, the runtime's own included (a class's
**     dict, a function's name), and gives the exact counts the report must
**     state;
**   - the model (model.c): what this program stored, with f applied once.
** Some rounds then roll the remap back with rm_mapping_inverse. Last, part
** of the graph is dropped, a collection runs, and every object still
** reachable must be intact.
**
** Mappings keep kinds (a class maps to a class, a str to a str) and
** hashability, so every key stays hashable; some objects map to None, True
** or False, as a reload does for a removed definition. Plans never make a
** tuple contain itself (see drop_tuple_cycles).
*/
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pairs in a round's mapping: the design's "tens to thousands". */
#define MIN_PAIRS 8
#define MAX_PAIRS 4000
/* Fraction of root and value handles dropped each round, in percent. */
#define DROP_PERCENT 25
/* Instances and functions called after each remap to check dispatch. */
#define CALL_SAMPLE 300

typedef struct pair {
    ref_t old, new_;
    uint32_t old_hash, new_hash; /* ob_hash before the remap */
    bool shared_new;             /* the new object is the target of several pairs */
} pair;

typedef struct plan {
    pair *pairs;
    size_t n, cap;
    bool injective;
} plan;

static model M;
static rng R;
static int round_no;
/* Set when the heap and the model disagree: later rounds would only
   report the same divergence again, so the run stops after this round. */
static bool diverged;

/* ---- Address map: old object -> new object ---- */

typedef struct ptrmap {
    uintptr_t *keys;
    rm_object **vals;
    size_t mask;
} ptrmap;

static size_t ptr_slot(uintptr_t a, size_t mask) { return (size_t)(((a >> 4) * 0x9e3779b97f4a7c15ULL) >> 20) & mask; }

static void ptrmap_init(ptrmap *p, size_t n) {
    size_t size = 16;
    while (size < 2 * n + 2) size *= 2;
    p->keys = calloc(size, sizeof *p->keys);
    p->vals = calloc(size, sizeof *p->vals);
    if (!p->keys || !p->vals) fatal("out of memory for an address map");
    p->mask = size - 1;
}

static void ptrmap_free(ptrmap *p) {
    free(p->keys);
    free(p->vals);
}

static void ptrmap_put(ptrmap *p, rm_object *k, rm_object *v) {
    uintptr_t a = (uintptr_t)k;
    size_t i = ptr_slot(a, p->mask);
    while (p->keys[i] && p->keys[i] != a) i = (i + 1) & p->mask;
    p->keys[i] = a;
    p->vals[i] = v;
}

static rm_object *ptrmap_get(const ptrmap *p, rm_object *k) {
    uintptr_t a = (uintptr_t)k;
    if (!a) return NULL;
    for (size_t i = ptr_slot(a, p->mask);; i = (i + 1) & p->mask) {
        if (p->keys[i] == a) return p->vals[i];
        if (!p->keys[i]) return NULL;
    }
}

/* f applied once to an address. */
static rm_object *apply(const ptrmap *f, rm_object *v) {
    rm_object *n = ptrmap_get(f, v);
    return n ? n : v;
}

/* Address -> record id for the live records (ids stored + 1 as pointers). */
static ptrmap recmap;

static void build_recmap(void) {
    ptrmap_free(&recmap);
    ptrmap_init(&recmap, M.live + 16);
    for (size_t i = 0; i < M.nrecs; i++)
        if (M.recs[i].flags & RF_LIVE) ptrmap_put(&recmap, M.recs[i].ptr, (rm_object *)(uintptr_t)(i + 1));
}

static ref_t record_of(rm_object *p) {
    uintptr_t v = (uintptr_t)ptrmap_get(&recmap, p);
    return v ? (ref_t)(v - 1) : -1;
}

/* ---- Planning a mapping ---- */

static bool same_hashability(ref_t a, ref_t b) {
    return ((M.recs[a].flags ^ M.recs[b].flags) & RF_HASHABLE) == 0;
}

static void plan_add(plan *p, ref_t old, ref_t new_) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->pairs = realloc(p->pairs, p->cap * sizeof *p->pairs);
        if (!p->pairs) fatal("out of memory for a plan");
    }
    p->pairs[p->n++] = (pair){.old = old, .new_ = new_};
    if (new_ >= 0) M.recs[new_].flags |= RF_ISNEW;
    M.recs[old].flags |= RF_MAPPED;
    M.recs[old].map_to = new_;
}

/* An object to map, of a kind drawn with weights that favour what remap
   must get right: classes, functions, keys. */
static ref_t pick_old(void) {
    static const int kinds[] = {K_CLASS, K_CLASS, K_CLASS, K_FUNCTION, K_FUNCTION, K_STR, K_STR, K_STR,
                                K_INT,   K_INT,   K_TUPLE, K_TUPLE,    K_TUPLE,    K_INSTANCE, K_INSTANCE,
                                K_LIST,  K_DICT,  K_SET,   K_METHOD,   K_MODULE,   K_WEAKREF, K_CAPSULE, K_FLOAT};
    ref_t id = pick_live(&M, &R, kinds[rng_below(&R, sizeof kinds / sizeof kinds[0])], true);
    return id >= 0 ? id : pick_live(&M, &R, -1, true);
}

/* Plans for a rollback must be injective: no object is the new one of two
   pairs. */
static bool planning_injective;

/* Another mappable object of the same kind and hashability as `a` (in an
   injective plan, not already a new object of the plan). */
static ref_t pick_partner(ref_t a) {
    for (int tries = 0; tries < 8; tries++) {
        ref_t b = pick_live(&M, &R, M.recs[a].kind, true);
        if (b < 0 || b == a || !same_hashability(a, b)) continue;
        if (planning_injective && (M.recs[b].flags & RF_ISNEW)) continue;
        return b;
    }
    return -1;
}

/* A mappable key of a random dict or set, or -1. */
static ref_t pick_key(ref_t *table) {
    ref_t t = pick_live(&M, &R, rng_chance(&R, 60) ? K_DICT : K_SET, false);
    if (t < 0 || M.recs[t].nrefs == 0) return -1;
    size_t stride = M.recs[t].kind == K_DICT ? 2 : 1;
    ref_t k = refs_of(&M, t)[stride * rng_below(&R, M.recs[t].nrefs / stride)];
    if (k < 0 || (M.recs[k].flags & (RF_NOMAP | RF_MAPPED))) return -1;
    *table = t;
    return k;
}

/* f on record ids. */
static ref_t fref(ref_t r) {
    return (r >= 0 && (M.recs[r].flags & RF_MAPPED)) ? M.recs[r].map_to : r;
}

/* True if tuple `from` reaches tuple `target` through tuple items, with f
   applied to every item. Iterative; `stamp` marks visited records. */
static bool tuple_reaches(ref_t from, ref_t target, uint32_t *visited, uint32_t stamp) {
    ref_t *stack = malloc((M.nrecs + 1) * sizeof *stack);
    if (!stack) fatal("out of memory");
    size_t top = 0;
    stack[top++] = from;
    bool found = false;
    while (top && !found) {
        ref_t id = stack[--top];
        record *rec = &M.recs[id];
        for (uint32_t i = 0; i < rec->nrefs; i++) {
            ref_t it = fref(M.pool[rec->refs + i]);
            if (it < 0 || M.recs[it].kind != K_TUPLE) continue;
            if (it == target) {
                found = true;
                break;
            }
            if (visited[it] == stamp) continue;
            visited[it] = stamp;
            stack[top++] = it;
        }
    }
    free(stack);
    return found;
}

/*
** A remap can make a tuple contain itself: map a tuple to one that holds
** it. The runtime then recurses forever hashing or comparing it (see the
** report of this test), and the model could not compare it either, so such
** pairs are taken out of the plan. Before the remap tuples are acyclic
** (each holds objects made before it), so a new cycle passes through a new
** object: check each new tuple, drop the pairs leading to it, repeat.
*/
static void drop_tuple_cycles(plan *p) {
    uint32_t *visited = calloc(M.nrecs + 1, sizeof *visited);
    if (!visited) fatal("out of memory");
    uint32_t stamp = 0;
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < p->n && !again; i++) {
            ref_t n = p->pairs[i].new_;
            if (n < 0 || M.recs[n].kind != K_TUPLE || !tuple_reaches(n, n, visited, ++stamp)) continue;
            size_t k = 0;
            for (size_t j = 0; j < p->n; j++) {
                if (p->pairs[j].new_ == n) M.recs[p->pairs[j].old].flags &= (uint16_t)~RF_MAPPED;
                else p->pairs[k++] = p->pairs[j];
            }
            p->n = k;
            again = true;
        }
    }
    free(visited);
}

/*
** Draws `want` pairs (a little more: swaps and chains come in twos) in a new
** cluster that roots the new objects. Each old object is mapped once; a new
** object may be an old one too (swap, chain) or shared (many-to-one).
*/
static void plan_mapping(plan *p, size_t want, bool injective) {
    cluster c;
    cluster_begin(&M, &c);
    p->n = 0;
    p->injective = true;
    planning_injective = injective;
    for (int guard = 0; p->n < want && guard < (int)want * 20; guard++) {
        unsigned roll = (unsigned)rng_below(&R, 100);
        if (roll < 40) { /* replace */
            ref_t a = pick_old();
            if (a >= 0) plan_add(p, a, make_like(&M, &R, &c, a));
        } else if (roll < 50) { /* swap */
            ref_t a = pick_old();
            ref_t b = a >= 0 ? pick_partner(a) : -1;
            if (b < 0 || (injective && (M.recs[a].flags & RF_ISNEW))) continue;
            plan_add(p, a, b);
            plan_add(p, b, a);
        } else if (roll < 60) { /* chain a -> b -> c */
            ref_t a = pick_old();
            ref_t b = a >= 0 ? pick_partner(a) : -1;
            if (b < 0) continue;
            ref_t n = make_like(&M, &R, &c, b);
            plan_add(p, a, b);
            plan_add(p, b, n);
        } else if (roll < 65) { /* many to one */
            if (injective) continue;
            ref_t a = pick_old();
            ref_t b = a >= 0 ? pick_partner(a) : -1;
            if (b < 0) continue;
            ref_t n = make_like(&M, &R, &c, a);
            plan_add(p, a, n);
            plan_add(p, b, n);
        } else if (roll < 67) { /* to None, True or False, as for a removed definition */
            if (injective) continue;
            ref_t a = pick_old();
            if (a < 0) continue;
            int k = M.recs[a].kind;
            if (k != K_INT && k != K_STR && k != K_FUNCTION && k != K_TUPLE) continue;
            plan_add(p, a, (ref_t[]){REF_NONE, REF_TRUE, REF_FALSE}[rng_below(&R, 3)]);
        } else if (roll < 80) { /* a key of a table: to a new object, or onto another key (a merge) */
            ref_t t = -1, k = pick_key(&t);
            if (k < 0) continue;
            ref_t other = -1;
            if (!injective && rng_chance(&R, 40)) {
                ref_t tmp = -1;
                for (int tries = 0; tries < 4 && other < 0; tries++) {
                    size_t stride = M.recs[t].kind == K_DICT ? 2 : 1;
                    tmp = refs_of(&M, t)[stride * rng_below(&R, M.recs[t].nrefs / stride)];
                    if (tmp >= 0 && tmp != k && M.recs[tmp].kind == M.recs[k].kind && same_hashability(k, tmp)) other = tmp;
                }
            }
            plan_add(p, k, other >= 0 ? other : make_like(&M, &R, &c, k));
        } else if (roll < 88) { /* a handle's value */
            if (!M.nhandles) continue;
            handle_rec *h = &M.handles[rng_below(&R, M.nhandles)];
            ref_t a = h->target;
            if (a < 0 || (M.recs[a].flags & (RF_NOMAP | RF_MAPPED | RF_ROOTLIST))) continue;
            plan_add(p, a, make_like(&M, &R, &c, a));
        } else { /* the class of a live instance */
            ref_t inst = pick_live(&M, &R, K_INSTANCE, false);
            if (inst < 0) continue;
            ref_t cls = refs_of(&M, inst)[0];
            if (M.recs[cls].flags & (RF_NOMAP | RF_MAPPED)) continue;
            if (injective && (M.recs[cls].flags & RF_ISNEW)) continue;
            ref_t other = rng_chance(&R, 25) ? pick_partner(cls) : -1;
            if (other >= 0) { /* swap two classes with instances */
                plan_add(p, cls, other);
                plan_add(p, other, cls);
            } else {
                plan_add(p, cls, make_like(&M, &R, &c, cls));
            }
        }
    }
    cluster_end(&M, &c);
    for (size_t i = 0; i < p->n; i++)
        if (p->pairs[i].new_ >= 0) M.recs[p->pairs[i].new_].flags &= (uint16_t)~RF_ISNEW;
    drop_tuple_cycles(p);
    /* Which new objects are shared (their identity hash is ambiguous). */
    for (size_t i = 0; i < p->n; i++) {
        size_t uses = 0;
        for (size_t j = 0; j < p->n && uses < 2; j++) uses += p->pairs[j].new_ == p->pairs[i].new_;
        p->pairs[i].shared_new = uses > 1;
        /* An immortal new object cannot be an old one: no inverse either. */
        if (uses > 1 || p->pairs[i].new_ < 0) p->injective = false;
    }
}

/* ---- The snapshot ---- */

enum tindex { T_TUPLE, T_LIST, T_DICT, T_SET, T_CLASS, T_FUNCTION, T_METHOD, T_MODULE, T_WEAKREF, T_INSTANCE, T_OTHER, T_COUNT };

static const rm_type *tindex_types[T_INSTANCE] = {&rm_tuple_type, &rm_list_type,   &rm_dict_type,
                                                  &rm_set_type,   &rm_class_type,  &rm_function_type,
                                                  &rm_method_type, &rm_module_type, &rm_weakref_type};

#define S_CLASSMAPPED 0x01
#define S_SEEN 0x02
#define S_LISTED_TABLE 0x04
#define S_LISTED_INSTANCE 0x08
#define S_MISMATCH 0x10

typedef struct snap {
    rm_object *obj;
    uint32_t hash;    /* fold of (slot address, f(value)) */
    uint32_t nslots;  /* non-NULL slots rm_traverse visits, type included */
    uint32_t changed; /* slots f changes, a weakref's target included */
    uint8_t tindex;
    uint8_t flags;
} snap;

typedef struct snapshot {
    snap *e;
    size_t n, cap;
    uint32_t *index; /* open addressing: entry + 1 */
    size_t mask;
    const ptrmap *f;
    /* the visitor's running state */
    uint64_t acc;
    uint32_t count, changed;
    bool after;
    /* after the remap */
    size_t new_objects, bad_types, leaves_seen;
    size_t mismatch[32];
    size_t nmismatch;
} snapshot;

static snapshot S;

static int tindex_of(const rm_type *t) {
    if (t->tp_flags & RM_TYPE_HEAP) return T_INSTANCE;
    for (int i = 0; i < T_INSTANCE; i++)
        if (tindex_types[i] == t) return i;
    return T_OTHER;
}

static bool is_leaf(rm_object *o) { return (o->ob_type->tp_flags & RM_TYPE_ATOMIC) != 0; }

static uint64_t fold(uint64_t acc, rm_object **slot, rm_object *v) {
    acc ^= (uint64_t)(uintptr_t)slot * 0x9e3779b97f4a7c15ULL;
    acc = (acc << 23 | acc >> 41) ^ ((uint64_t)(uintptr_t)v * 0xc2b2ae3d27d4eb4fULL);
    return acc * 0xff51afd7ed558ccdULL;
}

static int snap_visit(rm_object **slot, void *arg) {
    snapshot *s = arg;
    rm_object *v = *slot;
    if (s->after) {
        s->acc = fold(s->acc, slot, v);
    } else {
        rm_object *fv = apply(s->f, v);
        s->changed += fv != v;
        s->acc = fold(s->acc, slot, fv);
    }
    s->count++;
    return 0;
}

static uint32_t finish(uint64_t acc) { return (uint32_t)(acc ^ (acc >> 32)); }

static int snapshot_before(rm_object *o, void *arg) {
    snapshot *s = arg;
    if (is_leaf(o)) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->e = realloc(s->e, s->cap * sizeof *s->e);
        if (!s->e) fatal("out of memory for the snapshot");
    }
    s->acc = 0x243f6a8885a308d3ULL;
    s->count = s->changed = 0;
    rm_traverse(o, snap_visit, s);
    snap *e = &s->e[s->n++];
    e->obj = o;
    e->nslots = s->count;
    e->changed = s->changed;
    e->hash = finish(s->acc);
    e->tindex = (uint8_t)tindex_of(o->ob_type);
    e->flags = 0;
    if (e->tindex == T_INSTANCE && apply(s->f, (rm_object *)o->ob_type) != (rm_object *)o->ob_type)
        e->flags |= S_CLASSMAPPED;
    if (e->tindex == T_WEAKREF) {
        rm_object *t = rm_weakref_get(o);
        if (t && apply(s->f, t) != t) e->changed++;
    }
    return 0;
}

static void snapshot_index(snapshot *s) {
    size_t size = 16;
    while (size < 2 * s->n + 2) size *= 2;
    free(s->index);
    s->index = calloc(size, sizeof *s->index);
    if (!s->index) fatal("out of memory for the snapshot index");
    s->mask = size - 1;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = ptr_slot((uintptr_t)s->e[i].obj, s->mask);
        while (s->index[k]) k = (k + 1) & s->mask;
        s->index[k] = (uint32_t)(i + 1);
    }
}

static snap *snapshot_find(snapshot *s, rm_object *o) {
    for (size_t k = ptr_slot((uintptr_t)o, s->mask);; k = (k + 1) & s->mask) {
        uint32_t v = s->index[k];
        if (!v) return NULL;
        if (s->e[v - 1].obj == o) return &s->e[v - 1];
    }
}

/* A type the walk may follow: a built-in static type or a live class. */
static bool type_is_valid(const rm_type *t) {
    if (t == &rm_int_type || t == &rm_float_type || t == &rm_str_type || t == &rm_capsule_type) return true;
    for (int i = 0; i < T_INSTANCE; i++)
        if (tindex_types[i] == t) return true;
    /* A class: a heap object whose type is rm_class_type. Not necessarily a
       live record: an object the collector kept conservatively may be an
       instance of a class the model dropped. */
    return rm_is_heap_object((const rm_object *)t) && ((const rm_object *)t)->ob_type == &rm_class_type;
}

static int snapshot_after(rm_object *o, void *arg) {
    snapshot *s = arg;
    ref_t id = record_of(o);
    if (id >= 0) M.recs[id].flags |= RF_SEEN;
    if (!type_is_valid(o->ob_type)) {
        s->bad_types++;
        if (s->bad_types <= 5) check_fail("object at %p (%s) has an invalid type %p after the remap", (void *)o,
                                          id >= 0 ? describe(&M, id) : "not modeled", (void *)o->ob_type);
        return 0;
    }
    if (is_leaf(o)) {
        s->leaves_seen++;
        return 0;
    }
    snap *e = snapshot_find(s, o);
    if (!e) {
        s->new_objects++;
        return 0;
    }
    s->acc = 0x243f6a8885a308d3ULL;
    s->count = 0;
    rm_traverse(o, snap_visit, s);
    e->flags |= S_SEEN;
    if (finish(s->acc) != e->hash || s->count != e->nslots) {
        e->flags |= S_MISMATCH;
        if (s->nmismatch < sizeof s->mismatch / sizeof s->mismatch[0]) s->mismatch[s->nmismatch++] = (size_t)(e - s->e);
    }
    return 0;
}

/* Explains a slot checksum mismatch: which slot still holds an old object,
   or holds something that is neither f(old value) candidate. */
static int explain_visit(rm_object **slot, void *arg) {
    snapshot *s = arg;
    rm_object *v = *slot;
    if (ptrmap_get(s->f, v) && s->count < 64) {
        ref_t id = record_of(v);
        check_fail("    slot %u (at %p) still holds an OLD object %p %s; it should be %p", s->count, (void *)slot,
                   (void *)v, id >= 0 ? describe(&M, id) : "", (void *)apply(s->f, v));
    }
    s->count++;
    return 0;
}

static void explain_mismatches(snapshot *s) {
    for (size_t i = 0; i < s->nmismatch; i++) {
        snap *e = &s->e[s->mismatch[i]];
        ref_t id = record_of(e->obj);
        check_fail("slots of %s (%s) differ from f(slots before): %u slots before, checksum mismatch",
                   id >= 0 ? describe(&M, id) : "an object the runtime made", type_label(e->obj->ob_type), e->nslots);
        s->count = 0;
        rm_traverse(e->obj, explain_visit, s);
    }
}

/* ---- One remap step ---- */

static const char *options_label(unsigned o) {
    static char buf[96];
    snprintf(buf, sizeof buf, "%s%s%s%s", o ? "" : "default", o & RM_REMAP_KEEP_HASHES ? " KEEP_HASHES" : "",
             o & RM_REMAP_NO_INSTANCES ? " NO_INSTANCES" : "", o & RM_REMAP_SINGLE_THREAD ? " SINGLE_THREAD" : "");
    return buf;
}

/* Expected report figures, from the snapshot. */
typedef struct expect {
    size_t slots, handles, objects, instances, inst_touched, inst_slots;
    size_t type_objects[T_COUNT], type_slots[T_COUNT];
    size_t nslots_total;
} expect;

/* Before the remap: clears the scratch flags and marks every live dict and
   set record one of whose key slots f changes (it must be listed). */
static void mark_tables(void) {
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        rec->flags &= (uint16_t)~(RF_LISTED | RF_MUSTLIST | RF_SEEN);
        if (!(rec->flags & RF_LIVE) || (rec->kind != K_DICT && rec->kind != K_SET)) continue;
        size_t stride = rec->kind == K_DICT ? 2 : 1;
        for (uint32_t k = 0; k < rec->nrefs; k += stride) {
            ref_t key = M.pool[rec->refs + k];
            if (fref(key) != key) rec->flags |= RF_MUSTLIST;
        }
    }
}

/* The step being checked, for check names: "remap" or "rollback". */
static const char *step_label = "remap";

/*
** The report's figures against the snapshot's: heap slots rewritten (the
** type slots of instances and weakref targets included, handles apart),
** handles, objects with references, per built-in type (objects with a
** rewritten slot, and slots), instances apart. A type line "NULL" (every
** other type) is only expected past RM_REPORT_TYPES types; where one is
** present, the per-type figures are not compared, their sum still is.
*/
static void check_report(const rm_remap_report *rep, const expect *x, size_t handle_count) {
    check_begin("round %d (%s): report counters", round_no, step_label);
    if (rep->slots_rewritten != x->slots) {
        if (rep->slots_rewritten == x->slots + x->handles)
            check_fail("slots_rewritten %zu counts the %zu rewritten handles too (heap slots: %zu); "
                       "handles_rewritten already counts them", rep->slots_rewritten, x->handles, x->slots);
        else
            check_fail("slots_rewritten %zu, expected %zu (heap slots changed, instance class slots and weakref "
                       "targets included; handles changed: %zu)", rep->slots_rewritten, x->slots, x->handles);
    }
    if (rep->handles_rewritten != x->handles)
        check_fail("handles_rewritten %zu, expected %zu", rep->handles_rewritten, x->handles);
    if (rep->handles_visited != handle_count)
        check_fail("handles_visited %zu, expected %zu (live handles)", rep->handles_visited, handle_count);
    if (rep->objects_visited != x->objects)
        check_fail("objects_visited %zu, expected %zu (objects with references; leaves skipped)", rep->objects_visited,
                   x->objects);
    if (rep->slots_visited < x->nslots_total)
        check_fail("slots_visited %zu is less than the %zu non-NULL slots rm_traverse visits", rep->slots_visited,
                   x->nslots_total);
    if (rep->instances_touched != x->inst_touched)
        check_fail("instances_touched %zu, expected %zu", rep->instances_touched, x->inst_touched);
    if (rep->instance_slots_rewritten != x->inst_slots)
        check_fail("instance_slots_rewritten %zu, expected %zu", rep->instance_slots_rewritten, x->inst_slots);
    if (rep->threads < 1) check_fail("threads %u", rep->threads);
    if (!(rep->seconds >= 0)) check_fail("seconds %g", rep->seconds);
    if (rep->ntypes > RM_REPORT_TYPES) check_fail("ntypes %zu > RM_REPORT_TYPES", rep->ntypes);
    size_t sum = 0, distinct = 0;
    bool overflow = false;
    for (int ti = 0; ti < T_INSTANCE; ti++) distinct += x->type_slots[ti] != 0;
    for (size_t i = 0; i <= RM_REPORT_TYPES; i++) {
        const rm_type_count *tc = &rep->types[i];
        bool used = i < rep->ntypes || tc->objects || tc->slots_rewritten;
        if (used && !tc->type && (tc->objects || tc->slots_rewritten)) overflow = true;
    }
    if (overflow && distinct <= RM_REPORT_TYPES)
        check_fail("the report has an 'every other type' (NULL) line although only %zu types had slots rewritten "
                   "(at most RM_REPORT_TYPES = %d get their own line)", distinct, RM_REPORT_TYPES);
    for (size_t i = 0; i <= RM_REPORT_TYPES; i++) {
        if (i >= rep->ntypes && i != RM_REPORT_TYPES) continue;
        const rm_type_count *tc = &rep->types[i];
        sum += tc->slots_rewritten;
        if (!tc->type) continue;
        if (overflow) continue; /* counts of a type may be split with the NULL line */
        int ti = tindex_of(tc->type);
        if (ti == T_INSTANCE || ti == T_OTHER) {
            check_fail("report line for type %s: instances are counted apart", type_label(tc->type));
            continue;
        }
        if (tc->objects != x->type_objects[ti] || tc->slots_rewritten != x->type_slots[ti])
            check_fail("report line %s: %zu objects, %zu slots; expected %zu objects, %zu slots", type_label(tc->type),
                       tc->objects, tc->slots_rewritten, x->type_objects[ti], x->type_slots[ti]);
    }
    if (!overflow) {
        for (int ti = 0; ti < T_INSTANCE; ti++) {
            if (!x->type_slots[ti]) continue;
            bool found = false;
            for (size_t i = 0; i < rep->ntypes; i++) found |= rep->types[i].type == tindex_types[ti];
            if (!found) check_fail("no report line for %s, which had %zu slots rewritten", type_label(tindex_types[ti]), x->type_slots[ti]);
        }
    }
    if (sum + rep->instance_slots_rewritten != x->slots)
        check_fail("per-type slots (%zu) + instance slots (%zu) = %zu, expected %zu", sum, rep->instance_slots_rewritten,
                   sum + rep->instance_slots_rewritten, x->slots);
    check_end();
}

/* The listed instances: exactly those whose class slot was rewritten. */
static void check_instances(const rm_remap_report *rep, const expect *x, unsigned options) {
    check_begin("round %d (%s): report.instances", round_no, step_label);
    size_t want = (options & RM_REMAP_NO_INSTANCES) ? 0 : x->instances;
    if (rep->ninstances != want) check_fail("%zu instances listed, expected %zu", rep->ninstances, want);
    for (size_t i = 0; i < rep->ninstances; i++) {
        snap *e = snapshot_find(&S, rep->instances[i]);
        ref_t id = record_of(rep->instances[i]);
        if (!e) check_fail("listed instance %p is not a walked object", (void *)rep->instances[i]);
        else if (!(e->flags & S_CLASSMAPPED)) check_fail("listed %s: its class was not remapped", id >= 0 ? describe(&M, id) : "object");
        else if (e->flags & S_LISTED_INSTANCE) check_fail("%s listed twice", id >= 0 ? describe(&M, id) : "an instance");
        if (e) e->flags |= S_LISTED_INSTANCE;
    }
    check_end();
}

/*
** The listed tables: dicts and sets, each once, every table with a
** rewritten key among them. A table not listed must still find every key
** at its cached hash, and must not have keys that became equal.
*/
static void check_tables_listed(const rm_remap_report *rep) {
    check_begin("round %d (%s): report.tables", round_no, step_label);
    for (size_t i = 0; i < rep->ntables; i++) {
        rm_object *t = rep->tables[i];
        snap *e = snapshot_find(&S, t);
        if (!RM_IS(t, rm_dict_type) && !RM_IS(t, rm_set_type)) {
            check_fail("listed table %p is a %s", (void *)t, type_label(t->ob_type));
            continue;
        }
        if (e && (e->flags & S_LISTED_TABLE)) check_fail("table %p listed twice", (void *)t);
        if (e) e->flags |= S_LISTED_TABLE;
        ref_t id = record_of(t);
        if (id >= 0) M.recs[id].flags |= RF_LISTED;
    }
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (!(rec->flags & RF_LIVE) || (rec->kind != K_DICT && rec->kind != K_SET)) continue;
        if ((rec->flags & RF_MUSTLIST) && !(rec->flags & RF_LISTED))
            check_fail("%s had a key rewritten but is not in report.tables", describe(&M, (ref_t)i));
        if (rec->flags & RF_LISTED) continue;
        size_t stride = rec->kind == K_DICT ? 2 : 1;
        ref_t *refs = refs_of(&M, (ref_t)i);
        for (uint32_t k = 0; k < rec->nrefs; k += stride) {
            rm_object *key = ref_ptr(&M, refs[k]);
            if (stride == 2) {
                rm_object *got = rm_dict_get(rec->ptr, key);
                if (got != ref_ptr(&M, refs[k + 1]))
                    check_fail("%s is not in report.tables, but key %s is not found (got %p): its hash changed",
                               describe(&M, (ref_t)i), describe(&M, refs[k]), (void *)got);
            } else if (rm_set_contains(rec->ptr, key) != 1) {
                check_fail("%s is not in report.tables, but member %s is not found: its hash changed",
                           describe(&M, (ref_t)i), describe(&M, refs[k]));
            }
            for (uint32_t j = 0; j < k; j += stride)
                if (ref_equal(&M, refs[j], refs[k]))
                    check_fail("%s is not in report.tables, but keys %s and %s became equal", describe(&M, (ref_t)i),
                               describe(&M, refs[j]), describe(&M, refs[k]));
        }
    }
    check_end();
}

/* Each new object took its old object's identity hash (or kept its own with
   KEEP_HASHES); strs keep their content hash. */
static void check_hashes(const plan *p, unsigned options) {
    check_begin("round %d (%s): identity hashes handed over", round_no, step_label);
    for (size_t i = 0; i < p->n; i++) {
        const pair *q = &p->pairs[i];
        if (q->new_ < 0) continue; /* None, True, False keep their hash */
        record *o = &M.recs[q->old], *n = &M.recs[q->new_];
        rm_object *np = n->ptr;
        if (n->kind == K_STR) {
            if (np->ob_hash != q->new_hash)
                check_fail("str %s: content hash changed from %08x to %08x", describe(&M, q->new_), q->new_hash, np->ob_hash);
            continue;
        }
        bool identity = !np->ob_type->tp_hash && !np->ob_type->tp_equal && o->kind == n->kind;
        if (!identity || q->shared_new) continue;
        uint32_t want = (options & RM_REMAP_KEEP_HASHES) ? q->new_hash : q->old_hash;
        if (np->ob_hash != want)
            check_fail("%s -> %s: new object's hash %08x, expected %08x (%s)", describe(&M, q->old), describe(&M, q->new_),
                       np->ob_hash, want, (options & RM_REMAP_KEEP_HASHES) ? "its own, KEEP_HASHES" : "the old object's");
    }
    check_end();
}

/* Every live record against the heap, and its traverse. */
static size_t check_all_records(const char *what) {
    size_t faults = 0;
    for (size_t i = 0; i < M.nrecs; i++) {
        if (!(M.recs[i].flags & RF_LIVE)) continue;
        size_t f = check_record(&M, (ref_t)i, what);
        if (!f) f = crosscheck_traverse(&M, (ref_t)i, what);
        faults += f;
    }
    for (size_t i = 0; i < M.nhandles; i++) {
        rm_object *got = rm_handle_get(M.handles[i].h);
        if (got != ref_ptr(&M, M.handles[i].target)) {
            faults++;
            check_fail("%s: handle %zu%s holds %p, expected %s", what, i, M.handles[i].is_root ? " (root)" : "",
                       (void *)got, describe(&M, M.handles[i].target));
        }
    }
    return faults;
}

/* Applies f to the model: every live record's references and every
   handle's target. */
static void apply_to_model(void) {
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (!(rec->flags & RF_LIVE)) continue;
        for (uint32_t k = 0; k < rec->nrefs; k++) M.pool[rec->refs + k] = fref(M.pool[rec->refs + k]);
        if (rec->kind == K_WEAKREF && M.pool[rec->refs] >= 0) rec->v.target = ref_ptr(&M, M.pool[rec->refs]);
    }
    for (size_t i = 0; i < M.nhandles; i++) M.handles[i].target = fref(M.handles[i].target);
}

/* Lookups by the key itself and by a fresh equal object (str, int, float,
   tuple): the key's hash must be its content's, wherever it came from. */
static size_t check_lookups(const char *what) {
    size_t faults = 0;
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (!(rec->flags & RF_LIVE) || (rec->kind != K_DICT && rec->kind != K_SET)) continue;
        size_t stride = rec->kind == K_DICT ? 2 : 1;
        for (uint32_t k = 0; k < rec->nrefs; k += stride) {
            ref_t key = M.pool[M.recs[i].refs + k];
            ref_t val = stride == 2 ? M.pool[M.recs[i].refs + k + 1] : REF_NULL;
            rm_object *d = M.recs[i].ptr;
            rm_object *probe = NULL;
            if (key >= 0) {
                record *kr = &M.recs[key];
                char content[64];
                switch (kr->kind) {
                case K_STR:
                    str_content(kr->v.cid, content, sizeof content);
                    probe = rm_str(content);
                    break;
                case K_INT: probe = rm_int(kr->v.i); break;
                case K_FLOAT: probe = rm_float(kr->v.f); break;
                case K_TUPLE: {
                    probe = rm_tuple_new(kr->nrefs);
                    for (uint32_t j = 0; probe && j < M.recs[key].nrefs; j++)
                        rm_tuple_set(probe, j, ref_ptr(&M, M.pool[M.recs[key].refs + j]));
                    break;
                }
                default: break;
                }
            }
            rm_object *keys[2] = {ref_ptr(&M, key), probe};
            for (int j = 0; j < 2; j++) {
                if (!keys[j]) continue;
                bool ok = stride == 2 ? rm_dict_get(d, keys[j]) == ref_ptr(&M, val) : rm_set_contains(d, keys[j]) == 1;
                if (!ok) {
                    faults++;
                    check_fail("%s: %s: key %s not found%s", what, describe(&M, (ref_t)i), describe(&M, key),
                               j ? " by a fresh equal object" : "");
                }
            }
        }
    }
    return faults;
}

/* Method calls go through the instance's current class; calls of functions
   and bound methods reach the right C function with the right self. */
static size_t check_calls(const char *what) {
    size_t faults = 0, done = 0;
    for (int tries = 0; tries < CALL_SAMPLE * 4 && done < CALL_SAMPLE; tries++) {
        ref_t id = pick_live(&M, &R, -1, false);
        if (id < 0) break;
        record *rec = &M.recs[id];
        rm_object *got = NULL, *want = NULL;
        if (rec->kind == K_INSTANCE) {
            ref_t cls = refs_of(&M, id)[0];
            want = ref_ptr(&M, refs_of(&M, cls)[3]);
            got = rm_call_method(rec->ptr, "tag", NULL, 0);
            if (!rm_is_instance_of(rec->ptr, ref_ptr(&M, cls))) {
                faults++;
                check_fail("%s: rm_is_instance_of(%s, its class) is false", what, describe(&M, id));
            }
        } else if (rec->kind == K_FUNCTION) {
            ref_t closure = refs_of(&M, id)[2];
            want = closure == REF_NULL ? rm_none : ref_ptr(&M, closure);
            got = rm_call(rec->ptr, NULL, 0);
        } else if (rec->kind == K_METHOD) {
            ref_t self = refs_of(&M, id)[1], fn = refs_of(&M, id)[0];
            if (fn < 0 || M.recs[fn].kind != K_FUNCTION) {
                /* Its function was mapped to None/True/False: the call is
                   refused with a TypeError, not made. */
                done++;
                rm_error_clear();
                got = rm_call(rec->ptr, NULL, 0);
                if (got || rm_error_occurred() != RM_ERR_TYPE) {
                    faults++;
                    check_fail("%s: calling %s, whose function is %s, returned %p (error: %s)", what, describe(&M, id),
                               describe(&M, fn), (void *)got, rm_error_message());
                }
                rm_error_clear();
                continue;
            }
            if (self >= 0 && M.recs[self].kind == K_FUNCTION) {
                ref_t closure = refs_of(&M, self)[2];
                want = closure == REF_NULL ? rm_none : ref_ptr(&M, closure);
            } else {
                want = ref_ptr(&M, self);
            }
            got = rm_call(rec->ptr, NULL, 0);
        } else {
            continue;
        }
        done++;
        if (got != want) {
            faults++;
            check_fail("%s: calling %s returned %p, expected %p%s%s", what, describe(&M, id), (void *)got, (void *)want,
                       got ? "" : ": ", got ? "" : rm_error_message());
            rm_error_clear();
        }
    }
    return faults;
}

/* Probes the mapping API's refusals and lookups. */
static void check_mapping_api(rm_mapping *map, const plan *p) {
    check_begin("round %d: mapping API", round_no);
    if (rm_mapping_count(map) != p->n) check_fail("rm_mapping_count %zu, expected %zu", rm_mapping_count(map), p->n);
    for (size_t i = 0; i < p->n; i++) {
        rm_object *got = rm_mapping_lookup(map, ref_ptr(&M, p->pairs[i].old));
        if (got != ref_ptr(&M, p->pairs[i].new_))
            check_fail("rm_mapping_lookup(%s) = %p, expected %s", describe(&M, p->pairs[i].old), (void *)got,
                       describe(&M, p->pairs[i].new_));
    }
    if (p->n) {
        rm_object *dup = ref_ptr(&M, p->pairs[0].old);
        if (rm_mapping_add(map, dup, dup) != -1 || rm_error_occurred() != RM_ERR_VALUE)
            check_fail("rm_mapping_add accepted an old object twice");
        rm_error_clear();
    }
    if (rm_mapping_add(map, rm_none, ref_ptr(&M, p->n ? p->pairs[0].new_ : REF_NONE)) != -1)
        check_fail("rm_mapping_add accepted None as an old object");
    rm_error_clear();
    if (rm_mapping_add(map, (rm_object *)&rm_int_type, rm_none) != -1)
        check_fail("rm_mapping_add accepted a static type as an old object");
    rm_error_clear();
    ref_t free_obj = pick_live(&M, &R, -1, true);
    if (free_obj >= 0) {
        if (rm_mapping_add(map, ref_ptr(&M, free_obj), NULL) != -1) check_fail("rm_mapping_add accepted a NULL new object");
        rm_error_clear();
        if (rm_mapping_lookup(map, ref_ptr(&M, free_obj)))
            check_fail("rm_mapping_lookup finds %s, which is not mapped", describe(&M, free_obj));
    }
    if (rm_mapping_count(map) != p->n) check_fail("refused pairs changed rm_mapping_count to %zu", rm_mapping_count(map));
    check_end();
}

/* Records reachable through the mapping stay live: the mapping is a root
   (it keeps old and new objects alive until it is freed). */
static size_t reckon_with_plan(const plan *p) {
    size_t added = 0;
    for (size_t i = 0; i < p->n; i++) {
        handle_add(&M, p->pairs[i].old, false);
        handle_add(&M, p->pairs[i].new_, false);
        added += 2;
    }
    size_t live = reckon_live(&M);
    for (size_t i = 0; i < added; i++) {
        M.nhandles--;
        rm_handle_free(M.handles[M.nhandles].h);
    }
    return live;
}

/*
** One remap: `p` holds the pairs (old objects flagged RF_MAPPED), `map` the
** runtime mapping of the same pairs. Snapshots, remaps, checks everything,
** rehashes the listed tables and checks again. Returns false if the heap
** diverged from the model.
*/
static bool remap_step(plan *p, rm_mapping *map, const char *label) {
    size_t faults = 0;
    char what[96];
    snprintf(what, sizeof what, "round %d (%s)", round_no, label);
    step_label = label;
    unsigned options = 0;
    unsigned roll = (unsigned)rng_below(&R, 100);
    if (roll >= 60) options |= RM_REMAP_SINGLE_THREAD * rng_chance(&R, 50);
    if (roll >= 70) options |= RM_REMAP_KEEP_HASHES * rng_chance(&R, 50);
    if (roll >= 85) options |= RM_REMAP_NO_INSTANCES;
    rm_set_walk_threads(1 + (unsigned)rng_below(&R, 4));

    /* The addresses f maps, and the hashes before. */
    ptrmap f;
    ptrmap_init(&f, p->n);
    for (size_t i = 0; i < p->n; i++) {
        pair *q = &p->pairs[i];
        ptrmap_put(&f, ref_ptr(&M, q->old), ref_ptr(&M, q->new_));
        q->old_hash = M.recs[q->old].ptr->ob_hash;
        q->new_hash = ref_ptr(&M, q->new_)->ob_hash;
    }

    /* Exact registry, model of what is live, snapshot. */
    reckon_with_plan(p);
    rm_collect();
    build_recmap();
    S.n = 0;
    S.f = &f;
    S.after = false;
    S.new_objects = S.bad_types = S.leaves_seen = S.nmismatch = 0;
    rm_heap_each(snapshot_before, &S);
    snapshot_index(&S);
    size_t handles_changed = 0;
    for (size_t i = 0; i < M.nhandles; i++) {
        ref_t t = M.handles[i].target;
        handles_changed += fref(t) != t;
    }
    mark_tables();
    size_t handle_count = rm_handle_count();
    if (handle_count != M.nhandles) {
        check_begin("%s: handle count", what);
        check_fail("rm_handle_count() %zu, the program holds %zu", handle_count, M.nhandles);
        check_end();
    }

    /* The remap. */
    rm_remap_report rep;
    int rc = rm_remap_ex(map, options, &rep);
    check_begin("%s: rm_remap_ex(%zu pairs, %s)", what, p->n, options_label(options));
    if (rc != 0) check_fail("rm_remap_ex returned %d: %s", rc, rm_error_message());
    check_end();
    if (rc != 0) {
        ptrmap_free(&f);
        return false;
    }

    /* Every slot of every object: after == f(before). */
    check_begin("%s: every heap slot is f(its value before)", what);
    S.after = true;
    rm_heap_each(snapshot_after, &S);
    explain_mismatches(&S);
    if (S.nmismatch || S.bad_types) faults++;
    if (S.new_objects) check_fail("%zu objects appeared during the remap", S.new_objects);
    expect x;
    memset(&x, 0, sizeof x);
    x.handles = handles_changed;
    for (size_t i = 0; i < S.n; i++) {
        snap *e = &S.e[i];
        if (!(e->flags & S_SEEN)) {
            ref_t id = record_of(e->obj);
            if (id >= 0) {
                faults++;
                check_fail("live %s is no longer visited by rm_heap_each", describe(&M, id));
            }
            continue;
        }
        x.objects++;
        x.slots += e->changed;
        x.nslots_total += e->nslots;
        if (e->tindex == T_INSTANCE) {
            x.inst_touched += e->changed != 0;
            x.inst_slots += e->changed;
            x.instances += (e->flags & S_CLASSMAPPED) != 0;
        } else if (e->changed) {
            x.type_objects[e->tindex]++;
            x.type_slots[e->tindex] += e->changed;
        }
    }
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        /* Interned names are immortal, outside the heap. */
        if ((rec->flags & RF_LIVE) && !(rec->flags & RF_SEEN) && rm_is_heap_object(rec->ptr)) {
            faults++;
            check_fail("live %s was not visited by rm_heap_each after the remap", describe(&M, (ref_t)i));
        }
    }
    check_end();

    /* Handles, then the model with f applied (tables not yet rehashed). */
    check_begin("%s: handles are f(their value before)", what);
    for (size_t i = 0; i < M.nhandles; i++) {
        rm_object *before = ref_ptr(&M, M.handles[i].target);
        rm_object *got = rm_handle_get(M.handles[i].h);
        if (got != apply(&f, before)) {
            faults++;
            check_fail("handle %zu holds %p, expected f(%s) = %p", i, (void *)got, describe(&M, M.handles[i].target),
                       (void *)apply(&f, before));
        }
    }
    check_end();
    check_report(&rep, &x, handle_count);
    check_instances(&rep, &x, options);
    check_hashes(p, options);

    apply_to_model();
    check_begin("%s: model with f applied once", what);
    faults += check_all_records(what);
    check_end();
    check_tables_listed(&rep);

    /* Rehash what the report lists; merge equal keys in the model. */
    check_begin("%s: rehash of %zu listed tables", what, rep.ntables);
    size_t collisions = 0;
    for (size_t i = 0; i < rep.ntables; i++) {
        rm_object *t = rep.tables[i];
        int r = RM_IS(t, rm_dict_type) ? rm_dict_rehash(t, &collisions) : rm_set_rehash(t, &collisions);
        if (r != 0) {
            faults++;
            check_fail("rehash of table %p failed: %s", (void *)t, rm_error_message());
            /* Show the table's tuple keys: a failed rehash is mostly an
               unhashable or cyclic key. */
            ref_t tid = record_of(t);
            record *tr = tid >= 0 ? &M.recs[tid] : NULL;
            for (uint32_t k = 0; tr && k < tr->nrefs; k += tr->kind == K_DICT ? 2 : 1) {
                ref_t key = M.pool[tr->refs + k];
                if (key < 0 || M.recs[key].kind != K_TUPLE) continue;
                check_fail("  key %s (hashable in the model: %s)", describe(&M, key), ref_hashable(&M, key) ? "yes" : "no");
                for (uint32_t j = 0; j < M.recs[key].nrefs; j++)
                    check_fail("    item %u: %s", j, describe(&M, M.pool[M.recs[key].refs + j]));
            }
        }
    }
    size_t merged = 0;
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if ((rec->flags & RF_LIVE) && (rec->kind == K_DICT || rec->kind == K_SET)) merged += model_table_merge(&M, (ref_t)i);
    }
    if (collisions != merged)
        check_fail("rehash merged %zu entries, the model merged %zu (keys that became equal)", collisions, merged);
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if ((rec->flags & RF_LIVE) && (rec->kind == K_DICT || rec->kind == K_SET))
            faults += check_record(&M, (ref_t)i, what);
    }
    faults += check_lookups(what);
    check_end();

    check_begin("%s: rm_heap_check after rehash", what);
    if (rm_heap_check() != 0) {
        faults++;
        check_fail("rm_heap_check: %s", rm_error_message());
        rm_error_clear();
    }
    check_end();

    check_begin("%s: calls through remapped classes and functions", what);
    faults += check_calls(what);
    check_end();

    rm_report_clear(&rep);
    check_begin("%s: rm_report_clear", what);
    if (rep.tables || rep.instances || rep.ntables || rep.ninstances) check_fail("the report still lists objects");
    check_end();

    for (size_t i = 0; i < p->n; i++) M.recs[p->pairs[i].old].flags &= (uint16_t)~RF_MAPPED;
    ptrmap_free(&f);
    return faults == 0;
}

/* ---- Rounds ---- */

static rm_mapping *mapping_of(const plan *p) {
    rm_mapping *map = rm_mapping_new();
    if (!map) fatal("rm_mapping_new failed: %s", rm_error_message());
    /* In a random order, so chains and swaps are added both ways round. */
    size_t *order = malloc((p->n + 1) * sizeof *order);
    if (!order) fatal("out of memory");
    for (size_t i = 0; i < p->n; i++) order[i] = i;
    for (size_t i = p->n; i > 1; i--) {
        size_t j = rng_below(&R, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < p->n; i++) {
        const pair *q = &p->pairs[order[i]];
        if (rm_mapping_add(map, ref_ptr(&M, q->old), ref_ptr(&M, q->new_)) != 0)
            fatal("rm_mapping_add(%s, %s) failed: %s", describe(&M, q->old), describe(&M, q->new_), rm_error_message());
    }
    free(order);
    return map;
}

/* Rolls the round's remap back with rm_mapping_inverse (injective plans). */
static bool rollback(plan *p, rm_mapping *map) {
    rm_mapping *inv = rm_mapping_inverse(map);
    check_begin("round %d: rm_mapping_inverse (%s mapping)", round_no, p->injective ? "injective" : "many-to-one");
    if (!p->injective) {
        if (inv) check_fail("the inverse of a many-to-one mapping was built");
        rm_error_clear();
        check_end();
        rm_mapping_free(inv);
        return true;
    }
    if (!inv) {
        check_fail("rm_mapping_inverse failed: %s", rm_error_message());
        check_end();
        return true;
    }
    plan back = {.n = p->n, .cap = p->n, .injective = true};
    back.pairs = malloc((p->n + 1) * sizeof *back.pairs);
    if (!back.pairs) fatal("out of memory");
    for (size_t i = 0; i < p->n; i++) {
        back.pairs[i] = (pair){.old = p->pairs[i].new_, .new_ = p->pairs[i].old};
        M.recs[back.pairs[i].old].flags |= RF_MAPPED;
        M.recs[back.pairs[i].old].map_to = back.pairs[i].new_;
        if (rm_mapping_lookup(inv, ref_ptr(&M, p->pairs[i].new_)) != ref_ptr(&M, p->pairs[i].old))
            check_fail("inverse maps %s to %p, expected %s", describe(&M, p->pairs[i].new_),
                       (void *)rm_mapping_lookup(inv, ref_ptr(&M, p->pairs[i].new_)), describe(&M, p->pairs[i].old));
    }
    if (rm_mapping_count(inv) != p->n) check_fail("inverse has %zu pairs, expected %zu", rm_mapping_count(inv), p->n);
    check_end();
    bool ok = remap_step(&back, inv, "rollback");
    rm_mapping_free(inv);
    free(back.pairs);
    return ok;
}

/* Liveness over the whole run: capsules and weak targets that became
   unreachable, finalizers that ran and weakrefs seen cleared. A
   conservative collector may keep any one object, not all of them. */
static size_t dead_capsules, finalizers_ran, dead_weak_targets, weak_cleared;

static void count_liveness(bool before) {
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (before) {
            rec->flags = (uint16_t)((rec->flags & ~RF_WASLIVE) | ((rec->flags & RF_LIVE) ? RF_WASLIVE : 0));
            continue;
        }
        if (rec->kind == K_CAPSULE && (rec->flags & RF_WASLIVE) && !(rec->flags & RF_LIVE)) dead_capsules++;
        if (rec->kind == K_WEAKREF && (rec->flags & RF_LIVE) && (rec->flags & RF_CLEARED)) weak_cleared++;
    }
}

/* Drops a part of the roots, collects, and checks that everything still
   reachable is intact and that capsule finalizers ran at most once. */
static bool drop_and_collect(void) {
    for (size_t i = M.nhandles; i-- > 0;)
        if (rng_chance(&R, DROP_PERCENT)) handle_drop(&M, i);
    rm_collect();
    size_t weak_gone_before = 0, weak_gone_after = 0;
    for (size_t i = 0; i < M.nrecs; i++)
        if ((M.recs[i].flags & RF_LIVE) && M.recs[i].kind == K_WEAKREF && refs_of(&M, (ref_t)i)[0] == REF_GONE) weak_gone_before++;
    count_liveness(true);
    size_t live = reckon_live(&M);
    count_liveness(false);
    for (size_t i = 0; i < M.nrecs; i++)
        if ((M.recs[i].flags & RF_LIVE) && M.recs[i].kind == K_WEAKREF && refs_of(&M, (ref_t)i)[0] == REF_GONE) weak_gone_after++;
    if (weak_gone_after > weak_gone_before) dead_weak_targets += weak_gone_after - weak_gone_before;
    char what[64];
    snprintf(what, sizeof what, "round %d (after collection)", round_no);
    check_begin("%s: %zu reachable records intact", what, live);
    size_t faults = check_all_records(what);
    if (capsule_bad_finalizer_calls()) check_fail("%zu finalizer calls with an unknown pointer or repeated", capsule_bad_finalizer_calls());
    check_end();
    check_begin("%s: rm_heap_check", what);
    if (rm_heap_check() != 0) {
        faults++;
        check_fail("rm_heap_check: %s", rm_error_message());
        rm_error_clear();
    }
    check_end();
    compact(&M);
    return faults == 0;
}

/*
** The rounds (see the top of this file). A round whose checks found the heap
** diverged from the model ends the run: later rounds would start from a
** model that no longer describes the heap. Failures of the report's figures
** alone do not stop it.
*/
int run_single(void) {
    R.state = opt.seed;
    memset(&M, 0, sizeof M);
    M.next_cid = 1000;
    rm_acquire();
    for (round_no = 1; round_no <= (int)opt.rounds && !diverged; round_no++) {
        /* --objects counts the objects this program made; the runtime's
           own (names, attribute dicts) come on top. */
        size_t have = 0;
        for (size_t i = 0; i < M.nrecs; i++) have += (M.recs[i].flags & (RF_LIVE | RF_ADOPTED)) == RF_LIVE;
        if (have < opt.objects) build_cluster(&M, &R, opt.objects - have);
        mutate(&M, &R, opt.objects / 50 + 1);
        reckon_live(&M);

        size_t want = M.live / 200;
        want = want < MIN_PAIRS ? MIN_PAIRS : want > MAX_PAIRS ? MAX_PAIRS : want;
        plan p = {0};
        bool rollback_round = round_no % 3 == 0;
        plan_mapping(&p, want, rollback_round && rng_chance(&R, 90));
        rm_mapping *map = mapping_of(&p);
        check_mapping_api(map, &p);
        size_t swaps = 0, chains = 0;
        for (size_t i = 0; i < p.n; i++) {
            ref_t n = p.pairs[i].new_;
            if (n < 0 || !(M.recs[n].flags & RF_MAPPED)) continue;
            if (M.recs[n].map_to == p.pairs[i].old) swaps++;
            else chains++;
        }
        say("round %d: %zu live records, %zu handles, remapping %zu pairs (%zu in swaps, %zu chain links)%s", round_no,
            M.live, M.nhandles, p.n, swaps, chains, p.injective ? "" : ", many-to-one");
        if (!remap_step(&p, map, "remap")) diverged = true;
        if (!diverged && rollback_round && !rollback(&p, map)) diverged = true;
        rm_mapping_free(map);
        free(p.pairs);
        if (!diverged && !drop_and_collect()) diverged = true;
    }
    if (!diverged) {
        /* One more collection: what died in the last round gets its chance. */
        rm_collect();
        reckon_live(&M);
        check_begin("run: collections reclaim (liveness)");
        weak_cleared = 0;
        for (size_t i = 0; i < M.nrecs; i++) {
            if (!(M.recs[i].flags & RF_LIVE) || M.recs[i].kind != K_WEAKREF) continue;
            check_record(&M, (ref_t)i, "final collection");
            weak_cleared += (M.recs[i].flags & RF_CLEARED) != 0;
        }
        finalizers_ran = capsule_finalizer_calls();
        if (dead_capsules >= 50 && finalizers_ran == 0)
            check_fail("%zu capsules became unreachable, no finalizer ever ran", dead_capsules);
        if (dead_weak_targets >= 50 && weak_cleared == 0)
            check_fail("%zu weak targets became unreachable, no live weakref was ever cleared", dead_weak_targets);
        check_end();
        say("liveness: %zu capsules dropped, %zu finalized; %zu weak targets dropped, %zu live weakrefs cleared",
            dead_capsules, finalizers_ran, dead_weak_targets, weak_cleared);
    }
    rm_release();
    return checks_failed() ? 1 : 0;
}
