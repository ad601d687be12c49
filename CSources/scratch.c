/*
** scratch.c: memory a reload needs for a moment and the next reload needs
** again, kept mapped between reloads.
**
** A reload that moves 10^7 struct instances needs about 400 MB of lists
** and indexes for a moment. glibc maps anything that large afresh and
** unmaps it when freed, so every reload faulted it in again, page by page:
** measured on this project's 2-core VM, 2 us a page on the first reload
** and 11 us on later ones (the host had taken the freed pages back), 0.9 s
** of a 2.2 s reload. An area here keeps its mapping; when a reload is done
** with it, its pages are given back lazily (MADV_FREE): the kernel takes
** them only under memory pressure, and until then the next reload writes
** them without a fault. They count in the process's RSS meanwhile.
*/
#include "scratch.h"

#include <stdint.h>
#include <sys/mman.h>

/* Mappings grow by at least a quarter, in 2 MiB steps (a heap that grows
   between reloads maps anew rarely), and are backed by 2 MiB pages where
   the kernel allows (MADV_HUGEPAGE): the walk looks up the moves index at
   random, and at 10^7 moves its 100 MB spread over 25,000 4 KiB pages
   missed the TLB on nearly every lookup. */
#define STEP ((size_t)2 << 20)

void *rm_scratch_get(rm_scratch *s, size_t bytes) {
    if (bytes <= s->size) return s->base;
    if (s->base) munmap(s->base, s->size);
    s->base = NULL;
    s->size = 0;
    size_t want = bytes + bytes / 4;
    want = (want + STEP - 1) / STEP * STEP;
    /* Aligned to STEP, so that the kernel can back it with 2 MiB pages. */
    unsigned char *p = mmap(NULL, want + STEP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    unsigned char *at = (unsigned char *)(((uintptr_t)p + STEP - 1) & ~(uintptr_t)(STEP - 1));
    if (at > p) munmap(p, (size_t)(at - p));
    munmap(at + want, (size_t)(p + want + STEP - (at + want)));
    madvise(at, want, MADV_HUGEPAGE);
    s->base = at;
    s->size = want;
    return at;
}

void rm_scratch_done(rm_scratch *s, size_t used) {
    used = (used + STEP - 1) / STEP * STEP; /* whole 2 MiB pages */
    if (used > s->size) used = s->size;
    if (used) madvise(s->base, used, MADV_FREE);
}

void *rm_scratch_lend(rm_scratch *s, size_t bytes) {
    if (s->busy) return NULL;
    void *p = rm_scratch_get(s, bytes);
    s->busy = p != NULL;
    return p;
}

void rm_scratch_return(rm_scratch *s, size_t used) {
    rm_scratch_done(s, used);
    s->busy = false;
}
