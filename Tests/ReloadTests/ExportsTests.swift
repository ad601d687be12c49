import Foundation
import XCTest

/// What the shared library offers C hosts is what include/remap/ declares:
/// the core's internal functions and tables (the table code, the probe, the
/// registry, the journal) are not exported, so no host or module can come
/// to depend on them.
final class ExportsTests: XCTestCase {
    func testSharedLibraryExportsOnlyThePublicCAPI() throws {
        let library = Processes.productsDirectory.appendingPathComponent("libRemapHost.so").path
        guard FileManager.default.fileExists(atPath: library) else {
            throw XCTSkip("libRemapHost.so is not built (scripts/test.sh builds it before the tests)")
        }
        let nm = try Processes.run("/usr/bin/nm", ["-D", "--defined-only", library])
        XCTAssertEqual(nm.status, 0, nm.stderr)
        // A local symbol (a lower-case type, like the core's thread-locals
        // that initial-exec TLS lists) binds nothing outside the library.
        let exported = Set(nm.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let type = fields[fields.count - 2].first, type.isUppercase else { return nil }
            return String(fields[fields.count - 1])
        }.filter { $0.hasPrefix("rm_") })
        XCTAssertGreaterThan(exported.count, 100, "the public C API is exported")
        let include = FixtureFolder.packageRoot.appendingPathComponent("include/remap")
        var declared = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: include.path) where file.hasSuffix(".h") {
            let text = try String(contentsOf: include.appendingPathComponent(file), encoding: .utf8)
            let names = try NSRegularExpression(pattern: #"\brm_[a-z0-9_]+\b"#)
            for match in names.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert((text as NSString).substring(with: match.range))
            }
        }
        XCTAssertEqual(exported.subtracting(declared).sorted(), [], "exported but not in include/remap/")
    }
}
