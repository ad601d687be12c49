import Foundation
import XCTest

/// The headline workflow, as a user runs it: `reloadctl run --entry
/// svc.run --watch`, saves in an editor, `reloadctl call/get/collect`.
final class WatchEntryTests: HostTestCase {
    /// An entry that loops forever at safe points, and version().
    static func looping(_ version: Int) -> String {
        """
        #include <remap/module.h>
        #include <unistd.h>
        RM_MODULE_ABI;
        static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        static rm_object *run(rm_object *self, rm_object *const *args, size_t nargs) {
            for (;;) { rm_safe_point(); usleep(1000); }
        }
        int rm_module_init(rm_builder *m) {
            if (!rm_def_function(m, "version", version, 0)) return -1;
            return rm_def_function(m, "run", run, 0) ? 0 : -1;
        }
        """
    }

    /// Guards issue 20 item 2: every save under a running entry mapped one
    /// more copy, and `reloadctl collect` closed none ("0 old libraries
    /// closed"), because the entry was always inside module code. After 20
    /// saves and a collection, the entry's copy and the current one remain.
    func testTwentySavesUnderARunningEntryLeaveTwoCopiesMapped() throws {
        try write("svc.c", Self.looping(0))
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--entry", "svc.run", "--watch"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)
        for n in 1...20 {
            try write("svc.c", Self.looping(n))
            XCTAssertTrue(try waitForCall("svc.version", "\(n)"), "save \(n) was not reloaded:\n\(host.log)")
        }
        let collect = try ctl("collect")
        XCTAssertEqual(collect.status, 0, collect.stderr)
        let pid = host.process.processIdentifier
        let copies = try ProcMaps.mappedCopies(of: "svc", pid: pid)
        XCTAssertLessThanOrEqual(copies.count, 2, "\(copies.sorted())\n\(collect.stdout)")
        XCTAssertGreaterThanOrEqual(copies.count, 1)
        XCTAssertEqual(try ctl("call", "svc.version").stdout, "20\n")
    }

    /// Guards issue 20 item 1 under --watch: a module that imports a value
    /// from a saved module sees the new value without --cascade, and data
    /// set from the old value keeps it.
    func testAnImportedValueIsReboundByASaveWithoutCascade() throws {
        func config(_ tax: Int) -> String {
            """
            #include <remap/module.h>
            RM_MODULE_ABI;
            int rm_module_init(rm_builder *m) { return rm_def_value(m, "TAX_BP", rm_int(\(tax))); }
            """
        }
        try write("config.c", config(500))
        try write("service.c", """
            #include <remap/module.h>
            RM_MODULE_ABI;
            /* tax(): the binding `from config import TAX_BP` of this module. */
            static rm_object *tax(rm_object *self, rm_object *const *args, size_t nargs) {
                return rm_dict_get_str(rm_module_dict(rm_function_module(self)), "TAX_BP");
            }
            int rm_module_init(rm_builder *m) {
                rm_object *tax_bp = rm_import_from(m, "config", "TAX_BP");
                rm_object *kept = rm_list_new(0);   /* the user's data, set from the value */
                if (!tax_bp || !kept || rm_list_append(kept, tax_bp) < 0) return -1;
                if (!rm_def_state(m, "kept", kept)) return -1;
                return rm_def_function(m, "tax", tax, 0) ? 0 : -1;
            }
            """)
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--watch"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)
        XCTAssertEqual(try ctl("call", "service.tax").stdout, "500\n", host.log)

        try write("config.c", config(600))
        XCTAssertTrue(try waitForCall("service.tax", "600"), host.log)
        XCTAssertEqual(try ctl("get", "service.TAX_BP").stdout, "600\n")
        XCTAssertEqual(try ctl("get", "config.TAX_BP").stdout, "600\n")
        XCTAssertEqual(try ctl("get", "service.kept").stdout, "[500]\n", "the user's data keeps the old value")
    }
}
