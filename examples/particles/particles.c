/*
** particles: a small simulation to edit while it runs.
**
**   reloadctl run examples/particles --entry particles.run --watch
**
** 100,000 particles move on a ring of 1,000 cells; every 200 ms the world
** ticks and every 5 ticks a line is printed. Edit `step` (try `x + 2 * v`) or
** `report`, save, and the running program picks the change up: the same
** particles, the same tick count, new behaviour.
*/
#include <remap/module.h>
#include <stdio.h>
#include <unistd.h>

RM_MODULE_ABI;

#define WORLD_SIZE 1000

/* Interned names, made once per load (rm_module_init): immortal, so a C
   static may keep them; the _name and typed calls find them by address,
   and rm_getattr_int(_cached) / rm_setattr_int(_cached) read and write an
   int field as an int64_t (docs/modules.md, "Fast attribute access"). */
static rm_object *x_name, *v_name, *step_name;

static rm_object *namespace_of(rm_object *fn) { return rm_module_dict(rm_function_module(fn)); }

/* Particle.step(): move by the velocity, wrapping around the ring. It runs
   100,000 times a tick, so each field access keeps an inline cache. */
static rm_field_cache x_read, v_read, x_write;

static rm_object *step(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t x, v;
    if (rm_getattr_int_cached(self, x_name, &x_read, &x) < 0 || rm_getattr_int_cached(self, v_name, &v_read, &v) < 0)
        return NULL;
    x = (x + v) % WORLD_SIZE;
    if (x < 0) x += WORLD_SIZE;
    return rm_setattr_int_cached(self, x_name, &x_write, x) < 0 ? NULL : rm_none;
}

/* spawn(n): n new particles in the kept `world`. The argument is read with
   rm_args_parse, which checks it: spawn("abc") or spawn(1.5) is a
   TypeError for the caller, not a crash of the host. */
static rm_object *spawn(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t n;
    if (rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
    if (n < 0) {
        rm_error_set(RM_ERR_VALUE, "spawn(): cannot spawn %lld particles", (long long)n);
        return NULL;
    }
    rm_object *ns = namespace_of(self);
    rm_object *world = rm_dict_get_str(ns, "world"), *cls = rm_dict_get_str(ns, "Particle");
    for (int64_t i = 0; i < n; i++) {
        rm_object *p = rm_instance_new(cls, NULL, 0);
        if (!p || rm_setattr(p, "x", rm_int(i % WORLD_SIZE)) < 0 || rm_setattr(p, "v", rm_int(i % 5 - 2)) < 0) return NULL;
        if (rm_list_append(world, p) < 0) return NULL;
    }
    return rm_int((int64_t)rm_list_size(world));
}

/* report(): one line about the world. */
static rm_object *report(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *ns = namespace_of(self);
    rm_object *world = rm_dict_get_str(ns, "world");
    int64_t sum = 0, x;
    for (size_t i = 0; i < rm_list_size(world); i++) {
        if (rm_getattr_int(rm_list_get(world, i), x_name, &x) < 0) return NULL;
        sum += x;
    }
    return rm_str_format("tick %lld: %zu particles, mean position %.2f",
                         (long long)rm_int_value(rm_list_get(rm_dict_get_str(ns, "clock"), 0)),
                         rm_list_size(world), rm_list_size(world) ? (double)sum / rm_list_size(world) : 0.0);
}

/* tick(): every particle steps once; the clock advances. */
static rm_object *tick(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *ns = namespace_of(self);
    rm_object *world = rm_dict_get_str(ns, "world"), *clock = rm_dict_get_str(ns, "clock");
    for (size_t i = 0; i < rm_list_size(world); i++)
        if (!rm_call_method_name(rm_list_get(world, i), step_name, NULL, 0)) return NULL;
    return rm_list_set(clock, 0, rm_int(rm_int_value(rm_list_get(clock, 0)) + 1)) < 0 ? NULL : rm_get_none();
}

/*
** run(): the main loop. It looks tick and report up in the namespace on every
** round, so a reload takes effect at the next round; the loop itself keeps
** running this version's code. The runtime lock is released while sleeping,
** which is when reloads and control requests get in.
*/
static rm_object *run(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *ns = namespace_of(self);
    if (rm_list_size(rm_dict_get_str(ns, "world")) == 0) {
        rm_object *n = rm_int(100000);
        if (!n || !rm_call(rm_dict_get_str(ns, "spawn"), &n, 1)) return NULL;
    }
    for (;;) {
        if (!rm_call(rm_dict_get_str(ns, "tick"), NULL, 0)) return NULL;
        if (rm_int_value(rm_list_get(rm_dict_get_str(ns, "clock"), 0)) % 5 == 0) {
            rm_object *line = rm_call(rm_dict_get_str(ns, "report"), NULL, 0);
            if (!line) return NULL;
            printf("%s\n", rm_str_cstr(line));
            fflush(stdout);
        }
        rm_release();
        usleep(200 * 1000);
        rm_acquire();
        ns = namespace_of(self);
    }
}

int rm_module_init(rm_builder *m) {
    if (!(x_name = rm_name("x")) || !(v_name = rm_name("v")) || !(step_name = rm_name("step"))) return -1;
    rm_object *particle = rm_def_class(m, "Particle", NULL);
    if (!particle || rm_def_field(particle, "x", rm_int(0)) < 0 || rm_def_field(particle, "v", rm_int(0)) < 0) return -1;
    if (rm_def_method(particle, "step", step, 0) < 0) return -1;
    rm_object *clock = rm_list_new(1);
    if (!clock || rm_list_append(clock, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "world", rm_list_new(0)) || !rm_def_state(m, "clock", clock)) return -1;
    if (!rm_def_function(m, "spawn", spawn, 1) || !rm_def_function(m, "tick", tick, 0)) return -1;
    if (!rm_def_function(m, "report", report, 0)) return -1;
    return rm_def_function(m, "run", run, 0) ? 0 : -1;
}
