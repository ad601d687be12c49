/*
** bench.h: what the files of remap-bench share (main.c describes the
** program, its heap and its output).
*/
#ifndef REMAP_BENCH_H
#define REMAP_BENCH_H

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <gc/gc_mark.h>

#include <remap/remap.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shape of the heap. 100 classes and 100 functions are the size of a
   reload of a few large modules; a quarter of the fields referring to a
   function gives the walk hits among misses, as callbacks stored in objects
   do in real programs. */
#define NCLASSES 100
#define NFUNCTIONS 100
#define NFIELDS 3
#define FUNCTION_REF_PERCENT 25

/* The targets of the issue, at N = 1,000,000. */
#define TARGET_STREAM_RATIO 4.0
#define TARGET_GC_RATIO 0.1

#define DEFAULT_REPEATS 7
#define DEFAULT_GC_REPEATS 5
/* Untimed collections before gc_ms: at 10^7 objects Boehm's mark stack
   doubles nine times (one overflowing, twice as slow collection each) and
   the next two or three collections are still slow; 16 covers that. */
#define DEFAULT_GC_WARMUP 16
#define DEFAULT_SEED 0x5eed5eedULL
#define DEFAULT_TIMEOUT 1800 /* seconds, for the candidates' watchdog */

/* The layout of an instance (class.c): header, attribute dict, inline
   slots. Only the enumeration candidate reads it directly, as a walk that
   does not go through the registry would have to; main() checks it against
   rm_instance_slot before relying on it. */
typedef struct bench_instance {
    RM_OBJECT_HEADER;
    rm_object *dict;
    rm_object *slots[];
} bench_instance;

typedef struct options {
    size_t objects;
    unsigned repeats;
    unsigned gc_repeats;
    unsigned gc_warmup; /* untimed collections before gc_ms is measured */
    unsigned threads; /* 0: the runtime's default */
    bool candidates;
    bool check;
    uint64_t seed;
    unsigned timeout;
} options;

/* Old and new definitions: not handles, hence never rewritten by a remap;
   the data segment they live in is a Boehm root (see main.c). */
extern rm_object *old_classes[NCLASSES], *new_classes[NCLASSES];
extern rm_object *old_functions[NFUNCTIONS], *new_functions[NFUNCTIONS];

extern rm_handle instances;  /* list of every instance */
extern rm_handle class_dict; /* dict: class -> int */
extern rm_mapping *forward;  /* old -> new */
extern rm_mapping *backward; /* new -> old */
extern size_t function_refs; /* instance fields that hold a function */

extern volatile uint64_t sink; /* keeps the stream sums alive */

/* ---- util.c ---- */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
double now_ms(void);
/* splitmix64: a seeded, reproducible heap shape. */
extern uint64_t rng_state;
uint64_t rng_next(void);
size_t rng_below(size_t n);

/* Timings of one measurement: every sample is kept so the median, min and
   max come from the same runs. */
typedef struct samples {
    double *v;
    size_t n;
} samples;

samples samples_new(size_t capacity);
/* The median (the mean of the middle two for an even count); NAN when
   there are no samples. */
double median(const samples *s);
double smin(const samples *s);
double smax(const samples *s);

/* ---- json.c: one JSON line, built in a buffer ----
** Keys are appended in order; numbers that are not finite print as null so
** the line always parses. */
typedef struct json {
    char buf[8192];
    size_t len;
} json;

void json_raw(json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void json_key(json *j, const char *key);
void json_begin(json *j);
void json_size(json *j, const char *key, size_t v);
void json_ms(json *j, const char *key, double v);
void json_bool(json *j, const char *key, bool v);
void json_str(json *j, const char *key, const char *s);
void json_print(json *j);

/* ---- options.c ---- */
options parse_options(int argc, char **argv);

/* ---- heap.c ---- */
void build_heap(size_t n);
bool spot_check(bool expect_forward);

/* ---- timing.c: timed remaps and the bandwidth floor ---- */
typedef struct remap_run {
    samples all, fwd, back;
    rm_remap_report first; /* the counters of the first forward remap */
    bool have_first;
    bool failed;
    size_t collections; /* Boehm collections that ran during the timed remaps */
    char error[256];
} remap_run;

double flip(unsigned opts, remap_run *run);
remap_run time_remaps(unsigned opts, unsigned repeats);
void time_stream(size_t bytes, unsigned repeats, samples *one, samples *two);

/* ---- candidates.c ---- */
void run_candidates(const options *opt, size_t expected_instance_rewrites);

#endif
