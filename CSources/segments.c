/*
** segments.c: the address span of a loaded object, from dl_iterate_phdr.
*/
#define _GNU_SOURCE
#include "segments.h"

#include <link.h>

typedef struct range_search {
    uintptr_t base, lo, hi;
    bool found;
} range_search;

static int find_segments(struct dl_phdr_info *info, size_t size, void *arg) {
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

bool rm_object_segments(uintptr_t base, uintptr_t *lo, uintptr_t *hi) {
    range_search s = {.base = base};
    dl_iterate_phdr(find_segments, &s);
    if (s.found) *lo = s.lo, *hi = s.hi;
    return s.found;
}
