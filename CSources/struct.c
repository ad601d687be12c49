/*
** struct.c: struct classes: their field tables, instances, and the
** dynamic API's view of their fields (see struct.h).
**
** A struct class is a class (a heap type of rm_class_type: methods, class
** attributes, __init__ and the class hook work unchanged) whose instances
** are laid out as a C struct. Its field table is built once, from the
** module's rm_field_spec array and the base's table, and is the one
** declaration of the instance's fields: names (the class's cls_fields and
** cls_index, as for any class), kinds and offsets, and the list of
** reference slots that traverse, the remap walk and the heap checker read.
**
** Instances are allocated scanned, not atomic, even without an RM_OBJECT
** field: the type slot is a reference to the class, and an atomic
** instance would not keep its class alive (Boehm does not scan it; a
** precise per-object descriptor, BOEHM-NOTES.md, would, at the price of a
** custom kind whose every allocation takes the global lock).
*/
#include "struct.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static const struct {
    uint8_t size;
    const char *name;
} kinds[RM_FIELD_KINDS] = {
    [RM_I8] = {1, "i8"},   [RM_I16] = {2, "i16"}, [RM_I32] = {4, "i32"},  [RM_I64] = {8, "i64"},
    [RM_U8] = {1, "u8"},   [RM_U16] = {2, "u16"}, [RM_U32] = {4, "u32"},  [RM_U64] = {8, "u64"},
    [RM_F32] = {4, "f32"}, [RM_F64] = {8, "f64"}, [RM_BOOL] = {1, "bool"}, [RM_OBJECT] = {8, "object"},
};

size_t rm_field_kind_size(uint8_t kind) { return kind > 0 && kind < RM_FIELD_KINDS ? kinds[kind].size : 0; }
const char *rm_field_kind_name(uint8_t kind) { return kind > 0 && kind < RM_FIELD_KINDS ? kinds[kind].name : "?"; }

/* ---- Instances ---- */

/* References of a struct instance: the slots its class's field table
   lists (RM_OBJECT fields, each element of an array). */
static int struct_traverse(rm_object *self, rm_visitproc visit, void *arg) {
    const rm_struct_layout *l = rm_struct_of(self->ob_type);
    for (size_t i = 0; i < l->nrefs; i++) RM_VISIT((rm_object **)((char *)self + l->refs[i]));
    return 0;
}

rm_object *rm_struct_alloc(rm_type *cls) {
    const rm_struct_layout *l = rm_struct_of(cls);
    rm_object *o = rm_alloc(cls, l->alloc);
    if (!o) return NULL;
    o->ob_flags |= RM_FLAG_STRUCT;
    memcpy((char *)o + sizeof(rm_object), l->init + sizeof(rm_object), l->size - sizeof(rm_object));
    return o;
}

bool rm_is_struct_class(rm_object *cls) { return cls && rm_is_class(cls) && ((rm_type *)cls)->cls_struct; }

void *rm_struct_cast(rm_object *cls, rm_object *obj) {
    if (!rm_missing(cls, "rm_struct_cast") && !rm_missing(obj, "rm_struct_cast")) {
        if (rm_is_struct_class(cls) && (obj->ob_flags & RM_FLAG_STRUCT) && rm_is_instance_of(obj, cls)) return obj;
        rm_error_set(RM_ERR_TYPE, "expected a %s instance, not '%s'",
                     rm_is_class(cls) ? rm_type_name((rm_type *)cls) : "struct class", rm_type_name(obj->ob_type));
    }
    return NULL;
}

/* ---- Boxing and converting ---- */

static rm_object *box_one(uint8_t kind, const void *p) {
    switch (kind) {
    case RM_I8: return rm_int(*(const int8_t *)p);
    case RM_I16: return rm_int(*(const int16_t *)p);
    case RM_I32: return rm_int(*(const int32_t *)p);
    case RM_I64: return rm_int(*(const int64_t *)p);
    case RM_U8: return rm_int(*(const uint8_t *)p);
    case RM_U16: return rm_int(*(const uint16_t *)p);
    case RM_U32: return rm_int(*(const uint32_t *)p);
    case RM_U64: {
        uint64_t v = *(const uint64_t *)p;
        if (v > (uint64_t)INT64_MAX) {
            rm_error_set(RM_ERR_VALUE, "u64 value %llu does not fit an int", (unsigned long long)v);
            return NULL;
        }
        return rm_int((int64_t)v);
    }
    case RM_F32: return rm_float(*(const float *)p);
    case RM_F64: return rm_float(*(const double *)p);
    case RM_BOOL: return rm_bool(*(const uint8_t *)p != 0);
    default: {
        rm_object *o = *(rm_object *const *)p;
        return o ? o : rm_none;
    }
    }
}

