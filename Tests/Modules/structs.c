/*
** structs.c: module "structs" for the struct class tests (StructClassTests,
** StructReloadTests), and, built with -DSUB, module "structsub".
**
** VERSION is the generation (version() answers it); the layout comes from
** one variant macro:
**
**   (none)     Particle(x i64, v i64, mass f64 = 1.0, pos f32[3], owner object)
**              Kinds(a8 i8, a16 i16, a32 i32, a64 i64, b8 u8, b16 u16, b32 u32,
**                    b64 u64, f f32, d f64, flag bool, obj object)
**              Arr(vals i32[4] = 9 each), Base(id i64)
**   ADD        Particle gains extra i64 = 7 between mass and pos
**   GROW       Particle gains g1..g4 i64 = 0, 1, 2, 3 past its room: every
**              instance moves; with -DFAIL_HOOK_AT=n a hook writes x = -1 and
**              g1 = -2 directly and fails on its n-th call
**   REMOVE     Particle loses v; hook(added, removed, old): x += old.v
**   RENAME     Particle's v is renamed vel
**   WIDEN      Kinds: a8 i16, a16 i32, a32 i64, b8 u16, b16 i32, b32 u64,
**              f f64, flag i32
**   WIDEN2     Kinds: a8 i64, a16 f64, a32 f64, b8 u64, b16 i64, b32 i64,
**              flag u8
**   NARROW     Kinds: a64 i32 (refused)
**   NARROW_INIT  the same with an initializer: a64 = old.a64 / 1000
**   ARR_GROW   Arr.vals i32[6]; ARR_SHRINK i32[2]; ARR_WIDEN i64[4]
**   OBJ_TO_INT Kinds.obj i64 (refused)
**
** ADD with -DFAIL_HOOK_AT=n: Particle's hook writes x = -1 and extra = -2
** directly, then fails on its n-th call; with -DTOUCH_OWNER it also writes
** a64 = -9 into its owner when that is a Kinds (a class whose layout the
** reload does not change). -DFAIL_INIT_AT=n: the same from an
** initializer of extra.
**
** SUB (module structsub, never reloaded): Sub(Base) adds s i64 = 5;
** version() is Base's.
*/
#include <remap/module.h>
#include <stddef.h>
RM_MODULE_ABI;

#ifndef FAIL_HOOK_AT
#define FAIL_HOOK_AT 0
#endif
#ifndef FAIL_INIT_AT
#define FAIL_INIT_AT 0
#endif

typedef struct Base {
    RM_INSTANCE_HEADER;
    int64_t id;
} Base;

#ifdef SUB
typedef struct Sub {
    Base base;
    int64_t s;
} Sub;

static const rm_field_spec sub_fields[] = {RM_FIELD(Sub, s, RM_I64), RM_FIELDS_END};

static rm_object *sub_s(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args, (void)nargs;
    return rm_int(RM_STRUCT(Sub, self)->s + RM_STRUCT(Base, self)->id);
}

int rm_module_init(rm_builder *b) {
    rm_object *base = rm_import_from(b, "structs", "Base");
    rm_object *cls = base ? rm_def_struct(b, "Sub", base, sizeof(Sub), sub_fields) : NULL;
    if (!cls || rm_def_field_default(cls, "s", rm_int(5)) < 0) return -1;
    return rm_def_method(cls, "sum", sub_s, 0);
}
#else

typedef struct Particle {
    RM_INSTANCE_HEADER;
    int64_t x;
#ifndef REMOVE
#ifdef RENAME
    int64_t vel;
#else
    int64_t v;
#endif
#endif
    double mass;
#ifdef ADD
    int64_t extra;
#endif
#ifdef GROW
    int64_t g1, g2, g3, g4;
#endif
    float pos[3];
    rm_object *owner;
} Particle;

static const rm_field_spec particle_fields[] = {
    RM_FIELD(Particle, x, RM_I64),
#ifndef REMOVE
#ifdef RENAME
    RM_FIELD(Particle, vel, RM_I64),
#else
    RM_FIELD(Particle, v, RM_I64),
#endif
#endif
    RM_FIELD(Particle, mass, RM_F64),
#ifdef ADD
    RM_FIELD(Particle, extra, RM_I64),
#endif
#ifdef GROW
    RM_FIELD(Particle, g1, RM_I64), RM_FIELD(Particle, g2, RM_I64),
    RM_FIELD(Particle, g3, RM_I64), RM_FIELD(Particle, g4, RM_I64),
#endif
    RM_FIELD_ARRAY(Particle, pos, RM_F32, 3),
    RM_FIELD(Particle, owner, RM_OBJECT),
    RM_FIELDS_END,
};

