/*
** args.c: rm_args_parse, the checked way a function reads its arguments
** (CPython's PyArg_ParseTuple, with the letters module.h lists), and the
** message of the RM_DEBUG accessor checks.
**
** A wrong argument from a caller is an error the caller gets back, never
** a crash: `spawn("abc")` used to read a str as an int (a count of 3),
** `spawn(1.5)` a double's bits (4.6e18 rounds) and took the host down.
*/
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* What a format asks for, and what the arguments present gave. */
typedef struct format_info {
    size_t min, max;  /* arguments required, and accepted */
    const char *name; /* after ':', or NULL */
    bool typed;       /* an O!: its type is among the variables */
    bool strings;     /* an s: its argument's bytes are checked for NUL */
    size_t bad;       /* the first argument of the wrong type, or SIZE_MAX */
    const char *want; /* what it should have been */
} format_info;

/* The name messages give the function: the format's, else the function
   being called, else "function". */
static const char *function_name(const format_info *info) {
    if (info->name && *info->name) return info->name;
    rm_object *f = rm_function_current();
    if (f && RM_IS(f, rm_function_type) && RM_IS(rm_function_name(f), rm_str_type))
        return rm_str_cstr(rm_function_name(f));
    return "function";
}

/* A type's name as messages give it: None is "None", as in Python. */
static const char *type_name_of(rm_object *o) {
    if (!o) return "nothing";
    return o == rm_none ? "None" : rm_type_name(o->ob_type);
}

static bool is_of_type(rm_object *o, rm_type *type) {
    if (o->ob_type == type) return true;
    return (type->tp_flags & RM_TYPE_HEAP) && rm_is_instance_of(o, (rm_object *)type);
}

/* Whether argument `o` suits letter `c` (not O!, checked with its type). */
static bool suits(char c, rm_object *o) {
    switch (c) {
    case 'i': return RM_IS(o, rm_int_type);
    case 'd': return RM_IS(o, rm_float_type) || RM_IS(o, rm_int_type);
    case 'b': return RM_IS(o, rm_bool_type);
    case 's': return RM_IS(o, rm_str_type);
    default: return true;
    }
}

static const char *wanted(char c) {
    return c == 'i' ? "int" : c == 'd' ? "float" : c == 'b' ? "bool" : c == 's' ? "str" : "an object";
}

/*
** Reads the format once, without its variables: counts the arguments it
** takes and checks the type of every argument present (but an O!'s, whose
** type is a variable). -1 with RM_ERR_RUNTIME for a letter it does not
** know (the module's bug, not the caller's); a wrong argument is only
** noted in info->bad, as a wrong count is reported first.
*/
static int scan(rm_object *const *args, size_t nargs, const char *format, format_info *info) {
    bool optional = false;
    const char *p;
    *info = (format_info){.bad = SIZE_MAX};
    for (p = format; *p; p++) {
        switch (*p) {
        case 'i': case 'd': case 'b': case 's': case 'O':
            if (*p == 'O' && p[1] == '!') {
                p++;
                info->typed = true;
            } else if (info->max < nargs && info->bad == SIZE_MAX &&
                       (!args[info->max] || !suits(*p, args[info->max]))) {
                info->bad = info->max;
                info->want = wanted(*p);
            }
            info->strings |= *p == 's';
            info->max++;
            if (!optional) info->min++;
            break;
        case '|':
            if (optional) goto bad;
            optional = true;
            break;
        case ':':
            info->name = p + 1;
            return 0;
        default:
            goto bad;
        }
    }
    return 0;
bad:
    rm_error_set(RM_ERR_RUNTIME, "rm_args_parse: bad format \"%s\" at '%c'", format, *p);
    return -1;
}

static int wrong_type(const format_info *info, size_t i, const char *expected, rm_object *got) {
    rm_error_set(RM_ERR_TYPE, "%s() argument %zu must be %s, not %s", function_name(info), i + 1, expected,
                 type_name_of(got));
    return -1;
}

static int wrong_count(const format_info *info, size_t nargs) {
    const char *how = info->min == info->max ? "exactly" : nargs < info->min ? "at least" : "at most";
    size_t n = nargs < info->min ? info->min : info->max;
    rm_error_set(RM_ERR_TYPE, "%s() takes %s %zu argument%s (%zu given)", function_name(info), how, n,
                 n == 1 ? "" : "s", nargs);
    return -1;
}