rm_object *rm_struct_box(const rm_struct_layout *l, size_t i, const unsigned char *base) {
    const rm_struct_field *f = &l->fields[i];
    const unsigned char *p = base + f->offset;
    if (!f->array) return box_one(f->kind, p);
    rm_object *t = rm_tuple_new(f->count);
    size_t step = rm_field_kind_size(f->kind);
    for (size_t e = 0; t && e < f->count; e++) {
        rm_object *v = box_one(f->kind, p + e * step);
        if (!v) return NULL;
        rm_tuple_set(t, e, v);
    }
    return t;
}

rm_object *rm_struct_get(rm_object *obj, size_t i) {
    return rm_struct_box(rm_struct_of(obj->ob_type), i, (const unsigned char *)obj);
}

/* The value of one element as kind `kind` wants it, into `out` (the
   element's bytes); -1 with the error naming `what` (Class.field). */
static int convert_one(uint8_t kind, rm_object *v, unsigned char *out, const char *cls, const char *field) {
    if (kind == RM_OBJECT) {
        rm_object *o = v == rm_none ? NULL : v;
        memcpy(out, &o, sizeof o);
        return 0;
    }
    if (kind == RM_F32 || kind == RM_F64) {
        double d;
        if (RM_IS(v, rm_float_type)) d = rm_float_value(v);
        else if (RM_IS(v, rm_int_type)) d = (double)rm_int_value(v);
        else goto wrong_type;
        if (kind == RM_F64) {
            memcpy(out, &d, sizeof d);
            return 0;
        }
        if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX)) {
            rm_error_set(RM_ERR_VALUE, "%s.%s: %g is out of range for f32", cls, field, d);
            return -1;
        }
        float f = (float)d;
        memcpy(out, &f, sizeof f);
        return 0;
    }
    int64_t x;
    if (v == rm_true || v == rm_false) x = v == rm_true;
    else if (RM_IS(v, rm_int_type)) x = rm_int_value(v);
    else goto wrong_type;
    int64_t lo, hi;
    switch (kind) {
    case RM_I8: lo = INT8_MIN, hi = INT8_MAX; break;
    case RM_I16: lo = INT16_MIN, hi = INT16_MAX; break;
    case RM_I32: lo = INT32_MIN, hi = INT32_MAX; break;
    case RM_U8: lo = 0, hi = UINT8_MAX; break;
    case RM_U16: lo = 0, hi = UINT16_MAX; break;
    case RM_U32: lo = 0, hi = UINT32_MAX; break;
    case RM_U64: lo = 0, hi = INT64_MAX; break;
    case RM_BOOL: lo = 0, hi = 1; break;
    default: lo = INT64_MIN, hi = INT64_MAX; break;
    }
    if (x < lo || x > hi) {
        rm_error_set(RM_ERR_VALUE, "%s.%s: %lld is out of range for %s", cls, field, (long long)x,
                     rm_field_kind_name(kind));
        return -1;
    }
    switch (rm_field_kind_size(kind)) {
    case 1: { uint8_t b = (uint8_t)x; memcpy(out, &b, 1); break; }
    case 2: { uint16_t b = (uint16_t)x; memcpy(out, &b, 2); break; }
    case 4: { uint32_t b = (uint32_t)x; memcpy(out, &b, 4); break; }
    default: memcpy(out, &x, 8); break;
    }
    return 0;

wrong_type:
    rm_error_set(RM_ERR_TYPE, "%s.%s: a %s field takes %s, not '%s'", cls, field, rm_field_kind_name(kind),
                 kind == RM_F32 || kind == RM_F64 ? "a float or an int" : kind == RM_BOOL ? "a bool" : "an int",
                 rm_type_name(v->ob_type));
    return -1;
}

/* Field i's bytes as `value` makes them, into `to`: all elements are
   converted into a buffer first, so a failure writes nothing. An array
   takes a tuple or list of its length, or one value for every element. */
