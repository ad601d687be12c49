#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
# The C host example links the RemapHost shared library; build it beside the tests.
swift build --product RemapHost
log="$(mktemp)"
status=0
# The suite is XCTest; Swift Testing would only add a "0 tests" line.
swift test --disable-swift-testing 2>&1 | tee "$log" || status=$?
# One closing line with the counts, from XCTest's own summary.
summary="$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 || true)"
rm -f "$log"
if [ -n "$summary" ]; then
    total="$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")"
    failed="$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")"
    echo "$((total - failed)) passed, $failed failed"
else
    echo "0 passed, 1 failed"
    status=1
fi
exit "$status"
