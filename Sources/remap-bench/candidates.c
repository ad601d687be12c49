/*
** candidates.c: remap-bench --candidates, the alternatives the design
** considered for finding every live object, timed on the same heap: the
** registry walk, the remap on one thread, on all and without the instance
** list, and enumerating reachable objects after a full collection. A
** candidate that crashes or hangs still gets its line printed.
*/
#include "bench.h"

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Candidate (a): enumerate reachable objects after a collection ---- */

/* An open-addressing set of addresses with a bounds check first: the same
   kind of test the remap walk makes, written here because the runtime's is
   internal. */
typedef struct addr_table {
    uintptr_t keys[1024]; /* 0 = empty; at most 40% full */
    rm_object *vals[1024];
    uintptr_t lo, hi;
} addr_table;

#define ADDR_BITS 10

static size_t addr_slot(uintptr_t a) {
    return (size_t)(((a >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - ADDR_BITS));
}

static void addr_put(addr_table *t, const void *key, rm_object *val) {
    uintptr_t a = (uintptr_t)key;
    size_t i = addr_slot(a);
    while (t->keys[i] && t->keys[i] != a) i = (i + 1) & ((1u << ADDR_BITS) - 1);
    t->keys[i] = a;
    t->vals[i] = val;
    if (a < t->lo) t->lo = a;
    if (a > t->hi) t->hi = a;
}

static inline rm_object *addr_get(const addr_table *t, const void *key) {
    uintptr_t a = (uintptr_t)key;
    if (a < t->lo || a > t->hi) return NULL;
    for (size_t i = addr_slot(a);; i = (i + 1) & ((1u << ADDR_BITS) - 1)) {
        if (t->keys[i] == a) return t->vals[i];
        if (!t->keys[i]) return NULL;
    }
}

static void addr_init(addr_table *t) {
    memset(t, 0, sizeof *t);
    t->lo = UINTPTR_MAX;
}

typedef struct enum_ctx {
    addr_table statics; /* built-in types: their objects are ours */
    addr_table classes; /* old and new classes: their objects are instances */
    addr_table map;     /* the current direction's old -> new */
    size_t enumerated;  /* every reachable GC object */
    size_t ours;        /* objects whose first word is a known type */
    size_t instances;
    size_t rewritten;
    size_t rejected; /* first word a class, but not an instance's shape */
} enum_ctx;

/*
** Called by Boehm for every marked object, with its allocation lock held.
** An object is ours if its first word is a known type; a class in that word
** makes it an instance, but a dict's entry array also starts with a class
** (a key), so the slot count in the header and the size must agree too.
** An instance's class, dict and fields are tested against the mapping
** without reading their targets.
*/
static void GC_CALLBACK enum_visit(void *p, size_t bytes, void *arg) {
    enum_ctx *c = arg;
    c->enumerated++;
    if (bytes < sizeof(rm_object)) return;
    bench_instance *o = p;
    if (addr_get(&c->classes, o->ob_type)) {
        if (o->ob_aux != NFIELDS || bytes < sizeof(bench_instance) + NFIELDS * sizeof(rm_object *)) {
            c->rejected++;
            return;
        }
        c->ours++;
        c->instances++;
        rm_object *n;
        if ((n = addr_get(&c->map, o->ob_type))) { o->ob_type = (rm_type *)n; c->rewritten++; }
        if (o->dict && (n = addr_get(&c->map, o->dict))) { o->dict = n; c->rewritten++; }
        for (unsigned s = 0; s < NFIELDS; s++)
            if ((n = addr_get(&c->map, o->slots[s]))) { o->slots[s] = n; c->rewritten++; }
    } else if (addr_get(&c->statics, o->ob_type)) {
        c->ours++;
    }
}

static void *enum_all(void *arg) {
    GC_enumerate_reachable_objects_inner(enum_visit, arg);
    return NULL;
}

static void enum_ctx_init(enum_ctx *c) {
    memset(c, 0, sizeof *c);
    addr_init(&c->statics);
    addr_init(&c->classes);
    addr_init(&c->map);
    rm_type *statics[] = {&rm_type_type, &rm_class_type, &rm_none_type, &rm_bool_type,
                          &rm_int_type, &rm_float_type, &rm_str_type, &rm_tuple_type,
                          &rm_list_type, &rm_dict_type, &rm_set_type, &rm_function_type,
                          &rm_method_type, &rm_module_type, &rm_capsule_type, &rm_weakref_type};
    for (size_t i = 0; i < sizeof statics / sizeof *statics; i++)
        addr_put(&c->statics, statics[i], (rm_object *)statics[i]);
    for (int i = 0; i < NCLASSES; i++) {
        addr_put(&c->classes, old_classes[i], old_classes[i]);
        addr_put(&c->classes, new_classes[i], new_classes[i]);
    }
}

static void enum_set_direction(enum_ctx *c, bool to_new) {
    addr_init(&c->map);
    for (int i = 0; i < NCLASSES; i++)
        addr_put(&c->map, to_new ? old_classes[i] : new_classes[i], to_new ? new_classes[i] : old_classes[i]);
    for (int i = 0; i < NFUNCTIONS; i++)
        addr_put(&c->map, to_new ? old_functions[i] : new_functions[i],
                 to_new ? new_functions[i] : old_functions[i]);
}

/* ---- Crash and hang guard for the candidates ----
** A candidate that faults or hangs must not lose the line: the handler
** jumps back, the line is printed with what was measured and where it
** stopped, and the process exits (the heap may be half rewritten). */
static sigjmp_buf guard_jump;
static volatile sig_atomic_t guard_armed;
static const char *volatile guard_stage = "setup";

static void guard_handler(int sig) {
    if (guard_armed) {
        guard_armed = 0;
        siglongjmp(guard_jump, sig);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_install(unsigned timeout) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = guard_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    alarm(timeout);
}

static void guard_remove(void) {
    alarm(0);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
}

/* ---- The candidates line ---- */

static int visit_nothing(rm_object *o, void *arg) {
    (void)o;
    (void)arg;
    return 0;
}

static size_t count_calls;

/* Reads an object's header and the word after it, as the walk must: the
   cost of reaching every object through the registry, without deciding
   anything about its slots. */
static int visit_touch(rm_object *o, void *arg) {
    uint64_t *sum = arg;
    *sum += (uintptr_t)o->ob_type + ((const uint64_t *)o)[2];
    return 0;
}

static int visit_count(rm_object *o, void *arg) {
    (void)o;
    (void)arg;
    count_calls++;
    return 0;
}

static void json_run(json *j, const char *prefix, remap_run *run) {
    char key[64];
    snprintf(key, sizeof key, "%s_ms", prefix);
    json_ms(j, key, run->failed ? 0.0 / 0.0 : median(&run->all));
    snprintf(key, sizeof key, "%s_min_ms", prefix);
    json_ms(j, key, run->failed ? 0.0 / 0.0 : smin(&run->all));
    snprintf(key, sizeof key, "%s_threads", prefix);
    json_size(j, key, run->have_first ? run->first.threads : 0);
    if (run->failed) {
        snprintf(key, sizeof key, "%s_error", prefix);
        json_str(j, key, run->error);
    }
}

/*
** The alternatives for finding every live object, on the same heap, in
** order of risk: the registry walk with an empty visitor and with one that
** reads each object's first words (reaching every object, deciding
** nothing), the remap on one
** thread and on all, the remap without the instance list, then enumeration
** after a full collection (forward and back, so the heap ends as it began).
*/
void run_candidates(const options *opt, size_t expected_instance_rewrites) {
    json j;
    json_begin(&j);
    json_str(&j, "line", "candidates");
    json_size(&j, "objects", opt->objects);
    json_size(&j, "repeats", opt->repeats);

    samples walk = samples_new(opt->repeats);
    samples egc = samples_new(opt->repeats), ewalk = samples_new(opt->repeats);
    remap_run single, multi, noinst;
    memset(&single, 0, sizeof single);
    memset(&multi, 0, sizeof multi);
    memset(&noinst, 0, sizeof noinst);
    enum_ctx *ec = malloc(sizeof *ec);
    if (!ec) die("out of memory");
    enum_ctx_init(ec);
    /* Read after a jump back from the guard: volatile, or their values
       would be indeterminate. */
    volatile bool enum_ok = true;
    volatile int stage = 0; /* how far we got */

    int sig = sigsetjmp(guard_jump, 1);
    if (sig == 0) {
        guard_armed = 1;
        guard_install(opt->timeout);

        guard_stage = "registry_walk";
        count_calls = 0;
        rm_heap_each(visit_count, NULL);
        json_size(&j, "registry_objects", count_calls);
        for (unsigned r = 0; r < opt->repeats; r++) {
            double t0 = now_ms();
            rm_heap_each(visit_nothing, NULL);
            walk.v[walk.n++] = now_ms() - t0;
        }
        json_ms(&j, "registry_walk_ms", median(&walk));
        json_ms(&j, "registry_walk_min_ms", smin(&walk));
        guard_stage = "registry_touch";
        walk.n = 0;
        uint64_t touched = 0;
        for (unsigned r = 0; r < opt->repeats; r++) {
            double t0 = now_ms();
            rm_heap_each(visit_touch, &touched);
            walk.v[walk.n++] = now_ms() - t0;
        }
        sink += touched;
        json_ms(&j, "registry_touch_ms", median(&walk));
        stage = 1;

        guard_stage = "remap_single";
        single = time_remaps(RM_REMAP_SINGLE_THREAD, opt->repeats);
        json_run(&j, "remap_single", &single);
        guard_stage = "remap_multi";
        multi = time_remaps(0, opt->repeats);
        json_run(&j, "remap_multi", &multi);
        guard_stage = "remap_no_instances";
        noinst = time_remaps(RM_REMAP_NO_INSTANCES, opt->repeats);
        json_run(&j, "remap_no_instances", &noinst);
        stage = 2;

        guard_stage = "enumerate";
        bool to_new = true;
        unsigned passes = opt->repeats + (opt->repeats % 2); /* end where we began */
        for (unsigned r = 0; r < passes; r++) {
            enum_set_direction(ec, to_new);
            ec->enumerated = ec->ours = ec->instances = ec->rewritten = ec->rejected = 0;
            double t0 = now_ms();
            GC_gcollect();
            double t1 = now_ms();
            GC_call_with_alloc_lock(enum_all, ec);
            double t2 = now_ms();
            if (r < opt->repeats) {
                egc.v[egc.n++] = t1 - t0;
                ewalk.v[ewalk.n++] = t2 - t1;
            }
            if (ec->rewritten != expected_instance_rewrites || ec->instances != opt->objects) enum_ok = false;
            to_new = !to_new;
        }
        stage = 3;
        guard_armed = 0;
        guard_remove();
    } else {
        guard_remove();
        char msg[160];
        if (sig == SIGALRM)
            snprintf(msg, sizeof msg, "timed out after %u s during %s; later candidates not run", opt->timeout,
                     guard_stage);
        else
            snprintf(msg, sizeof msg, "crashed with signal %d (%s) during %s; later candidates not run", sig,
                     strsignal(sig), guard_stage);
        json_str(&j, "error", msg);
    }
    if (stage >= 3) {
        json_ms(&j, "enumerate_ms", median(&egc) + median(&ewalk));
        json_ms(&j, "enum_gc_ms", median(&egc));
        json_ms(&j, "enum_walk_ms", median(&ewalk));
        json_ms(&j, "enum_walk_min_ms", smin(&ewalk));
        json_size(&j, "enum_reachable", ec->enumerated);
        json_size(&j, "enum_ours", ec->ours);
        json_size(&j, "enum_instances", ec->instances);
        json_size(&j, "enum_rejected", ec->rejected);
        json_size(&j, "enum_slots_rewritten", ec->rewritten);
        json_size(&j, "enum_expected_slots_rewritten", expected_instance_rewrites);
        json_bool(&j, "enum_verified", enum_ok);
        json_str(&j, "enum_scope", "instances only (class, dict and field slots); other objects are "
                                   "recognised by their type word but not rewritten");
    }
    json_print(&j);
    if (sig) {
        /* Boehm's lock may still be held by the faulting code: leave
           without running exit handlers. */
        fflush(NULL);
        _exit(0);
    }
    free(ec);
}
