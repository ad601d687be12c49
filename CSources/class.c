/*
** class.c: classes and their instances.
**
** A class is a type table allocated on the heap (its own type is
** rm_class_type), so an instance's class is its header's type slot, and
** remapping a class rewrites that slot in every instance. Fields get inline
** slots in each instance, inherited fields first; the slot count is kept in
** the instance's header (ob_aux), so the remap walk reads an instance
** without reading its class.
*/
#include "struct.h"

#include <stddef.h>

#define MAX_FIELDS 0xffff /* ob_aux is 16 bits */

/* References of an instance: the dict word (an attribute dict, or a field
   under RM_FLAG_WORD_FIELD), slots[0, ob_aux). Its class, the type slot, is
   visited by rm_traverse. */
static int instance_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_instance_object *inst = (rm_instance_object *)self;
    RM_VISIT(&inst->dict);
    for (size_t i = 0; i < inst->ob_aux; i++) RM_VISIT(&inst->slots[i]);
    return 0;
}

static size_t instance_size(rm_object *self) {
    return sizeof(rm_instance_object) + self->ob_aux * sizeof(rm_object *);
}

/* Calling an instance calls its __call__ method. */
static rm_object *instance_call(rm_object *self, rm_object *const *args, size_t nargs) {
    return rm_call_method(self, "__call__", args, nargs);
}

/* References of a class: name, base, dict, fields, defaults, index, module,
   reload (fixed offsets, see tp_fixed); then a struct class's object
   defaults, which live in its field table's initial bytes, outside the
   class (the walk reads them in remap_struct_defaults). */
static int class_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    rm_type *c = (rm_type *)self;
    RM_VISIT(&c->cls_name);
    RM_VISIT(&c->cls_base);
    RM_VISIT(&c->cls_dict);
    RM_VISIT(&c->cls_fields);
    RM_VISIT(&c->cls_defaults);
    RM_VISIT(&c->cls_index);
    RM_VISIT(&c->cls_module);
    RM_VISIT(&c->cls_reload);
    const rm_struct_layout *l = c->cls_struct;
    for (size_t j = 0; l && j < l->nrefs; j++) RM_VISIT(l->init + l->refs[j]);
    return 0;
}

static rm_object *class_call(rm_object *cls, rm_object *const *args, size_t nargs) {
    return rm_instance_new(cls, args, nargs);
}

rm_type rm_class_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "class",
    .tp_basicsize = sizeof(rm_type),
    .tp_layout = RM_LAYOUT_FIXED,
    .tp_nfixed = 8,
    .tp_fixed = {offsetof(rm_type, cls_name), offsetof(rm_type, cls_base), offsetof(rm_type, cls_dict),
                 offsetof(rm_type, cls_fields), offsetof(rm_type, cls_defaults), offsetof(rm_type, cls_index),
                 offsetof(rm_type, cls_module), offsetof(rm_type, cls_reload)},
    .tp_traverse = class_traverse,
    .tp_call = class_call,
};

bool rm_is_class(rm_object *o) { return RM_IS(o, rm_class_type); }

/*
** A new class. Inherits the base's fields (same slot numbers) and finds
** methods through cls_base at lookup time.
*/
static rm_object *class_make(const char *name, rm_object *base, rm_object *module) {
    if (base && !rm_is_class(base)) {
        rm_error_set(RM_ERR_TYPE, "class %s: base must be a class, not '%s'", name, rm_type_name(base->ob_type));
        return NULL;
    }
    rm_object *n = rm_str(name);
    rm_object *dict = n ? rm_dict_new() : NULL;
    rm_object *index = dict ? (base ? rm_dict_copy(((rm_type *)base)->cls_index) : rm_dict_new()) : NULL;
    if (!index) return NULL;
    rm_type *c = (rm_type *)rm_alloc(&rm_class_type, sizeof(rm_type));
    if (!c) return NULL;
    c->tp_name = NULL;
    c->tp_basicsize = sizeof(rm_instance_object);
    c->tp_flags = RM_TYPE_HEAP;
    c->tp_layout = RM_LAYOUT_INSTANCE;
    c->tp_traverse = instance_traverse;
    c->tp_size = instance_size;
    c->cls_name = n;
    c->cls_base = base;
    c->cls_dict = dict;
    c->cls_index = index;
    c->ob_flags |= RM_FLAG_LOOKUP;
    dict->ob_flags |= RM_FLAG_LOOKUP;
    index->ob_flags |= RM_FLAG_LOOKUP;
    c->cls_module = module;
    if (base) {
        rm_type *b = (rm_type *)base;
        c->cls_fields = b->cls_fields;     /* tuples are immutable: share */
        c->cls_defaults = b->cls_defaults;
        c->tp_call = b->tp_call;
    } else {
        if (!(c->cls_fields = rm_tuple_new(0)) || !(c->cls_defaults = rm_tuple_new(0))) return NULL;
    }
    /* Registered once complete: rm_mapping_add_subclasses reads it. */
    if (rm_register_class((rm_object *)c) < 0) return NULL;
    return (rm_object *)c;
}

