import Foundation
import Reload
import XCTest

/// The Swift blocks of docs/embedding-swift.md that are not quoted from
/// examples/swift-host are here, verbatim (DocsTests checks each block is
/// contained in this file): so they compile, and run against a real module
/// and a real control server.
final class DocSnippetTests: HeapTestCase {
    /// shapes: make(side) -> a Square; Square.area().
    static let shapes = """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *area(rm_object *self, rm_object *const *args, size_t nargs) {
            int64_t side;
            if (rm_int_check(rm_getattr(self, "side"), &side) < 0) return NULL;
            return rm_int(side * side);
        }
        static rm_object *make(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *side;
            if (rm_args_parse(args, nargs, "O", &side) < 0) return NULL;
            rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Square");
            return rm_instance_new(cls, &side, 1);
        }
        int rm_module_init(rm_builder *m) {
            rm_object *square = rm_def_class(m, "Square", NULL);
            if (!square || rm_def_field(square, "side", rm_int(1)) < 0) return -1;
            if (rm_def_method(square, "area", area, 0) < 0) return -1;
            return rm_def_function(m, "make", make, 1) ? 0 : -1;
        }
        """

    func testLoadCallReloadAndKeepARef() throws {
        let folder = try FixtureFolder()
        try folder.buildC("shapes", Self.shapes)
        let modules = folder.path

        let loader = ModuleLoader()
        loader.addSearchPath(modules)                   // shapes.so, or game/physics.so for game.physics
        let shape: Ref = try Runtime.shared.withLock { heap in
            try loader.load("shapes")
            let shape = try loader.call("shapes.make", [try heap.int(3)])
            let report = try loader.reload(["shapes"], options: ReloadOptions(cascade: true, onRemoved: .tombstone))
            print(report.slotsRewritten, report.phases.total)
            return try heap.ref(shape)                  // kept past the lock: a handle
        }

        try Runtime.shared.withLock { heap in
            XCTAssertEqual(try heap.intValue(heap.callMethod(try heap.object(shape), "area")), 9)
        }
        try Runtime.shared.withLock { _ = loader.collect() }
    }

    func testControlClient() throws {
        let folder = try FixtureFolder()
        try folder.buildC("shapes", Self.shapes)
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try Runtime.shared.withLock { _ = try loader.load("shapes") }
        let socketDir = NSTemporaryDirectory() + "remap-doc-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: socketDir) }
        let socket = socketDir + "/s.sock"

        let server = try ControlServer(loader: loader, path: socket)
        server.start()
        defer { server.stop() }

        let client = try ControlClient(path: socket, timeout: 30)
        let report = try client.reload(["shapes"], options: ReloadOptions(onRemoved: .tombstone))
        let value = try client.call("shapes.make", [.int(3)])       // a JSONValue
        // a reply with "ok": false throws RemapError.requestFailed(code: .callFailed, message: ...)

        XCTAssertEqual(report.modules.first?.toGeneration, 2)
        XCTAssertTrue("\(value)".contains("shapes.Square"), "\(value)")
        XCTAssertThrowsError(try client.call("shapes.make", [])) { error in
            guard case RemapError.requestFailed(code: .callFailed, _) = error else {
                return XCTFail("\(error)")
            }
        }
        try Runtime.shared.withLock { _ = loader.collect() }
    }
}
