/*
** migrate.c: what a reload does to old instances after the remap walk.
**
** The walk already moved every instance that had room to its new class's
** layout (layout.c). For each instance the walk listed (see migrate_part
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
#include "struct.h"

#include <stdlib.h>
#include <time.h>

/* ---- Reading old fields ---- */

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
   the stash if it was removed (stashed in the order of p->removed). */
static rm_object *migrated_field(rm_instance_object *inst, const rm_plan *p, uint32_t shape, size_t i) {
    rm_type *o = (rm_type *)p->old_cls;
    int32_t j = p->inverse[i];
    size_t stored = RM_SHAPE_AUX(shape) + ((shape & RM_SHAPE_WORD) != 0);
    if (j >= 0) {
        /* Kept: stored, or an attribute under its new name (an
           initializer's setattr may have moved it from the dict word into
           a new dict), or the default, which the walk kept the same. */
        rm_object **slot = rm_field_slot(inst, (size_t)j);
        if (slot) return stored_or_none(slot);
        rm_object *attrs = rm_attr_dict(inst);
        rm_object *v = attrs ? rm_dict_get(attrs, rm_tuple_get(((rm_type *)p->new_cls)->cls_fields, (size_t)j)) : NULL;
        return v ? v : rm_tuple_get(o->cls_defaults, i);
    }
    if (i >= stored) return unstored(inst, o, i);
    size_t nth = 0;
    while (p->removed[nth] != (int32_t)i) nth++;
    return stored_or_none(rm_stash_slot(inst, rm_shape_capacity(inst, shape), nth));
}

/* ---- The old-instance view ----
** One per class. For an instance the walk migrated it reads the old fields
** where they are now (the removed ones in the stash): nothing is copied per
** instance. For one to be moved it holds a copy made before the move. For
** a struct instance it boxes a field when it is read, from the old bytes
** the walk kept (boxing every field of every instance up front allocated
** about 100 bytes an instance: at 10^7 instances, a collection of the
** whole heap in the middle of the pass). Once the migration is over it is
** emptied: kept past its call, it reads nothing stale. */
typedef struct oldview_object {
    RM_OBJECT_HEADER;
    rm_object *old_cls; /* NULL once emptied */
    rm_object *inst;    /* the instance being migrated */
    rm_object *values;  /* tuple: the copy, for a moved instance */
    const unsigned char *bytes; /* a struct instance's old bytes: the walk's
                                   copy, or the old instance of a move */
    rm_object *last_name; /* the name last read, and its old index */
    int64_t last_index;
    const rm_plan *plan;
    uint32_t shape;
    bool copied;
} oldview_object;

/* References of a view: its old class, instance, copy and last name
   (fixed offsets). */
static int oldview_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    oldview_object *v = (oldview_object *)self;
    RM_VISIT(&v->old_cls);
    RM_VISIT(&v->inst);
    RM_VISIT(&v->values);
    RM_VISIT(&v->last_name);
    return 0;
}

rm_type rm_oldview_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "old instance",
    .tp_basicsize = sizeof(oldview_object),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 4,
    .tp_fixed = {offsetof(oldview_object, old_cls), offsetof(oldview_object, inst), offsetof(oldview_object, values),
                 offsetof(oldview_object, last_name)},
    .tp_traverse = oldview_traverse,
};

rm_object *rm_oldview_getattr(rm_object *view, rm_object *name) {
    oldview_object *v = (oldview_object *)view;
    if (!v->old_cls) {
        rm_error_set(RM_ERR_RUNTIME, "an old-instance view is valid only during the initializer or hook given it");
        return NULL;
    }
    /* Initializers read the same name for every instance. */
    if (name != v->last_name) {
        rm_object *at = rm_dict_get(((rm_type *)v->old_cls)->cls_index, name);
        if (!at) {
            rm_error_set(RM_ERR_ATTRIBUTE, "old %s instances had no field '%s'", rm_type_name((rm_type *)v->old_cls),
                         rm_str_cstr(name));
            return NULL;
        }
        v->last_name = name;
        v->last_index = rm_int_value(at);
    }
    size_t i = (size_t)v->last_index;
    if (v->bytes) return rm_struct_box(rm_struct_of((rm_type *)v->old_cls), i, v->bytes);
    if (v->copied) return rm_tuple_get(v->values, i);
    return migrated_field((rm_instance_object *)v->inst, v->plan, v->shape, i);
}

static rm_object *oldview_new(rm_plan *p) {
    rm_object *values = rm_tuple_new(p->nold);
    oldview_object *v = values ? (oldview_object *)rm_alloc(&rm_oldview_type, sizeof *v) : NULL;
    if (!v) return NULL;
    v->old_cls = p->old_cls;
    v->values = values;
    v->plan = p;
    return (rm_object *)v;
}

/* Points the view at the next instance. Copies it if it is to be moved,
   or if a removed value is stashed in its dict word, which the first
   attribute an initializer or hook sets on it replaces with a dict. */
