/*
** options.c: remap-bench's command line (the usage is in main.c's header).
*/
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

options parse_options(int argc, char **argv) {
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
