import Foundation
import XCTest

/// scripts/install.sh end to end: install into a temporary prefix, build the
/// C host example and its module with pkg-config alone (no source tree on any
/// path, no REMAP_INCLUDE), run them, check the installed reloadctl's cflags
/// against pkg-config, then uninstall and check only what was there before
/// remains.
///
/// By default the script installs the products of the build running this
/// test (`--products`, a few seconds: scripts/test.sh builds RemapHost beside
/// the tests). With REMAP_TEST_INSTALL_BUILD=1 it runs the script's own
/// release build instead, in a separate scratch folder kept between runs
/// (TMPDIR/remap-install-scratch: this `swift test` holds .build's lock, and
/// SwiftPM breaks on a second build into another scratch folder inside the
/// package): about 1.5 minutes cold on 2 cores, seconds when warm.
final class InstallTests: XCTestCase {
    func testInstallBuildHostAndModuleWithPkgConfigThenUninstall() throws {
        let root = FixtureFolder.packageRoot.path
        let products = Processes.productsDirectory.path
        let fullBuild = ProcessInfo.processInfo.environment["REMAP_TEST_INSTALL_BUILD"] == "1"
        if !fullBuild {
            guard FileManager.default.fileExists(atPath: products + "/libRemapHost.so") else {
                XCTFail("\(products)/libRemapHost.so is missing: build it first (scripts/test.sh runs swift build --product RemapHost)")
                return
            }
        }
        let fm = FileManager.default
        let top = NSTemporaryDirectory() + "remap-install-\(UUID().uuidString.prefix(8))"
        defer { try? fm.removeItem(atPath: top) }
        let prefix = top + "/prefix"
        let work = top + "/work"
        // Something already in the prefix that uninstall must leave alone.
        try fm.createDirectory(atPath: prefix + "/lib", withIntermediateDirectories: true)
        try "not Remap's\n".write(toFile: prefix + "/lib/keep.txt", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        for file in ["host.c", "counter.c"] {
            try fm.copyItem(atPath: root + "/examples/c-host/" + file, toPath: work + "/" + file)
        }

        var args = ["\(root)/scripts/install.sh", "--prefix", prefix]
        args += fullBuild ? ["--scratch-path", NSTemporaryDirectory() + "remap-install-scratch"] : ["--products", products]
        let install = try Processes.run("/bin/bash", args, timeout: fullBuild ? 1800 : 120)
        XCTAssertEqual(install.status, 0, install.stdout + install.stderr)
        let manifestPath = prefix + "/share/remap/install-manifest"
        let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8)
        let installedFiles = manifest.split(separator: "\n").filter { $0.hasPrefix("f ") }.map { String($0.dropFirst(2)) }
        for expected in ["bin/reloadctl", "lib/libRemapHost.so", "include/remap/host.h", "include/remap/module.h",
                         "lib/remap/swift/RemapModule.swiftmodule", "lib/remap/swift/libRemapModule.a",
                         "lib/remap/swift/RemapMacros-tool",
                         "lib/pkgconfig/remap.pc", "lib/pkgconfig/remap-host.pc", "share/remap/install-manifest"] {
            XCTAssertTrue(installedFiles.contains(prefix + "/" + expected), "\(expected) in the manifest:\n\(manifest)")
            XCTAssertTrue(fm.fileExists(atPath: prefix + "/" + expected), expected)
        }

        // A shell with only the system's paths and PKG_CONFIG_PATH: nothing
        // that points into the source tree or its build.
        let env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(),
                   "PKG_CONFIG_PATH": prefix + "/lib/pkgconfig", "TMPDIR": NSTemporaryDirectory()]
        func sh(_ script: String) throws -> Processes.Result {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.environment = env
            process.currentDirectoryURL = URL(fileURLWithPath: work)
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            final class Box: @unchecked Sendable { var data = Data() }
            let errData = Box()
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async { errData.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            return Processes.Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                                    stderr: String(decoding: errData.data, as: UTF8.self))
        }

