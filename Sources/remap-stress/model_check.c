/*
** model_check.c: the record-by-record comparison of the heap with the
** model, and of rm_traverse's slots with the model's references.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Checking a record against the heap ---- */

static const rm_type *builtin_type(int kind) {
    switch (kind) {
    case K_INT: return &rm_int_type;
    case K_FLOAT: return &rm_float_type;
    case K_STR: return &rm_str_type;
    case K_TUPLE: return &rm_tuple_type;
    case K_LIST: return &rm_list_type;
    case K_DICT: return &rm_dict_type;
    case K_SET: return &rm_set_type;
    case K_CLASS: return &rm_class_type;
    case K_FUNCTION: return &rm_function_type;
    case K_METHOD: return &rm_method_type;
    case K_MODULE: return &rm_module_type;
    case K_WEAKREF: return &rm_weakref_type;
    case K_CAPSULE: return &rm_capsule_type;
    default: return NULL;
    }
}

#define FAULT(...)                                                            \
    do {                                                                      \
        faults++;                                                             \
        char msg_[512];                                                       \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                             \
        check_fail("%s: %s: %s", what, describe(m, id), msg_);                \
    } while (0)

/* Compares a slot's value with a model reference. The label is a format
   with one size_t (a slot or entry number), formatted only on a fault. */
#define EXPECT_REF_AT(label, index, actual, ref)                                                \
    do {                                                                                        \
        rm_object *a_ = (actual);                                                               \
        ref_t r_ = (ref);                                                                       \
        if (a_ != ref_ptr(m, r_)) {                                                             \
            char l_[48];                                                                        \
            snprintf(l_, sizeof l_, label, (size_t)(index));                                    \
            FAULT("%s is %p, expected %s", l_, (void *)a_, describe(m, r_));                    \
        }                                                                                       \
    } while (0)
#define EXPECT_REF(label, actual, ref) EXPECT_REF_AT(label "%.0zu", 0, actual, ref)

/* Table entries in order against the model; dict (stride 2) or set. */
static size_t check_table(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    size_t stride = rec->kind == K_DICT ? 2 : 1;
    size_t size = rec->kind == K_DICT ? rm_dict_size(rec->ptr) : rm_set_size(rec->ptr);
    if (size != rec->nrefs / stride) FAULT("size %zu, expected %zu", size, (size_t)rec->nrefs / stride);
    size_t pos = 0, i = 0;
    rm_object *k = NULL, *v = NULL;
    while (rm_dict_next(rec->ptr, &pos, &k, stride == 2 ? &v : NULL)) {
        if (i >= rec->nrefs) {
            FAULT("extra entry %zu with key %p", i / stride, (void *)k);
            break;
        }
        EXPECT_REF_AT("entry %zu key", i / stride, k, m->pool[rec->refs + i]);
        if (stride == 2) EXPECT_REF_AT("entry %zu value", i / 2, v, m->pool[rec->refs + i + 1]);
        i += stride;
    }
    if (i < rec->nrefs) FAULT("only %zu entries, expected %zu", i / stride, (size_t)rec->nrefs / stride);
    return faults;
}

size_t check_record(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    rm_object *o = rec->ptr;
    ref_t *refs = refs_of(m, id);
    const rm_type *want = rec->kind == K_INSTANCE ? (const rm_type *)ref_ptr(m, refs[0]) : builtin_type(rec->kind);
    if (o->ob_type != want) {
        FAULT("type is %p, expected %s", (void *)o->ob_type,
              rec->kind == K_INSTANCE ? describe(m, refs[0]) : type_label(want));
        return faults;
    }
    switch (rec->kind) {
    case K_INT:
        if (rm_int_value(o) != rec->v.i) FAULT("value %" PRId64 ", expected %" PRId64, rm_int_value(o), rec->v.i);
        break;
    case K_FLOAT: {
        double f = rm_float_value(o);
        if (memcmp(&f, &rec->v.f, sizeof f) != 0) FAULT("value %g, expected %g", f, rec->v.f);
        break;
    }
    case K_STR: {
        char content[64];
        str_content(rec->v.cid, content, sizeof content);
        if (!rm_str_eq(o, content) || rm_str_len(o) != strlen(content))
            FAULT("content '%.60s', expected '%s'", rm_str_cstr(o), content);
        break;
    }
    case K_TUPLE:
    case K_LIST: {
        size_t n = rec->kind == K_TUPLE ? rm_tuple_size(o) : rm_list_size(o);
        if (n != rec->nrefs) {
            FAULT("size %zu, expected %u", n, rec->nrefs);
            break;
        }
        for (size_t i = 0; i < n; i++)
            EXPECT_REF_AT("item %zu", i, rec->kind == K_TUPLE ? rm_tuple_get(o, i) : rm_list_get(o, i), refs[i]);
        break;
    }
    case K_DICT:
    case K_SET: faults += check_table(m, id, what); break;
    case K_CLASS: {
        rm_type *c = (rm_type *)o;
        EXPECT_REF("cls_name", c->cls_name, refs[0]);
        EXPECT_REF("cls_base", c->cls_base, refs[1]);
        EXPECT_REF("cls_module", c->cls_module, refs[2]);
        size_t nfields = rec->nrefs - 4;
        if (rm_class_field_count(o) != nfields) {
            FAULT("%zu fields, expected %zu", rm_class_field_count(o), nfields);
            break;
        }
        if (!c->cls_defaults || !RM_IS(c->cls_defaults, rm_tuple_type) || rm_tuple_size(c->cls_defaults) != nfields) {
            FAULT("cls_defaults is not a tuple of %zu", nfields);
            break;
        }
        for (size_t i = 0; i < nfields; i++) EXPECT_REF_AT("default of f%zu", i, rm_tuple_get(c->cls_defaults, i), refs[4 + i]);
        break;
    }
    case K_INSTANCE: {
        size_t n = rm_instance_slot_count(o);
        if (n != rec->nrefs - 2) {
            FAULT("%zu slots, expected %u", n, rec->nrefs - 2);
            break;
        }
        EXPECT_REF("attribute dict", rm_instance_dict(o), refs[1]);
        for (size_t i = 0; i < n; i++) EXPECT_REF_AT("slot %zu", i, rm_instance_slot(o, i), refs[2 + i]);
        break;
    }
    case K_FUNCTION:
        EXPECT_REF("name", rm_function_name(o), refs[0]);
        EXPECT_REF("module", rm_function_module(o), refs[1]);
        EXPECT_REF("closure", rm_function_closure(o), refs[2]);
        if (rm_function_pointer(o) != fn_generic) FAULT("C function pointer changed");
        break;
    case K_METHOD:
        EXPECT_REF("function", rm_method_function(o), refs[0]);
        EXPECT_REF("self", rm_method_self(o), refs[1]);
        break;
    case K_MODULE:
        EXPECT_REF("name", rm_module_name(o), refs[0]);
        EXPECT_REF("dict", rm_module_dict(o), refs[1]);
        break;
    case K_WEAKREF: {
        rm_object *got = rm_weakref_get(o);
        ref_t t = refs[0];
        if (rec->flags & RF_CLEARED) {
            if (got) FAULT("was cleared, now refers to %p again", (void *)got);
        } else if (t == REF_GONE) {
            if (!got) rec->flags |= RF_CLEARED;
            else if (got != rec->v.target)
                FAULT("target died; refers to %p, neither cleared nor its last target %p", (void *)got,
                      (void *)rec->v.target);
        } else if (got != ref_ptr(m, t)) {
            FAULT("refers to %p, expected %s%s", (void *)got, describe(m, t), got ? "" : " (cleared while the target is reachable)");
        }
        break;
    }
    case K_CAPSULE:
        if (rm_capsule_pointer(o) != (void *)(uintptr_t)(rec->v.serial + 1))
            FAULT("pointer %p, expected %p", rm_capsule_pointer(o), (void *)(uintptr_t)(rec->v.serial + 1));
        if (capsule_finalized(rec->v.serial)) FAULT("finalized %u time(s) while reachable", capsule_finalized(rec->v.serial));
        break;
    }
    return faults;
}