/*
** A class may not derive from a struct class: its instances would be laid
** out as slots while the base's methods cast them to the base's C struct.
** A struct class may derive from one (rm_def_struct).
*/
rm_object *rm_class_new(const char *name, rm_object *base, rm_object *module) {
    if (base && rm_is_struct_class(base)) {
        rm_error_set(RM_ERR_TYPE, "class %s: cannot derive from struct class %s (define it with rm_def_struct)", name,
                     rm_type_name((rm_type *)base));
        return NULL;
    }
    return class_make(name, base, module);
}

rm_object *rm_struct_class_new(const char *name, rm_object *base, rm_object *module) {
    return class_make(name, base, module);
}

/* Appends `item` to a tuple, as a new tuple. */
static rm_object *tuple_append(rm_object *t, rm_object *item) {
    size_t n = rm_tuple_size(t);
    rm_object *grown = rm_tuple_new(n + 1);
    if (!grown) return NULL;
    for (size_t i = 0; i < n; i++) rm_tuple_set(grown, i, rm_tuple_get(t, i));
    rm_tuple_set(grown, n, item);
    return grown;
}

/*
** Adds a field with a default, or changes the default of an existing one.
** Builds the new tuples before installing any of them, so a failure leaves
** the class as it was. Instances created before keep their slot count; the
** new field lives in their dict (see object.c, instance attributes).
*/
int rm_class_add_field(rm_object *cls, const char *name, rm_object *default_value) {
    rm_type *c = (rm_type *)cls;
    if (!rm_is_class(cls)) {
        rm_error_set(RM_ERR_TYPE, "rm_class_add_field: not a class");
        return -1;
    }
    if (c->cls_struct) {
        rm_error_set(RM_ERR_TYPE, "struct %s: fields come from its field table (rm_def_field_default sets a default)",
                     rm_type_name(c));
        return -1;
    }
    rm_object *key = rm_str(name);
    if (!key || rm_journal(cls) < 0) return -1;
    /* NULL means None, unless it is a failed call's result. */
    if (!default_value && rm_error_occurred()) return -1;
    if (!default_value) default_value = rm_none;
    rm_object *existing = rm_dict_get(c->cls_index, key);
    if (existing) {
        size_t i = (size_t)rm_int_value(existing);
        rm_object *defaults = rm_tuple_of(rm_tuple_size(c->cls_defaults), ((rm_tuple_object *)c->cls_defaults)->items);
        if (!defaults) return -1;
        rm_tuple_set(defaults, i, default_value);
        c->cls_defaults = defaults;
        return 0;
    }
    size_t n = rm_tuple_size(c->cls_fields);
    if (n >= MAX_FIELDS) {
        rm_error_set(RM_ERR_VALUE, "class %s: more than %d fields", rm_type_name(c), MAX_FIELDS);
        return -1;
    }
    rm_object *fields = tuple_append(c->cls_fields, key);
    rm_object *defaults = fields ? tuple_append(c->cls_defaults, default_value) : NULL;
    rm_object *slot = defaults ? rm_int((int64_t)n) : NULL;
    if (!slot || rm_dict_set(c->cls_index, key, slot) < 0) return -1;
    c->cls_fields = fields;
    c->cls_defaults = defaults;
    return 0;
}

