/*
** wrong_abi: a library built for another ABI (rm_module_abi_version 99).
** Every version is the same.
*/
#include <remap/module.h>
__attribute__((visibility("default"))) const unsigned rm_module_abi_version = 99;
int rm_module_init(rm_builder *m) { return 0; }
