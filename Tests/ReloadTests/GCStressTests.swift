import CRemap
import Foundation
import Reload
import XCTest

/// RM_GC_STRESS=N: every Nth allocation collects first. The switch is read
/// once at start-up, so it is checked in a child process (this test binary,
/// with only the child test selected).
final class GCStressTests: HeapTestCase {
    func testStressSwitchCollectsEveryNthAllocation() throws {
        let binary = ProcessInfo.processInfo.arguments[0]
        let result = try Processes.run("/usr/bin/env", ["RM_GC_STRESS=3", "REMAP_TEST_CHILD_GC_STRESS=1", binary,
                                                        "ReloadTests.GCStressTests/testChildUnderStress"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("gc stress: ok"), result.stdout + result.stderr)
    }

    func testChildUnderStress() throws {
        guard ProcessInfo.processInfo.environment["REMAP_TEST_CHILD_GC_STRESS"] != nil else { return }
        let runtime = try Runtime.start()
        try runtime.withLock {
            XCTAssertEqual(rm_gc_stress_interval(), 3)
            let keep = try Ref(try check(rm_list_new(0)))
            let before = rm_collection_count()
            for i in 0..<300 { try check(rm_list_append(keep.object, try Objects.string("s\(i)-\(String(repeating: "x", count: 30))"))) }
            let collections = rm_collection_count() - before
            XCTAssertGreaterThanOrEqual(collections, 100)
            for i in 0..<300 {
                XCTAssertEqual(String(cString: rm_str_cstr(rm_list_get(keep.object, i)!)), "s\(i)-\(String(repeating: "x", count: 30))")
            }
            // Walks disable collections: the heap check allocates nothing
            // it could lose, and stress must not collect inside it.
            try runtime.checkHeap()
            print("gc stress: ok (\(collections) collections)")
        }
    }
}
