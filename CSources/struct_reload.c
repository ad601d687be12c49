/*
** struct_reload.c: what a reload does to the instances of a struct class
** (struct.h): the plan's conversions, checked before anything changes,
** and their application in the remap walk, with its undo.
**
** Fields match by name (or a rename rule), as for any class (layout_plan.c
** matches them). A kept field keeps its value when its kind is the same,
** is converted by a widening (each value of the old kind is a value of the
** new one: see widens), and keeps the common prefix when an array's length
** changes. Any other change would lose values: the reload is refused,
** naming the class, the field and both kinds, unless the field has an
** initializer, which then gives it its value (the old one reaches it
** through the old-instance view).
**
** The walk converts an instance in place when the new layout fits its
** allocation (every instance's allocation holds at least the class's
** min_capacity: see rm_struct_plan_build). One that does not fit moves:
** before the walk, rm_struct_plan_moves (struct_moves.c) allocates its new
** instance (with its identity hash) and maps old -> new, so the walk
** rewrites every reference to it while the walker that meets the old one
** fills the new one (rm_struct_move); the old one keeps its bytes and is
** the rollback's copy. The move pairs are indexed apart from the mapping's
** probe table (mapping.h, rm_moves: a bitmap over the old instances' span
** and their new addresses ranked), and the walk skips the new instances in
** the registry: at 10^6 moves the probe tables alone took 32 MB each and
** most of the reload (docs/benchmarks.md).
**
** Module code writes struct fields directly, unjournaled, so when any hook
** or initializer runs after the walk, the walk copies the bytes of every
** instance of every struct class of the reload (its layout changed or not:
** a hook may write another class's instances) into its walker's save list
** before converting it: the rollback puts them back byte for byte,
** whatever an initializer or hook wrote since, and the hooks' old view
** reads removed fields there. Without module code after the walk, nothing
** but the walk writes the instances before the commit or the rollback, so
** an invertible conversion (no field removed or shortened) is undone by
** converting back, without a copy (rm_struct_plans_decide). Limit: direct
** writes into struct instances of a module the reload does not touch are
** not undone (module code should write those through rm_setattr, which is
** journaled).
*/
#include "layout.h"
#include "struct.h"

#include <stdio.h>
#include <stdlib.h>

/* One kept field: `count` elements from `from` (kind from_kind) to `to`. */
typedef struct struct_op {
    uint32_t from, to, count;
    uint8_t from_kind, to_kind;
    uint8_t from_size, to_size; /* rm_field_kind_size of each: a call per
                                   field was a tenth of a move */
} struct_op;

/* Bytes [at, at + len) of an instance. */
typedef struct struct_span {
    uint32_t at, len;
} struct_span;

typedef struct rm_struct_plan {
    const rm_struct_layout *old, *neu;
    bool grows;        /* some instances may not fit: moves were planned */
    bool all_move;     /* none fits: no instance's size is asked */
    bool invertible;   /* the old bytes follow from the new ones (no field
                          removed or shortened, a small struct) */
    bool append_only;  /* kept fields stay where they are, added ones are
                          past the old struct: only those bytes change */
    size_t save_words; /* copied per instance: 0 if the undo inverts */
    size_t copy_words; /* what a copy would take */
    /* In place, a field at the same offset and of the same kind is already
       right: only the other ops (the first nchanged) run, and only the new
       layout's bytes no such field covers (fills) get the new defaults. A
       widening of one field rewrites that field alone. */
    size_t nchanged, nfills;
    const struct_span *fills;
    /* The new layout's reference slots that no op writes: a conversion
       fills them from the new class's defaults (added fields, array
       elements past the old length). */
    size_t ndefault_refs;
    const uint32_t *default_refs;
    size_t nops;
    struct_op ops[];
} rm_struct_plan;

static bool is_signed(uint8_t k) { return k >= RM_I8 && k <= RM_I64; }
static bool is_unsigned(uint8_t k) { return k >= RM_U8 && k <= RM_U64; }
static bool is_int(uint8_t k) { return is_signed(k) || is_unsigned(k); }

/* Whether every value of kind `from` is a value of kind `to`. */
static bool widens(uint8_t from, uint8_t to) {
    size_t fs = rm_field_kind_size(from), ts = rm_field_kind_size(to);
    if (from == to) return true;
    if (is_signed(from) && is_signed(to)) return ts > fs;
    if (is_unsigned(from) && is_int(to)) return ts > fs;
    if (from == RM_F32) return to == RM_F64;
    if (is_int(from) && to == RM_F64) return fs <= 4; /* a double holds 53 bits */
    if (from == RM_BOOL) return is_int(to);
    return false;
}

