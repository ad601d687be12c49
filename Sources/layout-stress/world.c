/*
** world.c: the world layout-stress reloads, and the model's prediction.
**
** The model is what this program did: each instance's val[n] is what
** rm_getattr(inst, names[n]) must read, set when the program made the
** instance, set an attribute, or added a field to its class. A reload's
** outcome is predicted from it alone (predict), with these semantics, read
** from layout.c (match_fields) and migrate.c (move_one):
**   - the mapping is applied once to every value (old class -> new class,
**     old function -> new function; instances keep their identity, but a
**     struct instance that moves is found at its new address: smoved);
**   - new field j takes old field src[j]: first, the one its rename rule
**     names, if the old class has it and lacks j's own name; if two renames
**     take one old field the reload is refused before anything changes;
**     then the one with j's name, unless a rename took it;
**   - a taken field keeps what it read before (its stored value, its
**     attribute, or the old default it read), mapped;
**   - an added field gets its initializer's value, computed from the old
**     instance view, else the new class's default, mapped; an attribute
**     with its name is shadowed (the field reads the new value);
**   - an old field's name that is not a new field reads nothing after
**     (its value is gone: AttributeError), even where it was an attribute;
**   - other attributes keep their values, mapped;
**   - then the hook sets one name.
** Rename rules naming a field the old class lacks fall back to the name;
** an initializer on a field that an old field fills does not run. Family
** 2 may be a subclass of family 0, never replaced itself: a reload of its
** base rebases it (plan_rebase says how), and the same rules apply to the
** copy, with the new base's rules, initializers and hook.
*/
#include "layout_stress.h"

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

world *W;

const char *const pool[NAMES] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};

rm_object self_marker;

static rm_object *fn_ident(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)args;
    (void)nargs;
    return rm_function_closure(self);
}

rm_object *need(rm_object *o, const char *what) {
    if (!o) fatal("%s: %s", what, rm_error_message());
    return o;
}

int field_index(const family *f, int name) {
    for (int i = 0; i < f->nf; i++)
        if (f->name[i] == name) return i;
    return -1;
}

/* ---- Values ---- */

static rm_object *or_none(rm_object *o) { return o ? o : rm_none; }

/* (See layout_stress.h.) While the world is made, a class or a tuple it
   would name may not exist yet: None then. */
rm_object *random_value(rng *r, bool fresh) {
    switch (rng_below(r, fresh ? 12 : 10)) {
    case 0:
    case 1: return need(rm_int((int64_t)rng_below(r, 300) - 5), "int");
    case 2: return need(rm_int((int64_t)rng_next(r)), "int");
    case 3: return W->strs[rng_below(r, NSTRS)];
    case 4: return rm_none;
    case 5: return rm_true;
    case 6:
        if (rng_chance(r, 25)) return spinned_value(r); /* a struct instance: it may move */
        return W->ninst ? W->inst[rng_below(r, W->ninst)].obj : rm_none;
    case 7:
        if (SW && rng_chance(r, 30)) return or_none(SW->fam[rng_below(r, SFAMILIES)].cls);
        return or_none(W->fam[rng_below(r, FAMILIES)].cls);
    case 8: return W->funcs[rng_below(r, NFUNCS)];
    case 9: return or_none(W->tuples[rng_below(r, NTUPLES)]);
    case 10: return or_none(W->new_funcs[rng_below(r, NFUNCS)]);
    default: return SELF;
    }
}

rm_object *map_obj(rm_object *o) {
    for (int f = 0; f < FAMILIES; f++)
        if (W->plan[f].replaced && o == W->fam[f].cls) return W->plan[f].new_cls;
    for (int k = 0; k < NFUNCS; k++)
        if (W->new_funcs[k] && o == W->funcs[k]) return W->new_funcs[k];
    for (int f = 0; SW && f < SFAMILIES; f++)
        if (SW->plan[f].replaced && o == SW->fam[f].cls) return SW->plan[f].new_cls;
    return SW ? smoved(o) : o;
}

/* Ints and strs are values (an initializer makes new ones); the rest is
   identity, a struct instance's at either address while a reload moves it. */
bool value_eq(rm_object *a, rm_object *b) {
    if (a == b || (SW && smoved(a) == smoved(b))) return true;
    if (!a || !b || RM_TYPE(a) != RM_TYPE(b)) return false;
    if (rm_is_int(a)) return rm_int_value(a) == rm_int_value(b);
    if (rm_is_str(a)) return rm_str_len(a) == rm_str_len(b) && !memcmp(rm_str_cstr(a), rm_str_cstr(b), rm_str_len(a));
    return false;
}

/* What the initializers compute from an old field's value. */
rm_object *init_value(rm_object *old, int64_t delta) {
    if (rm_is_int(old)) return rm_int(rm_int_value(old) + delta);
    if (rm_is_none(old)) return rm_int(delta);
    if (rm_is_str(old)) return rm_str_format("%s/%lld", rm_str_cstr(old), (long long)delta);
    return old;
}

