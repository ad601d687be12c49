/*
** remap-bench: how long one remap walk takes on a large heap, compared with
** the two costs it must be judged against: reading the same number of bytes
** sequentially (the memory-bandwidth floor) and a full Boehm collection
** (what a reload would otherwise be compared with).
**
**   remap-bench --objects N [--repeats R] [--threads T] [--candidates]
**               [--gc-repeats G] [--gc-warmup W] [--seed S] [--no-check]
**               [--timeout SECONDS]
**
** Prints one JSON line on stdout; with --candidates a second one with the
** alternatives the design considered for finding every live object.
**
** The heap: NCLASSES classes of NFIELDS fields, NFUNCTIONS native functions,
** N instances of random classes whose fields refer to random instances
** (FUNCTION_REF_PERCENT of them to random functions), and one dict keyed by
** the classes. What keeps it alive is explicit:
**   - the instances: a list rooted by a handle (`instances`);
**   - the dict: a handle (`class_dict`);
**   - the old and new classes and functions: the static arrays below (the
**     executable's data segment is a Boehm root) and, once built, the two
**     mappings (their pairs live in memory Boehm scans). The static arrays
**     are not handles, so a remap never rewrites them: they keep naming
**     the same objects whatever direction the heap was last remapped in.
** Nothing else holds a class or a function, so one forward remap rewrites
** exactly N class slots, the function references and NCLASSES dict keys.
**
** The main keys of the first line (times are medians, in milliseconds):
**   remap_ms     rm_remap of the 100 classes and 100 functions, forward and
**                back alternately (so every run rewrites as many slots);
**   heap_bytes   the report's bytes_visited: what the walk read;
**   stream_ms    one thread summing heap_bytes bytes of a malloc buffer, the
**                bandwidth floor (stream_2t_ms: two threads);
**   gc_ms        rm_collect() on the same heap, after gc_warmup collections
**                (gc_first_ms: the first, cold one);
**   verified     the report's counts are the expected ones, sampled
**                instances point where they should, rm_heap_check passed.
*/
#include "bench.h"

#include <stdio.h>
#include <string.h>

/* ---- main ---- */

