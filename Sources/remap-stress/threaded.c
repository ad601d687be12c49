/*
** threaded.c: --threads mode. Two mutator threads allocate and mutate
** objects under the runtime lock while a third thread remaps shared classes
** and functions in a loop.
**
** Shared state, all guarded by the runtime lock:
**   - two lists, each held by a handle: the current classes and functions.
**     A remap rewrites them like any heap slot, so a mutator always finds
**     the current versions there;
**   - the log of remaps: for each epoch, its (old, new) address pairs;
**   - the stop flag and each mutator's batch counter.
** Each mutator tracks what it built with the class or function it expects
** there (an instance's class, a method's function, a dict key, a set
** member, a tuple item, a weakref's target). When the log has grown, it
** applies each new epoch's pairs once, in order, to every expectation, and
** checks all of them against the heap. At the end the main thread does the
** same once more, then collects and checks again.
*/
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCLASSES 8
#define NFUNCS 6
#define NMUTATORS 2
/* Objects per root-list chunk; dropping a chunk makes garbage. */
#define CHUNK_OBJECTS 512
/* Dicts and sets each mutator keeps for its whole life. */
#define NTABLES 4
/* A permanent table is cleared when it grows past this. */
#define TABLE_LIMIT 256
#define OPS_PER_BATCH 20

typedef struct epoch {
    rm_object **olds, **news;
    size_t n;
} epoch;

static epoch *epochs;
static size_t nepochs, capepochs;
static bool stop;
static size_t batches[NMUTATORS];
static rm_handle shared_classes, shared_funcs;

enum track_kind { TR_INSTANCE, TR_METHOD, TR_DICTKEY, TR_TUPLEKEY, TR_TUPLE0, TR_TUPLE1, TR_SETMEMBER, TR_WEAK };

static const char *track_names[] = {"instance's class", "method's function", "dict key",   "tuple key",
                                    "tuple item 0",     "tuple item 1",      "set member", "weakref target"};

typedef struct tracked {
    rm_object *obj;    /* the object built */
    rm_object *expect; /* what it must refer to now */
    rm_object *aux;    /* a dict entry's value */
    uint8_t kind;
    int32_t chunk;     /* -1: a permanent table */
} tracked;

typedef struct mutator {
    int id;
    rng r;
    pthread_t thread;
    tracked *t;
    size_t n, cap;
    size_t seen_epoch;
    rm_handle *chunk_handles; /* chunk i's root list */
    size_t *chunk_count;
    size_t chunk_cap;
    int32_t first_chunk, cur_chunk;
    rm_handle tables_handle; /* a list of the NTABLES dicts and sets */
    rm_object *dicts[NTABLES / 2], *sets[NTABLES / 2];
    size_t created, verified_groups;
} mutator;

static mutator mutators[NMUTATORS];

/* ---- Helpers (runtime lock held) ---- */

static rm_object *checked(rm_object *o, const char *what) {
    if (!o) fatal("%s failed: %s", what, rm_error_message());
    return o;
}

static rm_object *shared_get(rm_handle h, size_t i) { return checked(rm_list_get(rm_handle_get(h), i), "rm_list_get"); }

