/*
** migrate.c: what a reload does to old instances after the remap walk.
**
** The walk already moved every instance that had room to its new class's
** layout (layout.c). For each instance the walk listed (see migrate_chunk
** for the order):
**   1. an instance without room is moved: journaled, then its fields past
**      its allocation go to its attribute dict;
**   2. the field initializers run, and their values are stored (directly
**      where the walk kept a slot for them; else through setattr);
**   3. the class's __reload__ hook runs.
** Initializers and 3-argument hooks get a view of the old instance, one
** per class, refilled for each instance and emptied at the end.
** A failure stops the pass with the place noted in the result (the class,
** its how-many-th instance, the step); the caller rolls back.
*/
#include "layout.h"

#include <stdlib.h>
#include <time.h>

/* ---- The old-instance view ---- */

/* values holds the old fields, in the old class's order; both NULL once
   the migration is over. */
typedef struct oldview_object {
    RM_OBJECT_HEADER;
    rm_object *old_cls;
    rm_object *values; /* tuple */
} oldview_object;

/* References of a view: its old class, its values (fixed offsets). */
static int oldview_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    oldview_object *v = (oldview_object *)self;
    RM_VISIT(&v->old_cls);
    RM_VISIT(&v->values);
    return 0;
}

rm_type rm_oldview_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "old instance",
    .tp_basicsize = sizeof(oldview_object),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 2,
    .tp_fixed = {offsetof(oldview_object, old_cls), offsetof(oldview_object, values)},
    .tp_traverse = oldview_traverse,
};

rm_object *rm_oldview_getattr(rm_object *view, rm_object *name) {
    oldview_object *v = (oldview_object *)view;
    if (!v->old_cls) {
        rm_error_set(RM_ERR_RUNTIME, "an old-instance view is valid only during the initializer or hook given it");
        return NULL;
    }
    rm_object *at = rm_dict_get(((rm_type *)v->old_cls)->cls_index, name);
    if (!at) {
        rm_error_set(RM_ERR_ATTRIBUTE, "old %s instances had no field '%s'", rm_type_name((rm_type *)v->old_cls),
                     rm_str_cstr(name));
        return NULL;
    }
    return rm_tuple_get(v->values, (size_t)rm_int_value(at));
}

static rm_object *oldview_new(rm_object *old_cls, size_t nold) {
    rm_object *values = rm_tuple_new(nold);
    oldview_object *v = values ? (oldview_object *)rm_alloc(&rm_oldview_type, sizeof *v) : NULL;
    if (!v) return NULL;
    v->old_cls = old_cls;
    v->values = values;
    return (rm_object *)v;
}

/* A field the instance does not store: its attribute, else the default. */
static rm_object *unstored(rm_instance_object *inst, rm_type *cls, size_t i) {
    rm_object *attrs = rm_attr_dict(inst);
    rm_object *v = attrs ? rm_dict_get(attrs, rm_tuple_get(cls->cls_fields, i)) : NULL;
    return v ? v : rm_tuple_get(cls->cls_defaults, i);
}

static rm_object *stored_or_none(rm_object **slot) { return *slot ? *slot : rm_none; }

/* Old field i of an instance still in its old layout (to be moved). */
static rm_object *old_layout_field(rm_instance_object *inst, rm_type *old_cls, size_t i) {
    rm_object **slot = rm_field_slot(inst, i);
    return slot ? stored_or_none(slot) : unstored(inst, old_cls, i);
}

/* Old field i of an instance the walk migrated: at its new place, or in
   the stash if it was removed (the n-th removed field it stored). */
static rm_object *migrated_field(rm_instance_object *inst, const rm_plan *p, uint32_t shape, size_t i, size_t *nth) {
    rm_type *o = (rm_type *)p->old_cls;
    int32_t j = p->inverse[i];
    size_t stored = RM_SHAPE_AUX(shape) + ((shape & RM_SHAPE_WORD) != 0);
    if (j >= 0) {
        rm_object **slot = rm_field_slot(inst, (size_t)j);
        return slot ? stored_or_none(slot) : unstored(inst, o, i);
    }
    if (i < stored) return stored_or_none(rm_stash_slot(inst, rm_shape_capacity(inst, shape), (*nth)++));
    return unstored(inst, o, i);
}

static void fill_view(rm_object *view, rm_instance_object *inst, const rm_plan *p, uint32_t shape) {
    rm_object *values = ((oldview_object *)view)->values;
    size_t nth = 0;
    for (size_t i = 0; i < p->nold; i++)
        rm_tuple_set(values, i, (shape & RM_SHAPE_MOVE) ? old_layout_field(inst, (rm_type *)p->old_cls, i)
                                                        : migrated_field(inst, p, shape, i, &nth));
}