/* ---- The world ---- */

static void family_add_field(int f, int name, rm_object *def) {
    family *fm = &W->fam[f];
    if (rm_class_add_field(fm->cls, pool[name], def) < 0) fatal("rm_class_add_field: %s", rm_error_message());
    fm->name[fm->nf] = name;
    fm->def[fm->nf++] = def;
    /* Instances made before store fewer fields: they read the attribute
       of that name if they have one, else the default. */
    for (size_t i = 0; i < W->ninst; i++)
        if (W->inst[i].fam == f && !W->inst[i].val[name]) W->inst[i].val[name] = def;
}

/* A name family f may add as a field: not one of its fields, and, where
   family 2 is a subclass of family 0, not one of the other's either (the
   base's field would otherwise meet a field the subclass has of its own). */
static bool can_add(int f, int name) {
    if (field_index(&W->fam[f], name) >= 0 || W->fam[f].nf >= 10) return false;
    return !W->sub || f == 1 || field_index(&W->fam[2 - f], name) < 0;
}

static void add_random_fields(rng *r, int f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int name = (int)rng_below(r, NAMES);
        if (can_add(f, name)) family_add_field(f, name, random_value(r, false));
    }
}

void world_init(rng *r) {
    W = GC_MALLOC_UNCOLLECTABLE(sizeof *W);
    if (!W) fatal("out of memory");
    memset(W, 0, sizeof *W);
    for (int n = 0; n < NAMES; n++) W->names[n] = need(rm_str(pool[n]), "str");
    for (int s = 0; s < NSTRS; s++) W->strs[s] = need(rm_str_format("s%d", s), "str");
    for (int k = 0; k < NFUNCS; k++)
        W->funcs[k] = need(rm_function_new("fn", fn_ident, 0, NULL, rm_int(k)), "function");
    /* Family 2 may be a subclass of family 0: a reload of family 0 then
       rebases it (rm_mapping_add_subclasses), as a loader does. */
    W->sub = rng_chance(r, 50);
    for (int f = 0; f < FAMILIES; f++) {
        if (W->sub && f == 2) continue;
        W->fam[f].cls = need(rm_class_new("C", NULL, NULL), "class");
        add_random_fields(r, f, rng_below(r, 9));
    }
    if (W->sub) {
        W->fam[2] = W->fam[0];
        W->fam[2].cls = need(rm_class_new("S", W->fam[0].cls, NULL), "class");
        add_random_fields(r, 2, rng_below(r, 5));
    }
    for (int t = 0; t < NTUPLES; t++) {
        /* A distinct int in each: no two tuples are equal. */
        rm_object *items[2] = {rm_int(t), t == 1 ? W->funcs[0] : W->fam[t].cls};
        W->tuples[t] = need(rm_tuple_of(2, items), "tuple");
        W->titems[t][0] = items[0];
        W->titems[t][1] = items[1];
    }
}

/* A field (its slot if stored: through the slot API or setattr), or any
   name (then maybe the attribute dict), as often as the round's rate. */
static void set_attr(rng *r, inst_rec *rec) {
    const family *f = &W->fam[rec->fam];
    rm_object *v = random_value(r, false);
    size_t stored = rm_instance_slot_count(rec->obj);
    if (stored && rng_chance(r, 20)) {
        size_t i = rng_below(r, stored);
        rm_instance_set_slot(rec->obj, i, v);
        rec->val[f->name[i]] = v;
        return;
    }
    int name = f->nf && !rng_chance(r, W->attr_rate) ? f->name[rng_below(r, (size_t)f->nf)] : (int)rng_below(r, NAMES);
    if (rm_setattr_name(rec->obj, W->names[name], v) < 0) fatal("rm_setattr: %s", rm_error_message());
    rec->val[name] = v;
}

void new_instance(rng *r) {
    if (W->ninst == W->cap) W->inst = grow_records(W->inst, &W->cap, W->ninst, sizeof *W->inst, 1024);
    int f = rng_chance(r, 60) ? 0 : 1 + (int)rng_below(r, FAMILIES - 1);
    inst_rec *rec = &W->inst[W->ninst];
    memset(rec, 0, sizeof *rec);
    rec->obj = need(rm_instance_alloc(W->fam[f].cls), "instance");
    rec->fam = f;
    rec->serial = W->next_serial++;
    for (int i = 0; i < W->fam[f].nf; i++) rec->val[W->fam[f].name[i]] = W->fam[f].def[i];
    W->ninst++;
    size_t sets = rng_chance(r, 30) ? rng_below(r, 5) : 0;
    for (size_t s = 0; s < sets; s++) set_attr(r, rec);
}