        // The host, with the flags before the source (as the task's line has
        // it) and after it (as docs/embedding-c.md has it); the module; a run with a
        // rebuild and reload in the middle.
        let build = try sh("""
            set -e
            cc $(pkg-config --cflags --libs remap-host) host.c -o host-flags-first
            cc -Wall -Werror host.c $(pkg-config --cflags --libs remap-host) -o host
            cc -shared -fPIC $(pkg-config --cflags remap) -o counter.so counter.c
            """)
        XCTAssertEqual(build.status, 0, build.stdout + build.stderr)
        let rebuild = "cc -shared -fPIC $(pkg-config --cflags remap) -DSTEP=10 -o counter.so.new counter.c && mv counter.so.new counter.so"
        for host in ["./host", "./host-flags-first"] {
            let run = try sh("cc -shared -fPIC $(pkg-config --cflags remap) -o counter.so counter.c && \(host) . '\(rebuild)'")
            XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
            XCTAssertTrue(run.stdout.contains("v1: counter.bump() = 2"), run.stdout)
            XCTAssertTrue(run.stdout.contains("expected failure: module nosuch is not loaded"), run.stdout)
            XCTAssertTrue(run.stdout.contains("v2: counter.bump() = 12"), "state kept across the reload: \(run.stdout)")
        }
        // A module written in Swift builds with the installed reloadctl
        // alone: swiftc finds `import CRemap` in the installed headers.
        let swiftc = Processes.which("swiftc") ?? "swiftc"
        try """
            import CRemap
            @_cdecl("rm_module_abi") public func moduleABI() -> UInt32 { UInt32(RM_ABI_VERSION) }
            @_cdecl("rm_module_init") public func moduleInit(_ m: OpaquePointer) -> Int32 {
                let answer: rm_cfunction = { _, _, _ in rm_int(42) }
                return rm_def_function(m, "answer", answer, 0) == nil ? -1 : 0
            }
            """.write(toFile: work + "/answer.swift", atomically: true, encoding: .utf8)
        let swiftModule = try sh("SWIFTC='\(swiftc)' \(prefix)/bin/reloadctl build answer.swift && nm -D --defined-only answer.so")
        XCTAssertEqual(swiftModule.status, 0, swiftModule.stdout + swiftModule.stderr)
        XCTAssertTrue(swiftModule.stdout.contains("rm_module_init"), swiftModule.stdout)
        // The Swift example (RemapModule, its macros) builds with the
        // installed reloadctl alone, and the installed reloadctl's host
        // loads it and calls it.
        try fm.createDirectory(atPath: work + "/swift", withIntermediateDirectories: true)
        try fm.copyItem(atPath: root + "/examples/swift-particles/particles.swift", toPath: work + "/swift/particles.swift")
        let example = try sh("""
            set -e
            SWIFTC='\(swiftc)' \(prefix)/bin/reloadctl build swift/particles.swift
            sock="$(mktemp -d)"; chmod 700 "$sock"
            SWIFTC='\(swiftc)' \(prefix)/bin/reloadctl run swift --socket "$sock/s" > host.log 2>&1 &
            host=$!
            for i in $(seq 100); do [ -S "$sock/s" ] && break; sleep 0.1; done
            \(prefix)/bin/reloadctl call particles.spawn 10 --socket "$sock/s"
            \(prefix)/bin/reloadctl call particles.tick --socket "$sock/s"
            \(prefix)/bin/reloadctl call particles.report --socket "$sock/s"
            kill $host; wait $host || true
            """)
        if example.status != 0 { print(try String(contentsOfFile: work + "/host.log", encoding: .utf8)) }
        XCTAssertEqual(example.status, 0, example.stdout + example.stderr)
        XCTAssertTrue(example.stdout.contains("10\n") && example.stdout.contains("tick 1: 10 particles"), example.stdout + example.stderr)
        // Only the public headers are installed, and a host cannot reach the
        // loader's part of the core (CSources/loader.h): it is not exported.
        let headers = try fm.contentsOfDirectory(atPath: prefix + "/include/remap").filter { $0.hasSuffix(".h") }.sorted()
        let publicHeaders = try fm.contentsOfDirectory(atPath: root + "/include/remap").filter { $0.hasSuffix(".h") }.sorted()
        XCTAssertEqual(headers, publicHeaders)
        try "int rm_txn_begin(void);\nint main(void) { return rm_txn_begin(); }\n"
            .write(toFile: work + "/internal.c", atomically: true, encoding: .utf8)
        let probe = try sh("cc internal.c $(pkg-config --cflags --libs remap-host) -o internal")
        XCTAssertNotEqual(probe.status, 0, "a host linked against rm_txn_begin")
        XCTAssertTrue(probe.stderr.contains("rm_txn_begin"), probe.stderr)

