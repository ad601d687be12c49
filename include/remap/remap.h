/*
** remap.h: the whole public C API of the Remap core.
*/
#ifndef REMAP_REMAP_H
#define REMAP_REMAP_H

#include "object.h"
#include "runtime.h"
#include "builtins.h"
#include "heap.h"
#include "module.h"
#include "host_types.h"

#define RM_VERSION_STRING "0.1.0"

#endif
