/*
** txn.c: the reload transaction: the journal, the walk's undo, rollback.
**
** A reload runs new code (init, hooks) that may change any object of the
** running program, then remaps the heap, rehashes tables and migrates
** instances; any of these may fail, and then the program must be exactly as
** it was. Four mechanisms make that so:
**   1. the journal: every API function that changes an object calls
**      rm_journal first; the first change of an object that predates the
**      transaction copies the object (and a list's items, a table's arrays)
**      into a record. Objects allocated during the transaction carry
**      RM_FLAG_TXN_NEW and are not journaled: a rollback leaves them
**      unreachable from the old world;
**   2. the inverse walk: a slot rewritten to a target that was allocated
**      during the transaction and has one old object mapped to it is put
**      back by a walk over the objects that existed before the transaction
**      (new -> old is a function on those targets, and no slot of the old
**      world held such a target before);
**   3. the slot log: every other rewrite (a target two old objects share,
**      an object that existed before, an immortal) is logged by the walk
**      itself, slot by slot;
**   4. the identity hashes the walk handed over are saved before it.
** Rollback undoes in the reverse order of doing: the records made after the
** walk, then the walk (inverse walk, logged slots, hashes), then the
** records made before it. Each record restores its object as it was at its
** first change, so later changes, journaled or not, are overwritten.
** Nothing in the rollback allocates: everything it needs was made before
** the step it undoes.
*/
#include "layout.h"

#include <stdlib.h>

typedef enum record_kind { RECORD_OBJECT, RECORD_HANDLE } record_kind;

/* One journaled object, or one handle's previous value. */
typedef struct record {
    rm_object *object; /* the object, or (RECORD_HANDLE) the handle's slot */
    void *body;        /* a copy of the object's bytes; a handle's old value */
    void *aux;         /* a copy of a list's items or a table's entries */
    void *aux2;        /* a copy of a table's index */
    size_t size;       /* bytes in body */
    record_kind kind;
} record;

/* Saved before the walk: a target's identity hash. */
typedef struct saved_hash {
    rm_object *object;
    uint32_t hash;
} saved_hash;

bool rm_txn_on;

/* Where the undo's moves index is reserved (scratch.h): the next reload's. */
static rm_scratch inverse_area;

static struct {
    bool active;
    record *records; /* uncollectable: the copies and their objects are kept */
    size_t count, capacity;
    size_t walk_mark; /* records made before the walk */
    bool walked;
    rm_probe inverse; /* new -> old, for the undo walk */
    rm_moves inverse_moves; /* its moved struct instances' pairs: reserved
                               before the walk, filled only by a rollback */
    const rm_mapping *mapping; /* the walk's: alive until the end */
    bool have_inverse;
    rm_undo_log logs[RM_MAX_WALKERS];
    saved_hash *hashes;
    size_t nhashes;
    rm_plans plans; /* instance migration (layout.h) */
    rm_object **replaced; /* the mapping's old classes (uncollectable) */
    size_t nreplaced;
} txn;

int rm_txn_active(void) { return txn.active; }
rm_plans *rm_txn_plans(void) { return txn.active ? &txn.plans : NULL; }
size_t rm_txn_class_count(void) { return txn.active ? txn.plans.count : 0; }

const rm_class_migration *rm_txn_class(size_t i) {
    return txn.active && i < txn.plans.count ? &txn.plans.items[i].stats : NULL;
}
size_t rm_txn_journaled(void) { return txn.count; }

int rm_txn_begin(void) {
    rm_debug_check_lock();
    if (txn.active) {
        rm_error_set(RM_ERR_RELOAD, "a reload is already in progress (a reload cannot start inside another)");
        return -1;
    }
    memset(&txn, 0, sizeof txn);
    txn.plans.by_old.lo = UINTPTR_MAX;
    txn.active = true;
    rm_txn_on = true;
    rm_heap_txn_begin();
    rm_lookup_invalidate(); /* module code's inline caches would not journal */
    return 0;
}

/* ---- The journal ---- */

static int push_record(const record *r) {
    if (txn.count == txn.capacity) {
        size_t cap = txn.capacity ? txn.capacity * 2 : 64;
        record *grown = rm_fault_at(RM_FAULT_ALLOC) ? NULL : GC_MALLOC_UNCOLLECTABLE(cap * sizeof *grown);
        if (!grown) {
            rm_error_set(RM_ERR_MEMORY, "out of memory for the reload journal");
            return -1;
        }
        if (txn.count) memcpy(grown, txn.records, txn.count * sizeof *grown);
        GC_FREE(txn.records);
        txn.records = grown;
        txn.capacity = cap;
    }
    txn.records[txn.count++] = *r;
    return 0;
}

