import Foundation
import XCTest

/// A bad argument from a client is a TypeError for that client, and the
/// host runs on with its state (issue 20, bug 7: `particles.spawn("abc")`
/// spawned 3 particles, and `spawn(1.5)` or `spawn(null)` looped 4.6e18
/// times holding the runtime lock until Boehm aborted the process, because
/// examples/particles read its argument with the unchecked rm_int_value).
final class BadArgumentTests: HostTestCase {
    func testParticlesSpawnRefusesBadArgumentsAndKeepsRunning() throws {
        let example = FixtureFolder.packageRoot.appendingPathComponent("examples/particles/particles.c").path
        try FileManager.default.copyItem(atPath: example, toPath: folder.path + "/particles.c")
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--entry", "particles.run"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("tick 5: 100000 particles"), host.log)

        for (argument, type) in [("\"abc\"", "str"), ("1.5", "float"), ("null", "None"), ("true", "bool"), ("[3]", "list")] {
            let call = try ctl("call", "particles.spawn", argument)
            XCTAssertNotEqual(call.status, 0, "spawn(\(argument)): \(call.stdout)")
            XCTAssertTrue(call.stderr.contains("TypeError"), "spawn(\(argument)): \(call.stderr)")
            XCTAssertTrue(call.stderr.contains("particles.spawn() argument 1 must be int, not \(type)"),
                          "spawn(\(argument)): \(call.stderr)")
        }
        let count = try ctl("call", "particles.spawn")
        XCTAssertNotEqual(count.status, 0)
        XCTAssertTrue(count.stderr.contains("takes 1 argument (0 given)"), count.stderr)
        let negative = try Processes.run(Processes.reloadctl, ["call", "--socket", socketPath, "particles.spawn", "--", "-1"])
        XCTAssertTrue(negative.stderr.contains("ValueError"), negative.stderr)

        // The host is alive, nothing was spawned by the bad calls, and the
        // entry's loop still ticks.
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
        XCTAssertEqual(try ctl("call", "particles.spawn", "5").stdout, "100005\n")
        let report = try ctl("call", "particles.report")
        XCTAssertTrue(report.stdout.contains("100005 particles"), report.stdout + report.stderr)
        XCTAssertTrue(host.waitFor("100005 particles"), host.log)
        XCTAssertTrue(host.process.isRunning, host.log)
    }
}
