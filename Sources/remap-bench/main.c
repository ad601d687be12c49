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
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <gc/gc_mark.h>

#include <remap/remap.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Old and new definitions: static, hence roots (see the header comment). */
static rm_object *old_classes[NCLASSES], *new_classes[NCLASSES];
static rm_object *old_functions[NFUNCTIONS], *new_functions[NFUNCTIONS];

static rm_handle instances;  /* list of every instance */
static rm_handle class_dict; /* dict: class -> int */
static rm_mapping *forward;  /* old -> new */
static rm_mapping *backward; /* new -> old */
static size_t function_refs; /* instance fields that hold a function */

static volatile uint64_t sink; /* keeps the stream sums alive */

/* ---- Small utilities ---- */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "remap-bench: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (rm_error_occurred())
        fprintf(stderr, " (%s: %s)", rm_error_kind_name(rm_error_occurred()), rm_error_message());
    fputc('\n', stderr);
    exit(1);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* splitmix64: a seeded, reproducible heap shape. */
static uint64_t rng_state;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

/* Timings of one measurement: every sample is kept so the median, min and
   max come from the same runs. */
typedef struct samples {
    double *v;
    size_t n;
} samples;

static samples samples_new(size_t capacity) {
    samples s = {calloc(capacity ? capacity : 1, sizeof(double)), 0};
    if (!s.v) die("out of memory");
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of the samples (the mean of the middle two for an even
   count), computed on a sorted copy. NAN when there are none. */
static double median(const samples *s) {
    if (s->n == 0) return 0.0 / 0.0;
    double *c = malloc(s->n * sizeof *c);
    if (!c) die("out of memory");
    memcpy(c, s->v, s->n * sizeof *c);
    qsort(c, s->n, sizeof *c, cmp_double);
    double m = s->n % 2 ? c[s->n / 2] : (c[s->n / 2 - 1] + c[s->n / 2]) / 2;
    free(c);
    return m;
}

static double smin(const samples *s) {
    double m = s->n ? s->v[0] : 0.0 / 0.0;
    for (size_t i = 1; i < s->n; i++) if (s->v[i] < m) m = s->v[i];
    return m;
}

static double smax(const samples *s) {
    double m = s->n ? s->v[0] : 0.0 / 0.0;
    for (size_t i = 1; i < s->n; i++) if (s->v[i] > m) m = s->v[i];
    return m;
}

/* ---- One JSON line, built in a buffer ----
** Keys are appended in order; numbers that are not finite print as null so
** the line always parses. */
typedef struct json {
    char buf[8192];
    size_t len;
} json;

static void json_raw(json *j, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (j->len < sizeof j->buf) {
        int n = vsnprintf(j->buf + j->len, sizeof j->buf - j->len, fmt, ap);
        if (n > 0) j->len += (size_t)n;
    }
    va_end(ap);
    if (j->len > sizeof j->buf - 1) j->len = sizeof j->buf - 1;
}

static void json_key(json *j, const char *key) {
    json_raw(j, "%s\"%s\":", j->len > 1 ? "," : "", key);
}

static void json_begin(json *j) {
    j->len = 0;
    json_raw(j, "{");
}

static void json_size(json *j, const char *key, size_t v) {
    json_key(j, key);
    json_raw(j, "%zu", v);
}

static void json_ms(json *j, const char *key, double v) {
    json_key(j, key);
    if (v == v && v - v == 0) json_raw(j, "%.4f", v);
    else json_raw(j, "null");
}

static void json_bool(json *j, const char *key, bool v) {
    json_key(j, key);
    json_raw(j, v ? "true" : "false");
}

/* Strings come from our own literals and from error messages: escape what
   JSON requires. */
static void json_str(json *j, const char *key, const char *s) {
    json_key(j, key);
    json_raw(j, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') json_raw(j, "\\%c", c);
        else if (c < 0x20) json_raw(j, "\\u%04x", c);
        else json_raw(j, "%c", c);
    }
    json_raw(j, "\"");
}

static void json_print(json *j) {
    json_raw(j, "}");
    fwrite(j->buf, 1, j->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ---- Options ---- */

static void usage(void) {
    fprintf(stderr,
            "usage: remap-bench --objects N [--repeats R] [--threads T] [--candidates]\n"
            "                   [--gc-repeats G] [--gc-warmup W] [--seed S] [--no-check]\n"
            "                   [--timeout SECONDS]\n");
    exit(2);
}

static uint64_t parse_number(const char *flag, const char *s) {
    char *end;
    errno = 0;
    /* accept 1e6 as well as 1000000 */
    double d = strtod(s, &end);
    if (errno || *end || d < 0 || d > 1e15) {
        fprintf(stderr, "remap-bench: %s: not a number: %s\n", flag, s);
        usage();
    }
    return (uint64_t)d;
}

static options parse_options(int argc, char **argv) {
    options o = {0, DEFAULT_REPEATS, DEFAULT_GC_REPEATS, DEFAULT_GC_WARMUP, 0, false, true, DEFAULT_SEED,
                 DEFAULT_TIMEOUT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--candidates")) o.candidates = true;
        else if (!strcmp(a, "--no-check")) o.check = false;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage();
        else if (!v) usage();
        else if (!strcmp(a, "--objects")) o.objects = parse_number(a, argv[++i]);
        else if (!strcmp(a, "--repeats")) o.repeats = (unsigned)parse_number(a, argv[++i]);
        else if (!strcmp(a, "--gc-repeats")) o.gc_repeats = (unsigned)parse_number(a, argv[++i]);
        else if (!strcmp(a, "--gc-warmup")) o.gc_warmup = (unsigned)parse_number(a, argv[++i]);
        else if (!strcmp(a, "--threads")) o.threads = (unsigned)parse_number(a, argv[++i]);
        else if (!strcmp(a, "--seed")) o.seed = parse_number(a, argv[++i]);
        else if (!strcmp(a, "--timeout")) o.timeout = (unsigned)parse_number(a, argv[++i]);
        else usage();
    }
    if (o.objects == 0) usage();
    if (o.repeats == 0) o.repeats = 1;
    if (o.gc_repeats == 0) o.gc_repeats = 1;
    return o;
}

/* ---- Building the heap ---- */

static rm_object *nop(rm_object *self, rm_object *const *args, size_t nargs) {
    (void)self;
    (void)args;
    (void)nargs;
    return rm_none;
}

static rm_object *make_class(const char *prefix, int i) {
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, i);
    rm_object *c = rm_class_new(name, NULL, NULL);
    if (!c) die("rm_class_new");
    static const char *fields[NFIELDS] = {"a", "b", "c"};
    for (int f = 0; f < NFIELDS; f++)
        if (rm_class_add_field(c, fields[f], NULL) < 0) die("rm_class_add_field");
    return c;
}

static rm_object *make_function(const char *prefix, int i) {
    char name[32];
    snprintf(name, sizeof name, "%s%d", prefix, i);
    rm_object *f = rm_function_new(name, nop, 0, NULL, NULL);
    if (!f) die("rm_function_new");
    return f;
}

/*
** Builds the heap in the order a program would: definitions, then the
** instances (all allocated first, so that a field can refer to any of
** them), then their fields, then the new definitions a reload brings and the
** two mappings. The instance pointers are kept in a malloc array while the
** fields are filled in; the list rooted by a handle is what keeps the
** instances alive.
*/
static void build_heap(size_t n) {
    for (int i = 0; i < NCLASSES; i++) old_classes[i] = make_class("C", i);
    for (int i = 0; i < NFUNCTIONS; i++) old_functions[i] = make_function("f", i);

    rm_object *dict = rm_dict_new();
    if (!dict || !(class_dict = rm_handle_new(dict))) die("class dict");
    for (int i = 0; i < NCLASSES; i++) {
        rm_object *v = rm_int(i);
        if (!v || rm_dict_set(dict, old_classes[i], v) < 0) die("rm_dict_set");
    }

    rm_object *list = rm_list_new(n);
    if (!list || !(instances = rm_handle_new(list))) die("instance list");
    rm_object **all = malloc(n * sizeof *all);
    if (!all) die("out of memory for %zu instance pointers", n);
    for (size_t i = 0; i < n; i++) {
        rm_object *o = rm_instance_alloc(old_classes[rng_below(NCLASSES)]);
        if (!o || rm_list_append(list, o) < 0) die("instance %zu", i);
        all[i] = o;
    }
    function_refs = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < NFIELDS; s++) {
            rm_object *target;
            if (rng_below(100) < FUNCTION_REF_PERCENT) {
                target = old_functions[rng_below(NFUNCTIONS)];
                function_refs++;
            } else {
                target = all[rng_below(n)];
            }
            rm_instance_set_slot(all[i], s, target);
        }
    }
    /* The layout the enumeration candidate relies on. */
    if (rm_instance_slot_count(all[0]) != NFIELDS ||
        ((bench_instance *)all[0])->slots[NFIELDS - 1] != rm_instance_slot(all[0], NFIELDS - 1) ||
        all[0]->ob_aux != NFIELDS)
        die("the instance layout is not the one bench_instance describes");
    free(all);

    for (int i = 0; i < NCLASSES; i++) new_classes[i] = make_class("C", i);
    for (int i = 0; i < NFUNCTIONS; i++) new_functions[i] = make_function("f", i);
    if (!(forward = rm_mapping_new())) die("rm_mapping_new");
    for (int i = 0; i < NCLASSES; i++)
        if (rm_mapping_add(forward, old_classes[i], new_classes[i]) < 0) die("rm_mapping_add");
    for (int i = 0; i < NFUNCTIONS; i++)
        if (rm_mapping_add(forward, old_functions[i], new_functions[i]) < 0) die("rm_mapping_add");
    if (!(backward = rm_mapping_inverse(forward))) die("rm_mapping_inverse");
}