int rm_struct_store(const rm_type *cls, size_t i, void *to, rm_object *value) {
    const rm_struct_layout *l = rm_struct_of(cls);
    const rm_struct_field *f = &l->fields[i];
    const char *cname = rm_type_name(cls), *fname = rm_str_cstr(rm_tuple_get(cls->cls_fields, i));
    size_t step = rm_field_kind_size(f->kind);
    if (!f->array) {
        unsigned char buf[8];
        if (convert_one(f->kind, value, buf, cname, fname) < 0) return -1;
        memcpy(to, buf, step);
        return 0;
    }
    bool seq = RM_IS(value, rm_tuple_type) || RM_IS(value, rm_list_type);
    size_t n = RM_IS(value, rm_tuple_type) ? rm_tuple_size(value) : seq ? rm_list_size(value) : f->count;
    if (n != f->count) {
        rm_error_set(RM_ERR_VALUE, "%s.%s: an array of %u takes %u items, not %zu", cname, fname, f->count, f->count, n);
        return -1;
    }
    unsigned char *buf = malloc(step * f->count);
    if (!buf) {
        rm_error_set(RM_ERR_MEMORY, "out of memory converting %s.%s", cname, fname);
        return -1;
    }
    for (size_t e = 0; e < n; e++) {
        rm_object *item = !seq ? value : RM_IS(value, rm_tuple_type) ? rm_tuple_get(value, e) : rm_list_get(value, e);
        if (convert_one(f->kind, item, buf + e * step, cname, fname) < 0) {
            free(buf);
            return -1;
        }
    }
    memcpy(to, buf, step * f->count);
    free(buf);
    return 0;
}

int rm_struct_set(rm_object *obj, size_t i, rm_object *value) {
    const rm_struct_layout *l = rm_struct_of(obj->ob_type);
    unsigned char buf[256], *tmp = buf;
    const rm_struct_field *f = &l->fields[i];
    size_t bytes = rm_field_kind_size(f->kind) * f->count;
    if (bytes > sizeof buf && !(tmp = malloc(bytes))) {
        rm_error_set(RM_ERR_MEMORY, "out of memory setting a field");
        return -1;
    }
    /* Converted first, journaled second: a refused value changes nothing. */
    int rc = rm_struct_store(obj->ob_type, i, tmp, value);
    if (rc == 0 && (rc = rm_journal(obj)) == 0) memcpy((char *)obj + f->offset, tmp, bytes);
    if (tmp != buf) free(tmp);
    return rc;
}