/* The bytes of an object that its changes can touch. For an instance, its
   whole allocation: a move (migrate.c) may store fields in the room past
   its slots, which the rollback must clear again. */
static size_t body_size(rm_object *o) {
    rm_type *t = o->ob_type;
    if (t->tp_layout == RM_LAYOUT_INSTANCE || t->tp_layout == RM_LAYOUT_STRUCT) return GC_size(o);
    if (t->tp_layout == RM_LAYOUT_TUPLE) return sizeof(rm_tuple_object) + ((rm_tuple_object *)o)->size * sizeof(rm_object *);
    return t->tp_basicsize;
}

static void *copy_of(const void *from, size_t bytes, bool atomic) {
    void *to = atomic ? rm_gc_alloc_atomic(bytes) : rm_gc_alloc(bytes);
    if (to) memcpy(to, from, bytes);
    return to;
}

/*
** Copies `o` into the journal before its first change in the transaction.
** Lists and tables are copied with their arrays, since their changes write
** there. On failure (-1, out of memory) nothing is recorded and the caller
** must not make its change.
*/
int rm_journal_object(rm_object *o) {
    if (!rm_is_heap_object(o)) return 0;
    record r = {.object = o, .kind = RECORD_OBJECT, .size = body_size(o)};
    if (!(r.body = copy_of(o, r.size, false))) return -1;
    if (RM_IS(o, rm_list_type)) {
        rm_list_object *l = (rm_list_object *)o;
        if (l->size && !(r.aux = copy_of(l->items, l->size * sizeof(rm_object *), false))) return -1;
    } else if (o->ob_type->tp_layout == RM_LAYOUT_TABLE) {
        rm_table_object *t = (rm_table_object *)o;
        if (t->used && !(r.aux = copy_of(t->entries, t->used * sizeof(rm_entry), false))) return -1;
        if (!(r.aux2 = copy_of(t->index, t->nindex * sizeof(int32_t), true))) return -1;
    }
    if (push_record(&r) < 0) return -1;
    o->ob_flags |= RM_FLAG_JOURNALED;
    return 0;
}

/* A handle set during the transaction: every set is recorded (they are
   rare); restoring in reverse order leaves the first value. */
int rm_journal_handle(rm_object **slot) {
    record r = {.object = (rm_object *)slot, .body = *slot, .kind = RECORD_HANDLE};
    return push_record(&r);
}

/* Puts an object back as its record found it: every byte after the type
   slot (the walk's undo owns that one), then the arrays, into the blocks
   the object held then (the restored body points at them again). */
static void restore(const record *r) {
    if (r->kind == RECORD_HANDLE) {
        /* A handle freed since holds a tagged free-list link: leave it. */
        if (!((uintptr_t)*(rm_object **)r->object & 1)) *(rm_object **)r->object = r->body;
        return;
    }
    rm_object *o = r->object;
    size_t skip = sizeof(rm_type *);
    memcpy((char *)o + skip, (char *)r->body + skip, r->size - skip);
    if (RM_IS(o, rm_list_type)) {
        rm_list_object *l = (rm_list_object *)o;
        if (l->size) memcpy(l->items, r->aux, l->size * sizeof(rm_object *));
    } else if (o->ob_type->tp_layout == RM_LAYOUT_TABLE) {
        rm_table_object *t = (rm_table_object *)o;
        if (t->used) memcpy(t->entries, r->aux, t->used * sizeof(rm_entry));
        memcpy(t->index, r->aux2, t->nindex * sizeof(int32_t));
    }
}

/* ---- The walk and its undo ---- */

int rm_undo_push(rm_undo_log *log, rm_object *owner, uintptr_t where, rm_object *old) {
    if (log->count == log->capacity) {
        size_t cap = log->capacity ? log->capacity * 2 : 256;
        rm_undo_entry *items = realloc(log->items, cap * sizeof *items);
        if (!items) {
            log->failed = true;
            return -1;
        }
        log->items = items;
        log->capacity = cap;
    }
    log->items[log->count++] = (rm_undo_entry){owner, where, old};
    return 0;
}

