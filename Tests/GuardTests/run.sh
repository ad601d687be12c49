#!/bin/sh
# Builds and runs the rm_guard tests (no Swift needed): ./Tests/GuardTests/run.sh
set -eu
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/guard_test.$$"
trap 'rm -f "$out"' EXIT
cc -O1 -Wall -Werror -I include -I CSources Tests/GuardTests/*.c CSources/guard.c CSources/segments.c \
    -o "$out" $(pkg-config --cflags --libs bdw-gc) -lpthread -ldl
"$out"
