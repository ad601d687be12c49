/*
** sworld.c: the struct families of layout-stress: their classes, their
** instances and the model of every element, each round's new layouts, and
** the prediction of what a reload makes of each instance.
**
** The rules predicted are docs/modules.md's ("Struct classes"), written
** here from its table, not from struct_reload.c:
**   - a new field takes the old field its rename rule names (if the old
**     class has that name and lacks the new one), else the one of its name;
**   - a taken field of the same kind keeps its values, a widening converts
**     them (i8 -> i16 -> i32 -> i64, unsigned to any wider int, f32 -> f64,
**     ints of 32 bits or fewer to f64, bool to any int), an array keeps the
**     common prefix and its elements past it get the new default;
**   - any other change is refused before anything changes, unless the
**     field has an initializer: it is then initialized like an added field;
**   - an added field gets its initializer's value, else its default;
**   - then the class's hook writes one field (through the C pointer, or
**     through rm_setattr).
** An instance whose allocation is smaller than its new struct moves: the
** list, the dict keys, the handles, the weak references and every field
** or attribute holding it follow (smoved), and it keeps its identity hash.
** Family 1 may derive from family 0: it is then replaced whenever family 0
** is, its new class deriving from the new base, whose fields, rules,
** initializers and (unless it has its own) hook it inherits.
*/
#include "layout_stress.h"

#include "../../CSources/struct.h" /* rm_struct_class_make: a class without a builder */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sworld *SW;

/* ---- Classes ---- */

static int sfield_index(const slayout *l, int name) {
    for (int i = 0; i < l->nf; i++)
        if (l->f[i].name == name) return i;
    return -1;
}

static uint32_t align_up(uint32_t n, uint32_t to) { return (n + to - 1) / to * to; }

/* Offsets for the own fields of l, in their order, after `start` (the
   header or the base's struct): aligned, sometimes with a gap; the size
   sometimes padded, so that some versions outgrow their instances. */
static void lay_out(rng *r, slayout *l, uint32_t start) {
    uint32_t at = start;
    for (int i = l->nbase; i < l->nf; i++) {
        uint32_t es = (uint32_t)kind_size(l->f[i].kind);
        at = align_up(at, es);
        if (rng_chance(r, 15)) at += es * (1 + (uint32_t)rng_below(r, 3));
        l->f[i].offset = at;
        at += es * (l->f[i].count ? l->f[i].count : 1);
    }
    l->size = align_up(at, 8) + (rng_chance(r, 25) ? 8 * (1 + (uint32_t)rng_below(r, 8)) : 0);
}

static void random_field(rng *r, sfield *f, int name) {
    memset(f, 0, sizeof *f);
    f->name = name;
    f->kind = (uint8_t)(1 + rng_below(r, RM_FIELD_KINDS - 1));
    f->count = rng_chance(r, 25) ? (uint8_t)(1 + rng_below(r, MAXE)) : 0;
    bool zero = rng_chance(r, 30);
    for (int e = 0; e < MAXE; e++) f->def[e] = zero || e >= (f->count ? f->count : 1) ? (elem){0} : random_elem(r, f->kind);
}

static rm_object *def_value(const sfield *f) {
    if (!f->count) return elem_box(f->kind, f->def[0]);
    rm_object *t = need(rm_tuple_new(f->count), "tuple");
    for (int e = 0; e < f->count; e++) rm_tuple_set(t, (size_t)e, need(elem_box(f->kind, f->def[e]), "box"));
    return t;
}

/* Makes the class of l (its own fields; the base's come from base). */
static rm_object *make_class(const char *name, const slayout *l, rm_object *base) {
    rm_field_spec specs[MAXSF + 1];
    int k = 0;
    for (int i = l->nbase; i < l->nf; i++, k++) {
        const sfield *f = &l->f[i];
        specs[k] = (rm_field_spec){pool[f->name], f->offset, kind_size(f->kind) * (f->count ? f->count : 1),
                                   (rm_field_kind)f->kind, f->count};
    }
    specs[k] = (rm_field_spec)RM_FIELDS_END;
    rm_object *c = need(rm_struct_class_make(name, base, l->size, specs, NULL), "rm_struct_class_make");
    for (int i = l->nbase; i < l->nf; i++) {
        const sfield *f = &l->f[i];
        bool zero = true;
        for (int e = 0; e < (f->count ? f->count : 1); e++) zero &= f->def[e].i == 0;
        if (!zero && rm_def_field_default(c, pool[f->name], def_value(f)) < 0)
            fatal("rm_def_field_default %s.%s: %s", name, pool[f->name], rm_error_message());
    }
    return c;
}

