import CRemap
import Reload
import XCTest

/// A test case with a fixture folder that is its loader's search path.
/// tearDown checks the heap (HeapTestCase), then collects, closing the
/// libraries its reloads retired: the count is process-wide, and later
/// tests (ReloadLifecycleTests) start from it.
class ModuleTestCase: HeapTestCase {
    var folder: FixtureFolder!
    var loader: ModuleLoader!

    override func setUpWithError() throws {
        folder = try FixtureFolder()
        loader = ModuleLoader()
        loader.addSearchPath(folder.path)
    }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        try runtime.withLock { _ = loader.collect() }
    }

    func int(_ object: Object) throws -> Int { try Objects.intValue(object) }
}
