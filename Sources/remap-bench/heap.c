/*
** heap.c: building the benchmark's heap (its shape and what keeps it alive
** are described in main.c), and the spot check of what a remap did to it.
*/
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

/* Old and new definitions: static, hence roots (see main.c). */
rm_object *old_classes[NCLASSES], *new_classes[NCLASSES];
rm_object *old_functions[NFUNCTIONS], *new_functions[NFUNCTIONS];

rm_handle instances;
rm_handle class_dict;
rm_mapping *forward;
rm_mapping *backward;
size_t function_refs;

static rm_object *nop(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)self;
    (void)args;
    (void)nargs;
    return rm_none;
}

static rm_object *make_class(const char *prefix, int i) {
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, i);
    rm_object *c = rm_class_new(name, NULL, NULL);
    if (!c) die("rm_class_new");
    static const char *fields[NFIELDS] = {"a", "b", "c"};
    for (int f = 0; f < NFIELDS; f++)
        if (rm_class_add_field(c, fields[f], NULL) < 0) die("rm_class_add_field");
    return c;
}

static rm_object *make_function(const char *prefix, int i) {
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, i);
    rm_object *f = rm_function_new(name, nop, 0, NULL, NULL);
    if (!f) die("rm_function_new");
    return f;
}

/*
** Builds the heap in the order a program would: definitions, then the
** instances (all allocated first, so that a field can refer to any of
** them), then their fields, then the new definitions a reload brings and the
** two mappings. The instance pointers are kept in a malloc array while the
** fields are filled in; the list rooted by a handle is what keeps the
** instances alive.
*/
void build_heap(size_t n) {
    for (int i = 0; i < NCLASSES; i++) old_classes[i] = make_class("C", i);
    for (int i = 0; i < NFUNCTIONS; i++) old_functions[i] = make_function("f", i);

    rm_object *dict = rm_dict_new();
    if (!dict || !(class_dict = rm_handle_new(dict))) die("class dict");
    for (int i = 0; i < NCLASSES; i++) {
        rm_object *v = rm_int(i);
        if (!v || rm_dict_set(dict, old_classes[i], v) < 0) die("rm_dict_set");
    }

    rm_object *list = rm_list_new(n);
    if (!list || !(instances = rm_handle_new(list))) die("instance list");
    rm_object **all = malloc(n * sizeof *all);
    if (!all) die("out of memory for %zu instance pointers", n);
    for (size_t i = 0; i < n; i++) {
        rm_object *o = rm_instance_alloc(old_classes[rng_below(NCLASSES)]);
        if (!o || rm_list_append(list, o) < 0) die("instance %zu", i);
        all[i] = o;
    }
    function_refs = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < NFIELDS; s++) {
            rm_object *target;
            if (rng_below(100) < FUNCTION_REF_PERCENT) {
                target = old_functions[rng_below(NFUNCTIONS)];
                function_refs++;
            } else {
                target = all[rng_below(n)];
            }
            rm_instance_set_slot(all[i], s, target);
        }
    }
    /* The layout the enumeration candidate relies on. */
    if (rm_instance_slot_count(all[0]) != NFIELDS ||
        ((bench_instance *)all[0])->slots[NFIELDS - 1] != rm_instance_slot(all[0], NFIELDS - 1) ||
        all[0]->ob_aux != NFIELDS)
        die("the instance layout is not the one bench_instance describes");
    free(all);

    for (int i = 0; i < NCLASSES; i++) new_classes[i] = make_class("C", i);
    for (int i = 0; i < NFUNCTIONS; i++) new_functions[i] = make_function("f", i);
    if (!(forward = rm_mapping_new())) die("rm_mapping_new");
    for (int i = 0; i < NCLASSES; i++)
        if (rm_mapping_add(forward, old_classes[i], new_classes[i]) < 0) die("rm_mapping_add");
    for (int i = 0; i < NFUNCTIONS; i++)
        if (rm_mapping_add(forward, old_functions[i], new_functions[i]) < 0) die("rm_mapping_add");
    if (!(backward = rm_mapping_inverse(forward))) die("rm_mapping_inverse");
}

/* ---- Checking what a remap did ---- */

/* After a forward remap, every sampled instance has a new class and no
   field refers to an old function; after a backward one, the reverse. */
bool spot_check(bool expect_forward) {
    rm_object *list = rm_handle_get(instances);
    size_t n = rm_list_size(list);
    size_t step = n / 1000 + 1;
    for (size_t i = 0; i < n; i += step) {
        rm_object *o = rm_list_get(list, i);
        rm_object *cls = (rm_object *)o->ob_type;
        bool in_new = false, in_old = false;
        for (int c = 0; c < NCLASSES; c++) {
            in_new |= cls == new_classes[c];
            in_old |= cls == old_classes[c];
        }
        if (expect_forward ? !in_new : !in_old) return false;
        for (size_t s = 0; s < NFIELDS; s++) {
            rm_object *v = rm_instance_slot(o, s);
            for (int f = 0; f < NFUNCTIONS; f++)
                if (v == (expect_forward ? old_functions[f] : new_functions[f])) return false;
        }
    }
    return true;
}
