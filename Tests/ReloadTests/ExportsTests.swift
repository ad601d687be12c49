import Foundation
import XCTest

/// What the shared library offers C hosts is what include/remap/ declares
/// (bug 9 of issue 13: libRemapHost.so exported 23 internal rm_ symbols and
/// every Swift symbol): the core's internals (the table code, the probe,
/// the registry, the journal), the loader's view of the core
/// (CSources/loader.h) and the Swift library are not exported, so no host
/// or module can come to depend on them.
final class ExportsTests: XCTestCase {
    /// The symbols libRemapHost.so exports: `nm -D --defined-only`, less
    /// the entries the linker keeps in the dynamic table with local binding
    /// (lower-case types other than u, v, w: TLS blocks, Swift type
    /// metadata), which no other image can bind to.
    func exportedSymbols() throws -> [String] {
        let library = Processes.productsDirectory.appendingPathComponent("libRemapHost.so").path
        guard FileManager.default.fileExists(atPath: library) else {
            throw XCTSkip("libRemapHost.so is not built (swift build --product RemapHost; scripts/test.sh builds it)")
        }
        let nm = try Processes.run("/usr/bin/nm", ["-D", "--defined-only", library])
        XCTAssertEqual(nm.status, 0, nm.stderr)
        return nm.stdout.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let type = fields[fields.count - 2].first else { return nil }
            let local = type.isLowercase && !"uvw".contains(type)
            return local ? nil : String(fields[fields.count - 1])
        }
    }

    /// Every rm_ name that appears in include/remap/*.h.
    func declaredNames() throws -> Set<String> {
        let include = FixtureFolder.packageRoot.appendingPathComponent("include/remap")
        var declared = Set<String>()
        let names = try NSRegularExpression(pattern: #"\brm_[a-z0-9_]+\b"#)
        for file in try FileManager.default.contentsOfDirectory(atPath: include.path) where file.hasSuffix(".h") {
            let text = try String(contentsOf: include.appendingPathComponent(file), encoding: .utf8)
            for match in names.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert((text as NSString).substring(with: match.range))
            }
        }
        return declared
    }

    func testSharedLibraryExportsOnlyThePublicCAPI() throws {
        let exported = Set(try exportedSymbols().filter { $0.hasPrefix("rm_") })
        XCTAssertGreaterThan(exported.count, 100, "the public C API is exported")
        XCTAssertEqual(exported.subtracting(try declaredNames()).sorted(), [], "exported but not in include/remap/")
        // The C embedding API, implemented in Swift, is part of it.
        for name in ["rm_host_start", "rm_host_reload", "rm_host_serve", "rm_collect_and_close",
                     // Struct classes (issue 21).
                     "rm_def_struct", "rm_def_field_default", "rm_struct_cast", "rm_is_struct_class"] {
            XCTAssertTrue(exported.contains(name), "\(name) is exported")
        }
        // Checked argument parsing and what a module built with RM_DEBUG or
        // the inline rm_int_check calls (issue 20, bug 7); the va_list forms
        // Swift calls through withVaList (item 10: rm_str_format is variadic).
        for name in ["rm_args_parse", "rm_args_vparse", "rm_str_vformat", "rm_int_check", "rm_int_check_failed", "rm_debug_wrong_type"] {
            XCTAssertTrue(exported.contains(name), "\(name) is exported")
        }
    }

    /// The loader's part of the core is hidden, not merely undeclared.
    func testLoaderInternalsAreNotExported() throws {
        let exported = Set(try exportedSymbols())
        for name in ["rm_txn_begin", "rm_module_builder_new", "rm_tombstone_new", "rm_library_range",
                     "rm_set_import_hook", "rm_guard", "rm_fault_arm", "remap_shim_peer_uid"] {
            XCTAssertFalse(exported.contains(name), "\(name) is exported")
        }
    }

    func testSharedLibraryExportsNoSwiftSymbols() throws {
        let swift = try exportedSymbols().filter { $0.hasPrefix("$s") || $0.hasPrefix("_$s") }
        XCTAssertEqual(swift.count, 0, "Swift symbols exported, e.g. \(swift.prefix(5))")
    }
}
