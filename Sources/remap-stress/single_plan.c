/*
** single_plan.c: drawing a round's random mapping (replacements, swaps,
** chains, many-to-one, table keys, classes with live instances) without
** tuple cycles, and the address maps it is applied with (f on addresses,
** address -> record).
*/
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Address map: old object -> new object ---- */

size_t ptr_slot(uintptr_t a, size_t mask) { return (size_t)(((a >> 4) * 0x9e3779b97f4a7c15ULL) >> 20) & mask; }

void ptrmap_init(ptrmap *p, size_t n) {
    size_t size = 16;
    while (size < 2 * n + 2) size *= 2;
    p->keys = calloc(size, sizeof *p->keys);
    p->vals = calloc(size, sizeof *p->vals);
    if (!p->keys || !p->vals) fatal("out of memory for an address map");
    p->mask = size - 1;
}

void ptrmap_free(ptrmap *p) {
    free(p->keys);
    free(p->vals);
}

void ptrmap_put(ptrmap *p, rm_object *k, rm_object *v) {
    uintptr_t a = (uintptr_t)k;
    size_t i = ptr_slot(a, p->mask);
    while (p->keys[i] && p->keys[i] != a) i = (i + 1) & p->mask;
    p->keys[i] = a;
    p->vals[i] = v;
}

rm_object *ptrmap_get(const ptrmap *p, rm_object *k) {
    uintptr_t a = (uintptr_t)k;
    if (!a) return NULL;
    for (size_t i = ptr_slot(a, p->mask);; i = (i + 1) & p->mask) {
        if (p->keys[i] == a) return p->vals[i];
        if (!p->keys[i]) return NULL;
    }
}

/* f applied once to an address. */
rm_object *apply(const ptrmap *f, rm_object *v) {
    rm_object *n = ptrmap_get(f, v);
    return n ? n : v;
}

/* Address -> record id for the live records (ids stored + 1 as pointers). */
static ptrmap recmap;

void build_recmap(void) {
    ptrmap_free(&recmap);
    ptrmap_init(&recmap, M.live + 16);
    for (size_t i = 0; i < M.nrecs; i++)
        if (M.recs[i].flags & RF_LIVE) ptrmap_put(&recmap, M.recs[i].ptr, (rm_object *)(uintptr_t)(i + 1));
}

