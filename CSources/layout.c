/*
** layout.c: plans for migrating instances between field layouts, the
** walk's in-place migration, and its undo and commit (see layout.h).
**
** Migrating in the walk costs nothing the walk does not already pay: the
** instance's cache line is loaded to rewrite its class slot. A migration
** after the walk would read every instance again, and one that allocates
** per instance (a dict for the fields past the slots) cost ~1 us each.
*/
#include "layout.h"

#include <pthread.h>
#include <stdlib.h>

/* ---- Plans ---- */

static bool same_fields(rm_type *o, rm_type *n) {
    size_t count = rm_tuple_size(n->cls_fields);
    if (count != rm_tuple_size(o->cls_fields)) return false;
    for (size_t i = 0; i < count; i++) {
        if (rm_equal(rm_tuple_get(n->cls_fields, i), rm_tuple_get(o->cls_fields, i)) != 1) return false;
        if (rm_equal(rm_tuple_get(n->cls_defaults, i), rm_tuple_get(o->cls_defaults, i)) != 1) return false;
    }
    return true;
}

static void *alloc_array(size_t n, size_t size, bool atomic) {
    void *p = atomic ? rm_gc_alloc_atomic((n ? n : 1) * size) : rm_gc_alloc((n ? n : 1) * size);
    if (p && atomic) memset(p, 0, (n ? n : 1) * size);
    return p;
}

/* The names of `fields` at `indices` (or where `marks` is -1), as a tuple. */
static rm_object *names_where(rm_object *fields, const int32_t *marks, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += marks[i] < 0;
    rm_object *names = rm_tuple_new(count);
    if (!names) return NULL;
    for (size_t i = 0, k = 0; i < n; i++)
        if (marks[i] < 0) rm_tuple_set(names, k++, rm_tuple_get(fields, i));
    return names;
}

/*
** Which old field each new field takes: the one a rename rule names (the
** rule of the new class or a base), else the one with its name; a field
** with neither is added. Two fields renamed from one old field are an
** error: the reload is refused before anything changes.
*/
static int match_fields(rm_plan *p, rm_type *o, rm_type *n) {
    for (size_t i = 0; i < p->nold; i++) p->inverse[i] = -1;
    for (size_t j = 0; j < p->nnew; j++) p->src[j] = -1;
    /* 1. Renames, when the old class has the old name and not the new one
       (so a version reloaded twice does not rename again, and a rename
       wins over a new field that reuses the old name). */
    for (size_t j = 0; j < p->nnew; j++) {
        rm_object *name = rm_tuple_get(n->cls_fields, j);
        rm_object *rule = rm_class_reload_rule((rm_object *)n, name);
        if (!rule || !RM_IS(rule, rm_str_type) || rm_dict_get(o->cls_index, name)) continue;
        rm_object *at = rm_dict_get(o->cls_index, rule);
        if (!at) continue;
        int32_t i = (int32_t)rm_int_value(at);
        if (p->inverse[i] >= 0) {
            rm_error_set(RM_ERR_RELOAD, "class %s: fields %s and %s both take old field %s", rm_type_name(n),
                         rm_str_cstr(rm_tuple_get(n->cls_fields, (size_t)p->inverse[i])), rm_str_cstr(name),
                         rm_str_cstr(rule));
            return -1;
        }
        p->src[j] = i;
        p->inverse[i] = (int32_t)j;
    }
    /* 2. Same names; the rest are added, maybe with an initializer. */
    for (size_t j = 0; j < p->nnew; j++) {
        rm_object *name = rm_tuple_get(n->cls_fields, j);
        if (p->src[j] < 0) {
            rm_object *at = rm_dict_get(o->cls_index, name);
            int32_t i = at ? (int32_t)rm_int_value(at) : -1;
            if (i >= 0 && p->inverse[i] < 0) {
                p->src[j] = i;
                p->inverse[i] = (int32_t)j;
            }
        }
        int32_t i = p->src[j];
        p->lazy[j] = i >= 0 && rm_equal(rm_tuple_get(o->cls_fields, (size_t)i), name) == 1 &&
                     rm_equal(rm_tuple_get(o->cls_defaults, (size_t)i), rm_tuple_get(n->cls_defaults, j)) == 1;
        rm_object *rule = i < 0 ? rm_class_reload_rule((rm_object *)n, name) : NULL;
        if (rule && RM_IS(rule, rm_function_type)) {
            p->inits[j] = rule;
            p->init_end = j + 1;
        }
    }
    return 0;
}

