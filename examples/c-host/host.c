/*
** A C program that embeds Remap: it loads a module, calls it, rebuilds the
** module with a change, reloads it in place and calls it again. Its state
** (a counter kept with rm_def_state) survives the reload.
**
**   make run        (see the Makefile: RELOADCTL names the reloadctl to use)
*/
#include <remap/host.h>
#include <stdio.h>
#include <stdlib.h>

/* Calls counter.bump() and prints what it returns. */
static int bump(const char *when) {
    rm_object *result = rm_host_call("counter.bump", NULL, 0);
    int64_t n;
    if (rm_int_check(result, &n) < 0) {
        fprintf(stderr, "counter.bump failed: %s\n", rm_error_message());
        return -1;
    }
    printf("%s: counter.bump() = %lld\n", when, (long long)n);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    const char *rebuild = argc > 2 ? argv[2] : NULL; /* a command that builds version 2 */
    if (rm_host_start() < 0) return 1;
    rm_acquire();
    if (rm_host_add_search_path(dir) < 0 || !rm_host_load("counter")) {
        fprintf(stderr, "loading counter failed: %s\n", rm_error_message());
        return 1;
    }
    if (bump("v1") < 0 || bump("v1") < 0) return 1;

    /* A reload of a module that does not exist fails and changes nothing. */
    const char *missing[] = {"nosuch"};
    if (rm_host_reload(missing, 1, NULL, NULL) == 0) return 1;
    printf("expected failure: %s\n", rm_error_message());
    rm_error_clear();

    if (rebuild) {
        rm_release(); /* nothing to hold while the compiler runs */
        if (system(rebuild) != 0) return 1;
        rm_acquire();
        const char *modules[] = {"counter"};
        rm_reload_summary summary;
        if (rm_host_reload(modules, 1, NULL, &summary) < 0) {
            fprintf(stderr, "reload failed: %s\n", rm_error_message());
            return 1;
        }
        printf("reloaded %zu module(s): %zu slots rewritten, remap %.2f ms, total %.2f ms\n", summary.modules,
               summary.slots_rewritten, summary.remap_ms, summary.total_ms);
        rm_host_free(summary.json);
        if (bump("v2") < 0) return 1;
    }
    rm_release();
    return 0;
}
