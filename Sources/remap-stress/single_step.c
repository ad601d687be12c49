/*
** single_step.c: one remap step of a round: snapshot, remap with random
** options, every check, rehash of the listed tables, and the checks again.
*/
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** One remap: `p` holds the pairs (old objects flagged RF_MAPPED), `map` the
** runtime mapping of the same pairs. Snapshots, remaps, checks everything,
** rehashes the listed tables and checks again. Returns false if the heap
** diverged from the model.
*/
bool remap_step(plan *p, rm_mapping *map, const char *label) {
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

    faults += check_heap(what, " after rehash");

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
