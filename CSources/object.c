/*
** object.c: the generic object protocol: type tables, traverse, hash,
** equality, attributes and calls.
*/
#include "layout.h"
#include "struct.h"

#include <stdlib.h>

/* The type of static and user-defined types. A type's own references (the
   class part) are only used by classes, whose type is rm_class_type. */
rm_type rm_type_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "type",
    .tp_basicsize = sizeof(rm_type),
    .tp_layout = RM_LAYOUT_LEAF,
};

const char *rm_type_name(const rm_type *type) {
    if ((type->tp_flags & RM_TYPE_HEAP) && type->cls_name) return rm_str_cstr(type->cls_name);
    return type->tp_name;
}

/*
** A native type defined by C user code. It lives in malloc memory and is
** never freed: objects of it may outlive any module. Its layout is
** RM_LAYOUT_TRAVERSE: the remap walk calls its traverse.
*/
rm_type *rm_type_new(const char *name, size_t basicsize, rm_traverseproc traverse) {
    if (basicsize < sizeof(rm_object)) {
        rm_error_set(RM_ERR_VALUE, "type %s: size %zu is smaller than the object header", name, basicsize);
        return NULL;
    }
    rm_type *t = calloc(1, sizeof *t);
    char *copy = name ? strdup(name) : NULL;
    if (!t || !copy) {
        free(t);
        free(copy);
        rm_error_set(RM_ERR_MEMORY, "out of memory for type %s", name ? name : "?");
        return NULL;
    }
    t->ob_type = &rm_type_type;
    t->ob_flags = RM_FLAG_IMMORTAL;
    t->ob_hash = rm_next_identity_hash();
    t->tp_name = copy;
    t->tp_basicsize = basicsize;
    t->tp_flags = RM_TYPE_USER | (traverse ? 0 : RM_TYPE_ATOMIC);
    t->tp_layout = traverse ? RM_LAYOUT_TRAVERSE : RM_LAYOUT_LEAF;
    t->tp_traverse = traverse;
    rm_library_note((const void *)traverse);
    return t;
}

int rm_traverse(rm_object *obj, rm_visitproc visit, void *arg) {
    RM_VISIT(&obj->ob_type);
    rm_traverseproc traverse = obj->ob_type->tp_traverse;
    return traverse ? traverse(obj, visit, arg) : 0;
}

/* splitmix64's finalizer: every input bit affects every output bit. */
uint32_t rm_hash_mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (uint32_t)x;
}

uint32_t rm_hash(rm_object *obj, int *error) {
    rm_hashproc hash = obj->ob_type->tp_hash;
    return hash ? hash(obj, error) : obj->ob_hash;
}

int rm_equal(rm_object *a, rm_object *b) {
    if (a == b) return 1;
    if (a->ob_type != b->ob_type) return 0;
    rm_equalproc eq = a->ob_type->tp_equal;
    return eq ? eq(a, b) : 0;
}

size_t rm_sizeof(rm_object *obj) {
    rm_sizeproc size = obj->ob_type->tp_size;
    return size ? size(obj) : obj->ob_type->tp_basicsize;
}

/* True for an object that Boehm allocated and the runtime may remap. */
bool rm_is_heap_object(const rm_object *obj) {
    return obj && GC_base((void *)obj) == (void *)obj;
}

static bool is_instance(rm_object *o) {
    return (o->ob_type->tp_flags & RM_TYPE_HEAP) != 0;
}

/* ---- Attributes ---- */

/*
** Instance attribute lookup: a field the instance stores (an inline slot,
** or the dict word), else the attribute dict, else the class (functions
** are bound to the instance), else a field's default. A field the instance
** does not store (it predates the field) lives in the attribute dict once
** set.
*/
static rm_object *instance_getattr(rm_object *obj, rm_object *name) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    rm_type *cls = obj->ob_type;
    int32_t field;
    rm_object *v;
    rm_lookup(cls, name, &field, &v);
    /* A struct instance's field is boxed from its bytes. */
    if ((obj->ob_flags & RM_FLAG_STRUCT) && field >= 0) return rm_struct_get(obj, (size_t)field);
    if (field >= 0) {
        rm_object **slot = rm_field_slot(inst, (size_t)field);
        if (slot) return *slot ? *slot : rm_none;
    }
    rm_object *attrs = rm_attr_dict(inst);
    if (attrs) {
        rm_object *own = rm_dict_get(attrs, name);
        if (own) return own;
    }
    if (v) {
        if (RM_IS(v, rm_function_type)) return rm_method_new(v, obj);
        return v;
    }
    if (field >= 0) return rm_tuple_get(cls->cls_defaults, (size_t)field);
    rm_error_set(RM_ERR_ATTRIBUTE, "'%s' object has no attribute '%s'", rm_type_name(cls), rm_str_cstr(name));
    return NULL;
}

