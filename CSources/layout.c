/*
** layout.c: the walk's in-place migration of instances between field
** layouts, and its undo and commit (the plans come from layout_plan.c; see
** layout.h).
**
** Migrating in the walk costs nothing the walk does not already pay: the
** instance's cache line is loaded to rewrite its class slot. A migration
** after the walk would read every instance again, and one that allocates
** per instance (a dict for the fields past the slots) cost ~1 us each.
*/
#include "layout.h"

#include <pthread.h>
#include <stdlib.h>

/* ---- The walk's part ---- */

/* Whether `stored` fields and `stash` stashed values fit: slots first,
   then the dict word if it is free (a field, or one stashed value). */
static bool fits(size_t stored, size_t stash, size_t cap, bool word_free) {
    if (stored <= cap) return stash <= cap - stored + word_free;
    return stored == cap + 1 && word_free && stash == 0;
}

/* How many fields to store: `need`, and the new fields after it up to the
   last initialized one while they fit, so initializers write in place. */
static size_t extend(const rm_plan *p, size_t need, size_t stash, size_t cap, bool has_attrs) {
    size_t keep = need;
    while (keep < p->init_end && p->src[keep] < 0 && !has_attrs && fits(keep + 1, stash, cap, true)) keep++;
    return keep;
}

/*
** Steps: (1) how many fields the new layout must store (the rule for the
** instance's stored count, see make_rule): up to the last one whose old
** value is stored; the fields before it that were not stored need a value
** the walk cannot read (an attribute dict is another object) unless they
** are new; an instance with an attribute dict stays only if every field
** keeps its name; (2) whether the fields, the removed values and the
** initialized new fields after them fit; (3) gather, then write. Any "no"
** leaves the instance untouched for migrate.c.
*/
uint32_t rm_layout_migrate(rm_instance_object *inst, const rm_plan *p, const rm_probe_view *pv,
                           rm_object **scratch) {
    size_t k = inst->ob_aux;
    bool word = (inst->ob_flags & RM_FLAG_WORD_FIELD) != 0;
    size_t stored = k + word;
    uint32_t shape = (uint32_t)k | (word ? RM_SHAPE_WORD : 0);
    bool has_attrs = !word && inst->dict;
    const int32_t *src = p->src;

    /* 1. (An instance whose fields stay where they are was answered by
       rm_layout_same before the call.) */
    const rm_shape_rule *rule = &p->rules[stored];
    if (!rule->feasible) return shape | RM_SHAPE_MOVE;
    size_t need = rule->need, stash = rule->stash;
    /* An attribute dict may hold a name that becomes a field (which must
       read its new value, not the attribute) or stops being one (which
       must go): only a move (migrate.c) can look. */
    if (has_attrs && !p->same_names) return shape | RM_SHAPE_MOVE;

    /* 2. The floor first: Boehm's block header, which knows the real
       capacity, is a cache miss per instance. */
    size_t cap = rm_capacity_floor(k);
    bool exact = !fits(need, stash, cap, !has_attrs);
    if (exact) cap = rm_instance_capacity(inst);
    if (!fits(need, stash, cap, !has_attrs)) return shape | RM_SHAPE_MOVE;
    size_t keep = extend(p, need, stash, cap, has_attrs);
    if (!exact && keep < p->init_end && src[keep] < 0 && !has_attrs) {
        exact = true;
        cap = rm_instance_capacity(inst);
        keep = extend(p, need, stash, cap, has_attrs);
    }
    if (exact) shape |= RM_SHAPE_EXACT;

    /* 3. The stored fields stay where they are: only the new ones after
       them are written (an initialized field added at the end). Not if
       the dict word holds one: with a larger capacity than the one that
       put it there, it moves to a slot. */
    rm_object *const *defaults = ((rm_tuple_object *)((rm_type *)p->new_cls)->cls_defaults)->items;
    if (rule->same && !word) {
        for (size_t j = need; j < keep; j++) {
            rm_object *d = defaults[j], *mapped = rm_probe_view_get(pv, d);
            rm_object **at = j < cap ? &inst->slots[j] : &inst->dict;
            *at = mapped ? (rm_object *)((uintptr_t)mapped & ~RM_TAG_LOG) : d;
        }
        if (keep > cap) inst->ob_flags |= RM_FLAG_WORD_FIELD;
        inst->ob_aux = (uint16_t)(keep <= cap ? keep : cap);
        return shape;
    }
    rm_object **old = scratch, **out = scratch + stored;
    for (size_t i = 0; i < stored; i++) old[i] = i < k ? inst->slots[i] : inst->dict;
    for (size_t j = 0; j < keep; j++) {
        if (src[j] >= 0) {
            out[j] = old[src[j]];
            continue;
        }
        /* A default is an object of the new version, or one the mapping
           replaces like any slot. */
        rm_object *d = defaults[j], *mapped = rm_probe_view_get(pv, d);
        out[j] = mapped ? (rm_object *)((uintptr_t)mapped & ~RM_TAG_LOG) : d;
    }
    size_t aux = keep <= cap ? keep : cap, in_slots = stash < cap - aux ? stash : cap - aux;
    for (size_t j = 0; j < aux; j++) inst->slots[j] = out[j];
    for (size_t t = 0; t < in_slots; t++) inst->slots[aux + t] = old[p->removed[t]];
    for (size_t x = aux + in_slots; x < k; x++) inst->slots[x] = NULL;
    inst->ob_flags &= ~RM_FLAG_WORD_FIELD;
    if (keep > cap) {
        inst->dict = out[cap];
        inst->ob_flags |= RM_FLAG_WORD_FIELD;
    } else if (stash > in_slots) {
        inst->dict = old[p->removed[in_slots]];
        inst->ob_flags |= RM_FLAG_WORD_STASH;
    } else if (word) {
        inst->dict = NULL;
    }
    inst->ob_aux = (uint16_t)aux;
    return shape;
}

