/*
** timing.c: the timed remaps (forward and back alternately) and the
** bandwidth floor they are compared with.
*/
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Timing remaps ----
** The heap is either in its original state (instances point at the old
** definitions) or remapped forward. Every timed remap flips it, so each one
** rewrites the same number of slots; `at_forward` tracks where it is. */
static bool at_forward;

/* One remap in the direction that flips the heap; returns its time, or a
   negative value (and records the error) if rm_remap_ex failed. */
double flip(unsigned opts, remap_run *run) {
    rm_remap_report rep;
    memset(&rep, 0, sizeof rep);
    const rm_mapping *m = at_forward ? backward : forward;
    double t0 = now_ms();
    int rc = rm_remap_ex(m, opts, &rep);
    double t = now_ms() - t0;
    if (rc < 0) {
        if (run) {
            run->failed = true;
            snprintf(run->error, sizeof run->error, "rm_remap_ex failed: %s", rm_error_message());
        }
        /* A failure after the walk (the report's lists) leaves the slots
           rewritten: keep track of where the heap is. */
        if (rep.objects_visited) at_forward = !at_forward;
        rm_report_clear(&rep);
        return -1;
    }
    if (run && !at_forward && !run->have_first) {
        run->first = rep;
        /* Only the counters are kept: the object lists die with the clear. */
        run->first.tables = NULL;
        run->first.instances = NULL;
        run->have_first = true;
    }
    at_forward = !at_forward;
    rm_report_clear(&rep);
    return t;
}

/*
** Times `repeats` remaps with the given options, alternating directions,
** after one untimed forward-and-back warm-up. Leaves the heap in its
** original state (one untimed flip back if the count was odd), so each
** measurement starts from the same heap.
*/
remap_run time_remaps(unsigned opts, unsigned repeats) {
    remap_run run;
    memset(&run, 0, sizeof run);
    run.all = samples_new(repeats);
    run.fwd = samples_new(repeats);
    run.back = samples_new(repeats);
    if (flip(opts, &run) < 0 || flip(opts, &run) < 0) return run;
    run.have_first = false; /* report the first timed forward remap */
    GC_word gc0 = GC_get_gc_no();
    for (unsigned r = 0; r < repeats; r++) {
        bool dir_forward = !at_forward;
        double t = flip(opts, &run);
        if (t < 0) return run;
        run.all.v[run.all.n++] = t;
        samples *s = dir_forward ? &run.fwd : &run.back;
        s->v[s->n++] = t;
    }
    run.collections = (size_t)(GC_get_gc_no() - gc0);
    if (at_forward) flip(opts, NULL);
    return run;
}

/* ---- The bandwidth floor ---- */

/* Sums 64-bit words. The plain loop is what the compiler vectorizes best
   (several vector accumulators), so it is limited by memory, not by adds. */
static uint64_t sum_words(const uint64_t *w, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += w[i];
    return s;
}

typedef struct stream_part {
    const uint64_t *w;
    size_t n;
    uint64_t sum;
} stream_part;

static void *stream_thread(void *arg) {
    stream_part *p = arg;
    p->sum = sum_words(p->w, p->n);
    return NULL;
}

/*
** Reads `bytes` bytes sequentially from a malloc buffer, `repeats` times,
** on one thread (stream_ms, the figure the target is stated against) and
** on two plain pthreads (what two walker threads could get at best). The
** buffer is written first so its pages exist. The threads never touch the
** GC heap, so they need no registration with Boehm.
*/
void time_stream(size_t bytes, unsigned repeats, samples *one, samples *two) {
    size_t n = bytes / sizeof(uint64_t);
    if (n == 0) n = 1;
    uint64_t *buf = malloc(n * sizeof *buf);
    if (!buf) die("out of memory for a %zu-byte stream buffer", bytes);
    for (size_t i = 0; i < n; i++) buf[i] = i * 0x9e3779b97f4a7c15ULL;
    sink += sum_words(buf, n); /* warm-up */
    for (unsigned r = 0; r < repeats; r++) {
        double t0 = now_ms();
        sink += sum_words(buf, n);
        one->v[one->n++] = now_ms() - t0;

        stream_part parts[2] = {{buf, n / 2, 0}, {buf + n / 2, n - n / 2, 0}};
        pthread_t th;
        t0 = now_ms();
        bool threaded = pthread_create(&th, NULL, stream_thread, &parts[1]) == 0;
        if (!threaded) stream_thread(&parts[1]);
        stream_thread(&parts[0]);
        if (threaded) pthread_join(th, NULL);
        two->v[two->n++] = now_ms() - t0;
        sink += parts[0].sum + parts[1].sum;
    }
    free(buf);
}

volatile uint64_t sink;