/* ---- Moving an instance without room ---- */

/*
** Builds the new values and the new attribute dict (the old one without
** the old and new fields' names, plus the new fields past the slots),
** journals the instance, then writes. `values` is a scratch tuple of nnew
** items. On failure the instance is unchanged.
*/
static int move_one(rm_instance_object *inst, const rm_plan *p, rm_object *values) {
    if (rm_fault_at(RM_FAULT_MIGRATE)) return -1;
    rm_type *o = (rm_type *)p->old_cls, *n = (rm_type *)p->new_cls;
    rm_object *attrs = rm_attr_dict(inst), *dict = NULL;
    /* A new field takes the value of an attribute of its name, as it would
       if it stayed unstored (see unstored). */
    for (size_t j = 0; j < p->nnew; j++)
        rm_tuple_set(values, j, p->src[j] >= 0 ? old_layout_field(inst, o, (size_t)p->src[j]) : unstored(inst, n, j));
    size_t cap = rm_instance_capacity(inst), aux = p->nnew < cap ? p->nnew : cap;
    if (attrs || p->nnew > aux) {
        if (!(dict = attrs ? rm_dict_copy(attrs) : rm_dict_new())) return -1;
        for (size_t i = 0; i < p->nold + p->nnew; i++) {
            rm_object *name = i < p->nold ? rm_tuple_get(o->cls_fields, i) : rm_tuple_get(n->cls_fields, i - p->nold);
            if (rm_dict_get(dict, name) && rm_dict_del(dict, name) < 0) return -1;
        }
        for (size_t j = aux; j < p->nnew; j++)
            if (rm_dict_set(dict, rm_tuple_get(n->cls_fields, j), rm_tuple_get(values, j)) < 0) return -1;
    }
    if (rm_journal((rm_object *)inst) < 0) return -1;
    /* Nothing can fail from here on. */
    size_t old_aux = inst->ob_aux;
    for (size_t j = 0; j < aux; j++) inst->slots[j] = rm_tuple_get(values, j);
    for (size_t x = aux; x < old_aux; x++) inst->slots[x] = NULL;
    inst->ob_flags &= ~(RM_FLAG_WORD_FIELD | RM_FLAG_WORD_STASH);
    inst->dict = dict;
    inst->ob_aux = (uint16_t)aux;
    return 0;
}

/* ---- The pass ---- */