static void undo_entry(const rm_undo_entry *e) {
    uintptr_t n = e->where >> 2;
    switch (e->where & 3) {
    case RM_WHERE_OFFSET:
        *(rm_object **)((char *)e->owner + n) = e->old;
        /* A weak reference's target is hidden, and an old object is never
           immortal. */
        if (RM_IS(e->owner, rm_weakref_type)) e->owner->ob_aux = 0;
        break;
    case RM_WHERE_LIST: {
        rm_list_object *l = (rm_list_object *)e->owner;
        if (n < l->size) l->items[n] = e->old;
        break;
    }
    case RM_WHERE_TABLE: {
        rm_table_object *t = (rm_table_object *)e->owner;
        size_t i = n >> 1;
        if (i < t->used) {
            if (n & 1) t->entries[i].value = e->old;
            else t->entries[i].key = e->old;
        }
        break;
    }
    case RM_WHERE_ADDRESS: {
        rm_object **slot = (rm_object **)(n << 2);
        /* A handle freed since holds a tagged free-list link: leave it. */
        if (!((uintptr_t)*slot & 1)) *slot = e->old;
        break;
    }
    }
}

/*
** Sorts the mapping's targets before the walk (see the top of this file):
** a target made in this transaction, mapped from exactly one old object and
** not itself an old object, goes to the inverse probe; every other target
** is tagged so the walk logs its rewrites. Saves the targets' hashes.
** Returns -1 out of memory, with nothing rewritten.
*/
static int prepare(const rm_mapping *m, rm_probe *tagged) {
    size_t n = m->count;
    /* Move pairs (the last m->moves) are invertible by construction: they
       stay in the mapping's moves index, and their inverse gets its own. */
    size_t plain = n - m->moves;
    rm_probe preimages = {.lo = UINTPTR_MAX};
    txn.hashes = malloc((plain ? plain : 1) * sizeof *txn.hashes);
    if (!txn.hashes || rm_probe_init(tagged, plain) < 0 || rm_probe_init(&preimages, plain) < 0 ||
        rm_probe_init(&txn.inverse, plain) < 0) {
        rm_probe_free(&preimages);
        return -1;
    }
    txn.have_inverse = true;
    if (rm_moves_reserve(&txn.inverse_moves, m->news + plain, m->moves, m->moved_min_size, &inverse_area) < 0) {
        rm_probe_free(&preimages);
        return -1;
    }
    tagged->moves = m->probe.moves;
    txn.inverse.moves = &txn.inverse_moves;
    static rm_object once, many;
    for (size_t i = 0; i < plain; i++) {
        rm_object **cell = rm_probe_cell(&preimages, m->news[i]);
        if (cell) *cell = &many;
        else rm_probe_put(&preimages, m->news[i], &once);
    }
    for (size_t i = 0; i < plain; i++) {
        rm_object *old_obj = m->olds[i], *new_obj = m->news[i];
        bool fresh = rm_is_heap_object(new_obj) && (new_obj->ob_flags & RM_FLAG_TXN_NEW);
        bool invertible = fresh && rm_probe_get(&preimages, new_obj) == &once && !rm_probe_get(&m->probe, new_obj);
        if (invertible) {
            rm_probe_put(&txn.inverse, new_obj, old_obj);
            rm_probe_put(tagged, old_obj, new_obj);
        } else {
            rm_probe_put(tagged, old_obj, (rm_object *)((uintptr_t)new_obj | RM_TAG_LOG));
        }
        if (rm_is_heap_object(new_obj)) txn.hashes[txn.nhashes++] = (saved_hash){new_obj, new_obj->ob_hash};
    }
    rm_probe_free(&preimages);
    return 0;
}

int rm_txn_remap(const rm_mapping *m, rm_remap_report *report) {
    memset(report, 0, sizeof *report);
    if (!txn.active || txn.walked || txn.have_inverse) {
        rm_error_set(RM_ERR_RELOAD, "rm_txn_remap: %s", txn.active ? "one remap per transaction" : "no transaction");
        return -1;
    }
    if (rm_mapping_check_cycles(m) < 0) return -1;
    txn.mapping = m;
    /* Plans first: a bad rename rule refuses the reload before the walk. */
    if (rm_plans_build(m, &txn.plans) < 0) return -1;
    /* Struct instances without room get new allocations, mapped from the
       old ones: the walk moves them, every reference following. */
    if (rm_struct_plan_moves(&txn.plans, (rm_mapping *)m) < 0) return -1;
    /* The classes a commit marks replaced (see RM_FLAG_REPLACED). */
    /* (Moved struct instances, the last m->moves pairs, are not classes.) */
    size_t classes = 0, plain = m->count - m->moves;
    for (size_t i = 0; i < plain; i++) classes += rm_is_class(m->olds[i]);
    if (classes && !(txn.replaced = GC_MALLOC_UNCOLLECTABLE(classes * sizeof *txn.replaced))) {
        rm_error_set(RM_ERR_MEMORY, "out of memory before the remap; nothing was rewritten");
        return -1;
    }
    for (size_t i = 0; i < plain; i++)
        if (rm_is_class(m->olds[i])) txn.replaced[txn.nreplaced++] = m->olds[i];
    rm_probe tagged = {.lo = UINTPTR_MAX};
    if (prepare(m, &tagged) < 0) {
        rm_probe_free(&tagged);
        rm_error_set(RM_ERR_MEMORY, "out of memory before the remap; nothing was rewritten");
        return -1;
    }
    txn.walk_mark = txn.count;
    unsigned options = RM_REMAP_NO_INSTANCES; /* the plans list them */
    int rc = rm_remap_run(m, &tagged, options, report, txn.logs, &txn.plans);
    rm_probe_free(&tagged);
    txn.walked = report->objects_visited > 0;
    /* The log keeps its owners alive until the transaction ends. */
    for (size_t k = 0; k < RM_MAX_WALKERS; k++)
        if (txn.logs[k].count) GC_add_roots(txn.logs[k].items, txn.logs[k].items + txn.logs[k].count);
    if (rc == 0 && rm_fault_at(RM_FAULT_REMAP)) rc = -1;
    return rc;
}

