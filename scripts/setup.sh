#!/usr/bin/env bash
# Installs what Remap needs on a Debian machine that has the Swift toolchain:
# Boehm GC (libgc-dev) and pkg-config. Uses sudo only when not root.
set -euo pipefail
missing=()
dpkg -s libgc-dev >/dev/null 2>&1 || missing+=(libgc-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
