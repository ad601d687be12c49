/*
** walk_results.c: the remap walk's preparation and what is made of its
** results: the hashes it hands over, the tables whose tuple or bound-method
** keys depend on new objects, the report's lists and per-type lines, the
** migration plans' per-walker work (see remap.c and remap_walk.c for the
** walk itself).
*/
#include "walk.h"

objvec rm_spare_instances[RM_MAX_WALKERS];

/* True if a key (a tuple, maybe nested, or a bound method) holds an object
   that is a target of the mapping: its hash may depend on a rewritten
   object, or it may now equal another key (bm(a, old_f) and bm(a, new_f),
   both keys before the reload, are one key after it). */
static bool key_holds_new(const rm_probe *news, rm_object *key, int depth) {
    if (RM_IS(key, rm_method_type)) {
        rm_method_object *m = (rm_method_object *)key;
        return (m->function && rm_probe_get(news, m->function)) || (m->self && rm_probe_get(news, m->self));
    }
    if (!RM_IS(key, rm_tuple_type) || depth > 64) return false;
    rm_tuple_object *t = (rm_tuple_object *)key;
    for (size_t i = 0; i < t->size; i++) {
        rm_object *item = t->items[i];
        if (!item) continue;
        if (rm_probe_get(news, item) || key_holds_new(news, item, depth + 1)) return true;
    }
    return false;
}

bool rm_walk_key_holds_new_in(const rm_probe *news, rm_table_object *t) {
    for (size_t i = 0; i < t->used; i++)
        if (t->entries[i].key && key_holds_new(news, t->entries[i].key, 0)) return true;
    return false;
}

/* Types whose hash is their identity: these hand their hash over. */
static bool identity_hashed(rm_object *o) {
    return !o->ob_type->tp_hash && !o->ob_type->tp_equal;
}

/* Whether a remap gives new_obj the identity hash of old_obj. */
bool rm_walk_hands_over_hash(rm_object *old_obj, rm_object *new_obj) {
    return identity_hashed(old_obj) && identity_hashed(new_obj) && rm_is_heap_object(new_obj);
}

/*
** Joins the walkers' vectors into the first one's block and makes that block
** a root, so the listed objects stay alive while the report holds them.
** Large malloc blocks grow by remapping pages, so nothing is copied but the
** other walkers' parts. Returns false if out of memory.
*/
bool rm_walk_report_list(objvec *parts, size_t nparts, rm_object ***list, size_t *count, size_t *capacity) {
    size_t n = 0;
    for (size_t i = 0; i < nparts; i++) n += parts[i].count;
    *list = NULL;
    *count = 0;
    if (capacity) *capacity = 0;
    if (!n) return true;
    objvec *first = &parts[0];
    if (first->capacity < n) {
        rm_object **items = realloc(first->items, n * sizeof *items);
        if (!items) return false;
        first->items = items;
        first->capacity = n;
    }
    for (size_t i = 1; i < nparts; i++) {
        if (parts[i].count) memcpy(first->items + first->count, parts[i].items, parts[i].count * sizeof *first->items);
        first->count += parts[i].count;
    }
    GC_add_roots(first->items, first->items + n);
    *list = first->items;
    *count = n;
    if (capacity) *capacity = first->capacity;
    first->items = NULL; /* now the report's */
    first->capacity = 0;
    return true;
}

/* Per-walker counts and scratch, made before the walk. */
int rm_walk_alloc_plan_work(walker *ws, unsigned nw, rm_plans *plans) {
    for (unsigned k = 0; k < nw; k++) {
        ws[k].part = plans->parts[k];
        ws[k].part.count = 0;
        ws[k].saves = plans->saves[k];
        ws[k].saves.count = 0;
        ws[k].plan_work = true;
        ws[k].counts = calloc(2 * plans->count, sizeof *ws[k].counts);
        ws[k].scratch = malloc((plans->max_fields ? plans->max_fields : 1) * sizeof *ws[k].scratch);
        if (!ws[k].counts || !ws[k].scratch) return -1;
    }
    return 0;
}

/* Adds the walkers' counts to the plans' reports, then frees them. */
void rm_walk_end_plan_work(walker *ws, unsigned nw, rm_plans *plans, bool walked) {
    for (unsigned k = 0; k < nw; k++) {
        if (ws[k].plan_work) {
            plans->parts[k] = ws[k].part;
            plans->saves[k] = ws[k].saves;
        }
        ws[k].plan_work = false;
        for (size_t i = 0; walked && ws[k].counts && i < plans->count; i++) {
            plans->items[i].stats.instances += ws[k].counts[2 * i];
            plans->items[i].stats.in_place += ws[k].counts[2 * i + 1];
        }
        free(ws[k].counts);
        free(ws[k].scratch);
        ws[k].counts = NULL;
        ws[k].scratch = NULL;
    }
    if (walked) rm_plans_walked(plans, nw);
}

void rm_walk_merge_types(rm_remap_report *r, walker *ws, unsigned nw) {
    for (unsigned k = 0; k < nw; k++) {
        for (size_t i = 0; i <= TYPE_LINES; i++) {
            type_line *line = &ws[k].types[i];
            if (!line->objects && !line->rewritten) continue;
            const rm_type *t = i == TYPE_LINES ? NULL : line->type;
            size_t j = 0;
            while (j < r->ntypes && r->types[j].type != t) j++;
            if (j == r->ntypes) {
                if (r->ntypes < RM_REPORT_TYPES) r->ntypes++;
                else { j = RM_REPORT_TYPES; t = NULL; }
                r->types[j].type = t;
            }
            r->types[j].objects += line->objects;
            r->types[j].slots_rewritten += line->rewritten;
        }
    }
}

static void drop_list(rm_object **list, size_t n) {
    if (!list) return;
    GC_remove_roots(list, list + n);
    free(list);
}

void rm_report_clear(rm_remap_report *report) {
    drop_list(report->tables, report->ntables);
    if (report->instances) {
        /* Keep the instance list's memory for the next remap's walker 0. */
        GC_remove_roots(report->instances, report->instances + report->ninstances);
        if (!rm_spare_instances[0].items && report->capacity_instances) {
            rm_spare_instances[0] = (objvec){report->instances, 0, report->capacity_instances, false};
        } else {
            free(report->instances);
        }
    }
    memset(report, 0, sizeof *report);
}