/*
** The attribute dict of an instance, made if it has none. A field held in
** the dict word moves into the new dict under its name first. Journals the
** instance. Returns the dict, or NULL (out of memory) with nothing changed.
*/
static rm_object *instance_make_dict(rm_instance_object *inst) {
    rm_object *attrs = rm_attr_dict(inst);
    if (attrs) return rm_journal((rm_object *)inst) < 0 ? NULL : attrs;
    rm_object *dict = rm_dict_new();
    if (!dict) return NULL;
    rm_object *fields = inst->ob_type->cls_fields;
    if ((inst->ob_flags & RM_FLAG_WORD_FIELD) && inst->ob_aux < rm_tuple_size(fields)) {
        /* (A plain rm_remap may have given the instance a class with fewer
           fields: then the word's value has no name left to keep.) */
        rm_object *name = rm_tuple_get(fields, inst->ob_aux);
        if (inst->dict && rm_dict_set(dict, name, inst->dict) < 0) return NULL;
    }
    if (rm_journal((rm_object *)inst) < 0) return NULL;
    inst->ob_flags &= ~(RM_FLAG_WORD_FIELD | RM_FLAG_WORD_STASH);
    inst->dict = dict;
    return dict;
}

static int instance_setattr(rm_object *obj, rm_object *name, rm_object *value) {
    rm_instance_object *inst = (rm_instance_object *)obj;
    int32_t field;
    rm_object *attr;
    rm_lookup(obj->ob_type, name, &field, &attr);
    if (obj->ob_flags & RM_FLAG_STRUCT) {
        if (field >= 0) return rm_struct_set(obj, (size_t)field, value);
        rm_error_set(RM_ERR_ATTRIBUTE, "'%s' object has no field '%s' (a struct instance has only its fields)",
                     rm_type_name(obj->ob_type), rm_str_cstr(name));
        return -1;
    }
    rm_object **slot = field >= 0 ? rm_field_slot(inst, (size_t)field) : NULL;
    if (slot) {
        if (rm_journal(obj) < 0) return -1;
        *slot = value;
        return 0;
    }
    rm_object *attrs = instance_make_dict(inst);
    return attrs ? rm_dict_set(attrs, name, value) : -1;
}

/* The whole attribute protocol (rm_getattr_name is its cached front). */
rm_object *rm_getattr_full(rm_object *obj, rm_object *name) {
    if (rm_missing(obj, "rm_getattr") || rm_missing(name, "rm_getattr")) return NULL;
    if (!RM_IS(name, rm_str_type)) {
        rm_error_set(RM_ERR_TYPE, "attribute name must be a str");
        return NULL;
    }
    if (is_instance(obj)) return instance_getattr(obj, name);
    if (RM_IS(obj, rm_oldview_type)) return rm_oldview_getattr(obj, name);
    rm_object *v = NULL;
    if (RM_IS(obj, rm_class_type)) v = rm_class_lookup(obj, name);
    else if (RM_IS(obj, rm_module_type)) v = rm_dict_get(rm_module_dict(obj), name);
    if (v) return v;
    if (RM_IS(obj, rm_module_type))
        rm_error_set(RM_ERR_ATTRIBUTE, "module '%s' has no attribute '%s'",
                     rm_str_cstr(rm_module_name(obj)), rm_str_cstr(name));
    else
        rm_error_set(RM_ERR_ATTRIBUTE, "'%s' object has no attribute '%s'",
                     rm_type_name(obj->ob_type), rm_str_cstr(name));
    return NULL;
}

/* The whole protocol (rm_setattr_name is its cached front). */
int rm_setattr_full(rm_object *obj, rm_object *name, rm_object *value) {
    if (rm_missing(obj, "rm_setattr") || rm_missing(name, "rm_setattr") || rm_missing(value, "rm_setattr")) return -1;
    if (!RM_IS(name, rm_str_type)) {
        rm_error_set(RM_ERR_TYPE, "attribute name must be a str");
        return -1;
    }
    if (is_instance(obj)) return instance_setattr(obj, name, value);
    if (RM_IS(obj, rm_class_type)) return rm_dict_set(((rm_type *)obj)->cls_dict, name, value);
    if (RM_IS(obj, rm_module_type)) return rm_dict_set(rm_module_dict(obj), name, value);
    rm_error_set(RM_ERR_ATTRIBUTE, "cannot set attribute '%s' of a '%s' object",
                 rm_str_cstr(name), rm_type_name(obj->ob_type));
    return -1;
}