/* ---- Defining ---- */

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* Reference offsets are kept ascending: the walk reads them forward. */
static int compare_offsets(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks one spec against the struct and the fields before it. */
static int check_spec(const char *cls, const rm_field_spec *s, size_t first, size_t size, const rm_field_spec *specs,
                      size_t before) {
    size_t es = rm_field_kind_size((uint8_t)s->kind), n = s->count ? s->count : 1;
    if (!es) {
        rm_error_set(RM_ERR_VALUE, "struct %s: field %s has no valid kind (%d)", cls, s->name, (int)s->kind);
        return -1;
    }
    if (s->size != es * n) {
        rm_error_set(RM_ERR_VALUE, "struct %s: field %s is %zu bytes in C, but %s%s takes %zu", cls, s->name, s->size,
                     rm_field_kind_name((uint8_t)s->kind), s->count ? "[n]" : "", es * n);
        return -1;
    }
    if (s->offset < first || s->offset + s->size > size || s->offset % es) {
        rm_error_set(RM_ERR_VALUE, "struct %s: field %s at offset %zu is outside the struct's own bytes [%zu, %zu) or misaligned",
                     cls, s->name, s->offset, first, size);
        return -1;
    }
    for (size_t k = 0; k < before; k++) {
        const rm_field_spec *o = &specs[k];
        if (strcmp(o->name, s->name) == 0 || (s->offset < o->offset + o->size && o->offset < s->offset + s->size)) {
            rm_error_set(RM_ERR_VALUE, "struct %s: fields %s and %s %s", cls, o->name, s->name,
                         strcmp(o->name, s->name) == 0 ? "have the same name" : "overlap");
            return -1;
        }
    }
    return 0;
}

/* The table of a class with `base`'s fields (or none) and `own` more, in
   one block; `init` starts as the base's bytes, then zeros. `init` is
   pointer-aligned: Boehm sees a pointer only at an aligned word, and an
   object default held there alone (a subclass's copy of its base's, one
   the walk rewrote) was freed under the class when the 12-byte fields and
   4-byte offsets before it left it 4 bytes off. */
static rm_struct_layout *layout_new(const rm_struct_layout *base, size_t own, size_t own_refs, size_t size) {
    size_t nfields = (base ? base->nfields : 0) + own, nrefs = (base ? base->nrefs : 0) + own_refs;
    size_t init_at = round_up(sizeof(rm_struct_layout) + nfields * sizeof(rm_struct_field) + nrefs * sizeof(uint32_t),
                              sizeof(void *));
    size_t bytes = init_at + size;
    rm_struct_layout *l = rm_gc_alloc(bytes);
    if (!l) return NULL;
    memset(l, 0, bytes);
    l->fields = (rm_struct_field *)(l + 1);
    l->refs = (uint32_t *)(l->fields + nfields);
    l->init = (unsigned char *)l + init_at;
    l->size = size;
    l->alloc = round_up(size, 16) + RM_STRUCT_ROOM;
    l->min_capacity = l->max_capacity = l->alloc;
    if (base) {
        memcpy(l->fields, base->fields, base->nfields * sizeof *l->fields);
        memcpy(l->refs, base->refs, base->nrefs * sizeof *l->refs);
        memcpy(l->init, base->init, base->size);
        l->nfields = base->nfields;
        l->nrefs = base->nrefs;
    }
    return l;
}

static void layout_add(rm_struct_layout *l, size_t offset, uint8_t kind, uint32_t count) {
    l->fields[l->nfields++] = (rm_struct_field){(uint32_t)offset, count ? count : 1, kind, count != 0};
    if (kind == RM_OBJECT)
        for (size_t e = 0; e < (count ? count : 1); e++) l->refs[l->nrefs++] = (uint32_t)(offset + e * sizeof(void *));
}

/* Appends `items` to a tuple, as a new tuple. */
static rm_object *tuple_extend(rm_object *t, rm_object *const *items, size_t n) {
    size_t have = rm_tuple_size(t);
    rm_object *grown = rm_tuple_new(have + n);
    for (size_t i = 0; grown && i < have + n; i++) rm_tuple_set(grown, i, i < have ? rm_tuple_get(t, i) : items[i - have]);
    return grown;
}

/*
** Makes the class: checks every spec (kind, C size, bounds, alignment,
** overlap, names unique with the base's), builds the table, then the
** class with the base's names and the own ones (defaults None: zero).
** Nothing is bound before everything is built.
*/
static rm_object *struct_class_new(const char *name, rm_object *base, size_t size, const rm_field_spec *specs,
                                   rm_object *module) {
    const rm_struct_layout *bl = NULL;
    if (base) {
        if (!rm_is_struct_class(base)) {
            rm_error_set(RM_ERR_TYPE, "struct %s: base must be a struct class, not %s", name,
                         rm_is_class(base) ? "a class made with rm_def_class" : rm_type_name(base->ob_type));
            return NULL;
        }
        bl = rm_struct_of((rm_type *)base);
    }
    size_t first = bl ? bl->size : sizeof(rm_object);
    if (size < first || size > UINT32_MAX) {
        rm_error_set(RM_ERR_VALUE, "struct %s: size %zu is smaller than its %s (%zu bytes)", name, size,
                     bl ? "base's struct" : "header", first);
        return NULL;
    }
    size_t own = 0, own_refs = 0;
    for (; specs && specs[own].name; own++) {
        if (check_spec(name, &specs[own], first, size, specs, own) < 0) return NULL;
        if (bl && rm_dict_get_str(((rm_type *)base)->cls_index, specs[own].name)) {
            rm_error_set(RM_ERR_VALUE, "struct %s: field %s is already a field of its base", name, specs[own].name);
            return NULL;
        }
        if (specs[own].kind == RM_OBJECT) own_refs += specs[own].count ? specs[own].count : 1;
    }
    if (own > 0xffff) {
        rm_error_set(RM_ERR_VALUE, "struct %s: more than 65535 fields", name);
        return NULL;
    }
    rm_struct_layout *l = layout_new(bl, own, own_refs, size);
    /* The names are new strs that only this array holds until the class
       has them: scanned memory (in malloc memory a collection in the
       allocations below freed them, and the class was left with freed
       keys in its field index). */
    rm_object **names = l ? GC_MALLOC((own ? own : 1) * sizeof *names) : NULL;
    rm_object **nones = names ? malloc((own ? own : 1) * sizeof *nones) : NULL;
    if (!nones) {
        GC_FREE(names);
        if (l) rm_error_set(RM_ERR_MEMORY, "out of memory defining struct %s", name);
        return NULL;
    }
    rm_object *cls = NULL, *fields = NULL, *defaults = NULL;
    bool ok = true;
    for (size_t k = 0; k < own && ok; k++) {
        layout_add(l, specs[k].offset, (uint8_t)specs[k].kind, specs[k].count);
        nones[k] = rm_none;
        ok = (names[k] = rm_str(specs[k].name)) != NULL;
    }
    qsort(l->refs, l->nrefs, sizeof *l->refs, compare_offsets);
    if (ok) cls = rm_struct_class_new(name, base, module);
    if (cls) fields = tuple_extend(((rm_type *)cls)->cls_fields, names, own);
    if (fields) defaults = tuple_extend(((rm_type *)cls)->cls_defaults, nones, own);
    rm_type *c = (rm_type *)cls;
    for (size_t k = 0; defaults && k < own; k++) {
        rm_object *at = rm_int((int64_t)(l->nfields - own + k));
        if (!at || rm_dict_set(c->cls_index, names[k], at) < 0) defaults = NULL;
    }
    GC_FREE(names);
    free(nones);
    if (!defaults) return NULL;
    c->cls_fields = fields;
    c->cls_defaults = defaults;
    c->cls_struct = l;
    c->tp_basicsize = size;
    c->tp_size = NULL;
    c->tp_layout = RM_LAYOUT_STRUCT;
    c->tp_traverse = struct_traverse;
    return cls;
}

rm_object *rm_struct_class_make(const char *name, rm_object *base, size_t size, const rm_field_spec *specs,
                                rm_object *module) {
    return struct_class_new(name, base, size, specs, module);
}

int rm_def_field_default(rm_object *cls, const char *name, rm_object *value) {
    if (rm_missing(cls, "rm_def_field_default") || rm_missing(name, "rm_def_field_default") ||
        rm_missing(value, "rm_def_field_default"))
        return -1;
    if (!rm_is_struct_class(cls)) {
        rm_error_set(RM_ERR_TYPE, "rm_def_field_default: not a struct class (use rm_def_field)");
        return -1;
    }
    rm_type *c = (rm_type *)cls;
    rm_object *at = rm_dict_get_str(c->cls_index, name);
    if (!at) {
        rm_error_set(RM_ERR_ATTRIBUTE, "struct %s has no field '%s'", rm_type_name(c), name);
        return -1;
    }
    size_t i = (size_t)rm_int_value(at);
    rm_struct_layout *l = rm_struct_of(c);
    const rm_struct_field *f = &l->fields[i];
    rm_object *defaults = rm_tuple_of(rm_tuple_size(c->cls_defaults), ((rm_tuple_object *)c->cls_defaults)->items);
    if (!defaults || rm_journal(cls) < 0) return -1;
    if (rm_struct_store(c, i, l->init + f->offset, value) < 0) return -1;
    rm_tuple_set(defaults, i, value);
    c->cls_defaults = defaults;
    return 0;
}

/* ---- Rebasing ---- */

/*
** A struct class of a module that is not reloaded, whose base a reload
** replaces: its compiled code keeps its own fields where they are, so the
** copy has the new base's fields, then the same own fields at the same
** offsets, with the same defaults; refused if the new base's struct grows
** into them.
*/
rm_object *rm_struct_rebase(rm_type *c, rm_object *new_base) {
    const rm_struct_layout *l = rm_struct_of(c), *ob = rm_struct_of((rm_type *)c->cls_base);
    size_t own = l->nfields - ob->nfields;
    rm_field_spec *specs = calloc(own + 1, sizeof *specs);
    if (!specs) {
        rm_error_set(RM_ERR_MEMORY, "out of memory rebasing struct %s", rm_type_name(c));
        return NULL;
    }
    for (size_t k = 0; k < own; k++) {
        const rm_struct_field *f = &l->fields[ob->nfields + k];
        specs[k] = (rm_field_spec){rm_str_cstr(rm_tuple_get(c->cls_fields, ob->nfields + k)), f->offset,
                                   rm_field_kind_size(f->kind) * f->count, (rm_field_kind)f->kind,
                                   f->array ? f->count : 0};
    }
    rm_object *copy = rm_is_struct_class(new_base) && rm_struct_of((rm_type *)new_base)->size > ob->size
                          ? NULL
                          : struct_class_new(rm_type_name(c), new_base, l->size, specs, c->cls_module);
    if (!copy && !rm_error_occurred())
        rm_error_set(RM_ERR_RELOAD, "struct %s derives from %s, whose struct grows past %zu bytes into %s's own "
                     "fields: reload the module that defines %s too (reload refused)", rm_type_name(c),
                     rm_type_name((rm_type *)new_base), ob->size, rm_type_name(c), rm_type_name(c));
    if (copy) {
        rm_type *n = (rm_type *)copy;
        rm_struct_layout *nl = rm_struct_of(n);
        for (size_t k = 0; k < own; k++) {
            const rm_struct_field *f = &l->fields[ob->nfields + k];
            memcpy(nl->init + f->offset, l->init + f->offset, rm_field_kind_size(f->kind) * f->count);
            rm_tuple_set(n->cls_defaults, nl->nfields - own + k, rm_tuple_get(c->cls_defaults, ob->nfields + k));
        }
        nl->min_capacity = l->min_capacity;
        nl->max_capacity = l->max_capacity > nl->max_capacity ? l->max_capacity : nl->max_capacity;
    }
    free(specs);
    return copy;
}

bool rm_struct_same_layout(const rm_type *a, const rm_type *b) {
    const rm_struct_layout *x = a->cls_struct, *y = b->cls_struct;
    if (!x || !y) return !x && !y;
    if (x->size != y->size || x->nfields != y->nfields) return false;
    for (size_t i = 0; i < x->nfields; i++)
        if (x->fields[i].offset != y->fields[i].offset || x->fields[i].kind != y->fields[i].kind ||
            x->fields[i].count != y->fields[i].count)
            return false;
    return true;
}

/* ---- The heap checker's part ---- */

int rm_struct_class_check(const rm_type *c) {
    /* Boehm would not see its object defaults (layout_new). */
    if ((uintptr_t)rm_struct_of(c)->init & (sizeof(void *) - 1)) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: struct %s: its initial bytes are not pointer-aligned", rm_type_name(c));
        return -1;
    }
    return 0;
}