/* ---- Undo and commit ---- */

/* Stashed values of an entry: the removed fields the old layout stored. */
static size_t stashed(const rm_plan *p, uint32_t shape) {
    size_t stored = RM_SHAPE_AUX(shape) + ((shape & RM_SHAPE_WORD) != 0), n = 0;
    while (n < p->nremoved && p->removed[n] < (int32_t)stored) n++;
    return n;
}

/*
** The inverse of rm_layout_migrate, for an instance it migrated: each old
** stored field is read from its new place (a kept field is stored in the
** new layout: the walk stored every kept value it had) or from the stash,
** then written back; what the migration wrote past the old slots is
** cleared.
*/
static void unmigrate(rm_instance_object *inst, const rm_plan *p, uint32_t shape, rm_object **scratch) {
    size_t k = RM_SHAPE_AUX(shape), aux = inst->ob_aux, cap = rm_shape_capacity(inst, shape);
    bool word = (shape & RM_SHAPE_WORD) != 0;
    bool word_used = (inst->ob_flags & (RM_FLAG_WORD_FIELD | RM_FLAG_WORD_STASH)) != 0;
    size_t stored = k + word, stash = stashed(p, shape), t = 0;
    for (size_t i = 0; i < stored; i++) {
        int32_t j = p->inverse[i];
        if (j >= 0) scratch[i] = (size_t)j < aux ? inst->slots[j] : inst->dict;
        else scratch[i] = *rm_stash_slot(inst, cap, t++);
    }
    size_t in_slots = stash < cap - aux ? stash : cap - aux;
    size_t written = aux + in_slots > k ? aux + in_slots : k;
    for (size_t i = 0; i < k; i++) inst->slots[i] = scratch[i];
    for (size_t x = k; x < written; x++) inst->slots[x] = NULL;
    if (word) inst->dict = scratch[k];
    else if (word_used) inst->dict = NULL;
    inst->ob_flags &= ~(RM_FLAG_WORD_FIELD | RM_FLAG_WORD_STASH);
    if (word) inst->ob_flags |= RM_FLAG_WORD_FIELD;
    inst->ob_aux = (uint16_t)k;
}


void rm_layout_unmigrate_unlisted(rm_instance_object *inst, const rm_plan *p, rm_object **scratch) {
    unmigrate(inst, p, (uint32_t)p->nold, scratch);
    inst->ob_flags &= ~RM_FLAG_MIGRATED;
}