/* The rule for instances that store `stored` fields (see rm_layout_migrate). */
static void make_rule(rm_plan *p, size_t stored) {
    rm_shape_rule *r = &p->rules[stored];
    const int32_t *src = p->src;
    size_t need = 0, stash = 0;
    for (size_t j = 0; j < p->nnew; j++)
        if (src[j] >= 0 && (size_t)src[j] < stored) need = j + 1;
    bool feasible = true, same = need == stored;
    for (size_t j = 0; j < need; j++) {
        feasible &= src[j] < (int32_t)stored;
        same &= src[j] == (int32_t)j;
    }
    for (size_t j = need; j < p->nnew; j++) feasible &= src[j] < 0 || p->lazy[j];
    while (stash < p->nremoved && p->removed[stash] < (int32_t)stored) stash++;
    *r = (rm_shape_rule){(uint16_t)need, (uint16_t)stash, feasible, same && stash == 0};
}

static int build_plan(rm_plan *p, rm_object *old_cls, rm_object *new_cls, rm_object *hook_name) {
    rm_type *o = (rm_type *)old_cls, *n = (rm_type *)new_cls;
    p->old_cls = old_cls;
    p->new_cls = new_cls;
    p->stats.old_cls = old_cls;
    p->stats.new_cls = new_cls;
    p->nold = rm_tuple_size(o->cls_fields);
    p->nnew = rm_tuple_size(n->cls_fields);
    rm_object *hook = rm_class_lookup(new_cls, hook_name);
    p->hook = hook && rm_is_function(hook) ? hook : NULL;
    p->layout = !same_fields(o, n);
    if (!(p->src = alloc_array(p->nnew, sizeof *p->src, true)) ||
        !(p->lazy = alloc_array(p->nnew, sizeof *p->lazy, true)) ||
        !(p->inverse = alloc_array(p->nold, sizeof *p->inverse, true)) ||
        !(p->inits = alloc_array(p->nnew, sizeof *p->inits, false)))
        return -1;
    memset(p->inits, 0, (p->nnew ? p->nnew : 1) * sizeof *p->inits);
    if (match_fields(p, o, n) < 0) return -1;
    if (!(p->removed = alloc_array(p->nold, sizeof *p->removed, true))) return -1;
    for (size_t i = 0; i < p->nold; i++)
        if (p->inverse[i] < 0) p->removed[p->nremoved++] = (int32_t)i;
    p->same_names = p->nremoved == 0;
    for (size_t j = 0; j < p->nnew && p->same_names; j++)
        p->same_names = p->src[j] >= 0 && rm_equal(rm_tuple_get(o->cls_fields, (size_t)p->src[j]),
                                                   rm_tuple_get(n->cls_fields, j)) == 1;
    if (p->hook) {
        int64_t arity = rm_function_arity(p->hook);
        p->hook_nargs = arity == 2 || arity == 3 ? (size_t)arity : 0;
        if (p->hook_nargs && (!(p->hook_args[0] = names_where(n->cls_fields, p->src, p->nnew)) ||
                              !(p->hook_args[1] = names_where(o->cls_fields, p->inverse, p->nold))))
            return -1;
    }
    if (!(p->rules = alloc_array(p->nold + 1, sizeof *p->rules, true))) return -1;
    if (!(p->init_fields = alloc_array(p->nnew, sizeof *p->init_fields, true))) return -1;
    for (size_t j = 0; j < p->nnew; j++)
        if (p->inits[j]) p->init_fields[p->ninits++] = (uint16_t)j;
    for (size_t stored = 0; stored <= p->nold; stored++) make_rule(p, stored);
    p->post = p->hook || p->init_end;
    p->fresh = rm_is_heap_object(new_cls) && (new_cls->ob_flags & RM_FLAG_TXN_NEW);
    p->listed = p->layout || p->hook;
    return 0;
}

/* Entry blocks kept from one reload to the next, one per walker: a reload
   of 10^6 instances lists 16 MB, and fresh malloc memory costs a page
   fault per 4 KiB every time. Used only under the runtime lock. */
static rm_plan_part spare_parts[RM_MAX_WALKERS];

