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
** same once more, then collects and checks again. The mutators are in
** threaded_mutator.c; this file has the shared state, the remapping
** thread and the run.
*/
#include "threaded.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

epoch *epochs;
size_t nepochs;
static size_t capepochs;
bool stop;
size_t batches[NMUTATORS];
rm_handle shared_classes, shared_funcs;

static mutator mutators[NMUTATORS];

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
