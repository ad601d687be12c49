/*
** main.c: remap-stress, a randomized stress test of the Remap core's remap
** walk, collections, dicts and sets, against an independent model.
**
**   remap-stress [--seed N] [--objects N] [--rounds N] [--threads] [--quiet]
**
** Prints "seed=N" first, so any failure can be replayed with --seed N, and
** "remap-stress: P passed, F failed" last. Exits 0 if every check passed,
** 1 if one failed, 2 on a usage error.
*/
#include "stress.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

options opt = {.objects = 20000, .rounds = 10};

/* ---- Random numbers ---- */

uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

size_t rng_below(rng *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

bool rng_chance(rng *r, unsigned percent) { return rng_next(r) % 100 < percent; }

/* ---- Checks ---- */

/* Failures printed per check group; the rest are only counted. */
#define MAX_PRINTED_PER_GROUP 20

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t passed, failed;
static _Thread_local char group[256];
static _Thread_local size_t group_failures;

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
    pthread_mutex_lock(&check_lock);
    if (group_failures < MAX_PRINTED_PER_GROUP) printf("FAIL [%s] %s\n", group, msg);
    else if (group_failures == MAX_PRINTED_PER_GROUP) printf("FAIL [%s] ... (further failures of this check not shown)\n", group);
    group_failures++;
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
}

bool check_end(void) {
    pthread_mutex_lock(&check_lock);
    bool ok = group_failures == 0;
    if (ok) passed++;
    else {
        failed++;
        printf("FAILED check: %s (%zu failures; seed=%" PRIu64 ")\n", group, group_failures, opt.seed);
        fflush(stdout);
    }
    pthread_mutex_unlock(&check_lock);
    group_failures = 0;
    return ok;
}

size_t checks_failed(void) { return failed; }
size_t checks_passed(void) { return passed; }

void say(const char *fmt, ...) {
    if (opt.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&check_lock);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
    va_end(ap);
}

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FATAL: ");
    vprintf(fmt, ap);
    va_end(ap);
    printf("\nremap-stress: %zu passed, %zu failed (fatal; seed=%" PRIu64 ")\n", passed, failed + 1, opt.seed);
    fflush(stdout);
    exit(1);
}

/* ---- Capsules ---- */

static unsigned char *finalized;
static size_t nserials, capserials, bad_calls, calls;

size_t capsule_new_serial(void) {
    if (nserials == capserials) {
        capserials = capserials ? capserials * 2 : 4096;
        finalized = realloc(finalized, capserials);
        if (!finalized) fatal("out of memory for capsule serials");
    }
    finalized[nserials] = 0;
    return nserials++;
}

/* Counts the call; a pointer this program never made, or a second call for
   one capsule, is a fault reported by the next check. */
void capsule_finalizer(void *pointer) {
    size_t serial = (size_t)(uintptr_t)pointer - 1;
    calls++;
    if (!pointer || serial >= nserials) {
        bad_calls++;
        return;
    }
    if (finalized[serial] < 255) finalized[serial]++;
    if (finalized[serial] > 1) bad_calls++;
}

unsigned capsule_finalized(size_t serial) { return serial < nserials ? finalized[serial] : 0; }
size_t capsule_bad_finalizer_calls(void) { return bad_calls; }
size_t capsule_finalizer_calls(void) { return calls; }

/* ---- Native functions ---- */

rm_object *fn_generic(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args;
    (void)nargs;
    if (RM_IS(self, rm_function_type)) {
        rm_object *closure = rm_function_closure(self);
        return closure ? closure : rm_none;
    }
    return self;
}

rm_object *method_tag(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args;
    (void)nargs;
    return rm_getattr(self, "ctag");
}

const char *type_label(const rm_type *t) {
    static _Thread_local char buf[96];
    if (!t) return "(no type)";
    if (t->ob_type == &rm_class_type) {
        snprintf(buf, sizeof buf, "class %s", rm_type_name(t));
        return buf;
    }
    return t->tp_name ? t->tp_name : "?";
}

/* ---- main ---- */

static void usage(const char *prog) {
    fprintf(stderr, "usage: %s [--seed N] [--objects N] [--rounds N] [--threads] [--quiet]\n", prog);
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
        else if (!strcmp(a, "--objects") && i + 1 < argc) opt.objects = (size_t)parse_number(argv[0], argv[++i]);
        else if (!strcmp(a, "--rounds") && i + 1 < argc) opt.rounds = (size_t)parse_number(argv[0], argv[++i]);
        else if (!strcmp(a, "--threads")) opt.threads = true;
        else if (!strcmp(a, "--quiet")) opt.quiet = true;
        else usage(argv[0]);
    }
    printf("seed=%" PRIu64 "\n", opt.seed);
    fflush(stdout);
    if (opt.objects < 16) opt.objects = 16;
    if (rm_init() != 0) fatal("rm_init failed: %s", rm_error_message());
    say("remap-stress: %s mode, %zu objects, %zu rounds", opt.threads ? "threaded" : "single-threaded", opt.objects,
        opt.rounds);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = opt.threads ? run_threaded() : run_single();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (rc || checks_failed()) printf("to replay: remap-stress --seed %" PRIu64 " --objects %zu --rounds %zu%s\n", opt.seed,
                                      opt.objects, opt.rounds, opt.threads ? " --threads" : "");
    printf("remap-stress: %zu passed, %zu failed (%.1f s)\n", checks_passed(), checks_failed(), secs);
    return rc || checks_failed() ? 1 : 0;
}
