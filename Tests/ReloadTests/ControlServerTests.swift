import CRemap
import Foundation
import Reload
import XCTest

/// The control server inside a host whose own threads run module code.
final class ControlServerTests: XCTestCase {
    /// `gen`: a() and b() return the version; pair() calls both through the
    /// namespace with work in between, so a reload in the middle of a call
    /// would show two different answers.
    static func gen(_ version: Int) -> String {
        """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *a(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        static rm_object *b(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        static rm_object *pair(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *ns = rm_module_dict(rm_function_module(self));
            rm_object *first = rm_call(rm_dict_get_str(ns, "a"), NULL, 0);
            rm_object *junk = rm_list_new(0);
            for (int i = 0; junk && i < 200; i++) rm_list_append(junk, rm_int(i));
            rm_object *second = rm_call(rm_dict_get_str(ns, "b"), NULL, 0);
            if (!first || !second) return NULL;
            rm_object *items[2] = {first, second};
            return rm_tuple_of(2, items);
        }
        int rm_module_init(rm_module *m) {
            if (!rm_def_function(m, "a", a, 0) || !rm_def_function(m, "b", b, 0)) return -1;
            return rm_def_function(m, "pair", pair, 0) ? 0 : -1;
        }
        """
    }

    func testCallsNeverSeeAMixOfGenerationsWhileReloadsArrive() throws {
        let folder = try FixtureFolder()
        try folder.buildC("gen_v1", Self.gen(1))
        try folder.buildC("gen_v2", Self.gen(2))
        let live = folder.path + "/gen.so"
        try FileManager.default.copyItem(atPath: folder.path + "/gen_v1.so", toPath: live)
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        let runtime = loader.runtime
        try runtime.withLock { _ = try loader.load("gen") }
        let socketDir = NSTemporaryDirectory() + "remap-cs-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: socketDir) }
        let server = try ControlServer(loader: loader, path: socketDir + "/s.sock")
        server.start()
        defer { server.stop() }

        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var calls = 0
            var mixed: [String] = []
            var failures: [String] = []
            var stop = false
        }
        let tally = Tally()
        let group = DispatchGroup()
        for _ in 0..<2 {
            group.enter()
            let thread = Thread {
                defer { runtime.detachThread(); group.leave() }
                while true {
                    tally.lock.lock()
                    let done = tally.stop
                    tally.lock.unlock()
                    if done { return }
                    do {
                        let seen: [Int] = try runtime.withLock {
                            let result = try loader.call("gen.pair")
                            return [rm_int_value(rm_tuple_get(result, 0)), rm_int_value(rm_tuple_get(result, 1))].map(Int.init)
                        }
                        tally.lock.lock()
                        tally.calls += 1
                        if seen[0] != seen[1] { tally.mixed.append("\(seen)") }
                        tally.lock.unlock()
                    } catch {
                        tally.lock.lock()
                        tally.failures.append("\(error)")
                        tally.lock.unlock()
                    }
                }
            }
            thread.start()
        }

        let client = try ControlClient(path: server.path)
        var replies = 0
        for n in 1...100 {
            try? FileManager.default.removeItem(atPath: live)
            try FileManager.default.copyItem(atPath: folder.path + (n % 2 == 1 ? "/gen_v2.so" : "/gen_v1.so"), toPath: live)
            let reply = try client.send(["request": "reload", "modules": ["gen"]])
            if reply["report"] != nil { replies += 1 }
        }
        tally.lock.lock()
        tally.stop = true
        tally.lock.unlock()
        group.wait()

        XCTAssertEqual(replies, 100, "every reload reply arrives")
        XCTAssertEqual(tally.mixed, [], "no call saw two generations")
        XCTAssertEqual(tally.failures, [])
        XCTAssertGreaterThan(tally.calls, 0)
        try runtime.withLock {
            XCTAssertEqual(loader.loadedModules.first?.generation, 101)
            XCTAssertEqual(rm_int_value(rm_tuple_get(try loader.call("gen.pair"), 0)), 1)
            try runtime.checkHeap()
        }
    }
}