/* Family 1's base part: family 0's fields as `base` has them. */
static void take_base(slayout *l, const slayout *base) {
    int own = l->nf - l->nbase;
    memmove(&l->f[base->nf], &l->f[l->nbase], (size_t)own * sizeof *l->f);
    memcpy(l->f, base->f, (size_t)base->nf * sizeof *l->f);
    l->nbase = base->nf;
    l->nf = base->nf + own;
}

/* ---- Instances ---- */

static void sgrow(void) {
    if (SW->n == SW->cap) SW->rec = grow_records(SW->rec, &SW->cap, SW->n, sizeof *SW->rec, 512);
}

rm_object *spinned_value(rng *r) {
    for (int tries = 0; tries < 8 && SW && SW->n; tries++) {
        srec *rec = &SW->rec[rng_below(r, SW->n)];
        if (rec->pinned) return rec->obj;
    }
    return rm_none;
}

/* Writes element e of field f of rec through the C pointer. */
static void poke(srec *rec, const sfield *f, int e, elem v) {
    unsigned char *p = (unsigned char *)rec->obj + f->offset + (size_t)e * kind_size(f->kind);
    switch (f->kind) {
    case RM_I8: case RM_U8: case RM_BOOL: { uint8_t x = (uint8_t)v.i; memcpy(p, &x, 1); break; }
    case RM_I16: case RM_U16: { uint16_t x = (uint16_t)v.i; memcpy(p, &x, 2); break; }
    case RM_I32: case RM_U32: { uint32_t x = (uint32_t)v.i; memcpy(p, &x, 4); break; }
    case RM_F32: { float x = (float)v.d; memcpy(p, &x, 4); break; }
    case RM_F64: memcpy(p, &v.d, 8); break;
    case RM_OBJECT: memcpy(p, &v.o, 8); break;
    default: memcpy(p, &v.i, 8); break;
    }
}

/* One field set, through rm_setattr (an array: a tuple, or one value for
   all) or directly. */
static void sset(rng *r, srec *rec) {
    const slayout *l = &SW->fam[rec->fam];
    if (!l->nf) return;
    const sfield *f = &l->f[rng_below(r, (size_t)l->nf)];
    int n = f->count ? f->count : 1;
    elem v[MAXE];
    /* (Not for objects: a tuple would be taken for the array's items.) */
    bool one = f->count && f->kind != RM_OBJECT && rng_chance(r, 30);
    for (int e = 0; e < n; e++) v[e] = one && e ? v[0] : random_elem(r, f->kind);
    if (rng_chance(r, 50)) {
        for (int e = 0; e < n; e++) poke(rec, f, e, v[e]);
    } else {
        rm_object *value = elem_box(f->kind, v[0]);
        if (f->count && !one) {
            value = need(rm_tuple_new((size_t)n), "tuple");
            for (int e = 0; e < n; e++) rm_tuple_set(value, (size_t)e, need(elem_box(f->kind, v[e]), "box"));
        }
        if (rm_setattr_name(rec->obj, W->names[f->name], need(value, "box")) < 0)
            fatal("rm_setattr on a struct: %s", rm_error_message());
    }
    memcpy(rec->val[f->name], v, (size_t)n * sizeof *v);
}

void snew_instance(rng *r) {
    sgrow();
    int f = SW->sub ? (int)rng_below(r, 2) : rng_chance(r, 60) ? 0 : 1;
    srec *rec = &SW->rec[SW->n];
    memset(rec, 0, sizeof *rec);
    rec->obj = rec->now = need(rm_instance_alloc(SW->fam[f].cls), "struct instance");
    rec->fam = f;
    rec->serial = SW->next_serial++;
    rec->pinned = rng_chance(r, 10);
    const slayout *l = &SW->fam[f];
    for (int i = 0; i < l->nf; i++) memcpy(rec->val[l->f[i].name], l->f[i].def, sizeof l->f[i].def);
    SW->n++;
    if (rm_txn_active() && rm_list_append(SW->list, rec->obj) < 0) fatal("rm_list_append: %s", rm_error_message());
    size_t sets = rng_chance(r, 40) ? rng_below(r, 4) : 0;
    for (size_t s = 0; s < sets; s++) sset(r, rec);
}