/* A class with `nfields` fields, a unique ctag and the method tag. */
static rm_object *make_class(const char *name, size_t nfields, int64_t tag) {
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
static void verify(mutator *mu, const char *when) {
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

static void *mutator_main(void *arg) {
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

/* ---- The remapping thread ---- */

static size_t remaps_planned;
/* Mutator batches between two remaps: spreads --objects allocations (about
   OBJECTS_PER_BATCH per batch) over the remaps. */
static size_t batches_per_remap;
#define OBJECTS_PER_BATCH 32

static void *remapper_main(void *arg) {
    rng *r = arg;
    if (rm_thread_attach() != 0) fatal("rm_thread_attach: %s", rm_error_message());
    rm_acquire();
    rm_handle staging = rm_handle_new(checked(rm_list_new(0), "rm_list_new"));
    for (size_t k = 0; k < remaps_planned; k++) {
        if (k % 7 == 6) rm_collect();
        rm_mapping *map = rm_mapping_new();
        if (!map) fatal("rm_mapping_new: %s", rm_error_message());
        rm_object *list = rm_handle_get(staging);
        bool used[NCLASSES] = {false}, fused[NFUNCS] = {false};
        epoch e = {0};
        size_t want = 1 + rng_below(r, 3), nf = rng_below(r, 3);
        e.olds = malloc((want * 2 + nf + 2) * sizeof *e.olds);
        e.news = malloc((want * 2 + nf + 2) * sizeof *e.news);
        if (!e.olds || !e.news) fatal("out of memory");
        for (size_t i = 0; i < want; i++) {
            size_t a = rng_below(r, NCLASSES);
            if (used[a]) continue;
            used[a] = true;
            rm_object *old = shared_get(shared_classes, a);
            size_t b = rng_below(r, NCLASSES);
            if (rng_chance(r, 20) && !used[b]) { /* swap two classes */
                used[b] = true;
                rm_object *other = shared_get(shared_classes, b);
                e.olds[e.n] = old, e.news[e.n++] = other;
                e.olds[e.n] = other, e.news[e.n++] = old;
                continue;
            }
            char name[32];
            snprintf(name, sizeof name, "C%zu_v%zu", a, k + 1);
            rm_object *cls = make_class(name, 3 + rng_below(r, 2), (int64_t)(k + 1) * 100 + (int64_t)a);
            rm_list_append(list, cls);
            e.olds[e.n] = old, e.news[e.n++] = cls;
        }
        for (size_t i = 0; i < nf; i++) {
            size_t a = rng_below(r, NFUNCS);
            if (fused[a]) continue;
            fused[a] = true;
            char name[32];
            snprintf(name, sizeof name, "fn%zu_v%zu", a, k + 1);
            rm_object *closure = checked(rm_int((int64_t)k), "rm_int");
            rm_list_append(list, closure);
            rm_object *f = checked(rm_function_new(name, fn_generic, 0, NULL, closure), "rm_function_new");
            rm_list_append(list, f);
            e.olds[e.n] = shared_get(shared_funcs, a), e.news[e.n++] = f;
        }
        for (size_t i = 0; i < e.n; i++)
            if (rm_mapping_add(map, e.olds[i], e.news[i]) < 0) fatal("rm_mapping_add: %s", rm_error_message());
        unsigned options = rng_chance(r, 20) ? RM_REMAP_KEEP_HASHES : 0;
        rm_set_walk_threads(1 + (unsigned)rng_below(r, 3));
        rm_remap_report rep;
        check_begin("remapper: remap %zu (%zu pairs)", k + 1, e.n);
        if (rm_remap_ex(map, options, &rep) != 0) {
            check_fail("rm_remap_ex failed: %s", rm_error_message());
        } else {
            for (size_t i = 0; i < rep.ntables; i++) {
                rm_object *t = rep.tables[i];
                int rc = RM_IS(t, rm_dict_type) ? rm_dict_rehash(t, NULL) : rm_set_rehash(t, NULL);
                if (rc != 0) check_fail("rehash of a listed table failed: %s", rm_error_message());
            }
            if (rm_heap_check() != 0) {
                check_fail("rm_heap_check after remap %zu: %s", k + 1, rm_error_message());
                rm_error_clear();
            }
            /* The shared lists are heap objects: they now hold the new versions. */
            for (size_t i = 0; i < e.n; i++) {
                rm_object *cur = NULL;
                for (size_t j = 0; j < NCLASSES && RM_IS(e.news[i], rm_class_type); j++) {
                    rm_object *c = shared_get(shared_classes, j);
                    if (c == e.news[i]) cur = c;
                }
                for (size_t j = 0; j < NFUNCS && RM_IS(e.news[i], rm_function_type); j++) {
                    rm_object *f = shared_get(shared_funcs, j);
                    if (f == e.news[i]) cur = f;
                }
                if (!cur) check_fail("new object %p is not in the shared list after the remap", (void *)e.news[i]);
            }
            rm_report_clear(&rep);
        }
        check_end();
        rm_mapping_free(map);
        rm_list_clear(list);
        if (nepochs == capepochs) {
            capepochs = capepochs ? capepochs * 2 : 64;
            epochs = realloc(epochs, capepochs * sizeof *epochs);
            if (!epochs) fatal("out of memory");
        }
        epochs[nepochs++] = e;
        /* Let both mutators run their share of batches against this epoch. */
        size_t seen[NMUTATORS];
        memcpy(seen, batches, sizeof seen);
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            bool all = true;
            for (int i = 0; i < NMUTATORS; i++) all &= batches[i] >= seen[i] + batches_per_remap;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (all || now.tv_sec - start.tv_sec > 30) break;
            rm_release();
            usleep(200);
            rm_acquire();
        }
    }
    stop = true;
    rm_handle_free(staging);
    rm_release();
    rm_thread_detach();
    return NULL;
}

int run_threaded(void) {
    rng main_rng = {opt.seed};
    rm_acquire();
    rm_object *classes = checked(rm_list_new(NCLASSES), "rm_list_new");
    shared_classes = rm_handle_new(classes);
    for (size_t i = 0; i < NCLASSES; i++) {
        char name[16];
        snprintf(name, sizeof name, "C%zu", i);
        rm_list_append(classes, make_class(name, 3, (int64_t)i));
    }
    rm_object *funcs = checked(rm_list_new(NFUNCS), "rm_list_new");
    shared_funcs = rm_handle_new(funcs);
    for (size_t i = 0; i < NFUNCS; i++) {
        char name[16];
        snprintf(name, sizeof name, "fn%zu", i);
        rm_list_append(funcs, checked(rm_function_new(name, fn_generic, 0, NULL, rm_none), "rm_function_new"));
    }
    remaps_planned = opt.rounds * 4;
    batches_per_remap = opt.objects / (NMUTATORS * OBJECTS_PER_BATCH * remaps_planned);
    if (batches_per_remap < 1) batches_per_remap = 1;
    rm_release();

    for (int i = 0; i < NMUTATORS; i++) {
        mutators[i].id = i;
        mutators[i].r.state = opt.seed ^ (0x1234567ULL * (uint64_t)(i + 1));
        if (pthread_create(&mutators[i].thread, NULL, mutator_main, &mutators[i]) != 0) fatal("pthread_create failed");
    }
    pthread_t remapper;
    if (pthread_create(&remapper, NULL, remapper_main, &main_rng) != 0) fatal("pthread_create failed");
    pthread_join(remapper, NULL);
    for (int i = 0; i < NMUTATORS; i++) pthread_join(mutators[i].thread, NULL);

    rm_acquire();
    for (int i = 0; i < NMUTATORS; i++) verify(&mutators[i], "checked by main after the threads ended");
    check_begin("threads: rm_heap_check at the end");
    if (rm_heap_check() != 0) check_fail("rm_heap_check: %s", rm_error_message());
    check_end();
    rm_collect();
    for (int i = 0; i < NMUTATORS; i++) verify(&mutators[i], "after a final collection");
    check_begin("threads: rm_heap_check after the final collection");
    if (rm_heap_check() != 0) check_fail("rm_heap_check: %s", rm_error_message());
    check_end();
    say("threads: %zu remaps; mutators created %zu and %zu objects in %zu and %zu batches", nepochs, mutators[0].created,
        mutators[1].created, batches[0], batches[1]);
    rm_release();
    return checks_failed() ? 1 : 0;
}
