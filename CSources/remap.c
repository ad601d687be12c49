/*
** remap.c: the in-place remap walk.
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
**      among the walker threads; each rewrites slots and collects its own
**      counts and lists;
**   3. on the calling thread: the handles, the tables whose tuple keys hold
**      a new object, the identity hashes handed from old to new objects,
**      the merge of the per-thread results.
** Each slot is tested against the mapping from its address alone: the walk
** never reads the object a slot points to. The mapping is applied once,
** simultaneously: a slot holding a becomes f(a), never f(f(a)).
*/
#include "walk.h"

#include <time.h>

/* Shared by the walkers: the next chunk of the registry to take. */
static size_t next_chunk;
static size_t registry_count;
static uintptr_t *registry_items;

static type_line *type_line_for(walker *w, const rm_type *t) {
    /* Linear probing over the lines: called only for objects that had a slot
       rewritten, so a full search costs nothing the walk would notice. */
    size_t start = (size_t)((((uintptr_t)t >> 4) * 0x9e3779b97f4a7c15ULL) >> 58);
    for (size_t k = 0; k < TYPE_LINES; k++) {
        type_line *line = &w->types[(start + k) % TYPE_LINES];
        if (line->type == t) return line;
        if (!line->type) {
            line->type = t;
            return line;
        }
    }
    return &w->types[TYPE_LINES];
}

/*
** A probe value tagged RM_TAG_LOG is a target whose rewrites the
** transaction cannot undo by inverting the mapping (see txn.c): the slot's
** owner, its place and its old value go to the undo log first. Returns the
** untagged new object, or NULL if the log cannot grow: then the slot is
** left as it is and the walk reports the failure.
*/
static rm_object *log_rewrite(walker *w, rm_object *owner, uintptr_t where, rm_object *old, rm_object *tagged) {
    if (!w->log || rm_undo_push(w->log, owner, where, old) < 0) return NULL;
    return (rm_object *)((uintptr_t)tagged & ~RM_TAG_LOG);
}

/* Rewrites one slot if its value is mapped. Returns 1 if it did. Used by
   the paths that are not hot (tables, traverse functions, handles). */
static int remap_slot(walker *w, rm_object *owner, uintptr_t where, rm_object **slot) {
    rm_object *v = *slot;
    if (!v) return 0;
    w->slots++;
    rm_object *n = rm_probe_get(w->olds, v);
    if (n && ((uintptr_t)n & RM_TAG_LOG)) n = log_rewrite(w, owner, where, v, n);
    if (!n) return 0;
    *slot = n;
    return 1;
}

/* Visits a slot for a traverse function or the handle table (owner NULL):
   its place is its address. */
static int slot_visitor(rm_object **slot, void *arg) {
    walker *w = arg;
    w->rewritten += remap_slot(w, w->owner, RM_WHERE(RM_WHERE_ADDRESS, (uintptr_t)slot >> 2), slot);
    return 0;
}

/*
** The entries of a dict or set. A key slot that is rewritten, or that holds
** a new object whose identity hash is about to change, puts the table in
** the report. Tables with tuple keys are checked after the walk, when the
** tuples' items have been rewritten too. Returns the slots rewritten.
*/
static size_t remap_table(walker *w, rm_table_object *t) {
    size_t before = w->rewritten;
    bool listed = false;
    rm_object *owner = (rm_object *)t;
    for (size_t i = 0; i < t->used; i++) {
        rm_entry *e = &t->entries[i];
        if (!e->key) continue;
        if (remap_slot(w, owner, RM_WHERE(RM_WHERE_TABLE, 2 * i), &e->key)) {
            w->rewritten++;
            listed = true;
        } else if (w->changed->count && rm_probe_get(w->changed, e->key)) {
            listed = true;
        }
        w->rewritten += remap_slot(w, owner, RM_WHERE(RM_WHERE_TABLE, 2 * i + 1), &e->value);
    }
    if (!w->list_tables) {
        /* An undo walk: nothing to list. */
    } else if (listed) {
        objvec_push(&w->tables, (rm_object *)t);
    } else if (t->ob_flags & RM_FLAG_COMPOSITE_KEYS) {
        objvec_push(&w->composite, (rm_object *)t);
    }
    size_t n = w->rewritten - before;
    w->rewritten = before;
    return n;
}

