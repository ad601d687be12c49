/*
** check.c: the heap checker and the referrer search. Both walk every object
** through its type's traverse, the same table the remap walk follows.
*/
#include "struct.h"

#include <stdlib.h>

/* A type is valid if it is a static or user type (immortal, its type is
   rm_type_type) or a class on the heap. */
bool rm_type_is_known(const rm_type *t) {
    if (!t) return false;
    if (t->ob_type == &rm_type_type) return (t->ob_flags & RM_FLAG_IMMORTAL) != 0;
    return t->ob_type == &rm_class_type && rm_is_heap_object((const rm_object *)t);
}

/* A reference is valid if it points at the start of a heap object with a
   valid type, or at an immortal object. */
static bool valid_reference(rm_object *v) {
    if (rm_is_heap_object(v)) return rm_type_is_known(v->ob_type);
    return (v->ob_flags & RM_FLAG_IMMORTAL) && rm_type_is_known(v->ob_type);
}

typedef struct check_state {
    rm_object *owner;
    size_t slot;
} check_state;

static int check_slot(rm_object **slot, void *arg) {
    check_state *s = arg;
    s->slot++;
    if (valid_reference(*slot)) return 0;
    if (s->owner)
        rm_error_set(RM_ERR_RUNTIME, "heap check: slot %zu of a %s at %p holds %p, not a valid object", s->slot - 1,
                     rm_type_name(s->owner->ob_type), (void *)s->owner, (void *)*slot);
    else
        rm_error_set(RM_ERR_RUNTIME, "heap check: a handle holds %p, not a valid object", (void *)*slot);
    return -1;
}

/*
** A fixed-layout type describes its references twice: its traverse
** function and the offsets the remap walk reads (tp_fixed). Every slot the
** traverse visits must be listed, and every listed slot that holds a
** reference must be visited (traverse skips NULL ones): a field added to
** one description only fails here (issue 24). Struct classes describe
** theirs once, in the field table (rm_struct_check).
*/
typedef struct fixed_check {
    rm_object *owner;
    uint32_t seen;  /* bit j: tp_fixed[j] was visited */
    long stray;     /* the offset of a visited slot tp_fixed lacks, or -1 */
} fixed_check;

static int fixed_slot(rm_object **slot, void *arg) {
    fixed_check *c = arg;
    size_t offset = (size_t)((char *)slot - (char *)c->owner);
    if (offset == 0) return 0; /* the type slot, visited by rm_traverse */
    /* Outside the object: a struct class's defaults (class.c), which the
       walk reads on their own. */
    if (offset >= c->owner->ob_type->tp_basicsize) return 0;
    const rm_type *t = c->owner->ob_type;
    for (size_t j = 0; j < t->tp_nfixed; j++)
        if (t->tp_fixed[j] == offset) {
            c->seen |= 1u << j;
            return 0;
        }
    c->stray = (long)offset;
    return 1;
}

static int check_fixed(rm_object *o) {
    const rm_type *t = o->ob_type;
    fixed_check c = {o, 0, -1};
    if (t->tp_traverse) rm_traverse(o, fixed_slot, &c);
    if (c.stray >= 0) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: type %s: traverse visits the slot at offset %ld, which its tp_fixed "
                     "(what the remap walk reads) lacks", rm_type_name(t), c.stray);
        return -1;
    }
    for (size_t j = 0; j < t->tp_nfixed; j++) {
        bool set = *(rm_object **)((char *)o + t->tp_fixed[j]) != NULL;
        if (set && !(c.seen & (1u << j))) {
            rm_error_set(RM_ERR_RUNTIME, "heap check: type %s: tp_fixed lists the slot at offset %u, which its "
                         "traverse does not visit", rm_type_name(t), (unsigned)t->tp_fixed[j]);
            return -1;
        }
    }
    return 0;
}

/* Counts the slots a leaf's traverse visits (a leaf has none). */
static int count_slot(rm_object **slot, void *arg) {
    (void)slot;
    ++*(size_t *)arg;
    return 0;
}

/* The one definition of a leaf (internal.h, rm_type_is_leaf): the flag
   that decides allocation and registry, and the layout the walk reads,
   must agree, and a leaf has no reference Boehm would not see. */
