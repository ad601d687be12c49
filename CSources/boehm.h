/*
** boehm.h: the C core's one way into Boehm (Sources/CBoehm/shim.h is
** Swift's). GC_THREADS must be defined before <gc/gc.h> or the thread
** registration functions are not declared; GC_NO_THREAD_REDIRECTS keeps
** gc.h from renaming pthread_create in the core's files. guard.c includes
** it on its own: the guard's test program builds guard.c without the rest
** of the core.
*/
#ifndef REMAP_BOEHM_H
#define REMAP_BOEHM_H
#ifndef GC_THREADS
#define GC_THREADS 1
#endif
#ifndef GC_NO_THREAD_REDIRECTS
#define GC_NO_THREAD_REDIRECTS 1
#endif
#include <gc/gc.h>
#include <gc/gc_mark.h>
#endif
