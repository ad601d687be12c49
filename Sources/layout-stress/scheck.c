/*
** scheck.c: the struct families' initializers and hook, the snapshot a
** rollback must restore, and the checks against the model (sworld.c).
**
** Each field is checked twice: its bytes as the C struct holds them, and
** its boxed value as rm_getattr reads it. Initializers and hooks check
** what they are given while the reload runs (the instance as predicted so
** far, the old-instance view reading every old field, the added and
** removed names), then compute what sworld.c predicted, from the view
** alone. A hook writes its field through the C pointer or rm_setattr; the
** one made to fail writes first: the rollback must undo it byte for byte.
*/
#include "layout_stress.h"

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_float(uint8_t k) { return k == RM_F32 || k == RM_F64; }
static int count_of(const sfield *f) { return f->count ? f->count : 1; }

/* Element e of field f as the bytes at `base` hold it. */
static elem peek(const unsigned char *base, const sfield *f, int e) {
    const unsigned char *p = base + f->offset + (size_t)e * kind_size(f->kind);
    elem v = {0};
    switch (f->kind) {
    case RM_I8: { int8_t x; memcpy(&x, p, 1); v.i = x; break; }
    case RM_I16: { int16_t x; memcpy(&x, p, 2); v.i = x; break; }
    case RM_I32: { int32_t x; memcpy(&x, p, 4); v.i = x; break; }
    case RM_U8: case RM_BOOL: { uint8_t x; memcpy(&x, p, 1); v.i = x; break; }
    case RM_U16: { uint16_t x; memcpy(&x, p, 2); v.i = x; break; }
    case RM_U32: { uint32_t x; memcpy(&x, p, 4); v.i = x; break; }
    case RM_F32: { float x; memcpy(&x, p, 4); v.d = x; break; }
    case RM_F64: memcpy(&v.d, p, 8); break;
    case RM_OBJECT: memcpy(&v.o, p, 8); break;
    default: memcpy(&v.i, p, 8); break;
    }
    return v;
}

static bool elem_eq(uint8_t kind, elem a, elem b) {
    if (kind == RM_OBJECT) return value_eq(a.o ? a.o : rm_none, b.o ? b.o : rm_none);
    if (is_float(kind)) return a.d == b.d;
    return a.i == b.i;
}

static const char *show(uint8_t kind, elem v) {
    static char bufs[4][64];
    static int next;
    char *b = bufs[next++ & 3];
    if (kind == RM_OBJECT) {
        rm_object *o = v.o ? v.o : rm_none;
        if (rm_is_int(o)) snprintf(b, 64, "int %lld", (long long)rm_int_value(o));
        else if (rm_is_str(o)) snprintf(b, 64, "str '%s'", rm_str_cstr(o));
        else snprintf(b, 64, "%s at %p", rm_type_name(RM_TYPE(o)), (void *)o);
    } else if (is_float(kind)) snprintf(b, 64, "%g", v.d);
    else snprintf(b, 64, "%lld", (long long)v.i);
    return b;
}

/* Whether a boxed value is the element's. */
static bool box_is(uint8_t kind, rm_object *got, elem want) {
    if (!got) return false;
    if (kind == RM_OBJECT) return value_eq(got, want.o ? want.o : rm_none);
    if (is_float(kind)) return rm_is_float(got) && rm_float_value(got) == want.d;
    if (kind == RM_BOOL) return rm_is_bool(got) && (got == rm_true) == (want.i != 0);
    return rm_is_int(got) && rm_int_value(got) == want.i;
}

/* Whether rm_getattr reads the field's values (an array: a tuple). */
static bool reads(rm_object *got, const sfield *f, const elem *want) {
    if (!f->count) return box_is(f->kind, got, want[0]);
    if (!got || !rm_is_tuple(got) || rm_tuple_size(got) != f->count) return false;
    for (int e = 0; e < f->count; e++)
        if (!box_is(f->kind, rm_tuple_get(got, (size_t)e), want[e])) return false;
    return true;
}

/* An old value as the initializers read it: an int, from element 0. */
static int64_t as_int(const sfield *f, rm_object *v) {
    uint8_t kind = f->kind;
    if (f->count) v = rm_is_tuple(v) && rm_tuple_size(v) ? rm_tuple_get(v, 0) : rm_none;
    if (kind == RM_OBJECT) return rm_is_int(v) ? rm_int_value(v) : 0;
    if (rm_is_bool(v)) return v == rm_true;
    if (rm_is_float(v)) return (int64_t)rm_float_value(v);
    return rm_is_int(v) ? rm_int_value(v) : 0;
}

