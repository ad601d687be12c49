import CRemap
import CRemapLoader
import Reload
import XCTest

/// The import hook points at a loader: a loader that goes away must not
/// leave it pointing at freed memory.
final class ImportHookTests: HeapTestCase {

    @inline(never)
    func makeAndDropLoader() {
        let loader = ModuleLoader()
        loader.define(ModuleDefinition("hooktarget") { m in try m.value("answer", try Objects.int(42)) })
    }

    func testDeallocatedLoaderClearsTheImportHook() throws {
        makeAndDropLoader()
        try runtime.withLock {
            guard let builder = rm_module_builder_new("importer", nil, 1) else { throw CoreCalls_takeError() }
            defer { rm_module_builder_free(builder) }
            let value = rm_import_from(builder, "hooktarget", "answer")
            XCTAssertNil(value, "imported through a deallocated loader")
            // Other tests' loaders may still be alive (XCTest keeps test
            // cases): the import then goes to one of them, which does not
            // define hooktarget. With none alive, no loader is installed.
            let message = String(cString: rm_error_message())
            XCTAssertTrue(message.contains("no module loader is installed") || message.contains("hooktarget not found"),
                          message)
            rm_error_clear()
        }
    }

    func testALiveLoaderKeepsTheHookWhenAnotherGoesAway() throws {
        let live = ModuleLoader()
        live.define(ModuleDefinition("hooklive") { m in try m.value("answer", try Objects.int(7)) })
        // A newer loader dropped while the live one remains must not take
        // the hook away from it.
        makeAndDropLoader()
        try runtime.withLock {
            guard let builder = rm_module_builder_new("importer2", nil, 1) else { throw CoreCalls_takeError() }
            defer { rm_module_builder_free(builder) }
            let value = rm_import_from(builder, "hooklive", "answer")
            XCTAssertNotNil(value, String(cString: rm_error_message()))
            if let value { XCTAssertEqual(rm_int_value(value), 7) }
            rm_error_clear()
        }
        withExtendedLifetime(live) {}
    }
}

func CoreCalls_takeError() -> Error {
    let message = String(cString: rm_error_message())
    rm_error_clear()
    return RemapError(kind: .runtime, message: message)
}
