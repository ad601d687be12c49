/*
** layout.c: module "layout" for the layout-changing reload tests
** (ReloadLayoutTests, ReloadLayoutRollbackTests), and, built with -DLEAF,
** module "layoutleaf".
**
** VERSION is only the generation (Class.version() returns it, so a test can
** tell old methods from new ones); the fields come from one variant macro:
**
**   (none)       Pair(a=1, b=2)           Triple(a=1, b=2, c=3)   Empty(u=0)
**   ADD          Pair(n=42, a, b)         Triple(n=42, m=43, a, b, c)
**   REMOVE       Pair as (none)           Triple(a, c), hook(added, removed, old)
**   READD        Pair as (none)           Triple(a, c, b=99), hook(added, removed, old)
**   REORDER      Pair(b, a)               Triple(c, a, b)
**   RENAME       Pair(a, bee<-b)          Triple(x=7, y=8, a, bee<-b, c)
**   INIT         Pair(a, b, e=-2)         Triple(a, c, d=-1)      Empty(u, v=0)
**                  e = old.a + old.b        d = 1000*old.a + old.b (b removed)
**                  hook()                   hook(added, removed)
**   SHUFFLE      Pair(a, n=42, b), hook() Triple(n=42, a, b, c), hook(added, removed)
**                  -DSHUFFLE_ORDER=2:       Triple(n=42, a, c, b)
**   TWO_RENAMES  Pair(a, b1<-b, b2<-b)    (a bad rule: refused by the reload)
**   RENAME_REUSE Pair(a, b=5, bee<-b)     (the rename wins: b is a new field)
**   BAD_INIT     an initializer for field "nope", which Pair lacks (init fails)
**
** New fields go first (ADD, RENAME) so that the instances must store them:
** an added field at the end with a constant default needs no room at all
** (READD: b is left to its default, or to what the attribute dict says).
** Sizes (24-byte header, 8-byte slots, Boehm rounds to 16): a Pair has room
** for one more slot, a Triple for none (only its dict word while it has no
** attribute dict).
**
** INIT and SHUFFLE extras: -DFAIL_INIT_AT=n or -DFAIL_HOOK_AT=n fails the
** n-th call of the initializer or the hook of class FAIL_CLASS (1 Pair, 2
** Triple); -DHOOK_SETS_ATTRIBUTE makes the Pair hook set attribute `seen`.
** calls() = [e initializer, d initializer, Pair hook, Triple hook] calls of
** this library. The d initializer keeps its first old-instance view in
** state `views`, and both check that `self` reads the default meanwhile.
**
** State `log` (a list): the REMOVE and READD hooks append
** (added, removed, old.b or None when the view has no b).
**
** LEAF (module layoutleaf, never reloaded, imports nothing): define(cls)
** creates class Sub(cls) at run time, with its own field s = 5.
*/
#include <remap/module.h>
RM_MODULE_ABI;

#ifndef FAIL_INIT_AT
#define FAIL_INIT_AT 0
#endif
#ifndef FAIL_HOOK_AT
#define FAIL_HOOK_AT 0
#endif
#ifndef SHUFFLE_ORDER
#define SHUFFLE_ORDER 1
#endif
#ifndef FAIL_CLASS
#define FAIL_CLASS 2
#endif

#ifdef LEAF

static rm_object *define(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *classes = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "classes"), *base;
    if (rm_args_parse(args, nargs, "O!", &rm_class_type, &base) < 0) return NULL;
    rm_object *sub = classes ? rm_class_new("Sub", base, rm_function_module(self)) : NULL;
    if (!sub || rm_class_add_field(sub, "s", rm_int(5)) < 0 || rm_list_append(classes, sub) < 0) return NULL;
    return sub;
}

int rm_module_init(rm_builder *m) {
    if (!rm_def_state(m, "classes", rm_list_new(0))) return -1;
    return rm_def_function(m, "define", define, 1) ? 0 : -1;
}

#else

/* Calls of this library's initializers and hooks (see calls()). */
static int64_t counts[4];

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

static rm_object *calls(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *list = rm_list_new(4);
    for (size_t i = 0; list && i < 4; i++)
        if (rm_list_append(list, rm_int(counts[i])) < 0) return NULL;
    return list;
}

/* State `name` of the module of the function being called. */
__attribute__((unused)) static rm_object *state(const char *name) {
    rm_object *v = rm_dict_get_str(rm_module_dict(rm_function_module(rm_function_current())), name);
    if (!v) rm_error_set(RM_ERR_KEY, "layout: no state %s", name);
    return v;
}

