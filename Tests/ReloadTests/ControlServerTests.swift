import CRemap
import Foundation
import Reload
import XCTest

/// The control server inside a host whose own threads run module code.
final class ControlServerTests: HeapTestCase {
    /// `gen` (Tests/Modules/gen.c): pair() calls a() and b() with work in
    /// between; both answer the version, so a mixed pair means a reload
    /// landed in the middle of a call.
    func testCallsNeverSeeAMixOfGenerationsWhileReloadsArrive() throws {
        let folder = try FixtureFolder()
        try folder.buildModule("gen_v1", from: "gen.c", version: 1)
        try folder.buildModule("gen_v2", from: "gen.c", version: 2)
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
            let report = try client.reload(["gen"])
            if report.modules.first?.name == "gen" { replies += 1 }
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
