/*
** remap.c: the in-place remap walk's driver (rm_remap, rm_remap_ex and
** rm_remap_run); one walker thread's work is in remap_walk.c.
**
** One pass over the registry of live container objects (heap.c) and the
** handle table, rewriting every slot whose value is an old object of the
** mapping. Leaves (str, int, float, capsule) are skipped: they hold no
** reference but an immortal type, which can never be mapped.
**
** Order of a remap:
**   1. build the probe tables and make room for the report, before any slot
**      is touched: after that nothing can fail;
**   2. with collections disabled (so the registry is not compacted under the
**      walk and no listed object is freed), split the registry in chunks
**      among the walker threads (remap_walk.c); each rewrites slots and
**      collects its own counts and lists;
**   3. on the calling thread: the handles, the tables whose tuple or
**      bound-method keys hold a new object, the identity hashes handed
**      from old to new objects, the merge of the per-thread results
**      (walk_results.c).
** The mapping is applied once, simultaneously: a slot holding a becomes
** f(a), never f(f(a)).
*/
#include "walk.h"
#include "struct.h"

#include <time.h>

int rm_remap(const rm_mapping *m, rm_remap_report *report) { return rm_remap_ex(m, 0, report); }

/* A plain remap retypes instances without migrating them: a struct class
   may only be mapped to one with the same field table (a reload converts
   the others, struct_reload.c). */
static int check_struct_pairs(const rm_mapping *m) {
    for (size_t i = 0; i < m->count; i++) {
        if (!rm_is_class(m->olds[i]) || !rm_is_class(m->news[i])) continue;
        if (!rm_struct_same_layout((rm_type *)m->olds[i], (rm_type *)m->news[i])) {
            rm_error_set(RM_ERR_VALUE, "cannot remap class %s to %s: their instances' layouts differ (a struct class "
                         "changes layout in a reload, which converts its instances)",
                         rm_type_name((rm_type *)m->olds[i]), rm_type_name((rm_type *)m->news[i]));
            return -1;
        }
    }
    return 0;
}

/*
** A mapping must not make a class its own ancestor: with B -> X where X
** derives from B, X's base slot would be rewritten to X, and every lookup
** through X would loop forever (remap-stress found it, seed
** 8077630902545140012). Any such cycle passes through a rewritten base
** slot, so through a class the mapping maps to: follow each one's bases as
** they will be after the walk. A chain longer than any real one is taken
** for a cycle. Checked before anything is rewritten.
*/
#define RM_MAX_CLASS_DEPTH 10000

int rm_mapping_check_bases(const rm_mapping *m) {
    for (size_t i = 0; i < m->count; i++) {
        rm_object *target = m->news[i];
        if (!rm_is_class(target)) continue;
        rm_object *c = target;
        for (size_t depth = 0; c; depth++) {
            rm_object *base = ((rm_type *)c)->cls_base;
            rm_object *mapped = base ? rm_mapping_lookup(m, base) : NULL;
            c = mapped ? mapped : base;
            if (c == target || depth == RM_MAX_CLASS_DEPTH) {
                rm_error_set(RM_ERR_VALUE, "remap refused: class %s would become its own base (a class mapped to "
                             "one that derives from it)", rm_type_name((rm_type *)target));
                return -1;
            }
        }
    }
    return 0;
}

/* Tuples seen by one search: open addressing on addresses, grown at half full. */
typedef struct seen_set {
    uintptr_t *slots;
    size_t mask, count;
} seen_set;