static void random_layout(rng *r, slayout *l, int f) {
    memset(l, 0, sizeof *l);
    l->hook.arity = -1;
    int first = f * SNAMES, want = 1 + (int)rng_below(r, MAXSF);
    for (int k = 0; k < want; k++) {
        int name = first + (int)rng_below(r, SNAMES);
        if (sfield_index(l, name) < 0) random_field(r, &l->f[l->nf++], name);
    }
}

void sworld_init(rng *r) {
    SW = GC_MALLOC_UNCOLLECTABLE(sizeof *SW);
    if (!SW) fatal("out of memory");
    memset(SW, 0, sizeof *SW);
    SW->sub = rng_chance(r, 50);
    for (int f = 0; f < SFAMILIES; f++) {
        slayout *l = &SW->fam[f];
        random_layout(r, l, f);
        if (f == 1 && SW->sub) take_base(l, &SW->fam[0]);
        lay_out(r, l, f == 1 && SW->sub ? SW->fam[0].size : (uint32_t)sizeof(rm_object));
        l->cls = make_class(f ? "T" : "S", l, f == 1 && SW->sub ? SW->fam[0].cls : NULL);
    }
    SW->list = need(rm_list_new(0), "list");
    for (int k = 0; k < 8; k++) SW->handle[k] = rm_handle_new(rm_none);
}

/* ---- Each round, outside the reload ---- */

/*
** Instances dropped (never pinned ones) and made up to `target`, fields
** set; then the places that hold them refilled: the list (all), a dict
** keyed by some, handles and weak references to random ones.
*/
void sworld_mutate(rng *r, size_t target) {
    size_t drop = SW->n / (rng_chance(r, 30) ? 3 : 20);
    for (size_t d = 0; d < drop && SW->n; d++) {
        size_t i = rng_below(r, SW->n);
        if (SW->rec[i].pinned) continue;
        SW->rec[i] = SW->rec[--SW->n];
        memset(&SW->rec[SW->n], 0, sizeof *SW->rec);
    }
    while (SW->n < target) snew_instance(r);
    for (size_t t = 0; t < SW->n / 10; t++) sset(r, &SW->rec[rng_below(r, SW->n)]);
    if (rm_list_clear(SW->list) < 0) fatal("rm_list_clear: %s", rm_error_message());
    SW->keys = need(rm_dict_new(), "dict");
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        if (rm_list_append(SW->list, rec->obj) < 0) fatal("rm_list_append: %s", rm_error_message());
        if (rng_chance(r, 12) && rm_dict_set(SW->keys, rec->obj, need(rm_int(rec->serial), "int")) < 0)
            fatal("rm_dict_set: %s", rm_error_message());
    }
    for (int k = 0; k < 8 && SW->n; k++) {
        SW->handle_rec[k] = rng_below(r, SW->n);
        rm_handle_set(SW->handle[k], SW->rec[SW->handle_rec[k]].obj);
        SW->weak_rec[k] = rng_below(r, SW->n);
        SW->weak[k] = need(rm_weakref_new(SW->rec[SW->weak_rec[k]].obj), "weakref");
    }
}

/* ---- The round's plans ---- */

void splan_clear(void) {
    memset(SW->plan, 0, sizeof SW->plan);
    SW->fail_rec = -1;
    SW->fail_init_name = -1;
    SW->fail_hook = false;
}

bool splan_any(void) { return SW->plan[0].replaced || SW->plan[1].replaced; }

/* A name of family f's part of the pool that neither layout uses. */
static int sfresh_name(rng *r, int f, const slayout *a, const slayout *b) {
    int start = (int)rng_below(r, SNAMES);
    for (int k = 0; k < SNAMES; k++) {
        int n = f * SNAMES + (start + k) % SNAMES;
        if (sfield_index(a, n) < 0 && sfield_index(b, n) < 0) return n;
    }
    return -1;
}

