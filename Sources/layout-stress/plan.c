/*
** plan.c: deriving a round's new classes from the old ones, and making
** them.
**
** A derivation keeps, removes or renames each old field (a rename gets a
** rule naming the old field), sometimes swaps two names (each takes the
** other's old field), adds fields (some with an initializer reading one
** old field), sets stale rename rules (naming a field the old class lacks:
** the field is matched by its name) and initializers on fields an old
** field fills (they must not run), changes defaults, reorders, and may add
** a __reload__ hook of 0, 2 or 3 arguments. A round that wants a conflict
** gives one field a rule naming an old field another one takes. Which old
** field each new one takes is then computed as layout.c documents it
** (plan_match), independently of it.
*/
#include "layout_stress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fresh_name(rng *r, const family *a, const family *b) {
    int start = (int)rng_below(r, NAMES);
    for (int k = 0; k < NAMES; k++) {
        int n = (start + k) % NAMES;
        if (field_index(a, n) < 0 && field_index(b, n) < 0) return n;
    }
    return -1;
}

/* An old field for an initializer or a hook to read: one every instance
   the plan reaches has (a subclass rebased with family 0 may lack the
   fields its base gained after it was made). */
static int old_source(rng *r, int f) {
    const family *o = &W->fam[f];
    if (!o->nf) return -1;
    int name = o->name[rng_below(r, (size_t)o->nf)];
    return f == 0 && W->sub && field_index(&W->fam[2], name) < 0 ? -1 : name;
}

static void push_field(fam_plan *p, int name, rm_object *def, int rule) {
    int j = p->next.nf++;
    p->next.name[j] = name;
    p->next.def[j] = def;
    p->rule[j] = rule;
}

/* The matching of layout.c (see the top of this file). */
static void plan_match(fam_plan *p, const family *o) {
    int taken[MAXF];
    for (int i = 0; i < MAXF; i++) taken[i] = -1;
    p->nadded = p->nremoved = 0;
    for (int j = 0; j < p->next.nf; j++) p->src[j] = -1;
    /* Renames first, while the old class has the old name and not the new. */
    for (int j = 0; j < p->next.nf; j++) {
        int name = p->next.name[j], from = p->rule[j];
        int i = from >= 0 && field_index(o, name) < 0 ? field_index(o, from) : -1;
        if (i < 0) continue;
        if (taken[i] >= 0) p->conflict = true;
        p->src[j] = i;
        taken[i] = j;
    }
    /* Then names, for the old fields no rename took. */
    for (int j = 0; j < p->next.nf; j++) {
        int name = p->next.name[j];
        if (p->src[j] < 0) {
            int i = field_index(o, name);
            if (i >= 0 && taken[i] < 0) {
                p->src[j] = i;
                taken[i] = j;
            }
        }
        int i = p->src[j];
        p->init[j] = i < 0 && p->init_rule[j];
        if (i < 0) p->added[p->nadded++] = name;
    }
    for (int i = 0; i < o->nf; i++)
        if (taken[i] < 0) p->removed[p->nremoved++] = o->name[i];
}

