/*
** library.c: where a loaded shared library's code lies, so the loader can
** tell when no function object points into it any more.
*/
#define _GNU_SOURCE
#include "internal.h"

#include <dlfcn.h>
#include <link.h>

typedef struct range_search {
    uintptr_t base;
    uintptr_t lo, hi;
    bool found;
} range_search;

static int find_object(struct dl_phdr_info *info, size_t size, void *arg) {
    range_search *s = arg;
    if (info->dlpi_addr != s->base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!s->found || lo < s->lo) s->lo = lo;
        if (!s->found || hi > s->hi) s->hi = hi;
        s->found = true;
    }
    return s->found;
}

/* The address range of every segment of the library that defines `symbol`.
   Returns 0, or -1 with the error set. */
int rm_library_range(void *symbol, uintptr_t *lo, uintptr_t *hi) {
    Dl_info info;
    if (!dladdr(symbol, &info) || !info.dli_fbase) {
        rm_error_set(RM_ERR_IMPORT, "cannot find the library of symbol %p", symbol);
        return -1;
    }
    range_search s = {.base = (uintptr_t)info.dli_fbase};
    /* dlpi_addr is the load bias; for a shared library it equals the base. */
    dl_iterate_phdr(find_object, &s);
    if (!s.found) {
        rm_error_set(RM_ERR_IMPORT, "cannot find the segments of %s", info.dli_fname ? info.dli_fname : "?");
        return -1;
    }
    *lo = s.lo;
    *hi = s.hi;
    return 0;
}