static const char *nm(int n) { return pool[n]; }

/* A check inside an initializer or hook boxes fields, which allocates: an
   allocation fault armed by main.c may fire there. It is not a finding:
   the call then fails with it, as module code would. */
static bool injected;

static bool fault_hit(void) {
    if (!rm_error_occurred() || !strstr(rm_error_message(), "injected fault")) return false;
    injected = true;
    return true;
}

/* ---- One instance against the model ---- */

/* Field by field, as bytes and boxed; the bytes past the struct zero. */
static void check_instance(const char *stage, const srec *rec, rm_object *o, const slayout *l, elem (*values)[MAXE]) {
    if (o->ob_type != (rm_type *)l->cls) {
        check_fail("%s: struct #%u is a %s, not a %s", stage, rec->serial, rm_type_name(o->ob_type),
                   rm_type_name((rm_type *)l->cls));
        return;
    }
    if (GC_size(o) < l->size) check_fail("%s: struct #%u: %zu bytes hold a %u-byte struct", stage, rec->serial, GC_size(o), l->size);
    for (int j = 0; j < l->nf; j++) {
        const sfield *f = &l->f[j];
        const elem *want = values[f->name];
        for (int e = 0; e < count_of(f); e++) {
            elem got = peek((const unsigned char *)o, f, e);
            if (!elem_eq(f->kind, got, want[e]))
                check_fail("%s: struct #%u (family %d).%s[%d] (%s @%u) holds %s, not %s", stage, rec->serial, rec->fam,
                           nm(f->name), e, kind_name(f->kind), f->offset, show(f->kind, got), show(f->kind, want[e]));
        }
        rm_object *got = rm_getattr_name(o, W->names[f->name]);
        if (!got && fault_hit()) continue;
        if (!reads(got, f, want))
            check_fail("%s: struct #%u.%s reads %s (%s)", stage, rec->serial, nm(f->name),
                       got ? rm_type_name(RM_TYPE(got)) : "nothing", got ? "" : rm_error_message());
        rm_error_clear();
    }
    const unsigned char *b = (const unsigned char *)o;
    for (size_t at = l->size; at < GC_size(o); at++)
        if (b[at]) {
            check_fail("%s: struct #%u holds non-zero bytes past its %u-byte struct (at %zu)", stage, rec->serial,
                       l->size, at);
            break;
        }
}

/* The places that hold instances name them at `now` (after the walk) or
   `obj` (before, or after a rollback). */
static void check_holders(const char *stage, bool after_walk) {
    size_t n = rm_list_size(SW->list);
    if (n != SW->n) check_fail("%s: the list holds %zu struct instances, not %zu", stage, n, SW->n);
    for (size_t i = 0; i < n && i < SW->n; i++) {
        rm_object *want = after_walk ? SW->rec[i].now : SW->rec[i].obj;
        if (rm_list_get(SW->list, i) != want)
            check_fail("%s: list item %zu is %p, not struct #%u at %p", stage, i, (void *)rm_list_get(SW->list, i),
                       SW->rec[i].serial, (void *)want);
    }
    for (int k = 0; k < 8 && SW->n; k++) {
        const srec *h = &SW->rec[SW->handle_rec[k]], *w = &SW->rec[SW->weak_rec[k]];
        rm_object *hw = after_walk ? h->now : h->obj, *ww = after_walk ? w->now : w->obj;
        if (rm_handle_get(SW->handle[k]) != hw)
            check_fail("%s: handle %d holds %p, not struct #%u at %p", stage, k, (void *)rm_handle_get(SW->handle[k]),
                       h->serial, (void *)hw);
        if (rm_weakref_get(SW->weak[k]) != ww)
            check_fail("%s: weak reference %d reads %p, not struct #%u at %p", stage, k,
                       (void *)rm_weakref_get(SW->weak[k]), w->serial, (void *)ww);
    }
    size_t pos = 0;
    rm_object *k, *v;
    while (rm_dict_next(SW->keys, &pos, &k, &v)) {
        srec *rec = srec_of(k);
        rm_object *want = rec ? (after_walk ? rec->now : rec->obj) : NULL;
        if (!rec || k != want || rec->serial != rm_int_value(v))
            check_fail("%s: a dict key is %p (%s struct #%lld)", stage, (void *)k, rec ? "not where it should be," : "no",
                       (long long)rm_int_value(v));
        else if (rm_dict_get(SW->keys, k) != v)
            check_fail("%s: the dict does not find its key struct #%u", stage, rec->serial);
        rm_error_clear();
    }
}

