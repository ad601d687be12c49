/*
** layout.h: moving instances between field layouts during a reload. Shared
** by layout_plan.c (plans), layout.c (the walk's part, undo and commit),
** remap_walk.c (the walk migrates as it goes), migrate.c (what runs after
** the walk) and txn.c.
**
** An instance stores fields [0, ob_aux) in inline slots, and field ob_aux
** in its dict word when RM_FLAG_WORD_FIELD says so; a field it does not
** store is in its attribute dict (by name) or has the class's default.
** When a reload replaces a class with one whose fields differ, each old
** instance is migrated in place during the remap walk if its allocation
** has room (Boehm rounds sizes up to 16 bytes; the dict word is free when
** there is no attribute dict): kept fields are moved to their new slots,
** added ones get their default or are left to it, and the values of
** removed fields are stashed past the new slots until the transaction ends
** (the undo and the hooks read them there; the dict word takes one if the
** slots are full, under RM_FLAG_WORD_STASH). An instance without room is
** listed and moved after the walk (migrate.c), journaled like any change.
*/
#ifndef REMAP_LAYOUT_H
#define REMAP_LAYOUT_H

#include "mapping.h"

#pragma GCC visibility push(hidden)

/* One instance the walk retyped, its layout before (the shape) and its
   plan (an index in rm_plans.items), as read back from a part. */
typedef struct rm_plan_entry {
    rm_object *inst;
    uint32_t shape;
    uint32_t plan;
} rm_plan_entry;

/*
** One walker's entries, in the order it visited them (allocation order, so
** memory is read forward), as words in malloc memory; a root once the walk
** is over, so the instances in it stay alive. An entry is the instance's
** address, followed by a tagged word (low bit set: never an address) with
** its shape and plan, unless both are the usual ones: the shape of an
** instance that stored all its class's fields, and the plan its new class
** names in its header (rm_plan.implied). At 10^6 instances that is 8 MB,
** not 16.
*/
typedef struct rm_plan_part {
    uintptr_t *items;
    size_t count, capacity; /* in words */
} rm_plan_part;

/* Makes room for one more entry (two words); false if out of memory. */
bool rm_part_grow(rm_plan_part *part);
static inline bool rm_part_room(rm_plan_part *part) {
    return part->count + 2 <= part->capacity || rm_part_grow(part);
}

#define RM_SHAPE_AUX(s) ((s) & 0xffffu) /* ob_aux before */
#define RM_SHAPE_WORD 0x10000u           /* the dict word held a field */
#define RM_SHAPE_MOVE 0x20000u           /* no room: migrate.c moves it */
#define RM_SHAPE_SAME 0x40000u           /* the layout did not change */
#define RM_SHAPE_EXACT 0x80000u          /* capacity from GC_size, not the floor */

/* What a plan does to an instance that stores `s` fields (rules[s]), so
   the walk decides in a few loads. */
typedef struct rm_shape_rule {
    uint16_t need;    /* the new layout stores fields [0, need) at least */
    uint16_t stash;   /* removed values it must keep */
    bool feasible;    /* without reading the attribute dict */
    bool same;        /* nothing moves: the instance stays as it is */
} rm_shape_rule;

/*
** What a reload does to the instances of one replaced class. Built before
** the walk, kept until the transaction ends. Lives in an uncollectable
** block (the pointers in it are scanned); its arrays are GC blocks.
*/
typedef struct rm_plan {
    rm_object *old_cls, *new_cls;
    size_t nold, nnew;
    bool layout;       /* the fields or their defaults differ */
    bool listed;       /* instances are listed for the phase after the walk */
    int32_t *src;      /* [nnew]: the old field each new one takes, or -1 */
    uint8_t *lazy;     /* [nnew]: may stay unstored (same name, same default) */
    int32_t *inverse;  /* [nold]: the new field each old one goes to, or -1 */
    int32_t *removed;  /* the old fields no new one takes, ascending */
    size_t nremoved;
    size_t init_end;   /* 1 + the last field with an initializer, or 0 */
    rm_shape_rule *rules; /* [nold + 1] */
    bool post;         /* initializers or a hook run after the walk */
    bool same_names;   /* every field keeps its name: an attribute dict
                          cannot hold a name whose meaning changes */
    bool fresh;        /* new_cls was made in this transaction */
    bool implied;      /* new_cls's header names this plan (see rm_plan_part) */
    rm_object **inits; /* [nnew]: initializer of an added field, or NULL */
    uint16_t *init_fields; /* the fields with an initializer, in order */
    size_t ninits;
    rm_object *hook;   /* the new class's __reload__, or NULL */
    rm_object *hook_args[2]; /* added, removed: tuples of names */
    size_t hook_nargs;
    size_t done;       /* entries handled after the walk so far */
    /* Struct classes (struct_reload.c): how the walk converts an
       instance's bytes; NULL for classes with slots. */
    const struct rm_struct_plan *sp;
    rm_class_migration stats;
} rm_plan;

