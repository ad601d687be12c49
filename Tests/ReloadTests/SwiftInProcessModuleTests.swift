import CRemap
import Reload
import XCTest

/// The same @Module declarations defined in a host process instead of
/// loaded from a `.so` (issue 22, "one way to define a module in Swift"):
/// its functions, methods and state work, and a reload keeps the state.
final class SwiftInProcessModuleTests: XCTestCase {
    func testModuleDefinedInProcessCallsAndReloads() throws {
        let loader = ModuleLoader()
        loader.define(ModuleDefinition("inproc") { builder in try builder.define(inproc._remapDefine) })
        try Runtime.shared.withLock {
            try loader.load("inproc")
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.add", [try Objects.int(5)])), 1)
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.add", [try Objects.int(7)])), 2)
            let point = try loader.resolve("inproc.points")
            XCTAssertEqual(rm_list_size(point), 2)
            _ = try loader.call("inproc.sum")
            let first = try XCTUnwrap(rm_list_get(point, 1))
            _ = try check(rm_call_method(first, "bump", nil, 0))
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.sum")), 13)
            XCTAssertThrowsError(try loader.call("inproc.add", [try Objects.string("x")])) { error in
                XCTAssertTrue("\(error)".contains("inproc.add() argument 1 must be int, not str"), "\(error)")
            }
            _ = try loader.reload(["inproc"])
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.sum")), 13, "state kept across the reload")
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.add", [try Objects.int(1)])), 3)

            // A failed reload: the module's Swift statics (the class and
            // anchor handles) are the same for every generation of a module
            // defined in process; they still find the running version, so
            // new instances and iteration keep working.
            defer { inprocFailReload = false }
            inprocFailReload = true
            XCTAssertThrowsError(try loader.reload(["inproc"])) { XCTAssertTrue("\($0)".contains("refused by the test"), "\($0)") }
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.add", [try Objects.int(3)])), 4)
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.sum")), 17)
            inprocFailReload = false
            _ = try loader.reload(["inproc"])
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.add", [try Objects.int(4)])), 5)
            XCTAssertEqual(try Objects.intValue(loader.call("inproc.sum")), 21)
            try Runtime.shared.checkHeap()
        }
    }

    private func check(_ object: UnsafeMutablePointer<rm_object>?) throws -> UnsafeMutablePointer<rm_object> {
        try XCTUnwrap(object, String(cString: rm_error_message()))
    }
}
