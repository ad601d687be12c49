/*
** remap_walk.c: one walker thread of the in-place remap walk (remap.c
** prepares it, starts the walkers and merges their results).
**
** A walker takes chunks of the registry of live container objects (heap.c)
** and rewrites every slot whose value is an old object of the mapping, by
** the object's layout: instances, fixed slots, tuples and lists inline in
** the hot loop; tables, weakrefs and traverse functions through the
** helpers above it. Leaves (str, int, float, capsule) are skipped: they
** hold no reference but an immortal type, which can never be mapped.
** Each slot is tested against the mapping from its address alone: the walk
** never reads the object a slot points to.
*/
#include "walk.h"
#include "struct.h"

/* Shared by the walkers: the next chunk of the registry to take. */
static size_t next_chunk;
static size_t registry_count;
static uintptr_t *registry_items;

void rm_walk_registry(uintptr_t *items, size_t count) {
    registry_items = items;
    registry_count = count;
    next_chunk = 0;
}

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
int rm_walk_slot_visitor(rm_object **slot, void *arg) {
    walker *w = arg;
    w->rewritten += remap_slot(w, w->owner, RM_WHERE(RM_WHERE_ADDRESS, (uintptr_t)slot >> 2), slot);
    return 0;
}

/*
** The entries of a dict or set. A key slot that is rewritten, or that holds
** a new object whose identity hash is about to change, puts the table in
** the report. Tables with tuple or bound-method keys are checked after the
** walk, when the keys' items have been rewritten too. Returns the slots
** rewritten.
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

/*
** A struct class's field table keeps its defaults' bytes (init), object
** defaults included, in a block the class points at, which is no object
** of the registry: rewritten with the class, each slot by its address (as
** a traverse function's), so that instances made after the reload start
** with the new objects. (Left alone, a default naming a replaced function
** or a moved struct instance gave every later instance the old one.)
*/
static size_t remap_struct_defaults(walker *w, rm_type *c) {
    const rm_struct_layout *l = c->cls_struct;
    size_t n = 0;
    for (size_t j = 0; j < l->nrefs; j++) {
        rm_object **slot = (rm_object **)(l->init + l->refs[j]);
        n += (size_t)remap_slot(w, (rm_object *)c, RM_WHERE(RM_WHERE_ADDRESS, (uintptr_t)slot >> 2), slot);
    }
    return n;
}

