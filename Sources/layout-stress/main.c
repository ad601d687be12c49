/*
** main.c: layout-stress, a seeded randomized test of layout-changing
** reloads (instance migration in the remap walk and after it) and of their
** rollback, on the C transaction API.
**
**   layout-stress [--seed N] [--rounds N] [--instances N] [--quiet]
**
** Prints "seed=N" first, so any failure can be replayed with --seed N, and
** "layout-stress: P passed, F failed" last. Exits 0 if every check passed,
** 1 if one failed, 2 on a usage error.
**
** Each round (world.c says what the model predicts):
**   1. the world changes outside any reload: a class gains a field (its
**      older instances then store fewer fields than it has), instances are
**      dropped and made, attributes set; sometimes a collection;
**   2. a new class is derived for some families, and some functions get new
**      versions; they are made before the transaction or inside it (the
**      rollback then undoes the walk's rewrites by logging or by the inverse
**      walk); rm_mapping_add_subclasses rebases the subclass family, if the
**      world has one, when its base is replaced;
**   3. the reload: rm_txn_remap, the rehash of what its report lists,
**      rm_migrate_instances (or its guarded form), with a random number of
**      walker threads. It may be made to fail: a fault armed at a random
**      occurrence of field_init, class_hook, migrate, alloc or remap; an
**      initializer or hook failing on one instance; two new fields taking
**      one old field (refused before the walk);
**   4. a reload that succeeded is checked against the prediction, then
**      committed (checked again, and the model moves on) or rolled back; a
**      rollback must leave every instance as the snapshot taken before.
** The heap checker runs after every commit and rollback. A round whose
** checks fail ends the run: the model no longer describes the heap.
**
** Two struct families (sworld.c) take part in every round: their fields
** set through rm_setattr and through the C pointer in step 1; in step 2
** new layouts (fields of every kind and arrays added, removed, reordered,
** renamed, widened, resized, changed as the rules refuse, with or without
** an initializer; structs that outgrow their instances' allocations, which
** then move), hooks that write a field through the C pointer, and for the
** outcome "conflict" a refused change; in step 4 each field's bytes and
** boxed value, where the moved instances are referenced from (a list,
** dict keys, handles, weak references, other instances' fields), and on
** rollback every instance's bytes at its old address.
*/
#include "layout_stress.h"

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
    uint64_t seed;
    size_t rounds, instances;
    bool quiet;
} opt = {.rounds = 40, .instances = 2000};

/* ---- Random numbers, checks ---- */

uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void *grow_records(void *items, size_t *cap, size_t n, size_t size, size_t first) {
    size_t grown_cap = *cap ? *cap * 2 : first;
    void *grown = GC_MALLOC_UNCOLLECTABLE(grown_cap * size);
    if (!grown) fatal("out of memory");
    memset(grown, 0, grown_cap * size);
    if (n) memcpy(grown, items, n * size);
    GC_FREE(items);
    *cap = grown_cap;
    return grown;
}

void addr_index_reset(addr_index *x, size_t n) {
    free(x->keys);
    free(x->vals);
    size_t size = 64;
    while (size < 2 * n + 2) size *= 2;
    x->keys = calloc(size, sizeof *x->keys);
    x->vals = calloc(size, sizeof *x->vals);
    if (!x->keys || !x->vals) fatal("out of memory");
    x->mask = size - 1;
}

static size_t addr_slot(const addr_index *x, rm_object *o) {
    return (size_t)((((uintptr_t)o >> 4) * 0x9e3779b97f4a7c15ULL) >> 24) & x->mask;
}

void addr_index_put(addr_index *x, rm_object *key, size_t val) {
    size_t s = addr_slot(x, key);
    while (x->keys[s] && x->keys[s] != key) s = (s + 1) & x->mask;
    x->keys[s] = key;
    x->vals[s] = val;
}

bool addr_index_get(const addr_index *x, rm_object *key, size_t *val) {
    for (size_t s = addr_slot(x, key); x->keys[s]; s = (s + 1) & x->mask)
        if (x->keys[s] == key) return *val = x->vals[s], true;
    return false;
}

size_t rng_below(rng *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }
bool rng_chance(rng *r, unsigned percent) { return rng_next(r) % 100 < percent; }

#define MAX_PRINTED 20
static char group[256];
static size_t group_failures, passed, failed;

void check_begin(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(group, sizeof group, fmt, ap);
    va_end(ap);
    group_failures = 0;
}

void check_fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (group_failures < MAX_PRINTED) printf("FAIL [%s] %s\n", group, msg);
    else if (group_failures == MAX_PRINTED) printf("FAIL [%s] ... (further failures not shown)\n", group);
    group_failures++;
    fflush(stdout);
}