void plan_derive(rng *r, int f, bool want_conflict) {
    const family *o = &W->fam[f];
    fam_plan *p = &W->plan[f];
    memset(p, 0, sizeof *p);
    p->replaced = true;
    p->hook = -1;
    for (int n = 0; n < NAMES; n++) p->init_src[n] = -1;
    /* Styles: the same fields (a hook, or nothing to do); one field more
       and nothing removed (the walk's case for the dict word); fields only
       removed (stashes); anything. */
    unsigned style = (unsigned)rng_below(r, 10);
    bool same = style == 0, grow = style <= 3 && !same, shrink = style == 4;
    unsigned removes = grow ? 0 : shrink ? 35 : 15, renames = grow || shrink ? 0 : 15;
    for (int i = 0; i < o->nf; i++) {
        unsigned c = same ? 99 : (unsigned)rng_below(r, 100);
        if (c < removes) continue;
        int name = o->name[i], rule = -1;
        if (c < removes + renames && (name = fresh_name(r, o, &p->next)) >= 0) rule = o->name[i];
        else name = o->name[i];
        push_field(p, name, same || rng_chance(r, 70) ? o->def[i] : random_value(r, true), rule);
    }
    if (!same && p->next.nf >= 2 && rng_chance(r, 15)) {
        /* A swap of two names: each takes the other's old field. */
        int a = (int)rng_below(r, (size_t)p->next.nf), b = (int)rng_below(r, (size_t)p->next.nf);
        if (a != b && p->rule[a] < 0 && p->rule[b] < 0) {
            int na = p->next.name[a];
            p->next.name[a] = p->next.name[b];
            p->rule[a] = na;
            p->next.name[b] = na;
            p->rule[b] = p->next.name[a];
        }
    }
    size_t adds = same || shrink ? 0 : grow ? 1 : rng_below(r, 4);
    for (size_t k = 0; k < adds; k++) {
        int name = rng_chance(r, 85) ? fresh_name(r, o, &p->next) : (int)rng_below(r, NAMES);
        if (name < 0 || field_index(&p->next, name) >= 0) continue;
        int j = p->next.nf;
        push_field(p, name, random_value(r, true), -1);
        if (rng_chance(r, 60)) {
            p->init_rule[j] = true;
            p->init_src[name] = rng_chance(r, 85) ? old_source(r, f) : -1;
        }
    }
    for (int j = 0; j < p->next.nf && !same; j++) {
        if (p->rule[j] >= 0 || p->init_rule[j]) continue;
        if (rng_chance(r, 8)) { /* a stale rule: the old class lacks it */
            int z = fresh_name(r, o, &p->next);
            if (z >= 0) p->rule[j] = z;
        } else if (rng_chance(r, 8)) { /* an initializer that must not run */
            p->init_rule[j] = true;
            p->init_src[p->next.name[j]] = -1;
        }
    }
    if (want_conflict && o->nf) {
        /* Two renames of one old field (a rename and a field reusing the
           old name is no conflict: the rename wins). */
        int from = o->name[rng_below(r, (size_t)o->nf)];
        for (int j = 0, set = 0; j < p->next.nf && set < 2; j++)
            if (!p->init_rule[j] && p->next.name[j] != from && field_index(o, p->next.name[j]) < 0 && rng_chance(r, 60)) {
                p->rule[j] = from;
                set++;
            }
    }
    if (!same && rng_chance(r, grow ? 80 : 50)) /* reorder */
        for (int j = p->next.nf - 1; j > 0; j--) {
            int k = (int)rng_below(r, (size_t)j + 1), n = p->next.name[j], rl = p->rule[j];
            rm_object *d = p->next.def[j];
            bool ir = p->init_rule[j];
            p->next.name[j] = p->next.name[k], p->next.def[j] = p->next.def[k];
            p->rule[j] = p->rule[k], p->init_rule[j] = p->init_rule[k];
            p->next.name[k] = n, p->next.def[k] = d, p->rule[k] = rl, p->init_rule[k] = ir;
        }
    p->delta = (int64_t)rng_below(r, 1000) + 1;
    if (rng_chance(r, 40)) {
        static const int arity[3] = {0, 2, 3};
        p->hook = arity[rng_below(r, 3)];
        p->hook_name = (int)rng_below(r, NAMES);
        p->hook_src = p->hook == 3 && rng_chance(r, 70) ? old_source(r, f) : -1;
    }
    plan_match(p, o);
}

/* Whether instances change layout (as layout.c's same_fields decides),
   and whether they are migrated at all. */
static void plan_layout(fam_plan *p, const family *o) {
    bool same = o->nf == p->next.nf;
    for (int j = 0; j < p->next.nf && same; j++)
        same = o->name[j] == p->next.name[j] && rm_equal(o->def[j], p->next.def[j]) == 1;
    p->layout = !same;
    p->listed = p->layout || p->hook >= 0;
}

/* Makes each new class with its fields, rules and hook (the new functions
   its defaults may name are made first, by funcs_build). */
void plan_build(void) {
    for (int f = 0; f < FAMILIES; f++) {
        fam_plan *p = &W->plan[f];
        if (!p->replaced) continue;
        char name[32];
        snprintf(name, sizeof name, "C%d_r%d", f, W->round);
        rm_object *c = need(rm_class_new(name, NULL, NULL), "rm_class_new");
        p->new_cls = c;
        for (int j = 0; j < p->next.nf; j++) {
            if (p->next.def[j] == SELF) p->next.def[j] = c;
            if (rm_class_add_field(c, pool[p->next.name[j]], p->next.def[j]) < 0)
                fatal("rm_class_add_field: %s", rm_error_message());
        }
        plan_layout(p, &W->fam[f]);
        for (int j = 0; j < p->next.nf; j++) {
            const char *n = pool[p->next.name[j]];
            if (p->rule[j] >= 0 && rm_class_set_field_renamed(c, n, pool[p->rule[j]]) < 0)
                fatal("rm_class_set_field_renamed: %s", rm_error_message());
            if (p->init_rule[j] && rm_class_set_field_init(c, n, init_fns[p->next.name[j]]) < 0)
                fatal("rm_class_set_field_init: %s", rm_error_message());
        }
        if (p->hook >= 0 && rm_class_set_method(c, "__reload__", hook_fn, p->hook) < 0)
            fatal("rm_class_set_method: %s", rm_error_message());
    }
}

