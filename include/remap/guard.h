/* TEMPORARY STUB: replaced by the crash guard from the guard-wt branch. */
#ifndef REMAP_GUARD_H
#define REMAP_GUARD_H
#ifdef __cplusplus
extern "C" {
#endif
typedef struct rm_crash {
    int signal;
    void *address;
    void *pc;
} rm_crash;
typedef int (*rm_guarded_fn)(void *context);
#define RM_GUARD_CRASHED (-1000)
int rm_guard(rm_guarded_fn fn, void *context, rm_crash *crash);
const char *rm_signal_name(int signal);
#ifdef __cplusplus
}
#endif
#endif
