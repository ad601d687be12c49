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

    override func tearDownWithError() throws {
        try checkHeapAfterTest()
        try super.tearDownWithError()
    }

    /// Fails the test if the heap checker finds a fault.
    func checkHeapAfterTest() throws {
        // No collection first: garbage is checked too (the registry still
        // lists it), so a fault in an object the test dropped is found.
        let fault: String? = try runtime.withLock {
            do {
                try runtime.checkHeap()
                return nil
            } catch let error as RemapError {
                return error.message
            }
        }
        if let fault { XCTFail("heap check after \(name): \(fault)") }
    }
}