/* Before a reload: every instance as the model says (the walk's index is
   not built: the dict keys are checked by lookup only). */
void scheck_model(const char *stage) {
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        check_instance(stage, rec, rec->obj, &SW->fam[rec->fam], rec->val);
    }
    size_t n = rm_list_size(SW->list);
    for (size_t i = 0; i < n && i < SW->n; i++)
        if (rm_list_get(SW->list, i) != SW->rec[i].obj) check_fail("%s: list item %zu moved", stage, i);
}

/* After the walk (before and after commit): as predicted, hooks' writes
   included, each instance where the list says it is now. */
void scheck_predicted(const char *stage) {
    static elem final[NAMES][MAXE];
    for (size_t i = 0; i < SW->n; i++) {
        srec *rec = &SW->rec[i];
        const sfam_plan *p = &SW->plan[rec->fam];
        const slayout *l = p->replaced ? &p->next : &SW->fam[rec->fam];
        memcpy(final, rec->exp, sizeof final);
        int h = p->replaced && l->hook.arity >= 0 ? sfield_of(l, l->hook.name) : -1;
        if (h >= 0)
            for (int e = 0; e < count_of(&l->f[h]); e++)
                final[l->hook.name][e] = shook_value(l->f[h].kind, rec->serial, W->round);
        check_instance(stage, rec, rec->now, l, final);
        if (rec->now != rec->obj) {
            if (!p->replaced || !p->layout) check_fail("%s: struct #%u moved, yet its layout did not change", stage, rec->serial);
            if (rec->now->ob_hash != rec->obj->ob_hash)
                check_fail("%s: struct #%u moved without its identity hash", stage, rec->serial);
        } else if (GC_size(rec->obj) < l->size)
            check_fail("%s: struct #%u was not moved out of %zu bytes", stage, rec->serial, GC_size(rec->obj));
    }
    check_holders(stage, true);
}

/* ---- Initializers and the hook ---- */

static int fam_of(rm_object *self) { return sfam_of_new((rm_object *)RM_TYPE(self)); }

/* The view reads each old field's values, mapped, and nothing else. */
static void check_view(rm_object *view, const srec *rec, const char *who) {
    const slayout *o = &SW->fam[rec->fam];
    elem want[MAXE];
    for (int n = 0; n < NAMES; n++) {
        rm_object *got = rm_getattr_name(view, W->names[n]);
        int i = sfield_of(o, n);
        if (!got && fault_hit()) continue;
        if (i >= 0) {
            const sfield *f = &o->f[i];
            for (int e = 0; e < MAXE; e++) {
                want[e] = rec->val[n][e];
                if (f->kind == RM_OBJECT && want[e].o) want[e].o = map_obj(want[e].o);
            }
            if (!reads(got, f, want))
                check_fail("struct #%u: %s view: old.%s reads %s, not its old %s", rec->serial, who, nm(n),
                           got ? rm_type_name(RM_TYPE(got)) : "nothing", kind_name(f->kind));
        } else if (got)
            check_fail("struct #%u: %s view: old.%s reads something, but the old class has no such field", rec->serial,
                       who, nm(n));
        rm_error_clear();
    }
}