static int view_instance(rm_object *view, rm_instance_object *inst, uint32_t shape, const uintptr_t *save) {
    oldview_object *v = (oldview_object *)view;
    v->inst = (rm_object *)inst;
    v->shape = shape;
    v->copied = false;
    v->bytes = NULL;
    if (inst->ob_flags & RM_FLAG_STRUCT) {
        /* The bytes the walk saved (or, when it converted nothing, the
           instance itself). Module code cannot write them: the copy is
           the walk's, and a moved instance's old one is reachable from
           nowhere else now. */
        v->bytes = save ? (const unsigned char *)save : (const unsigned char *)inst;
        return 0;
    }
    bool moving = (shape & RM_SHAPE_MOVE) != 0;
    if (!moving && !(inst->ob_flags & RM_FLAG_WORD_STASH)) return 0;
    for (size_t i = 0; i < v->plan->nold; i++)
        rm_tuple_set(v->values, i, moving ? old_layout_field(inst, (rm_type *)v->plan->old_cls, i)
                                          : migrated_field(inst, v->plan, shape, i));
    v->copied = true;
    return 0;
}

static void view_empty(rm_object *view) {
    oldview_object *v = (oldview_object *)view;
    v->old_cls = v->inst = v->values = v->last_name = NULL;
    v->bytes = NULL;
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
    /* A new field gets its default: an attribute of its name is shadowed
       (and dropped from the dict below). */
    for (size_t j = 0; j < p->nnew; j++)
        rm_tuple_set(values, j, p->src[j] >= 0 ? old_layout_field(inst, o, (size_t)p->src[j])
                                              : rm_tuple_get(n->cls_defaults, j));
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
    for (size_t k = 0; k < p->ninits; k++) {
        size_t j = p->init_fields[k];
        if (rm_fault_at(RM_FAULT_FIELD_INIT)) return -1;
        rm_object *value = rm_function_invoke(p->inits[j], (rm_object *)inst, &view, 1);
        if (!value) return -1;
        if (inst->ob_flags & RM_FLAG_STRUCT) {
            /* Converted into the field's bytes, unjournaled: the rollback
               puts the walk's copy back. */
            if (rm_struct_store(n, j, (char *)inst + rm_struct_of(n)->fields[j].offset, value) < 0) return -1;
            p->stats.initialized++;
            continue;
        }
        /* A slot the walk kept for the field: an added field, which a
           rollback drops, so the write needs no journal. */
        rm_object **slot = rm_field_slot(inst, j);
        if (slot) *slot = value;
        else if (rm_setattr_full((rm_object *)inst, rm_tuple_get(n->cls_fields, j), value) < 0) return -1;
        p->stats.initialized++;
    }
    return 0;
}

/* What one class needs after the walk, made when its first instance is
   met: the view and the scratch tuple, both transaction objects. */
typedef struct class_state {
    rm_object *view;   /* for initializers and 3-argument hooks */
    rm_object *values; /* for moves */
    bool ready;
} class_state;

/* Whether the walk left instances of a plan to be moved here. (The walk
   moves struct instances itself: struct_reload.c.) */
static bool has_moves(const rm_plan *p) { return !p->sp && p->layout && p->stats.in_place < p->stats.instances; }

static int prepare(rm_plan *p, class_state *c) {
    c->ready = true;
    if ((p->init_end || p->hook_nargs == 3) && !(c->view = oldview_new(p))) return -1;
    if (has_moves(p) && !(c->values = rm_tuple_new(p->nnew))) return -1;
    return 0;
}

