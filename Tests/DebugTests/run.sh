#!/bin/sh
# Builds the C core and a program with -DRM_DEBUG and checks that every
# unchecked accessor given the wrong object stops the program with a
# message naming it (no Swift needed): ./Tests/DebugTests/run.sh
set -eu
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/debug_checks.$$"
trap 'rm -f "$out" "$out.err"' EXIT
cc -O1 -g -Wall -Werror -DRM_DEBUG -I include -I Sources/CBoehm Tests/DebugTests/debug_checks.c CSources/*.c \
    -o "$out" $(pkg-config --cflags --libs bdw-gc) -lpthread -ldl -lm
passed=0 failed=0
# case | what stderr must say
expect() {
    if timeout 30 "$out" "$1" >/dev/null 2>"$out.err"; then
        echo "case $1: exited 0, expected an abort"; failed=$((failed + 1))
    elif grep -qF "$2" "$out.err"; then
        passed=$((passed + 1))
    else
        echo "case $1: expected \"$2\", got:"; cat "$out.err"; failed=$((failed + 1))
    fi
}
if [ "$(timeout 30 "$out" ok)" = ok ]; then passed=$((passed + 1)); else echo "case ok failed"; failed=$((failed + 1)); fi
expect spawn "remap: rm_int_value: expected an int, got float"
expect int "remap: rm_int_value: expected an int, got str"
expect null "remap: rm_int_value: expected an int, got NULL"
expect float "remap: rm_float_value: expected a float, got int"
expect str "remap: rm_str_cstr: expected a str, got int"
expect tuple "remap: rm_tuple_get: expected a tuple, got str"
expect list "remap: rm_list_size: expected a list, got dict"
expect module "remap: rm_function_module: expected a function, got str"
echo "debug checks: $passed passed, $failed failed"
[ "$failed" = 0 ]
