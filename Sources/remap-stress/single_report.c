/*
** single_report.c: the remap report against the snapshot: counters,
** per-type lines, the listed instances and tables, and the identity hashes
** handed from old to new objects.
*/
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- One remap step ---- */

const char *options_label(unsigned o) {
    static char buf[96];
    snprintf(buf, sizeof buf, "%s%s%s%s", o ? "" : "default", o & RM_REMAP_KEEP_HASHES ? " KEEP_HASHES" : "",
             o & RM_REMAP_NO_INSTANCES ? " NO_INSTANCES" : "", o & RM_REMAP_SINGLE_THREAD ? " SINGLE_THREAD" : "");
    return buf;
}

/* Before the remap: clears the scratch flags and marks every live dict and
   set record one of whose key slots f changes (it must be listed). */
void mark_tables(void) {
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
const char *step_label = "remap";

/*
** The report's figures against the snapshot's: heap slots rewritten (the
** type slots of instances and weakref targets included, handles apart),
** handles, objects with references, per built-in type (objects with a
** rewritten slot, and slots), instances apart. A type line "NULL" (every
** other type) is only expected past RM_REPORT_TYPES types; where one is
** present, the per-type figures are not compared, their sum still is.
*/
void check_report(const rm_remap_report *rep, const expect *x, size_t handle_count) {
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
void check_instances(const rm_remap_report *rep, const expect *x, unsigned options) {
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
void check_tables_listed(const rm_remap_report *rep) {
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
void check_hashes(const plan *p, unsigned options) {
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
