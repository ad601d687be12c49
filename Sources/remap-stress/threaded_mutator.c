/*
** threaded_mutator.c: a mutator thread of --threads mode: builds objects
** with the current shared classes and functions, tracks what each must
** refer to, applies each new remap of the log to its expectations once, in
** order, and checks them against the heap.
*/
#include "threaded.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Objects per root-list chunk; dropping a chunk makes garbage. */
#define CHUNK_OBJECTS 512
/* A permanent table is cleared when it grows past this. */
#define TABLE_LIMIT 256
#define OPS_PER_BATCH 20

enum track_kind { TR_INSTANCE, TR_METHOD, TR_DICTKEY, TR_TUPLEKEY, TR_TUPLE0, TR_TUPLE1, TR_SETMEMBER, TR_WEAK };

static const char *track_names[] = {"instance's class", "method's function", "dict key",   "tuple key",
                                    "tuple item 0",     "tuple item 1",      "set member", "weakref target"};

/* ---- Helpers (runtime lock held) ---- */

rm_object *checked(rm_object *o, const char *what) {
    if (!o) fatal("%s failed: %s", what, rm_error_message());
    return o;
}

rm_object *shared_get(rm_handle h, size_t i) { return checked(rm_list_get(rm_handle_get(h), i), "rm_list_get"); }

/* A class with `nfields` fields, a unique ctag and the method tag. */
rm_object *make_class(const char *name, size_t nfields, int64_t tag) {
    rm_object *cls = checked(rm_class_new(name, NULL, NULL), "rm_class_new");
    rm_handle keep = rm_handle_new(cls);
    for (size_t i = 0; i < nfields; i++) {
        char f[16];
        snprintf(f, sizeof f, "f%zu", i);
        if (rm_class_add_field(cls, f, rm_none) < 0) fatal("rm_class_add_field: %s", rm_error_message());
    }
    if (rm_setattr(cls, "ctag", checked(rm_int(tag), "rm_int")) < 0 || rm_class_set_method(cls, "tag", method_tag, 0) < 0)
        fatal("class setup failed: %s", rm_error_message());
    rm_handle_free(keep);
    return cls;
}

static void track(mutator *mu, int kind, rm_object *obj, rm_object *expect, rm_object *aux, int32_t chunk) {
    if (mu->n == mu->cap) {
        mu->cap = mu->cap ? mu->cap * 2 : 1024;
        mu->t = realloc(mu->t, mu->cap * sizeof *mu->t);
        if (!mu->t) fatal("out of memory tracking");
    }
    mu->t[mu->n++] = (tracked){.obj = obj, .expect = expect, .aux = aux, .kind = (uint8_t)kind, .chunk = chunk};
}

static void grow_chunks(mutator *mu) {
    mu->chunk_cap = mu->chunk_cap ? mu->chunk_cap * 2 : 64;
    mu->chunk_handles = realloc(mu->chunk_handles, mu->chunk_cap * sizeof *mu->chunk_handles);
    mu->chunk_count = realloc(mu->chunk_count, mu->chunk_cap * sizeof *mu->chunk_count);
    if (!mu->chunk_handles || !mu->chunk_count) fatal("out of memory for chunks");
}

/* Roots a new object in the mutator's current chunk. */
static rm_object *keep(mutator *mu, rm_object *o) {
    checked(o, "allocation");
    if (mu->chunk_count[mu->cur_chunk] >= CHUNK_OBJECTS) {
        if ((size_t)mu->cur_chunk + 1 >= mu->chunk_cap) grow_chunks(mu);
        mu->cur_chunk++;
        mu->chunk_handles[mu->cur_chunk] = rm_handle_new(checked(rm_list_new(0), "rm_list_new"));
        mu->chunk_count[mu->cur_chunk] = 0;
    }
    if (rm_list_append(rm_handle_get(mu->chunk_handles[mu->cur_chunk]), o) < 0) fatal("rm_list_append: %s", rm_error_message());
    mu->chunk_count[mu->cur_chunk]++;
    mu->created++;
    return o;
}

/* Applies each epoch after mu->seen_epoch once, in order, to every
   expectation. */
static void advance(mutator *mu) {
    for (; mu->seen_epoch < nepochs; mu->seen_epoch++) {
        epoch *e = &epochs[mu->seen_epoch];
        for (size_t i = 0; i < mu->n; i++) {
            tracked *t = &mu->t[i];
            for (size_t k = 0; k < e->n; k++) {
                if (t->expect == e->olds[k]) {
                    t->expect = e->news[k];
                    break;
                }
            }
        }
    }
}