static rm_object *sinit_common(int name, rm_object *self, rm_object *const *args, size_t nargs) {
    int f = fam_of(self);
    if (f < 0 || nargs != 1) {
        check_fail("a struct initializer of %s ran on a %s", nm(name), rm_type_name(RM_TYPE(self)));
        rm_error_set(RM_ERR_RUNTIME, "initializer on an unexpected object");
        return NULL;
    }
    const sfam_plan *p = &SW->plan[f];
    const slayout *o = &SW->fam[f];
    int j = sfield_of(&p->next, name);
    if (j < 0 || !p->init[j]) check_fail("struct: the initializer of %s ran though an old field fills it", nm(name));
    srec *rec = srec_of(self);
    if (rec && rec->now != self) check_fail("struct #%u: its initializer ran on its old address", rec->serial);
    if (rec && j >= 0) {
        check_view(args[0], rec, "initializer");
        const sfield *nf = &p->next.f[j];
        elem def[MAXE];
        for (int e = 0; e < MAXE; e++) {
            def[e] = nf->def[e];
            if (nf->kind == RM_OBJECT && def[e].o) def[e].o = map_obj(def[e].o);
        }
        rm_object *now = rm_getattr_name(self, W->names[name]);
        if (now || !fault_hit()) if (!reads(now, nf, def)) check_fail("struct #%u: in its initializer, %s does not read its default", rec->serial, nm(name));
        rm_error_clear();
    }
    if (injected) {
        injected = false;
        rm_error_set(RM_ERR_RUNTIME, "injected fault (in a check of the initializer)");
        return NULL;
    }
    if (rec && (long)(rec - SW->rec) == SW->fail_rec && name == SW->fail_init_name) {
        rm_error_set(RM_ERR_RUNTIME, "struct initializer fails on purpose");
        return NULL;
    }
    int s = p->init_src[name], si = s >= 0 ? sfield_of(o, s) : -1;
    rm_object *old = si >= 0 ? rm_getattr_name(args[0], W->names[s]) : rm_none;
    if (!old && fault_hit()) {
        /* The initializer's own read failed: it fails with the fault, and
           the flag is not left for the next call. */
        injected = false;
        return NULL;
    }
    if (!old) {
        check_fail("the struct initializer of %s cannot read old.%s: %s", nm(name), nm(s), rm_error_message());
        return NULL;
    }
    uint8_t kind = j >= 0 ? p->next.f[j].kind : RM_OBJECT;
    elem v = sinit_value(kind, si >= 0 ? as_int(&o->f[si], old) : 0, p->delta);
    return kind == RM_OBJECT && !v.o ? NULL : elem_box(kind, v);
}

#define SINIT(n)                                                                     \
    static rm_object *sinit_##n(rm_object *self, rm_object *const *args, size_t nargs) { \
        return sinit_common(n, self, args, nargs);                                   \
    }
SINIT(0) SINIT(1) SINIT(2) SINIT(3) SINIT(4) SINIT(5) SINIT(6) SINIT(7) SINIT(8) SINIT(9) SINIT(10) SINIT(11)
rm_cfunction sinit_fns[NAMES] = {sinit_0, sinit_1, sinit_2, sinit_3, sinit_4,  sinit_5,
                                 sinit_6, sinit_7, sinit_8, sinit_9, sinit_10, sinit_11};

/* The hook's (added, removed): the new fields no old one fills, the old
   fields no new one takes, each in its class's order. */
static void check_names(rm_object *const *args, const sfam_plan *p, const slayout *o) {
    bool taken[2 * MAXSF] = {false};
    int added = 0, removed = 0;
    bool ok = rm_is_tuple(args[0]) && rm_is_tuple(args[1]);
    for (int j = 0; j < p->next.nf; j++) {
        if (p->src[j] >= 0) {
            taken[p->src[j]] = true;
            continue;
        }
        ok = ok && (size_t)added < rm_tuple_size(args[0]) &&
             value_eq(rm_tuple_get(args[0], (size_t)added), W->names[p->next.f[j].name]);
        added++;
    }
    for (int i = 0; i < o->nf; i++) {
        if (taken[i]) continue;
        ok = ok && (size_t)removed < rm_tuple_size(args[1]) &&
             value_eq(rm_tuple_get(args[1], (size_t)removed), W->names[o->f[i].name]);
        removed++;
    }
    if (!ok || rm_tuple_size(args[0]) != (size_t)added || rm_tuple_size(args[1]) != (size_t)removed)
        check_fail("struct hook: the added or removed names differ from the model's (%d, %d expected)", added, removed);
}