        // It runs with the installed library, not the build's.
        let ldd = try sh("ldd ./host")
        XCTAssertTrue(ldd.stdout.contains("libRemapHost.so => \(prefix)/lib/libRemapHost.so"), ldd.stdout)

        // The installed reloadctl finds its headers and library from its own
        // prefix and agrees with pkg-config.
        func tokens(_ line: String) -> [String] {
            // "-I dir" and "-Idir" are the same flag.
            var out: [String] = []
            var pending: String?
            for word in line.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) {
                if let flag = pending { out.append(flag + word); pending = nil }
                else if word == "-I" || word == "-L" { pending = word }
                else { out.append(word) }
            }
            return out
        }
        let moduleFlags = try sh("\(prefix)/bin/reloadctl cflags")
        XCTAssertEqual(moduleFlags.status, 0, moduleFlags.stderr)
        let pcModule = try sh("pkg-config --cflags remap")
        let moduleIncludes = tokens(moduleFlags.stdout).filter { $0.hasPrefix("-I") }
        XCTAssertEqual(moduleIncludes, ["-I\(prefix)/include"], moduleFlags.stdout)
        XCTAssertEqual(tokens(pcModule.stdout).filter { $0.hasPrefix("-I") }, moduleIncludes, pcModule.stdout)
        XCTAssertTrue(tokens(moduleFlags.stdout).contains("-fPIC") && tokens(moduleFlags.stdout).contains("-shared"))

        let hostFlags = try sh("\(prefix)/bin/reloadctl cflags --host")
        XCTAssertEqual(hostFlags.status, 0, hostFlags.stderr)
        let pcHost = try sh("pkg-config --cflags --libs remap-host")
        XCTAssertEqual(pcHost.status, 0, pcHost.stderr)
        let ours = tokens(hostFlags.stdout), theirs = Set(tokens(pcHost.stdout))
        XCTAssertTrue(ours.contains("-L\(prefix)/lib") && ours.contains("-Wl,-rpath,\(prefix)/lib"), hostFlags.stdout)
        // The same flags, but for bdw-gc's own -lpthread -ldl that pkg-config
        // adds; the run path to the Swift runtime included.
        XCTAssertTrue(ours.contains { $0.hasPrefix("-Wl,-rpath,") && $0.hasSuffix("/lib/swift/linux") }, hostFlags.stdout)
        XCTAssertEqual(Set(ours), theirs.subtracting(["-lpthread", "-ldl"]),
                       "reloadctl cflags --host: \(hostFlags.stdout)pkg-config: \(pcHost.stdout)")

        // Uninstall: every file and folder it added goes; keep.txt stays.
        let uninstall = try Processes.run("/bin/bash", ["\(root)/scripts/install.sh", "--uninstall", "--prefix", prefix])
        XCTAssertEqual(uninstall.status, 0, uninstall.stdout + uninstall.stderr)
        for file in installedFiles {
            XCTAssertFalse(fm.fileExists(atPath: file), "\(file) left after uninstall")
        }
        let left = (fm.enumerator(atPath: prefix)?.allObjects as? [String] ?? []).sorted()
        XCTAssertEqual(left, ["lib", "lib/keep.txt"], "only what was there before remains")
        let again = try Processes.run("/bin/bash", ["\(root)/scripts/install.sh", "--uninstall", "--prefix", prefix])
        XCTAssertNotEqual(again.status, 0, "a second uninstall has no manifest to follow")
    }
}