int rm_class_set_method(rm_object *cls, const char *name, rm_cfunction fn, int nargs) {
    rm_type *c = (rm_type *)cls;
    if (!rm_is_class(cls)) {
        rm_error_set(RM_ERR_TYPE, "rm_class_set_method: not a class");
        return -1;
    }
    rm_object *qual = rm_str_format("%s.%s", rm_type_name(c), name);
    rm_object *f = qual ? rm_function_new(rm_str_cstr(qual), fn, nargs, c->cls_module, NULL) : NULL;
    if (!f || rm_journal(cls) < 0 || rm_dict_set_str(c->cls_dict, name, f) < 0) return -1;
    if (strcmp(name, "__call__") == 0) c->tp_call = instance_call;
    return 0;
}

rm_object *rm_class_lookup(rm_object *cls, rm_object *name) {
    for (rm_type *c = (rm_type *)cls; c; c = (rm_type *)c->cls_base) {
        rm_object *v = rm_dict_get(c->cls_dict, name);
        if (v) return v;
    }
    return NULL;
}

bool rm_is_instance_of(rm_object *obj, rm_object *cls) {
    for (rm_type *c = obj->ob_type; c; c = (c->tp_flags & RM_TYPE_HEAP) ? (rm_type *)c->cls_base : NULL)
        if ((rm_object *)c == cls) return true;
    return false;
}

int rm_isinstance(rm_object *obj, rm_object *cls) { return rm_is_instance_of(obj, cls); } /* old name */

size_t rm_class_field_count(rm_object *cls) { return rm_tuple_size(((rm_type *)cls)->cls_fields); }

rm_object *rm_instance_alloc(rm_object *cls) {
    if (!rm_is_class(cls)) {
        rm_error_set(RM_ERR_TYPE, "cannot instantiate a '%s' object", rm_type_name(cls->ob_type));
        return NULL;
    }
    rm_type *c = (rm_type *)cls;
    if (c->cls_struct) return rm_struct_alloc(c);
    size_t n = rm_tuple_size(c->cls_fields);
    rm_instance_object *inst = (rm_instance_object *)rm_alloc(c, sizeof(rm_instance_object) + n * sizeof(rm_object *));
    if (!inst) return NULL;
    inst->ob_aux = (uint16_t)n;
    rm_tuple_object *defaults = (rm_tuple_object *)c->cls_defaults;
    memcpy(inst->slots, defaults->items, n * sizeof(rm_object *));
    return (rm_object *)inst;
}

/*
** Allocates an instance, then runs __init__(args) if the class has one;
** without one, positional arguments fill the fields in order.
*/
rm_object *rm_instance_new(rm_object *cls, rm_object *const *args, size_t nargs) {
    rm_object *inst = rm_instance_alloc(cls);
    if (!inst) return NULL;
    static rm_object *init_name; /* interned: immortal */
    if (!init_name && !(init_name = rm_name("__init__"))) return NULL;
    int32_t field;
    rm_object *init;
    rm_lookup((rm_type *)cls, init_name, &field, &init); /* the cached rm_class_lookup */
    if (init && RM_IS(init, rm_function_type)) {
        if (!rm_invoke(init, inst, args, nargs)) return NULL;
        return inst;
    }
    if (inst->ob_flags & RM_FLAG_STRUCT) {
        /* Without __init__, positional arguments set the fields in order. */
        size_t nfields = rm_struct_of((rm_type *)cls)->nfields;
        if (nargs > nfields) {
            rm_error_set(RM_ERR_TYPE, "%s() takes at most %zu arguments (%zu given)", rm_type_name((rm_type *)cls),
                         nfields, nargs);
            return NULL;
        }
        for (size_t i = 0; i < nargs; i++)
            if (rm_struct_set(inst, i, args[i]) < 0) return NULL;
        return inst;
    }
    if (nargs > inst->ob_aux) {
        rm_error_set(RM_ERR_TYPE, "%s() takes at most %u arguments (%zu given)", rm_type_name((rm_type *)cls),
                     (unsigned)inst->ob_aux, nargs);
        return NULL;
    }
    memcpy(((rm_instance_object *)inst)->slots, args, nargs * sizeof(rm_object *));
    return inst;
}