/* A kind the rules let `from` widen to (from itself if none). */
static uint8_t wider(rng *r, uint8_t from) {
    uint8_t c[RM_FIELD_KINDS];
    int n = 0;
    for (uint8_t k = 1; k < RM_FIELD_KINDS; k++)
        if (k != from && kind_widens(from, k)) c[n++] = k;
    return n ? c[rng_below(r, (size_t)n)] : from;
}

/* A kind the rules refuse to convert `from` to. */
static uint8_t refused_kind(rng *r, uint8_t from) {
    uint8_t c[RM_FIELD_KINDS];
    int n = 0;
    for (uint8_t k = 1; k < RM_FIELD_KINDS; k++)
        if (!kind_widens(from, k)) c[n++] = k;
    return c[rng_below(r, (size_t)n)];
}

/* Which old field each new one takes (see the top of this file), and
   which initializers run; a refused change without one marks the plan. */
static void splan_match(sfam_plan *p, const slayout *o) {
    bool taken[2 * MAXSF] = {false};
    for (int j = 0; j < p->next.nf; j++) {
        int name = p->next.f[j].name, from = p->rule[j];
        int i = from >= 0 && sfield_index(o, name) < 0 ? sfield_index(o, from) : -1;
        p->src[j] = i;
        if (i >= 0) taken[i] = true;
    }
    for (int j = 0; j < p->next.nf; j++) {
        if (p->src[j] < 0) {
            int i = sfield_index(o, p->next.f[j].name);
            if (i >= 0 && !taken[i]) p->src[j] = i, taken[i] = true;
        }
        int i = p->src[j];
        const sfield *nf = &p->next.f[j];
        if (i >= 0 && (!kind_widens(o->f[i].kind, nf->kind) || !o->f[i].count != !nf->count)) {
            if (p->init_rule[j]) p->src[j] = -1; /* initialized instead */
            else if (!p->refused) p->refused = true, p->refused_at = j;
        }
        p->init[j] = p->src[j] < 0 && p->init_rule[j];
    }
    /* The layout changes unless every field stays where it was. */
    bool same = o->nf == p->next.nf && o->size == p->next.size;
    for (int j = 0; same && j < p->next.nf; j++) {
        const sfield *a = &o->f[j], *b = &p->next.f[j];
        same = p->src[j] == j && a->offset == b->offset && a->kind == b->kind && a->count == b->count;
    }
    p->layout = !same;
    p->listed = p->layout || p->next.hook.arity >= 0;
}

/* One old own field into the new layout: kept, widened, resized, renamed
   or changed as the rules refuse (with an initializer, or to make the
   reload refused). */
static void derive_field(rng *r, int f, sfam_plan *p, const sfield *of, bool want_refused) {
    const slayout *o = &SW->fam[f];
    int j = p->next.nf;
    sfield *nf = &p->next.f[j];
    *nf = *of;
    p->rule[j] = -1;
    unsigned c = (unsigned)rng_below(r, 100);
    if (c < 15) {
        int name = sfresh_name(r, f, o, &p->next);
        if (name >= 0) p->rule[j] = of->name, nf->name = name;
    }
    c = (unsigned)rng_below(r, 100);
    bool change = false;
    if (c < 25) nf->kind = wider(r, of->kind), change = nf->kind != of->kind;
    if (of->count && rng_chance(r, 25)) nf->count = (uint8_t)(1 + rng_below(r, MAXE)), change = true;
    if ((want_refused && rng_chance(r, 40)) || rng_chance(r, 5)) {
        /* Refused: a narrowing, or a scalar made an array or back. */
        if (rng_chance(r, 75)) nf->kind = refused_kind(r, of->kind);
        else nf->count = of->count ? 0 : (uint8_t)(1 + rng_below(r, MAXE));
        change = true;
        if (!want_refused || rng_chance(r, 30)) {
            p->init_rule[j] = true;
            p->init_src[nf->name] = of->name;
            if (p->rule[j] >= 0) p->rule[j] = -1, nf->name = of->name; /* one rule per field */
        }
    }
    if (change || rng_chance(r, 25)) /* a new default */
        for (int e = 0; e < MAXE; e++) nf->def[e] = e < (nf->count ? nf->count : 1) ? random_elem(r, nf->kind) : (elem){0};
    p->next.nf++;
}

