/*
** no_init: a library with the right ABI but without rm_module_init.
** Every version is the same.
*/
#include <remap/module.h>
RM_MODULE_ABI;
int some_other_function(void) { return 0; }