/* 1 if added, 0 if it was there, -1 out of memory. */
static int seen_add(seen_set *s, uintptr_t p) {
    if (2 * (s->count + 1) > s->mask + 1) {
        size_t n = s->mask ? 2 * (s->mask + 1) : 64;
        uintptr_t *grown = calloc(n, sizeof *grown);
        if (!grown) return -1;
        for (size_t i = 0; s->mask && i <= s->mask; i++) {
            if (!s->slots[i]) continue;
            size_t j = (s->slots[i] >> 4) & (n - 1);
            while (grown[j]) j = (j + 1) & (n - 1);
            grown[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = grown;
        s->mask = n - 1;
    }
    size_t j = (p >> 4) & s->mask;
    for (; s->slots[j]; j = (j + 1) & s->mask)
        if (s->slots[j] == p) return 0;
    s->slots[j] = p;
    s->count++;
    return 1;
}

/*
** Nor may a mapping make a tuple contain itself (a tuple mapped from an
** item of a tuple it holds): hashing or comparing it would recurse forever.
** Tuples are immutable and acyclic before the walk, so such a cycle runs
** through a rewritten item, that is through a tuple the mapping maps to:
** search each one's items, as the walk will leave them, for itself.
*/
static int check_tuple_cycles(const rm_mapping *m) {
    seen_set seen = {0};
    rm_object **stack = NULL;
    size_t top = 0, capacity = 0;
    int rc = 0;
    for (size_t i = 0; i < m->count && rc == 0; i++) {
        rm_object *target = m->news[i];
        if (!rm_is_heap_object(target) || !rm_is_tuple(target)) continue;
        if (seen.slots) memset(seen.slots, 0, (seen.mask + 1) * sizeof *seen.slots);
        seen.count = 0;
        top = 0;
        rm_object *t = target;
        for (;;) {
            for (size_t k = 0; k < rm_tuple_size(t); k++) {
                rm_object *item = rm_tuple_get(t, k), *mapped = item ? rm_mapping_lookup(m, item) : NULL;
                if (mapped) item = mapped;
                if (!item || !rm_is_heap_object(item) || !rm_is_tuple(item)) continue;
                if (item == target) {
                    rm_error_set(RM_ERR_VALUE, "remap refused: a tuple would contain itself (a tuple mapped from "
                                 "an item of a tuple it holds)");
                    rc = -1;
                    break;
                }
                int added = seen_add(&seen, (uintptr_t)item);
                if (added == 0) continue;
                if (added > 0 && top == capacity) {
                    size_t n = capacity ? 2 * capacity : 64;
                    rm_object **grown = realloc(stack, n * sizeof *grown);
                    if (grown) stack = grown, capacity = n;
                }
                if (added < 0 || top == capacity) {
                    rm_error_set(RM_ERR_MEMORY, "out of memory checking the mapping; nothing was rewritten");
                    rc = -1;
                    break;
                }
                stack[top++] = item;
            }
            if (rc < 0 || top == 0) break;
            t = stack[--top];
        }
    }
    free(seen.slots);
    free(stack);
    return rc;
}

int rm_mapping_check_cycles(const rm_mapping *m) {
    return rm_mapping_check_bases(m) < 0 ? -1 : check_tuple_cycles(m);
}

int rm_remap_ex(const rm_mapping *m, unsigned options, rm_remap_report *report) {
    if (rm_mapping_check_cycles(m) < 0 || check_struct_pairs(m) < 0) {
        memset(report, 0, sizeof *report);
        return -1;
    }
    return rm_remap_run(m, &m->probe, options & ~RM_REMAP_UNDO_WALK, report, NULL, NULL);
}

/*
** The registry's last entries when they are the moved struct instances'
** new ones (rm_struct_plan_moves allocated them last, in the mapping's
** order; a collection since keeps the order, and they are alive): their
** walkers fill them from the old ones, so the walk need not visit them.
** 0 when anything else was registered after them.
*/
static size_t moved_tail(const rm_mapping *m) {
    size_t n = m ? m->moves : 0;
    if (!n || rm_live.count < n) return 0;
    size_t at = rm_live.count - n;
    if (RM_REVEAL(rm_live.items[at]) != m->news[m->count - n] ||
        RM_REVEAL(rm_live.items[rm_live.count - 1]) != m->news[m->count - 1])
        return 0;
    return n;
}

/* Walkers of an undo walk live on the stack: it must not allocate. */

/*
** The walk behind rm_remap_ex, rm_txn_remap and the transaction's undo.
** `probe` maps old -> new; its values may be tagged RM_TAG_LOG, and then
** `logs` (one per walker, RM_MAX_WALKERS of them) receive those rewrites.
** RM_REMAP_UNDO_WALK: no report lists, no hash hand-over, nothing
** allocated; the report gets the counts only. `plans` (a transaction's
** forward walk): instances of planned classes are migrated and listed in
** their plans instead of the report; in an undo walk, the instances the
** forward walk migrated without listing them go back to their layouts.
*/
int rm_remap_run(const rm_mapping *m, const rm_probe *probe, unsigned options, rm_remap_report *report,
                 rm_undo_log *logs, rm_plans *plans) {
    rm_debug_check_lock();
    memset(report, 0, sizeof *report);
    double t0 = rm_now_seconds();
    const bool undo = (options & RM_REMAP_UNDO_WALK) != 0;
    if (undo) options |= RM_REMAP_KEEP_HASHES | RM_REMAP_NO_INSTANCES;

    /* 1. Everything that can fail. */
    rm_probe changed = {.lo = UINTPTR_MAX}, news = {.lo = UINTPTR_MAX};
    uint32_t *hashes = NULL;
    walker local[RM_UNDO_WALKERS];
    walker *ws = NULL;
    bool keep = (options & RM_REMAP_KEEP_HASHES) != 0;
    /* Moved struct instances (the last m->moves pairs) have their old
       identity hash already, and a tuple key holding one hashes the same:
       neither list needs them. */
    size_t plain = undo ? 0 : m->count - m->moves;
    if (!undo) {
        hashes = malloc((plain ? plain : 1) * sizeof *hashes);
        if (!hashes || rm_probe_init(&changed, plain) < 0 || rm_probe_init(&news, plain) < 0) goto out_of_memory;
        for (size_t i = 0; i < plain; i++) {
            rm_object *old_obj = m->olds[i], *new_obj = m->news[i];
            hashes[i] = old_obj->ob_hash;
            /* Every target, immortal ones too: a tuple key that now holds None
               instead of an old object has a new hash all the same. */
            if (!rm_probe_get(&news, new_obj)) rm_probe_put(&news, new_obj, new_obj);
            if (!keep && rm_walk_hands_over_hash(old_obj, new_obj) && old_obj->ob_hash != new_obj->ob_hash &&
                !rm_probe_get(&changed, new_obj))
                rm_probe_put(&changed, new_obj, new_obj);
        }
    }
    unsigned nw = (options & RM_REMAP_SINGLE_THREAD) ? 1 : rm_walk_threads;
    if (rm_live.count < 2 * RM_WALK_CHUNK) nw = 1;
    if (nw > RM_MAX_WALKERS) nw = RM_MAX_WALKERS;
    if (undo) {
        if (nw > RM_UNDO_WALKERS) nw = RM_UNDO_WALKERS;
        memset(local, 0, nw * sizeof *local);
        ws = local;
        for (unsigned k = 0; plans && k < nw; k++) {
            ws[k].undo_plans = plans;
            ws[k].scratch = plans->scratch + k * (plans->max_fields ? plans->max_fields : 1);
        }
    } else if (!(ws = calloc(nw, sizeof *ws))) {
        goto out_of_memory;
    }
    if (plans && !plans->count) plans = NULL;
    if (plans && !undo && rm_walk_alloc_plan_work(ws, nw, plans) < 0) {
        rm_walk_end_plan_work(ws, nw, plans, false);
        free(ws);
        goto out_of_memory;
    }

    /* 2. The walk. */
    GC_disable();
    /* An undo walk visits only what existed before the transaction:
       objects made since are not part of the old world, and rewriting them
       would hand old objects to garbage that other walks still read (dead
       classes in the class registry, until the next collection). */
    rm_walk_registry(rm_live.items, undo ? rm_heap_txn_mark() : rm_live.count - moved_tail(m));
    for (unsigned k = 0; k < nw; k++) {
        if (!undo) {
            ws[k].instances = rm_spare_instances[k];
            ws[k].instances.count = 0;
            ws[k].instances.failed = false;
            rm_spare_instances[k] = (objvec){0};
        }
        ws[k].olds = probe;
        ws[k].changed = &changed;
        ws[k].list_instances = !(options & RM_REMAP_NO_INSTANCES);
        ws[k].list_tables = !undo;
        ws[k].log = logs ? &logs[k] : NULL;
        ws[k].plans = ws[k].plan_work ? plans : NULL;
    }
    unsigned started = 1;
    for (unsigned k = 1; k < nw; k++) {
        if (pthread_create(&ws[k].thread, NULL, rm_walk_thread, &ws[k]) != 0) break;
        started++;
    }
    rm_walk_thread(&ws[0]); /* also takes the chunks of helpers that did not start */
    for (unsigned k = 1; k < started; k++) pthread_join(ws[k].thread, NULL);

    /* 3. Handles, dependent tables, hashes, results. */
    walker *w0 = &ws[0];
    size_t before = w0->rewritten, slots_before = w0->slots;
    rm_handles_each(rm_walk_slot_visitor, w0);
    report->handles_rewritten = w0->rewritten - before;
    /* slots_visited and slots_rewritten count heap slots only. */
    w0->rewritten = before;
    w0->slots = slots_before;
    report->handles_visited = rm_handle_count();
    for (unsigned k = 0; k < nw && !undo; k++) {
        for (size_t i = 0; i < ws[k].composite.count; i++) {
            rm_table_object *t = (rm_table_object *)ws[k].composite.items[i];
            if (rm_walk_key_holds_new_in(&news, t)) objvec_push(&ws[k].tables, (rm_object *)t);
        }
    }
    if (!keep) {
        for (size_t i = 0; i < plain; i++)
            if (rm_walk_hands_over_hash(m->olds[i], m->news[i])) m->news[i]->ob_hash = hashes[i];
    }
    bool failed = false;
    objvec tables[RM_MAX_WALKERS], instances[RM_MAX_WALKERS];
    for (unsigned k = 0; k < nw; k++) {
        report->objects_visited += ws[k].objects;
        report->slots_visited += ws[k].slots;
        report->slots_rewritten += ws[k].rewritten;
        report->bytes_visited += ws[k].bytes;
        report->instances_touched += ws[k].instances_touched;
        report->instance_slots_rewritten += ws[k].instance_rewrites;
        failed |= ws[k].tables.failed || ws[k].instances.failed || (logs && logs[k].failed) || ws[k].lists_failed;
        tables[k] = ws[k].tables;
        instances[k] = ws[k].instances;
    }
    rm_walk_merge_types(report, ws, nw);
    if (!undo) {
        failed |= !rm_walk_report_list(tables, nw, &report->tables, &report->ntables, NULL);
        failed |= !rm_walk_report_list(instances, nw, &report->instances, &report->ninstances, &report->capacity_instances);
        ws[0].tables.items = tables[0].items;
        ws[0].instances = instances[0];
        if (ws[0].plan_work) rm_walk_end_plan_work(ws, nw, plans, true);
    }
    GC_enable();

    for (unsigned k = 0; k < nw && !undo; k++) {
        free(ws[k].tables.items);
        free(ws[k].composite.items);
        rm_spare_instances[k] = ws[k].instances; /* walker 0's is the report's, or NULL */
    }
    if (!undo) free(ws);
    free(hashes);
    rm_probe_free(&changed);
    rm_probe_free(&news);
    report->threads = nw;
    report->seconds = rm_now_seconds() - t0;
    /* Class slots and method dicts were rewritten in place. */
    rm_lookup_invalidate();
    if (failed) {
        /* The slots are rewritten (or, where the undo log could not grow,
           left as they were); the lists are incomplete. */
        rm_error_set(RM_ERR_MEMORY, "remap done, but out of memory for the report's lists or the undo log");
        return -1;
    }
    return 0;

out_of_memory:
    free(hashes);
    rm_probe_free(&changed);
    rm_probe_free(&news);
    rm_error_set(RM_ERR_MEMORY, "out of memory before the remap; nothing was rewritten");
    return -1;
}

