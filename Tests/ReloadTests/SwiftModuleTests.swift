import Foundation
import XCTest

/// Modules written in Swift (issue 22): examples/swift-particles under
/// `reloadctl run --entry particles.run --watch`, edited live as a user
/// would, with real `swiftc` builds through the macro plugin.
final class SwiftModuleTests: HostTestCase {
    static let example = FixtureFolder.packageRoot.path + "/examples/swift-particles/particles.swift"

    func source() throws -> String { try String(contentsOfFile: Self.example, encoding: .utf8) }

    func save(_ text: String) throws {
        try text.write(toFile: folder.path + "/particles.swift", atomically: true, encoding: .utf8)
    }

    /// `text` with `old` replaced, failing the test if `old` is not there.
    func edit(_ text: String, _ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertTrue(text.contains(old), "the example no longer has \(old)", file: file, line: line)
        return text.replacingOccurrences(of: old, with: new)
    }

    func clock() throws -> Int { Int(try ctl("get", "particles.clock").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }

    func waitUntil(_ timeout: TimeInterval = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return false
    }

    func startExample() throws -> HostProcess {
        try save(try source())
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--entry", "particles.run", "--watch"])
        XCTAssertTrue(host.waitFor("tick 5:", timeout: 120), host.log)
        return host
    }

    /// The issue's "done when": a save that adds a stored property with a
    /// default (mass), renames one (v -> speed) and changes a method (step)
    /// keeps every particle and its values; the entry runs on with the new
    /// code, the clock is not reset.
    func testLiveEditAddsRenamesAndChangesMethodKeepingEveryParticle() throws {
        let host = try startExample()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "particles.spawn", "0").stdout, "100000\n", host.log)
        let before = try clock()

        var v2 = try source()
        v2 = edit(v2, "var v: Int = 0", "@Renamed(from: \"v\") var speed: Int = 0\n        var mass: Double = 1.0")
        v2 = edit(v2, "x = (x + v) % 1000", "x = (x + 2 * speed) % 1000\n            mass += 0.5")
        v2 = edit(v2, "Particle(x: i % 1000, v: i % 5 - 2)", "Particle(x: i % 1000, speed: i % 5 - 2)")
        // A check over every particle: its renamed field kept the value it
        // was spawned with, and the new step has run on it since the reload.
        v2 = edit(v2, "    static func tick() {", """
                static func check() -> String {
                    var bad = 0
                    for (i, p) in world.enumerated() where p.speed != i % 5 - 2 || p.mass <= 1.0 || p.x < 0 || p.x >= 1000 { bad += 1 }
                    return "\\(world.count) particles, \\(bad) wrong"
                }

                static func tick() {
            """)
        try save(v2)
        XCTAssertTrue(host.waitFor("reloaded particles 1 -> 2", timeout: 120), host.log)
        // Ticks of the new step since the reload (the build took several).
        let reloaded = try clock()
        XCTAssertGreaterThan(reloaded, before, "the clock was reset")
        XCTAssertTrue(try waitUntil { try clock() >= reloaded + 2 }, host.log)
        XCTAssertEqual(try ctl("call", "particles.check").stdout, "\"100000 particles, 0 wrong\"\n", host.log)
        let particle = try ctl("get", "particles.world[7]", "--json").stdout
        XCTAssertTrue(particle.contains("\"speed\":0") && particle.contains("\"mass\""), particle)
        XCTAssertFalse(particle.contains("\"v\""), particle)
        XCTAssertFalse(host.log.contains("failed"), host.log)
    }

    /// A new version whose module hook throws is refused whole: the old
    /// code keeps running (its report, its ticks), with the hook's message
    /// in the log.
    func testNewVersionThrowingInItsHookLeavesTheOldOneRunning() throws {
        let host = try startExample()
        defer { host.stop() }
        var v2 = try source()
        v2 = edit(v2, "var v: Int = 0", "var v: Int = 0\n        var mass: Double = 1.0")
        v2 = edit(v2, "return \"tick \\(clock)", "return \"v2 tick \\(clock)")
        v2 = edit(v2, "    static func tick() {", """
                static func reload(old: OldNamespace) throws {
                    throw RemapError.valueError("not ready: \\(try old["clock", as: Int.self] ?? -1) ticks")
                }

                static func tick() {
            """)
        try save(v2)
        XCTAssertTrue(host.waitFor("reload of particles failed", timeout: 120), host.log)
        XCTAssertTrue(host.log.contains("not ready:"), host.log)
        let after = try clock()
        XCTAssertTrue(try waitUntil { try clock() >= after + 2 }, "the old entry stopped ticking\n\(host.log)")
        XCTAssertTrue(try ctl("call", "particles.report").stdout.hasPrefix("\"tick "), host.log)
        let particle = try ctl("get", "particles.world[7]", "--json").stdout
        XCTAssertFalse(particle.contains("mass"), particle)
    }

    /// The glue's checks, as `reloadctl call` shows them: a wrong type is a
    /// TypeError naming the argument, a wrong count says how many, a Swift
    /// throw is the module's error.
    func testCallsConvertArgumentsAndErrors() throws {
        let host = try startExample()
        defer { host.stop() }
        let wrong = try ctl("call", "particles.spawn", "\"abc\"")
        XCTAssertTrue(wrong.stderr.contains("TypeError: particles.spawn() argument 1 must be int, not str"), wrong.stderr)
        let count = try ctl("call", "particles.spawn")
        XCTAssertTrue(count.stderr.contains("TypeError: particles.spawn() takes exactly 1 argument (0 given)"), count.stderr)
        let thrown = try Processes.run(Processes.reloadctl, ["call", "--socket", socketPath, "particles.spawn", "--", "-3"])
        XCTAssertTrue(thrown.stderr.contains("ValueError: cannot spawn -3 particles"), thrown.stderr)
        XCTAssertEqual(try ctl("call", "particles.world[3].step").status, 0)
        XCTAssertTrue(try ctl("get", "particles.world[3]").stdout.contains("Particle"))
    }
}

