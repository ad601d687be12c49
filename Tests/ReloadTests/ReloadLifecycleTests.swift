import CRemap
import Foundation
import Reload
import XCTest

/// Reloads over time: in-process modules, old libraries closed, memory
/// bounded over many reloads.
final class ReloadLifecycleTests: HeapTestCase {

    /// An in-process module defined from Swift: reloading runs the
    /// replaced initializer; state and instances carry over.
    func testInProcessModuleReloadsWithItsReplacedInitializer() throws {
        let loader = ModuleLoader()
        func definition(_ greeting: String) -> ModuleDefinition {
            ModuleDefinition("greeter") { m in
                let greeter = try m.defineClass("Greeter")
                try m.field(greeter, "name", default: try Objects.string("world"))
                try m.method(greeter, "greet", arity: 0) { this, _ in
                    let name = try Objects.stringValue(try Objects.getAttribute(this, "name"))
                    return try Objects.string("\(greeting), \(name)")
                }
                try m.state("count", try Objects.int(0))
                try m.function("hello", arity: 0) { _ in try Objects.string(greeting) }
            }
        }
        loader.define(definition("hello"))
        try runtime.withLock {
            try loader.load("greeter")
            let instance = try Ref(try Objects.call(try loader.resolve("greeter.Greeter"), []))
            let count = try loader.resolve("greeter.count")
            XCTAssertEqual(try Objects.stringValue(Objects.callMethod(instance.object, "greet")), "hello, world")

            loader.define(definition("bonjour"))
            let report = try loader.reload(["greeter"])
            XCTAssertEqual(report.modules.first?.toGeneration, 2)
            XCTAssertEqual(try Objects.stringValue(Objects.callMethod(instance.object, "greet")), "bonjour, world")
            XCTAssertEqual(try Objects.stringValue(loader.call("greeter.hello")), "bonjour")
            XCTAssertEqual(try loader.resolve("greeter.count"), count, "state kept")
        }
    }

    /// An old library is closed once no function object from it is alive,
    /// checked after a collection; not before.
    func testOldLibraryIsClosedOnceNothingRunsIt() throws {
        let folder = try FixtureFolder()
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try folder.buildModule("many", from: "many.c", version: 1)
        try runtime.withLock {
            // Other tests' loaders may have left retired libraries that
            // something of theirs still uses: count from here.
            loader.collect()
            let retiredBefore = loader.retiredLibraryCount
            try loader.load("many")
            let closedBefore = loader.librariesClosed
            // Something outside the module keeps v1 code alive: a function
            // object made from v1's C function, which no remap knows of.
            let stray = try strayCopy(of: "many.f0", loader)
            try folder.buildModule("many", from: "many.c", version: 2)
            _ = try loader.reload(["many"])
            XCTAssertEqual(loader.retiredLibraryCount - retiredBefore, 1)
            loader.collect()
            XCTAssertEqual(loader.retiredLibraryCount - retiredBefore, 1, "a live function still points into v1: it stays open")
            XCTAssertEqual(try callInOwnFrame(stray), 1, "and v1 code still runs")
            stray.object = rm_get_none()
            overwriteStack()
            loader.collect()
            XCTAssertEqual(loader.retiredLibraryCount - retiredBefore, 0, "nothing runs v1 any more: closed")
            XCTAssertEqual(loader.librariesClosed - closedBefore, 1)
            XCTAssertEqual(try Objects.intValue(loader.call("many.f0")), 2)
        }
    }

    /// Made in its own frame, so no local of the test keeps the v1 function.
    @inline(never)
    func strayCopy(of name: String, _ loader: ModuleLoader) throws -> Ref {
        let v1 = try loader.resolve(name)
        return try Ref(rm_function_new("stray", rm_function_pointer(v1), 0, nil, nil)!)
    }

    @inline(never)
    func callInOwnFrame(_ ref: Ref) throws -> Int {
        try Objects.intValue(Objects.call(ref.object, []))
    }

    @inline(never)
    func overwriteStack() {
        rm_scrub_stack()
    }

    /// 1,000 reloads of a module with 50 definitions while 100,000 instances
    /// of its classes are alive: every call answers the newest generation,
    /// old libraries are closed and old objects collected.
    func testThousandReloadsStayBounded() throws {
        let folder = try FixtureFolder()
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        // Two builds, swapped into place in turn, as an editor's saves would.
        try folder.buildModule("many_v1", from: "many.c", version: 1)
        try folder.buildModule("many_v2", from: "many.c", version: 2)
        let v1 = folder.path + "/many_v1.so", v2 = folder.path + "/many_v2.so", live = folder.path + "/many.so"
        try FileManager.default.copyItem(atPath: v1, toPath: live)
        let reloads = Int(ProcessInfo.processInfo.environment["REMAP_SOAK_RELOADS"] ?? "") ?? 1000
        let mappedBefore = try ProcMaps.mappedCopies(of: "many") // other tests' loaders
        try runtime.withLock {
            loader.collect()
            let retiredBefore = loader.retiredLibraryCount // other tests' (see above)
            try loader.load("many")
            let instances = try Ref(rm_list_new(100_000)!)
            for i in 0..<100_000 {
                let cls = try loader.resolve("many.C\(i % 10)")
                XCTAssertEqual(rm_list_append(instances.object, rm_instance_alloc(cls)), 0)
            }
            loader.collect()
            var baseline = rm_heap_stats()
            rm_heap_stats_get(&baseline)
            var peakObjects = 0
            for n in 1...reloads {
                let version = n % 2 == 0 ? 1 : 2
                try? FileManager.default.removeItem(atPath: live)
                try FileManager.default.copyItem(atPath: version == 1 ? v1 : v2, toPath: live)
                _ = try loader.reload(["many"])
                if n % 100 == 0 || n == reloads {
                    XCTAssertEqual(try Objects.intValue(loader.call("many.f39")), version)
                    let sample = rm_list_get(instances.object, n % 100_000)!
                    XCTAssertEqual(try Objects.intValue(Objects.callMethod(sample, "get")), version)
                    var stats = rm_heap_stats()
                    rm_heap_stats_get(&stats)
                    peakObjects = max(peakObjects, stats.objects)
                }
            }
            loader.collect()
            var after = rm_heap_stats()
            rm_heap_stats_get(&after)
            XCTAssertLessThan(after.objects, baseline.objects + 10_000, "old generations are collected")
            XCTAssertLessThan(peakObjects, baseline.objects * 3, "garbage never piles up")
            XCTAssertLessThanOrEqual(loader.retiredLibraryCount - retiredBefore, 2, "old libraries are closed")
            let mapped = try ProcMaps.mappedCopies(of: "many").subtracting(mappedBefore)
            print("after \(reloads) reloads and a collection: \(mapped.count) copies of many.so mapped (/proc/self/maps)")
            XCTAssertEqual(mapped.count, 1, "only the current library is mapped: \(mapped.sorted())")
            XCTAssertGreaterThanOrEqual(loader.librariesClosed, reloads - 2)
            try runtime.checkHeap()
        }
    }
}