/*
** Between reloads: a field added to a class (its older instances store
** fewer fields), some instances dropped, new ones made up to `target`,
** attributes set on old ones (where a field is stored, in its slot; where
** the dict word holds one, it moves to a new attribute dict).
*/
void world_mutate(rng *r, size_t target) {
    static const unsigned rates[] = {0, 5, 20, 50};
    W->attr_rate = rates[rng_below(r, 4)];
    for (int f = 0; f < FAMILIES; f++)
        if (rng_chance(r, 10)) add_random_fields(r, f, 1);
    /* Sometimes many: the new ones store every field and have no
       attribute dict yet, the case the walk migrates in place. */
    size_t drop = W->ninst / (rng_chance(r, 30) ? 3 : 20);
    for (size_t d = 0; d < drop && W->ninst; d++) {
        size_t i = rng_below(r, W->ninst);
        W->inst[i] = W->inst[--W->ninst];
        memset(&W->inst[W->ninst], 0, sizeof *W->inst);
    }
    while (W->ninst < target) new_instance(r);
    size_t touch = W->ninst / 10;
    for (size_t t = 0; t < touch; t++) set_attr(r, &W->inst[rng_below(r, W->ninst)]);
}

/* ---- The round's plan ---- */

/* A new round: nothing replaced; the functions of `mask` get new
   versions (made now: before the transaction, or inside it). */
void plan_clear(void) {
    memset(W->plan, 0, sizeof W->plan);
    for (int f = 0; f < FAMILIES; f++) W->plan[f].hook = -1;
    memset(W->new_funcs, 0, sizeof W->new_funcs);
}

void funcs_build(unsigned mask) {
    for (int k = 0; k < NFUNCS; k++)
        if (mask & (1u << k))
            W->new_funcs[k] = need(rm_function_new("fn", fn_ident, 0, NULL, rm_int(100 * W->round + k)), "function");
}

/* ---- Prediction ---- */

/* Instance address -> record, for the hooks and initializers. */
static addr_index index_;

static void index_build(void) {
    addr_index_reset(&index_, W->ninst);
    for (size_t i = 0; i < W->ninst; i++) addr_index_put(&index_, W->inst[i].obj, i);
}

inst_rec *rec_of(rm_object *obj) {
    size_t i;
    return addr_index_get(&index_, obj, &i) ? &W->inst[i] : NULL; /* NULL: dropped by the model, not yet collected */
}

void predict(void) {
    index_build();
    for (size_t i = 0; i < W->ninst; i++) {
        inst_rec *rec = &W->inst[i];
        const family *o = &W->fam[rec->fam];
        const fam_plan *p = &W->plan[rec->fam];
        rec->hookv = NULL;
        for (int n = 0; n < NAMES; n++)
            rec->exp[n] = rec->val[n] && (!p->replaced || field_index(o, n) < 0) ? map_obj(rec->val[n]) : NULL;
        if (!p->replaced) continue;
        for (int j = 0; j < p->next.nf; j++) {
            int name = p->next.name[j];
            if (p->src[j] >= 0) rec->exp[name] = map_obj(rec->val[o->name[p->src[j]]]);
            else if (p->init[j]) {
                int s = p->init_src[name];
                rec->exp[name] = need(init_value(s >= 0 ? map_obj(rec->val[s]) : rm_none, p->delta), "init value");
            } else rec->exp[name] = map_obj(p->next.def[j]);
        }
        if (p->hook >= 0)
            rec->hookv = p->hook_src >= 0 ? map_obj(rec->val[p->hook_src])
                                          : need(rm_int((int64_t)rec->serial * 31 + W->round), "int");
    }
}

void model_commit(void) {
    for (size_t i = 0; i < W->ninst; i++) {
        inst_rec *rec = &W->inst[i];
        for (int n = 0; n < NAMES; n++) rec->val[n] = smoved(rec->exp[n]);
        if (rec->hookv) rec->val[W->plan[rec->fam].hook_name] = smoved(rec->hookv);
    }
    for (int t = 0; t < NTUPLES; t++)
        for (int k = 0; k < 2; k++) W->titems[t][k] = map_obj(W->titems[t][k]);
    for (int f = 0; f < FAMILIES; f++) {
        fam_plan *p = &W->plan[f];
        if (!p->replaced) continue;
        for (int j = 0; j < p->next.nf; j++) p->next.def[j] = map_obj(p->next.def[j]);
        p->next.cls = p->new_cls;
    }
    /* Defaults of classes that stay refer to the new objects too. */
    for (int f = 0; f < FAMILIES; f++)
        if (!W->plan[f].replaced)
            for (int j = 0; j < W->fam[f].nf; j++) W->fam[f].def[j] = map_obj(W->fam[f].def[j]);
    for (int f = 0; f < FAMILIES; f++)
        if (W->plan[f].replaced) W->fam[f] = W->plan[f].next;
    for (int k = 0; k < NFUNCS; k++)
        if (W->new_funcs[k]) W->funcs[k] = W->new_funcs[k];
}
