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
*/
#include <remap/module.h>

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

int rm_module_init(rm_builder *m) {
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