bool check_end(void) {
    bool ok = group_failures == 0;
    if (ok) passed++;
    else {
        failed++;
        printf("FAILED check: %s (%zu failures; seed=%" PRIu64 ")\n", group, group_failures, opt.seed);
    }
    group_failures = 0;
    return ok;
}

void say(const char *fmt, ...) {
    if (opt.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FATAL (round %d): ", W ? W->round : 0);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\nlayout-stress: %zu passed, %zu failed (fatal; seed=%" PRIu64 ")\n", passed, failed + 1, opt.seed);
    fflush(stdout);
    exit(1);
}

/* ---- A round ---- */

enum outcome { COMMIT, ROLLBACK, FAULT, FAIL_CALL, CONFLICT };
static const char *const outcome_names[] = {"commit", "rollback", "fault", "failing call", "conflict"};
#define NPOINTS 5
static const char *const points[NPOINTS] = {"field_init", "class_hook", "migrate", "alloc", "remap"};

static rng R;
/* Occurrences of each point in the largest clean reload so far: where a
   fault is armed. */
static size_t seen[NPOINTS];
static size_t stats_in_place, stats_moved, stats_commits, stats_rollbacks;

static void heap_check(const char *when) {
    if (rm_heap_check() != 0) check_fail("rm_heap_check %s: %s", when, rm_error_message());
    rm_error_clear();
}

/* As the Swift loader does after the walk. */
static int rehash(const rm_remap_report *rep) {
    for (size_t i = 0; i < rep->ntables; i++) {
        rm_object *t = rep->tables[i];
        if ((rm_is_set(t) ? rm_set_rehash(t, NULL) : rm_dict_rehash(t, NULL)) < 0) return -1;
    }
    return 0;
}

/* An instance whose initializer or hook is made to fail. */
static void plan_failing_call(void) {
    for (int tries = 0; tries < 50 && W->ninst; tries++) {
        inst_rec *rec = &W->inst[rng_below(&R, W->ninst)];
        const fam_plan *p = &W->plan[rec->fam];
        int inits[MAXF], n = 0;
        for (int j = 0; p->replaced && j < p->next.nf; j++)
            if (p->init[j]) inits[n++] = p->next.name[j];
        if (!n && p->hook < 0) continue;
        W->fail_obj = rec->obj;
        if (n && (p->hook < 0 || rng_chance(&R, 50))) W->fail_init_name = inits[rng_below(&R, (size_t)n)];
        else W->fail_hook = true;
        return;
    }
}