/* The O! arguments among the first `n` against their types (a pass over
   the variables that writes none). Returns 0, or -1 with the error set. */
static int check_typed(rm_object *const *args, size_t n, const char *format, const format_info *info,
                       va_list ap) {
    size_t i = 0;
    for (const char *p = format; *p && *p != ':' && i < n; p++) {
        if (*p == '|') continue;
        if (*p == 'O' && p[1] == '!') {
            p++;
            rm_type *type = va_arg(ap, rm_type *);
            if (!args[i] || !is_of_type(args[i], type)) return wrong_type(info, i, rm_type_name(type), args[i]);
        }
        (void)va_arg(ap, void *);
        i++;
    }
    return 0;
}

/* Writes the variables of the arguments present; they were all checked. */
static void store(rm_object *const *args, size_t nargs, const char *format, va_list ap) {
    size_t i = 0;
    for (const char *p = format; *p && *p != ':' && i < nargs; p++) {
        rm_object *o = args[i];
        switch (*p) {
        case '|': continue;
        case 'i': *va_arg(ap, int64_t *) = rm_int_value(o); break;
        case 'd': *va_arg(ap, double *) = RM_IS(o, rm_int_type) ? (double)rm_int_value(o) : rm_float_value(o); break;
        case 'b': *va_arg(ap, bool *) = o == rm_true; break;
        case 's': *va_arg(ap, const char **) = rm_str_cstr(o); break;
        case 'O':
            if (p[1] == '!') {
                p++;
                (void)va_arg(ap, rm_type *);
            }
            *va_arg(ap, rm_object **) = o;
            break;
        }
        i++;
    }
}

/*
** Checks the count, then every argument, then writes the variables: on
** failure none is written, so defaults set before the call stay. The check
** reads only the format and the arguments; the variables are walked once
** more only for an O! (its type is one of them), and the str arguments'
** bytes only for an s: a call with "i" costs a few compares over an
** unchecked read (module-bench's `call`).
*/
int rm_args_vparse(rm_object *const *args, size_t nargs, const char *format, va_list ap) {
    format_info info;
    if (rm_missing(format, "format")) return -1;
    if (nargs && !args) {
        rm_error_set(RM_ERR_TYPE, "rm_args_parse: %zu arguments but no array", nargs);
        return -1;
    }
    if (scan(args, nargs, format, &info) < 0) return -1;
    if (nargs < info.min || nargs > info.max) return wrong_count(&info, nargs);
    if (info.typed) {
        /* The O! arguments before the first wrong one found by the scan. */
        va_list check;
        va_copy(check, ap);
        int rc = check_typed(args, info.bad < nargs ? info.bad : nargs, format, &info, check);
        va_end(check);
        if (rc < 0) return -1;
    }
    if (info.bad != SIZE_MAX) return wrong_type(&info, info.bad, info.want, args[info.bad]);
    for (const char *p = format; info.strings && *p && *p != ':'; p++) {
        if (*p != 's') continue;
        size_t i = 0;
        for (const char *q = format; q < p; q++) i += *q != '|' && *q != '!';
        if (i < nargs && memchr(rm_str_cstr(args[i]), 0, rm_str_len(args[i]))) {
            rm_error_set(RM_ERR_VALUE, "%s() argument %zu must be a str without NUL bytes", function_name(&info),
                         i + 1);
            return -1;
        }
    }
    store(args, nargs, format, ap);
    return 0;
}

int rm_args_parse(rm_object *const *args, size_t nargs, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int rc = rm_args_vparse(args, nargs, format, ap);
    va_end(ap);
    return rc;
}

/* An unchecked accessor given the wrong object, in a build with RM_DEBUG
   (config.h): the module's bug, so it says where and stops. */
void rm_debug_wrong_type(const char *accessor, const void *obj, const char *expected) {
    const rm_object *o = obj;
    fprintf(stderr, "remap: %s: expected %s, got %s (an RM_DEBUG check: read arguments with rm_args_parse, "
                    "test other values' types first)\n",
            accessor, expected, o ? (o == rm_none ? "None" : rm_type_name(o->ob_type)) : "NULL");
    fflush(stderr);
    abort();
}
