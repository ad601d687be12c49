import Foundation
import XCTest

/// The two embedding examples, built and run as their READMEs say.
final class HostExampleTests: XCTestCase {
    /// examples/swift-host depends on Remap's ReloadDynamic product with no
    /// linker flags of its own (issue 14: no unsafeFlags for a dependent):
    /// the core is in libReloadDynamic.so, and a module built by
    /// `reloadctl build` binds to it, loads, and reloads with its state.
    func testSwiftHostPackageBuildsAndRuns() throws {
        let package = FixtureFolder.packageRoot.appendingPathComponent("examples/swift-host").path
        let manifest = try String(contentsOfFile: package + "/Package.swift", encoding: .utf8)
        XCTAssertFalse(manifest.contains(".unsafeFlags("), "the example needs no unsafe flags")
        let build = try Processes.run("/usr/bin/env", ["swift", "build", "--package-path", package], timeout: 900)
        XCTAssertEqual(build.status, 0, build.stdout + build.stderr)
        let binPath = try Processes.run("/usr/bin/env", ["swift", "build", "--package-path", package, "--show-bin-path"])
        let binary = binPath.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/swift-host"
        // One copy of the core, in the shared library: the executable
        // defines no rm_ function of its own.
        let defined = try Processes.run("/usr/bin/nm", ["--defined-only", binary])
        XCTAssertFalse(defined.stdout.split(separator: "\n").contains { $0.hasSuffix(" rm_init") },
                       "the executable has its own copy of the core")

        let modules = try FixtureFolder()
        let source = modules.path + "/counter.c"
        try FileManager.default.copyItem(atPath: FixtureFolder.packageRoot.appendingPathComponent("examples/c-host/counter.c").path,
                                         toPath: source)
        let built = try Processes.run(Processes.reloadctl, ["build", modules.path])
        XCTAssertEqual(built.status, 0, built.stderr)
        let socketDir = NSTemporaryDirectory() + "remap-sh-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: socketDir) }
        let socket = socketDir + "/host.sock"
        let host = Process()
        host.executableURL = URL(fileURLWithPath: binary)
        host.arguments = [modules.path, "--serve", socket, "--seconds", "6"]
        let output = Pipe()
        host.standardOutput = output
        try host.run()
        defer { if host.isRunning { host.terminate() } }
        // While its main loop runs with safe points, reloadctl drives it.
        var pong = ""
        for _ in 0..<100 {
            usleep(100_000)
            let result = try Processes.run(Processes.reloadctl, ["call", "counter.bump", "--socket", socket])
            if result.status == 0 { pong = result.stdout; break }
        }
        XCTAssertEqual(pong, "2\n", "the host served a call between its own steps")
        // New code: count in tens. The count itself is state, kept.
        var text = try String(contentsOfFile: source, encoding: .utf8)
        text = text.replacingOccurrences(of: "#define STEP 1\n", with: "#define STEP 10\n")
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        let rebuilt = try Processes.run(Processes.reloadctl, ["build", modules.path])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        let reload = try Processes.run(Processes.reloadctl, ["reload", "counter", "--socket", socket])
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertTrue(reload.stdout.contains("reloaded counter 1 -> 2"), reload.stdout)
        let after = try Processes.run(Processes.reloadctl, ["call", "counter.bump", "--socket", socket])
        XCTAssertEqual(after.stdout, "12\n", "the new code ran on the kept count: \(after.stderr)")
        // The host stops by itself after its loop, and exits cleanly.
        host.waitUntilExit()
        XCTAssertEqual(host.terminationStatus, 0)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(log.contains("hello, world"), log)
        XCTAssertTrue(log.contains("counter.bump() = 1"), log)
        XCTAssertTrue(log.contains("reloaded greetings to generation 2"), log)
    }

    func testCHostBuildsWithMakeAndReloads() throws {
        let products = Processes.productsDirectory.path
        guard FileManager.default.fileExists(atPath: products + "/libRemapHost.so") else {
            XCTFail("\(products)/libRemapHost.so is missing: build it first (scripts/test.sh runs swift build --product RemapHost)")
            return
        }
        let out = NSTemporaryDirectory() + "remap-chost-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let example = FixtureFolder.packageRoot.appendingPathComponent("examples/c-host").path
        let result = try Processes.run("/usr/bin/make", ["-C", example, "run", "RELOADCTL=\(Processes.reloadctl)", "OUT=\(out)"],
                                       timeout: 300)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("v1: counter.bump() = 2"), result.stdout)
        XCTAssertTrue(result.stdout.contains("expected failure: module nosuch is not loaded"), result.stdout)
        XCTAssertTrue(result.stdout.contains("v2: counter.bump() = 12"), "state kept across the reload: \(result.stdout)")
    }
}
