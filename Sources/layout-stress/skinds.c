/*
** skinds.c: the field kinds of layout-stress's struct families as the
** model sees them: sizes, the widenings docs/modules.md allows, values
** converted, boxed, drawn at random, and the values initializers and hooks
** give (see sworld.c).
*/
#include "layout_stress.h"

#include <string.h>

/* ---- Kinds ---- */

size_t kind_size(uint8_t kind) {
    static const uint8_t sizes[RM_FIELD_KINDS] = {0, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1, 8};
    return kind < RM_FIELD_KINDS ? sizes[kind] : 0;
}

static bool is_signed(uint8_t k) { return k >= RM_I8 && k <= RM_I64; }
static bool is_unsigned(uint8_t k) { return k >= RM_U8 && k <= RM_U64; }
static bool is_int(uint8_t k) { return is_signed(k) || is_unsigned(k); }
static bool is_float(uint8_t k) { return k == RM_F32 || k == RM_F64; }

/* The table of docs/modules.md. */
bool kind_widens(uint8_t from, uint8_t to) {
    if (from == to) return true;
    if (is_signed(from)) return (is_signed(to) && kind_size(to) > kind_size(from)) || (to == RM_F64 && from != RM_I64);
    if (is_unsigned(from))
        return (is_int(to) && kind_size(to) > kind_size(from)) || (to == RM_F64 && from != RM_U64);
    if (from == RM_F32) return to == RM_F64;
    if (from == RM_BOOL) return is_int(to);
    return false;
}

elem kind_convert(uint8_t from, uint8_t to, elem v) {
    if (is_float(to) && !is_float(from)) v.d = (double)v.i;
    return v;
}

static void range_of(uint8_t kind, int64_t *lo, int64_t *hi) {
    switch (kind) {
    case RM_I8: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case RM_I16: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case RM_I32: *lo = INT32_MIN, *hi = INT32_MAX; break;
    case RM_U8: *lo = 0, *hi = UINT8_MAX; break;
    case RM_U16: *lo = 0, *hi = UINT16_MAX; break;
    case RM_U32: *lo = 0, *hi = UINT32_MAX; break;
    case RM_U64: *lo = 0, *hi = INT64_MAX; break; /* what boxes as an int */
    case RM_BOOL: *lo = 0, *hi = 1; break;
    default: *lo = INT64_MIN, *hi = INT64_MAX; break;
    }
}

/* x brought into kind's range by wrapping (ints), as a value of the kind. */
static int64_t wrap(uint8_t kind, int64_t x) {
    int64_t lo, hi;
    range_of(kind, &lo, &hi);
    if (kind == RM_I64) return x;
    if (kind == RM_U64) return x & INT64_MAX;
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(((uint64_t)x - (uint64_t)lo) % span);
}

rm_object *elem_box(uint8_t kind, elem v) {
    if (kind == RM_OBJECT) return v.o ? v.o : rm_none;
    if (is_float(kind)) return rm_float(v.d);
    if (kind == RM_BOOL) return rm_bool(v.i != 0);
    return rm_int(v.i);
}

int64_t elem_as_int(uint8_t kind, elem v) {
    if (kind == RM_OBJECT) return v.o && rm_is_int(v.o) ? rm_int_value(v.o) : 0;
    if (is_float(kind)) return (int64_t)v.d;
    return v.i;
}

/* What the initializers compute from an old value read as an int. */
elem sinit_value(uint8_t kind, int64_t x, int64_t delta) {
    elem v = {0};
    int64_t y = (int64_t)((uint64_t)x + (uint64_t)delta);
    if (kind == RM_OBJECT) v.o = rm_int(y); /* NULL if out of memory (or a fault) */
    else if (is_float(kind)) v.d = (double)(y % 1000000) + 0.5; /* exact in f32 */
    else v.i = wrap(kind, y);
    return v;
}

/* What the hooks write. */
elem shook_value(uint8_t kind, uint32_t serial, int round) {
    elem v = {0};
    int64_t x = (int64_t)serial * 31 + round;
    if (kind == RM_OBJECT) v.o = W->strs[x % NSTRS];
    else if (is_float(kind)) v.d = (double)(x % 100000) + 0.25;
    else v.i = wrap(kind, x);
    return v;
}

/* A random value of a kind (exact in it: f32s are quarters below 2^20).
   An object is any value of the world, a pinned struct instance (which a
   reload may move) included. */
elem random_elem(rng *r, uint8_t kind) {
    elem v = {0};
    int64_t lo, hi;
    if (kind == RM_OBJECT) {
        rm_object *o = rng_chance(r, 20) ? spinned_value(r) : random_value(r, false);
        v.o = o == rm_none ? NULL : o;
    } else if (kind == RM_F32) v.d = (double)((int64_t)rng_below(r, 1u << 21) - (1 << 20)) / 4;
    else if (kind == RM_F64) v.d = (double)((int64_t)rng_below(r, 1ull << 40) - (1ll << 39)) / 1024;
    else {
        range_of(kind, &lo, &hi);
        v.i = rng_chance(r, 20) ? (rng_chance(r, 50) ? lo : hi) : wrap(kind, (int64_t)rng_next(r));
    }
    return v;
}
