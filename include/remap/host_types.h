/*
** host_types.h: the types of the C embedding API (host.h). Apart so that
** Swift, which implements host.h, sees the types but not the functions.
*/
#ifndef REMAP_HOST_TYPES_H
#define REMAP_HOST_TYPES_H

#include <stddef.h>

typedef enum rm_removed_policy {
    RM_REMOVED_KEEP = 0,
    RM_REMOVED_TOMBSTONE,
    RM_REMOVED_REFUSE,
} rm_removed_policy;

typedef struct rm_reload_options {
    int cascade;                 /* also reload importers */
    rm_removed_policy on_removed;
    int refuse_collisions;       /* roll back if dict keys collide */
    int keep_old_collisions;     /* else keep the entry inserted first (the
                                    old binding), not the last; zero-initialize
                                    the struct so older hosts get keep-new */
} rm_reload_options;

/* What a reload did; `json` is the whole report (free with rm_host_free). */
typedef struct rm_reload_summary {
    size_t modules;
    size_t slots_rewritten;
    size_t tables_rehashed;
    size_t instances_migrated;
    double remap_ms;
    double total_ms;
    char *json;
} rm_reload_summary;

#endif
