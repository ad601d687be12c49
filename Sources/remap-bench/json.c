/*
** json.c: the one-line JSON objects remap-bench prints (see bench.h).
*/
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>

void json_raw(json *j, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (j->len < sizeof j->buf) {
        int n = vsnprintf(j->buf + j->len, sizeof j->buf - j->len, fmt, ap);
        if (n > 0) j->len += (size_t)n;
    }
    va_end(ap);
    if (j->len > sizeof j->buf - 1) j->len = sizeof j->buf - 1;
}

void json_key(json *j, const char *key) {
    json_raw(j, "%s\"%s\":", j->len > 1 ? "," : "", key);
}

void json_begin(json *j) {
    j->len = 0;
    json_raw(j, "{");
}

void json_size(json *j, const char *key, size_t v) {
    json_key(j, key);
    json_raw(j, "%zu", v);
}

void json_ms(json *j, const char *key, double v) {
    json_key(j, key);
    if (v == v && v - v == 0) json_raw(j, "%.4f", v);
    else json_raw(j, "null");
}

void json_bool(json *j, const char *key, bool v) {
    json_key(j, key);
    json_raw(j, v ? "true" : "false");
}

/* Strings come from our own literals and from error messages: escape what
   JSON requires. */
void json_str(json *j, const char *key, const char *s) {
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

void json_print(json *j) {
    json_raw(j, "}");
    fwrite(j->buf, 1, j->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}
