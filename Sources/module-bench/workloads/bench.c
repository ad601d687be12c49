/*
** bench.c: module "bench", the workloads of module-bench, written as a
** module author would: the plain documented API (C-string names, rm_int,
** rm_call_method) and, for particle_step_fast, the fast one (interned
** names kept in statics, the _name calls, the typed field access with
** inline caches, rm_getattr_int_cached / rm_setattr_int_cached). bench.py
** is the same logic in Python. Each workload function takes the repetition count and returns
** a checksum, so the work cannot be optimized away and both sides can be
** compared. Arguments and int fields are read checked, as module.h
** documents: rm_args_parse once per workload call, rm_int_check (inline: a
** compare and a load) in the loops.
**
** The struct workloads (issue 21) run the same particle step over a struct
** class (SParticle: x and v as int64_t fields read and written as C), and
** over plain C (plain_c: malloc'ed structs behind an array of pointers,
** the step a non-inlined function), so the two are compared in one run.
*/
#include <remap/module.h>
#include <stdlib.h>

RM_MODULE_ABI;

#define WORLD 1000

static rm_object *ns_get(rm_object *fn, const char *name) {
    return rm_dict_get_str(rm_module_dict(rm_function_module(fn)), name);
}

/* ---- The particle: fields x and v; step() moves it on a ring ---- */

static rm_object *step(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t x, v;
    if (rm_int_check(rm_getattr(self, "x"), &x) < 0 || rm_int_check(rm_getattr(self, "v"), &v) < 0) return NULL;
    int64_t next = (x + v) % WORLD;
    if (next < 0) next += WORLD;
    return rm_setattr(self, "x", rm_int(next)) < 0 ? NULL : rm_get_none();
}

static rm_object *name_x, *name_v, *name_step_fast;

static rm_field_cache x_read, v_read, x_write; /* one per access site */

static rm_object *step_fast(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t x, v;
    if (rm_getattr_int_cached(self, name_x, &x_read, &x) < 0 || rm_getattr_int_cached(self, name_v, &v_read, &v) < 0)
        return NULL;
    int64_t next = (x + v) % WORLD;
    if (next < 0) next += WORLD;
    return rm_setattr_int_cached(self, name_x, &x_write, next) < 0 ? NULL : rm_none;
}

/* make(n): n particles in state `world`. */
static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    if (rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
    rm_object *world = ns_get(self, "world"), *cls = ns_get(self, "Particle");
    for (int64_t i = 0; i < n; i++) {
        rm_object *p = rm_instance_new(cls, NULL, 0);
        if (!p || rm_setattr(p, "x", rm_int(i % WORLD)) < 0 || rm_setattr(p, "v", rm_int(i % 5 - 2)) < 0 ||
            rm_list_append(world, p) < 0)
            return NULL;
    }
    return rm_int((int64_t)rm_list_size(world));
}

/* particle_step(rounds): each round, every particle steps; returns sum x. */
static rm_object *run_steps(rm_object *self, int64_t rounds, bool fast) {
    rm_object *world = ns_get(self, "world");
    for (int64_t r = 0; r < rounds; r++)
        for (size_t i = 0, n = rm_list_size(world); i < n; i++) {
            rm_object *p = rm_list_get(world, i);
            if (!(fast ? rm_call_method_name(p, name_step_fast, NULL, 0) : rm_call_method(p, "step", NULL, 0)))
                return NULL;
        }
    int64_t sum = 0, x;
    for (size_t i = 0, n = rm_list_size(world); i < n; i++) {
        if (rm_int_check(rm_getattr(rm_list_get(world, i), "x"), &x) < 0) return NULL;
        sum += x;
    }
    return rm_int(sum);
}

static rm_object *particle_step(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t rounds;
    return rm_args_parse(args, nargs, "i", &rounds) < 0 ? NULL : run_steps(self, rounds, false);
}

static rm_object *particle_step_fast(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t rounds;
    return rm_args_parse(args, nargs, "i", &rounds) < 0 ? NULL : run_steps(self, rounds, true);
}

/* getattr_int(rounds): the sum of p.x over the particles, rounds times. */
static rm_object *getattr_int(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *world = ns_get(self, "world");
    int64_t sum = 0, rounds, x;
    if (rm_args_parse(args, nargs, "i", &rounds) < 0) return NULL;
    for (int64_t r = 0; r < rounds; r++)
        for (size_t i = 0, n = rm_list_size(world); i < n; i++) {
            if (rm_int_check(rm_getattr(rm_list_get(world, i), "x"), &x) < 0) return NULL;
            sum += x;
        }
    return rm_int(sum);
}

