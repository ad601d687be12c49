/*
** The dict and set code built with RM_DEBUG_TINY_TABLES (every table starts
** at the smallest index, so resizing runs all the time): inserts, lookups,
** deletions, copies, clears, rehashes, and the heap checker after each
** phase. Built and run by run.sh; prints "tiny tables: N passed, 0 failed".
*/
#include "remap/remap.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef RM_DEBUG_TINY_TABLES
#error "build with -DRM_DEBUG_TINY_TABLES"
#endif

static int passed, failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) passed++;                                                         \
        else {                                                                      \
            failed++;                                                               \
            fprintf(stderr, "%s:%d: failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
                    rm_error_message());                                            \
        }                                                                           \
    } while (0)

static void check_heap(void) {
    int rc = rm_heap_check();
    CHECK(rc == 0);
    if (rc) rm_error_clear();
}

int main(void) {
    if (rm_init() != 0) return 2;
    rm_acquire();
    rm_object *root = rm_list_new(0);
    rm_handle h = rm_handle_new(root);

    /* A dict growing from the smallest size, one key at a time. */
    for (int n = 0; n <= 40; n++) {
        rm_object *d = rm_dict_new();
        CHECK(d != NULL);
        rm_list_append(root, d);
        /* Lookups in an empty and a full smallest table must end. */
        CHECK(rm_dict_get(d, rm_int(12345)) == NULL);
        for (int i = 0; i < n; i++) CHECK(rm_dict_set(d, rm_int(i), rm_int(i * 10)) == 0);
        CHECK(rm_dict_size(d) == (size_t)n);
        for (int i = 0; i < n; i++) {
            rm_object *v = rm_dict_get(d, rm_int(i));
            CHECK(v && rm_int_value(v) == i * 10);
        }
        CHECK(rm_dict_get(d, rm_int(-1)) == NULL);
        CHECK(rm_dict_contains(d, rm_int(n + 1)) == 0);
        /* Delete every other key, then add new ones. */
        for (int i = 0; i < n; i += 2) CHECK(rm_dict_del(d, rm_int(i)) == 0);
        for (int i = 0; i < n; i++) CHECK(rm_dict_contains(d, rm_int(i)) == (i % 2 ? 1 : 0));
        for (int i = n; i < 2 * n; i++) CHECK(rm_dict_set_str(d, "k", rm_int(i)) == 0);
        rm_object *c = rm_dict_copy(d);
        CHECK(c && rm_dict_size(c) == rm_dict_size(d));
        size_t collisions = 0;
        CHECK(rm_dict_rehash(d, &collisions) == 0);
        CHECK(collisions == 0);
        rm_dict_clear(c);
        CHECK(rm_dict_size(c) == 0 && rm_dict_get(c, rm_int(1)) == NULL);
        CHECK(rm_dict_set(c, rm_str("again"), rm_get_none()) == 0);
    }
    check_heap();

    /* Sets, with str keys. */
    rm_object *s = rm_set_new();
    rm_list_append(root, s);
    CHECK(rm_set_contains(s, rm_str("absent")) == 0);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "name-%d", i);
        CHECK(rm_set_add(s, rm_str(name)) == 0);
        CHECK(rm_set_contains(s, rm_str(name)) == 1);
    }
    CHECK(rm_set_size(s) == 200);
    for (int i = 0; i < 200; i += 3) {
        snprintf(name, sizeof name, "name-%d", i);
        CHECK(rm_set_discard(s, rm_str(name)) == 1);
    }
    CHECK(rm_set_rehash(s, NULL) == 0);
    CHECK(rm_set_contains(s, rm_str("name-1")) == 1 && rm_set_contains(s, rm_str("name-0")) == 0);
    rm_set_clear(s);
    CHECK(rm_set_size(s) == 0 && rm_set_contains(s, rm_str("name-1")) == 0);
    rm_collect();
    check_heap();

    rm_handle_free(h);
    rm_release();
    printf("tiny tables: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
