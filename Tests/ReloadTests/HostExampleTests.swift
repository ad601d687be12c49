import Foundation
import XCTest

/// The two embedding examples, built and run as their READMEs say.
final class HostExampleTests: XCTestCase {
    /// A folder with counter.so built from examples/c-host/counter.c.
    func counterModule() throws -> FixtureFolder {
        let folder = try FixtureFolder()
        let source = FixtureFolder.packageRoot.appendingPathComponent("examples/c-host/counter.c").path
        try folder.buildC("counter", try String(contentsOfFile: source, encoding: .utf8))
        return folder
    }

    func testSwiftHostPackageBuildsAndRuns() throws {
        let package = FixtureFolder.packageRoot.appendingPathComponent("examples/swift-host").path
        let build = try Processes.run("/usr/bin/env", ["swift", "build", "--package-path", package], timeout: 900)
        XCTAssertEqual(build.status, 0, build.stdout + build.stderr)
        let binPath = try Processes.run("/usr/bin/env", ["swift", "build", "--package-path", package, "--show-bin-path"])
        let binary = binPath.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/swift-host"

        let modules = try counterModule()
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
        let reload = try Processes.run(Processes.reloadctl, ["reload", "counter", "--socket", socket])
        XCTAssertEqual(reload.status, 0, reload.stderr)
        // The host stops by itself after its loop, and exits cleanly.
        host.waitUntilExit()
        XCTAssertEqual(host.terminationStatus, 0)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("hello, world"), text)
        XCTAssertTrue(text.contains("counter.bump() = 1"), text)
        XCTAssertTrue(text.contains("reloaded greetings to generation 2"), text)
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
