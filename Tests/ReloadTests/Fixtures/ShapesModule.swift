/// C sources of the fixture modules, as a module author would write them.
enum ShapesModule {
    /// `shapes`, version 1 or 2.
    ///
    /// v1: Square(side) with area = side*side; version() = 1; LIMIT = 10;
    ///     state `registry` (a list) and `reloads` (an int in a list);
    ///     old_only() (removed in v2); make(side).
    /// v2: area = side*side*100; a new field `color` (default "red"); a class
    ///     __reload__ that counts the instances it sees; version() = 2;
    ///     LIMIT = 20; added(); a module __reload__ that counts reloads.
    /// `hookFailsAt`: the class hook fails on that call (1-based), 0 never.
    /// `moduleHookFails`, `initFails`: make the v2 hook or init fail.
    static func source(version: Int, hookFailsAt: Int = 0, moduleHookFails: Bool = false,
                       initFails: Bool = false) -> String {
        """
        #include <remap/module.h>
        RM_MODULE_ABI;

        static int64_t hook_calls;

        static int64_t side_of(rm_object *self) {
            rm_object *side = rm_getattr(self, "side");
            return side ? rm_int_value(side) : -1;
        }

        static rm_object *area(rm_object *self, rm_object *const *args, size_t nargs) {
            int64_t s = side_of(self);
            return rm_int(\(version == 1 ? "s * s" : "s * s * 100"));
        }

        static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_int(\(version));
        }

        static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Square");
            rm_object *inst = rm_new_instance(cls, NULL, 0);
            if (!inst || rm_setattr(inst, "side", args[0]) < 0) return NULL;
            return inst;
        }

        static rm_object *old_only(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_str("old");
        }

        static rm_object *added(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_str("added");
        }

        /* Class hook: counts calls in a field of the instance and in a
           module-wide counter, and fails on call number FAIL_AT. */
        static rm_object *square_reload(rm_object *self, rm_object *const *args, size_t nargs) {
            hook_calls++;
            if (\(hookFailsAt) > 0 && hook_calls == \(hookFailsAt)) {
                rm_error_set(RM_ERR_VALUE, "square hook refuses instance %lld", (long long)hook_calls);
                return NULL;
            }
            rm_object *seen = rm_getattr(self, "seen");
            if (!seen) rm_error_clear();
            int64_t n = seen && rm_is_int(seen) ? rm_int_value(seen) : 0;
            if (rm_setattr(self, "seen", rm_int(n + 1)) < 0) return NULL;
            return rm_get_none();
        }

        static rm_object *hook_count(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_int(hook_calls);
        }

        /* Module hook: carries a counter over from the old namespace. */
        static rm_object *module_reload(rm_object *self, rm_object *const *args, size_t nargs) {
            if (\(moduleHookFails ? 1 : 0)) {
                rm_error_set(RM_ERR_VALUE, "module hook says no");
                return NULL;
            }
            rm_object *old = rm_dict_get_str(args[0], "reloads");
            rm_object *ns = rm_module_dict(rm_function_module(self));
            rm_object *box = rm_dict_get_str(ns, "reloads");
            if (old && box && rm_list_size(box) == 1) {
                rm_list_set(box, 0, rm_int(rm_int_value(rm_list_get(old, 0)) + 1));
            }
            return rm_get_none();
        }

        int rm_module_init(rm_module *m) {
            if (\(initFails ? 1 : 0)) {
                rm_error_set(RM_ERR_VALUE, "init of version \(version) fails on purpose");
                return -1;
            }
            rm_object *sq = rm_def_class(m, "Square", NULL);
            if (!sq || rm_def_field(sq, "side", rm_int(1)) < 0) return -1;
            if (rm_def_method(sq, "area", area, 0) < 0) return -1;
            \(version == 1 ? "" : """
            if (rm_def_field(sq, "color", rm_str("red")) < 0) return -1;
            if (rm_def_method(sq, "__reload__", square_reload, 0) < 0) return -1;
            if (!rm_def_function(m, "added", added, 0)) return -1;
            if (!rm_def_function(m, "__reload__", module_reload, 1)) return -1;
            """)
            \(version == 1 ? "if (!rm_def_function(m, \"old_only\", old_only, 0)) return -1;" : "")
            if (!rm_def_function(m, "version", version, 0)) return -1;
            if (!rm_def_function(m, "make", make, 1)) return -1;
            if (!rm_def_function(m, "hook_count", hook_count, 0)) return -1;
            if (rm_def_value(m, "LIMIT", rm_int(\(version * 10))) < 0) return -1;
            if (!rm_def_state(m, "registry", rm_list_new(0))) return -1;
            rm_object *box = rm_list_new(1);
            if (!box || rm_list_append(box, rm_int(0)) < 0) return -1;
            if (!rm_def_state(m, "reloads", box)) return -1;
            return 0;
        }
        """
    }

    /// `user`: imports shapes.version and calls it through its own binding.
    static let user = """
        #include <remap/module.h>
        RM_MODULE_ABI;

        static rm_object *call_version(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *f = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "version");
            return f ? rm_call(f, NULL, 0) : NULL;
        }

        int rm_module_init(rm_module *m) {
            if (!rm_import_from(m, "shapes", "version")) return -1;
            if (!rm_def_function(m, "call_version", call_version, 0)) return -1;
            return 0;
        }
        """

    /// A module whose init imports `other`, for cycles.
    static func importing(_ other: String, name: String) -> String {
        """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *f(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(1); }
        int rm_module_init(rm_module *m) {
            if (!rm_def_function(m, "f_\(name)", f, 0)) return -1;
            return rm_import_from(m, "\(other)", "f_\(other)") ? 0 : -1;
        }
        """
    }

    /// A library built for another ABI.
    static let wrongABI = """
        #include <remap/module.h>
        __attribute__((visibility("default"))) const unsigned rm_module_abi_version = 99;
        int rm_module_init(rm_module *m) { return 0; }
        """

    /// A library without rm_module_init.
    static let noInit = """
        #include <remap/module.h>
        RM_MODULE_ABI;
        int some_other_function(void) { return 0; }
        """

    /// `many`: 50 definitions (40 functions, 10 classes) whose answers carry
    /// the version.
    static func many(version: Int) -> String {
        var defs = ""
        for i in 0..<40 {
            defs += "    if (!rm_def_function(m, \"f\(i)\", answer, 0)) return -1;\n"
        }
        for i in 0..<10 {
            defs += """
                    { rm_object *c = rm_def_class(m, "C\(i)", NULL);
                      if (!c || rm_def_field(c, "x", rm_int(0)) < 0 || rm_def_method(c, "get", answer, 0) < 0) return -1; }

                """
        }
        return """
            #include <remap/module.h>
            RM_MODULE_ABI;
            static rm_object *answer(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
            int rm_module_init(rm_module *m) {
            \(defs)    return 0;
            }
            """
    }
}