/*
** Order: build, warm up and verify, time the remaps (the heap ends as it
** began), then the bandwidth floor over the bytes the walk visited, then
** full collections, then the optional candidates. Everything runs with the
** runtime lock held by the main thread.
*/
int main(int argc, char **argv) {
    options opt = parse_options(argc, argv);
    if (rm_init() < 0) die("rm_init");
    rm_acquire();
    if (opt.threads) rm_set_walk_threads(opt.threads);
    rng_state = opt.seed;

    double t0 = now_ms();
    build_heap(opt.objects);
    double build_ms = now_ms() - t0;
    rm_collect(); /* start the measurements from a collected heap */

    /* One untimed forward remap, checked, then back. */
    size_t expected = opt.objects + function_refs + NCLASSES;
    bool verified = true;
    char check_msg[256] = "skipped";
    double check_ms = 0.0 / 0.0;
    remap_run warm;
    memset(&warm, 0, sizeof warm);
    if (flip(0, &warm) < 0) die("%s", warm.error);
    verified &= spot_check(true);
    if (opt.check) {
        t0 = now_ms();
        int rc = rm_heap_check();
        check_ms = now_ms() - t0;
        snprintf(check_msg, sizeof check_msg, "%s", rc == 0 ? "ok" : rm_error_message());
        if (rc != 0) verified = false;
        rm_error_clear();
    }
    if (flip(0, &warm) < 0) die("%s", warm.error);
    verified &= spot_check(false);

    remap_run main_run = time_remaps(0, opt.repeats);
    if (main_run.failed) die("%s", main_run.error);
    rm_remap_report *rep = &main_run.first;
    if (rep->slots_rewritten != expected || rep->ninstances != opt.objects) verified = false;

    samples s1 = samples_new(opt.repeats), s2 = samples_new(opt.repeats);
    time_stream(rep->bytes_visited, opt.repeats, &s1, &s2);

    /* Boehm starts with a small mark stack and doubles it after each
       collection that overflowed it; an overflowing collection rescans the
       heap and takes up to twice as long. A long-running program has a
       grown stack, so collections are timed after a warm-up (the first,
       cold one is reported apart). */
    double gc_first_ms = 0, gc_last_warm_ms = 0;
    for (unsigned r = 0; r < opt.gc_warmup; r++) {
        t0 = now_ms();
        rm_collect();
        gc_last_warm_ms = now_ms() - t0;
        if (r == 0) gc_first_ms = gc_last_warm_ms;
    }
    samples gc = samples_new(opt.gc_repeats);
    for (unsigned r = 0; r < opt.gc_repeats; r++) {
        t0 = now_ms();
        rm_collect();
        gc.v[gc.n++] = now_ms() - t0;
    }

    rm_heap_stats stats;
    rm_heap_stats_get(&stats);

    double remap_ms = median(&main_run.all), stream_ms = median(&s1), gc_ms = median(&gc);
    json j;
    json_begin(&j);
    json_size(&j, "objects", opt.objects);
    json_size(&j, "heap_bytes", rep->bytes_visited);
    json_ms(&j, "remap_ms", remap_ms);
    json_ms(&j, "stream_ms", stream_ms);
    json_ms(&j, "gc_ms", gc_ms);
    json_size(&j, "slots_rewritten", rep->slots_rewritten);
    json_size(&j, "slots_visited", rep->slots_visited);
    json_size(&j, "objects_visited", rep->objects_visited);
    json_ms(&j, "remap_stream_ratio", remap_ms / stream_ms);
    json_ms(&j, "remap_gc_ratio", remap_ms / gc_ms);
    json_size(&j, "threads", rep->threads);
    json_ms(&j, "remap_min_ms", smin(&main_run.all));
    json_ms(&j, "remap_max_ms", smax(&main_run.all));
    json_ms(&j, "remap_forward_ms", median(&main_run.fwd));
    json_ms(&j, "remap_backward_ms", median(&main_run.back));
    json_ms(&j, "remap_report_ms", rep->seconds * 1e3);
    json_ms(&j, "remap_ns_per_object", remap_ms * 1e6 / (double)(rep->objects_visited ? rep->objects_visited : 1));
    json_ms(&j, "remap_gb_per_s", (double)rep->bytes_visited / (remap_ms * 1e6));
    json_ms(&j, "stream_min_ms", smin(&s1));
    json_ms(&j, "stream_2t_ms", median(&s2));
    json_ms(&j, "gc_min_ms", smin(&gc));
    json_ms(&j, "gc_max_ms", smax(&gc));
    json_ms(&j, "gc_first_ms", gc_first_ms);
    json_ms(&j, "gc_last_warmup_ms", gc_last_warm_ms);
    json_size(&j, "handles_visited", rep->handles_visited);
    json_size(&j, "handles_rewritten", rep->handles_rewritten);
    json_size(&j, "tables_to_rehash", rep->ntables);
    json_size(&j, "instances_listed", rep->ninstances);
    json_size(&j, "instances_touched", rep->instances_touched);
    json_size(&j, "instance_slots_rewritten", rep->instance_slots_rewritten);
    json_size(&j, "expected_slots_rewritten", expected);
    json_size(&j, "collections_during_remaps", main_run.collections);
    json_bool(&j, "verified", verified);
    json_str(&j, "heap_check", check_msg);
    json_ms(&j, "heap_check_ms", check_ms);
    json_size(&j, "registry_objects", stats.objects);
    json_size(&j, "registry_bytes", stats.bytes);
    json_size(&j, "gc_heap_bytes", stats.gc_heap_bytes);
    json_ms(&j, "build_ms", build_ms);
    json_size(&j, "repeats", opt.repeats);
    json_size(&j, "gc_repeats", opt.gc_repeats);
    json_size(&j, "gc_warmup", opt.gc_warmup);
    json_size(&j, "function_ref_percent", FUNCTION_REF_PERCENT);
    json_size(&j, "seed", (size_t)opt.seed);
    json_bool(&j, "meets_stream_target", remap_ms / stream_ms <= TARGET_STREAM_RATIO);
    json_bool(&j, "meets_gc_target", remap_ms / gc_ms <= TARGET_GC_RATIO);
    json_print(&j);

    if (opt.candidates) run_candidates(&opt, opt.objects + function_refs);
    rm_release();
    return 0;
}
