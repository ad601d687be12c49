/// The C sources the demo writes, version by version: what a user would edit.
/// A particle is a struct class (docs/modules.md, "Struct classes"): version
/// 1's `v` is an `int32_t`; version 2 widens it to `int64_t` and adds a field
/// `mass`, and the reload migrates every live particle to the new struct.
enum DemoModule {
    static let common = """
        #include <remap/module.h>
        RM_MODULE_ABI;

        static int64_t get(rm_object *obj, const char *name) {
            int64_t v;
            return rm_int_check(rm_getattr(obj, name), &v) < 0 ? 0 : v;
        }

        static rm_object *ns(rm_object *fn) { return rm_module_dict(rm_function_module(fn)); }

        /* spawn(n): n particles into the kept `world` list. rm_args_parse
           checks n: spawn("abc") is a TypeError, not a crash. */
        static rm_object *spawn(rm_object *self, rm_object *const *args, size_t nargs) {
            int64_t n;
            if (rm_args_parse(args, nargs, "i", &n) < 0) return NULL;
            rm_object *world = rm_dict_get_str(ns(self), "world");
            rm_object *cls = rm_dict_get_str(ns(self), "Particle");
            for (int64_t i = 0; i < n; i++) {
                rm_object *p = rm_instance_new(cls, NULL, 0);
                if (!p || rm_setattr(p, "x", rm_int(i % 100)) < 0 || rm_setattr(p, "v", rm_int(i % 7 - 3)) < 0) return NULL;
                if (rm_list_append(world, p) < 0) return NULL;
            }
            return rm_int((int64_t)rm_list_size(world));
        }

        /* tick(): every particle steps once. */
        static rm_object *tick(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *world = rm_dict_get_str(ns(self), "world");
            for (size_t i = 0; i < rm_list_size(world); i++)
                if (!rm_call_method(rm_list_get(world, i), "step", NULL, 0)) return NULL;
            return count_tick(self);
        }

        """

    /// Version 1: particles drift by their velocity; ticks are counted in a list.
    static let v1 = common.replacingOccurrences(of: "return count_tick(self);", with: """
        rm_object *ticks = rm_dict_get_str(ns(self), "ticks");
            int64_t n;
            if (rm_int_check(rm_list_get(ticks, 0), &n) < 0) return NULL;
            return rm_list_set(ticks, 0, rm_int(n + 1)) < 0 ? NULL : rm_get_none();
        """) + """
        typedef struct Particle {
            RM_INSTANCE_HEADER;
            int64_t x;
            int32_t v;
        } Particle;

        static const rm_field_spec particle_fields[] = {
            RM_FIELD(Particle, x, RM_I64),
            RM_FIELD(Particle, v, RM_I32),
            RM_FIELDS_END,
        };

        static rm_object *step(rm_object *self, rm_object *const *args, size_t nargs) {
            Particle *p = RM_STRUCT(Particle, self);
            p->x += p->v;
            return rm_get_none();
        }

        static rm_object *describe(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *world = rm_dict_get_str(ns(self), "world");
            int64_t sum = 0;
            for (size_t i = 0; i < rm_list_size(world); i++) sum += get(rm_list_get(world, i), "x");
            int64_t ticks;
            if (rm_int_check(rm_list_get(rm_dict_get_str(ns(self), "ticks"), 0), &ticks) < 0) return NULL;
            return rm_str_format("v1: tick %lld, %zu particles, sum of x = %lld", (long long)ticks,
                                 rm_list_size(world), (long long)sum);
        }

        int rm_module_init(rm_builder *m) {
            rm_object *p = rm_def_struct(m, "Particle", NULL, sizeof(Particle), particle_fields);
            if (!p || rm_def_method(p, "step", step, 0) < 0) return -1;
            rm_object *ticks = rm_list_new(1);
            if (!ticks || rm_list_append(ticks, rm_int(0)) < 0) return -1;
            if (!rm_def_state(m, "world", rm_list_new(0)) || !rm_def_state(m, "ticks", ticks)) return -1;
            if (!rm_def_function(m, "spawn", spawn, 1) || !rm_def_function(m, "tick", tick, 0)) return -1;
            return rm_def_function(m, "describe", describe, 0) ? 0 : -1;
        }
        """