/* One element read as the widest of its family, then written as `to`:
   a widening, or (the undo without a copy) the narrowing back from one,
   which is exact on the values a widening made. */
static void convert(uint8_t from, const unsigned char *src, uint8_t to, unsigned char *dst) {
    int64_t i = 0;
    double d = 0;
    bool is_float = false;
    switch (from) {
    case RM_I8: { int8_t v; memcpy(&v, src, 1); i = v; break; }
    case RM_I16: { int16_t v; memcpy(&v, src, 2); i = v; break; }
    case RM_I32: { int32_t v; memcpy(&v, src, 4); i = v; break; }
    case RM_U8: case RM_BOOL: { uint8_t v; memcpy(&v, src, 1); i = v; break; }
    case RM_U16: { uint16_t v; memcpy(&v, src, 2); i = v; break; }
    case RM_U32: { uint32_t v; memcpy(&v, src, 4); i = v; break; }
    case RM_I64: case RM_U64: memcpy(&i, src, 8); break;
    case RM_F32: { float v; memcpy(&v, src, 4); d = v; is_float = true; break; }
    default: memcpy(&d, src, 8); is_float = true; break;
    }
    if (to == RM_F64 || to == RM_F32) {
        if (!is_float) d = from == RM_U64 ? (double)(uint64_t)i : (double)i;
        if (to == RM_F64) memcpy(dst, &d, 8);
        else { float f = (float)d; memcpy(dst, &f, 4); }
        return;
    }
    if (is_float) i = (int64_t)d;
    switch (rm_field_kind_size(to)) {
    case 1: { uint8_t v = (uint8_t)i; memcpy(dst, &v, 1); break; }
    case 2: { uint16_t v = (uint16_t)i; memcpy(dst, &v, 2); break; }
    case 4: { uint32_t v = (uint32_t)i; memcpy(dst, &v, 4); break; }
    default: memcpy(dst, &i, 8); break;
    }
}

/* "i32", "f32[3]". */
static const char *kind_text(const rm_struct_field *f, char *buf, size_t n) {
    if (f->array) snprintf(buf, n, "%s[%u]", rm_field_kind_name(f->kind), f->count);
    else snprintf(buf, n, "%s", rm_field_kind_name(f->kind));
    return buf;
}

/* The largest struct whose undo may do without a copy (a stack buffer). */
#define UNDO_BUFFER 1024

static size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

static bool in_place(const struct_op *op) { return op->from == op->to && op->from_kind == op->to_kind; }

/* The byte past what an op writes in the new layout. */
static uint32_t op_end(const struct_op *op) { return op->to + op->count * op->to_size; }

/* Orders the ops with the changed ones first, and finds the fills: the
   bytes of the new layout past the header that no in-place op keeps. */
static void plan_in_place(rm_struct_plan *sp) {
    struct_op kept[sp->nops ? sp->nops : 1];
    size_t nkept = 0;
    sp->nchanged = 0;
    for (size_t k = 0; k < sp->nops; k++) {
        if (in_place(&sp->ops[k])) kept[nkept++] = sp->ops[k];
        else sp->ops[sp->nchanged++] = sp->ops[k];
    }
    memcpy(sp->ops + sp->nchanged, kept, nkept * sizeof *kept);
    /* By offset (a field table may list its fields in any order). */
    for (size_t k = 1; k < nkept; k++)
        for (size_t j = k; j > 0 && kept[j - 1].to > kept[j].to; j--) {
            struct_op t = kept[j];
            kept[j] = kept[j - 1];
            kept[j - 1] = t;
        }
    struct_span *fills = (struct_span *)(sp->ops + (sp->nops ? sp->nops : 1));
    size_t n = 0;
    uint32_t at = sizeof(rm_object);
    for (size_t k = 0; k < nkept; k++) {
        const struct_op *op = &kept[k];
        if (op->to > at) fills[n++] = (struct_span){at, op->to - at};
        if (op_end(op) > at) at = op_end(op);
    }
    if (sp->neu->size > at) fills[n++] = (struct_span){at, (uint32_t)sp->neu->size - at};
    sp->fills = fills;
    sp->nfills = n;
}

/* Whether an op writes the reference slot at byte `at` of the new layout
   (a reference field only ever matches a reference field). */
