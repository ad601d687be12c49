/*
** check.c: the initializers and the hook the new classes get, the
** snapshot a rollback must restore, and the checks against the model.
**
** The initializers and hooks check what they are given while the reload
** runs: the old-instance view must read every old field's value (mapped)
** and nothing else, an initializer must find its field at the new default,
** a hook must find the instance as predicted (migrated, initialized) and
** the added and removed names. Then they compute what world.c predicted,
** from the view alone, so that instances the model no longer holds (dropped
** but not yet collected) get the same treatment.
*/
#include "layout_stress.h"

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value, for messages. */
static const char *label(rm_object *o) {
    static char bufs[4][96];
    static int next;
    char *b = bufs[next++ & 3];
    if (!o) snprintf(b, 96, "(nothing)");
    else if (rm_is_int(o)) snprintf(b, 96, "int %lld", (long long)rm_int_value(o));
    else if (rm_is_str(o)) snprintf(b, 96, "str '%s'", rm_str_cstr(o));
    else if (rm_is_none(o)) snprintf(b, 96, "None");
    else if (rm_is_class(o)) snprintf(b, 96, "class %s at %p", rm_type_name((rm_type *)o), (void *)o);
    else if (rm_is_instance(o)) {
        inst_rec *rec = rec_of(o);
        snprintf(b, 96, "%s instance #%ld at %p", rm_type_name(RM_TYPE(o)), rec ? (long)rec->serial : -1L, (void *)o);
    } else snprintf(b, 96, "%s at %p", rm_type_name(RM_TYPE(o)), (void *)o);
    return b;
}

static const char *nm(int n) { return rm_str_cstr(W->names[n]); }

static int fam_of_new(rm_object *cls) {
    for (int f = 0; f < FAMILIES; f++)
        if (W->plan[f].replaced && W->plan[f].new_cls == cls) return f;
    return -1;
}

/* ---- Initializers and the hook ---- */

/* The view reads each old field, mapped, and fails for any other name. */
static void check_view(rm_object *view, const inst_rec *rec, const family *o, const char *who) {
    for (int n = 0; n < NAMES; n++) {
        rm_object *got = rm_getattr_name(view, W->names[n]);
        if (field_index(o, n) >= 0) {
            rm_object *want = map_obj(rec->val[n]);
            if (!value_eq(got, want)) {
                check_fail("#%u (family %d): %s view: old.%s reads %s, not %s (%s)", rec->serial, rec->fam, who, nm(n),
                           label(got), label(want), got ? "" : rm_error_message());
                rm_object *io = rec->obj;
                fprintf(stderr, "  instance aux %u flags %x size %zu words:", io->ob_aux, io->ob_flags, GC_size(io));
                for (size_t w = 2; w < GC_size(io) / 8; w++) fprintf(stderr, " %s", label(((rm_object **)io)[w]));
                fprintf(stderr, "\n");
            }
        } else if (got) {
            check_fail("#%u: %s view: old.%s reads %s, but the old class has no such field", rec->serial, who, nm(n),
                       label(got));
        }
        rm_error_clear();
    }
}

static rm_object *init_common(int name, rm_object *self, rm_object *const *args, size_t nargs) {
    int f = fam_of_new((rm_object *)RM_TYPE(self));
    if (f < 0 || nargs != 1) {
        check_fail("an initializer of %s ran on %s", nm(name), label(self));
        rm_error_set(RM_ERR_RUNTIME, "initializer on an unexpected object");
        return NULL;
    }
    fam_plan *p = &W->plan[f];
    int j = field_index(&p->next, name);
    if (j < 0 || !p->init[j]) check_fail("the initializer of %s ran though an old field fills it", nm(name));
    inst_rec *rec = rec_of(self);
    if (rec && j >= 0) {
        check_view(args[0], rec, &W->fam[f], "initializer");
        rm_object *now = rm_getattr_name(self, W->names[name]), *want = map_obj(p->next.def[j]);
        if (!value_eq(now, want))
            check_fail("#%u: in its initializer, field %s reads %s, not its default %s", rec->serial, nm(name),
                       label(now), label(want));
        rm_error_clear();
    }
    if (self == W->fail_obj && name == W->fail_init_name) {
        rm_error_set(RM_ERR_RUNTIME, "initializer fails on purpose");
        return NULL;
    }
    int s = p->init_src[name];
    rm_object *old = s >= 0 ? rm_getattr_name(args[0], W->names[s]) : rm_none;
    if (!old) check_fail("the initializer of %s cannot read old.%s: %s", nm(name), nm(s), rm_error_message());
    return old ? init_value(old, p->delta) : NULL;
}