/* ---- Ending ---- */

static void end(void) {
    for (size_t i = 0; i < txn.count; i++)
        if (txn.records[i].kind == RECORD_OBJECT) txn.records[i].object->ob_flags &= ~RM_FLAG_JOURNALED;
    rm_heap_txn_end();
    rm_handles_txn_end();
    for (size_t k = 0; k < RM_MAX_WALKERS; k++) {
        rm_undo_log *log = &txn.logs[k];
        if (log->count) GC_remove_roots(log->items, log->items + log->count);
        free(log->items);
    }
    if (txn.have_inverse) rm_probe_free(&txn.inverse);
    rm_moves_free(&txn.inverse_moves);
    rm_plans_free(&txn.plans);
    GC_FREE(txn.replaced);
    free(txn.hashes);
    GC_FREE(txn.records);
    memset(&txn, 0, sizeof txn);
    rm_txn_on = false;
}

void rm_txn_commit(void) {
    if (!txn.active) return;
    rm_plans_commit(&txn.plans);
    for (size_t i = 0; i < txn.nreplaced; i++) txn.replaced[i]->ob_flags |= RM_FLAG_REPLACED;
    end();
}

/*
** The classes a rolled-back reload made are garbage the class registry
** holds until a collection prunes it, each still naming a base of the
** world as it is. Marked replaced, no later rm_mapping_add_subclasses
** rebases them: rebasing such a struct subclass onto a base that grew
** was refused, and refused the next reload of that base even though every
** live subclass was reloaded with it.
*/
static void forget_new_classes(void) {
    for (size_t i = 0; i < rm_classes.count; i++) {
        rm_object *c = RM_REVEAL(rm_classes.items[i]);
        if (c->ob_flags & RM_FLAG_TXN_NEW) c->ob_flags |= RM_FLAG_REPLACED;
    }
}

void rm_txn_rollback(void) {
    if (!txn.active) return;
    rm_txn_on = false; /* restoring is not a change to journal */
    for (size_t i = txn.count; i-- > txn.walk_mark;) restore(&txn.records[i]);
    /* The moved instances' inverse, from the mapping's pairs (a commit
       never needs it: at 10^7 moves building it took 80 ms of each reload). */
    const rm_mapping *m = txn.mapping;
    if (txn.inverse_moves.count)
        rm_moves_fill(&txn.inverse_moves, m->news + m->count - m->moves, m->olds + m->count - m->moves);
    /* Migrated instances back to their old layouts, before the inverse
       walk and the log, which address their slots as they were. */
    rm_plans_undo(&txn.plans);
    if (txn.walked) {
        rm_remap_report ignored;
        rm_remap_run(NULL, &txn.inverse, RM_REMAP_UNDO_WALK, &ignored, NULL, &txn.plans);
        for (size_t k = RM_MAX_WALKERS; k-- > 0;)
            for (size_t i = txn.logs[k].count; i-- > 0;) undo_entry(&txn.logs[k].items[i]);
    }
    for (size_t i = txn.nhashes; i-- > 0;) txn.hashes[i].object->ob_hash = txn.hashes[i].hash;
    for (size_t i = txn.walk_mark < txn.count ? txn.walk_mark : txn.count; i-- > 0;) restore(&txn.records[i]);
    rm_lookup_invalidate(); /* classes and their dicts were put back */
    forget_new_classes();
    end();
}
