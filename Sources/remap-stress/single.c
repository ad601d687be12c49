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
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pairs in a round's mapping: the design's "tens to thousands". */
#define MIN_PAIRS 8
#define MAX_PAIRS 4000
/* Fraction of root and value handles dropped each round, in percent. */
#define DROP_PERCENT 25

/* The round's state, shared with single_*.c (single.h). */
model M;
rng R;
int round_no;
/* Set when the heap and the model disagree: later rounds would only
   report the same divergence again, so the run stops after this round. */
bool diverged;

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
    faults += check_heap(what, "");
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