#if defined(WIDEN)
#define A8 int16_t
#define K_A8 RM_I16
#define A16 int32_t
#define K_A16 RM_I32
#define A32 int64_t
#define K_A32 RM_I64
#define B8 uint16_t
#define K_B8 RM_U16
#define B16 int32_t
#define K_B16 RM_I32
#define B32 uint64_t
#define K_B32 RM_U64
#define F double
#define K_F RM_F64
#define FLAG int32_t
#define K_FLAG RM_I32
#elif defined(WIDEN2)
#define A8 int64_t
#define K_A8 RM_I64
#define A16 double
#define K_A16 RM_F64
#define A32 double
#define K_A32 RM_F64
#define B8 uint64_t
#define K_B8 RM_U64
#define B16 int64_t
#define K_B16 RM_I64
#define B32 int64_t
#define K_B32 RM_I64
#define FLAG uint8_t
#define K_FLAG RM_U8
#endif
#ifndef A8
#define A8 int8_t
#define K_A8 RM_I8
#define A16 int16_t
#define K_A16 RM_I16
#define A32 int32_t
#define K_A32 RM_I32
#define B8 uint8_t
#define K_B8 RM_U8
#define B16 uint16_t
#define K_B16 RM_U16
#define B32 uint32_t
#define K_B32 RM_U32
#endif
#ifndef F
#define F float
#define K_F RM_F32
#endif
#ifndef FLAG
#define FLAG bool
#define K_FLAG RM_BOOL
#endif
#if defined(NARROW) || defined(NARROW_INIT)
#define A64 int32_t
#define K_A64 RM_I32
#else
#define A64 int64_t
#define K_A64 RM_I64
#endif
#ifdef OBJ_TO_INT
#define OBJ int64_t
#define K_OBJ RM_I64
#else
#define OBJ rm_object *
#define K_OBJ RM_OBJECT
#endif

typedef struct Kinds {
    RM_INSTANCE_HEADER;
    A8 a8;
    A16 a16;
    A32 a32;
    A64 a64;
    B8 b8;
    B16 b16;
    B32 b32;
    uint64_t b64;
    F f;
    double d;
    FLAG flag;
    OBJ obj;
} Kinds;

static const rm_field_spec kinds_fields[] = {
    RM_FIELD(Kinds, a8, K_A8),   RM_FIELD(Kinds, a16, K_A16), RM_FIELD(Kinds, a32, K_A32),
    RM_FIELD(Kinds, a64, K_A64), RM_FIELD(Kinds, b8, K_B8),   RM_FIELD(Kinds, b16, K_B16),
    RM_FIELD(Kinds, b32, K_B32), RM_FIELD(Kinds, b64, RM_U64), RM_FIELD(Kinds, f, K_F),
    RM_FIELD(Kinds, d, RM_F64),  RM_FIELD(Kinds, flag, K_FLAG), RM_FIELD(Kinds, obj, K_OBJ),
    RM_FIELDS_END,
};

#if defined(ARR_GROW)
#define NVALS 6
#define VAL int32_t
#define K_VAL RM_I32
#elif defined(ARR_SHRINK)
#define NVALS 2
#define VAL int32_t
#define K_VAL RM_I32
#elif defined(ARR_WIDEN)
#define NVALS 4
#define VAL int64_t
#define K_VAL RM_I64
#else
#define NVALS 4
#define VAL int32_t
#define K_VAL RM_I32
#endif

typedef struct Arr {
    RM_INSTANCE_HEADER;
    VAL vals[NVALS];
} Arr;

static const rm_field_spec arr_fields[] = {RM_FIELD_ARRAY(Arr, vals, K_VAL, NVALS), RM_FIELDS_END};
static const rm_field_spec base_fields[] = {RM_FIELD(Base, id, RM_I64), RM_FIELDS_END};

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)self, (void)args, (void)nargs;
    return rm_int(VERSION);
}

/* Particle(x, v): __init__ writes the struct directly. */
static rm_object *particle_init(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)nargs;
    Particle *p = RM_STRUCT(Particle, self);
    int64_t x, v;
    if (rm_int_check(args[0], &x) < 0 || rm_int_check(args[1], &v) < 0) return NULL;
    p->x = x;
#if !defined(REMOVE) && !defined(RENAME)
    p->v = v;
#elif defined(RENAME)
    p->vel = v;
#endif
    for (int i = 0; i < 3; i++) p->pos[i] = (float)(x + i);
    return rm_none;
}

static rm_object *particle_step(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args, (void)nargs;
    Particle *p = RM_STRUCT(Particle, self);
    (void)p;
#if !defined(REMOVE) && !defined(RENAME)
    p->x += p->v;
#elif defined(RENAME)
    p->x += p->vel;
#endif
    return rm_none;
}

/* sum_x(list): the x of every Particle in a list, read as C. */
static rm_object *sum_x(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)nargs;
    rm_object *cls = rm_getattr(rm_function_module(self), "Particle");
    int64_t sum = 0;
    for (size_t i = 0; i < rm_list_size(args[0]); i++) {
        Particle *p = rm_struct_cast(cls, rm_list_get(args[0], i));
        if (!p) return NULL;
        sum += p->x;
    }
    return rm_int(sum);
}