ref_t record_of(rm_object *p) {
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
ref_t fref(ref_t r) {
    return (r >= 0 && (M.recs[r].flags & RF_MAPPED)) ? M.recs[r].map_to : r;
}

/* True if tuple `from` reaches tuple `target` through tuple items, with
   `f` (fref, or rref below) applied to every item. Iterative; `stamp`
   marks visited records. */
static bool tuple_reaches(ref_t from, ref_t target, ref_t (*f)(ref_t), uint32_t *visited, uint32_t stamp) {
    ref_t *stack = malloc((M.nrecs + 1) * sizeof *stack);
    if (!stack) fatal("out of memory");
    size_t top = 0;
    stack[top++] = from;
    bool found = false;
    while (top && !found) {
        ref_t id = stack[--top];
        record *rec = &M.recs[id];
        for (uint32_t i = 0; i < rec->nrefs; i++) {
            ref_t it = f(M.pool[rec->refs + i]);
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

/* Drops every pair of the plan whose new object is `n`, unmapping its old one. */
static void drop_pairs_to(plan *p, ref_t n) {
    size_t k = 0;
    for (size_t j = 0; j < p->n; j++) {
        if (p->pairs[j].new_ == n) M.recs[p->pairs[j].old].flags &= (uint16_t)~RF_MAPPED;
        else p->pairs[k++] = p->pairs[j];
    }
    p->n = k;
}

/*
** A remap can make a tuple contain itself: map a tuple to one that holds
** it. rm_remap refuses such a mapping (HeapTests checks it), so such pairs
** are taken out of the plan: the rounds test mappings that succeed. Before the remap tuples are acyclic
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
            if (n < 0 || M.recs[n].kind != K_TUPLE || !tuple_reaches(n, n, fref, visited, ++stamp)) continue;
            drop_pairs_to(p, n);
            again = true;
        }
    }
    free(visited);
}

/*
** A plan must not make a class its own ancestor (rm_remap refuses it: a
** class mapped to one that derives from it would get itself as base, and
** every lookup through it would loop forever; this seed found it:
** 8077630902545140012). Follow each new class's bases as the walk will
** leave them (fref); drop the pairs leading to a class that reaches itself,
** and repeat. RemapStressTests checks the refusal itself.
*/
static bool base_reaches_itself(ref_t cls, ref_t (*f)(ref_t)) {
    ref_t c = cls;
    for (size_t depth = 0; depth <= M.nrecs; depth++) {
        ref_t base = refs_of(&M, c)[1];
        c = base >= 0 ? f(base) : base;
        if (c < 0 || M.recs[c].kind != K_CLASS) return false;
        if (c == cls) return true;
    }
    return true;
}

static void drop_base_cycles(plan *p) {
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < p->n && !again; i++) {
            ref_t n = p->pairs[i].new_;
            if (n < 0 || M.recs[n].kind != K_CLASS || !base_reaches_itself(n, fref)) continue;
            drop_pairs_to(p, n);
            again = true;
        }
    }
}

/*
** A rollback round remaps the plan, then its inverse (rm_mapping_inverse),
** which does not restore everything: a slot that held a new object that is
** not itself mapped (say a tuple made before the round) is rewritten to
** the old object mapped to it. That can make a tuple contain itself, or a
** class its own base, which rm_remap refuses (remap-stress seed
** 205693025524496 hit the tuple case). rref is a slot's value after both
** remaps; the pairs whose old object would reach itself are dropped, and
** the forward filters run again (an old object no longer mapped may close
** a cycle of its own).
*/
static ref_t *inverse_of; /* new record -> the old one mapped to it, or -1 */

static ref_t rref(ref_t r) {
    if (r < 0 || (M.recs[r].flags & RF_MAPPED)) return r;
    return inverse_of[r] >= 0 ? inverse_of[r] : r;
}

static void drop_pair_from(plan *p, ref_t old) {
    size_t k = 0;
    for (size_t j = 0; j < p->n; j++) {
        if (p->pairs[j].old == old) M.recs[old].flags &= (uint16_t)~RF_MAPPED;
        else p->pairs[k++] = p->pairs[j];
    }
    p->n = k;
}

static bool drop_round_trip_cycles(plan *p) {
    uint32_t *visited = calloc(M.nrecs + 1, sizeof *visited);
    inverse_of = malloc((M.nrecs + 1) * sizeof *inverse_of);
    if (!visited || !inverse_of) fatal("out of memory");
    for (size_t r = 0; r <= M.nrecs; r++) inverse_of[r] = -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->pairs[i].new_ >= 0) inverse_of[p->pairs[i].new_] = p->pairs[i].old;
    uint32_t stamp = 0;
    bool dropped = false;
    for (size_t i = 0; i < p->n; i++) {
        ref_t o = p->pairs[i].old;
        bool cycle = (M.recs[o].kind == K_TUPLE && tuple_reaches(o, o, rref, visited, ++stamp)) ||
                     (M.recs[o].kind == K_CLASS && base_reaches_itself(o, rref));
        if (!cycle) continue;
        drop_pair_from(p, o);
        dropped = true;
        i = (size_t)-1; /* inverse_of is stale: start over */
        for (size_t r = 0; r <= M.nrecs; r++) inverse_of[r] = -1;
        for (size_t j = 0; j < p->n; j++)
            if (p->pairs[j].new_ >= 0) inverse_of[p->pairs[j].new_] = p->pairs[j].old;
    }
    free(visited);
    free(inverse_of);
    inverse_of = NULL;
    return dropped;
}

/*
** Draws `want` pairs (a little more: swaps and chains come in twos) in a new
** cluster that roots the new objects. Each old object is mapped once; a new
** object may be an old one too (swap, chain) or shared (many-to-one).
*/
void plan_mapping(plan *p, size_t want, bool injective) {
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
    drop_base_cycles(p);
    while (injective && drop_round_trip_cycles(p)) {
        drop_tuple_cycles(p);
        drop_base_cycles(p);
    }
    /* Which new objects are shared (their identity hash is ambiguous). */
    for (size_t i = 0; i < p->n; i++) {
        size_t uses = 0;
        for (size_t j = 0; j < p->n && uses < 2; j++) uses += p->pairs[j].new_ == p->pairs[i].new_;
        p->pairs[i].shared_new = uses > 1;
        /* An immortal new object cannot be an old one: no inverse either. */
        if (uses > 1 || p->pairs[i].new_ < 0) p->injective = false;
    }
}