/// A Swift module in a C host (libRemapHost.so, include/remap/host.h):
/// nothing in the runtime is Swift-specific, so the same library loads,
/// runs and reloads (a field added) there too.
final class SwiftModuleCHostTests: XCTestCase {
    func testSwiftModuleLoadsAndReloadsInACHost() throws {
        guard FileManager.default.fileExists(atPath: Processes.productsDirectory.path + "/libRemapHost.so") else {
            throw XCTSkip("libRemapHost.so is not built (swift build --product RemapHost; scripts/test.sh builds it)")
        }
        let work = try FixtureFolder()
        var source = try String(contentsOfFile: SwiftModuleTests.example, encoding: .utf8)
        try source.write(toFile: work.path + "/particles.swift", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Processes.run(Processes.reloadctl, ["build", work.path + "/particles.swift"]).status, 0)
        source = source.replacingOccurrences(of: "var v: Int = 0", with: "var v: Int = 0\n        var mass: Double = 2.5")
        try source.write(toFile: work.path + "/v2.swift", atomically: true, encoding: .utf8)
        try """
            #include <remap/host.h>
            #include <stdio.h>
            #include <stdlib.h>
            static void show(const char *function) {
                rm_object *r = rm_host_call(function, NULL, 0);
                if (!r) { printf("%s failed: %s\\n", function, rm_error_message()); exit(1); }
                printf("%s\\n", rm_str_cstr(rm_repr(r)));
            }
            int main(int argc, char **argv) {
                if (rm_host_start() < 0) return 1;
                rm_acquire();
                if (rm_host_add_search_path(argv[1]) < 0 || !rm_host_load("particles")) return 2;
                rm_object *n = rm_int(1000);
                if (!rm_host_call("particles.spawn", &n, 1)) return 3;
                show("particles.tick");
                show("particles.report");
                rm_release();
                if (system(argv[2]) != 0) return 4;
                rm_acquire();
                const char *modules[] = {"particles"};
                if (rm_host_reload(modules, 1, NULL, NULL) < 0) { printf("reload: %s\\n", rm_error_message()); return 5; }
                show("particles.tick");
                show("particles.report");
                rm_object *world = rm_host_call("particles.spawn", &(rm_object *){rm_int(0)}, 1);
                printf("count %s\\n", rm_str_cstr(rm_repr(world)));
                rm_release();
                return 0;
            }
            """.write(toFile: work.path + "/host.c", atomically: true, encoding: .utf8)
        let flags = try Processes.run(Processes.reloadctl, ["cflags", "--host"])
        XCTAssertEqual(flags.status, 0, flags.stderr)
        let cc = try Processes.run("/usr/bin/env", ["cc", "-o", work.path + "/host", work.path + "/host.c"]
            + flags.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        XCTAssertEqual(cc.status, 0, cc.stderr)
        let rebuild = "\(Processes.reloadctl) build \(work.path)/v2.swift -o \(work.path)/particles.so"
        let run = try Processes.run(work.path + "/host", [work.path, rebuild], timeout: 120)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("tick 1: 1000 particles"), run.stdout)
        XCTAssertTrue(run.stdout.contains("tick 2: 1000 particles"), "state kept across the reload: \(run.stdout)")
        XCTAssertTrue(run.stdout.contains("count 1000"), run.stdout)
    }
}

/// docs/swift-modules.md shows the example as it is, and its lines of code
/// stay within 1.3x the same program in ordinary Swift (the issue's target).
final class SwiftModuleDocsTests: XCTestCase {
    static func code(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("//") }
    }

    func swiftBlocks() throws -> [String] {
        let text = try String(contentsOfFile: FixtureFolder.packageRoot.path + "/docs/swift-modules.md", encoding: .utf8)
        return text.components(separatedBy: "```swift\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    }

    func testDocumentedExampleIsTheExampleAndItsSizeIsWithinTarget() throws {
        let blocks = try swiftBlocks()
        let example = try String(contentsOfFile: SwiftModuleTests.example, encoding: .utf8)
        XCTAssertEqual(Self.code(blocks[0]), Self.code(example), "docs/swift-modules.md's first block is the example")
        let ordinary = try XCTUnwrap(blocks.first { $0.contains("final class Particle") })
        let ratio = Double(Self.code(example).count) / Double(Self.code(ordinary).count)
        XCTAssertLessThanOrEqual(ratio, 1.3, "\(Self.code(example).count) lines against \(Self.code(ordinary).count)")
    }
}
