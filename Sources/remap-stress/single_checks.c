/*
** single_checks.c: the heap against the model after a remap: every live
** record, dict and set lookups, calls of instances' methods and functions,
** the mapping API, and reachability with the plan applied.
*/
#include "single.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Instances and functions called after each remap to check dispatch. */
#define CALL_SAMPLE 300

/* The runtime's own heap checker, as a check of its own named
   "<what>: rm_heap_check<when>". Returns the faults (0 or 1). */
size_t check_heap(const char *what, const char *when) {
    size_t faults = 0;
    check_begin("%s: rm_heap_check%s", what, when);
    if (rm_heap_check() != 0) {
        faults++;
        check_fail("rm_heap_check: %s", rm_error_message());
        rm_error_clear();
    }
    check_end();
    return faults;
}

/* Every live record against the heap, and its traverse. */
size_t check_all_records(const char *what) {
    size_t faults = 0;
    for (size_t i = 0; i < M.nrecs; i++) {
        if (!(M.recs[i].flags & RF_LIVE)) continue;
        size_t f = check_record(&M, (ref_t)i, what);
        if (!f) f = crosscheck_traverse(&M, (ref_t)i, what);
        faults += f;
    }
    for (size_t i = 0; i < M.nhandles; i++) {
        rm_object *got = rm_handle_get(M.handles[i].h);
        if (got != ref_ptr(&M, M.handles[i].target)) {
            faults++;
            check_fail("%s: handle %zu%s holds %p, expected %s", what, i, M.handles[i].is_root ? " (root)" : "",
                       (void *)got, describe(&M, M.handles[i].target));
        }
    }
    return faults;
}

/* Applies f to the model: every live record's references and every
   handle's target. */
void apply_to_model(void) {
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (!(rec->flags & RF_LIVE)) continue;
        for (uint32_t k = 0; k < rec->nrefs; k++) M.pool[rec->refs + k] = fref(M.pool[rec->refs + k]);
        if (rec->kind == K_WEAKREF && M.pool[rec->refs] >= 0) rec->v.target = ref_ptr(&M, M.pool[rec->refs]);
    }
    for (size_t i = 0; i < M.nhandles; i++) M.handles[i].target = fref(M.handles[i].target);
}

/* Lookups by the key itself and by a fresh equal object (str, int, float,
   tuple): the key's hash must be its content's, wherever it came from. */
size_t check_lookups(const char *what) {
    size_t faults = 0;
    for (size_t i = 0; i < M.nrecs; i++) {
        record *rec = &M.recs[i];
        if (!(rec->flags & RF_LIVE) || (rec->kind != K_DICT && rec->kind != K_SET)) continue;
        size_t stride = rec->kind == K_DICT ? 2 : 1;
        for (uint32_t k = 0; k < rec->nrefs; k += stride) {
            ref_t key = M.pool[M.recs[i].refs + k];
            ref_t val = stride == 2 ? M.pool[M.recs[i].refs + k + 1] : REF_NULL;
            rm_object *d = M.recs[i].ptr;
            rm_object *probe = NULL;
            if (key >= 0) {
                record *kr = &M.recs[key];
                char content[64];
                switch (kr->kind) {
                case K_STR:
                    str_content(kr->v.cid, content, sizeof content);
                    probe = rm_str(content);
                    break;
                case K_INT: probe = rm_int(kr->v.i); break;
                case K_FLOAT: probe = rm_float(kr->v.f); break;
                case K_TUPLE: {
                    probe = rm_tuple_new(kr->nrefs);
                    for (uint32_t j = 0; probe && j < M.recs[key].nrefs; j++)
                        rm_tuple_set(probe, j, ref_ptr(&M, M.pool[M.recs[key].refs + j]));
                    break;
                }
                default: break;
                }
            }
            rm_object *keys[2] = {ref_ptr(&M, key), probe};
            for (int j = 0; j < 2; j++) {
                if (!keys[j]) continue;
                bool ok = stride == 2 ? rm_dict_get(d, keys[j]) == ref_ptr(&M, val) : rm_set_contains(d, keys[j]) == 1;
                if (!ok) {
                    faults++;
                    check_fail("%s: %s: key %s not found%s", what, describe(&M, (ref_t)i), describe(&M, key),
                               j ? " by a fresh equal object" : "");
                }
            }
        }
    }
    return faults;
}

/* Method calls go through the instance's current class; calls of functions
   and bound methods reach the right C function with the right self. */
