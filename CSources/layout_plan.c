/*
** layout_plan.c: plans for migrating instances between field layouts (see
** layout.h): which old field each new field takes, the per-stored-count
** rules the walk applies, and the plans' lifetime. Built before a
** transaction's walk; layout.c applies them in the walk.
*/
#include "layout.h"

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
    if (match_fields(p, o, n) < 0 || rm_struct_plan_build(p) < 0) return -1;
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
/* The same for the walkers' copies of struct instances (struct_reload.c):
   56 MB at 10^6 instances of a 56-byte struct, whose page faults and
   doublings cost more than the walk's own work. */
static rm_plan_part spare_saves[RM_MAX_WALKERS];

int rm_plans_build(const rm_mapping *m, rm_plans *plans) {
    memset(plans, 0, sizeof *plans);
    for (unsigned k = 0; k < RM_MAX_WALKERS; k++) {
        plans->parts[k] = spare_parts[k];
        spare_parts[k] = (rm_plan_part){0};
        plans->saves[k] = spare_saves[k];
        spare_saves[k] = (rm_plan_part){0};
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
    /* 1. Every pair's plan; whether module code runs after the walk. */
    size_t built = 0;
    bool code_runs = false;
    for (size_t i = 0; i < m->count; i++) {
        if (!rm_is_class(m->olds[i]) || !rm_is_class(m->news[i])) continue;
        if (build_plan(&plans->items[built], m->olds[i], m->news[i], hook_name) < 0) return -1;
        code_runs |= plans->items[built++].post;
    }
    /* 2. Kept: the plans with work in the walk or after it. A hook or an
       initializer may write any struct instance directly, so when one
       runs, every struct class's instances are copied (struct_reload.c). */
    for (size_t i = 0; i < built; i++) {
        rm_plan *p = &plans->items[i];
        if (code_runs && rm_struct_plan_keep(p) < 0) return -1;
        p->listed |= p->sp != NULL; /* a kept plan */
        if (!p->listed) continue;
        if (i != plans->count) plans->items[plans->count] = *p;
        p = &plans->items[plans->count];
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
    memset(plans->items + plans->count, 0, (built - plans->count) * sizeof *plans->items);
    rm_struct_plans_decide(plans);
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
    for (unsigned k = 0; k < nparts; k++) {
        if (plans->parts[k].count) GC_add_roots(plans->parts[k].items, plans->parts[k].items + plans->parts[k].count);
        /* Saved struct bytes hold references (removed object fields). */
        if (plans->saves[k].count) GC_add_roots(plans->saves[k].items, plans->saves[k].items + plans->saves[k].count);
    }
}

void rm_plans_free(rm_plans *plans) {
    for (size_t i = 0; plans->items && i < plans->count; i++) {
        plans->items[i].old_cls->ob_aux = 0;
        if (plans->items[i].implied) plans->items[i].new_cls->ob_aux = 0;
    }
    for (unsigned k = 0; k < RM_MAX_WALKERS; k++) {
        rm_plan_part *part = &plans->parts[k];
        if (k < plans->nparts && part->count) GC_remove_roots(part->items, part->items + part->count);
        rm_plan_part *save = &plans->saves[k];
        if (k < plans->nparts && save->count) GC_remove_roots(save->items, save->items + save->count);
        if (save->items && !spare_saves[k].items) spare_saves[k] = (rm_plan_part){save->items, 0, save->capacity};
        else free(save->items);
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