/* Inline slots an instance's allocation holds. */
static inline size_t rm_instance_capacity(rm_instance_object *inst) {
    return (GC_size(inst) - sizeof(rm_instance_object)) / sizeof(rm_object *);
}

/* At least the inline slots it holds, without asking Boehm (whose block
   headers are a cache miss per instance on a large heap): its size when
   allocated was at least the header and its slots, rounded up to Boehm's
   16-byte granule. */
static inline size_t rm_capacity_floor(size_t slots) {
    size_t bytes = (sizeof(rm_instance_object) + slots * sizeof(rm_object *) + 15) & ~(size_t)15;
    return (bytes - sizeof(rm_instance_object)) / sizeof(rm_object *);
}

/* The capacity a migration used (stashed values are placed by it). */
static inline size_t rm_shape_capacity(rm_instance_object *inst, uint32_t shape) {
    return (shape & RM_SHAPE_EXACT) ? rm_instance_capacity(inst) : rm_capacity_floor(RM_SHAPE_AUX(shape));
}

/* Where the t-th stashed value of a migrated instance is: the slots past
   its fields, then the dict word. */
static inline rm_object **rm_stash_slot(rm_instance_object *inst, size_t cap, size_t t) {
    return inst->ob_aux + t < cap ? &inst->slots[inst->ob_aux + t] : &inst->dict;
}

/* The plans of a transaction and what the walk needs to find them. */
typedef struct rm_plans {
    rm_plan *items; /* uncollectable */
    size_t count;
    rm_probe by_old;         /* old class -> plan index + 1; the old class's
                                ob_aux holds it too, or RM_PLAN_IN_PROBE */
    rm_probe by_new;         /* new class -> plan index + 1, for the undo walk */
    size_t max_fields;       /* largest nold + nnew: the scratch a migration needs */
    rm_object **scratch;     /* max_fields slots for the undo, which must not allocate,
                                per undo walker (RM_UNDO_WALKERS of them) */
    rm_plan_part parts[RM_MAX_WALKERS]; /* the walkers' entries */
    rm_plan_part saves[RM_MAX_WALKERS]; /* the walkers' copies of the struct
                                           instances they converted, in the
                                           order of their entries (words) */
    unsigned nparts;
} rm_plans;

/* Builds a plan for every class -> class pair of the mapping. Plans that
   change nothing (same fields and defaults, no hook) are left out. -1 out
   of memory or a bad rule, with the error set. */
int rm_plans_build(const rm_mapping *m, rm_plans *plans);
void rm_plans_free(rm_plans *plans);

#define RM_PLAN_IN_PROBE 0xffffu

/* Appends an entry (room made first with rm_part_room). */
static inline void rm_part_push(rm_plan_part *part, const rm_plan *p, size_t plan, rm_object *inst, uint32_t shape) {
    part->items[part->count++] = (uintptr_t)inst;
    if (!p->implied || shape != (uint32_t)p->nold)
        part->items[part->count++] = ((uintptr_t)plan << 32) | ((uintptr_t)shape << 1) | 1;
}

/* Reads the entry at *pos and moves past it. */
static inline rm_plan_entry rm_part_read(const rm_plans *plans, const rm_plan_part *part, size_t *pos) {
    rm_object *inst = (rm_object *)part->items[(*pos)++];
    if (*pos < part->count && (part->items[*pos] & 1)) {
        uintptr_t meta = part->items[(*pos)++];
        return (rm_plan_entry){inst, (uint32_t)((meta >> 1) & 0x7fffffffu), (uint32_t)(meta >> 32)};
    }
    uint32_t plan = (uint32_t)inst->ob_type->ob_aux - 1;
    return (rm_plan_entry){inst, (uint32_t)plans->items[plan].nold, plan};
}

/* The walk's common case without a call: an instance whose fields stay
   where they are (a field added at the end, a rename). Returns its shape
   with RM_SHAPE_SAME, or 0: then rm_layout_migrate decides. */
static inline uint32_t rm_layout_same(const rm_instance_object *inst, const rm_plan *p) {
    bool word = (inst->ob_flags & RM_FLAG_WORD_FIELD) != 0;
    uint32_t shape = (uint32_t)inst->ob_aux | (word ? RM_SHAPE_WORD : 0) | RM_SHAPE_SAME;
    if (!p->layout) return shape;
    const rm_shape_rule *rule = &p->rules[inst->ob_aux + word];
    bool has_attrs = !word && inst->dict;
    if (!rule->feasible || !rule->same || p->init_end > rule->need || (has_attrs && !p->same_names)) return 0;
    return shape;
}

/* The walk's part, for one instance whose class slot was just rewritten
   from p->old_cls (its slots already remapped) and that rm_layout_same
   answered 0 for: migrates it in place if its allocation has room, else
   leaves it. Never fails, never allocates; `scratch` holds p->nold +
   p->nnew objects. Returns the shape to list. */
