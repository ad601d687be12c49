/*
** model.h: the independent model of the object graph (single-threaded mode).
**
** Every object this program creates, and every object the runtime created
** on its behalf that the program can name (a module's dict and name, an
** instance's attribute dict, a function's name), is a record. A record keeps
** the object's address (in malloc memory, invisible to Boehm: the graph is
** kept alive by handles only), its kind, its value for leaves, and its
** references as record ids in one shared pool:
**
**   tuple, list   items...
**   dict          key0, value0, key1, value1, ...   (insertion order)
**   set           key0, key1, ...                    (insertion order)
**   class         name, base, module, ctag, defaults... (inherited first)
**   instance      class, attribute dict, slots...
**   function      name, module, closure
**   method        function, self
**   module        name, dict
**   weakref       target (weak: not followed for reachability)
**   int, float, str, capsule: none
**
** A reference is a record id, or one of the REF_ constants below.
*/
#ifndef REMAP_STRESS_MODEL_H
#define REMAP_STRESS_MODEL_H

#include "stress.h"

typedef int32_t ref_t;

#define REF_NULL (-1)  /* a NULL slot (no base, no attribute dict) */
#define REF_NONE (-2)
#define REF_TRUE (-3)
#define REF_FALSE (-4)
#define REF_GONE (-5)  /* weak target that is no longer modeled */

enum kind {
    K_INT,
    K_FLOAT,
    K_STR,
    K_TUPLE,
    K_LIST,
    K_DICT,
    K_SET,
    K_CLASS,
    K_INSTANCE,
    K_FUNCTION,
    K_METHOD,
    K_MODULE,
    K_WEAKREF,
    K_CAPSULE,
    K_COUNT
};

/* Record flags. */
#define RF_LIVE 0x0001     /* reachable from a handle at the last reckoning */
#define RF_NOMAP 0x0002    /* never an old object of a mapping */
#define RF_ROOTLIST 0x0004 /* a cluster's root list: never referenced */
#define RF_HASHABLE 0x0008 /* may be a dict key */
#define RF_CLEARED 0x0010  /* weakref seen cleared: must stay cleared */
#define RF_MAPPED 0x0020   /* old object of the current mapping (map_to) */
#define RF_MARK 0x0040     /* scratch: reachability */
#define RF_SEEN 0x0080     /* scratch: visited by the heap walk */
#define RF_LISTED 0x0100   /* scratch: listed in report.tables/instances */
#define RF_MUSTLIST 0x0200 /* scratch: a key slot of this table changes */
#define RF_ADOPTED 0x0400  /* created by the runtime, not in a root list */
#define RF_WASLIVE 0x0800  /* scratch: live before the last reckoning */
#define RF_ISNEW 0x1000    /* scratch: a new object of the plan being drawn */

typedef struct record {
    rm_object *ptr;
    union {
        int64_t i;         /* int */
        double f;          /* float */
        uint32_t cid;      /* str: content id, see str_content */
        size_t serial;     /* capsule */
        rm_object *target; /* weakref: last known target address */
    } v;
    uint32_t refs;  /* offset of the references in the pool */
    uint32_t nrefs;
    ref_t map_to;   /* while RF_MAPPED: the new object */
    uint16_t flags;
    uint8_t kind;
    uint8_t pad;
} record;

/* A handle this program holds: a cluster root or a random value. */
typedef struct handle_rec {
    rm_handle h;
    ref_t target;
    bool is_root;
} handle_rec;

typedef struct model {
    record *recs;
    size_t nrecs, caprecs;
    ref_t *pool;
    size_t npool, cappool;
    handle_rec *handles;
    size_t nhandles, caphandles;
    size_t live;        /* records with RF_LIVE */
    size_t ncluster;    /* clusters built so far (names) */
    uint32_t next_cid;  /* unique str content ids */
} model;

/* A cluster under construction: its root list, and the ids of the objects
   created for it (kept in the root list, so reachable while built). */
typedef struct cluster {
    ref_t root;
    size_t first;  /* records [first, nrecs) are the cluster's, for local picks */
    ref_t *members;
    size_t nmembers, capmembers;
} cluster;

/* ---- Records and references (model.c) ---- */
ref_t model_add(model *m, rm_object *ptr, int kind, uint16_t flags);
ref_t *refs_of(model *m, ref_t id);
/* Replaces a record's references (copied to the end of the pool). */
void set_refs(model *m, ref_t id, const ref_t *refs, size_t n);
rm_object *ref_ptr(model *m, ref_t r);
bool ref_hashable(model *m, ref_t r);
/* Equality as rm_equal decides it, computed on the model. */
bool ref_equal(model *m, ref_t a, ref_t b);
const char *kind_name(int kind);
/* "#12 str 's17'" and the like; uses a rotating static buffer. */
const char *describe(model *m, ref_t r);
/* The content of str content id cid. */
void str_content(uint32_t cid, char *buf, size_t size);

/* ---- Building (model_create.c, model_build.c, model_mutate.c; picks:
   model.c) ---- */
void cluster_begin(model *m, cluster *c);
void cluster_end(model *m, cluster *c);
/* Creates `count` random objects in a new cluster, and value handles. */
void build_cluster(model *m, rng *r, size_t count);
/* A new object of the same kind as `old`, for a mapping, in cluster c. */
ref_t make_like(model *m, rng *r, cluster *c, ref_t old);
/* Random mutations of live containers and handles. */
void mutate(model *m, rng *r, size_t count);
/* A random live record satisfying the kind (-1: any), or -1. */
ref_t pick_live(model *m, rng *r, int kind, bool mappable);

/* Model-side dict and set operations, mirroring the runtime's rules
   (model_tables.c). */
void model_dict_set(model *m, ref_t d, ref_t key, ref_t value);
void model_dict_del(model *m, ref_t d, ref_t key);
void model_set_add(model *m, ref_t s, ref_t key);
void model_set_discard(model *m, ref_t s, ref_t key);
/* Merges entries whose keys became equal (the later entry wins, at the
   place of the first). Returns how many entries were merged away. */
size_t model_table_merge(model *m, ref_t t);

/* ---- Checking (model_check.c) ---- */
/* Compares one live record with the heap. Reports through check_fail with
   `what` as context; returns the number of faults. Does not allocate. */
size_t check_record(model *m, ref_t id, const char *what);
/* Compares the record's rm_traverse slots with its model references. */
size_t crosscheck_traverse(model *m, ref_t id, const char *what);
/* ---- Reachability (model_live.c) ---- */
/* Recomputes RF_LIVE from the handles; weak targets that died become
   REF_GONE. Returns the number of live records. */
size_t reckon_live(model *m);
/* Drops dead records and renumbers, when enough are dead. */
void compact(model *m);

/* ---- Handles (model.c) ---- */
void handle_add(model *m, ref_t target, bool is_root);
void handle_drop(model *m, size_t index);

#endif