static bool run_round(int round_no) {
    W->round = round_no;
    world_mutate(&R, opt.instances / 4 + rng_below(&R, opt.instances * 3 / 4 + 1));
    sworld_mutate(&R, opt.instances / 16 + rng_below(&R, opt.instances / 8 + 1));
    if (rng_chance(&R, 30)) rm_collect();
    check_begin("round %d: before the reload", round_no);
    swalked(); /* nothing moved yet: every instance's index entry */
    heap_check("before");
    check_tails("before");
    scheck_model("before");
    bool ok = check_end();

    static const unsigned weights[] = {40, 15, 30, 10, 5};
    unsigned pick = (unsigned)rng_below(&R, 100), outcome = 0;
    while (pick >= weights[outcome]) pick -= weights[outcome++];
    plan_clear();
    splan_clear();
    bool inside = rng_chance(&R, 50);
    unsigned mask = rng_chance(&R, 60) ? (unsigned)rng_below(&R, 1u << NFUNCS) : 0;
    if (!inside) funcs_build(mask);
    bool any = false, conflict = false;
    for (int f = 0; f < FAMILIES; f++)
        if (!(W->sub && f == 2) && rng_chance(&R, f == 0 ? 85 : 40)) {
            plan_derive(&R, f, outcome == CONFLICT);
            any = true;
        }
    if (!any) plan_derive(&R, 0, outcome == CONFLICT);
    /* The struct families: the subclass family is replaced with its base. */
    for (int f = 0; f < SFAMILIES; f++)
        if (rng_chance(&R, 50) || (f == 1 && SW->sub && SW->plan[0].replaced)) splan_derive(&R, f, outcome == CONFLICT);
    splan_finish(&R);
    /* A struct subclass made before the transaction outlives its rollback
       as a class of the old base, which a later reload of the base would
       rebase (and may refuse to): a loader makes its classes inside. */
    bool sinside = inside || SW->sub;
    if (!inside) plan_build();
    if (!sinside) splan_build();
    snapshot_take();
    ssnapshot_take();
    size_t sheld = SW->n;
    size_t held = W->ninst, words = 0;
    for (size_t i = 0; i < held; i++) words += rm_instance_slot_count(W->inst[i].obj) > W->inst[i].obj->ob_aux;
    if (rm_txn_begin() < 0) fatal("rm_txn_begin: %s", rm_error_message());
    if (inside) {
        funcs_build(mask);
        plan_build();
    }
    if (sinside) splan_build();
    if (inside) {
        /* Instances of the old classes made during the reload: migrated
           like the others; a rollback leaves them to the program. */
        size_t more = rng_chance(&R, 50) ? rng_below(&R, 20) : 0;
        for (size_t k = 0; k < more; k++) new_instance(&R);
        more = rng_chance(&R, 50) ? rng_below(&R, 10) : 0;
        for (size_t k = 0; k < more; k++) snew_instance(&R);
    }
    rm_mapping *m = plan_mapping();
    splan_map(m);
    check_begin("round %d: the rebased subclass", round_no);
    rm_object *pairs = rm_mapping_add_subclasses(m);
    if (!pairs) fatal("rm_mapping_add_subclasses: %s", rm_error_message());
    plan_rebase(pairs);
    splan_rebase(pairs);
    ok &= check_end();
    for (int f = 0; f < FAMILIES; f++) conflict |= W->plan[f].replaced && W->plan[f].conflict;
    conflict |= srefusal_expected();
    predict();
    spredict();
    W->fail_obj = NULL;
    W->fail_init_name = -1;
    W->fail_hook = false;
    SW->fail_rec = -1;
    SW->fail_init_name = -1;
    SW->fail_hook = false;
    if (outcome == FAIL_CALL && !(splan_any() && rng_chance(&R, 50) && sfailing_call(&R))) plan_failing_call();
    bool failing = W->fail_obj || SW->fail_rec >= 0, failing_hook = W->fail_hook || SW->fail_hook;
    rm_set_walk_threads(1 + (unsigned)rng_below(&R, 4));

    size_t before[NPOINTS], nth = 0;
    int point = -1;
    bool guarded = rng_chance(&R, 30), crash = false;
    for (int k = 0; k < NPOINTS; k++) before[k] = rm_fault_count(points[k]);
    if (outcome == FAULT) {
        point = (int)rng_below(&R, NPOINTS);
        size_t est = seen[point] ? seen[point] : 1 + W->ninst / 4;
        nth = 1 + rng_below(&R, est + est / 4 + 1);
        /* The points inside rm_migrate_instances may crash instead, where
           the crash guard runs it. */
        crash = guarded && point <= 2 && rng_chance(&R, 50);
        if (rm_fault_arm(points[point], nth, crash ? RM_FAULT_CRASH : RM_FAULT_ERROR) < 0)
            fatal("rm_fault_arm: %s", rm_error_message());
    }
    rm_remap_report rep;
    rm_migration mig;
    memset(&mig, 0, sizeof mig);
    const char *step = "remap";
    int crashed = 0;
    check_begin("round %d: inside the reload (views, initializers, hooks)", round_no);
    int rc = rm_txn_remap(m, &rep);
    if (rc == 0 && (step = "rehash", rc = rehash(&rep)) == 0) {
        step = "migrate";
        /* Where the walk moved struct instances: values compare by the
           instance, at either address (value_eq). */
        swalked();
        /* A collection mid-reload: the stashes, the plans' lists and the
           journal must keep what the rollback needs. */
        if (rng_chance(&R, 15)) rm_collect();
        rc = guarded ? rm_guarded_migrate(&mig, &crashed) : rm_migrate_instances(&mig);
        if (rng_chance(&R, 15)) rm_collect();
    }
    ok &= check_end();
    rm_fault_disarm();
    char err[512];
    snprintf(err, sizeof err, "%s", rc ? rm_error_message() : "");
    rm_error_clear();
    bool fired = point >= 0 && rm_fault_count(points[point]) - before[point] >= nth;
    if (rc == 0)
        for (int k = 0; k < NPOINTS; k++)
            if (rm_fault_count(points[k]) - before[k] > seen[k]) seen[k] = rm_fault_count(points[k]) - before[k];

    check_begin("round %d: the reload's outcome (%s)", round_no, outcome_names[outcome]);
    if (conflict && (rc == 0 || strcmp(step, "remap") || rep.objects_visited))
        check_fail("two new fields take one old field, yet the %s step %s (%s)", step, rc ? "failed" : "passed", err);
    else if (!conflict && failing && (rc == 0 || strcmp(step, "migrate")) && !fired)
        check_fail("an %s was made to fail, yet the %s step %s (%s)", failing_hook ? "hook" : "initializer", step,
                   rc ? "failed" : "passed", err);
    else if (!conflict && failing && !fired &&
             strcmp(mig.failed_step ? mig.failed_step : "", failing_hook ? "__reload__" : "field initializer"))
        check_fail("the failing call is reported at step '%s'", mig.failed_step ? mig.failed_step : "");
    else if (fired && rc == 0) check_fail("fault %s #%zu fired, yet the reload succeeded", points[point], nth);
    else if (rc && !conflict && !failing && !fired) check_fail("the %s step failed: %s", step, err);
    else if (rc && srefusal_expected()) scheck_refusal(err);
    if (crashed && !(crash && fired)) check_fail("the migration crashed (signal %d): %s", crashed, err);
    if (crash && fired && !crashed) check_fail("a crash at %s #%zu was not reported as one", points[point], nth);
    ok &= check_end();

    size_t in_place = 0, moved = 0;
    for (size_t i = 0; i < rm_txn_class_count(); i++) {
        in_place += rm_txn_class(i)->in_place;
        moved += rm_txn_class(i)->moved;
    }
    if (rc == 0) {
        check_begin("round %d: as predicted, before commit", round_no);
        check_predicted("before commit");
        scheck_predicted("before commit");
        check_class_lines();
        ok &= check_end();
    }
    bool commit = rc == 0 && outcome != ROLLBACK && rng_chance(&R, 85);
    say("round %d: %zu instances (%zu using the dict word), %s%s%s, %s: %zu in place, %zu moved; %s%s%s", round_no,
        W->ninst, words, outcome_names[outcome], point >= 0 ? (fired ? " (fired)" : " (not reached)") : "",
        crash ? " crash" : "", inside ? "made in the transaction" : "made before", in_place, moved,
        commit ? "commit" : "rollback", rc ? " after: " : "", err);
    plan_describe();
    splan_describe();
    if (commit) {
        rm_txn_commit();
        stats_commits++;
        stats_in_place += in_place;
        stats_moved += moved;
        check_begin("round %d: after commit", round_no);
        check_predicted("after commit");
        scheck_predicted("after commit");
        check_tails("after commit");
        heap_check("after commit");
        ok &= check_end();
        smodel_commit();
        model_commit();
        sround_end(true);
    } else {
        rm_txn_rollback();
        stats_rollbacks++;
        while (W->ninst > held) memset(&W->inst[--W->ninst], 0, sizeof *W->inst);
        while (SW->n > sheld) memset(&SW->rec[--SW->n], 0, sizeof *SW->rec);
        check_begin("round %d: after rollback", round_no);
        check_rolled_back();
        scheck_rolled_back();
        heap_check("after rollback");
        ok &= check_end();
        sround_end(false);
    }
    rm_report_clear(&rep);
    rm_mapping_free(m);
    snapshot_free();
    ssnapshot_free();
    plan_clear(); /* the model holds the old objects no longer */
    splan_clear();
    if (rng_chance(&R, 40)) {
        rm_collect();
        check_begin("round %d: after a collection", round_no);
        heap_check("after a collection");
        ok &= check_end();
    }
    return ok;
}