static size_t remap_weakref(walker *w, rm_weakref_object *ref) {
    if (!ref->hidden) return 0;
    w->slots++;
    rm_object *target = rm_probe_get(w->olds, RM_REVEAL(ref->hidden));
    if (target && ((uintptr_t)target & RM_TAG_LOG))
        target = log_rewrite(w, (rm_object *)ref, RM_WHERE(RM_WHERE_OFFSET, offsetof(rm_weakref_object, hidden)),
                             (rm_object *)ref->hidden, target);
    if (!target) return 0;
    ref->hidden = RM_HIDE(target);
    ref->ob_aux = !rm_is_heap_object(target);
    return 1;
}

static size_t remap_traverse(walker *w, rm_object *o) {
    size_t before = w->rewritten;
    w->owner = o;
    o->ob_type->tp_traverse(o, slot_visitor, w);
    w->owner = NULL;
    size_t n = w->rewritten - before;
    w->rewritten = before;
    return n;
}

/*
** An instance whose class slot was rewritten from `old_cls`, in a
** transaction: if its class has a plan, it is migrated (layout.c) and
** listed with its old shape. Room in the list is made first: an instance
** that cannot be listed is left as it was, since only the list lets the
** rollback undo a migration.
*/
static void plan_instance(walker *w, const rm_probe_view *pv, rm_object *old_cls, rm_instance_object *inst) {
    /* Every retyped instance: a stale mark from an earlier walk must not
       reach this transaction's undo walk (see RM_FLAG_MIGRATED). */
    inst->ob_flags &= ~RM_FLAG_MIGRATED;
    uintptr_t at = old_cls->ob_aux;
    if (at == RM_PLAN_IN_PROBE) at = (uintptr_t)rm_probe_get(&w->plans->by_old, old_cls);
    if (!at) return;
    if (!rm_part_room(&w->part)) {
        w->lists_failed = true;
        return;
    }
    const rm_plan *p = &w->plans->items[at - 1];
    uint32_t shape = rm_layout_same(inst, p);
    if (!shape) shape = rm_layout_migrate(inst, p, pv, w->scratch);
    size_t *counts = &w->counts[2 * (at - 1)];
    counts[0]++;
    counts[1] += p->layout && !(shape & RM_SHAPE_MOVE);
    if (rm_layout_unlisted(p, shape)) {
        inst->ob_flags |= RM_FLAG_MIGRATED;
    } else if (!(shape & RM_SHAPE_SAME) || p->post) {
        rm_part_push(&w->part, p, at - 1, (rm_object *)inst, shape);
    }
}

/* In an undo walk, before the instance's slots are put back: its layout
   first, since the forward walk remapped them in the old layout. `cls` is
   its class before the undo walk rewrote the class slot. */
static void unmigrate_unlisted(walker *w, rm_type *cls, rm_instance_object *inst) {
    uintptr_t at = (uintptr_t)rm_probe_get(&w->undo_plans->by_new, (rm_object *)cls);
    if (at) rm_layout_unmigrate_unlisted(inst, &w->undo_plans->items[at - 1], w->scratch);
}

/* The hot loop keeps the probe (an rm_probe_view) and the counters in
   locals. (A branch-free lookup with an unconditional store was measured
   slower, 1.7x on one thread, and so was rewriting branch-free only the
   objects with a mapped slot: the bounds and block filters are cheaper than
   the probe they avoid.) NULL needs no test of its own: it fails the bounds
   check. Slots are counted per object, NULL ones included. */
