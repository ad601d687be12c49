/*
** The unchecked accessors built with RM_DEBUG (issue 20, bug 7: a module
** that read a float argument with rm_int_value looped 4.6e18 times instead
** of failing). Each case named on the command line makes one wrong read
** and must not return: RM_DEBUG prints the accessor, what it expected and
** what it got, and aborts. Case "ok" makes only right reads, through
** rm_args_parse too, and prints "ok". Built and run by run.sh, which checks
** every case's message.
*/
#include "remap/remap.h"

#include <stdio.h>
#include <string.h>

#ifndef RM_DEBUG
#error "build with -DRM_DEBUG"
#endif

/* A module function written the unchecked way: spawn(1.5) read the
   double's bits as a count. */
static rm_object *spawn(rm_object *self, rm_object *const *args, size_t nargs) {
    int64_t made = 0;
    for (int64_t i = 0; i < rm_int_value(args[0]); i++) made++;
    return rm_int(made);
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "ok";
    if (rm_init() != 0) return 2;
    rm_acquire();
    rm_object *s = rm_str("abc"), *i = rm_int(3), *f = rm_float(1.5);
    if (strcmp(name, "ok") == 0) {
        int64_t n = 0;
        double x = 0;
        rm_object *args[2] = {i, f};
        int ok = rm_int_value(i) == 3 && rm_float_value(f) == 1.5 && strcmp(rm_str_cstr(s), "abc") == 0 &&
                 rm_str_len(s) == 3 && rm_args_parse(args, 2, "id", &n, &x) == 0 && n == 3 && x == 1.5;
        rm_object *fn = rm_function_new("spawn", spawn, 1, NULL, NULL);
        rm_object *made = fn ? rm_call(fn, &i, 1) : NULL;
        ok = ok && made && rm_int_value(made) == 3 && rm_tuple_size(rm_tuple_new(2)) == 2;
        printf("%s\n", ok ? "ok" : "wrong");
        return ok ? 0 : 1;
    }
    if (strcmp(name, "spawn") == 0) {
        rm_object *fn = rm_function_new("spawn", spawn, 1, NULL, NULL);
        rm_call(fn, &f, 1);
    } else if (strcmp(name, "int") == 0) {
        printf("%lld\n", (long long)rm_int_value(s));
    } else if (strcmp(name, "null") == 0) {
        printf("%lld\n", (long long)rm_int_value(NULL));
    } else if (strcmp(name, "float") == 0) {
        printf("%f\n", rm_float_value(i));
    } else if (strcmp(name, "str") == 0) {
        printf("%s\n", rm_str_cstr(i));
    } else if (strcmp(name, "tuple") == 0) {
        printf("%p\n", (void *)rm_tuple_get(s, 0));
    } else if (strcmp(name, "list") == 0) {
        printf("%zu\n", rm_list_size(rm_dict_new()));
    } else if (strcmp(name, "module") == 0) {
        /* A method that took its instance for the function: rm_function_module(self). */
        printf("%p\n", (void *)rm_function_module(s));
    }
    printf("case %s: returned\n", name);
    return 0;
}
