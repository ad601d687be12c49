/*
** stress.h: what the files of remap-stress share.
**
** remap-stress builds random object graphs on the Remap heap, keeps an
** independent model of every reference it created (model.h, model*.c),
** remaps random mappings and checks the heap against the model (single.h,
** single*.c), drops part of the graph and checks that collections lose
** nothing reachable, and in --threads mode runs mutators beside a
** remapping thread (threaded.h, threaded*.c).
**
** The model never trusts the heap: it is built from what this program did
** (each list item, dict entry, instance slot it stored), and the heap is
** read back through the public API and compared with it.
*/
#ifndef REMAP_STRESS_H
#define REMAP_STRESS_H

#include <remap/remap.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Options ---- */
typedef struct options {
    uint64_t seed;
    size_t objects;
    size_t rounds;
    bool threads;
    bool quiet;
} options;

extern options opt;

/* ---- Random numbers: splitmix64, one state per thread ---- */
typedef struct rng {
    uint64_t state;
} rng;

uint64_t rng_next(rng *r);
/* Uniform in [0, n); n > 0. */
size_t rng_below(rng *r, size_t n);
/* True with probability percent/100. */
bool rng_chance(rng *r, unsigned percent);

/* ---- Checks and their report ----
** Checks are grouped: check_begin names a group ("round 3: slots after
** remap"), check_fail records one failed expectation in it (printed, up to
** a limit per group), check_end counts the group as passed or failed. The
** functions take a lock of their own, so any thread may use them. */
void check_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool check_end(void);
size_t checks_failed(void);
size_t checks_passed(void);
/* Progress output, silenced by --quiet. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Dies with a message (and the seed) when the runtime refuses something a
   correct program is allowed to do: the test cannot go on meaningfully. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- Capsule finalizers ----
** Every capsule gets a serial; its pointer is (void *)(serial + 1). The
** finalizer counts calls per serial, so a capsule finalized twice, or while
** still reachable, is seen. Used under the runtime lock only. */
size_t capsule_new_serial(void);
void capsule_finalizer(void *pointer);
unsigned capsule_finalized(size_t serial);
size_t capsule_bad_finalizer_calls(void);
size_t capsule_finalizer_calls(void);

/* ---- Native functions used as function and method bodies ---- */
/* Called plainly (self is the function): returns the closure, or None.
   Called as a bound method: returns self. */
rm_object *fn_generic(rm_object *self, rm_object *const *args, size_t nargs);
/* The method "tag" of every class: returns self's class attribute "ctag". */
rm_object *method_tag(rm_object *self, rm_object *const *args, size_t nargs);

/* ---- The two modes ---- */
int run_single(void);   /* returns 0 if every check passed */
int run_threaded(void); /* same */

/* A printable name of a built-in type, or "class C..." for a class. */
const char *type_label(const rm_type *t);

#endif