static bool op_writes(const rm_struct_plan *sp, uint32_t at) {
    for (size_t k = 0; k < sp->nops; k++) {
        const struct_op *op = &sp->ops[k];
        if (op->to_kind == RM_OBJECT && at >= op->to && at < op_end(op)) return true;
    }
    return false;
}

/* Lists the reference slots the new defaults fill, in `out` (room for
   every reference slot of the new layout). */
static void find_default_refs(rm_struct_plan *sp, uint32_t *out) {
    size_t n = 0;
    for (size_t j = 0; j < sp->neu->nrefs; j++)
        if (!op_writes(sp, sp->neu->refs[j])) out[n++] = sp->neu->refs[j];
    sp->default_refs = out;
    sp->ndefault_refs = n;
}

/* The conversions of plan p (fields matched and checked): one op per kept
   field. */
static int make_struct_plan(rm_plan *p, const rm_struct_layout *ol, const rm_struct_layout *nl, bool grows) {
    size_t nops = 0;
    for (size_t j = 0; j < p->nnew; j++) nops += p->src[j] >= 0;
    size_t ops_bytes = (nops ? nops : 1) * sizeof(struct_op), spans_bytes = (nops + 1) * sizeof(struct_span);
    rm_struct_plan *sp = rm_gc_alloc_atomic(sizeof *sp + ops_bytes + spans_bytes + nl->nrefs * sizeof(uint32_t));
    if (!sp) return -1;
    sp->old = ol;
    sp->neu = nl;
    sp->grows = grows;
    sp->all_move = nl->size > ol->max_capacity;
    sp->copy_words = round8(ol->size > nl->size ? ol->size : nl->size) / 8;
    sp->save_words = sp->copy_words;
    sp->invertible = ol->size <= UNDO_BUFFER && nl->size <= UNDO_BUFFER;
    for (size_t i = 0; i < p->nold; i++) sp->invertible &= p->inverse[i] >= 0;
    sp->nops = 0;
    for (size_t j = 0; j < p->nnew; j++) {
        int32_t i = p->src[j];
        if (i < 0) continue;
        const rm_struct_field *of = &ol->fields[i], *nf = &nl->fields[j];
        sp->ops[sp->nops++] = (struct_op){of->offset, nf->offset, of->count < nf->count ? of->count : nf->count,
                                          of->kind, nf->kind, (uint8_t)rm_field_kind_size(of->kind),
                                          (uint8_t)rm_field_kind_size(nf->kind)};
        sp->invertible &= nf->count >= of->count;
    }
    plan_in_place(sp);
    find_default_refs(sp, (uint32_t *)((char *)sp->ops + ops_bytes + spans_bytes));
    /* (Not with a field removed: its bytes would stay behind in what is
       padding or slack now, which the undo without a copy sets to zero.) */
    sp->append_only = nl->size >= ol->size;
    for (size_t i = 0; i < p->nold; i++) sp->append_only &= p->inverse[i] >= 0;
    for (size_t j = 0; j < p->nnew; j++) {
        int32_t i = p->src[j];
        const rm_struct_field *nf = &nl->fields[j];
        if (i < 0) sp->append_only &= nf->offset >= ol->size;
        else sp->append_only &= ol->fields[i].offset == nf->offset && ol->fields[i].kind == nf->kind &&
                                ol->fields[i].count == nf->count;
    }
    p->sp = sp;
    return 0;
}