#define INIT(n)                                                                     \
    static rm_object *init_##n(rm_object *self, rm_object *const *args, size_t nargs) { \
        return init_common(n, self, args, nargs);                                   \
    }
INIT(0) INIT(1) INIT(2) INIT(3) INIT(4) INIT(5) INIT(6) INIT(7) INIT(8) INIT(9) INIT(10) INIT(11)
rm_cfunction init_fns[NAMES] = {init_0, init_1, init_2, init_3, init_4, init_5,
                                init_6, init_7, init_8, init_9, init_10, init_11};

static void check_names(rm_object *tuple, const int *names, int n, const char *what) {
    bool ok = rm_is_tuple(tuple) && rm_tuple_size(tuple) == (size_t)n;
    for (int i = 0; ok && i < n; i++) ok = value_eq(rm_tuple_get(tuple, (size_t)i), W->names[names[i]]);
    if (!ok) check_fail("hook: the %s names differ from the model's (%d expected)", what, n);
}

rm_object *hook_fn(rm_object *self, rm_object *const *args, size_t nargs) {
    int f = fam_of_new((rm_object *)RM_TYPE(self));
    if (f < 0 || (int)nargs != W->plan[f].hook) {
        check_fail("a __reload__ with %zu arguments ran on %s", nargs, label(self));
        rm_error_set(RM_ERR_RUNTIME, "hook on an unexpected object");
        return NULL;
    }
    fam_plan *p = &W->plan[f];
    inst_rec *rec = rec_of(self);
    if (rec) {
        for (int n = 0; n < NAMES; n++) {
            rm_object *got = rm_getattr_name(self, W->names[n]);
            if (!value_eq(got, rec->exp[n]))
                check_fail("#%u: in its hook, %s reads %s, not %s", rec->serial, nm(n), label(got), label(rec->exp[n]));
            rm_error_clear();
        }
        if (nargs >= 2) {
            check_names(args[0], p->added, p->nadded, "added");
            check_names(args[1], p->removed, p->nremoved, "removed");
        }
        if (nargs == 3) check_view(args[2], rec, &W->fam[f], "hook");
    }
    rm_object *v = p->hook_src >= 0 ? rm_getattr_name(args[2], W->names[p->hook_src])
                                    : rm_int(rec ? (int64_t)rec->serial * 31 + W->round : 0);
    if (!v) return NULL;
    if (self == W->fail_obj && W->fail_hook) {
        /* A change first: the journal must undo it. */
        rm_object *seven = rm_int(-7);
        if (seven) rm_setattr_name(self, W->names[p->hook_name], seven);
        rm_error_set(RM_ERR_RUNTIME, "hook fails on purpose");
        return NULL;
    }
    return rm_setattr_name(self, W->names[p->hook_name], v) < 0 ? NULL : rm_none;
}

/* ---- The snapshot a rollback must restore ---- */

#define MAXD (NAMES + 4)

typedef struct snap {
    unsigned char *bytes; /* the whole allocation */
    size_t size;
    rm_type *type;
    uint32_t hash;
    uint16_t flags, aux;
    size_t nslots, nd;
    rm_object *slot[MAXF + 2], *dict, *dk[MAXD], *dv[MAXD], *attr[NAMES];
} snap;

/* In malloc memory: the snapshot keeps nothing alive that the rollback
   would otherwise lose (rm_heap_check then sees a dangling slot). */
