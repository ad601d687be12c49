import Reload
import XCTest

/// A test case that uses the in-process heap. After every test, tearDown
/// runs the heap checker (`rm_heap_check`) under the lock and fails the test
/// with its message if it finds a fault: a test that leaves a dangling
/// reference, a stale hash or a broken table fails where it did it, not in
/// a later test (Lua's test suite runs `lua_checkmemory` the same way).
class HeapTestCase: XCTestCase {
    /// Computed, not stored: XCTest makes every test case up front, and the
    /// runtime must start on first use (RuntimeStartTests observes that).
    var runtime: Runtime { Runtime.shared }

    /// Set by a test that legitimately leaves garbage the checker flags
    /// (say why where it is set): tearDown collects before checking.
    var collectsBeforeHeapCheck = false

    override func tearDownWithError() throws {
        try checkHeapAfterTest()
        try super.tearDownWithError()
    }

    /// Fails the test if the heap checker finds a fault.
    func checkHeapAfterTest() throws {
        let collect = collectsBeforeHeapCheck
        let fault: String? = try runtime.withLock {
            if collect { runtime.collect() }
            do {
                try runtime.checkHeap()
                return nil
            } catch let error as RuntimeError {
                return error.message
            }
        }
        if let fault { XCTFail("heap check after \(name): \(fault)") }
    }
}
