/*
** sregress.c: two regression checks of layout-stress's struct families,
** run once at the start of every run: exact reproductions of bugs the
** random rounds found (a rolled-back reload's subclass rebased; a struct
** class's object defaults left unwalked).
*/
#include "layout_stress.h"

#include "../../CSources/struct.h" /* rm_struct_class_make: a class without a builder */

#include <string.h>

/*
** A struct subclass made in a reload that is rolled back is garbage until
** a collection, yet it derives from the world's base class: the next
** reload that grows that base must not try to rebase it (it was refused:
** "struct T derives from S_r2, whose struct grows past ... into T's own
** fields"; seed 7 of layout-stress, round 9, before the fix in txn.c).
*/
void sregress_dead_subclass(void) {
    typedef struct { RM_INSTANCE_HEADER; int64_t x; } S1;
    typedef struct { RM_INSTANCE_HEADER; int64_t x, y, z; } S2;
    typedef struct { S1 base; int64_t t; } T1;
    const rm_field_spec s1[] = {RM_FIELD(S1, x, RM_I64), RM_FIELDS_END};
    const rm_field_spec s2[] = {RM_FIELD(S2, x, RM_I64), RM_FIELD(S2, y, RM_I64), RM_FIELD(S2, z, RM_I64), RM_FIELDS_END};
    const rm_field_spec t1[] = {RM_FIELD(T1, t, RM_I64), RM_FIELDS_END};
    check_begin("a struct subclass of a rolled-back reload is not rebased");
    rm_object *base = need(rm_struct_class_make("RegS", NULL, sizeof(S1), s1, NULL), "class");
    if (rm_txn_begin() < 0) fatal("rm_txn_begin: %s", rm_error_message());
    rm_object *dead = need(rm_struct_class_make("RegT", base, sizeof(T1), t1, NULL), "class");
    rm_txn_rollback();
    if (rm_txn_begin() < 0) fatal("rm_txn_begin: %s", rm_error_message());
    rm_object *grown = need(rm_struct_class_make("RegS", NULL, sizeof(S2), s2, NULL), "class");
    rm_mapping *m = rm_mapping_new();
    if (!m || rm_mapping_add(m, base, grown) < 0) fatal("rm_mapping_add: %s", rm_error_message());
    rm_object *pairs = rm_mapping_add_subclasses(m);
    if (!pairs) check_fail("the reload was refused: %s", rm_error_message());
    for (size_t k = 0; pairs && k < rm_list_size(pairs); k += 2)
        if (rm_list_get(pairs, k) == dead) check_fail("the dead subclass was rebased");
    rm_error_clear();
    rm_txn_rollback();
    rm_mapping_free(m);
    check_end();
}

/*
** An object default of a struct class follows the reloads that replace
** it: the default is kept as bytes in the class's field table (init),
** which the remap walk used to leave alone, so that every instance made
** after the reload started with the old object (found by layout-stress
** once struct defaults could be any object: seed 1, round 9). A rollback
** puts the old default back.
*/
void sregress_struct_defaults(void) {
    typedef struct { RM_INSTANCE_HEADER; rm_object *f; } D;
    const rm_field_spec d[] = {RM_FIELD(D, f, RM_OBJECT), RM_FIELDS_END};
    check_begin("a struct class's object default follows a reload");
    rm_object *old = need(rm_list_new(0), "list"), *neu = need(rm_list_new(0), "list");
    rm_object *cls = need(rm_struct_class_make("RegD", NULL, sizeof(D), d, NULL), "class");
    if (rm_def_field_default(cls, "f", old) < 0) fatal("rm_def_field_default: %s", rm_error_message());
    for (int commit = 0; commit < 2; commit++) {
        if (rm_txn_begin() < 0) fatal("rm_txn_begin: %s", rm_error_message());
        rm_mapping *m = rm_mapping_new();
        if (!m || rm_mapping_add(m, old, neu) < 0) fatal("rm_mapping_add: %s", rm_error_message());
        rm_remap_report rep;
        if (rm_txn_remap(m, &rep) < 0) fatal("rm_txn_remap: %s", rm_error_message());
        if (commit) rm_txn_commit();
        else rm_txn_rollback();
        rm_report_clear(&rep);
        rm_mapping_free(m);
        rm_object *inst = need(rm_instance_alloc(cls), "instance");
        rm_object *want = commit ? neu : old;
        if (((D *)inst)->f != want)
            check_fail("after a %s, a new instance's default is the %s object", commit ? "commit" : "rollback",
                       ((D *)inst)->f == old ? "old" : "new");
    }
    check_end();
}