static snap *snaps;
static size_t nsnaps;
static rm_object *cls_parts[FAMILIES][7], *titems[NTUPLES][2], *closures[NFUNCS];

static void cls_parts_of(rm_object *c, rm_object **out) {
    rm_type *t = (rm_type *)c;
    rm_object *parts[7] = {t->cls_fields, t->cls_defaults, t->cls_index, t->cls_dict,
                           t->cls_reload, t->cls_name, t->cls_base};
    memcpy(out, parts, sizeof parts);
}

/* The flag bit a walk leaves on an instance it migrated without listing
   (layout.c, RM_FLAG_MIGRATED): meaningful only while the instance's class
   is a target of a transaction, cleared by the next walk that retypes it,
   not restored by a rollback. Not part of what the API shows. */
#define WALK_MARK 0x0040u

static void take(rm_object *o, snap *s) {
    memset(s, 0, sizeof *s);
    s->size = GC_size(o);
    if (!(s->bytes = malloc(s->size))) fatal("out of memory");
    memcpy(s->bytes, o, s->size);
    ((rm_object *)s->bytes)->ob_flags &= (uint16_t)~WALK_MARK;
    s->type = o->ob_type;
    s->hash = o->ob_hash;
    s->flags = o->ob_flags & (uint16_t)~WALK_MARK;
    s->aux = o->ob_aux;
    s->nslots = rm_instance_slot_count(o);
    if (s->nslots > MAXF + 2) fatal("an instance stores %zu fields", s->nslots);
    for (size_t i = 0; i < s->nslots; i++) s->slot[i] = rm_instance_slot(o, i);
    s->dict = rm_instance_dict(o);
    size_t pos = 0;
    rm_object *k, *v;
    while (s->dict && rm_dict_next(s->dict, &pos, &k, &v)) {
        if (s->nd == MAXD) fatal("an attribute dict holds more than %d names", MAXD);
        s->dk[s->nd] = k;
        s->dv[s->nd++] = v;
    }
    for (int n = 0; n < NAMES; n++) s->attr[n] = rm_getattr_name(o, W->names[n]);
    rm_error_clear();
}

void snapshot_free(void) {
    for (size_t i = 0; i < nsnaps; i++) free(snaps[i].bytes);
    free(snaps);
    snaps = NULL;
    nsnaps = 0;
}

void snapshot_take(void) {
    snapshot_free();
    snaps = malloc((W->ninst ? W->ninst : 1) * sizeof *snaps);
    if (!snaps) fatal("out of memory");
    for (nsnaps = 0; nsnaps < W->ninst; nsnaps++) take(W->inst[nsnaps].obj, &snaps[nsnaps]);
    for (int f = 0; f < FAMILIES; f++) cls_parts_of(W->fam[f].cls, cls_parts[f]);
    for (int t = 0; t < NTUPLES; t++)
        for (int k = 0; k < 2; k++) titems[t][k] = rm_tuple_get(W->tuples[t], (size_t)k);
    for (int k = 0; k < NFUNCS; k++) closures[k] = rm_function_closure(W->funcs[k]);
}

/* Past the slots an instance uses (ob_aux of them, after the dict word)
   its allocation holds zeros: a stale pointer there would keep its
   object alive, and a later migration treats that room as free. */
bool tail_clean(rm_object *o) {
    const unsigned char *b = (const unsigned char *)o;
    for (size_t at = sizeof(rm_object) + (1 + (size_t)o->ob_aux) * sizeof(void *); at < GC_size(o); at++)
        if (b[at]) return false;
    return true;
}

void check_tails(const char *stage) {
    for (size_t i = 0; i < W->ninst; i++)
        if (!tail_clean(W->inst[i].obj))
            check_fail("%s: #%u holds non-zero bytes past its %u slots", stage, W->inst[i].serial,
                       W->inst[i].obj->ob_aux);
}

/* Every instance byte for byte as the snapshot found it, as far as the API
   shows it: header, stored fields, attribute dict and its entries in
   order, what each name reads. */
