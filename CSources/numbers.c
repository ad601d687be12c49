/*
** numbers.c: None, bool, int and float.
*/
#include "internal.h"

#include <math.h>

rm_type rm_none_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "NoneType",
    .tp_basicsize = sizeof(rm_object),
    .tp_flags = RM_TYPE_ATOMIC,
    .tp_layout = RM_LAYOUT_LEAF,
};

rm_type rm_bool_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "bool",
    .tp_basicsize = sizeof(rm_object),
    .tp_flags = RM_TYPE_ATOMIC,
    .tp_layout = RM_LAYOUT_LEAF,
};

rm_object rm_none_object = {.ob_type = &rm_none_type, .ob_hash = 0x6e6f6e65u, .ob_flags = RM_FLAG_IMMORTAL};
rm_object rm_true_object = {.ob_type = &rm_bool_type, .ob_hash = 1, .ob_flags = RM_FLAG_IMMORTAL};
rm_object rm_false_object = {.ob_type = &rm_bool_type, .ob_hash = 0, .ob_flags = RM_FLAG_IMMORTAL};

rm_object *rm_bool(bool value) { return value ? rm_true : rm_false; }

/* ---- int ---- */

static uint32_t int_hash(rm_object *self, int *error) {
    return rm_hash_mix((uint64_t)((rm_int_object *)self)->value);
}

static int int_equal(rm_object *a, rm_object *b) {
    return ((rm_int_object *)a)->value == ((rm_int_object *)b)->value;
}

rm_type rm_int_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "int",
    .tp_basicsize = sizeof(rm_int_object),
    .tp_flags = RM_TYPE_ATOMIC,
    .tp_layout = RM_LAYOUT_LEAF,
    .tp_hash = int_hash,
    .tp_equal = int_equal,
};

/* Small ints are immortal and shared, as in CPython (-5..256): counters,
   indices and coordinates are, and allocating one per arithmetic result
   cost a quarter of a field update's time. The range covers a byte, a
   screen coordinate, a percentage. */
rm_int_object rm_small_ints[RM_SMALL_INT_MAX - RM_SMALL_INT_MIN + 1];

void rm_small_ints_init(void) {
    for (int64_t v = RM_SMALL_INT_MIN; v <= RM_SMALL_INT_MAX; v++) {
        rm_int_object *o = &rm_small_ints[v - RM_SMALL_INT_MIN];
        o->ob_type = &rm_int_type;
        o->ob_flags = RM_FLAG_IMMORTAL;
        o->value = v;
    }
}

/* The external copies of the header's inline functions. */
extern inline rm_object *rm_int(int64_t value);
extern inline int64_t rm_int_value(rm_object *o);
extern inline int rm_int_check(rm_object *o, int64_t *out);

rm_object *rm_int_large(int64_t value) {
    if (value >= RM_SMALL_INT_MIN && value <= RM_SMALL_INT_MAX) return rm_int(value);
    rm_int_object *o = (rm_int_object *)rm_alloc(&rm_int_type, sizeof *o);
    if (o) o->value = value;
    return (rm_object *)o;
}

void rm_int_check_failed(rm_object *o) {
    if (rm_missing(o, "rm_int_check")) return; /* keeps the error of the call that gave NULL */
    rm_error_set(RM_ERR_TYPE, "expected an int, got %s", o == rm_none ? "None" : rm_type_name(o->ob_type));
}

/* ---- float ---- */

static uint32_t float_hash(rm_object *self, int *error) {
    double v = ((rm_float_object *)self)->value;
    if (v == 0.0) v = 0.0; /* -0.0 == 0.0, so they hash alike */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return rm_hash_mix(bits);
}

static int float_equal(rm_object *a, rm_object *b) {
    return ((rm_float_object *)a)->value == ((rm_float_object *)b)->value;
}

rm_type rm_float_type = {
    RM_STATIC_HEADER(&rm_type_type),
    .tp_name = "float",
    .tp_basicsize = sizeof(rm_float_object),
    .tp_flags = RM_TYPE_ATOMIC,
    .tp_layout = RM_LAYOUT_LEAF,
    .tp_hash = float_hash,
    .tp_equal = float_equal,
};

rm_object *rm_float(double value) {
    rm_float_object *o = (rm_float_object *)rm_alloc(&rm_float_type, sizeof *o);
    if (o) o->value = value;
    return (rm_object *)o;
}

double rm_float_value(rm_object *o) {
    RM_DEBUG_EXPECT(RM_IS(o, rm_float_type), o, "rm_float_value", "a float");
    return ((rm_float_object *)o)->value;
}
