/* TEMPORARY STUB */
#include "internal.h"
int rm_guard(rm_guarded_fn fn, void *context, rm_crash *crash) { return fn(context); }
const char *rm_signal_name(int signal) { return "SIG?"; }