void check_rolled_back(void) {
    if (W->ninst != nsnaps) check_fail("%zu instances held, %zu snapshot", W->ninst, nsnaps);
    for (size_t i = 0; i < W->ninst && i < nsnaps; i++) {
        snap now, *was = &snaps[i];
        take(W->inst[i].obj, &now);
        unsigned id = W->inst[i].serial;
        if (now.size != was->size || memcmp(now.bytes, was->bytes, now.size)) {
            size_t at = 0;
            while (at < now.size && at < was->size && now.bytes[at] == was->bytes[at]) at++;
            check_fail("#%u: its bytes differ from offset %zu (of %zu; %u slots)", id, at, now.size, was->aux);
        }
        free(now.bytes);
        if (now.type != was->type)
            check_fail("#%u: class %s, was %s", id, label((rm_object *)now.type), label((rm_object *)was->type));
        if (now.hash != was->hash || now.flags != was->flags || now.aux != was->aux)
            check_fail("#%u: header hash/flags/aux %x/%x/%u, was %x/%x/%u", id, now.hash, now.flags, now.aux, was->hash,
                       was->flags, was->aux);
        if (now.nslots != was->nslots) check_fail("#%u: %zu stored fields, was %zu", id, now.nslots, was->nslots);
        for (size_t k = 0; k < now.nslots && k < was->nslots; k++)
            if (now.slot[k] != was->slot[k])
                check_fail("#%u: slot %zu holds %s, was %s", id, k, label(now.slot[k]), label(was->slot[k]));
        if (now.dict != was->dict) check_fail("#%u: attribute dict %p, was %p", id, (void *)now.dict, (void *)was->dict);
        bool same = now.nd == was->nd;
        for (size_t k = 0; same && k < now.nd; k++) same = now.dk[k] == was->dk[k] && now.dv[k] == was->dv[k];
        if (!same) check_fail("#%u: the attribute dict's entries changed (%zu, were %zu)", id, now.nd, was->nd);
        for (int n = 0; n < NAMES; n++)
            if (now.attr[n] != was->attr[n])
                check_fail("#%u: .%s reads %s, read %s", id, nm(n), label(now.attr[n]), label(was->attr[n]));
    }
    for (int f = 0; f < FAMILIES; f++) {
        rm_object *parts[7];
        cls_parts_of(W->fam[f].cls, parts);
        if (memcmp(parts, cls_parts[f], sizeof parts)) check_fail("family %d: its class's tables changed", f);
    }
    for (int t = 0; t < NTUPLES; t++)
        for (int k = 0; k < 2; k++)
            if (rm_tuple_get(W->tuples[t], (size_t)k) != titems[t][k])
                check_fail("tuple %d item %d is %s, was %s", t, k, label(rm_tuple_get(W->tuples[t], (size_t)k)),
                           label(titems[t][k]));
    for (int k = 0; k < NFUNCS; k++)
        if (rm_function_closure(W->funcs[k]) != closures[k]) check_fail("function %d: its closure changed", k);
}

/* ---- The prediction ---- */

static bool is_field(const family *f, rm_object *key) {
    for (int i = 0; i < f->nf; i++)
        if (value_eq(key, W->names[f->name[i]])) return true;
    return false;
}

static int name_of(rm_object *key) {
    for (int n = 0; n < NAMES; n++)
        if (value_eq(key, W->names[n])) return n;
    return -1;
}