#ifdef ADD
static int hook_calls, init_calls;
#endif

#ifdef GROW
static int hook_calls;
static rm_object *particle_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args, (void)nargs;
    Particle *p = RM_STRUCT(Particle, self);
    p->x = -1;
    p->g1 = -2;
    if (++hook_calls == FAIL_HOOK_AT) {
        rm_error_set(RM_ERR_VALUE, "hook failed on purpose at %d", hook_calls);
        return NULL;
    }
    p->x = rm_int_value(rm_getattr(args[2], "x"));
    p->g1 = 0;
    return rm_none;
}
#endif

#ifdef ADD
static rm_object *kinds_cls;

static rm_object *particle_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args, (void)nargs;
    Particle *p = RM_STRUCT(Particle, self);
    p->x = -1;
    p->extra = -2;
#ifdef TOUCH_OWNER
    if (p->owner && p->owner->ob_type == (rm_type *)kinds_cls) RM_STRUCT(Kinds, p->owner)->a64 = -9;
#endif
    if (++hook_calls == FAIL_HOOK_AT) {
        rm_error_set(RM_ERR_VALUE, "hook failed on purpose at %d", hook_calls);
        return NULL;
    }
    p->x = rm_int_value(rm_getattr(args[2], "x"));
    p->extra = 7;
    return rm_none;
}

static rm_object *extra_init(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)nargs;
    RM_STRUCT(Particle, self)->x = -3;
    if (++init_calls == FAIL_INIT_AT) {
        rm_error_set(RM_ERR_VALUE, "initializer failed on purpose at %d", init_calls);
        return NULL;
    }
    rm_object *x = rm_getattr(args[0], "x");
    RM_STRUCT(Particle, self)->x = rm_int_value(x);
    return rm_int(rm_int_value(x) + 100);
}
#endif

#ifdef REMOVE
static rm_object *particle_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)nargs;
    rm_object *v = rm_getattr(args[2], "v");
    if (!v) return NULL;
    RM_STRUCT(Particle, self)->x += rm_int_value(v);
    return rm_none;
}
#endif

#ifdef NARROW_INIT
static rm_object *a64_init(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)self, (void)nargs;
    rm_object *old = rm_getattr(args[0], "a64");
    return old ? rm_int(rm_int_value(old) / 1000) : NULL;
}
#endif

static rm_object *helper(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)self, (void)args, (void)nargs;
    return rm_int(VERSION * 100);
}

int rm_module_init(rm_builder *b) {
    rm_object *p = rm_def_struct(b, "Particle", NULL, sizeof(Particle), particle_fields);
    if (!p || rm_def_field_default(p, "mass", rm_float(1.0)) < 0 ||
        rm_def_method(p, "__init__", particle_init, 2) < 0 || rm_def_method(p, "step", particle_step, 0) < 0 ||
        rm_def_method(p, "version", version, 0) < 0)
        return -1;
#ifdef ADD
    if (rm_def_field_default(p, "extra", rm_int(7)) < 0) return -1;
    if (FAIL_HOOK_AT && rm_def_method(p, "__reload__", particle_hook, 3) < 0) return -1;
    if (FAIL_INIT_AT && rm_def_field_init(p, "extra", extra_init) < 0) return -1;
#endif
#ifdef REMOVE
    if (rm_def_method(p, "__reload__", particle_hook, 3) < 0) return -1;
#endif
#ifdef GROW
    if (rm_def_field_default(p, "g2", rm_int(1)) < 0 || rm_def_field_default(p, "g3", rm_int(2)) < 0 ||
        rm_def_field_default(p, "g4", rm_int(3)) < 0)
        return -1;
    if (FAIL_HOOK_AT && rm_def_method(p, "__reload__", particle_hook, 3) < 0) return -1;
#endif
#ifdef RENAME
    if (rm_def_field_renamed(p, "vel", "v") < 0) return -1;
#endif
    rm_object *k = rm_def_struct(b, "Kinds", NULL, sizeof(Kinds), kinds_fields);
    if (!k || rm_def_method(k, "version", version, 0) < 0) return -1;
#ifdef ADD
    kinds_cls = k;
#endif
#ifdef NARROW_INIT
    if (rm_def_field_init(k, "a64", a64_init) < 0) return -1;
#endif
    rm_object *a = rm_def_struct(b, "Arr", NULL, sizeof(Arr), arr_fields);
    if (!a || rm_def_field_default(a, "vals", rm_int(9)) < 0) return -1;
    rm_object *base = rm_def_struct(b, "Base", NULL, sizeof(Base), base_fields);
    if (!base || rm_def_method(base, "version", version, 0) < 0) return -1;
    if (!rm_def_function(b, "sum_x", sum_x, 1) || !rm_def_function(b, "helper", helper, 0)) return -1;
    return 0;
}
#endif
