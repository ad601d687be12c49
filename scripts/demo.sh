#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the demo: reloadctl demo builds a C
# module, runs 100,000 live instances, edits the module, reloads it in place,
# and shows two broken versions failing while the running code keeps going.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product reloadctl
"$(swift build -c release --show-bin-path)/reloadctl" demo "$@"
