/*
** looper: an entry point that runs until told to stop, as the entry of
** `reloadctl run --entry looper.run` does, reloaded while it runs.
**
** run() loops until the state `stop` is not empty: it adds one to the
** state `ticks` (a one-item list), calls rm_safe_point() (where reloads
** happen) and sleeps 100 us. version() returns VERSION.
*/
#include <remap/module.h>
#include <unistd.h>
RM_MODULE_ABI;

static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(VERSION); }

static rm_object *run(rm_object *self, rm_object *const *args, size_t nargs) {
    for (;;) {
        /* Looked up each time round: a reload may rebind the module. */
        rm_object *ns = rm_module_dict(rm_function_module(self));
        rm_object *stop = rm_dict_get_str(ns, "stop"), *ticks = rm_dict_get_str(ns, "ticks");
        if (!stop || !ticks) return NULL;
        if (rm_list_size(stop) > 0) return rm_int(VERSION);
        rm_object *n = rm_int(rm_int_value(rm_list_get(ticks, 0)) + 1);
        if (!n || rm_list_set(ticks, 0, n) < 0) return NULL;
        rm_safe_point();
        usleep(100);
    }
}

int rm_module_init(rm_builder *m) {
    rm_object *ticks = rm_list_new(0);
    if (!ticks || rm_list_append(ticks, rm_int(0)) < 0) return -1;
    if (!rm_def_state(m, "ticks", ticks)) return -1;
    if (!rm_def_state(m, "stop", rm_list_new(0))) return -1;
    if (!rm_def_function(m, "version", version, 0)) return -1;
    if (!rm_def_function(m, "run", run, 0)) return -1;
    return 0;
}