    /// Version 2: step moves twice as far; `v` widened to int64_t and a new
    /// field `mass` (default 2), migrated in the reload;
    /// the tick counter moves from a list into a `clock` dict, carried over by
    /// the module's __reload__ hook, which also notes when the reload happened.
    static func v2(hookFails: Bool = false) -> String {
        common.replacingOccurrences(of: "return count_tick(self);", with: """
            rm_object *clock = rm_dict_get_str(ns(self), "clock");
                rm_object *t = rm_dict_get_str(clock, "ticks");
                int64_t n = 0;
                if (t && rm_int_check(t, &n) < 0) return NULL;
                return rm_dict_set_str(clock, "ticks", rm_int(n + 1)) < 0 ? NULL : rm_get_none();
            """) + """
            typedef struct Particle {
                RM_INSTANCE_HEADER;
                int64_t x;
                int64_t v;    /* was int32_t */
                int64_t mass; /* new */
            } Particle;

            static const rm_field_spec particle_fields[] = {
                RM_FIELD(Particle, x, RM_I64),
                RM_FIELD(Particle, v, RM_I64),
                RM_FIELD(Particle, mass, RM_I64),
                RM_FIELDS_END,
            };

            static rm_object *step(rm_object *self, rm_object *const *args, size_t nargs) {
                Particle *p = RM_STRUCT(Particle, self);
                p->x += 2 * p->v;
                return rm_get_none();
            }

            static rm_object *describe(rm_object *self, rm_object *const *args, size_t nargs) {
                rm_object *world = rm_dict_get_str(ns(self), "world");
                rm_object *clock = rm_dict_get_str(ns(self), "clock");
                int64_t sum = 0, momentum = 0;
                for (size_t i = 0; i < rm_list_size(world); i++) {
                    rm_object *p = rm_list_get(world, i);
                    sum += get(p, "x");
                    momentum += get(p, "mass") * get(p, "v");
                }
                rm_object *t = rm_dict_get_str(clock, "ticks"), *at = rm_dict_get_str(clock, "reloaded_at");
                int64_t ticks = -1, reloaded_at = -1;
                if ((t && rm_int_check(t, &ticks) < 0) || (at && rm_int_check(at, &reloaded_at) < 0)) return NULL;
                return rm_str_format("v2: tick %lld (reloaded at tick %lld), %zu particles, sum of x = %lld, momentum = %lld",
                                     (long long)ticks, (long long)reloaded_at,
                                     rm_list_size(world), (long long)sum, (long long)momentum);
            }

            /* Runs before the swap with the old namespace: moves the tick count
               from v1's list into v2's clock. */
            static rm_object *migrate(rm_object *self, rm_object *const *args, size_t nargs) {
                if (\(hookFails ? 1 : 0)) {
                    rm_error_set(RM_ERR_VALUE, "v3 refuses to migrate: the clock format is unknown");
                    return NULL;
                }
                rm_object *old_namespace;
                if (rm_args_parse(args, nargs, "O!", &rm_dict_type, &old_namespace) < 0) return NULL;
                rm_object *old_ticks = rm_dict_get_str(old_namespace, "ticks");
                rm_object *clock = rm_dict_get_str(ns(self), "clock");
                if (old_ticks && rm_is_list(old_ticks)) {
                    rm_object *n = rm_list_get(old_ticks, 0);
                    if (rm_dict_set_str(clock, "ticks", n) < 0 || rm_dict_set_str(clock, "reloaded_at", n) < 0) return NULL;
                }
                return rm_get_none();
            }

            int rm_module_init(rm_builder *m) {
                rm_object *p = rm_def_struct(m, "Particle", NULL, sizeof(Particle), particle_fields);
                if (!p || rm_def_field_default(p, "mass", rm_int(2)) < 0) return -1;
                if (rm_def_method(p, "step", step, 0) < 0) return -1;
                if (!rm_def_state(m, "world", rm_list_new(0)) || !rm_def_state(m, "clock", rm_dict_new())) return -1;
                if (!rm_def_function(m, "spawn", spawn, 1) || !rm_def_function(m, "tick", tick, 0)) return -1;
                if (!rm_def_function(m, "__reload__", migrate, 1)) return -1;
                return rm_def_function(m, "describe", describe, 0) ? 0 : -1;
            }
            """
    }

    /// A version that does not compile.
    static let broken = v1.replacingOccurrences(of: "int rm_module_init(rm_builder *m) {", with: "int rm_module_init(rm_builder *m) { this is not C;")
}