uint32_t rm_layout_migrate(rm_instance_object *inst, const rm_plan *p, const rm_probe_view *pv,
                           rm_object **scratch);

/* ---- Struct classes (struct_reload.c) ---- */
/* Fills the struct part of plan p (old and new classes both struct
   classes, fields matched): checks every kept field's conversion (a field
   whose change is refused and has an initializer becomes an added one),
   and that the new layout fits every instance. -1 with the error set,
   naming the class, the field and both kinds. */
int rm_struct_plan_build(rm_plan *p);
/* When some hook or initializer of the reload runs after the walk: gives an
   unchanged struct class's plan the copy of each instance that the other
   plans make (module code may write any instance directly). -1 if out of
   memory. */
int rm_struct_plan_keep(rm_plan *p);
/* Words the walk saves per instance of the plan (0: it converts nothing). */
size_t rm_struct_save_words(const rm_plan *p);
/* After every plan is built: whether the walk copies struct instances
   (see struct_reload.c). */
void rm_struct_plans_decide(rm_plans *plans);
/* Words an entry of the plan has in its walker's save list: the copy, or,
   for an instance moved to a new allocation, the old instance's address
   (the old instance is left as it was: it is the copy). */
static inline size_t rm_struct_entry_words(const rm_plan *p, uint32_t shape) {
    return (shape & RM_SHAPE_MOVE) ? 1 : rm_struct_save_words(p);
}
/* Before the walk: allocates a new instance for every instance of a
   planned struct class whose allocation is too small for its new layout,
   and maps the old one to it (`m` grows), keeping its identity hash
   (struct_moves.c). -1 with the error set (out of memory), nothing
   rewritten. */
int rm_struct_plan_moves(rm_plans *plans, rm_mapping *m);
/* Whether the plan's instances may have been given a new allocation. */
bool rm_struct_plan_grows(const rm_plan *p);
/* A growing plan's new layout: its size, what a moved instance is given,
   the smallest allocation an old instance may have, and whether no
   instance fits. */
void rm_struct_plan_growth(const rm_plan *p, size_t *size, size_t *alloc, size_t *old_min, bool *all_move);
/* The new layout's reference slots (byte offsets) that a conversion of
   the plan fills from the new class's defaults rather than from a kept
   field: the only ones the walk must look up again after it. */
const uint32_t *rm_struct_plan_default_refs(const rm_plan *p, size_t *n);
/* The walk's part for an instance `from` mapped to `to`: converts from's
   bytes into to's (from's reference slots already remapped), then gives
   from its old class back: it stays as it was, for the rollback. */
void rm_struct_move(rm_object *from, rm_object *to, const rm_plan *p);
/* The walk's part for a struct instance retyped from p->old_cls (its
   reference slots already remapped in the old layout): copies its bytes
   to `save` (rm_struct_save_words of them), then writes the new layout.
   Never fails, never allocates. */
void rm_struct_migrate(rm_object *inst, const rm_plan *p, uintptr_t *save);
/* Rollback: puts the saved bytes back and the old class in the type slot. */
void rm_struct_unmigrate(rm_object *inst, const rm_plan *p, const uintptr_t *save);
/* Zeros a struct instance past its header (a rolled-back move's target). */
void rm_struct_empty(rm_object *inst);

/* Rollback: puts every instance the walk migrated back in its old layout
   (its slots hold what the walk left; the inverse walk then undoes those
   rewrites). Never allocates. */
void rm_plans_undo(rm_plans *plans);
/* After the walk: the parts become roots. */
void rm_plans_walked(rm_plans *plans, unsigned nparts);
/* Whether the walk may leave a migrated instance out of the plan's list:
   nothing runs on it after the walk, and the undo walk can undo it from
   its class alone (it stored all the old fields, nothing is stashed, its
   class is new). It then carries RM_FLAG_MIGRATED. */
static inline bool rm_layout_unlisted(const rm_plan *p, uint32_t shape) {
    return p->fresh && !p->post && !(shape & (RM_SHAPE_MOVE | RM_SHAPE_SAME | RM_SHAPE_WORD | RM_SHAPE_EXACT)) &&
           RM_SHAPE_AUX(shape) == p->nold && p->rules[p->nold].stash == 0;
}
/* The undo walk's part: an instance carrying RM_FLAG_MIGRATED whose class
   is planned goes back to its old layout. */
void rm_layout_unmigrate_unlisted(rm_instance_object *inst, const rm_plan *p, rm_object **scratch);
/* Commit: clears the stashed values of removed fields. */
void rm_plans_commit(rm_plans *plans);

/* The plans of the active transaction (txn.c), or NULL. */
rm_plans *rm_txn_plans(void);

/* The old-instance view given to initializers and 3-argument hooks
   (migrate.c): a name -> value reader of the old fields. */
extern rm_type rm_oldview_type;
rm_object *rm_oldview_getattr(rm_object *view, rm_object *name);

#pragma GCC visibility pop

#endif