rm_object *shook_fn(rm_object *self, rm_object *const *args, size_t nargs) {
    int f = fam_of(self);
    const sfam_plan *p = f >= 0 ? &SW->plan[f] : NULL;
    if (!p || (int)nargs != p->next.hook.arity) {
        check_fail("a struct __reload__ with %zu arguments ran on a %s", nargs, rm_type_name(RM_TYPE(self)));
        rm_error_set(RM_ERR_RUNTIME, "hook on an unexpected object");
        return NULL;
    }
    const slayout *l = &p->next;
    srec *rec = srec_of(self);
    if (rec) {
        if (rec->now != self) check_fail("struct #%u: its hook ran on its old address", rec->serial);
        check_instance("in its hook", rec, self, l, rec->exp);
        if (nargs >= 2) check_names(args, p, &SW->fam[f]);
        if (nargs == 3) check_view(args[2], rec, "hook");
    }
    if (injected) {
        injected = false;
        rm_error_set(RM_ERR_RUNTIME, "injected fault (in a check of the hook)");
        return NULL;
    }
    /* A rebased copy keeps its own hook, whose field the new base may have
       removed: it then writes nothing (so the model predicts). */
    int h = sfield_of(l, l->hook.name);
    const sfield *hf = h >= 0 ? &l->f[h] : NULL;
    elem v = shook_value(hf ? hf->kind : RM_I64, rec ? rec->serial : 0, W->round);
    if (hf && l->hook.direct) {
        /* Module code's way: through the pointer, unjournaled. */
        unsigned char *at = (unsigned char *)self + hf->offset;
        for (int e = 0; e < count_of(hf); e++, at += kind_size(hf->kind)) {
            switch (kind_size(hf->kind)) {
            case 1: { uint8_t x = (uint8_t)v.i; memcpy(at, &x, 1); break; }
            case 2: { uint16_t x = (uint16_t)v.i; memcpy(at, &x, 2); break; }
            case 4: {
                if (hf->kind == RM_F32) { float x = (float)v.d; memcpy(at, &x, 4); }
                else { uint32_t x = (uint32_t)v.i; memcpy(at, &x, 4); }
                break;
            }
            default: memcpy(at, &v, 8); break;
            }
        }
    } else if (hf) {
        rm_object *box = elem_box(hf->kind, v);
        if (!box || rm_setattr_name(self, W->names[l->hook.name], box) < 0) return NULL;
    }
    if (rec && (long)(rec - SW->rec) == SW->fail_rec && SW->fail_hook) {
        rm_error_set(RM_ERR_RUNTIME, "struct hook fails on purpose");
        return NULL;
    }
    return rm_none;
}

/* ---- The snapshot a rollback must restore ---- */

/* RM_FLAG_MIGRATED: a walk's mark, not restored by a rollback (check.c). */
#define WALK_MARK 0x0040u

typedef struct ssnap {
    unsigned char *bytes;
    size_t size;
} ssnap;

static ssnap *snaps;
static size_t nsnaps;
static rm_object *keys_snap, *cls_snap[SFAMILIES][6];

static void cls_parts(rm_object *c, rm_object **out) {
    rm_type *t = (rm_type *)c;
    rm_object *parts[6] = {t->cls_fields, t->cls_defaults, t->cls_index, t->cls_dict, t->cls_reload,
                           (rm_object *)t->cls_struct};
    memcpy(out, parts, sizeof parts);
}

static void stake(rm_object *o, ssnap *s) {
    s->size = GC_size(o);
    if (!(s->bytes = malloc(s->size))) fatal("out of memory");
    memcpy(s->bytes, o, s->size);
    ((rm_object *)s->bytes)->ob_flags &= (uint16_t)~WALK_MARK;
}

void ssnapshot_free(void) {
    for (size_t i = 0; i < nsnaps; i++) free(snaps[i].bytes);
    free(snaps);
    snaps = NULL;
    nsnaps = 0;
}

void ssnapshot_take(void) {
    ssnapshot_free();
    snaps = malloc((SW->n ? SW->n : 1) * sizeof *snaps);
    if (!snaps) fatal("out of memory");
    for (nsnaps = 0; nsnaps < SW->n; nsnaps++) stake(SW->rec[nsnaps].obj, &snaps[nsnaps]);
    keys_snap = SW->keys;
    for (int f = 0; f < SFAMILIES; f++) cls_parts(SW->fam[f].cls, cls_snap[f]);
}

/* Every instance byte for byte at its old address, and every place that
   held it holding it there. */