/* An old field of the family for an initializer to read, or -1. */
static int sold_source(rng *r, const slayout *o) { return o->nf ? o->f[rng_below(r, (size_t)o->nf)].name : -1; }

/*
** Derives family f's next class: its own fields derived one by one,
** some added (with an initializer, often), their order shuffled, a new
** layout, a hook. Family 1 deriving from family 0 takes family 0's next
** fields (or its current ones) and inherits its rules; its own hook, if it
** gets none, is the base's.
*/
void splan_derive(rng *r, int f, bool want_refused) {
    const slayout *o = &SW->fam[f];
    sfam_plan *p = &SW->plan[f];
    memset(p, 0, sizeof *p);
    p->replaced = true;
    p->refused_at = -1;
    for (int n = 0; n < NAMES; n++) p->init_src[n] = -1;
    p->next.hook.arity = -1;
    for (int i = o->nbase; i < o->nf; i++)
        if (!rng_chance(r, 12) || p->next.nf == 0) derive_field(r, f, p, &o->f[i], want_refused);
    size_t adds = rng_below(r, 3);
    for (size_t k = 0; k < adds && p->next.nf < MAXSF; k++) {
        int name = sfresh_name(r, f, o, &p->next), j = p->next.nf;
        if (name < 0) break;
        random_field(r, &p->next.f[j], name);
        p->rule[j] = -1;
        if (rng_chance(r, 50)) p->init_rule[j] = true, p->init_src[name] = sold_source(r, o);
        p->next.nf++;
    }
    if (rng_chance(r, 50))
        for (int j = p->next.nf - 1; j > 0; j--) {
            int k = (int)rng_below(r, (size_t)j + 1), rl = p->rule[j];
            bool ir = p->init_rule[j];
            sfield t = p->next.f[j];
            p->next.f[j] = p->next.f[k], p->rule[j] = p->rule[k], p->init_rule[j] = p->init_rule[k];
            p->next.f[k] = t, p->rule[k] = rl, p->init_rule[k] = ir;
        }
    p->delta = (int64_t)rng_below(r, 1000) + 1;
    if (rng_chance(r, 45)) {
        static const int arity[3] = {0, 2, 3};
        p->own_hook = true;
        p->next.hook = (shook){arity[rng_below(r, 3)], -1, rng_chance(r, 70)};
    }
}

/* The plans' base parts, layouts and matches, once both are derived: the
   subclass takes its base's next fields (or current ones) and rules. */
void splan_finish(rng *r) {
    if (SW->sub && SW->plan[0].replaced && !SW->plan[1].replaced) fatal("the subclass family is not replaced");
    for (int f = 0; f < SFAMILIES; f++) {
        sfam_plan *p = &SW->plan[f];
        if (!p->replaced) continue;
        uint32_t start = (uint32_t)sizeof(rm_object);
        const sfam_plan *b = &SW->plan[0];
        if (f == 1 && SW->sub && b->replaced && b->next.size <= SW->fam[0].size && rng_chance(r, 35)) {
            /* Not reloaded with its base: rm_mapping_add_subclasses rebases
               it (rebase.c), its own fields where they were, its own hook
               kept (the copy has its methods), its base's rules. A base
               that grows is refused instead: not planned here. */
            const slayout *o = &SW->fam[1];
            int own = o->nf - o->nbase;
            p->rebased = true;
            p->own_hook = o->own_hook;
            p->next = *o;
            memmove(p->next.f, &o->f[o->nbase], (size_t)own * sizeof *o->f);
            p->next.nf = own;
            p->next.nbase = 0;
            for (int j = 0; j < own; j++) p->rule[j] = -1, p->init_rule[j] = false;
            for (int n = 0; n < NAMES; n++) p->init_src[n] = -1;
        }
        if (f == 1 && SW->sub) {
            const slayout *base = b->replaced ? &b->next : &SW->fam[0];
            int own = p->next.nf;
            memmove(&p->rule[base->nf], p->rule, (size_t)own * sizeof *p->rule);
            memmove(&p->init_rule[base->nf], p->init_rule, (size_t)own * sizeof *p->init_rule);
            take_base(&p->next, base);
            for (int j = 0; j < base->nf; j++) {
                p->rule[j] = b->replaced ? b->rule[j] : -1;
                p->init_rule[j] = b->replaced && b->init_rule[j];
                if (p->init_rule[j]) p->init_src[base->f[j].name] = b->init_src[base->f[j].name];
            }
            if (!p->own_hook) p->next.hook = base->hook;
            start = base->size;
        }
        p->next.own_hook = p->own_hook;
        if (p->rebased) {
            p->next.size = SW->fam[1].size;
            splan_match(p, &SW->fam[f]);
            continue;
        }
        lay_out(r, &p->next, start);
        /* The hook writes a field of the class that defines it. */
        if (p->own_hook && p->next.nf) p->next.hook.name = p->next.f[rng_below(r, (size_t)p->next.nf)].name;
        else if (p->own_hook) p->next.hook.arity = -1;
        splan_match(p, &SW->fam[f]);
    }
}

