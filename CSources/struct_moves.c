/*
** struct_moves.c: before a reload's walk, every struct instance whose new
** layout does not fit its allocation gets a new one (struct_reload.c says
** what the walk then does with the pair).
**
** One pass over the registry, cut in as many parts as the walk has
** threads, each part's instances to move found by a thread of its own.
** The calling thread allocates their new ones, part after part as the
** parts are found (GC_malloc_many: a Boehm block of cleared objects at a
** time). Two threads allocating took Boehm's allocation lock once per
** block each, 120,000 times at 10^7 moves, and at times waited on each
** other: 166 to 168 ms, or 319 to 330 ms in three runs of seven, against
** 168 to 191 ms for one thread allocating. Then, still on the calling
** thread: the pairs go into the mapping's arrays (in registry order, which
** the walk's skipping of the new instances relies on: see moved_tail in
** remap.c), the new instances into the registry, and the moves index is
** built (mapping.h). Collections are off throughout: until the mapping's
** scanned arrays hold them, the new instances are known only to unscanned
** lists (and the finding threads, which touch no new object, need not be
** registered with Boehm).
*/
#include "layout.h"
#include "scratch.h"
#include "struct.h"

#include <pthread.h>
#include <stdlib.h>

/* What the pass needs of a plan, copied out of it (a call per instance into
   struct_reload.c was measurable). */
typedef struct growth {
    rm_type *new_cls;
    size_t size;  /* the new layout's bytes: an instance fits if its
                     allocation holds them */
    size_t alloc; /* what a moved instance is given */
    bool grows, all_move;
} growth;

/* One instance to move: what the pass found, then its new instance. */
typedef struct move {
    rm_object *inst;
    union {
        struct {
            uint32_t plan, hash;
        } want;
        rm_object *to;
    };
} move;

/* One part of the registry and its thread. */
typedef struct mover {
    pthread_t thread;
    const rm_plans *plans;
    const growth *growths;
    size_t begin, end; /* registry indexes */
    move *out;         /* room for end - begin entries */
    size_t n;
    bool fail;   /* an armed fault: its allocation fails */
    bool failed; /* out of memory */
    bool own_thread;
} mover;

/* The instances of the part to move. */
static void find(mover *w) {
    const rm_plans *plans = w->plans;
    uintptr_t page = 0;
    size_t page_size = 0;
    for (size_t k = w->begin; k < w->end; k++) {
        if (k + 16 < w->end) __builtin_prefetch(RM_REVEAL(rm_live.items[k + 16]));
        rm_object *o = RM_REVEAL(rm_live.items[k]);
        rm_type *t = o->ob_type;
        if (t->tp_layout != RM_LAYOUT_STRUCT || !t->ob_aux || (o->ob_flags & RM_FLAG_MOVE_TARGET)) continue;
        uintptr_t at = t->ob_aux;
        if (at == RM_PLAN_IN_PROBE) at = (uintptr_t)rm_probe_get(&plans->by_old, (rm_object *)t);
        if (!at || plans->items[at - 1].old_cls != (rm_object *)t) continue;
        const growth *g = &w->growths[at - 1];
        if (!g->grows) continue;
        /* Boehm's block header is a cache miss: asked only when some
           instances may fit, and once per page (every object that starts
           in a Boehm block has its size, and a block is a page or more). */
        if (!g->all_move) {
            if ((uintptr_t)o >> 12 != page) {
                page = (uintptr_t)o >> 12;
                page_size = GC_size(o);
            }
            if (page_size >= g->size) continue;
        }
        move *mv = &w->out[w->n++];
        mv->inst = o;
        mv->want.plan = (uint32_t)(at - 1);
        mv->want.hash = o->ob_hash; /* read now: o is in cache */
    }
}

/* The rest of the last block Boehm handed out: the next part starts with
   it. What is left at the end is garbage. */
typedef struct fresh_objects {
    void *list;
    size_t size;
} fresh_objects;

/* The part's new instances, with their class and identity hash; cleared
   past the header. */
static void allocate(mover *w, fresh_objects *fresh) {
    if (w->fail && w->n) {
        w->failed = true;
        return;
    }
    for (size_t k = 0; k < w->n; k++) {
        move *mv = &w->out[k];
        const growth *g = &w->growths[mv->want.plan];
        if (!fresh->list || fresh->size != g->alloc) {
            fresh->list = GC_malloc_many(g->alloc);
            fresh->size = g->alloc;
            if (!fresh->list) {
                w->failed = true;
                return;
            }
        }
        rm_object *o = fresh->list;
        fresh->list = GC_NEXT(o);
        o->ob_type = g->new_cls; /* over the link */
        o->ob_hash = mv->want.hash;
        o->ob_flags = RM_FLAG_TXN_NEW | RM_FLAG_STRUCT | RM_FLAG_MOVE_TARGET;
        o->ob_aux = 0;
        mv->to = o;
    }
}

