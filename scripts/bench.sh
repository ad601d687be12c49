#!/bin/sh
# Builds remap-bench in release mode and runs it at 10^4 .. 10^7 objects,
# printing the JSON lines it writes (one per size, two with --candidates).
#
#   scripts/bench.sh [extra remap-bench options, e.g. --candidates --threads 2]
#
# SIZES overrides the list of sizes (SIZES="1000000" scripts/bench.sh).
# 10^7 objects need about 1.3 GB of memory (measured peak RSS 1.2 GB). Run on a quiet machine: the walk
# and the collections share the cores with anything else that runs.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product remap-bench >&2
bin="$(swift build -c release --show-bin-path)/remap-bench"
for n in ${SIZES:-10000 100000 1000000 10000000}; do
    "$bin" --objects "$n" "$@"
done
