import Foundation
import Reload
import XCTest

/// `reloadctl run --entry F --restart no|on-failure|always`: an entry that
/// throws or crashes is reported, restarted with backoff under the policy,
/// with module state kept, and a reload that fixed it is what restarts.
/// The fixture is Tests/Modules/flaky.c, which counts its calls in state.
final class EntryRestartTests: HostTestCase {
    func startHost(_ extra: [String]) throws -> HostProcess {
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: extra)
        XCTAssertTrue(host.waitFor("serving", timeout: 120), "host did not start:\n\(host.log)")
        return host
    }

    func lines(_ log: String, containing text: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// Fails once with an error, crashes once (SIGSEGV), then returns: two
    /// restarts logged with their reasons and growing waits, the call count
    /// kept in state through both, and a host that still serves and reloads.
    func testOnFailureRestartsAfterAnErrorAndACrash() throws {
        try folder.buildModule("flaky", from: "flaky.c", version: 1)
        let host = try startHost(["--entry", "flaky.run", "--restart", "on-failure"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("flaky.run returned 3"), host.log)

        let restarts = lines(host.log, containing: "; restart ")
        XCTAssertEqual(restarts.count, 2, host.log)
        let first = restarts.first ?? "", second = restarts.last ?? ""
        XCTAssertNotNil(first.range(of: #"^\[\d\d:\d\d:\d\d\.\d\d\d\] flaky\.run failed: ValueError: call 1 fails on purpose; restart 1 in 0\.1 s$"#,
                                    options: .regularExpression), first)
        XCTAssertNotNil(second.range(of: #"^\[\d\d:\d\d:\d\d\.\d\d\d\] flaky\.run failed: crashed: SIGSEGV in flaky\.run \(flaky\.so\+0x[0-9a-f]+\), address \S+; restart 2 in 0\.2 s$"#,
                                     options: .regularExpression), second)
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "3\n", "the state counted every run")

        let status = try ctl("status")
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("entry flaky.run: returned, 2 restarts (on-failure), last failure: crashed: SIGSEGV"),
                      status.stdout)
        // After the caught crash, a reload works and keeps the state.
        try folder.buildModule("flaky", from: "flaky.c", version: 3)
        let reload = try ctl("reload", "flaky")
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertEqual(try ctl("call", "flaky.version").stdout, "3\n")
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "3\n")
    }

    /// A function called over the control socket that crashes fails that
    /// request (exit 1, the signal named) and the host keeps serving with its
    /// state: calls run under the same crash guard as the entry.
    func testCrashInAControlCallFailsTheRequestOnly() throws {
        try folder.buildModule("flaky", from: "flaky.c", version: 1)
        let host = try startHost([])
        defer { host.stop() }
        let failed = try ctl("call", "flaky.run")
        XCTAssertEqual(failed.status, 1, failed.stdout + failed.stderr)
        XCTAssertTrue(failed.stderr.contains("call 1 fails on purpose"), failed.stderr)
        let crashed = try ctl("call", "flaky.run")
        XCTAssertEqual(crashed.status, 1, crashed.stdout + crashed.stderr)
        XCTAssertTrue(crashed.stderr.contains("flaky.run crashed: SIGSEGV in flaky.run (flaky.so+0x"), crashed.stderr)
        XCTAssertEqual(try ctl("call", "flaky.run").stdout, "3\n", host.log)
        XCTAssertEqual(try ctl("status").status, 0)
        try folder.buildModule("flaky", from: "flaky.c", version: 3)
        XCTAssertEqual(try ctl("reload", "flaky").status, 0)
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "3\n")
    }

    /// `--restart no` (the default) reports the failure once and keeps
    /// serving; the entry is not called again.
    func testNoRestartReportsTheFailureAndKeepsServing() throws {
        try folder.buildModule("flaky", from: "flaky.c", version: 1)
        let host = try startHost(["--entry", "flaky.run", "--restart", "no"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("flaky.run failed: ValueError: call 1 fails on purpose"), host.log)
        usleep(500_000)
        XCTAssertFalse(host.log.contains("restart"), host.log)
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "1\n")
        XCTAssertTrue(try ctl("status").stdout.contains("entry flaky.run: failed, 0 restarts (no), last failure: ValueError"))

        let noEntry = try Processes.reloadctl("run", folder.path, "--restart", "always", "--socket", socketDir + "/other.sock")
        XCTAssertEqual(noEntry.status, 64, noEntry.stderr)
        XCTAssertTrue(noEntry.stderr.contains("needs an --entry"), noEntry.stderr)
        let badPolicy = try Processes.reloadctl("run", folder.path, "--entry", "flaky.run", "--restart", "sometimes",
                                                "--socket", socketDir + "/other.sock")
        XCTAssertEqual(badPolicy.status, 64, badPolicy.stderr)
        XCTAssertTrue(badPolicy.stderr.contains("on-failure"), badPolicy.stderr)
    }

    /// `--restart always` calls the entry again after it returns, with the
    /// backoff growing while it keeps ending at once.
    func testAlwaysRestartsAfterANormalReturn() throws {
        try folder.buildModule("flaky", from: "flaky.c", version: 3)
        let host = try startHost(["--entry", "flaky.run", "--restart", "always"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("restart 3 in"), host.log)
        XCTAssertEqual(lines(host.log, containing: "flaky.run returned 1; restart 1 in 0.1 s").count, 1, host.log)
        XCTAssertEqual(lines(host.log, containing: "flaky.run returned 2; restart 2 in 0.2 s").count, 1, host.log)
        XCTAssertEqual(lines(host.log, containing: "flaky.run returned 3; restart 3 in 0.4 s").count, 1, host.log)
        XCTAssertGreaterThanOrEqual(Int(try ctl("call", "flaky.calls").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 3)
    }

    /// Under --watch, a save that fixes a failing entry is reloaded while
    /// the supervisor waits, and the next restart runs the fixed code with
    /// the state the broken runs left.
    func testRestartPicksUpAWatchReloadThatFixedTheEntry() throws {
        let source = try String(contentsOfFile: FixtureFolder.modulesFolder + "/flaky.c", encoding: .utf8)
        let file = folder.path + "/flaky.c"
        try ("#define VERSION 2\n" + source).write(toFile: file, atomically: true, encoding: .utf8)
        let host = try startHost(["--entry", "flaky.run", "--restart", "on-failure", "--watch"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("still broken at call 2; restart 2"), host.log)

        try ("#define VERSION 3\n" + source).write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertTrue(host.waitFor("reloaded flaky 1 -> 2"), host.log)
        XCTAssertTrue(host.waitFor("flaky.run returned"), host.log)
        let returned = lines(host.log, containing: "flaky.run returned").first ?? ""
        let runs = Int(returned.split(separator: " ").last ?? "") ?? 0
        XCTAssertGreaterThan(runs, 2, "the fixed run counted on from the broken ones: \(host.log)")
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "\(runs)\n")
        XCTAssertEqual(try ctl("call", "flaky.version").stdout, "3\n")
    }

    /// An entry that runs long under the guard, letting requests in at safe
    /// points: status, calls and a reload are served while it runs; then it
    /// aborts in the replaced generation's code, the crash is caught, the
    /// next run calls the new code, and the host still collects and reloads.
    func testLongRunningEntryServesRequestsThenItsAbortIsCaught() throws {
        try folder.buildModule("flaky", from: "flaky.c", version: 4)
        let host = try startHost(["--entry", "flaky.run", "--restart", "on-failure"])
        defer { host.stop() }
        // The entry starts just after "serving": wait for its first call.
        let deadline = Date().addingTimeInterval(30)
        while try ctl("call", "flaky.calls").stdout != "1\n" && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(try ctl("call", "flaky.calls").stdout, "1\n", host.log)
        XCTAssertTrue(try ctl("status").stdout.contains("entry flaky.run: running, 0 restarts (on-failure)"))
        try folder.buildModule("flaky", from: "flaky.c", version: 4, defines: ["REBUILT"])
        let reload = try ctl("reload", "flaky")
        XCTAssertEqual(reload.status, 0, reload.stderr + host.log)

        XCTAssertEqual(try ctl("call", "flaky.stop").status, 0)
        XCTAssertTrue(host.waitFor("; restart 1 in 0.1 s"), host.log)
        let aborted = lines(host.log, containing: "; restart 1 in").first ?? ""
        XCTAssertNotNil(aborted.range(of: #"flaky\.run failed: crashed: SIGABRT \(abort\) in flaky\.run \(\S+\+0x[0-9a-f]+\); restart 1 in 0\.1 s$"#,
                                      options: .regularExpression), aborted)
        XCTAssertTrue(host.waitFor("flaky.run returned 2"), host.log)
        XCTAssertEqual(try ctl("collect").status, 0, host.log)
        try folder.buildModule("flaky", from: "flaky.c", version: 3)
        let after = try ctl("reload", "flaky")
        XCTAssertEqual(after.status, 0, after.stderr + host.log)
        XCTAssertEqual(try ctl("call", "flaky.version").stdout, "3\n")
        XCTAssertTrue(try ctl("status").stdout.contains("entry flaky.run: returned, 1 restart (on-failure), last failure: crashed: SIGABRT"))
    }
}

/// EntrySupervisor in the test process: the backoff's growth and its reset
/// after a healthy run, and the status a control server would show.
final class EntrySupervisorTests: ModuleTestCase {
    func testBackoffDoublesToItsCap() {
        let backoff = RestartBackoff()
        XCTAssertEqual((0..<8).map { backoff.delay(inRow: $0) }, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5])
        XCTAssertEqual(backoff.delay(inRow: 10_000), 5)
    }

    /// flaky v1 fails twice (an error, then a crash caught in this very
    /// process) and returns 3; `healthyRun` decides whether the second
    /// wait doubles or starts the row again.
    func runFlaky(healthyRun: Double) throws -> (EntryOutcome, [String], EntryStatus) {
        try folder.buildModule("flaky", from: "flaky.c", version: 1)
        try runtime.withLock { _ = try loader.load("flaky") }
        var lines: [String] = []
        let supervisor = EntrySupervisor(loader: loader, function: "flaky.run", policy: .onFailure,
                                         backoff: RestartBackoff(initial: 0.1, cap: 1, healthyRun: healthyRun),
                                         log: { lines.append($0) })
        let outcome = supervisor.run()
        return (outcome, lines, supervisor.status)
    }

    func testWaitsDoubleWhileFailuresComeInARow() throws {
        let (outcome, lines, status) = try runFlaky(healthyRun: 100)
        XCTAssertEqual(outcome, .returned("3"))
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertTrue(lines.first?.hasSuffix("restart 1 in 0.1 s") ?? false, "\(lines)")
        XCTAssertTrue(lines.last?.hasSuffix("restart 2 in 0.2 s") ?? false, "\(lines)")
        XCTAssertEqual(status.state, .returned)
        XCTAssertEqual(status.restarts, 2)
        XCTAssertTrue(status.lastFailure?.hasPrefix("crashed: SIGSEGV") ?? false, "\(status)")
        try runtime.withLock { try runtime.checkHeap() }
    }

    func testAHealthyRunStartsTheRowAgain() throws {
        let (outcome, lines, _) = try runFlaky(healthyRun: 0)
        XCTAssertEqual(outcome, .returned("3"))
        XCTAssertEqual(lines.map { $0.hasSuffix("in 0.1 s") }, [true, true], "\(lines)")
    }
}
