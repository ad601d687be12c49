import CRemap
import Foundation
import Reload
import XCTest

/// A module written against the author API's old names (rm_module_object,
/// rm_isinstance, rm_new_instance, rm_getattr_obj...) still compiles, each
/// old name with a warning that names the new one, and behaves as before.
final class OldNamesTests: ModuleTestCase {
    func testOldNamesCompileWithWarningsAndBehaveTheSame() throws {
        let include = FixtureFolder.packageRoot.appendingPathComponent("include").path
        let source = FixtureFolder.modulesFolder + "/old_names.c"
        let output = folder.path + "/old_names.so"
        let built = try Processes.run("/usr/bin/cc", ["-shared", "-fPIC", "-O1", "-Wall", "-Werror",
                                                      "-Wno-error=deprecated-declarations", "-I", include,
                                                      "-o", output, source])
        XCTAssertEqual(built.status, 0, built.stderr)
        for replacement in ["rm_instance_new", "rm_getattr_name", "rm_setattr_name", "rm_is_instance_of",
                            "rm_builder_module", "rm_builder_name", "rm_builder_generation"] {
            XCTAssertTrue(built.stderr.contains("use \(replacement)"), "no deprecation warning naming \(replacement)")
        }
        // Deprecation is the only complaint: with it an error, the build fails.
        let strict = try Processes.run("/usr/bin/cc", ["-shared", "-fPIC", "-Werror=deprecated-declarations", "-I", include,
                                                       "-o", folder.path + "/strict.so", source])
        XCTAssertNotEqual(strict.status, 0)

        try runtime.withLock {
            try loader.load("old_names")
            XCTAssertEqual(try Objects.stringValue(loader.resolve("old_names.described")), "old_names generation 1")
            let point = try Ref(try loader.call("old_names.make", [try Objects.int(3), try Objects.int(4)]))
            XCTAssertEqual(try int(Objects.getAttribute(point.object, "x")), 3, "positional arguments fill the fields")
            XCTAssertEqual(try int(Objects.getAttribute(point.object, "y")), 4)
            let probe = try loader.call("old_names.probe", [point.object])
            XCTAssertEqual(rm_tuple_size(probe), 3)
            XCTAssertEqual(try (0..<3).map { try int(try XCTUnwrap(rm_tuple_get(probe, $0))) }, [1, 1, 4])
            XCTAssertEqual(try int(Objects.getAttribute(point.object, "x")), 4, "rm_setattr_obj wrote the field")
        }
    }
}
