#!/bin/sh
# Builds the C core with RM_DEBUG_TINY_TABLES and runs the table tests on it
# (no Swift needed): ./Tests/TableTests/run.sh
# A hang is a failure: the program is killed after 30 seconds.
set -eu
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/tiny_tables.$$"
trap 'rm -f "$out"' EXIT
cc -O1 -g -Wall -Werror -DRM_DEBUG_TINY_TABLES -I include -I Sources/CBoehm Tests/TableTests/tiny_tables.c CSources/*.c \
    -o "$out" $(pkg-config --cflags --libs bdw-gc) -lpthread -ldl -lm
timeout 30 "$out"