/* Makes the new classes: the base's first, each with its defaults, rules
   and hook. */
void splan_build(void) {
    for (int f = 0; f < SFAMILIES; f++) {
        sfam_plan *p = &SW->plan[f];
        if (!p->replaced || p->rebased) continue;
        char name[32];
        snprintf(name, sizeof name, "%s_r%d", f ? "T" : "S", W->round);
        rm_object *base = f == 1 && SW->sub ? (SW->plan[0].replaced ? SW->plan[0].new_cls : SW->fam[0].cls) : NULL;
        rm_object *c = p->new_cls = p->next.cls = make_class(name, &p->next, base);
        for (int j = p->next.nbase; j < p->next.nf; j++) {
            const char *n = pool[p->next.f[j].name];
            if (p->rule[j] >= 0 && rm_class_set_field_renamed(c, n, pool[p->rule[j]]) < 0)
                fatal("rm_class_set_field_renamed: %s", rm_error_message());
            if (p->init_rule[j] && rm_class_set_field_init(c, n, sinit_fns[p->next.f[j].name]) < 0)
                fatal("rm_class_set_field_init: %s", rm_error_message());
        }
        if (p->own_hook && p->next.hook.arity >= 0 && rm_class_set_method(c, "__reload__", shook_fn, p->next.hook.arity) < 0)
            fatal("rm_class_set_method: %s", rm_error_message());
    }
}

void splan_map(rm_mapping *m) {
    for (int f = 0; f < SFAMILIES; f++)
        if (SW->plan[f].replaced && !SW->plan[f].rebased && rm_mapping_add(m, SW->fam[f].cls, SW->plan[f].new_cls) < 0)
            fatal("rm_mapping_add: %s", rm_error_message());
}

/* The copy must have the predicted fields, each at its predicted offset
   and kind. */
void splan_rebase(rm_object *pairs) {
    sfam_plan *p = &SW->plan[1];
    if (!p->replaced || !p->rebased) return;
    p->new_cls = NULL;
    for (size_t k = 0; k + 1 < rm_list_size(pairs); k += 2)
        if (rm_list_get(pairs, k) == SW->fam[1].cls) p->new_cls = rm_list_get(pairs, k + 1);
    if (!p->new_cls) fatal("the struct subclass family was not rebased");
    p->next.cls = p->new_cls;
    const rm_struct_layout *l = rm_struct_of((rm_type *)p->new_cls);
    bool same = l->nfields == (size_t)p->next.nf && l->size == p->next.size;
    for (int j = 0; same && j < p->next.nf; j++)
        same = value_eq(rm_tuple_get(((rm_type *)p->new_cls)->cls_fields, (size_t)j), W->names[p->next.f[j].name]) &&
               l->fields[j].offset == p->next.f[j].offset && l->fields[j].kind == p->next.f[j].kind &&
               l->fields[j].count == (p->next.f[j].count ? p->next.f[j].count : 1);
    if (!same) check_fail("the rebased struct subclass's fields differ from the prediction");
}

int sfam_of_new(rm_object *cls) {
    for (int f = 0; f < SFAMILIES; f++)
        if (SW->plan[f].replaced && SW->plan[f].new_cls == cls) return f;
    return -1;
}

bool srefusal_expected(void) {
    for (int f = 0; f < SFAMILIES; f++)
        if (SW->plan[f].replaced && SW->plan[f].refused) return true;
    return false;
}

