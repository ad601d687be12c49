/*
** layout_stress.h: what the files of layout-stress share.
**
** layout-stress hunts for bugs in layout-changing reloads (CSources/layout.c,
** migrate.c) and their rollback. A world of three class "families" (a class
** and its live instances; the third may be a subclass of the first), a few
** functions and tuples is kept beside an independent model: for every
** instance, the value every name of a small pool reads (rm_getattr), built
** from what this program did, never read back from the heap. Each round
** derives a new class from the old one of some families (fields added,
** removed, reordered, renamed, defaults changed, initializers, a __reload__
** hook), reloads through the transaction API, and checks the heap against
** the model's prediction; or makes the reload fail and checks that the
** rollback left every instance exactly as a snapshot taken before it.
*/
#ifndef LAYOUT_STRESS_H
#define LAYOUT_STRESS_H

#include <remap/remap.h>
/* The package's own stress test drives the reload transaction directly:
   it reaches the loader's internal header on purpose. */
#include "../../CSources/loader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names fields and attributes are drawn from: few, so that the same name
   is a field of one version and an attribute, or a removed field, of
   another. No method has one of these names. */
#define NAMES 12
#define MAXF NAMES /* fields are distinct names */
#define FAMILIES 3
#define NFUNCS 4
#define NTUPLES 3
#define NSTRS 8

/* ---- Random numbers (splitmix64) and checks, main.c ---- */
typedef struct rng {
    uint64_t state;
} rng;
uint64_t rng_next(rng *r);
size_t rng_below(rng *r, size_t n); /* uniform in [0, n), 0 if n is 0 */
bool rng_chance(rng *r, unsigned percent);

/* A check group ("round 3: after commit") collects failures; check_end
   counts it passed or failed. */
void check_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool check_end(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- The world and its model, world.c ---- */

/* One live instance this program made and still holds. */
typedef struct inst_rec {
    rm_object *obj;
    int fam;
    uint32_t serial;
    rm_object *val[NAMES]; /* what rm_getattr reads now; NULL: no attribute */
    rm_object *exp[NAMES]; /* after this round's reload, before its hook */
    rm_object *hookv;      /* what this round's hook sets, or NULL */
} inst_rec;

/* A class as the model knows it: its fields in order, their defaults. */
typedef struct family {
    rm_object *cls;
    int nf;
    int name[MAXF];
    rm_object *def[MAXF];
} family;

/* What this round's reload does to one family. */
typedef struct fam_plan {
    bool replaced;       /* the mapping replaces fam.cls by new_cls */
    bool layout, listed; /* as layout.c decides: fields differ; migrated */
    bool conflict;       /* two new fields take one old field: refused */
    rm_object *new_cls;
    family next;         /* the new class */
    int src[MAXF];       /* the old field each new one takes, or -1 */
    int rule[MAXF];      /* rename rule: the old name (pool index), or -1 */
    bool init_rule[MAXF], init[MAXF]; /* rule set; it runs (an added field) */
    int init_src[NAMES]; /* by new field name: the old field read, or -1 */
    int64_t delta;
    int hook;            /* __reload__ arity (0, 2, 3), or -1 */
    int hook_name;       /* the name the hook sets */
    int hook_src;        /* 3 args: the old field whose value it sets, or -1 */
    int nadded, added[MAXF], nremoved, removed[MAXF]; /* pool indices */
} fam_plan;

typedef struct world {
    rm_object *names[NAMES];
    rm_object *strs[NSTRS];
    rm_object *funcs[NFUNCS];
    rm_object *new_funcs[NFUNCS]; /* this round's replacements, or NULL */
    rm_object *tuples[NTUPLES];
    rm_object *titems[NTUPLES][2];
    family fam[FAMILIES];
    fam_plan plan[FAMILIES];
    inst_rec *inst;
    size_t ninst, cap;
    uint32_t next_serial;
    int round;
    bool sub;           /* family 2's class is a subclass of family 0's */
    unsigned attr_rate; /* percent of attribute writes to any name */
    /* A planned failure of one initializer or hook call. */
    rm_object *fail_obj;
    int fail_init_name; /* the field whose initializer fails, or -1 */
    bool fail_hook;
} world;

extern world *W; /* in memory Boehm scans and the remap walk does not */

extern const char *const pool[NAMES];
/* A default that is the new class itself, resolved once it exists. */
extern rm_object self_marker;
#define SELF (&self_marker)
rm_object *need(rm_object *o, const char *what); /* o, or fatal */
/* A random value: ints, strs, None, True, instances, the families'
   classes, functions, tuples; with `fresh`, also this round's new objects
   (made before the classes that default to them). */
rm_object *random_value(rng *r, bool fresh);
void world_init(rng *r);
void world_mutate(rng *r, size_t target);
void new_instance(rng *r);
void plan_clear(void);
void funcs_build(unsigned mask);
/* The model's prediction for every instance (exp, hookv). */
void predict(void);
/* After a commit: the model becomes the prediction. */
void model_commit(void);
rm_object *map_obj(rm_object *o);
bool value_eq(rm_object *a, rm_object *b);
int field_index(const family *f, int name);
inst_rec *rec_of(rm_object *obj); /* by address (index built by predict) */
rm_object *init_value(rm_object *old, int64_t delta);

/* ---- The round's plans, plan.c ---- */
/* Derives a new class for family f (the plan only; nothing is made). */
void plan_derive(rng *r, int f, bool want_conflict);
/* Makes the new classes of the round's plans (funcs_build makes the functions). */
void plan_build(void);
rm_mapping *plan_mapping(void);
/* Family 2's plan where it is a subclass rebased onto family 0's new
   class (`pairs` from rm_mapping_add_subclasses). */
void plan_rebase(rm_object *pairs);
void plan_describe(void); /* with say() */

/* ---- Checks, check.c ---- */
extern rm_cfunction init_fns[NAMES];
rm_object *hook_fn(rm_object *self, rm_object *const *args, size_t nargs);
void snapshot_take(void);
void snapshot_free(void);
void check_rolled_back(void);
void check_predicted(const char *stage);
void check_class_lines(void);
void check_tails(const char *stage);

#endif