static void *mover_thread(void *arg) {
    find(arg);
    return NULL;
}

/* Room for every registered object's entry: only what is written is
   touched, and the area is the next reload's (scratch.h). */
static rm_scratch moves_area;

int rm_struct_plan_moves(rm_plans *plans, rm_mapping *m) {
    bool any = false;
    for (size_t i = 0; i < plans->count; i++) any |= rm_struct_plan_grows(&plans->items[i]);
    size_t count = rm_live.count;
    if (!any || !count) return 0;
    unsigned nw = count < 2 * RM_WALK_CHUNK ? 1 : rm_walk_threads;
    if (nw > RM_MAX_WALKERS) nw = RM_MAX_WALKERS;
    /* Each part's allocation is a fault point, asked here, first: on this
       thread (a run counts them the same way), and before anything needs
       undoing if the fault is a crash. */
    bool fail[RM_MAX_WALKERS];
    for (unsigned k = 0; k < nw; k++) fail[k] = rm_fault_at(RM_FAULT_ALLOC) != 0;
    size_t old_min = SIZE_MAX, new_min = SIZE_MAX;
    growth *growths = malloc(plans->count * sizeof *growths);
    mover *ws = calloc(nw, sizeof *ws);
    move *out = rm_scratch_get(&moves_area, count * sizeof *out);
    if (!growths || !ws || !out) {
        free(growths);
        free(ws);
        rm_error_set(RM_ERR_MEMORY, "out of memory planning struct instance moves");
        return -1;
    }
    for (size_t i = 0; i < plans->count; i++) {
        const rm_plan *p = &plans->items[i];
        growth *g = &growths[i];
        *g = (growth){(rm_type *)p->new_cls, 0, 0, rm_struct_plan_grows(p), false};
        if (!g->grows) continue;
        size_t smallest;
        rm_struct_plan_growth(p, &g->size, &g->alloc, &smallest, &g->all_move);
        if (smallest < old_min) old_min = smallest;
        if (g->alloc < new_min) new_min = g->alloc;
        /* What rm_alloc notes per object (see library.c). */
        if (g->new_cls->tp_flags & RM_TYPE_USER) rm_library_note((const void *)g->new_cls->tp_traverse);
    }

    /* 1. The parts found in parallel, allocated here in order. */
    GC_disable();
    for (unsigned k = 0; k < nw; k++)
        ws[k] = (mover){.plans = plans, .growths = growths, .begin = count * k / nw, .end = count * (k + 1) / nw,
                        .out = out + count * k / nw, .fail = fail[k]};
    for (unsigned k = 1; k < nw; k++)
        ws[k].own_thread = pthread_create(&ws[k].thread, NULL, mover_thread, &ws[k]) == 0;
    size_t n = 0;
    bool failed = false;
    fresh_objects fresh = {NULL, 0};
    for (unsigned k = 0; k < nw; k++) {
        if (k && ws[k].own_thread) pthread_join(ws[k].thread, NULL);
        else find(&ws[k]); /* this thread's part, and those of threads that did not start */
        if (!failed) allocate(&ws[k], &fresh);
        n += ws[k].n;
        failed |= ws[k].failed;
    }

    /* 2. The pairs into the mapping (scanned: they keep the new instances
       alive), the new instances into the registry, the index. */
    int rc = failed ? -1 : 0;
    if (rc == 0 && n) rc = rm_mapping_reserve_moves(m, n);
    if (rc == 0 && n) {
        rm_object **olds = m->olds + m->count, **news = m->news + m->count;
        size_t i = 0;
        for (unsigned k = 0; k < nw; k++) {
            for (size_t j = 0; j < ws[k].n; j++, i++) {
                olds[i] = ws[k].out[j].inst;
                news[i] = ws[k].out[j].to;
            }
        }
        rc = rm_register_objects(news, n);
    }
    if (rc == 0 && n) rc = rm_mapping_index_moves(m, n, old_min, new_min);
    GC_enable();
    rm_scratch_done(&moves_area, (size_t)(ws[nw - 1].out + ws[nw - 1].n - out) * sizeof *out);
    free(growths);
    free(ws);
    if (rc < 0 && !rm_error_occurred()) rm_error_set(RM_ERR_MEMORY, "out of memory planning struct instance moves");
    return rc;
}
