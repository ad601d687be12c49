/*
** particles: a small simulation to edit while it runs.
**
**   reloadctl run examples/particles --entry particles.run --watch
**
** 100,000 particles move on a ring of 1,000 cells; every 200 ms the world
** ticks and every 5 ticks a line is printed. Edit `step` (try `x + 2 * v`) or
** `report`, save, and the running program picks the change up: the same
** particles, the same tick count, new behaviour.
**
** A particle is a struct class (docs/modules.md, "Struct classes"): its
** fields are a C struct's members, read and written as p->x. Adding a
** field to the struct and its table (say `int64_t age;` and
** RM_FIELD(Particle, age, RM_I64)) and saving migrates the 100,000 live
** particles to the new layout in the reload.
*/
#include <remap/module.h>
#include <stdio.h>
#include <unistd.h>

RM_MODULE_ABI;

#define WORLD_SIZE 1000

/* A particle: its position on the ring and its velocity. The field table
   names the members the runtime sees (rm_getattr, reloadctl get, reloads). */
typedef struct Particle {
    RM_INSTANCE_HEADER;
    int64_t x, v;
} Particle;

static const rm_field_spec particle_fields[] = {
    RM_FIELD(Particle, x, RM_I64),
    RM_FIELD(Particle, v, RM_I64),
    RM_FIELDS_END,
};

/* The interned method name, made once per load (rm_module_init): immortal,
   so a C static may keep it; rm_call_method_name finds it by address. */
static rm_object *step_name;

static rm_object *namespace_of(rm_object *fn) { return rm_module_dict(rm_function_module(fn)); }

/* Particle.step(): move by the velocity, wrapping around the ring. */
static rm_object *step(rm_object *self, rm_object *const *args, size_t nargs) {
    Particle *p = RM_STRUCT(Particle, self);
    int64_t x = p->x, v = p->v;
    x = (x + v) % WORLD_SIZE;
    if (x < 0) x += WORLD_SIZE;
    p->x = x;
    return rm_none;
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
        rm_object *o = rm_instance_new(cls, NULL, 0);
        if (!o || rm_list_append(world, o) < 0) return NULL;
        Particle *p = RM_STRUCT(Particle, o);
        p->x = i % WORLD_SIZE;
        p->v = i % 5 - 2;
    }
    return rm_int((int64_t)rm_list_size(world));
}

/* report(): one line about the world. */
static rm_object *report(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *ns = namespace_of(self);
    rm_object *world = rm_dict_get_str(ns, "world");
    rm_object *cls = rm_dict_get_str(ns, "Particle");
    int64_t sum = 0;
    for (size_t i = 0; i < rm_list_size(world); i++) {
        Particle *p = rm_struct_cast(cls, rm_list_get(world, i));
        if (!p) return NULL;
        sum += p->x;
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
    if (!(step_name = rm_name("step"))) return -1;
    rm_object *particle = rm_def_struct(m, "Particle", NULL, sizeof(Particle), particle_fields);
    if (!particle || rm_def_method(particle, "step", step, 0) < 0) return -1;
    rm_object *clock = rm_list_new(1);
    if (!clock || rm_list_append(clock, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "world", rm_list_new(0)) || !rm_def_state(m, "clock", clock)) return -1;
    if (!rm_def_function(m, "spawn", spawn, 1) || !rm_def_function(m, "tick", tick, 0)) return -1;
    if (!rm_def_function(m, "report", report, 0)) return -1;
    return rm_def_function(m, "run", run, 0) ? 0 : -1;
}
