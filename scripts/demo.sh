#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the demo: for now, the remap
# benchmark at one million objects (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift run -c release remap-bench --objects "${1:-1000000}"