/* ---- Timing remaps ----
** The heap is either in its original state (instances point at the old
** definitions) or remapped forward. Every timed remap flips it, so each one
** rewrites the same number of slots; `at_forward` tracks where it is. */
static bool at_forward;

typedef struct remap_run {
    samples all, fwd, back;
    rm_remap_report first; /* the counters of the first forward remap */
    bool have_first;
    bool failed;
    size_t collections; /* Boehm collections that ran during the timed remaps */
    char error[256];
} remap_run;

/* One remap in the direction that flips the heap; returns its time, or a
   negative value (and records the error) if rm_remap_ex failed. */
static double flip(unsigned opts, remap_run *run) {
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
static remap_run time_remaps(unsigned opts, unsigned repeats) {
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
static void time_stream(size_t bytes, unsigned repeats, samples *one, samples *two) {
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

/* ---- Checking what a remap did ---- */

/* After a forward remap, every sampled instance has a new class and no
   field refers to an old function; after a backward one, the reverse. */
static bool spot_check(bool expect_forward) {
    rm_object *list = rm_handle_get(instances);
    size_t n = rm_list_size(list);
    size_t step = n / 1000 + 1;
    for (size_t i = 0; i < n; i += step) {
        rm_object *o = rm_list_get(list, i);
        rm_object *cls = (rm_object *)o->ob_type;
        bool in_new = false, in_old = false;
        for (int c = 0; c < NCLASSES; c++) {
            in_new |= cls == new_classes[c];
            in_old |= cls == old_classes[c];
        }
        if (expect_forward ? !in_new : !in_old) return false;
        for (size_t s = 0; s < NFIELDS; s++) {
            rm_object *v = rm_instance_slot(o, s);
            for (int f = 0; f < NFUNCTIONS; f++)
                if (v == (expect_forward ? old_functions[f] : new_functions[f])) return false;
        }
    }
    return true;
}

/* ---- Candidate (a): enumerate reachable objects after a collection ---- */

/* An open-addressing set of addresses with a bounds check first: the same
   kind of test the remap walk makes, written here because the runtime's is
   internal. */
typedef struct addr_table {
    uintptr_t keys[1024]; /* 0 = empty; at most 40% full */
    rm_object *vals[1024];
    uintptr_t lo, hi;
} addr_table;

#define ADDR_BITS 10

static size_t addr_slot(uintptr_t a) {
    return (size_t)(((a >> 4) * 0x9e3779b97f4a7c15ULL) >> (64 - ADDR_BITS));
}

static void addr_put(addr_table *t, const void *key, rm_object *val) {
    uintptr_t a = (uintptr_t)key;
    size_t i = addr_slot(a);
    while (t->keys[i] && t->keys[i] != a) i = (i + 1) & ((1u << ADDR_BITS) - 1);
    t->keys[i] = a;
    t->vals[i] = val;
    if (a < t->lo) t->lo = a;
    if (a > t->hi) t->hi = a;
}

static inline rm_object *addr_get(const addr_table *t, const void *key) {
    uintptr_t a = (uintptr_t)key;
    if (a < t->lo || a > t->hi) return NULL;
    for (size_t i = addr_slot(a);; i = (i + 1) & ((1u << ADDR_BITS) - 1)) {
        if (t->keys[i] == a) return t->vals[i];
        if (!t->keys[i]) return NULL;
    }
}

static void addr_init(addr_table *t) {
    memset(t, 0, sizeof *t);
    t->lo = UINTPTR_MAX;
}

typedef struct enum_ctx {
    addr_table statics; /* built-in types: their objects are ours */
    addr_table classes; /* old and new classes: their objects are instances */
    addr_table map;     /* the current direction's old -> new */
    size_t enumerated;  /* every reachable GC object */
    size_t ours;        /* objects whose first word is a known type */
    size_t instances;
    size_t rewritten;
    size_t rejected; /* first word a class, but not an instance's shape */
} enum_ctx;

/*
** Called by Boehm for every marked object, with its allocation lock held.
** An object is ours if its first word is a known type; a class in that word
** makes it an instance, but a dict's entry array also starts with a class
** (a key), so the slot count in the header and the size must agree too.
** An instance's class, dict and fields are tested against the mapping
** without reading their targets.
*/
static void GC_CALLBACK enum_visit(void *p, size_t bytes, void *arg) {
    enum_ctx *c = arg;
    c->enumerated++;
    if (bytes < sizeof(rm_object)) return;
    bench_instance *o = p;
    if (addr_get(&c->classes, o->ob_type)) {
        if (o->ob_aux != NFIELDS || bytes < sizeof(bench_instance) + NFIELDS * sizeof(rm_object *)) {
            c->rejected++;
            return;
        }
        c->ours++;
        c->instances++;
        rm_object *n;
        if ((n = addr_get(&c->map, o->ob_type))) { o->ob_type = (rm_type *)n; c->rewritten++; }
        if (o->dict && (n = addr_get(&c->map, o->dict))) { o->dict = n; c->rewritten++; }
        for (unsigned s = 0; s < NFIELDS; s++)
            if ((n = addr_get(&c->map, o->slots[s]))) { o->slots[s] = n; c->rewritten++; }
    } else if (addr_get(&c->statics, o->ob_type)) {
        c->ours++;
    }
}

static void *enum_all(void *arg) {
    GC_enumerate_reachable_objects_inner(enum_visit, arg);
    return NULL;
}

static void enum_ctx_init(enum_ctx *c) {
    memset(c, 0, sizeof *c);
    addr_init(&c->statics);
    addr_init(&c->classes);
    addr_init(&c->map);
    rm_type *statics[] = {&rm_type_type, &rm_class_type, &rm_none_type, &rm_bool_type,
                          &rm_int_type, &rm_float_type, &rm_str_type, &rm_tuple_type,
                          &rm_list_type, &rm_dict_type, &rm_set_type, &rm_function_type,
                          &rm_method_type, &rm_module_type, &rm_capsule_type, &rm_weakref_type};
    for (size_t i = 0; i < sizeof statics / sizeof *statics; i++)
        addr_put(&c->statics, statics[i], (rm_object *)statics[i]);
    for (int i = 0; i < NCLASSES; i++) {
        addr_put(&c->classes, old_classes[i], old_classes[i]);
        addr_put(&c->classes, new_classes[i], new_classes[i]);
    }
}

static void enum_set_direction(enum_ctx *c, bool to_new) {
    addr_init(&c->map);
    for (int i = 0; i < NCLASSES; i++)
        addr_put(&c->map, to_new ? old_classes[i] : new_classes[i], to_new ? new_classes[i] : old_classes[i]);
    for (int i = 0; i < NFUNCTIONS; i++)
        addr_put(&c->map, to_new ? old_functions[i] : new_functions[i],
                 to_new ? new_functions[i] : old_functions[i]);
}

/* ---- Crash and hang guard for the candidates ----
** A candidate that faults or hangs must not lose the line: the handler
** jumps back, the line is printed with what was measured and where it
** stopped, and the process exits (the heap may be half rewritten). */
static sigjmp_buf guard_jump;
static volatile sig_atomic_t guard_armed;
static const char *volatile guard_stage = "setup";

static void guard_handler(int sig) {
    if (guard_armed) {
        guard_armed = 0;
        siglongjmp(guard_jump, sig);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_install(unsigned timeout) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = guard_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    alarm(timeout);
}

static void guard_remove(void) {
    alarm(0);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
}

/* ---- The candidates line ---- */

static int visit_nothing(rm_object *o, void *arg) {
    (void)o;
    (void)arg;
    return 0;
}

static size_t count_calls;

/* Reads an object's header and the word after it, as the walk must: the
   cost of reaching every object through the registry, without deciding
   anything about its slots. */
static int visit_touch(rm_object *o, void *arg) {
    uint64_t *sum = arg;
    *sum += (uintptr_t)o->ob_type + ((const uint64_t *)o)[2];
    return 0;
}

static int visit_count(rm_object *o, void *arg) {
    (void)o;
    (void)arg;
    count_calls++;
    return 0;
}

static void json_run(json *j, const char *prefix, remap_run *run) {
    char key[64];
    snprintf(key, sizeof key, "%s_ms", prefix);
    json_ms(j, key, run->failed ? 0.0 / 0.0 : median(&run->all));
    snprintf(key, sizeof key, "%s_min_ms", prefix);
    json_ms(j, key, run->failed ? 0.0 / 0.0 : smin(&run->all));
    snprintf(key, sizeof key, "%s_threads", prefix);
    json_size(j, key, run->have_first ? run->first.threads : 0);
    if (run->failed) {
        snprintf(key, sizeof key, "%s_error", prefix);
        json_str(j, key, run->error);
    }
}

/*
** The alternatives for finding every live object, on the same heap, in
** order of risk: the registry walk with an empty visitor and with one that
** reads each object's first words (reaching every object, deciding
** nothing), the remap on one
** thread and on all, the remap without the instance list, then enumeration
** after a full collection (forward and back, so the heap ends as it began).
*/
static void run_candidates(const options *opt, size_t expected_instance_rewrites) {
    json j;
    json_begin(&j);
    json_str(&j, "line", "candidates");
    json_size(&j, "objects", opt->objects);
    json_size(&j, "repeats", opt->repeats);

    samples walk = samples_new(opt->repeats);
    samples egc = samples_new(opt->repeats), ewalk = samples_new(opt->repeats);
    remap_run single, multi, noinst;
    memset(&single, 0, sizeof single);
    memset(&multi, 0, sizeof multi);
    memset(&noinst, 0, sizeof noinst);
    enum_ctx *ec = malloc(sizeof *ec);
    if (!ec) die("out of memory");
    enum_ctx_init(ec);
    /* Read after a jump back from the guard: volatile, or their values
       would be indeterminate. */
    volatile bool enum_ok = true;
    volatile int stage = 0; /* how far we got */

    int sig = sigsetjmp(guard_jump, 1);
    if (sig == 0) {
        guard_armed = 1;
        guard_install(opt->timeout);

        guard_stage = "registry_walk";
        count_calls = 0;
        rm_heap_each(visit_count, NULL);
        json_size(&j, "registry_objects", count_calls);
        for (unsigned r = 0; r < opt->repeats; r++) {
            double t0 = now_ms();
            rm_heap_each(visit_nothing, NULL);
            walk.v[walk.n++] = now_ms() - t0;
        }
        json_ms(&j, "registry_walk_ms", median(&walk));
        json_ms(&j, "registry_walk_min_ms", smin(&walk));
        guard_stage = "registry_touch";
        walk.n = 0;
        uint64_t touched = 0;
        for (unsigned r = 0; r < opt->repeats; r++) {
            double t0 = now_ms();
            rm_heap_each(visit_touch, &touched);
            walk.v[walk.n++] = now_ms() - t0;
        }
        sink += touched;
        json_ms(&j, "registry_touch_ms", median(&walk));
        stage = 1;

        guard_stage = "remap_single";
        single = time_remaps(RM_REMAP_SINGLE_THREAD, opt->repeats);
        json_run(&j, "remap_single", &single);
        guard_stage = "remap_multi";
        multi = time_remaps(0, opt->repeats);
        json_run(&j, "remap_multi", &multi);
        guard_stage = "remap_no_instances";
        noinst = time_remaps(RM_REMAP_NO_INSTANCES, opt->repeats);
        json_run(&j, "remap_no_instances", &noinst);
        stage = 2;

        guard_stage = "enumerate";
        bool to_new = true;
        unsigned passes = opt->repeats + (opt->repeats % 2); /* end where we began */
        for (unsigned r = 0; r < passes; r++) {
            enum_set_direction(ec, to_new);
            ec->enumerated = ec->ours = ec->instances = ec->rewritten = ec->rejected = 0;
            double t0 = now_ms();
            GC_gcollect();
            double t1 = now_ms();
            GC_call_with_alloc_lock(enum_all, ec);
            double t2 = now_ms();
            if (r < opt->repeats) {
                egc.v[egc.n++] = t1 - t0;
                ewalk.v[ewalk.n++] = t2 - t1;
            }
            if (ec->rewritten != expected_instance_rewrites || ec->instances != opt->objects) enum_ok = false;
            to_new = !to_new;
        }
        stage = 3;
        guard_armed = 0;
        guard_remove();
    } else {
        guard_remove();
        char msg[160];
        if (sig == SIGALRM)
            snprintf(msg, sizeof msg, "timed out after %u s during %s; later candidates not run", opt->timeout,
                     guard_stage);
        else
            snprintf(msg, sizeof msg, "crashed with signal %d (%s) during %s; later candidates not run", sig,
                     strsignal(sig), guard_stage);
        json_str(&j, "error", msg);
    }
    if (stage >= 3) {
        json_ms(&j, "enumerate_ms", median(&egc) + median(&ewalk));
        json_ms(&j, "enum_gc_ms", median(&egc));
        json_ms(&j, "enum_walk_ms", median(&ewalk));
        json_ms(&j, "enum_walk_min_ms", smin(&ewalk));
        json_size(&j, "enum_reachable", ec->enumerated);
        json_size(&j, "enum_ours", ec->ours);
        json_size(&j, "enum_instances", ec->instances);
        json_size(&j, "enum_rejected", ec->rejected);
        json_size(&j, "enum_slots_rewritten", ec->rewritten);
        json_size(&j, "enum_expected_slots_rewritten", expected_instance_rewrites);
        json_bool(&j, "enum_verified", enum_ok);
        json_str(&j, "enum_scope", "instances only (class, dict and field slots); other objects are "
                                   "recognised by their type word but not rewritten");
    }
    json_print(&j);
    if (sig) {
        /* Boehm's lock may still be held by the faulting code: leave
           without running exit handlers. */
        fflush(NULL);
        _exit(0);
    }
    free(ec);
}

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
