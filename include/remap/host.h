/*
** host.h: embedding Remap in a C program.
**
**   rm_host_start();                       runtime, loader (once)
**   rm_acquire();                          every call below holds the lock
**   rm_host_add_search_path("mods");
**   rm_object *r = rm_host_call("game.step", args, n);
**   rm_host_reload(names, 1, NULL, &summary);
**   rm_host_serve(NULL);                   the control socket, for reloadctl
**   rm_collect_and_close();                collect; unmap old libraries (heap.h)
**   ... rm_safe_point(); in the host's loop ...
**
** Link with the RemapHost library (`reloadctl cflags --host` prints the
** flags). Errors come back through the current-error API of runtime.h: a
** call returns NULL or -1 and rm_error_message() says why.
*/
#ifndef REMAP_HOST_H
#define REMAP_HOST_H

#include "remap.h"
#include "host_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the runtime and the module loader. Idempotent. 0 or -1. */
int rm_host_start(void);

int rm_host_add_search_path(const char *path);
/* Loads a module (and what it imports); returns the module object. */
rm_object *rm_host_load(const char *module);
/* Calls module.function (or module.Class.method on the class). */
rm_object *rm_host_call(const char *qualified_name, rm_object *const *args, size_t nargs);

/* Reloads modules together. options may be NULL (defaults); summary may be
   NULL. 0, or -1 with the error set and nothing changed. */
int rm_host_reload(const char *const *modules, size_t count, const rm_reload_options *options,
                   rm_reload_summary *summary);
void rm_host_free(void *memory);

/* Serves the control socket at `path` (NULL: the default path) on
   background threads; requests run holding the runtime lock, so between the
   host's own calls or at its rm_safe_point()s. 0 or -1. */
int rm_host_serve(const char *path);
void rm_host_stop_serving(void);

#ifdef __cplusplus
}
#endif
#endif
