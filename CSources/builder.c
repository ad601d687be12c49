/*
** builder.c: building one generation of a module: the rm_def_* calls a
** module's init makes, recorded for the loader.
*/
#include "struct.h"

#include <stdlib.h>

struct rm_module {
    rm_object *module;   /* the module object being built */
    rm_object *kinds;    /* dict: name -> int rm_def_kind */
    rm_object *imports;  /* list of str: modules imported */
    rm_object *sources;  /* dict: name bound by rm_import_from -> str module it came from */
    rm_object *previous; /* the replaced generation's namespace, or NULL */
    int64_t generation;
};

static rm_import_hook import_hook;
static void *import_context;

void rm_set_import_hook(rm_import_hook hook, void *context) {
    import_hook = hook;
    import_context = context;
}

/* The builder lives in uncollectable memory: its fields are roots while a
   module is being built, wherever the loader keeps the builder pointer. */
rm_module *rm_module_builder_new(const char *name, rm_object *previous, int64_t generation) {
    rm_object *mod = rm_module_new(name);
    rm_object *kinds = mod ? rm_dict_new() : NULL;
    rm_object *imports = kinds ? rm_list_new(0) : NULL;
    rm_object *sources = imports ? rm_dict_new() : NULL;
    if (!sources) return NULL;
    rm_module *m = GC_MALLOC_UNCOLLECTABLE(sizeof *m);
    if (!m) {
        rm_error_set(RM_ERR_MEMORY, "out of memory building module %s", name);
        return NULL;
    }
    m->module = mod;
    m->kinds = kinds;
    m->imports = imports;
    m->sources = sources;
    m->previous = previous;
    m->generation = generation;
    rm_module_set_generation(mod, generation);
    return m;
}

void rm_module_builder_free(rm_module *m) { GC_FREE(m); }

rm_object *rm_module_builder_kinds(rm_module *m) { return m->kinds; }
rm_object *rm_module_builder_imports(rm_module *m) { return m->imports; }
rm_object *rm_module_builder_import_sources(rm_module *m) { return m->sources; }

int rm_module_builder_run(rm_module *m, rm_module_init_fn init) {
    rm_error_clear();
    rm_native_frame frame;
    rm_native_push(&frame, (const void *)init);
    int rc = init(m);
    rm_native_pop(&frame);
    if (rc != 0 && !rm_error_occurred())
        rm_error_set(RM_ERR_IMPORT, "rm_module_init of %s returned %d without setting an error",
                     rm_builder_name(m), rc);
    return rc == 0 ? 0 : -1;
}

rm_object *rm_builder_module(rm_builder *m) { return m->module; }
const char *rm_builder_name(rm_builder *m) { return rm_str_cstr(rm_module_name(m->module)); }
int64_t rm_builder_generation(rm_builder *m) { return m->generation; }

/* The old names (module.h), exported as before. */
rm_object *rm_module_object(rm_builder *m) { return rm_builder_module(m); }
const char *rm_module_get_name(rm_builder *m) { return rm_builder_name(m); }
int64_t rm_module_get_generation(rm_builder *m) { return rm_builder_generation(m); }

/* Binds name in the namespace and records its kind. A name defined twice
   in one init is an error: the second would silently win. */
static int define(rm_module *m, const char *name, rm_object *value, rm_def_kind kind) {
    if (!value && rm_error_occurred()) return -1;
    if (!m || !name || !value) {
        rm_error_set(RM_ERR_VALUE, "definition of %s: missing module, name or value", name ? name : "?");
        return -1;
    }
    rm_object *key = rm_str(name);
    if (!key) return -1;
    if (rm_dict_get(m->kinds, key)) {
        rm_error_set(RM_ERR_VALUE, "module %s defines '%s' twice", rm_builder_name(m), name);
        return -1;
    }
    rm_object *k = rm_int(kind);
    if (!k || rm_dict_set(rm_module_dict(m->module), key, value) < 0) return -1;
    return rm_dict_set(m->kinds, key, k);
}

int rm_def_object(rm_module *m, const char *name, rm_object *value, rm_def_kind kind) {
    if (kind < RM_DEF_FUNCTION || kind > RM_DEF_IMPORT) {
        rm_error_set(RM_ERR_VALUE, "definition of %s: unknown kind %d", name, (int)kind);
        return -1;
    }
    return define(m, name, value, kind);
}