/* Checks every tracked expectation against the heap. */
void verify(mutator *mu, const char *when) {
    advance(mu);
    check_begin("mutator %d %s: %zu tracked references after %zu remaps", mu->id, when, mu->n, nepochs);
    for (size_t i = 0; i < mu->n; i++) {
        tracked *t = &mu->t[i];
        rm_object *got = NULL;
        bool ok = true;
        switch (t->kind) {
        case TR_INSTANCE:
            got = (rm_object *)t->obj->ob_type;
            ok = got == t->expect && rm_is_instance_of(t->obj, t->expect);
            break;
        case TR_METHOD: got = rm_method_function(t->obj); ok = got == t->expect; break;
        case TR_DICTKEY:
        case TR_TUPLEKEY: got = rm_dict_get(t->obj, t->expect); ok = got == t->aux; break;
        case TR_TUPLE0: got = rm_tuple_get(t->obj, 0); ok = got == t->expect; break;
        case TR_TUPLE1: got = rm_tuple_get(t->obj, 1); ok = got == t->expect; break;
        case TR_SETMEMBER: ok = rm_set_contains(t->obj, t->expect) == 1; break;
        case TR_WEAK: got = rm_weakref_get(t->obj); ok = got == t->expect; break;
        }
        if (!ok)
            check_fail("%s of %p: got %p, expected %p%s", track_names[t->kind], (void *)t->obj, (void *)got,
                       (void *)(t->kind == TR_DICTKEY || t->kind == TR_TUPLEKEY ? t->aux : t->expect),
                       t->kind == TR_DICTKEY || t->kind == TR_TUPLEKEY || t->kind == TR_SETMEMBER ? " (key lookup)" : "");
    }
    check_end();
    mu->verified_groups++;
}

/* Forgets the oldest chunk: frees its handle and the tracking of objects
   in it. */
static void drop_oldest_chunk(mutator *mu) {
    int32_t c = mu->first_chunk;
    if (c >= mu->cur_chunk) return;
    rm_handle_free(mu->chunk_handles[c]);
    mu->first_chunk++;
    size_t k = 0;
    for (size_t i = 0; i < mu->n; i++)
        if (mu->t[i].chunk != c) mu->t[k++] = mu->t[i];
    mu->n = k;
}

/* Forgets a permanent table's entries after clearing it. */
static void clear_table(mutator *mu, rm_object *table) {
    if (RM_IS(table, rm_dict_type)) rm_dict_clear(table);
    else {
        rm_object *key;
        size_t pos = 0;
        /* rm_set has no clear: discard members one by one. */
        rm_object *keys[TABLE_LIMIT * 2];
        size_t n = 0;
        while (n < TABLE_LIMIT * 2 && rm_set_next(table, &pos, &key)) keys[n++] = key;
        for (size_t i = 0; i < n; i++) rm_set_discard(table, keys[i]);
    }
    size_t k = 0;
    for (size_t i = 0; i < mu->n; i++)
        if (mu->t[i].obj != table) mu->t[k++] = mu->t[i];
    mu->n = k;
}

/* Sets d[key] = value in the heap and in the tracking: an existing entry
   with an equal key (the same class or function; a tuple with the same
   items) keeps its key and changes its value. */
static void dict_set_tracked(mutator *mu, rm_object *d, rm_object *key, rm_object *value, int kind) {
    if (rm_dict_set(d, key, value) < 0) fatal("rm_dict_set: %s", rm_error_message());
    for (size_t i = 0; i < mu->n; i++) {
        tracked *t = &mu->t[i];
        if (t->obj != d || (t->kind != TR_DICTKEY && t->kind != TR_TUPLEKEY)) continue;
        bool same = t->expect == key || (kind == TR_TUPLEKEY && t->kind == TR_TUPLEKEY && rm_equal(t->expect, key) == 1);
        if (same) {
            t->aux = value;
            return;
        }
    }
    track(mu, kind, d, key, value, -1);
}