#define REMAP_SLOT(slotp, where)                                            \
    do {                                                                    \
        rm_object **s_ = (slotp);                                           \
        rm_object *n_ = rm_probe_view_get(&pv, *s_);                        \
        if (n_) {                                                           \
            if ((uintptr_t)n_ & RM_TAG_LOG) n_ = log_rewrite(w, o, (where), *s_, n_); \
            if (n_) {                                                       \
                *s_ = n_;                                                   \
                n++;                                                        \
            }                                                               \
        }                                                                   \
    } while (0)

/* The place of a slot inside the object itself. */
#define AT_OFFSET(slotp) RM_WHERE(RM_WHERE_OFFSET, (uintptr_t)((char *)(slotp) - (char *)o))

/* How far ahead of the current object to prefetch: objects are read in
   registry order, which is allocation order, not address order. */
#define PREFETCH_AHEAD 16

/*
** One walker thread: takes chunks of the registry until none is left and
** visits each object: its type slot, then its slots by layout.
*/
static void *walk(void *arg) {
    walker *w = arg;
    const rm_probe_view pv = rm_probe_view_of(w->olds);
    const bool list_instances = w->list_instances;
    size_t slots = 0, rewritten = 0, bytes = 0, objects = 0;
    size_t instances_touched = 0, instance_rewrites = 0;
    for (;;) {
        size_t start = __atomic_fetch_add(&next_chunk, RM_WALK_CHUNK, __ATOMIC_RELAXED);
        if (start >= registry_count) break;
        size_t end = start + RM_WALK_CHUNK < registry_count ? start + RM_WALK_CHUNK : registry_count;
        for (size_t i = start; i < end; i++) {
            if (i + PREFETCH_AHEAD < end) __builtin_prefetch(RM_REVEAL(registry_items[i + PREFETCH_AHEAD]), 1);
            rm_object *o = RM_REVEAL(registry_items[i]);
            rm_type *t = o->ob_type;
            size_t n = 0;
            REMAP_SLOT((rm_object **)&o->ob_type, AT_OFFSET(&o->ob_type));
            slots++;
            bool class_changed = n != 0;
            size_t size = t->tp_basicsize;
            switch (t->tp_layout) {
            case RM_LAYOUT_INSTANCE: {
                rm_instance_object *inst = (rm_instance_object *)o;
                if ((inst->ob_flags & RM_FLAG_MIGRATED) && w->undo_plans) unmigrate_unlisted(w, t, inst);
                size_t k = inst->ob_aux;
                REMAP_SLOT(&inst->dict, AT_OFFSET(&inst->dict));
                for (size_t j = 0; j < k; j++) REMAP_SLOT(&inst->slots[j], AT_OFFSET(&inst->slots[j]));
                slots += k + 1;
                size += k * sizeof(rm_object *);
                if (class_changed && w->plans) plan_instance(w, &pv, (rm_object *)t, inst);
                else if (class_changed && list_instances) objvec_push(&w->instances, o);
                break;
            }
            case RM_LAYOUT_FIXED:
                for (size_t j = 0; j < t->tp_nfixed; j++)
                    REMAP_SLOT((rm_object **)((char *)o + t->tp_fixed[j]), RM_WHERE(RM_WHERE_OFFSET, t->tp_fixed[j]));
                slots += t->tp_nfixed;
                break;
            case RM_LAYOUT_TUPLE: {
                rm_tuple_object *tup = (rm_tuple_object *)o;
                for (size_t j = 0; j < tup->size; j++) REMAP_SLOT(&tup->items[j], AT_OFFSET(&tup->items[j]));
                slots += tup->size;
                size += tup->size * sizeof(rm_object *);
                break;
            }
            case RM_LAYOUT_LIST: {
                /* Inline: a traverse call per item cost a seventh of the walk
                   on a heap held in one big list. */
                rm_list_object *list = (rm_list_object *)o;
                rm_object **items = list->items;
                for (size_t j = 0, k = list->size; j < k; j++) REMAP_SLOT(&items[j], RM_WHERE(RM_WHERE_LIST, j));
                slots += list->size;
                size = rm_sizeof(o);
                break;
            }
            case RM_LAYOUT_TABLE:
                n += remap_table(w, (rm_table_object *)o);
                size = rm_sizeof(o);
                break;
            case RM_LAYOUT_WEAKREF:
                n += remap_weakref(w, (rm_weakref_object *)o);
                break;
            case RM_LAYOUT_LEAF:
                break;
            default:
                if (t->tp_traverse) n += remap_traverse(w, o);
                size = rm_sizeof(o);
                break;
            }
            objects++;
            bytes += size;
            rewritten += n;
            if (t->tp_layout == RM_LAYOUT_INSTANCE) {
                /* Instances share one line: looking their class up per
                   object costs more than the rest of the visit. */
                instances_touched += n != 0;
                instance_rewrites += n;
            } else if (n) {
                type_line *line = type_line_for(w, t);
                line->objects++;
                line->rewritten += n;
            }
        }
    }
    w->objects += objects;
    w->slots += slots;
    w->rewritten += rewritten;
    w->bytes += bytes;
    w->instances_touched += instances_touched;
    w->instance_rewrites += instance_rewrites;
    return NULL;
}