/* ---- Where instances are after the walk ---- */

/* Old and new address -> record, for map_obj, the hooks and initializers. */
static addr_index where;
static bool where_valid;

srec *srec_of(rm_object *obj) {
    size_t i;
    return where_valid && addr_index_get(&where, obj, &i) ? &SW->rec[i] : NULL;
}

rm_object *smoved(rm_object *o) {
    srec *rec = o ? srec_of(o) : NULL;
    return rec && rec->obj == o ? rec->now : o;
}

/* The list holds every instance in record order: after the walk, where
   each one is now. */
void swalked(void) {
    addr_index_reset(&where, 2 * SW->n); /* an old and a new address each */
    if (rm_list_size(SW->list) != SW->n) check_fail("the list holds %zu instances, not %zu", rm_list_size(SW->list), SW->n);
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        rec->now = i < rm_list_size(SW->list) ? rm_list_get(SW->list, i) : rec->obj;
        addr_index_put(&where, rec->obj, i);
        addr_index_put(&where, rec->now, i);
    }
    where_valid = true;
}

static void where_clear(void) { where_valid = false; }

int sfield_of(const slayout *l, int name) { return sfield_index(l, name); }

/* ---- Prediction ---- */

static elem map_elem(uint8_t kind, elem v) {
    if (kind == RM_OBJECT && v.o) v.o = map_obj(v.o);
    return v;
}

void spredict(void) {
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        const slayout *o = &SW->fam[rec->fam];
        const sfam_plan *p = &SW->plan[rec->fam];
        memset(rec->exp, 0, sizeof rec->exp);
        if (!p->replaced) {
            for (int k = 0; k < o->nf; k++)
                for (int e = 0; e < MAXE; e++) rec->exp[o->f[k].name][e] = map_elem(o->f[k].kind, rec->val[o->f[k].name][e]);
            continue;
        }
        for (int j = 0; j < p->next.nf; j++) {
            const sfield *nf = &p->next.f[j];
            int n = nf->count ? nf->count : 1, kept = 0;
            if (p->src[j] >= 0) {
                const sfield *of = &o->f[p->src[j]];
                kept = of->count ? of->count : 1;
                if (kept > n) kept = n;
                for (int e = 0; e < kept; e++)
                    rec->exp[nf->name][e] = map_elem(nf->kind, kind_convert(of->kind, nf->kind, rec->val[of->name][e]));
            } else if (p->init[j]) {
                int s = p->init_src[nf->name], si = s >= 0 ? sfield_index(o, s) : -1;
                int64_t x = si >= 0 ? elem_as_int(o->f[si].kind, map_elem(o->f[si].kind, rec->val[s][0])) : 0;
                elem v = sinit_value(nf->kind, x, p->delta);
                if (nf->kind == RM_OBJECT) need(v.o, "int");
                for (int e = 0; e < n; e++) rec->exp[nf->name][e] = v;
                kept = n;
            }
            for (int e = kept; e < n; e++) rec->exp[nf->name][e] = map_elem(nf->kind, nf->def[e]);
        }
    }
}

/* After a commit: the model becomes the prediction, the hook's writes
   included, the defaults mapped. Before the slot world's model_commit,
   which makes the new functions the world's (map_obj maps the old ones
   until then); sround_end makes the new classes the families'. */
void smodel_commit(void) {
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        const sfam_plan *p = &SW->plan[rec->fam];
        const slayout *l = p->replaced ? &p->next : &SW->fam[rec->fam];
        memcpy(rec->val, rec->exp, sizeof rec->val);
        /* Predicted before the walk: a moved instance at its old address. */
        for (int j = 0; j < l->nf; j++)
            for (int e = 0; l->f[j].kind == RM_OBJECT && e < MAXE; e++)
                rec->val[l->f[j].name][e].o = smoved(rec->val[l->f[j].name][e].o);
        int h = p->replaced && l->hook.arity >= 0 ? sfield_index(l, l->hook.name) : -1;
        if (h >= 0)
            for (int e = 0; e < (l->f[h].count ? l->f[h].count : 1); e++)
                rec->val[l->hook.name][e] = shook_value(l->f[h].kind, rec->serial, W->round);
    }
    for (int f = 0; f < SFAMILIES; f++) {
        slayout *l = SW->plan[f].replaced ? &SW->plan[f].next : &SW->fam[f];
        for (int j = 0; j < l->nf; j++)
            for (int e = 0; e < MAXE; e++) l->f[j].def[e] = map_elem(l->f[j].kind, l->f[j].def[e]);
    }
}