rm_mapping *plan_mapping(void) {
    rm_mapping *m = rm_mapping_new();
    if (!m) fatal("rm_mapping_new: %s", rm_error_message());
    for (int f = 0; f < FAMILIES; f++)
        if (W->plan[f].replaced && rm_mapping_add(m, W->fam[f].cls, W->plan[f].new_cls) < 0)
            fatal("rm_mapping_add: %s", rm_error_message());
    for (int k = 0; k < NFUNCS; k++)
        if (W->new_funcs[k] && rm_mapping_add(m, W->funcs[k], W->new_funcs[k]) < 0)
            fatal("rm_mapping_add: %s", rm_error_message());
    return m;
}

/* The round's plans, for replaying a failure by hand: old fields -> new
   fields, "<-x" the old field taken under another name, "*" a changed
   default. */
static char line[1024];
static size_t at;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (at < sizeof line) at += (size_t)vsnprintf(line + at, sizeof line - at, fmt, ap);
    va_end(ap);
}

void plan_describe(void) {
    for (int f = 0; f < FAMILIES; f++) {
        const fam_plan *p = &W->plan[f];
        const family *o = &W->fam[f];
        if (!p->replaced) continue;
        at = 0;
        put("  family %d: (", f);
        for (int i = 0; i < o->nf; i++) put("%s%s", i ? " " : "", pool[o->name[i]]);
        put(") -> (");
        for (int j = 0; j < p->next.nf; j++) {
            int name = p->next.name[j];
            put("%s%s", j ? " " : "", pool[name]);
            if (p->src[j] >= 0 && o->name[p->src[j]] != name) put("<-%s", pool[o->name[p->src[j]]]);
            if (p->rule[j] >= 0) put("[rule %s]", pool[p->rule[j]]);
            if (p->init[j]) put("[init from %s]", p->init_src[name] >= 0 ? pool[p->init_src[name]] : "-");
            else if (p->init_rule[j]) put("[unused init]");
            if (p->src[j] >= 0 && p->next.def[j] != o->def[p->src[j]]) put("*");
        }
        put(")%s%s", p->layout ? "" : " same layout", p->conflict ? " CONFLICT" : "");
        if (p->hook >= 0)
            put(" hook/%d sets %s%s%s", p->hook, pool[p->hook_name], p->hook_src >= 0 ? " from old " : "",
                p->hook_src >= 0 ? pool[p->hook_src] : "");
        say("%s", line);
    }
}

/*
** Family 2, where it is a subclass of family 0 and family 0 is replaced:
** the copy rm_mapping_add_subclasses made (`pairs`), predicted as rebase.c
** says: the new base's fields, then the subclass's own (those the old base
** lacks: by name), defaults from where each comes. Its rules, initializers
** and hook are the new base's, found through the base. The copy's fields
** are checked against the prediction.
*/
void plan_rebase(rm_object *pairs) {
    const fam_plan *b = &W->plan[0];
    fam_plan *p = &W->plan[2];
    const family *o = &W->fam[2], *ob = &W->fam[0];
    if (!W->sub || !b->replaced) return;
    memcpy(p, b, sizeof *p);
    p->conflict = false;
    for (int i = 0; i < o->nf; i++) {
        int at = field_index(ob, o->name[i]);
        if (at >= 0 && o->def[i] == ob->def[at]) continue;
        int j = field_index(&p->next, o->name[i]);
        if (j < 0) push_field(p, o->name[i], o->def[i], -1);
        else p->next.def[j] = o->def[i];
    }
    p->new_cls = NULL;
    for (size_t k = 0; k + 1 < rm_list_size(pairs); k += 2)
        if (rm_list_get(pairs, k) == o->cls) p->new_cls = rm_list_get(pairs, k + 1);
    if (!p->new_cls) {
        check_fail("the subclass of family 0 was not rebased");
        p->replaced = false;
        return;
    }
    rm_object *fields = ((rm_type *)p->new_cls)->cls_fields;
    bool same = rm_tuple_size(fields) == (size_t)p->next.nf;
    for (int j = 0; same && j < p->next.nf; j++)
        same = value_eq(rm_tuple_get(fields, (size_t)j), W->names[p->next.name[j]]);
    if (!same)
        check_fail("the rebased subclass has %zu fields, not the %d predicted", rm_tuple_size(fields), p->next.nf);
    plan_match(p, o);
    plan_layout(p, o);
}