int rm_remap(const rm_mapping *m, rm_remap_report *report) { return rm_remap_ex(m, 0, report); }

int rm_remap_ex(const rm_mapping *m, unsigned options, rm_remap_report *report) {
    return rm_remap_run(m, &m->probe, options & ~RM_REMAP_UNDO_WALK, report, NULL, NULL);
}

/* Walkers of an undo walk live on the stack: it must not allocate. */
#define UNDO_WALKERS RM_UNDO_WALKERS

/*
** The walk behind rm_remap_ex, rm_txn_remap and the transaction's undo.
** `probe` maps old -> new; its values may be tagged RM_TAG_LOG, and then
** `logs` (one per walker, MAX_WALKERS of them) receive those rewrites.
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
    walker local[UNDO_WALKERS];
    walker *ws = NULL;
    bool keep = (options & RM_REMAP_KEEP_HASHES) != 0;
    if (!undo) {
        hashes = malloc((m->count ? m->count : 1) * sizeof *hashes);
        if (!hashes || rm_probe_init(&changed, m->count) < 0 || rm_probe_init(&news, m->count) < 0) goto out_of_memory;
        for (size_t i = 0; i < m->count; i++) {
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
    if (nw > MAX_WALKERS) nw = MAX_WALKERS;
    if (undo) {
        if (nw > UNDO_WALKERS) nw = UNDO_WALKERS;
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
    registry_items = rm_live.items;
    /* An undo walk visits only what existed before the transaction:
       objects made since are not part of the old world, and rewriting them
       would hand old objects to garbage that other walks still read (dead
       classes in the class registry, until the next collection). */
    registry_count = undo ? rm_heap_txn_mark() : rm_live.count;
    next_chunk = 0;
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
        ws[k].plans = ws[k].listing ? plans : NULL;
    }
    unsigned started = 1;
    for (unsigned k = 1; k < nw; k++) {
        if (pthread_create(&ws[k].thread, NULL, walk, &ws[k]) != 0) break;
        started++;
    }
    walk(&ws[0]); /* also takes the chunks of helpers that did not start */
    for (unsigned k = 1; k < started; k++) pthread_join(ws[k].thread, NULL);

    /* 3. Handles, dependent tables, hashes, results. */
    walker *w0 = &ws[0];
    size_t before = w0->rewritten, slots_before = w0->slots;
    rm_handles_each(slot_visitor, w0);
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
        for (size_t i = 0; i < m->count; i++)
            if (rm_walk_hands_over_hash(m->olds[i], m->news[i])) m->news[i]->ob_hash = hashes[i];
    }
    bool failed = false;
    objvec tables[MAX_WALKERS], instances[MAX_WALKERS];
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
        if (ws[0].listing) rm_walk_end_plan_work(ws, nw, plans, true);
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