/* Runs the initializers of the fields the instance did not have. */
static int initialize(rm_instance_object *inst, rm_plan *p, rm_object *view) {
    rm_type *n = (rm_type *)p->new_cls;
    for (size_t j = 0; j < p->init_end; j++) {
        if (!p->inits[j]) continue;
        if (rm_fault_at(RM_FAULT_FIELD_INIT)) return -1;
        rm_object *value = rm_function_invoke(p->inits[j], (rm_object *)inst, &view, 1);
        if (!value) return -1;
        /* A slot the walk kept for the field: an added field, which a
           rollback drops, so the write needs no journal. */
        rm_object **slot = rm_field_slot(inst, j);
        if (slot) *slot = value;
        else if (rm_setattr_obj((rm_object *)inst, rm_tuple_get(n->cls_fields, j), value) < 0) return -1;
        p->stats.initialized++;
    }
    return 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What one class needs after the walk, made when its first instance is
   met: the view and the scratch tuple, both transaction objects. */
typedef struct class_state {
    rm_object *view;   /* for initializers and 3-argument hooks */
    rm_object *values; /* for moves */
    bool ready;
} class_state;

static int prepare(rm_plan *p, class_state *c) {
    c->ready = true;
    if ((p->init_end || p->hook_nargs == 3) && !(c->view = oldview_new(p->old_cls, p->nold))) return -1;
    if (p->layout && p->stats.in_place < p->stats.instances && !(c->values = rm_tuple_new(p->nnew))) return -1;
    return 0;
}

/* Steps 1-3 of the top of this file for one instance. */
static int migrate_one(rm_plan *p, class_state *c, const rm_plan_entry *entry, rm_migration *result) {
    rm_instance_object *inst = (rm_instance_object *)entry->inst;
    uint32_t shape = entry->shape;
    result->failed_instance = p->done++;
    if (c->view) fill_view(c->view, inst, p, shape);
    if (p->layout && (shape & RM_SHAPE_MOVE)) {
        result->failed_step = "move";
        if (move_one(inst, p, c->values) < 0) return -1;
        p->stats.moved++;
    }
    result->failed_step = "field initializer";
    if (p->init_end && initialize(inst, p, c->view) < 0) return -1;
    if (p->hook) {
        result->failed_step = "__reload__";
        rm_object *args[3] = {p->hook_args[0], p->hook_args[1], c->view};
        if (rm_fault_at(RM_FAULT_CLASS_HOOK) || !rm_function_invoke(p->hook, (rm_object *)inst, args, p->hook_nargs))
            return -1;
        p->stats.hooks_run++;
    }
    return 0;
}

/*
** A walker's entries come in allocation order, the classes interleaved.
** Taking them a chunk at a time, class by class inside the chunk, keeps
** memory reads local (a chunk's instances fit in the L2 cache; one class's
** instances alone are strided across the heap) and lets each class be
** timed with a few clock reads per chunk.
*/
#define CHUNK 4096

typedef struct grouping {
    uint32_t order[CHUNK]; /* entry indices, grouped by plan */
    size_t *starts;        /* per plan: where its group starts, then ends */
    uint32_t touched[CHUNK];
    size_t ntouched;
} grouping;

static void group_chunk(grouping *g, const rm_plan_entry *entries, size_t n) {
    g->ntouched = 0;
    for (size_t e = 0; e < n; e++) {
        uint32_t plan = entries[e].plan;
        if (g->starts[plan]++ == 0) g->touched[g->ntouched++] = plan;
    }
    size_t at = 0;
    for (size_t t = 0; t < g->ntouched; t++) {
        size_t count = g->starts[g->touched[t]];
        g->starts[g->touched[t]] = at;
        at += count;
    }
    for (size_t e = 0; e < n; e++) g->order[g->starts[entries[e].plan]++] = (uint32_t)e;
}

/* Whether a plan leaves anything for this pass. */
static bool has_work(const rm_plan *p) { return p->post || (p->layout && p->stats.in_place < p->stats.instances); }

static int migrate_chunk(rm_plans *plans, class_state *states, grouping *g, const rm_plan_entry *entries, size_t n,
                         rm_migration *result) {
    group_chunk(g, entries, n);
    size_t at = 0;
    int rc = 0;
    for (size_t t = 0; t < g->ntouched && rc == 0; t++) {
        uint32_t plan = g->touched[t];
        size_t end = g->starts[plan];
        g->starts[plan] = 0;
        rm_plan *p = &plans->items[plan];
        class_state *c = &states[plan];
        if (!has_work(p)) { /* listed for the undo and the commit only */
            at = end;
            continue;
        }
        result->failed_class = plan;
        double t0 = now_seconds();
        if (!c->ready && prepare(p, c) < 0) rc = -1;
        for (; at < end && rc == 0; at++) rc = migrate_one(p, c, &entries[g->order[at]], result);
        p->stats.seconds += now_seconds() - t0;
    }
    for (size_t t = 0; t < g->ntouched; t++) g->starts[g->touched[t]] = 0;
    return rc;
}

int rm_migrate_instances(rm_migration *result) {
    memset(result, 0, sizeof *result);
    rm_plans *plans = rm_txn_plans();
    if (!plans) {
        rm_error_set(RM_ERR_RELOAD, "rm_migrate_instances: no transaction");
        return -1;
    }
    /* Made per call: a few pages. */
    class_state *states = calloc(plans->count ? plans->count : 1, sizeof *states);
    grouping *g = malloc(sizeof *g);
    size_t *starts = calloc(plans->count ? plans->count : 1, sizeof *starts);
    int rc = 0;
    if (!states || !g || !starts) {
        rm_error_set(RM_ERR_MEMORY, "out of memory migrating instances");
        rc = -1;
    } else {
        g->starts = starts;
        bool any = false;
        for (size_t i = 0; i < plans->count; i++) any |= has_work(&plans->items[i]);
        /* The views are made per class and live in GC memory: a root while
           the pass runs. */
        GC_add_roots(states, states + (plans->count ? plans->count : 1));
        for (unsigned k = 0; any && k < plans->nparts && rc == 0; k++) {
            const rm_plan_part *part = &plans->parts[k];
            for (size_t start = 0; start < part->count && rc == 0; start += CHUNK) {
                size_t n = part->count - start < CHUNK ? part->count - start : CHUNK;
                rc = migrate_chunk(plans, states, g, part->items + start, n, result);
            }
        }
        for (size_t i = 0; i < plans->count; i++) {
            /* Emptied: a view kept past its call reads nothing stale. */
            oldview_object *view = (oldview_object *)states[i].view;
            if (view) view->old_cls = view->values = NULL;
        }
        GC_remove_roots(states, states + (plans->count ? plans->count : 1));
    }
    for (size_t i = 0; i < plans->count; i++) {
        rm_plan *p = &plans->items[i];
        result->migrated += p->layout ? p->stats.in_place + p->stats.moved : 0;
        result->hooks_run += p->stats.hooks_run;
        result->initialized += p->stats.initialized;
    }
    free(states);
    free(g);
    free(starts);
    return rc;
}
