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

/* What a format asks for: the argument counts, and where the name is. */
typedef struct format_info {
    size_t min, max;  /* arguments required, and accepted */
    const char *name; /* after ':', or NULL */
} format_info;

/* Reads the format once, without its variables. -1 with RM_ERR_RUNTIME
   for a letter it does not know (the module's bug, not the caller's). */
static int scan_format(const char *format, format_info *info) {
    bool optional = false;
    const char *p;
    info->min = info->max = 0;
    info->name = NULL;
    for (p = format; *p; p++) {
        switch (*p) {
        case 'i': case 'd': case 'b': case 's': case 'O':
            if (*p == 'O' && p[1] == '!') p++;
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

/*
** One pass over the format and the arguments present. With `store` false
** it checks every argument and consumes the variables; with `store` true
** (after a check pass succeeded) it writes them. Returns 0, or -1 with the
** error set (only when checking).
*/
static int convert(rm_object *const *args, size_t nargs, const char *format, const format_info *info,
                   va_list ap, bool store) {
    size_t i = 0;
    for (const char *p = format; *p && *p != ':'; p++) {
        if (*p == '|') continue;
        rm_object *o = i < nargs ? args[i] : NULL;
        bool present = i < nargs;
        switch (*p) {
        case 'i': {
            int64_t *out = va_arg(ap, int64_t *);
            if (!present) break;
            if (!o || !RM_IS(o, rm_int_type)) return wrong_type(info, i, "int", o);
            if (store) *out = rm_int_value(o);
            break;
        }
        case 'd': {
            double *out = va_arg(ap, double *);
            if (!present) break;
            if (o && RM_IS(o, rm_int_type)) {
                if (store) *out = (double)rm_int_value(o);
            } else if (o && RM_IS(o, rm_float_type)) {
                if (store) *out = rm_float_value(o);
            } else {
                return wrong_type(info, i, "float", o);
            }
            break;
        }
        case 'b': {
            bool *out = va_arg(ap, bool *);
            if (!present) break;
            if (!o || !RM_IS(o, rm_bool_type)) return wrong_type(info, i, "bool", o);
            if (store) *out = o == rm_true;
            break;
        }
        case 's': {
            const char **out = va_arg(ap, const char **);
            if (!present) break;
            if (!o || !RM_IS(o, rm_str_type)) return wrong_type(info, i, "str", o);
            if (strlen(rm_str_cstr(o)) != rm_str_len(o)) {
                rm_error_set(RM_ERR_VALUE, "%s() argument %zu must be a str without NUL bytes", function_name(info),
                             i + 1);
                return -1;
            }
            if (store) *out = rm_str_cstr(o);
            break;
        }
        case 'O': {
            rm_type *type = NULL;
            if (p[1] == '!') {
                p++;
                type = va_arg(ap, rm_type *);
            }
            rm_object **out = va_arg(ap, rm_object **);
            if (!present) break;
            if (!o) return wrong_type(info, i, type ? rm_type_name(type) : "an object", o);
            if (type && !is_of_type(o, type)) return wrong_type(info, i, rm_type_name(type), o);
            if (store) *out = o;
            break;
        }
        }
        i++;
    }
    return 0;
}

/*
** Checks the count, then every argument, then writes the variables: on
** failure none is written, so defaults set before the call stay.
*/
int rm_args_vparse(rm_object *const *args, size_t nargs, const char *format, va_list ap) {
    format_info info;
    if (rm_missing(format, "format") || scan_format(format, &info) < 0) return -1;
    if (nargs < info.min || nargs > info.max) return wrong_count(&info, nargs);
    if (nargs && !args) {
        rm_error_set(RM_ERR_TYPE, "%s(): %zu arguments but no array", function_name(&info), nargs);
        return -1;
    }
    va_list check;
    va_copy(check, ap);
    int rc = convert(args, nargs, format, &info, check, false);
    va_end(check);
    return rc < 0 ? -1 : convert(args, nargs, format, &info, ap, true);
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