/* The reference list must be exactly the object fields' slots: it is what
   traverse and the walk read, the fields what the dynamic API reads. */
int rm_struct_check(rm_object *o) {
    const rm_type *c = o->ob_type;
    const rm_struct_layout *l = rm_struct_of(c);
    size_t allocated = GC_size(o);
    if (!(o->ob_flags & RM_FLAG_STRUCT) || o->ob_aux != 0 || allocated < l->size) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: %s instance at %p: not laid out as a struct instance", rm_type_name(c),
                     (void *)o);
        return -1;
    }
    /* What in-place migration and the moves index's granule (mapping.h)
       rely on. */
    if (allocated < l->min_capacity) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: %s instance at %p: its allocation (%zu bytes) is smaller than its "
                     "class's bound (%zu)", rm_type_name(c), (void *)o, allocated, l->min_capacity);
        return -1;
    }
    size_t r = 0;
    for (size_t i = 0; i < l->nfields; i++) {
        const rm_struct_field *f = &l->fields[i];
        if (f->kind != RM_OBJECT) continue;
        for (size_t e = 0; e < f->count; e++, r++) {
            bool listed = false;
            for (size_t k = 0; k < l->nrefs && !listed; k++) listed = l->refs[k] == f->offset + e * sizeof(void *);
            if (!listed) break;
        }
    }
    if (r != l->nrefs) {
        rm_error_set(RM_ERR_RUNTIME, "heap check: struct %s: its reference list (%zu slots) is not its object fields",
                     rm_type_name(c), l->nrefs);
        return -1;
    }
    return 0;
}
