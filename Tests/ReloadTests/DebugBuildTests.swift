import XCTest

/// The C core and a program built with -DRM_DEBUG (Tests/DebugTests): the
/// unchecked accessors (rm_int_value inline in the caller, rm_float_value,
/// rm_str_cstr, rm_tuple_get...) given the wrong object print the accessor,
/// what it expected and what it got, and abort (issue 20, bug 7: spawn(1.5)
/// read a double's bits as a count and looped 4.6e18 times instead).
final class DebugBuildTests: XCTestCase {
    func testUncheckedAccessorsFailLoudlyWithRMDebug() throws {
        let script = FixtureFolder.packageRoot.appendingPathComponent("Tests/DebugTests/run.sh").path
        let result = try Processes.run("/bin/sh", [script], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains(" passed, 0 failed"), result.stdout + result.stderr)
    }
}