void scheck_rolled_back(void) {
    if (SW->n != nsnaps) check_fail("%zu struct instances held, %zu snapshot", SW->n, nsnaps);
    for (size_t i = 0; i < SW->n && i < nsnaps; i++) {
        ssnap now;
        stake(SW->rec[i].obj, &now);
        const ssnap *was = &snaps[i];
        if (now.size != was->size || memcmp(now.bytes, was->bytes, now.size)) {
            size_t at = 0;
            while (at < now.size && at < was->size && now.bytes[at] == was->bytes[at]) at++;
            check_fail("struct #%u (family %d): its bytes differ from offset %zu (of %zu)", SW->rec[i].serial,
                       SW->rec[i].fam, at, now.size);
        }
        free(now.bytes);
    }
    check_holders("after rollback", false);
    for (int f = 0; f < SFAMILIES; f++) {
        rm_object *parts[6];
        cls_parts(SW->fam[f].cls, parts);
        if (memcmp(parts, cls_snap[f], sizeof parts)) check_fail("struct family %d: its class's tables changed", f);
    }
}

/* ---- The report ---- */

/* Whether a hook or an initializer runs after the walk in this round's
   reload: then every struct class of it has a line, its layout changed or
   not (module code may write any struct instance directly, so the reload
   copies the unchanged classes' instances too). */
static bool code_runs(void) {
    for (int f = 0; f < FAMILIES; f++) {
        const fam_plan *p = &W->plan[f];
        if (!p->replaced) continue;
        if (p->hook >= 0) return true;
        for (int j = 0; j < p->next.nf; j++)
            if (p->init[j]) return true;
    }
    for (int f = 0; f < SFAMILIES; f++) {
        const sfam_plan *p = &SW->plan[f];
        if (!p->replaced) continue;
        if (p->next.hook.arity >= 0) return true;
        for (int j = 0; j < p->next.nf; j++)
            if (p->init[j]) return true;
    }
    return false;
}

size_t slisted(void) {
    size_t n = 0;
    bool all = code_runs();
    for (int f = 0; f < SFAMILIES; f++) n += SW->plan[f].replaced && (SW->plan[f].listed || all);
    return n;
}

bool scheck_class_line(const rm_class_migration *line, size_t *moved_seen) {
    int f = sfam_of_new(line->new_cls);
    if (f < 0) return false;
    const sfam_plan *p = &SW->plan[f];
    if (line->old_cls != SW->fam[f].cls) check_fail("struct family %d: its line names another old class", f);
    size_t held = 0, moved = 0, inits = 0;
    for (size_t k = 0; k < SW->n; k++)
        if (SW->rec[k].fam == f) held++, moved += SW->rec[k].now != SW->rec[k].obj;
    for (int j = 0; j < p->next.nf; j++) inits += p->init[j];
    *moved_seen += moved;
    if (line->instances < held) check_fail("struct family %d: %zu instances retyped, %zu held", f, line->instances, held);
    if (line->moved < moved) check_fail("struct family %d: %zu moved, %zu seen moving", f, line->moved, moved);
    /* Unlike a slot class's line, a struct class's counts the instances a
       hook alone listed (same layout) as migrated in place. */
    if (line->in_place + line->moved != line->instances || (!p->layout && line->moved))
        check_fail("struct family %d: %zu in place + %zu moved of %zu (the layout %s)", f, line->in_place, line->moved,
                   line->instances, p->layout ? "changes" : "stays");
    if (line->initialized != inits * line->instances)
        check_fail("struct family %d: %zu initialized, not %zu", f, line->initialized, inits * line->instances);
    if (line->hooks_run != (p->next.hook.arity >= 0 ? line->instances : 0))
        check_fail("struct family %d: %zu hooks run of %zu", f, line->hooks_run, line->instances);
    return true;
}

/* A refused change's message names the class, the field and both kinds
   ("struct S_r3: field b changes from i32 to i8"). */
void scheck_refusal(const char *err) {
    if (!strstr(err, "changes from")) return; /* another refusal (a slot family's conflict) came first */
    for (int f = 0; f < SFAMILIES; f++) {
        const sfam_plan *p = &SW->plan[f];
        if (!p->replaced || !p->refused) continue;
        const sfield *nf = &p->next.f[p->refused_at], *of = &SW->fam[f].f[p->src[p->refused_at]];
        char want[256], a[32], b[32];
        snprintf(a, sizeof a, of->count ? "%s[%d]" : "%s", kind_name(of->kind), of->count);
        snprintf(b, sizeof b, nf->count ? "%s[%d]" : "%s", kind_name(nf->kind), nf->count);
        snprintf(want, sizeof want, "struct %s: field %s changes from %s to %s", rm_type_name((rm_type *)p->new_cls),
                 nm(nf->name), a, b);
        if (strstr(err, want)) return;
    }
    check_fail("the refusal names no refused field as predicted: %s", err);
}
