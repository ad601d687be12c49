#!/usr/bin/env bash
# Installs Remap for use outside this source tree:
#
#   PREFIX/bin/reloadctl
#   PREFIX/lib/libRemapHost.so             the runtime + loader for C hosts
#   PREFIX/include/remap/*.h               module.h (modules), host.h (hosts), ...: the public
#                                          headers only (CSources/loader.h is the loader's, not installed)
#   PREFIX/include/remap/module.modulemap  `import CRemap` (and CRemapAPI) for modules written in Swift
#   PREFIX/lib/remap/swift/                `import RemapModule` for modules written in Swift:
#                                          RemapModule.swiftmodule, libRemapModule.a, RemapMacros-tool
#                                          (the macro plugin); from a debug build, see below
#   PREFIX/lib/pkgconfig/remap.pc          modules: cflags
#   PREFIX/lib/pkgconfig/remap-host.pc     C hosts: cflags and libs
#   PREFIX/share/remap/install-manifest    what was installed, for --uninstall
#
# Usage:
#   scripts/install.sh [--prefix DIR]                  build (release) and install; DIR defaults to /usr/local
#   scripts/install.sh --uninstall [--prefix DIR]      remove exactly what the manifest lists
#   DESTDIR=/tmp/stage scripts/install.sh --prefix /usr    stage under DESTDIR (paths inside still say /usr)
#
# Options for reusing a build:
#   --scratch-path DIR   SwiftPM build folder (swift build --scratch-path), default .build; any
#                        other must be outside the source tree (SwiftPM 6.3 then fails the
#                        next build into it with "unknown build description")
#   --products DIR       install the reloadctl, libRemapHost.so and the Swift module kit already
#                        in DIR; do not build
#
# The Swift module kit (RemapModule and its macros) comes from a debug build:
# its macro plugin needs swift-syntax, which takes about 80 s to build in
# debug and 8 minutes in release, and a module's hot paths are RemapModule's
# inlinable code, compiled into the module with its own -O.
#
# The manifest lists every file installed and every folder the install had to
# create; --uninstall removes those files, then those folders if they are
# empty, and nothing else. Installing over an earlier install first removes
# what the earlier manifest lists.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/usr/local
uninstall=0
scratch=""
products=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --uninstall) uninstall=1; shift ;;
        --scratch-path) scratch="${2:?--scratch-path needs a folder}"; shift 2 ;;
        --products) products="${2:?--products needs a folder}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in
    /*) ;;
    *) echo "install.sh: --prefix must be an absolute path (got $prefix)" >&2; exit 2 ;;
esac
prefix="${prefix%/}"   # "" for /
dest="${DESTDIR:-}"
dest="${dest%/}"
manifest_rel="share/remap/install-manifest"
manifest="$dest$prefix/$manifest_rel"

# Removes what a manifest lists: "f PATH" files, then "d PATH" folders if
# empty, deepest first. PATHs are under the prefix, without DESTDIR. The
# manifest lists itself.
uninstall_existing() {
    [ -f "$manifest" ] || return 1
    local kind path dirs
    dirs="$(awk '$1 == "d" { print $2 }' "$manifest" | sort -r)"
    while read -r kind path; do
        [ "$kind" = f ] || continue
        if [ -e "$dest$path" ] || [ -L "$dest$path" ]; then rm -f "$dest$path"; fi
    done <"$manifest"
    rm -f "$manifest"
    if [ -n "$dirs" ]; then
        while read -r path; do rmdir "$dest$path" 2>/dev/null || true; done <<<"$dirs"
    fi
}

if [ "$uninstall" = 1 ]; then
    if ! uninstall_existing; then
        echo "install.sh: no install manifest at $manifest: nothing to uninstall" >&2
        exit 1
    fi
    echo "uninstalled Remap from $dest${prefix:-/}"
    exit 0
fi

# 1. Build (or take) the two products.
if [ -z "$products" ]; then
    cd "$root"
    if [ -n "$scratch" ]; then
        scratch="$(realpath -m "$scratch")"
        case "$scratch/" in
            "$root/.build/") ;;
            "$root"/*) echo "install.sh: --scratch-path $scratch is inside the source tree; use .build or a folder outside it" >&2; exit 2 ;;
        esac
    fi
    args=(-c release)
    [ -n "$scratch" ] && args+=(--scratch-path "$scratch")
    # One product per command: given several, swift build builds only the last.
    swift build "${args[@]}" --product reloadctl
    swift build "${args[@]}" --product RemapHost
    debug=()
    [ -n "$scratch" ] && debug+=(--scratch-path "$scratch")
    swift build "${debug[@]}" --target RemapModule
    kit="$(swift build "${debug[@]}" --show-bin-path)"
    products="$(swift build "${args[@]}" --show-bin-path)"
else
    kit="$products"
fi
for f in reloadctl libRemapHost.so; do
    [ -f "$products/$f" ] || { echo "install.sh: $products/$f is missing" >&2; exit 1; }
done
for f in Modules/RemapModule.swiftmodule RemapMacros-tool RemapModule.build; do
    [ -e "$kit/$f" ] || { echo "install.sh: $kit/$f is missing (swift build --target RemapModule)" >&2; exit 1; }
done
# The Swift runtime libRemapHost.so runs with: C hosts get a run path to it.
swiftlib="$(ldd "$products/libRemapHost.so" | awk '/libswiftCore\.so/ { print $3 }' | xargs -r dirname)"
[ -n "$swiftlib" ] || { echo "install.sh: cannot find the Swift runtime libRemapHost.so links (ldd)" >&2; exit 1; }
version="$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' "$root/Sources/Reload/Version.swift")"

# 2. Replace an earlier install, then install, recording each folder created
# and each file written.
uninstall_existing || true
[ -z "$dest" ] || mkdir -p "$dest"   # the staging folder itself is not part of the install
entries="$(mktemp)"
trap 'rm -f "$entries"' EXIT
makedir() { # PATH under the prefix; records the folders it creates
    local missing=() p="$1"
    while [ ! -d "$dest$p" ]; do
        missing=("$p" "${missing[@]}")
        p="$(dirname "$p")"
    done
    for p in "${missing[@]}"; do
        mkdir "$dest$p"
        echo "d $p" >>"$entries"
    done
}
put() { # MODE SOURCE PATH
    makedir "$(dirname "$3")"
    install -m "$1" "$2" "$dest$3"
    echo "f $3" >>"$entries"
}
lib="$prefix/lib"
include="$prefix/include"
put 755 "$products/reloadctl" "$prefix/bin/reloadctl"
put 755 "$products/libRemapHost.so" "$lib/libRemapHost.so"
put 644 "$kit/Modules/RemapModule.swiftmodule" "$lib/remap/swift/RemapModule.swiftmodule"
put 755 "$kit/RemapMacros-tool" "$lib/remap/swift/RemapMacros-tool"
archive="$(mktemp -d)"
ar rcs "$archive/libRemapModule.a" "$kit"/RemapModule.build/*.swift.o
put 644 "$archive/libRemapModule.a" "$lib/remap/swift/libRemapModule.a"
rm -rf "$archive"
for h in "$root"/include/remap/*.h; do
    put 644 "$h" "$include/remap/$(basename "$h")"
done

pc="$(mktemp -d)"
trap 'rm -f "$entries"; rm -rf "$pc"' EXIT
cat >"$pc/remap.pc" <<EOF
# Remap's module API (include/remap/module.h), for module authors.
# A module is a shared library a host loads with dlopen: build it
# position-independent and shared, and link it with nothing, since its rm_*
# calls bind to the host's one copy of the runtime when it is loaded:
#   cc -shared -fPIC \$(pkg-config --cflags remap) -o mod.so mod.c
# (reloadctl build / reloadctl cflags do the same.)
prefix=${prefix:-/}
includedir=$include

Name: remap
Description: Remap module API: write native modules for live code reload
Version: $version
Cflags: -I\${includedir}
EOF
cat >"$pc/remap-host.pc" <<EOF
# Remap for C hosts (include/remap/host.h): the runtime and loader in
# libRemapHost.so, the collector (bdw-gc), and --export-dynamic so modules
# loaded with dlopen can bind to symbols the host defines. --no-as-needed
# around -lRemapHost keeps it when these flags come before host.c on the
# command line (as in the line below) and the linker defaults to --as-needed.
#   cc \$(pkg-config --cflags --libs remap-host) -o host host.c
# The run paths let the host find libRemapHost.so and the Swift runtime it was
# built with ($swiftlib) without LD_LIBRARY_PATH. If you
# move either, set LD_LIBRARY_PATH=\${libdir}:$swiftlib instead.
prefix=${prefix:-/}
libdir=$lib
includedir=$include
swiftlibdir=$swiftlib

Name: remap-host
Description: Remap runtime and module loader for C programs that embed it
Version: $version
Requires: bdw-gc
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,--push-state,--no-as-needed -lRemapHost -Wl,--pop-state -Wl,--export-dynamic -Wl,-rpath,\${libdir} -Wl,-rpath,\${swiftlibdir}
EOF
# The clang module Swift-written modules import (`import CRemap`): found by
# `swiftc -I PREFIX/include/remap`, as reloadctl build passes it. Kept under
# remap/ so it claims no generic PREFIX/include/module.modulemap.
cat >"$pc/module.modulemap" <<EOF
module CRemap {
    header "remap.h"
    export *
}
// The same API as RemapModule imports it (Sources/CRemapAPI).
module CRemapAPI {
    header "remap.h"
    export *
}
EOF
put 644 "$pc/module.modulemap" "$include/remap/module.modulemap"
put 644 "$pc/remap.pc" "$lib/pkgconfig/remap.pc"
put 644 "$pc/remap-host.pc" "$lib/pkgconfig/remap-host.pc"

makedir "$(dirname "$prefix/$manifest_rel")"
echo "f $prefix/$manifest_rel" >>"$entries"
{
    echo "# Remap $version install manifest: scripts/install.sh --uninstall --prefix ${prefix:-/} removes these"
    echo "# f: a file installed; d: a folder the install created (removed only if empty)"
    cat "$entries"
} >"$manifest"
chmod 644 "$manifest"
echo "installed Remap $version in $dest${prefix:-/} (manifest: $manifest)"
