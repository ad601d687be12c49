/*
** segments.h: where a loaded object (a shared library) is mapped. Shared by
** library.c (rm_library_range) and guard.c (is a fault inside libgc?); it
** depends on nothing else of the core, so the guard's own test links it alone.
*/
#ifndef REMAP_SEGMENTS_H
#define REMAP_SEGMENTS_H

#include <stdbool.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* The span of the PT_LOAD segments of the object loaded at `base` (a
   shared library's dli_fbase, which equals its load bias). */
bool rm_object_segments(uintptr_t base, uintptr_t *lo, uintptr_t *hi);

#pragma GCC visibility pop

#endif