rm_object *rm_def_function(rm_module *m, const char *name, rm_cfunction fn, int nargs) {
    rm_object *qual = rm_str_format("%s.%s", rm_builder_name(m), name);
    rm_object *f = qual ? rm_function_new(rm_str_cstr(qual), fn, nargs, m->module, NULL) : NULL;
    return f && define(m, name, f, RM_DEF_FUNCTION) == 0 ? f : NULL;
}

rm_object *rm_def_class(rm_module *m, const char *name, rm_object *base) {
    rm_object *cls = rm_class_new(name, base, m->module);
    return cls && define(m, name, cls, RM_DEF_CLASS) == 0 ? cls : NULL;
}

rm_object *rm_def_struct(rm_module *m, const char *name, rm_object *base, size_t size, const rm_field_spec *fields) {
    if (rm_missing(m, "rm_def_struct") || rm_missing(name, "rm_def_struct") || rm_missing(fields, "rm_def_struct"))
        return NULL;
    rm_object *cls = rm_struct_class_make(name, base, size, fields, m->module);
    return cls && define(m, name, cls, RM_DEF_CLASS) == 0 ? cls : NULL;
}

int rm_def_method(rm_object *cls, const char *name, rm_cfunction fn, int nargs) {
    return rm_class_set_method(cls, name, fn, nargs);
}

int rm_def_field(rm_object *cls, const char *name, rm_object *default_value) {
    return rm_class_add_field(cls, name, default_value);
}

int rm_def_field_init(rm_object *cls, const char *name, rm_cfunction fn) {
    return rm_class_set_field_init(cls, name, fn);
}

int rm_def_field_renamed(rm_object *cls, const char *new_name, const char *old_name) {
    return rm_class_set_field_renamed(cls, new_name, old_name);
}

/* State keeps the previous generation's object when there was one and the
   name was state there too. */
rm_object *rm_def_state(rm_module *m, const char *name, rm_object *initial) {
    /* A NULL initial value is a failed call's (rm_list_new...): fail even
       when the kept value would be used, or that failure goes unseen. */
    if (rm_missing(initial, "rm_def_state")) return NULL;
    rm_object *value = initial;
    if (m->previous) {
        /* The key is made apart: a NULL from rm_dict_get_str could be a
           failed allocation, which must not pass for "not kept". */
        rm_object *key = rm_str(name);
        if (!key) return NULL;
        rm_object *old = rm_dict_get(m->previous, key);
        if (old) value = old;
    }
    return define(m, name, value, RM_DEF_STATE) == 0 ? value : NULL;
}

int rm_def_value(rm_module *m, const char *name, rm_object *value) {
    return define(m, name, value, RM_DEF_VALUE);
}

rm_object *rm_import_from(rm_module *m, const char *module, const char *name) {
    if (!import_hook) {
        rm_error_set(RM_ERR_IMPORT, "%s: cannot import %s.%s: no module loader is installed",
                     rm_builder_name(m), module, name);
        return NULL;
    }
    rm_object *source = import_hook(rm_builder_name(m), module, import_context);
    if (!source) return NULL;
    rm_object *key = rm_str(name);
    if (!key) return NULL;
    rm_object *value = rm_dict_get(rm_module_dict(source), key);
    if (!value) {
        rm_error_set(RM_ERR_IMPORT, "%s: cannot import name '%s' from module %s", rm_builder_name(m), name, module);
        return NULL;
    }
    rm_object *modname = rm_str(module);
    if (!modname || rm_list_append(m->imports, modname) < 0) return NULL;
    if (define(m, name, value, RM_DEF_IMPORT) < 0) return NULL;
    /* The loader rebinds this name by name when `module` is reloaded and
       the name is a value there (values are never remapped by identity). */
    return rm_dict_set(m->sources, key, modname) == 0 ? value : NULL;
}

/* ---- Tombstones ---- */

/* Called in place of a definition a reload removed: fails with the message
   kept in its closure. */
static rm_object *tombstone_call(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *f = rm_function_current();
    rm_error_set(RM_ERR_REMOVED, "%s", rm_str_cstr(rm_function_closure(f)));
    return NULL;
}

rm_object *rm_tombstone_new(const char *qualname, int64_t generation) {
    rm_object *message = rm_str_format("%s was removed in generation %lld", qualname, (long long)generation);
    return message ? rm_function_new(qualname, tombstone_call, -1, NULL, message) : NULL;
}