int rm_struct_plan_build(rm_plan *p) {
    rm_type *o = (rm_type *)p->old_cls, *n = (rm_type *)p->new_cls;
    if (!o->cls_struct != !n->cls_struct) {
        rm_error_set(RM_ERR_RELOAD, "class %s: changed from %s to %s; instances cannot follow (reload refused)",
                     rm_type_name(n), o->cls_struct ? "a struct class" : "a class",
                     n->cls_struct ? "a struct class" : "a class");
        return -1;
    }
    if (!o->cls_struct) return 0;
    const rm_struct_layout *ol = rm_struct_of(o);
    rm_struct_layout *nl = rm_struct_of(n);
    /* 1. Every kept field's change, before anything is decided. */
    for (size_t j = 0; j < p->nnew; j++) {
        int32_t i = p->src[j];
        if (i < 0) continue;
        const rm_struct_field *of = &ol->fields[i], *nf = &nl->fields[j];
        if (of->array == nf->array && widens(of->kind, nf->kind)) continue;
        rm_object *name = rm_tuple_get(n->cls_fields, j);
        rm_object *rule = rm_class_reload_rule((rm_object *)n, name);
        if (rule && RM_IS(rule, rm_function_type)) {
            /* Initialized instead: the old value reaches it through the view. */
            p->src[j] = -1;
            p->inverse[i] = -1;
            p->inits[j] = rule;
            if (p->init_end < j + 1) p->init_end = j + 1;
            continue;
        }
        char a[32], b[32];
        rm_error_set(RM_ERR_RELOAD,
                     "struct %s: field %s changes from %s to %s, which would lose values; give it an initializer "
                     "(rm_def_field_init) or a new name (rm_def_field_renamed) (reload refused)",
                     rm_type_name(n), rm_str_cstr(name), kind_text(of, a, sizeof a), kind_text(nf, b, sizeof b));
        return -1;
    }
    /* 2. Room: see the top of this file and RM_STRUCT_ROOM. An instance
       that fits stays; one that does not moves (rm_struct_plan_moves), to
       an allocation of the new class's size. */
    bool grows = nl->size > ol->min_capacity;
    size_t floor = grows ? (nl->size + 15) & ~(size_t)15 : ol->min_capacity;
    /* The new class's bounds take in the instances it gets. Also for a
       class made before the transaction: left at its own allocation size,
       a later reload that grew the struct within it found no instance to
       move and wrote past the smaller allocations of the instances
       migrated in place here. Loosened bounds stay true after a rollback. */
    if (nl->min_capacity > floor) nl->min_capacity = floor;
    if (nl->max_capacity < ol->max_capacity) nl->max_capacity = ol->max_capacity;
    /* 3. The conversions. */
    bool same = ol->size == nl->size && p->nold == p->nnew;
    for (size_t j = 0; j < p->nnew; j++) {
        int32_t i = p->src[j];
        same &= i == (int32_t)j;
        if (i < 0) continue;
        const rm_struct_field *of = &ol->fields[i], *nf = &nl->fields[j];
        same &= of->offset == nf->offset && of->kind == nf->kind && of->count == nf->count;
    }
    p->layout = !same;
    /* Unchanged and no module code of its own runs on the instances: the
       walk only retypes them (unless another class's does:
       rm_struct_plan_keep). A hook or an initializer may write them
       directly: then they are listed and copied like a changed layout's. */
    if (same && !p->hook && !p->init_end) return 0;
    return make_struct_plan(p, ol, nl, grows);
}

/* A plan for an unchanged struct class when another class's hook or
   initializer runs in the reload: it may write these instances too. */
int rm_struct_plan_keep(rm_plan *p) {
    rm_type *o = (rm_type *)p->old_cls;
    if (!o->cls_struct || p->sp) return 0;
    return make_struct_plan(p, rm_struct_of(o), rm_struct_of((rm_type *)p->new_cls), false);
}

size_t rm_struct_save_words(const rm_plan *p) { return p->sp ? p->sp->save_words : 0; }

/*
** Whether the walk copies each instance: always when any plan of the
** transaction runs module code on its instances after the walk (a hook or
** an initializer may write any struct through a pointer, unjournaled),
** else only where the undo cannot derive the old bytes from the new ones.
** Without module code after the walk, nothing writes the instances before
** the commit or the rollback but the walk itself: at 10^6 instances the
** copies were a third of the reload.
*/
void rm_struct_plans_decide(rm_plans *plans) {
    bool post = false;
    for (size_t i = 0; i < plans->count; i++) post |= plans->items[i].post;
    for (size_t i = 0; i < plans->count; i++) {
        rm_struct_plan *sp = (rm_struct_plan *)plans->items[i].sp;
        if (sp) sp->save_words = sp->invertible && !post ? 0 : sp->copy_words;
    }
}

/* Each of `ops`' fields from the old instance's bytes at `saved` into `o`,
   copied or converted. */
static void apply_ops(unsigned char *o, const unsigned char *saved, const struct_op *ops, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const struct_op *op = &ops[k];
        size_t fs = op->from_size, ts = op->to_size;
        if (op->from_kind == op->to_kind) {
            memcpy(o + op->to, saved + op->from, fs * op->count);
            continue;
        }
        for (size_t e = 0; e < op->count; e++) convert(op->from_kind, saved + op->from + e * fs, op->to_kind, o + op->to + e * ts);
    }
}

/* Writes the new layout's bytes into `o` (past its header) from the old
   instance's bytes at `saved`: the new defaults, then each kept field.
   `saved` must not overlap `o`. */
static void write_new_layout(unsigned char *o, const unsigned char *saved, const rm_struct_plan *sp) {
    size_t hdr = sizeof(rm_object);
    memcpy(o + hdr, sp->neu->init + hdr, sp->neu->size - hdr);
    apply_ops(o, saved, sp->ops, sp->nops);
}

