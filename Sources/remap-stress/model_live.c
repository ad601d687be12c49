/*
** model_live.c: reachability on the model (which records a handle still
** reaches, which weak targets died) and the compaction of dead records.
**
** Everything here runs with the runtime lock held, on one thread.
*/
#include "model_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Reachability and compaction ---- */

/*
** Marks every record reachable from a handle through strong references
** (every reference but a weakref's target). Unmarked records lose RF_LIVE
** for good: nothing live refers to them, and nothing will (picks take live
** records only). A live weakref whose target died gets REF_GONE, keeping
** the target's last address to recognize it if the collector has not
** cleared the weakref yet.
*/
size_t reckon_live(model *m) {
    for (size_t i = 0; i < m->nrecs; i++) m->recs[i].flags &= (uint16_t)~RF_MARK;
    ref_t *stack = malloc((m->nrecs + m->nhandles + 1) * sizeof *stack);
    if (!stack) fatal("out of memory for reachability");
    size_t top = 0;
    for (size_t i = 0; i < m->nhandles; i++) {
        ref_t t = m->handles[i].target;
        if (t >= 0 && !(m->recs[t].flags & RF_MARK)) {
            m->recs[t].flags |= RF_MARK;
            stack[top++] = t;
        }
    }
    while (top) {
        ref_t id = stack[--top];
        record *rec = &m->recs[id];
        if (rec->kind == K_WEAKREF) continue;
        for (uint32_t i = 0; i < rec->nrefs; i++) {
            ref_t t = m->pool[rec->refs + i];
            if (t >= 0 && !(m->recs[t].flags & RF_MARK)) {
                m->recs[t].flags |= RF_MARK;
                stack[top++] = t;
            }
        }
    }
    free(stack);
    size_t live = 0;
    for (size_t i = 0; i < m->nrecs; i++) {
        record *rec = &m->recs[i];
        if (rec->flags & RF_MARK) {
            rec->flags |= RF_LIVE;
            live++;
        } else {
            rec->flags &= (uint16_t)~RF_LIVE;
        }
    }
    for (size_t i = 0; i < m->nrecs; i++) {
        record *rec = &m->recs[i];
        if ((rec->flags & RF_LIVE) && rec->kind == K_WEAKREF) {
            ref_t t = m->pool[rec->refs];
            if (t >= 0 && !(m->recs[t].flags & RF_LIVE)) m->pool[rec->refs] = REF_GONE;
        }
    }
    m->live = live;
    return live;
}

/* Renumbers live records densely and rebuilds the pool, when more than half
   of the records (or of the pool) are dead weight. */
void compact(model *m) {
    if (m->nrecs < 4096 || (m->nrecs < 2 * m->live && m->npool < 4 * m->nrecs)) return;
    ref_t *idmap = malloc(m->nrecs * sizeof *idmap);
    record *recs = malloc((m->live + 1) * sizeof *recs);
    size_t total = 0;
    for (size_t i = 0; i < m->nrecs; i++)
        if (m->recs[i].flags & RF_LIVE) total += m->recs[i].nrefs;
    ref_t *pool = malloc((total + 1) * sizeof *pool);
    if (!idmap || !recs || !pool) fatal("out of memory compacting the model");
    size_t n = 0;
    for (size_t i = 0; i < m->nrecs; i++) idmap[i] = (m->recs[i].flags & RF_LIVE) ? (ref_t)n++ : -1;
    size_t np = 0;
    for (size_t i = 0; i < m->nrecs; i++) {
        record *old = &m->recs[i];
        if (!(old->flags & RF_LIVE)) continue;
        record *rec = &recs[idmap[i]];
        *rec = *old;
        rec->refs = (uint32_t)np;
        for (uint32_t k = 0; k < old->nrefs; k++) {
            ref_t t = m->pool[old->refs + k];
            if (t >= 0) {
                t = idmap[t];
                if (t < 0) {
                    if (old->kind != K_WEAKREF) fatal("model: live record #%zu refers to a dead one", i);
                    t = REF_GONE;
                }
            }
            pool[np++] = t;
        }
    }
    for (size_t i = 0; i < m->nhandles; i++) {
        ref_t t = m->handles[i].target;
        if (t >= 0) m->handles[i].target = idmap[t];
    }
    free(m->recs);
    free(m->pool);
    free(idmap);
    m->recs = recs;
    m->nrecs = m->caprecs = n;
    m->pool = pool;
    m->npool = np;
    m->cappool = total + 1;
}
