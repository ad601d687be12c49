import CRemap
import Foundation
import Reload
import XCTest

/// Starting the runtime: from any thread, and with an error rather than an
/// abort when it cannot start. The first touch of the runtime can only be
/// observed in a fresh process: the test runs this test binary again, with
/// only `testChildStartsOnABackgroundThread` selected.
final class RuntimeStartTests: HeapTestCase {
    static let childVariable = "REMAP_TEST_CHILD_BACKGROUND_START"

    func testFirstUseFromABackgroundThreadWorks() throws {
        let binary = ProcessInfo.processInfo.arguments[0]
        let result = try Processes.run("/usr/bin/env", ["\(Self.childVariable)=1", binary,
                                                        "ReloadTests.RuntimeStartTests/testChildStartsOnABackgroundThread"],
                                       timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("background start: ok"), result.stdout + result.stderr)
    }

    /// Runs only in the child process started above.
    func testChildStartsOnABackgroundThread() throws {
        guard ProcessInfo.processInfo.environment[Self.childVariable] != nil else { return }
        final class Outcome: @unchecked Sendable { var text = "not run" }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0), exited = DispatchSemaphore(value: 0)
        // Like a Dispatch worker, the thread blocks every asynchronous signal
        // (Boehm stops threads with two of them), and it exits afterwards.
        let first = Thread {
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            do {
                let runtime = try Runtime.start()
                outcome.text = try runtime.withLock {
                    let keep = try Ref(try check(rm_list_new(0)))
                    for i in 0..<50_000 { try check(rm_list_append(keep.object, try Objects.string("s\(i)"))) }
                    runtime.collect()
                    try runtime.checkHeap()
                    return rm_list_size(keep.object) == 50_000 ? "ok" : "lost objects"
                }
            } catch {
                outcome.text = "error: \(error)"
            }
            done.signal()
            release.wait()
            exited.signal()
        }
        first.start()
        done.wait()
        // Other threads collect while the first one is alive, then after
        // it exited.
        try Runtime.shared.withLock {
            for i in 0..<20_000 { _ = try Objects.string("m\(i)") }
            Runtime.shared.collect()
        }
        release.signal()
        exited.wait()
        Thread.sleep(forTimeInterval: 0.2)
        let other = DispatchSemaphore(value: 0)
        Thread {
            _ = try? Runtime.shared.withLock {
                for i in 0..<20_000 { _ = try Objects.string("o\(i)") }
                Runtime.shared.collect()
            }
            other.signal()
        }.start()
        other.wait()
        try Runtime.shared.withLock { Runtime.shared.collect() }
        // And the main thread uses it afterwards.
        let text = try Runtime.shared.withLock { try Objects.stringValue(try Objects.string(outcome.text)) }
        print("background start: \(text)")
        XCTAssertEqual(text, "ok")
    }

    func testStartIsIdempotentAndReportsErrors() throws {
        let a = try Runtime.start()
        let b = try Runtime.start()
        XCTAssertTrue(a === b)
        XCTAssertTrue(a === Runtime.shared)
        XCTAssertNil(a.startError)
    }

    /// A library reports errors; it never ends its host.
    func testTheLibraryHasNoFatalError() throws {
        let folder = FixtureFolder.packageRoot.appendingPathComponent("Sources/Reload")
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            XCTAssertFalse(text.contains("fatalError("), "\(file) calls fatalError")
        }
    }
}