/*
** Save, then write: the new class's initial bytes (defaults of added
** fields and of array elements past the old length) where no field stays
** as it is, then each changed field from the saved copy (so fields that
** overlap their old places are read intact), then zeros where the old
** struct was longer.
*/
void rm_struct_migrate(rm_object *inst, const rm_plan *p, uintptr_t *save) {
    const rm_struct_plan *sp = p->sp;
    unsigned char *o = (unsigned char *)inst;
    uintptr_t buffer[UNDO_BUFFER / 8];
    if (sp->save_words) memcpy(save, o, sp->copy_words * 8);
    /* The common edit, a field added at the end: nothing else moves. */
    if (sp->append_only) {
        memcpy(o + sp->old->size, sp->neu->init + sp->old->size, sp->neu->size - sp->old->size);
        return;
    }
    if (!sp->save_words) {
        save = buffer; /* only the source of the writes below */
        memcpy(save, o, sp->copy_words * 8);
    }
    const unsigned char *saved = (const unsigned char *)save;
    for (size_t k = 0; k < sp->nfills; k++) memcpy(o + sp->fills[k].at, sp->neu->init + sp->fills[k].at, sp->fills[k].len);
    apply_ops(o, saved, sp->ops, sp->nchanged);
    if (sp->old->size > sp->neu->size) memset(o + sp->neu->size, 0, sp->old->size - sp->neu->size);
}

/* The same writes as rm_struct_migrate, from an old instance into a new,
   zero-filled one (the new class's header is already in place). */
void rm_struct_move(rm_object *from, rm_object *to, const rm_plan *p) {
    const rm_struct_plan *sp = p->sp;
    unsigned char *o = (unsigned char *)to;
    const unsigned char *saved = (const unsigned char *)from;
    write_new_layout(o, saved, sp);
    from->ob_type = (rm_type *)p->old_cls;
    /* Filled: the other walkers may read it from now on (see the walk). */
    __atomic_and_fetch(&to->ob_flags, (uint16_t)~RM_FLAG_MOVE_TARGET, __ATOMIC_RELEASE);
}

bool rm_struct_plan_grows(const rm_plan *p) { return p->sp && p->sp->grows; }

const uint32_t *rm_struct_plan_default_refs(const rm_plan *p, size_t *n) {
    *n = p->sp->ndefault_refs;
    return p->sp->default_refs;
}

void rm_struct_plan_growth(const rm_plan *p, size_t *size, size_t *alloc, size_t *old_min, bool *all_move) {
    *size = p->sp->neu->size;
    *old_min = p->sp->old->min_capacity;
    *alloc = p->sp->neu->alloc;
    *all_move = p->sp->all_move;
}

void rm_struct_unmigrate(rm_object *inst, const rm_plan *p, const uintptr_t *save) {
    const rm_struct_plan *sp = p->sp;

    if (sp->save_words) {
        memcpy(inst, save, sp->save_words * 8);
    } else {
        /* Each kept field back from its new place and kind; the rest of
           the old struct (padding) and what the new one used past it are
           zeros again. */
        uintptr_t buffer[UNDO_BUFFER / 8];
        unsigned char *o = (unsigned char *)inst, *now = (unsigned char *)buffer;
        size_t hdr = sizeof(rm_object);
        if (sp->append_only) {
            memset(o + sp->old->size, 0, sp->copy_words * 8 - sp->old->size);
            inst->ob_type = (rm_type *)p->old_cls;
            return;
        }
        memcpy(now, o, sp->neu->size);
        memset(o + hdr, 0, sp->copy_words * 8 - hdr);
        for (size_t k = 0; k < sp->nops; k++) {
            const struct_op *op = &sp->ops[k];
            size_t fs = op->from_size, ts = op->to_size;
            if (op->from_kind == op->to_kind) { /* references included */
                memcpy(o + op->from, now + op->to, fs * op->count);
                continue;
            }
            for (size_t e = 0; e < op->count; e++)
                convert(op->to_kind, now + op->to + e * ts, op->from_kind, o + op->from + e * fs);
        }
    }
    inst->ob_type = (rm_type *)p->old_cls;
}

void rm_struct_empty(rm_object *inst) {
    const rm_struct_layout *l = rm_struct_of(inst->ob_type);
    memset((char *)inst + sizeof(rm_object), 0, l->size - sizeof(rm_object));
}