static int check_leaf(rm_object *o) {
    const rm_type *t = o->ob_type;
    if (rm_type_is_leaf(t) != (t->tp_layout == RM_LAYOUT_LEAF)) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: type %s: RM_TYPE_ATOMIC and RM_LAYOUT_LEAF disagree (a leaf is both)",
                     rm_type_name(t));
        return -1;
    }
    size_t slots = 0;
    if (rm_type_is_leaf(t) && t->tp_traverse) t->tp_traverse(o, count_slot, &slots);
    if (slots) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: type %s is a leaf (atomic, unscanned) but its traverse visits %zu slot%s",
                     rm_type_name(t), slots, slots == 1 ? "" : "s");
        return -1;
    }
    return 0;
}

static int check_object(rm_object *o, void *arg) {
    if (!rm_type_is_known(o->ob_type)) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: object at %p has no valid type", (void *)o);
        return -1;
    }
    if (check_leaf(o) < 0) return -1;
    check_state s = {.owner = o};
    if (rm_traverse(o, check_slot, &s)) return -1;
    if (o->ob_type->tp_layout == RM_LAYOUT_FIXED && check_fixed(o) < 0) return -1;
    if (RM_IS(o, rm_dict_type) || RM_IS(o, rm_set_type)) return rm_table_check((rm_table_object *)o);
    if (o->ob_type->tp_layout == RM_LAYOUT_STRUCT) return rm_struct_check(o);
    if (o->ob_type == &rm_class_type && ((rm_type *)o)->cls_struct && rm_struct_class_check((rm_type *)o) < 0)
        return -1;
    if (o->ob_type->tp_flags & RM_TYPE_HEAP) {
        rm_instance_object *inst = (rm_instance_object *)o;
        rm_object *attrs = rm_attr_dict(inst);
        if (attrs && !RM_IS(attrs, rm_dict_type)) {
            rm_error_set(RM_ERR_RUNTIME, "heap check: %s instance at %p: attribute storage is a %s", rm_type_name(o->ob_type),
                         (void *)o, rm_type_name(attrs->ob_type));
            return -1;
        }
    }
    return 0;
}

int rm_heap_check(void) {
    if (rm_heap_each(check_object, NULL)) return -1;
    check_state s = {0};
    return rm_handles_each(check_slot, &s) ? -1 : 0;
}

/* ---- Referrers ---- */

typedef struct referrer_search {
    rm_object *target;
    rm_object **found;
    size_t count, capacity;
    size_t handles;
    bool failed;
} referrer_search;

static int slot_refers(rm_object **slot, void *arg) {
    return *slot == ((referrer_search *)arg)->target;
}

static int find_referrer(rm_object *o, void *arg) {
    referrer_search *s = arg;
    if (!rm_traverse(o, slot_refers, s)) return 0;
    if (s->count == s->capacity) {
        size_t cap = s->capacity ? s->capacity * 2 : 16;
        rm_object **found = realloc(s->found, cap * sizeof *found);
        if (!found) {
            s->failed = true;
            return 1;
        }
        s->found = found;
        s->capacity = cap;
    }
    s->found[s->count++] = o;
    return 0;
}

static int count_handle(rm_object **slot, void *arg) {
    referrer_search *s = arg;
    if (*slot == s->target) s->handles++;
    return 0;
}

/* Collects into malloc memory, then builds the list, all with collections
   off: a registered object that is no longer reachable is still intact (see
   heap.c), so listing it is safe, and the list keeps it from then on. */
rm_object *rm_referrers(rm_object *target, size_t *handles) {
    referrer_search s = {.target = target};
    GC_disable();
    rm_heap_each(find_referrer, &s);
    rm_handles_each(count_handle, &s);
    if (handles) *handles = s.handles;
    rm_object *list = s.failed ? NULL : rm_list_new(s.count);
    for (size_t i = 0; list && i < s.count; i++)
        if (rm_list_append(list, s.found[i]) < 0) list = NULL;
    free(s.found);
    GC_enable();
    if (!list && !rm_error_occurred()) rm_error_set(RM_ERR_MEMORY, "out of memory listing referrers");
    return list;
}
