import CRemap
import Reload
import XCTest

/// A test case with a fixture folder that is its loader's search path.
/// tearDown collects, closing the libraries its reloads retired: the count
/// is process-wide, and later tests (ReloadLifecycleTests) start from it.
class ModuleTestCase: XCTestCase {
    var folder: FixtureFolder!
    var loader: ModuleLoader!
    let runtime = Runtime.shared

    override func setUpWithError() throws {
        folder = try FixtureFolder()
        loader = ModuleLoader()
        loader.addSearchPath(folder.path)
    }

    override func tearDownWithError() throws {
        try runtime.withLock { _ = loader.collect() }
    }

    func int(_ object: Object) throws -> Int { try Objects.intValue(object) }
}