/* Round end: after a commit the new classes are the families' and each
   instance is where it moved, after a rollback where it was. (After the
   slot world's model_commit, which maps through map_obj and smoved.) */
void sround_end(bool committed) {
    for (int f = 0; committed && f < SFAMILIES; f++)
        if (SW->plan[f].replaced) SW->fam[f] = SW->plan[f].next;
    for (size_t i = 0; i < SW->n; i++) {
        if (committed) SW->rec[i].obj = SW->rec[i].now;
        else SW->rec[i].now = SW->rec[i].obj;
    }
    where_clear();
}

/* One instance whose initializer or hook is made to fail. */
bool sfailing_call(rng *r) {
    for (int tries = 0; tries < 50 && SW->n; tries++) {
        size_t i = rng_below(r, SW->n);
        const sfam_plan *p = &SW->plan[SW->rec[i].fam];
        if (!p->replaced) continue;
        int inits[2 * MAXSF], n = 0;
        for (int j = 0; j < p->next.nf; j++)
            if (p->init[j]) inits[n++] = p->next.f[j].name;
        if (!n && p->next.hook.arity < 0) continue;
        SW->fail_rec = (long)i;
        if (n && (p->next.hook.arity < 0 || rng_chance(r, 50))) SW->fail_init_name = inits[rng_below(r, (size_t)n)];
        else SW->fail_hook = true;
        return true;
    }
    return false;
}

/* ---- Describing ---- */

static const char *const kname[RM_FIELD_KINDS] = {"?", "i8", "i16", "i32", "i64", "u8", "u16",
                                                   "u32", "u64", "f32", "f64", "bool", "object"};

const char *kind_name(uint8_t kind) { return kind < RM_FIELD_KINDS ? kname[kind] : "?"; }

static void put_field(char *line, size_t *at, size_t cap, const sfield *f) {
    if (*at < cap)
        *at += (size_t)snprintf(line + *at, cap - *at, "%s:%s", pool[f->name], kname[f->kind]);
    if (f->count && *at < cap) *at += (size_t)snprintf(line + *at, cap - *at, "[%d]", f->count);
    if (*at < cap) *at += (size_t)snprintf(line + *at, cap - *at, "@%u", f->offset);
}

void splan_describe(void) {
    char line[2048];
    for (int f = 0; f < SFAMILIES; f++) {
        const sfam_plan *p = &SW->plan[f];
        const slayout *o = &SW->fam[f];
        if (!p->replaced) continue;
        size_t at = (size_t)snprintf(line, sizeof line, "  struct family %d (%u bytes): (", f, o->size);
        for (int i = 0; i < o->nf; i++) {
            if (i && at < sizeof line) line[at++] = ' ';
            put_field(line, &at, sizeof line, &o->f[i]);
        }
        at += (size_t)snprintf(line + at, sizeof line - at, ") -> %u bytes (", p->next.size);
        for (int j = 0; j < p->next.nf && at < sizeof line; j++) {
            if (j && at < sizeof line) line[at++] = ' ';
            put_field(line, &at, sizeof line, &p->next.f[j]);
            if (at < sizeof line && p->src[j] >= 0 && o->f[p->src[j]].name != p->next.f[j].name)
                at += (size_t)snprintf(line + at, sizeof line - at, "<-%s", pool[o->f[p->src[j]].name]);
            if (at < sizeof line && p->init[j])
                at += (size_t)snprintf(line + at, sizeof line - at, "[init]");
        }
        if (at < sizeof line)
            snprintf(line + at, sizeof line - at, ")%s%s%s hook/%d %s %s", p->rebased ? " rebased" : "", p->layout ? "" : " same layout",
                     p->refused ? " REFUSED" : "", p->next.hook.arity,
                     p->next.hook.arity >= 0 ? pool[p->next.hook.name] : "-",
                     p->next.hook.direct ? "direct" : "setattr");
        say("%s", line);
    }
}