int rm_plans_build(const rm_mapping *m, rm_plans *plans) {
    memset(plans, 0, sizeof *plans);
    for (unsigned k = 0; k < RM_MAX_WALKERS; k++) {
        plans->parts[k] = spare_parts[k];
        spare_parts[k] = (rm_plan_part){0};
    }
    plans->by_old.lo = UINTPTR_MAX;
    size_t pairs = 0;
    for (size_t i = 0; i < m->count; i++) pairs += rm_is_class(m->olds[i]) && rm_is_class(m->news[i]);
    rm_object *hook_name = rm_str("__reload__");
    if (!hook_name) return -1;
    plans->by_new.lo = UINTPTR_MAX;
    plans->items = GC_MALLOC_UNCOLLECTABLE((pairs ? pairs : 1) * sizeof *plans->items);
    if (!plans->items || rm_probe_init(&plans->by_old, pairs) < 0 || rm_probe_init(&plans->by_new, pairs) < 0)
        goto out_of_memory;
    memset(plans->items, 0, (pairs ? pairs : 1) * sizeof *plans->items);
    for (size_t i = 0; i < m->count; i++) {
        if (!rm_is_class(m->olds[i]) || !rm_is_class(m->news[i])) continue;
        rm_plan *p = &plans->items[plans->count];
        if (build_plan(p, m->olds[i], m->news[i], hook_name) < 0) return -1;
        if (!p->listed) {
            memset(p, 0, sizeof *p);
            continue;
        }
        if (p->nold + p->nnew > plans->max_fields) plans->max_fields = p->nold + p->nnew;
        plans->count++;
        rm_probe_put(&plans->by_old, p->old_cls, (rm_object *)(uintptr_t)plans->count);
        /* And in the old class's header (unused in a class), which the walk
           reads anyway: no probe per instance. */
        p->old_cls->ob_aux = plans->count < RM_PLAN_IN_PROBE ? (uint16_t)plans->count : RM_PLAN_IN_PROBE;
        /* Two old classes may share a new one: the undo walk only needs a
           plan that is fresh, whose unlisted instances all came from it. */
        if (p->fresh && !rm_probe_get(&plans->by_new, p->new_cls)) {
            rm_probe_put(&plans->by_new, p->new_cls, (rm_object *)(uintptr_t)plans->count);
            /* Entries of its instances may leave the plan out (rm_part_read). */
            if (plans->count < RM_PLAN_IN_PROBE) {
                p->new_cls->ob_aux = (uint16_t)plans->count;
                p->implied = true;
            }
        }
    }
    size_t scratch = (plans->max_fields ? plans->max_fields : 1) * RM_UNDO_WALKERS;
    if (!(plans->scratch = alloc_array(scratch, sizeof *plans->scratch, false))) return -1;
    return 0;

out_of_memory:
    rm_error_set(RM_ERR_MEMORY, "out of memory preparing instance migration");
    return -1;
}

bool rm_part_grow(rm_plan_part *part) {
    size_t cap = part->capacity ? part->capacity * 2 : 2048;
    uintptr_t *items = realloc(part->items, cap * sizeof *items);
    if (!items) return false;
    part->items = items;
    part->capacity = cap;
    return true;
}

void rm_plans_walked(rm_plans *plans, unsigned nparts) {
    plans->nparts = nparts;
    for (unsigned k = 0; k < nparts; k++)
        if (plans->parts[k].count) GC_add_roots(plans->parts[k].items, plans->parts[k].items + plans->parts[k].count);
}

void rm_plans_free(rm_plans *plans) {
    for (size_t i = 0; plans->items && i < plans->count; i++) {
        plans->items[i].old_cls->ob_aux = 0;
        if (plans->items[i].implied) plans->items[i].new_cls->ob_aux = 0;
    }
    for (unsigned k = 0; k < RM_MAX_WALKERS; k++) {
        rm_plan_part *part = &plans->parts[k];
        if (k < plans->nparts && part->count) GC_remove_roots(part->items, part->items + part->count);
        if (!part->items) continue;
        if (!spare_parts[k].items) spare_parts[k] = (rm_plan_part){part->items, 0, part->capacity};
        else free(part->items);
    }
    GC_FREE(plans->items);
    rm_probe_free(&plans->by_old);
    rm_probe_free(&plans->by_new);
    memset(plans, 0, sizeof *plans);
    plans->by_old.lo = plans->by_new.lo = UINTPTR_MAX;
}

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
        for (size_t pos = 0; pos < part->count;) {
            rm_plan_entry entry = rm_part_read(plans, part, &pos);
            const rm_plan *p = &plans->items[entry.plan];
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
        if (!p->layout || !p->nremoved || (shape & (RM_SHAPE_MOVE | RM_SHAPE_SAME))) continue;
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