/* ---- rm_traverse against the model ---- */

typedef struct slot_list {
    rm_object **addr;
    rm_object **val;
    size_t n, cap;
} slot_list;

static slot_list traversed;

static int collect_slot(rm_object **slot, void *arg) {
    slot_list *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->addr = realloc(s->addr, s->cap * sizeof *s->addr);
        s->val = realloc(s->val, s->cap * sizeof *s->val);
        if (!s->addr || !s->val) fatal("out of memory collecting slots");
    }
    s->addr[s->n] = (rm_object *)slot;
    s->val[s->n++] = *slot;
    return 0;
}

/*
** rm_traverse must visit the type slot and then every non-NULL reference
** the model knows of: in order for tuples, lists, dicts, sets and instances;
** as a set for classes, functions and modules (whose internal slots, like a
** class's dict, are not modeled); never a weakref's target.
*/
size_t crosscheck_traverse(model *m, ref_t id, const char *what) {
    size_t faults = 0;
    record *rec = &m->recs[id];
    ref_t *refs = refs_of(m, id);
    traversed.n = 0;
    if (rm_traverse(rec->ptr, collect_slot, &traversed) != 0) FAULT("rm_traverse returned non-zero");
    if (traversed.n == 0 || traversed.val[0] != (rm_object *)rec->ptr->ob_type || traversed.addr[0] != (rm_object *)&rec->ptr->ob_type) {
        FAULT("rm_traverse did not visit the type slot first");
        return faults;
    }
    ref_t expect[4096];
    size_t n = 0;
    bool ordered = true;
    switch (rec->kind) {
    case K_TUPLE:
    case K_LIST:
    case K_DICT:
    case K_SET:
        for (uint32_t i = 0; i < rec->nrefs && n < 4096; i++) expect[n++] = refs[i];
        break;
    case K_INSTANCE:
        for (uint32_t i = 1; i < rec->nrefs && n < 4096; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    case K_CLASS:
        ordered = false;
        for (uint32_t i = 0; i < 3; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    case K_FUNCTION:
    case K_METHOD:
    case K_MODULE:
        ordered = false;
        for (uint32_t i = 0; i < rec->nrefs; i++)
            if (refs[i] != REF_NULL) expect[n++] = refs[i];
        break;
    default: break; /* leaves, weakrefs, capsules: the type slot only */
    }
    if (rec->nrefs > 4096) return faults; /* too big to cross-check; check_record covers it */
    size_t got = traversed.n - 1;
    if (ordered || rec->kind == K_FUNCTION || rec->kind == K_METHOD || rec->kind == K_MODULE) {
        if (got != n) {
            FAULT("rm_traverse visited %zu slots besides the type, the model has %zu", got, n);
            return faults;
        }
    } else if (got < n) {
        FAULT("rm_traverse visited %zu slots besides the type, the model needs at least %zu", got, n);
        return faults;
    }
    for (size_t i = 0; i < n; i++) {
        rm_object *want = ref_ptr(m, expect[i]);
        bool found = false;
        if (ordered) found = traversed.val[1 + i] == want;
        else
            for (size_t j = 1; j < traversed.n && !found; j++) found = traversed.val[j] == want;
        if (!found) FAULT("rm_traverse: slot %zu %s %s", i, ordered ? "is not" : "missing:", describe(m, expect[i]));
    }
    return faults;
}