void rm_plans_undo(rm_plans *plans) {
    for (unsigned k = 0; k < plans->nparts; k++) {
        const rm_plan_part *part = &plans->parts[k];
        const uintptr_t *save = plans->saves[k].items;
        for (size_t pos = 0; pos < part->count;) {
            rm_plan_entry entry = rm_part_read(plans, part, &pos);
            const rm_plan *p = &plans->items[entry.plan];
            if (p->sp) {
                /* A struct instance: its saved bytes, in entry order. */
                /* A moved one was left as it was; its new instance, now
                   unreachable, is emptied (a hook may have written
                   anything into it) until a collection frees it. */
                if (!(entry.shape & RM_SHAPE_MOVE)) rm_struct_unmigrate(entry.inst, p, save);
                else rm_struct_empty(entry.inst);
                save += rm_struct_entry_words(p, entry.shape);
                continue;
            }
            if (p->layout && !(entry.shape & (RM_SHAPE_MOVE | RM_SHAPE_SAME)))
                unmigrate((rm_instance_object *)entry.inst, p, entry.shape, plans->scratch);
        }
    }
}

/* One walker's part of the commit: clears the stashes its entries hold. */
static void commit_part(const rm_plans *plans, const rm_plan_part *part) {
    for (size_t pos = 0; pos < part->count;) {
        if (pos + 16 < part->count && !(part->items[pos + 16] & 1)) __builtin_prefetch((void *)part->items[pos + 16], 1);
        rm_plan_entry entry = rm_part_read(plans, part, &pos);
        const rm_plan *p = &plans->items[entry.plan];
        uint32_t shape = entry.shape;
        if (!p->layout || !p->nremoved || p->sp || (shape & (RM_SHAPE_MOVE | RM_SHAPE_SAME))) continue;
        rm_instance_object *inst = (rm_instance_object *)entry.inst;
        size_t n = stashed(p, shape), cap = rm_shape_capacity(inst, shape);
        for (size_t t = 0; t < n && inst->ob_aux + t < cap; t++) inst->slots[inst->ob_aux + t] = NULL;
        /* The word, unless a change since gave the instance a dict. */
        if (inst->ob_flags & RM_FLAG_WORD_STASH) {
            inst->dict = NULL;
            inst->ob_flags &= ~RM_FLAG_WORD_STASH;
        }
    }
}

typedef struct commit_job {
    const rm_plans *plans;
    const rm_plan_part *part;
    pthread_t thread;
} commit_job;

static void *commit_thread(void *arg) {
    commit_job *job = arg;
    commit_part(job->plans, job->part);
    return NULL;
}

/* Parts smaller than this are cleared on the calling thread. */
#define COMMIT_PARALLEL_WORDS 65536

/*
** Clears the stashed values of removed fields, each walker's part on a
** thread of its own, as the walk made them (the work touches every
** migrated instance again: at 10^6 that is 9 ms on one core). Nothing here
** allocates or calls module code; collections wait meanwhile.
*/
void rm_plans_commit(rm_plans *plans) {
    /* Only a removed field leaves anything stashed: otherwise the entries
       are not read again (each read touches its instance). */
    bool any = false;
    for (size_t i = 0; i < plans->count; i++) any |= plans->items[i].layout && plans->items[i].nremoved;
    if (!any || !plans->nparts) return;
    GC_disable();
    commit_job jobs[RM_MAX_WALKERS];
    bool started[RM_MAX_WALKERS] = {false};
    for (unsigned k = 1; k < plans->nparts; k++) {
        jobs[k] = (commit_job){plans, &plans->parts[k]};
        if (plans->parts[k].count >= COMMIT_PARALLEL_WORDS)
            started[k] = pthread_create(&jobs[k].thread, NULL, commit_thread, &jobs[k]) == 0;
    }
    commit_part(plans, &plans->parts[0]);
    for (unsigned k = 1; k < plans->nparts; k++) {
        if (started[k]) pthread_join(jobs[k].thread, NULL);
        else commit_part(plans, &plans->parts[k]);
    }
    GC_enable();
}