static size_t remap_traverse(walker *w, rm_object *o) {
    size_t before = w->rewritten;
    w->owner = o;
    o->ob_type->tp_traverse(o, rm_walk_slot_visitor, w);
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

/*
** The defaults a conversion just wrote (added fields, array elements past
** the old length) come from the new class's init block, which this walker
** or another may not have rewritten yet (remap_struct_defaults): those
** slots are looked up once more. Kept fields were rewritten before the
** conversion and are not: a new object can be a moved instance's new
** address, which lies among the old ones in a reused heap, and its
** lookup a cache miss in the moves index (at 10^7 moves, looking up every
** reference slot again took a third of the walk). The slots written here
** are new ones, which a rollback drops with the conversion.
*/
static void remap_converted(const rm_probe_view *pv, rm_object *o, const rm_plan *p) {
    size_t nrefs;
    const uint32_t *refs = rm_struct_plan_default_refs(p, &nrefs);
    for (size_t j = 0; j < nrefs; j++) {
        rm_object **slot = (rm_object **)((char *)o + refs[j]);
        rm_object *n = *slot ? rm_probe_view_get(pv, *slot) : NULL;
        if (n) *slot = (rm_object *)((uintptr_t)n & ~RM_TAG_LOG);
    }
}

/*
** A struct instance whose class slot was rewritten from `old_cls`, in a
** transaction: converted in place (struct_reload.c) after its bytes are
** saved, and listed. Room for the entry and the copy is made first: an
** instance that cannot be listed gets its old class back, untouched, so
** the undo walk reads it in the layout it has; the walk reports the
** failure.
*/
static void plan_struct(walker *w, const rm_probe_view *pv, rm_object *old_cls, rm_object *inst) {
    uintptr_t at = old_cls->ob_aux;
    if (at == RM_PLAN_IN_PROBE) at = (uintptr_t)rm_probe_get(&w->plans->by_old, old_cls);
    if (!at) return;
    const rm_plan *p = &w->plans->items[at - 1];
    /* Moved (rm_struct_plan_moves mapped it): the new instance is filled,
       this one keeps its bytes; the entry names the new one, its save word
       the old one. */
    rm_object *to = rm_struct_plan_grows(p) ? rm_probe_view_get(pv, inst) : NULL;
    if (to) {
        to = (rm_object *)((uintptr_t)to & ~RM_TAG_LOG);
        if (!rm_part_room(&w->part) || (w->saves.count + 1 > w->saves.capacity && !rm_part_grow(&w->saves))) {
            inst->ob_type = (rm_type *)old_cls;
            w->lists_failed = true;
            return;
        }
        rm_struct_move(inst, to, p);
        remap_converted(pv, to, p);
        w->counts[2 * (at - 1)]++;
        w->saves.items[w->saves.count++] = (uintptr_t)inst;
        rm_part_push(&w->part, p, at - 1, to, (uint32_t)p->nold | RM_SHAPE_MOVE);
        return;
    }
    size_t words = rm_struct_save_words(p);
    rm_plan_part *save = &w->saves;
    bool room = rm_part_room(&w->part);
    while (room && save->count + words > save->capacity) room = rm_part_grow(save);
    if (!room) {
        inst->ob_type = (rm_type *)old_cls;
        w->lists_failed = true;
        return;
    }
    size_t *counts = &w->counts[2 * (at - 1)];
    counts[0]++;
    if (p->sp) {
        rm_struct_migrate(inst, p, save->items + save->count);
        remap_converted(pv, inst, p);
        save->count += words;
        counts[1]++;
    }
    if (p->sp || p->post) rm_part_push(&w->part, p, at - 1, inst, p->sp ? (uint32_t)p->nold : (uint32_t)p->nold | RM_SHAPE_SAME);
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

/* How far ahead, behind the object prefetch, the walk reads a struct
   instance's reference slots to prefetch the moves-index values they will
   load (and its own new instance, which its move writes): with 10^6
   moved instances each referring to a random other one, the load of the
   value was half the walk. (A stage further ahead for the bitmap words
   and counts, BITS_AHEAD below, is no better at 10^6, where they fit in
   L3, and better at 10^7, where they do not.) */
#define MOVES_AHEAD 8

/* How far ahead a walk with moves prefetches the objects, and the moves
   index's bitmap words and counts their references will read (the values
   come after them: MOVES_AHEAD). At 10^7 moved instances the bitmap and
   the counts (18 MB) no longer fit in cache, and reading them at
   MOVES_AHEAD stalled: prefetched a stage earlier, the walk took 970 to
   1010 ms instead of 1170 (one run each). */
#define MOVES_OBJECT_AHEAD 32
#define BITS_AHEAD 16

/* The layout of a struct instance the walk will visit, or NULL (not a
   struct instance, or a move's new instance that another walker fills). */
static inline const rm_struct_layout *struct_ahead(const rm_object *o) {
    if (__atomic_load_n(&o->ob_flags, __ATOMIC_ACQUIRE) & RM_FLAG_MOVE_TARGET) return NULL;
    const rm_type *t = o->ob_type;
    return t->tp_layout == RM_LAYOUT_STRUCT ? t->cls_struct : NULL;
}

/* The moves index's words a struct instance's references will read. */
static inline void prefetch_bits(const rm_probe_view *pv, const rm_object *o) {
    const rm_struct_layout *l = struct_ahead(o);
    if (!l) return;
    uintptr_t d = (uintptr_t)o - pv->mlo;
    if (d < pv->mspan) __builtin_prefetch(&pv->mwords[(d >> pv->mshift) >> 6]);
    for (size_t j = 0; j < l->nrefs; j++) {
        d = *(const uintptr_t *)((const char *)o + l->refs[j]) - pv->mlo;
        if (d >= pv->mspan) continue;
        __builtin_prefetch(&pv->mwords[(d >> pv->mshift) >> 6]);
    }
}

static inline void prefetch_moves(const rm_probe_view *pv, const rm_object *o) {
    const rm_struct_layout *l = struct_ahead(o);
    if (!l) return;
    rm_object *to = rm_moves_lookup(pv->mlo, pv->mspan, pv->mshift, pv->mwords, pv->mvals, (uintptr_t)o);
    if (to) __builtin_prefetch(to, 1);
    for (size_t j = 0; j < l->nrefs; j++) {
        uintptr_t ref = *(const uintptr_t *)((const char *)o + l->refs[j]);
        rm_object *const *at = rm_moves_find(pv->mlo, pv->mspan, pv->mshift, pv->mwords, pv->mvals, ref);
        if (at) __builtin_prefetch(at);
    }
}

/*
** One walker thread: takes chunks of the registry until none is left and
** visits each object: its type slot, then its slots by layout.
*/
void *rm_walk_thread(void *arg) {
    walker *w = arg;
    const rm_probe_view pv = rm_probe_view_of(w->olds);
    const size_t ahead = pv.mspan ? MOVES_OBJECT_AHEAD : PREFETCH_AHEAD;
    const bool list_instances = w->list_instances;
    size_t slots = 0, rewritten = 0, bytes = 0, objects = 0;
    size_t instances_touched = 0, instance_rewrites = 0;
    for (;;) {
        size_t start = __atomic_fetch_add(&next_chunk, RM_WALK_CHUNK, __ATOMIC_RELAXED);
        if (start >= registry_count) break;
        size_t end = start + RM_WALK_CHUNK < registry_count ? start + RM_WALK_CHUNK : registry_count;
        for (size_t i = start; i < end; i++) {
            if (i + ahead < end) __builtin_prefetch(RM_REVEAL(registry_items[i + ahead]), 1);
            if (pv.mspan && i + BITS_AHEAD < end) prefetch_bits(&pv, RM_REVEAL(registry_items[i + BITS_AHEAD]));
            if (pv.mspan && i + MOVES_AHEAD < end) prefetch_moves(&pv, RM_REVEAL(registry_items[i + MOVES_AHEAD]));
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
            case RM_LAYOUT_STRUCT: {
                /* Its class's field table lists its reference slots (in the
                   layout it had when the walk reached it: `t`'s). */
                const rm_struct_layout *l = t->cls_struct;
                /* A move's new instance: its walker fills it (plan_struct). */
                if (__atomic_load_n(&o->ob_flags, __ATOMIC_ACQUIRE) & RM_FLAG_MOVE_TARGET) break;
                for (size_t j = 0; j < l->nrefs; j++)
                    REMAP_SLOT((rm_object **)((char *)o + l->refs[j]), RM_WHERE(RM_WHERE_OFFSET, l->refs[j]));
                slots += l->nrefs;
                if (class_changed && w->plans) plan_struct(w, &pv, (rm_object *)t, o);
                else if (class_changed && list_instances) objvec_push(&w->instances, o);
                break;
            }
            case RM_LAYOUT_FIXED:
                for (size_t j = 0; j < t->tp_nfixed; j++)
                    REMAP_SLOT((rm_object **)((char *)o + t->tp_fixed[j]), RM_WHERE(RM_WHERE_OFFSET, t->tp_fixed[j]));
                slots += t->tp_nfixed;
                if (t == &rm_class_type && ((rm_type *)o)->cls_struct) n += remap_struct_defaults(w, (rm_type *)o);
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
