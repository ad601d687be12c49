import XCTest

/// The C core built with RM_DEBUG_TINY_TABLES (Tests/TableTests): tables
/// start at their smallest size, so every resize path runs.
final class TinyTablesTests: XCTestCase {
    func testTableCodeWithTinyTables() throws {
        let script = FixtureFolder.packageRoot.appendingPathComponent("Tests/TableTests/run.sh").path
        let result = try Processes.run("/bin/sh", [script], timeout: 180)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains(" passed, 0 failed"), result.stdout + result.stderr)
    }
}