rm_object *rm_new_instance(rm_object *cls, rm_object *const *args, size_t nargs) { /* old name */
    return rm_instance_new(cls, args, nargs);
}

/*
** How a reload fills a field of the instances it migrates: an initializer,
** or the old field it was renamed from. Both are kept in the class's
** cls_reload dict under the field's name; the field must exist.
*/
static int set_reload_rule(rm_object *cls, const char *name, rm_object *rule, const char *what) {
    rm_type *c = (rm_type *)cls;
    if (!rm_is_class(cls)) {
        rm_error_set(RM_ERR_TYPE, "%s: not a class", what);
        return -1;
    }
    rm_object *key = rm_str(name);
    if (!key || !rule) return -1;
    if (!rm_dict_get(c->cls_index, key)) {
        rm_error_set(RM_ERR_VALUE, "%s: class %s has no field '%s' (define it with rm_def_field first)", what,
                     rm_type_name(c), name);
        return -1;
    }
    rm_object *rules = c->cls_reload;
    rm_object *existing = rules ? rm_dict_get(rules, key) : NULL;
    if (existing && RM_IS(existing, rm_function_type) != RM_IS(rule, rm_function_type)) {
        rm_error_set(RM_ERR_VALUE, "%s: field %s.%s cannot be both renamed and initialized", what, rm_type_name(c),
                     name);
        return -1;
    }
    if (!rules && !(rules = rm_dict_new())) return -1;
    if (rm_journal(cls) < 0 || rm_dict_set(rules, key, rule) < 0) return -1;
    c->cls_reload = rules;
    return 0;
}

int rm_class_set_field_init(rm_object *cls, const char *name, rm_cfunction fn) {
    if (!rm_is_class(cls)) return set_reload_rule(cls, name, NULL, "rm_def_field_init");
    rm_type *c = (rm_type *)cls;
    rm_object *qual = rm_str_format("%s.%s.<init>", rm_type_name(c), name);
    rm_object *f = qual ? rm_function_new(rm_str_cstr(qual), fn, 1, c->cls_module, NULL) : NULL;
    return set_reload_rule(cls, name, f, "rm_def_field_init");
}

int rm_class_set_field_renamed(rm_object *cls, const char *new_name, const char *old_name) {
    if (old_name && new_name && strcmp(old_name, new_name) == 0) {
        rm_error_set(RM_ERR_VALUE, "rm_def_field_renamed: field '%s' renamed to itself", new_name);
        return -1;
    }
    return set_reload_rule(cls, new_name, old_name ? rm_str(old_name) : NULL, "rm_def_field_renamed");
}

/* The rule a class or one of its bases set for field `name`, or NULL. */
rm_object *rm_class_reload_rule(rm_object *cls, rm_object *name) {
    for (rm_type *c = (rm_type *)cls; c; c = (rm_type *)c->cls_base) {
        rm_object *rule = c->cls_reload ? rm_dict_get(c->cls_reload, name) : NULL;
        if (rule) return rule;
    }
    return NULL;
}

/* The slot API sees the fields an instance stores (see rm_stored_fields). */
size_t rm_instance_slot_count(rm_object *inst) { return rm_stored_fields((rm_instance_object *)inst); }

rm_object *rm_instance_slot(rm_object *inst, size_t i) {
    rm_object **slot = rm_field_slot((rm_instance_object *)inst, i);
    return slot ? *slot : NULL;
}

void rm_instance_set_slot(rm_object *inst, size_t i, rm_object *value) {
    rm_object **slot = rm_field_slot((rm_instance_object *)inst, i);
    if (slot && rm_journal(inst) == 0) *slot = value;
}

rm_object *rm_instance_dict(rm_object *inst) { return rm_attr_dict((rm_instance_object *)inst); }