/* One random operation of a mutator. */
static void mutator_op(mutator *mu) {
    rng *r = &mu->r;
    rm_object *cls = shared_get(shared_classes, rng_below(r, NCLASSES));
    rm_object *fn = shared_get(shared_funcs, rng_below(r, NFUNCS));
    unsigned roll = (unsigned)rng_below(r, 100);
    int32_t chunk = mu->cur_chunk;
    if (roll < 30) {
        rm_object *inst = keep(mu, rm_instance_alloc(cls));
        chunk = mu->cur_chunk;
        rm_object *v = keep(mu, rm_int((int64_t)mu->created));
        if (rm_instance_slot_count(inst)) rm_instance_set_slot(inst, 0, v);
        if (rng_chance(r, 20) && rm_setattr(inst, "extra", fn) < 0) fatal("rm_setattr: %s", rm_error_message());
        track(mu, TR_INSTANCE, inst, cls, NULL, chunk);
    } else if (roll < 45) {
        rm_object *m = keep(mu, rm_method_new(fn, cls));
        track(mu, TR_METHOD, m, fn, NULL, mu->cur_chunk);
    } else if (roll < 60) {
        rm_object *d = mu->dicts[rng_below(r, NTABLES / 2)];
        if (rm_dict_size(d) >= TABLE_LIMIT) clear_table(mu, d);
        rm_object *v = keep(mu, rm_int((int64_t)mu->created));
        dict_set_tracked(mu, d, rng_chance(r, 50) ? cls : fn, v, TR_DICTKEY);
    } else if (roll < 70) {
        rm_object *d = mu->dicts[rng_below(r, NTABLES / 2)];
        if (rm_dict_size(d) >= TABLE_LIMIT) clear_table(mu, d);
        rm_object *items[2] = {cls, fn};
        rm_object *t = keep(mu, rm_tuple_of(2, items));
        chunk = mu->cur_chunk;
        track(mu, TR_TUPLE0, t, cls, NULL, chunk);
        track(mu, TR_TUPLE1, t, fn, NULL, chunk);
        rm_object *v = keep(mu, rm_int((int64_t)mu->created));
        dict_set_tracked(mu, d, t, v, TR_TUPLEKEY);
    } else if (roll < 80) {
        rm_object *s = mu->sets[rng_below(r, NTABLES / 2)];
        if (rm_set_size(s) >= TABLE_LIMIT) clear_table(mu, s);
        rm_object *member = rng_chance(r, 50) ? cls : fn;
        bool known = false;
        for (size_t i = 0; i < mu->n && !known; i++) known = mu->t[i].obj == s && mu->t[i].expect == member;
        if (rm_set_add(s, member) < 0) fatal("rm_set_add: %s", rm_error_message());
        if (!known) track(mu, TR_SETMEMBER, s, member, NULL, -1);
    } else if (roll < 90) {
        if (!mu->n) return;
        tracked *t = &mu->t[rng_below(r, mu->n)];
        if (t->kind == TR_INSTANCE && rm_instance_slot_count(t->obj) > 1)
            rm_instance_set_slot(t->obj, 1, rng_chance(r, 50) ? fn : keep(mu, rm_str("mutated")));
    } else if (roll < 96) {
        rm_object *w = keep(mu, rm_weakref_new(rng_chance(r, 50) ? cls : fn));
        track(mu, TR_WEAK, w, rm_weakref_get(w), NULL, mu->cur_chunk);
    } else {
        rm_collect();
    }
}

void *mutator_main(void *arg) {
    mutator *mu = arg;
    if (rm_thread_attach() != 0) fatal("rm_thread_attach: %s", rm_error_message());
    rm_acquire();
    rm_object *tables = checked(rm_list_new(NTABLES), "rm_list_new");
    mu->tables_handle = rm_handle_new(tables);
    for (int i = 0; i < NTABLES / 2; i++) {
        mu->dicts[i] = checked(rm_dict_new(), "rm_dict_new");
        rm_list_append(tables, mu->dicts[i]);
        mu->sets[i] = checked(rm_set_new(), "rm_set_new");
        rm_list_append(tables, mu->sets[i]);
    }
    grow_chunks(mu);
    mu->chunk_handles[0] = rm_handle_new(checked(rm_list_new(0), "rm_list_new"));
    mu->chunk_count[0] = 0;
    mu->seen_epoch = nepochs;
    size_t cap = opt.objects / NMUTATORS + 1;
    for (;;) {
        if (stop) break;
        if (mu->seen_epoch < nepochs) verify(mu, "after a remap");
        for (int i = 0; i < OPS_PER_BATCH; i++) mutator_op(mu);
        while (mu->n > cap && mu->first_chunk < mu->cur_chunk) drop_oldest_chunk(mu);
        batches[mu->id]++;
        rm_release();
        sched_yield();
        rm_acquire();
    }
    verify(mu, "at its end");
    rm_release();
    rm_thread_detach();
    return NULL;
}