void check_predicted(const char *stage) {
    for (size_t i = 0; i < W->ninst; i++) {
        inst_rec *rec = &W->inst[i];
        rm_object *o = rec->obj, *final[NAMES];
        const fam_plan *p = &W->plan[rec->fam];
        const family *c = p->replaced ? &p->next : &W->fam[rec->fam];
        rm_object *cls = p->replaced ? p->new_cls : W->fam[rec->fam].cls;
        memcpy(final, rec->exp, sizeof final);
        if (rec->hookv) final[p->hook_name] = rec->hookv;
        if ((rm_object *)RM_TYPE(o) != cls)
            check_fail("%s: #%u is a %s", stage, rec->serial, label((rm_object *)RM_TYPE(o)));
        for (int n = 0; n < NAMES; n++) {
            rm_object *got = rm_getattr_name(o, W->names[n]);
            if (!value_eq(got, final[n]))
                check_fail("%s: #%u.%s reads %s, not %s", stage, rec->serial, nm(n), label(got), label(final[n]));
            rm_error_clear();
        }
        size_t stored = rm_instance_slot_count(o);
        if (stored > (size_t)c->nf) check_fail("%s: #%u stores %zu fields of %d", stage, rec->serial, stored, c->nf);
        for (size_t k = 0; k < stored && k < (size_t)c->nf; k++) {
            rm_object *s = rm_instance_slot(o, k);
            if (!value_eq(s ? s : rm_none, final[c->name[k]]))
                check_fail("%s: #%u slot %zu (%s) holds %s, not %s", stage, rec->serial, k, nm(c->name[k]), label(s),
                           label(final[c->name[k]]));
        }
        /* The attribute dict: every attribute that is not a field, and no
           other (field names in it are storage, read above). */
        rm_object *d = rm_instance_dict(o), *k, *v;
        size_t pos = 0, seen = 0, want = 0;
        while (d && rm_dict_next(d, &pos, &k, &v)) {
            if (is_field(c, k)) continue;
            int n = name_of(k);
            if (n < 0 || !value_eq(v, final[n]))
                check_fail("%s: #%u has attribute %s = %s, not %s", stage, rec->serial, rm_str_cstr(k), label(v),
                           label(n >= 0 ? final[n] : NULL));
            seen++;
        }
        for (int n = 0; n < NAMES; n++) want += final[n] && field_index(c, n) < 0;
        if (seen != want) check_fail("%s: #%u has %zu attributes, not %zu", stage, rec->serial, seen, want);
    }
    for (int t = 0; t < NTUPLES; t++)
        for (int k = 0; k < 2; k++)
            if (rm_tuple_get(W->tuples[t], (size_t)k) != map_obj(W->titems[t][k]))
                check_fail("%s: tuple %d item %d is %s", stage, t, k, label(rm_tuple_get(W->tuples[t], (size_t)k)));
}

/* The report's line for each migrated class agrees with the plans. */
void check_class_lines(void) {
    size_t listed = 0;
    for (int f = 0; f < FAMILIES; f++) listed += W->plan[f].replaced && W->plan[f].listed;
    listed += slisted();
    if (rm_txn_class_count() != listed) check_fail("%zu class lines, not %zu", rm_txn_class_count(), listed);
    size_t moved_seen = 0;
    for (size_t i = 0; i < rm_txn_class_count(); i++) {
        const rm_class_migration *line = rm_txn_class(i);
        if (scheck_class_line(line, &moved_seen)) continue;
        int f = fam_of_new(line->new_cls);
        if (f < 0 || line->old_cls != W->fam[f].cls) {
            check_fail("class line %zu names classes the plans do not", i);
            continue;
        }
        const fam_plan *p = &W->plan[f];
        size_t held = 0, inits = 0;
        for (size_t k = 0; k < W->ninst; k++) held += W->inst[k].fam == f;
        for (int j = 0; j < p->next.nf; j++) inits += p->init[j];
        if (line->instances < held) check_fail("family %d: %zu instances retyped, %zu held", f, line->instances, held);
        if (line->in_place + line->moved != (p->layout ? line->instances : 0))
            check_fail("family %d: %zu in place + %zu moved of %zu", f, line->in_place, line->moved, line->instances);
        if (line->initialized != inits * line->instances)
            check_fail("family %d: %zu initialized, not %zu", f, line->initialized, inits * line->instances);
        if (line->hooks_run != (p->hook >= 0 ? line->instances : 0))
            check_fail("family %d: %zu hooks run of %zu", f, line->hooks_run, line->instances);
    }
}
