/* The one way into Boehm for every target of this package.
   GC_THREADS must be defined before <gc/gc.h> or the thread registration
   functions are not declared; GC_NO_THREAD_REDIRECTS keeps gc.h from
   silently renaming pthread_create in code that includes it. */
#ifndef CBOEHM_SHIM_H
#define CBOEHM_SHIM_H
#ifndef GC_THREADS
#define GC_THREADS 1
#endif
#ifndef GC_NO_THREAD_REDIRECTS
#define GC_NO_THREAD_REDIRECTS 1
#endif
#include <gc/gc.h>
#include <gc/gc_mark.h>
#endif