/* Steps 1-3 of the top of this file for one instance. */
static int migrate_one(rm_plan *p, class_state *c, const rm_plan_entry *entry, const uintptr_t *save,
                       rm_migration *result) {
    rm_instance_object *inst = (rm_instance_object *)entry->inst;
    uint32_t shape = entry->shape;
    result->failed_instance = p->done++;
    result->failed_step = "old view";
    if (c->view && view_instance(c->view, inst, shape, save) < 0) return -1;
    bool had_dict = !p->sp && rm_attr_dict(inst) != NULL;
    bool moved = (shape & RM_SHAPE_MOVE) && (p->sp || p->layout);
    if (p->sp && (shape & RM_SHAPE_MOVE)) {
        p->stats.moved++; /* by the walk (struct_reload.c) */
    } else if (p->layout && (shape & RM_SHAPE_MOVE)) {
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
    /* An initializer or hook that set an attribute no slot holds made a
       dict: the instance is not "in place" as the report means it. */
    if (!p->sp && !moved && !had_dict && rm_attr_dict(inst)) p->stats.given_dict++;
    return 0;
}

/*
** The entries are handled in the order the walkers listed them, which is
** allocation order, the classes interleaved: memory is read forward and
** the hardware prefetcher follows (grouping them by class, to time each
** class, read each class's instances strided across the heap and cost a
** fifth more). A class's time is therefore estimated: one instance in
** SAMPLE_EVERY, picked at random, is timed alone, and its class's time is
** its samples' sum scaled by its instances over its samples.
*/
#define SAMPLE_EVERY 32
/* How far ahead to prefetch instances: a few hundred ns of work ahead, as
   many misses in flight as a core keeps. */
#define PREFETCH_AHEAD 24

/* Whether a plan leaves anything for this pass. */
static bool has_work(const rm_plan *p) { return p->post || has_moves(p); }

typedef struct sampler {
    uint64_t state;
    double *seconds; /* per plan: sampled time */
    size_t *samples; /* per plan: instances timed */
} sampler;

static bool sample_next(sampler *s) {
    s->state ^= s->state << 13;
    s->state ^= s->state >> 7;
    s->state ^= s->state << 17;
    return s->state % SAMPLE_EVERY == 0;
}

static int migrate_part(rm_plans *plans, class_state *states, sampler *smp, const rm_plan_part *part,
                        const uintptr_t *saves, rm_migration *result) {
    for (size_t pos = 0; pos < part->count;) {
        /* A word ahead that is an address (not a tagged one) is prefetched. */
        if (pos + PREFETCH_AHEAD < part->count && !(part->items[pos + PREFETCH_AHEAD] & 1))
            __builtin_prefetch((void *)part->items[pos + PREFETCH_AHEAD], 1);
        rm_plan_entry read = rm_part_read(plans, part, &pos);
        const rm_plan_entry *entry = &read;
        rm_plan *p = &plans->items[entry->plan];
        class_state *c = &states[entry->plan];
        /* A struct instance's saved bytes, in entry order (struct_reload.c). */
        const uintptr_t *save = p->sp ? saves : NULL;
        if (p->sp && (read.shape & RM_SHAPE_MOVE)) save = (const uintptr_t *)saves[0]; /* the old instance */
        saves += p->sp ? rm_struct_entry_words(p, read.shape) : 0;
        if (!has_work(p)) continue; /* listed for the undo and the commit only */
        result->failed_class = entry->plan;
        if (!c->ready && prepare(p, c) < 0) return -1;
        bool timed = sample_next(smp);
        double t0 = timed ? rm_now_seconds() : 0;
        if (migrate_one(p, c, entry, save, result) < 0) return -1;
        if (timed) {
            smp->seconds[entry->plan] += rm_now_seconds() - t0;
            smp->samples[entry->plan]++;
        }
    }
    return 0;
}

int rm_migrate_instances(rm_migration *result) {
    memset(result, 0, sizeof *result);
    rm_plans *plans = rm_txn_plans();
    if (!plans) {
        rm_error_set(RM_ERR_RELOAD, "rm_migrate_instances: no transaction");
        return -1;
    }
    size_t n = plans->count ? plans->count : 1;
    class_state *states = calloc(n, sizeof *states);
    sampler smp = {0x9e3779b97f4a7c15ULL, calloc(n, sizeof(double)), calloc(n, sizeof(size_t))};
    int rc = 0;
    bool any = false;
    double pass_start = 0, pass_seconds = 0;
    for (size_t i = 0; i < plans->count; i++) {
        rm_plan *p = &plans->items[i];
        any |= has_work(p);
        /* Without module code to run on them, a struct plan's moved
           instances need no visit here (at 10^6 moves the visits cost
           11-17 ms): the walk counted them. */
        if (p->sp && !p->post) p->stats.moved = p->stats.instances - p->stats.in_place;
    }
    if (!states || !smp.seconds || !smp.samples) {
        rm_error_set(RM_ERR_MEMORY, "out of memory migrating instances");
        rc = -1;
    } else if (any) {
        pass_start = rm_now_seconds();
        /* The views live in GC memory: a root while the pass runs. */
        GC_add_roots(states, states + n);
        for (unsigned k = 0; k < plans->nparts && rc == 0; k++)
            rc = migrate_part(plans, states, &smp, &plans->parts[k], plans->saves[k].items, result);
        for (size_t i = 0; i < plans->count; i++)
            if (states[i].view) view_empty(states[i].view);
        GC_remove_roots(states, states + n);
        pass_seconds = rm_now_seconds() - pass_start;
    }
    double estimated = 0;
    for (size_t i = 0; i < plans->count; i++) {
        rm_plan *p = &plans->items[i];
        size_t handled = p->done;
        if (smp.samples && smp.samples[i])
            p->stats.seconds = smp.seconds[i] * (double)handled / (double)smp.samples[i];
        estimated += p->stats.seconds;
    }
    /* Scaled estimates can add up to more than the pass took (a slow
       sample): scale them down so that no class reports more than all. */
    double scale = estimated > pass_seconds ? pass_seconds / estimated : 1;
    for (size_t i = 0; i < plans->count; i++) {
        rm_plan *p = &plans->items[i];
        p->stats.seconds *= scale;
        result->migrated += p->layout ? p->stats.in_place + p->stats.moved : 0;
        result->hooks_run += p->stats.hooks_run;
        result->initialized += p->stats.initialized;
    }
    free(states);
    free(smp.seconds);
    free(smp.samples);
    return rc;
}