size_t check_calls(const char *what) {
    size_t faults = 0, done = 0;
    for (int tries = 0; tries < CALL_SAMPLE * 4 && done < CALL_SAMPLE; tries++) {
        ref_t id = pick_live(&M, &R, -1, false);
        if (id < 0) break;
        record *rec = &M.recs[id];
        rm_object *got = NULL, *want = NULL;
        if (rec->kind == K_INSTANCE) {
            ref_t cls = refs_of(&M, id)[0];
            want = ref_ptr(&M, refs_of(&M, cls)[3]);
            got = rm_call_method(rec->ptr, "tag", NULL, 0);
            if (!rm_is_instance_of(rec->ptr, ref_ptr(&M, cls))) {
                faults++;
                check_fail("%s: rm_is_instance_of(%s, its class) is false", what, describe(&M, id));
            }
        } else if (rec->kind == K_FUNCTION) {
            ref_t closure = refs_of(&M, id)[2];
            want = closure == REF_NULL ? rm_none : ref_ptr(&M, closure);
            got = rm_call(rec->ptr, NULL, 0);
        } else if (rec->kind == K_METHOD) {
            ref_t self = refs_of(&M, id)[1], fn = refs_of(&M, id)[0];
            if (fn < 0 || M.recs[fn].kind != K_FUNCTION) {
                /* Its function was mapped to None/True/False: the call is
                   refused with a TypeError, not made. */
                done++;
                rm_error_clear();
                got = rm_call(rec->ptr, NULL, 0);
                if (got || rm_error_occurred() != RM_ERR_TYPE) {
                    faults++;
                    check_fail("%s: calling %s, whose function is %s, returned %p (error: %s)", what, describe(&M, id),
                               describe(&M, fn), (void *)got, rm_error_message());
                }
                rm_error_clear();
                continue;
            }
            if (self >= 0 && M.recs[self].kind == K_FUNCTION) {
                ref_t closure = refs_of(&M, self)[2];
                want = closure == REF_NULL ? rm_none : ref_ptr(&M, closure);
            } else {
                want = ref_ptr(&M, self);
            }
            got = rm_call(rec->ptr, NULL, 0);
        } else {
            continue;
        }
        done++;
        if (got != want) {
            faults++;
            check_fail("%s: calling %s returned %p, expected %p%s%s", what, describe(&M, id), (void *)got, (void *)want,
                       got ? "" : ": ", got ? "" : rm_error_message());
            rm_error_clear();
        }
    }
    return faults;
}

/* Probes the mapping API's refusals and lookups. */
void check_mapping_api(rm_mapping *map, const plan *p) {
    check_begin("round %d: mapping API", round_no);
    if (rm_mapping_count(map) != p->n) check_fail("rm_mapping_count %zu, expected %zu", rm_mapping_count(map), p->n);
    for (size_t i = 0; i < p->n; i++) {
        rm_object *got = rm_mapping_lookup(map, ref_ptr(&M, p->pairs[i].old));
        if (got != ref_ptr(&M, p->pairs[i].new_))
            check_fail("rm_mapping_lookup(%s) = %p, expected %s", describe(&M, p->pairs[i].old), (void *)got,
                       describe(&M, p->pairs[i].new_));
    }
    if (p->n) {
        rm_object *dup = ref_ptr(&M, p->pairs[0].old);
        if (rm_mapping_add(map, dup, dup) != -1 || rm_error_occurred() != RM_ERR_VALUE)
            check_fail("rm_mapping_add accepted an old object twice");
        rm_error_clear();
    }
    if (rm_mapping_add(map, rm_none, ref_ptr(&M, p->n ? p->pairs[0].new_ : REF_NONE)) != -1)
        check_fail("rm_mapping_add accepted None as an old object");
    rm_error_clear();
    if (rm_mapping_add(map, (rm_object *)&rm_int_type, rm_none) != -1)
        check_fail("rm_mapping_add accepted a static type as an old object");
    rm_error_clear();
    ref_t free_obj = pick_live(&M, &R, -1, true);
    if (free_obj >= 0) {
        if (rm_mapping_add(map, ref_ptr(&M, free_obj), NULL) != -1) check_fail("rm_mapping_add accepted a NULL new object");
        rm_error_clear();
        if (rm_mapping_lookup(map, ref_ptr(&M, free_obj)))
            check_fail("rm_mapping_lookup finds %s, which is not mapped", describe(&M, free_obj));
    }
    if (rm_mapping_count(map) != p->n) check_fail("refused pairs changed rm_mapping_count to %zu", rm_mapping_count(map));
    check_end();
}

/* Records reachable through the mapping stay live: the mapping is a root
   (it keeps old and new objects alive until it is freed). */
size_t reckon_with_plan(const plan *p) {
    size_t added = 0;
    for (size_t i = 0; i < p->n; i++) {
        handle_add(&M, p->pairs[i].old, false);
        handle_add(&M, p->pairs[i].new_, false);
        added += 2;
    }
    size_t live = reckon_live(&M);
    for (size_t i = 0; i < added; i++) {
        M.nhandles--;
        rm_handle_free(M.handles[M.nhandles].h);
    }
    return live;
}