/* call(n): f(i) -> i + 1, called n times through rm_call. f is the call
   being measured, about 6 ns: its argument is read with rm_int_check
   (checked, inline), as rm_args_parse would add about 7 ns to it. */
static rm_object *plus_one(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t i;
    return rm_int_check(args[0], &i) < 0 ? NULL : rm_int(i + 1);
}

static rm_object *call(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *f = ns_get(self, "f");
    int64_t sum = 0, n, r;
    if (rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
    for (int64_t i = 0; i < n; i++) {
        rm_object *arg = rm_int(i & 1023);
        if (!arg || rm_int_check(rm_call(f, &arg, 1), &r) < 0) return NULL;
        sum += r;
    }
    return rm_int(sum);
}

/* dict_str(n): d[k] = d.get(k) + 1 over 100 string keys, n times. */
static rm_object *dict_str(rm_object *self, rm_object *const *args, size_t nargs) {
    static const char *const keys[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"};
    rm_object *d = rm_dict_new();
    int64_t n, v;
    if (!d || rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
    for (int64_t i = 0; i < n; i++) {
        const char *k = keys[i % 10];
        rm_object *old = rm_dict_get_str(d, k);
        v = 0;
        if (old && rm_int_check(old, &v) < 0) return NULL;
        if (rm_dict_set_str(d, k, rm_int(v + 1)) < 0) return NULL;
    }
    return rm_int((int64_t)rm_dict_size(d));
}

/* alloc(n): n new particles, dropped at once (collections included). */
static rm_object *alloc(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *cls = ns_get(self, "Particle");
    int64_t sum = 0, n;
    if (rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
    for (int64_t i = 0; i < n; i++) {
        rm_object *p = rm_instance_new(cls, NULL, 0);
        if (!p) return NULL;
        sum += rm_instance_slot_count(p);
    }
    return rm_int(sum);
}

/* ---- Struct classes and plain C ---- */

typedef struct SParticle {
    RM_INSTANCE_HEADER;
    int64_t x, v;
} SParticle;

static const rm_field_spec sparticle_fields[] = {
    RM_FIELD(SParticle, x, RM_I64),
    RM_FIELD(SParticle, v, RM_I64),
    RM_FIELDS_END,
};

static __attribute__((noinline)) void sstep(SParticle *p) {
    int64_t next = (p->x + p->v) % WORLD;
    p->x = next < 0 ? next + WORLD : next;
}

static rm_object *sparticle_step(rm_object *self, rm_object *const *args, size_t nargs) {
    sstep(RM_STRUCT(SParticle, self));
    return rm_none;
}

/* make_structs(n): n struct particles in state `sworld`. */
static rm_object *make_structs(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    rm_object *world = ns_get(self, "sworld"), *cls = ns_get(self, "SParticle");
    for (int64_t i = 0; i < count; i++) {
        rm_object *o = rm_instance_new(cls, NULL, 0);
        if (!o || rm_list_append(world, o) < 0) return NULL;
        SParticle *p = RM_STRUCT(SParticle, o);
        p->x = i % WORLD;
        p->v = i % 5 - 2;
    }
    return rm_int((int64_t)rm_list_size(world));
}

/* struct_step(rounds): the module loops the list, casts, steps. */
static rm_object *struct_step(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    rm_object *world = ns_get(self, "sworld");
    size_t n = rm_list_size(world);
    for (int64_t r = 0; r < count; r++) {
        rm_object *const *items = rm_list_items(world); /* nothing in the loop changes the list */
        for (size_t i = 0; i < n; i++) sstep(RM_STRUCT(SParticle, items[i]));
    }
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += RM_STRUCT(SParticle, rm_list_get(world, i))->x;
    return rm_int(sum);
}

static rm_object *name_step;

/* struct_method(rounds): step called as a method per particle. */
static rm_object *struct_method(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    rm_object *world = ns_get(self, "sworld");
    size_t n = rm_list_size(world);
    for (int64_t r = 0; r < count; r++)
        for (size_t i = 0; i < n; i++)
            if (!rm_call_method_name(rm_list_get(world, i), name_step, NULL, 0)) return NULL;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += RM_STRUCT(SParticle, rm_list_get(world, i))->x;
    return rm_int(sum);
}

typedef struct plain_particle {
    int64_t x, v;
} plain_particle;

static __attribute__((noinline)) void plain_step(plain_particle *p) {
    int64_t next = (p->x + p->v) % WORLD;
    p->x = next < 0 ? next + WORLD : next;
}

static plain_particle **plain;
static size_t nplain;

/* make_plain(n): n malloc'ed particles behind an array of pointers. */
static rm_object *make_plain(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    size_t n = (size_t)count;
    if (!(plain = malloc(n * sizeof *plain))) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(plain[i] = malloc(sizeof **plain))) return NULL;
        plain[i]->x = (int64_t)(i % WORLD);
        plain[i]->v = (int64_t)(i % 5) - 2;
    }
    nplain = n;
    return rm_int((int64_t)n);
}

/* plain_c(rounds): the particle step in plain C. */
static rm_object *plain_c(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    for (int64_t r = 0; r < count; r++)
        for (size_t i = 0; i < nplain; i++) plain_step(plain[i]);
    int64_t sum = 0;
    for (size_t i = 0; i < nplain; i++) sum += plain[i]->x;
    return rm_int(sum);
}

/* struct_alloc(n): n new struct particles (zero-filled, then x and v set),
   dropped at once (collections included). */
static rm_object *struct_alloc(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    rm_object *cls = ns_get(self, "SParticle");
    int64_t sum = 0;
    for (int64_t i = 0; i < count; i++) {
        rm_object *o = rm_instance_new(cls, NULL, 0);
        if (!o) return NULL;
        SParticle *p = RM_STRUCT(SParticle, o);
        p->x = i & 1023;
        p->v = 1;
        sum += p->v;
    }
    return rm_int(sum);
}

/* malloc_alloc(n): the same with malloc, each freed 1024 allocations later. */
static rm_object *malloc_alloc(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t count;
    if (rm_args_parse(args, nargs, "i", &count) < 0) return NULL;
    static plain_particle *ring[1024];
    int64_t sum = 0;
    for (int64_t i = 0; i < count; i++) {
        plain_particle *p = malloc(sizeof *p);
        if (!p) return NULL;
        p->x = i & 1023;
        p->v = 1;
        sum += p->v;
        free(ring[i & 1023]);
        ring[i & 1023] = p;
    }
    return rm_int(sum);
}

int rm_module_init(rm_builder *m) {
    if (!(name_step = rm_name("step"))) return -1;
    rm_object *scls = rm_def_struct(m, "SParticle", NULL, sizeof(SParticle), sparticle_fields);
    if (!scls || rm_def_method(scls, "step", sparticle_step, 0) < 0 || !rm_def_state(m, "sworld", rm_list_new(0)))
        return -1;
    if (!rm_def_function(m, "make_structs", make_structs, 1) || !rm_def_function(m, "struct_step", struct_step, 1) ||
        !rm_def_function(m, "struct_method", struct_method, 1) || !rm_def_function(m, "make_plain", make_plain, 1) ||
        !rm_def_function(m, "plain_c", plain_c, 1) || !rm_def_function(m, "struct_alloc", struct_alloc, 1) ||
        !rm_def_function(m, "malloc_alloc", malloc_alloc, 1))
        return -1;
    if (!(name_x = rm_name("x")) || !(name_v = rm_name("v")) || !(name_step_fast = rm_name("step_fast"))) return -1;
    rm_object *cls = rm_def_class(m, "Particle", NULL);
    if (!cls || rm_def_field(cls, "x", rm_int(0)) < 0 || rm_def_field(cls, "v", rm_int(0)) < 0 ||
        rm_def_method(cls, "step", step, 0) < 0 || rm_def_method(cls, "step_fast", step_fast, 0) < 0)
        return -1;
    if (!rm_def_state(m, "world", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "make", make, 1) || !rm_def_function(m, "particle_step", particle_step, 1) ||
        !rm_def_function(m, "particle_step_fast", particle_step_fast, 1) ||
        !rm_def_function(m, "getattr_int", getattr_int, 1) || !rm_def_function(m, "f", plus_one, 1) ||
        !rm_def_function(m, "call", call, 1) || !rm_def_function(m, "dict_str", dict_str, 1) ||
        !rm_def_function(m, "alloc", alloc, 1))
        return -1;
    return 0;
}
