import CRemap
import Foundation
import Reload
import XCTest

/// A crash in the new code (init, module hook, class hook) fails the reload
/// with an error naming the module, the signal and the phase; the host goes
/// on with the old code and exactly its old state, and its own signal
/// handlers are back afterwards. Issue 10, item 6 (cr.h's promise).
final class CrashGuardTests: HeapTestCase {

    /// What a signal handler setting looks like, to compare before and after.
    func handlers() -> [String] {
        [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT].map { signal in
            var action = sigaction()
            sigaction(signal, nil, &action)
            return "\(signal): \(unsafeBitCast(action.__sigaction_handler, to: UInt.self)) flags \(action.sa_flags)"
        }
    }

    func crash(_ define: String, phase: String, signal: String) throws {
        let folder = try FixtureFolder()
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try folder.buildModule("crasher", from: "crasher.c", version: 1)
        try runtime.withLock {
            try loader.load("crasher")
            let counter = try loader.resolve("crasher.Counter")
            let counters = try (0..<50).map { _ in try Ref(try Objects.call(counter, [])) }
            let items = try loader.resolve("crasher.items")
            try check(rm_list_append(items, Objects.none))
            let handlersBefore = handlers()
            try folder.buildModule("crasher", from: "crasher.c", version: 2, defines: [define])
            XCTAssertThrowsError(try loader.reload(["crasher"])) { error in
                guard case RemapError.crashed(let module, let where_, let cause) = error else {
                    return XCTFail("\(define): not a crash error: \(error)")
                }
                XCTAssertEqual(module, "crasher")
                XCTAssertTrue(where_.contains(phase), "\(define): phase \(where_)")
                XCTAssertTrue(cause.contains(signal), "\(define): \(cause)")
                XCTAssertTrue("\(error)".contains("rolled back"))
            }
            XCTAssertEqual(handlers(), handlersBefore, "the host's handlers are restored")
            XCTAssertEqual(try Objects.intValue(loader.call("crasher.total")), 11, "old code, old kept state")
            XCTAssertEqual(rm_list_size(try loader.resolve("crasher.items")), 1)
            for ref in counters {
                XCTAssertEqual(try Objects.intValue(Objects.getAttribute(ref.object, "n")), 0)
                XCTAssertEqual(UnsafeMutableRawPointer(ref.object.pointee.ob_type), UnsafeMutableRawPointer(counter))
            }
            try runtime.checkHeap()
            // The host goes on: a sound version loads over the crashed one.
            try folder.buildModule("crasher", from: "crasher.c", version: 2)
            _ = try loader.reload(["crasher"])
            XCTAssertEqual(try Objects.intValue(loader.call("crasher.total")), 32)
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(counters[0].object, "extra")), 5)
            try runtime.checkHeap()
        }
    }

    func testSegfaultInInit() throws { try crash("CRASH_INIT_SEGV", phase: "rm_module_init", signal: "SIGSEGV") }
    func testStackOverflowInInit() throws { try crash("CRASH_INIT_OVERFLOW", phase: "rm_module_init", signal: "SIGSEGV") }
    func testAbortInModuleHook() throws { try crash("CRASH_HOOK_ABORT", phase: "__reload__ hook", signal: "SIGABRT") }
    func testDivisionByZeroInClassHook() throws { try crash("CRASH_CLASS_FPE", phase: "Counter.__reload__", signal: "SIGFPE") }

    /// The guard's own C test program (Tests/GuardTests): every signal,
    /// nesting, alternate stacks, other threads' crashes, restored handlers.
    func testGuardCProgram() throws {
        let script = FixtureFolder.packageRoot.appendingPathComponent("Tests/GuardTests/run.sh").path
        let result = try Processes.run("/bin/sh", [script])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains(" passed, 0 failed"), result.stdout)
    }
}
