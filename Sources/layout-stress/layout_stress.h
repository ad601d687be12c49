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
**
** Two more families are struct classes (sworld.c, scheck.c): fields of
** every kind and arrays, at offsets each version lays out anew, whose
** instances the walk converts in place or moves to a larger allocation;
** the second may derive from the first. Their model holds every element's
** value, and their hooks write fields through the C pointer.
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
/* A record array grown to twice its capacity (`first` if empty), cleared
   past its n items: uncollectable, so Boehm scans the objects it holds. */
void *grow_records(void *items, size_t *cap, size_t n, size_t size, size_t first);
/* Object address -> record index, open addressing (the model finds an
   instance's record by the address a hook or initializer is given). */
typedef struct addr_index {
    rm_object **keys;
    size_t *vals, mask;
} addr_index;
void addr_index_reset(addr_index *x, size_t n); /* empty, room for n keys */
void addr_index_put(addr_index *x, rm_object *key, size_t val); /* replaces key's */
bool addr_index_get(const addr_index *x, rm_object *key, size_t *val);
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

/* ---- Struct families, sworld.c (world, plans, prediction) and scheck.c
   (initializers, hooks, snapshot, checks) ---- */
#define SFAMILIES 2
#define MAXSF 6   /* own fields of one struct class */
#define MAXE 4    /* elements of an array field */
#define SNAMES 6  /* family 0 names its fields pool[0..5], family 1 its own pool[6..11] */

/* One element's value: ints and bools in i, floats in d, objects in o
   (NULL for None). */
typedef union elem {
    int64_t i;
    double d;
    rm_object *o;
} elem;

typedef struct sfield {
    int name;
    uint8_t kind;  /* rm_field_kind */
    uint8_t count; /* 0: a scalar; n: an array of n */
    uint32_t offset;
    elem def[MAXE];
} sfield;

/* The __reload__ a struct class's instances get (its own or its base's):
   arity -1 for none. It writes field `name` directly through the C
   pointer, or through rm_setattr. */
typedef struct shook {
    int arity, name;
    bool direct;
} shook;

/* A struct class as the model knows it: its base's fields, then its own. */
typedef struct slayout {
    rm_object *cls;
    uint32_t size;
    int nf, nbase;
    sfield f[2 * MAXSF];
    shook hook;
    bool own_hook; /* defined on this class (else its base's, or none) */
} slayout;

typedef struct srec {
    rm_object *obj; /* where it is (before the reload: its old address) */
    rm_object *now; /* after the walk: obj, or where it moved */
    int fam;
    uint32_t serial;
    bool pinned;    /* never dropped: only these are values elsewhere */
    elem val[NAMES][MAXE];
    elem exp[NAMES][MAXE]; /* after this round's reload, before its hook */
} srec;

typedef struct sfam_plan {
    bool replaced, layout, listed;
    bool refused;        /* a change the rules refuse: the reload is */
    int refused_at;      /* the refused new field (index in next) */
    rm_object *new_cls;
    slayout next;
    int src[2 * MAXSF];  /* the old field each new one takes, or -1 */
    int rule[2 * MAXSF]; /* rename rule: the old name, or -1 */
    bool init_rule[2 * MAXSF], init[2 * MAXSF]; /* rule set; it runs */
    int init_src[NAMES]; /* by new field name: the old field read, or -1 */
    int64_t delta;
    bool own_hook;       /* the hook is defined on the new class itself */
    bool rebased;        /* family 1, left to rm_mapping_add_subclasses */
} sfam_plan;

typedef struct sworld {
    slayout fam[SFAMILIES];
    sfam_plan plan[SFAMILIES];
    bool sub; /* family 1 derives from family 0 */
    srec *rec;
    size_t n, cap;
    uint32_t next_serial;
    /* Where the instances are referenced from, refilled each round: the
       walk must rewrite each to a moved instance. */
    rm_object *list; /* every held instance, in rec order */
    rm_object *keys; /* dict: some instances -> their serial */
    rm_object *weak[8];
    size_t weak_rec[8], handle_rec[8];
    rm_handle handle[8];
    /* A planned failure of one initializer or hook call. */
    long fail_rec;
    int fail_init_name;
    bool fail_hook;
} sworld;

extern sworld *SW;
void sworld_init(rng *r);
void sworld_mutate(rng *r, size_t target);
void snew_instance(rng *r);
/* A pinned struct instance, or NULL if none. */
rm_object *spinned_value(rng *r);
void splan_clear(void);
void splan_derive(rng *r, int f, bool want_refused);
bool splan_any(void);
/* The plans' layouts and matches, once every family's is derived. */
void splan_finish(rng *r);
void splan_build(void);
void sround_end(bool committed);
/* sregress.c: exact reproductions of two bugs, run once at the start. */
void sregress_dead_subclass(void);
void sregress_struct_defaults(void);
int sfield_of(const slayout *l, int name); /* index, or -1 */
const char *kind_name(uint8_t kind);
void splan_map(rm_mapping *m);
/* Family 1's plan where it is rebased (`pairs` from rm_mapping_add_subclasses). */
void splan_rebase(rm_object *pairs);
/* After the walk: where each instance is now; then the prediction. */
void swalked(void);
void spredict(void);
rm_object *smoved(rm_object *o); /* where o moved, or o */
void smodel_commit(void);
bool sfailing_call(rng *r); /* plans one, if the round's plans allow */
void splan_describe(void);
int sfam_of_new(rm_object *cls);
/* The reload was refused: whether it names a refused field as it must. */
bool srefusal_expected(void);
void scheck_refusal(const char *err);

extern rm_cfunction sinit_fns[NAMES];
rm_object *shook_fn(rm_object *self, rm_object *const *args, size_t nargs);
srec *srec_of(rm_object *obj);
void ssnapshot_take(void);
void ssnapshot_free(void);
void scheck_rolled_back(void);
void scheck_predicted(const char *stage);
/* A report line of a struct family's class: checked, true; else false. */
bool scheck_class_line(const rm_class_migration *line, size_t *moved);
size_t slisted(void);
void scheck_model(const char *stage); /* every instance as the model says */
/* ---- Kinds, skinds.c ---- */
size_t kind_size(uint8_t kind);
bool kind_widens(uint8_t from, uint8_t to);
elem kind_convert(uint8_t from, uint8_t to, elem v);
rm_object *elem_box(uint8_t kind, elem v);
int64_t elem_as_int(uint8_t kind, elem v);
elem sinit_value(uint8_t kind, int64_t x, int64_t delta);
elem shook_value(uint8_t kind, uint32_t serial, int round);
elem random_elem(rng *r, uint8_t kind); /* edge values of the kind's range now and then */

#endif
