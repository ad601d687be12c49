/*
** handle.c: the table of references held outside the heap.
**
** Swift objects and malloc blocks are invisible to Boehm, so what they hold
** goes through a handle: a slot in a block Boehm scans (allocated
** uncollectable, so the block is a root). Blocks never move, so a handle is
** the slot's address. Free slots form a list threaded through the slots
** themselves, tagged in the low bit so a scan never takes them for objects.
*/
#include "internal.h"

struct rm_handle_slot {
    rm_object *obj;
};

typedef struct handle_block {
    struct handle_block *next;
    struct rm_handle_slot slots[RM_HANDLE_BLOCK];
} handle_block;

static handle_block *blocks;
static uintptr_t free_list; /* tagged address of a free slot, or 0 */
static size_t live_handles;
/* Slots freed during a transaction, threaded like the free list. */
static uintptr_t deferred;

#define FREE_TAG ((uintptr_t)1)
#define IS_FREE(p) (((uintptr_t)(p)) & FREE_TAG)

/* Adds a block and threads its slots onto the free list. */
static int grow(void) {
    handle_block *b = GC_MALLOC_UNCOLLECTABLE(sizeof *b);
    if (!b) {
        rm_error_set(RM_ERR_MEMORY, "out of memory for handles");
        return -1;
    }
    b->next = blocks;
    blocks = b;
    for (size_t i = RM_HANDLE_BLOCK; i-- > 0;) {
        b->slots[i].obj = (rm_object *)free_list;
        free_list = (uintptr_t)&b->slots[i] | FREE_TAG;
    }
    return 0;
}

rm_handle rm_handle_new(rm_object *obj) {
    rm_debug_check_lock();
    if (!free_list && grow() < 0) return NULL;
    struct rm_handle_slot *slot = (struct rm_handle_slot *)(free_list & ~FREE_TAG);
    free_list = (uintptr_t)slot->obj;
    slot->obj = obj;
    live_handles++;
    return slot;
}

rm_object *rm_handle_get(rm_handle h) { return h->obj; }

/* Inside a transaction the old value is journaled first; if that fails
   the handle keeps it (handles have no error return). */
void rm_handle_set(rm_handle h, rm_object *obj) {
    if (rm_txn_on && rm_journal_handle(&h->obj) < 0) return;
    h->obj = obj;
}

/* During a transaction a freed slot waits on the deferred list: the undo
   of the walk may still write the value it held. */
void rm_handle_free(rm_handle h) {
    if (!h) return;
    uintptr_t *list = rm_txn_on ? &deferred : &free_list;
    h->obj = (rm_object *)*list;
    *list = (uintptr_t)h | FREE_TAG;
    live_handles--;
}

void rm_handles_txn_end(void) {
    while (deferred) {
        struct rm_handle_slot *slot = (struct rm_handle_slot *)(deferred & ~FREE_TAG);
        deferred = (uintptr_t)slot->obj;
        slot->obj = (rm_object *)free_list;
        free_list = (uintptr_t)slot | FREE_TAG;
    }
}

size_t rm_handle_count(void) { return live_handles; }

/* Visits every slot of a live handle that holds an object. */
int rm_handles_each(rm_handle_visitor fn, void *arg) {
    for (handle_block *b = blocks; b; b = b->next) {
        for (size_t i = 0; i < RM_HANDLE_BLOCK; i++) {
            rm_object **slot = &b->slots[i].obj;
            if (*slot && !IS_FREE(*slot)) {
                int rc = fn(slot, arg);
                if (rc) return rc;
            }
        }
    }
    return 0;
}
