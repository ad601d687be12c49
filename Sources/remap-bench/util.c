/*
** util.c: remap-bench's small utilities: dying with the runtime's error,
** the clock, the seeded random numbers, and the statistics of samples.
*/
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void die(const char *fmt, ...) {
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

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t rng_state;

uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

samples samples_new(size_t capacity) {
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
double median(const samples *s) {
    if (s->n == 0) return 0.0 / 0.0;
    double *c = malloc(s->n * sizeof *c);
    if (!c) die("out of memory");
    memcpy(c, s->v, s->n * sizeof *c);
    qsort(c, s->n, sizeof *c, cmp_double);
    double m = s->n % 2 ? c[s->n / 2] : (c[s->n / 2 - 1] + c[s->n / 2]) / 2;
    free(c);
    return m;
}

double smin(const samples *s) {
    double m = s->n ? s->v[0] : 0.0 / 0.0;
    for (size_t i = 1; i < s->n; i++) if (s->v[i] < m) m = s->v[i];
    return m;
}

double smax(const samples *s) {
    double m = s->n ? s->v[0] : 0.0 / 0.0;
    for (size_t i = 1; i < s->n; i++) if (s->v[i] > m) m = s->v[i];
    return m;
}