/* ---- Calls ---- */

bool rm_is_callable(rm_object *obj) { return obj->ob_type->tp_call != NULL; }

rm_object *rm_call(rm_object *callable, rm_object *const *args, size_t nargs) {
    rm_callproc call = callable->ob_type->tp_call;
    if (!call) {
        rm_error_set(RM_ERR_TYPE, "'%s' object is not callable", rm_type_name(callable->ob_type));
        return NULL;
    }
    return call(callable, args, nargs);
}

/* obj.name(args) by the whole protocol, without allocating a bound method
   when the attribute is a function found on the class (not shadowed by a
   stored field or an attribute of the instance). */
rm_object *rm_call_method_slow(rm_object *obj, rm_object *name, rm_object *const *args, size_t nargs) {
    if (rm_missing(obj, "rm_call_method") || rm_missing(name, "rm_call_method")) return NULL;
    if (is_instance(obj)) {
        rm_instance_object *inst = (rm_instance_object *)obj;
        int32_t field;
        rm_object *f;
        rm_lookup(obj->ob_type, name, &field, &f);
        rm_object *attrs = rm_attr_dict(inst);
        bool shadowed = (field >= 0 && rm_field_slot(inst, (size_t)field)) || (attrs && rm_dict_get(attrs, name));
        if (!shadowed && f && RM_IS(f, rm_function_type)) return rm_invoke(f, obj, args, nargs);
    }
    rm_object *attr = rm_getattr_full(obj, name);
    return attr ? rm_call(attr, args, nargs) : NULL;
}

/* ---- repr ---- */

rm_object *rm_repr(rm_object *obj) {
    rm_type *t = obj->ob_type;
    if (obj == rm_none) return rm_str("None");
    if (obj == rm_true) return rm_str("True");
    if (obj == rm_false) return rm_str("False");
    if (t == &rm_int_type) return rm_str_format("%lld", (long long)rm_int_value(obj));
    if (t == &rm_float_type) return rm_str_format("%g", rm_float_value(obj));
    if (t == &rm_str_type) return rm_str_format("'%s'", rm_str_cstr(obj));
    if (t == &rm_function_type) return rm_str_format("<function %s>", rm_str_cstr(rm_function_name(obj)));
    if (t == &rm_class_type) return rm_str_format("<class %s>", rm_type_name((rm_type *)obj));
    if (t == &rm_module_type) return rm_str_format("<module %s>", rm_str_cstr(rm_module_name(obj)));
    if (t->tp_flags & RM_TYPE_HEAP) return rm_str_format("<%s instance>", rm_type_name(t));
    return rm_str_format("<%s object>", rm_type_name(t));
}

/* ---- Type tests and singletons as functions ---- */
extern inline rm_object *rm_get_none(void);
rm_object *rm_get_true(void) { return rm_true; }
rm_object *rm_get_false(void) { return rm_false; }
bool rm_is_none(rm_object *o) { return o == rm_none; }
bool rm_is_bool(rm_object *o) { return RM_IS(o, rm_bool_type); }
bool rm_is_int(rm_object *o) { return RM_IS(o, rm_int_type); }
bool rm_is_float(rm_object *o) { return RM_IS(o, rm_float_type); }
bool rm_is_str(rm_object *o) { return RM_IS(o, rm_str_type); }
bool rm_is_tuple(rm_object *o) { return RM_IS(o, rm_tuple_type); }
bool rm_is_list(rm_object *o) { return RM_IS(o, rm_list_type); }
bool rm_is_dict(rm_object *o) { return RM_IS(o, rm_dict_type); }
bool rm_is_set(rm_object *o) { return RM_IS(o, rm_set_type); }
bool rm_is_function(rm_object *o) { return RM_IS(o, rm_function_type); }
bool rm_is_method(rm_object *o) { return RM_IS(o, rm_method_type); }
bool rm_is_module(rm_object *o) { return RM_IS(o, rm_module_type); }
bool rm_is_instance(rm_object *o) { return is_instance(o); }