__attribute__((unused)) static int64_t int_attr(rm_object *obj, const char *name, bool *ok) {
    rm_object *v = rm_getattr(obj, name);
    if (!v || !rm_is_int(v)) {
        *ok = false;
        if (v) rm_error_set(RM_ERR_TYPE, "layout: %s is not an int", name);
        return 0;
    }
    return rm_int_value(v);
}

#if defined(REMOVE) || defined(READD)
/* Logs what the hook was given: (added, removed, old.b or None). */
static rm_object *log_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    rm_object *added, *removed, *old;
    if (rm_args_parse(args, nargs, "O!O!O", &rm_tuple_type, &added, &rm_tuple_type, &removed, &old) < 0) return NULL;
    rm_object *b = rm_getattr(old, "b");
    if (!b) rm_error_clear();
    rm_object *items[3] = {added, removed, b ? b : rm_get_none()};
    rm_object *entry = rm_tuple_of(3, items), *log = entry ? state("log") : NULL;
    return log && rm_list_append(log, entry) == 0 ? rm_get_none() : NULL;
}
#endif

#if defined(INIT) || defined(SHUFFLE)
static bool fails(int cls, int64_t call, int64_t at) { return cls == FAIL_CLASS && at > 0 && call == at; }

static rm_object *pair_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    if (fails(1, ++counts[2], FAIL_HOOK_AT)) {
        rm_error_set(RM_ERR_VALUE, "Pair hook refuses call %lld", (long long)counts[2]);
        return NULL;
    }
#ifdef HOOK_SETS_ATTRIBUTE
    /* An attribute no slot holds: the instance is given an attribute dict. */
    if (rm_setattr(self, "seen", rm_get_true()) < 0) return NULL;
#endif
    return rm_get_none();
}

static rm_object *triple_hook(rm_object *self, rm_object *const *args, size_t nargs) {
    if (fails(2, ++counts[3], FAIL_HOOK_AT)) {
        rm_error_set(RM_ERR_VALUE, "Triple hook refuses call %lld", (long long)counts[3]);
        return NULL;
    }
    return rm_get_none();
}
#endif

#ifdef INIT
/* Fails with a clear message if `self` does not read `field` as its
   default while the initializer runs (module.h promises it does). */
static bool reads_default(rm_object *self, const char *field, int64_t dflt) {
    bool ok = true;
    int64_t v = int_attr(self, field, &ok);
    if (ok && v != dflt) {
        rm_error_set(RM_ERR_VALUE, "layout: %s read %lld during its initializer", field, (long long)v);
        ok = false;
    }
    return ok;
}

static rm_object *init_e(rm_object *self, rm_object *const *args, size_t nargs) {
    if (fails(1, ++counts[0], FAIL_INIT_AT)) {
        rm_error_set(RM_ERR_VALUE, "e initializer refuses call %lld", (long long)counts[0]);
        return NULL;
    }
    rm_object *old;
    if (rm_args_parse(args, nargs, "O", &old) < 0) return NULL;
    bool ok = reads_default(self, "e", -2);
    int64_t a = ok ? int_attr(old, "a", &ok) : 0, b = ok ? int_attr(old, "b", &ok) : 0;
    return ok ? rm_int(a + b) : NULL;
}

static rm_object *init_d(rm_object *self, rm_object *const *args, size_t nargs) {
    if (fails(2, ++counts[1], FAIL_INIT_AT)) {
        rm_error_set(RM_ERR_VALUE, "d initializer refuses call %lld", (long long)counts[1]);
        return NULL;
    }
    rm_object *views = state("views"), *old;
    if (rm_args_parse(args, nargs, "O", &old) < 0) return NULL;
    if (!views || (rm_list_size(views) == 0 && rm_list_append(views, old) < 0)) return NULL;
    bool ok = reads_default(self, "d", -1);
    int64_t a = ok ? int_attr(old, "a", &ok) : 0, b = ok ? int_attr(old, "b", &ok) : 0;
    return ok ? rm_int(1000 * a + b) : NULL;
}
#endif

static int fields(rm_object *cls, const char *const *names, const int64_t *defaults, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (rm_def_field(cls, names[i], rm_int(defaults[i])) < 0) return -1;
    return 0;
}