/* ---- main ---- */

static void usage(const char *prog) {
    fprintf(stderr, "usage: %s [--seed N] [--rounds N] [--instances N] [--quiet]\n", prog);
    exit(2);
}

static uint64_t parse_number(const char *prog, const char *s) {
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end) usage(prog);
    return (uint64_t)v;
}

int main(int argc, char **argv) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    opt.seed = ((uint64_t)tv.tv_sec * 1000003u) ^ (uint64_t)tv.tv_usec ^ ((uint64_t)getpid() << 20);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seed") && i + 1 < argc) opt.seed = parse_number(argv[0], argv[++i]);
        else if (!strcmp(a, "--rounds") && i + 1 < argc) opt.rounds = (size_t)parse_number(argv[0], argv[++i]);
        else if (!strcmp(a, "--instances") && i + 1 < argc) opt.instances = (size_t)parse_number(argv[0], argv[++i]);
        else if (!strcmp(a, "--quiet")) opt.quiet = true;
        else usage(argv[0]);
    }
    printf("seed=%" PRIu64 "\n", opt.seed);
    fflush(stdout);
    if (opt.instances < 8) opt.instances = 8;
    if (rm_init() != 0) fatal("rm_init failed: %s", rm_error_message());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    R.state = opt.seed;
    rm_acquire();
    sregress_dead_subclass();
    sregress_struct_defaults();
    world_init(&R);
    sworld_init(&R);
    size_t rounds = 0;
    for (int r = 1; r <= (int)opt.rounds; r++, rounds++)
        if (!run_round(r)) {
            rounds++;
            break;
        }
    rm_release();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("layout-stress: %zu rounds, %zu commits, %zu rollbacks; %zu instances migrated in place, %zu moved\n", rounds,
           stats_commits, stats_rollbacks, stats_in_place, stats_moved);
    if (failed) printf("to replay: layout-stress --seed %" PRIu64 " --rounds %zu --instances %zu\n", opt.seed, opt.rounds,
                       opt.instances);
    printf("layout-stress: %zu passed, %zu failed (%.1f s)\n", passed, failed, secs);
    return failed ? 1 : 0;
}
