/*
** config.h: the core's debug switches, and its tuning constants that trade
** one cost against another (table loads, walk chunks and threads, when to
** collect), each named with its trade-off.
**
** Debug switches compile to nothing unless defined (-DRM_DEBUG_...), as in
** Wren's wren_common.h. Not here: constants local to one loop, kept beside
** it (the prefetch distances of remap_walk.c and migrate.c, the sampling of
** migrate.c, the parallel commit's batch in layout.c), and hard limits that
** are not a trade-off (MAX_FIELDS in class.c, MAX_TUPLE_DEPTH in tuple.c,
** ERROR_MESSAGE_MAX in runtime.c).
*/
#ifndef REMAP_CONFIG_H
#define REMAP_CONFIG_H

/* RM_DEBUG_LOCK: check that the caller holds the runtime lock on every
   allocation (cheap; on in debug builds of this package's tests). */
#if !defined(NDEBUG) && !defined(RM_DEBUG_LOCK)
#define RM_DEBUG_LOCK 1
#endif

/* RM_DEBUG: the accessors documented as unchecked (rm_int_value,
   rm_float_value, rm_str_cstr, rm_str_len, rm_str_eq, rm_tuple_size,
   rm_tuple_get, rm_list_size, rm_list_get, rm_dict_size, rm_set_size,
   rm_dict_next, rm_function_*, rm_method_*, rm_module_name, rm_module_dict,
   rm_capsule_pointer) check what they are given, and on the wrong type or
   NULL print the accessor, what it expected and what it got, then abort
   (rm_debug_wrong_type, args.c): a module that reads an argument without
   rm_args_parse fails loudly at the read instead of reading a str's length
   as an int. In the core the checks are RM_DEBUG_EXPECT (internal.h); the
   inline rm_int_value (include/remap/builtins.h) reads the same switch, so
   a module compiled with -DRM_DEBUG checks its own inlined reads too.
   Off unless defined. Tested by Tests/DebugTests (DebugBuildTests). */

/* RM_DEBUG_TINY_TABLES: start every dict at the smallest size so resizing
   runs all the time "to give bugs a chance". The smallest index that works
   has 2 slots: open addressing needs an empty slot to end a probe, so an
   index holds at most nindex - 1 entries (a 1-slot index held 1 and every
   probe for a missing key looped forever). Tested by Tests/TableTests. */
#ifdef RM_DEBUG_TINY_TABLES
#define RM_TABLE_MIN_INDEX 2
#else
/* Smallest index of a dict or set: 8 slots hold 5 entries before growing. */
#define RM_TABLE_MIN_INDEX 8
#endif

/* RM_ASAN: built with AddressSanitizer (clang's __has_feature, GCC's
   __SANITIZE_ADDRESS__). Code that reads past an object on purpose, as a
   word-at-a-time strlen does, reads byte by byte then. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(RM_ASAN)
#define RM_ASAN 1
#endif

/* A dict grows when live+deleted entries exceed this percent of the index.
   Lower means fewer probes and more memory (Wren uses 75). */
#define RM_TABLE_LOAD_PERCENT 66

/* The mapping table of a remap is kept at most this percent full; it is
   probed once per reference slot that falls inside the bounds of the old
   addresses, so a sparse table is worth its few extra cache lines. */
#define RM_MAPPING_LOAD_PERCENT 12
/* Past this many keys (a reload that moves struct instances maps each to
   its new allocation) the table is filled up to RM_MAPPING_LARGE_PERCENT:
   at 12% a million keys took 128 MB per table, and no table that size
   stays in cache anyway. */
#define RM_MAPPING_LARGE 16384
#define RM_MAPPING_LARGE_PERCENT 50

/* Registry entries handed to a walker thread at a time: big enough that the
   shared counter is rarely touched, small enough to balance two threads. */
#define RM_WALK_CHUNK 16384

/* A reload starts with a full collection once this many replaced libraries
   wait for a collection to prove them unused (collections come with
   allocation, and reloads allocate little: without it, a reload a second
   under a running entry kept hundreds mapped, each a root set of libgc's,
   which aborts past a few thousand). Higher costs fewer collections (40-70
   ms at 10^6 objects) and more mapped copies between them. */
#define RM_RETIRED_COLLECT_AT 16

/* Bytes a struct instance is allocated past its struct, rounded up to
   Boehm's 16-byte granule: a reload whose new layout fits converts the
   instance in place, in the walk; one that does not fit moves it to a new
   allocation, which costs a mapping entry per instance (at 10^6 a move
   reload took 20x an in-place one). 16 lets a reload add two int64 fields
   (or widen several) to every instance in place; it costs 16 bytes per
   instance (50% of a 32-byte struct, 25% of a 64-byte one). 0 keeps only
   what the granule's rounding gives for free. */
#define RM_STRUCT_ROOM 16

/* Threads a remap walk uses by default: one per core, at most this many
   (rm_init). More threads split the registry finer; past the memory
   bandwidth of a few cores they only add start-up cost. */
#define RM_WALK_THREADS_DEFAULT_MAX 8

/* The most walker threads rm_set_walk_threads accepts, and the size of the
   per-walker arrays (undo logs, plan parts, spare instance lists). */
#define RM_MAX_WALKERS 64

/* Threads the undo of a failed reload's walk uses at most: its walkers live
   on the stack and its migration scratch is made before the walk (the undo
   must not allocate), so each costs a walker struct and max_fields slots. */
#define RM_UNDO_WALKERS 8

/* Handles are allocated in blocks of this many slots, never moved. */
#define RM_HANDLE_BLOCK 1024

#endif