#define FIELDS(cls, ...)                                                                     \
    fields(cls, (const char *const[]){__VA_ARGS__}, cls##_defaults,                          \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Non-zero on failure. */
static int define_pair(rm_object *pair) {
#if defined(ADD)
    static const int64_t pair_defaults[] = {42, 1, 2};
    return FIELDS(pair, "n", "a", "b");
#elif defined(REORDER)
    static const int64_t pair_defaults[] = {2, 1};
    return FIELDS(pair, "b", "a");
#elif defined(RENAME)
    static const int64_t pair_defaults[] = {1, 2};
    return FIELDS(pair, "a", "bee") || rm_def_field_renamed(pair, "bee", "b");
#elif defined(INIT)
    static const int64_t pair_defaults[] = {1, 2, -2};
    return FIELDS(pair, "a", "b", "e") || rm_def_field_init(pair, "e", init_e) ||
           rm_def_method(pair, "__reload__", pair_hook, 0);
#elif defined(SHUFFLE)
    static const int64_t pair_defaults[] = {1, 42, 2};
    return FIELDS(pair, "a", "n", "b") || rm_def_method(pair, "__reload__", pair_hook, 0);
#elif defined(RENAME_REUSE)
    static const int64_t pair_defaults[] = {1, 5, 2};
    return FIELDS(pair, "a", "b", "bee") || rm_def_field_renamed(pair, "bee", "b");
#elif defined(TWO_RENAMES)
    static const int64_t pair_defaults[] = {1, 2, 2};
    return FIELDS(pair, "a", "b1", "b2") || rm_def_field_renamed(pair, "b1", "b") ||
           rm_def_field_renamed(pair, "b2", "b");
#else
    static const int64_t pair_defaults[] = {1, 2};
    return FIELDS(pair, "a", "b");
#endif
}

static int define_triple(rm_object *triple) {
#if defined(ADD)
    static const int64_t triple_defaults[] = {42, 43, 1, 2, 3};
    return FIELDS(triple, "n", "m", "a", "b", "c");
#elif defined(REMOVE)
    static const int64_t triple_defaults[] = {1, 3};
    return FIELDS(triple, "a", "c") || rm_def_method(triple, "__reload__", log_hook, 3);
#elif defined(READD)
    static const int64_t triple_defaults[] = {1, 3, 99};
    return FIELDS(triple, "a", "c", "b") || rm_def_method(triple, "__reload__", log_hook, 3);
#elif defined(REORDER)
    static const int64_t triple_defaults[] = {3, 1, 2};
    return FIELDS(triple, "c", "a", "b");
#elif defined(RENAME)
    static const int64_t triple_defaults[] = {7, 8, 1, 2, 3};
    return FIELDS(triple, "x", "y", "a", "bee", "c") || rm_def_field_renamed(triple, "bee", "b");
#elif defined(SHUFFLE) && SHUFFLE_ORDER == 2
    static const int64_t triple_defaults[] = {42, 1, 3, 2};
    return FIELDS(triple, "n", "a", "c", "b") || rm_def_method(triple, "__reload__", triple_hook, 2);
#elif defined(SHUFFLE)
    static const int64_t triple_defaults[] = {42, 1, 2, 3};
    return FIELDS(triple, "n", "a", "b", "c") || rm_def_method(triple, "__reload__", triple_hook, 2);
#elif defined(INIT)
    static const int64_t triple_defaults[] = {1, 3, -1};
    return FIELDS(triple, "a", "c", "d") || rm_def_field_init(triple, "d", init_d) ||
           rm_def_method(triple, "__reload__", triple_hook, 2);
#else
    static const int64_t triple_defaults[] = {1, 2, 3};
    return FIELDS(triple, "a", "b", "c");
#endif
}

#ifdef BAD_INIT
static rm_object *init_nope(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(0); }
#endif

int rm_module_init(rm_builder *m) {
    rm_object *pair = rm_def_class(m, "Pair", NULL);
    rm_object *triple = pair ? rm_def_class(m, "Triple", NULL) : NULL;
    rm_object *empty = triple ? rm_def_class(m, "Empty", NULL) : NULL;
    if (!empty || define_pair(pair) != 0 || define_triple(triple) != 0) return -1;
    if (rm_def_field(empty, "u", rm_int(0)) < 0) return -1;
#ifdef INIT
    if (rm_def_field(empty, "v", rm_int(0)) < 0) return -1;
#endif
#ifdef BAD_INIT
    if (rm_def_field_init(pair, "nope", init_nope) < 0) return -1;
#endif
    if (rm_def_method(pair, "version", version, 0) < 0 || rm_def_method(triple, "version", version, 0) < 0) return -1;
    if (!rm_def_function(m, "calls", calls, 0)) return -1;
    if (!rm_def_state(m, "log", rm_list_new(0)) || !rm_def_state(m, "views", rm_list_new(0))) return -1;
    return 0;
}

#endif
