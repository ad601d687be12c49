#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
# The C host example links the RemapHost shared library; build it beside the tests.
swift build --product RemapHost
swift test
