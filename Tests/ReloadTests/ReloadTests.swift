import CRemap
import Foundation
import Reload
import XCTest

/// Reloading real native modules: C sources compiled by the test into shared
/// libraries, v1 then v2, loaded with dlopen into this process.
final class ReloadTests: ModuleTestCase {
    func string(_ object: Object) throws -> String { try Objects.stringValue(object) }

    /// Builds shapes v1, loads it and makes `count` squares kept in its
    /// `registry` state; returns that list through a Ref.
    func loadShapesWithSquares(_ count: Int) throws -> Ref {
        try folder.buildModule("shapes", from: "shapes.c", version: 1)
        return try runtime.withLock {
            try loader.load("shapes")
            let registry = try loader.resolve("shapes.registry")
            for side in 0..<count {
                let square = try loader.call("shapes.make", [try Objects.int(side % 7 + 1)])
                XCTAssertEqual(rm_list_append(registry, square), 0)
            }
            return try Ref(registry)
        }
    }

    /// What the program computes: every square's area, version(), LIMIT.
    func observe(_ squares: Ref) throws -> [Int] {
        var seen = try (0..<rm_list_size(squares.object)).map {
            try int(Objects.callMethod(rm_list_get(squares.object, $0)!, "area"))
        }
        seen.append(try int(loader.call("shapes.version")))
        seen.append(try int(loader.resolve("shapes.LIMIT")))
        return seen
    }

    // 1. Old instances run the new methods; isinstance holds; their class is the new class.
    func testOldInstancesRunNewMethods() throws {
        let squares = try loadShapesWithSquares(1000)
        try folder.buildModule("shapes", from: "shapes.c", version: 2)
        try runtime.withLock {
            let oldClass = try loader.resolve("shapes.Square")
            let report = try loader.reload(["shapes"])
            XCTAssertEqual(report.modules, [.init(name: "shapes", fromGeneration: 1, toGeneration: 2,
                                                  path: folder.path + "/shapes.so")])
            let newClass = try loader.resolve("shapes.Square")
            XCTAssertNotEqual(oldClass, newClass)
            for i in 0..<1000 {
                let square = rm_list_get(squares.object, i)!
                let side = i % 7 + 1
                XCTAssertEqual(try int(Objects.callMethod(square, "area")), side * side * 100)
                XCTAssertTrue(rm_is_instance_of(square, newClass))
                XCTAssertEqual(UnsafeMutableRawPointer(square.pointee.ob_type), UnsafeMutableRawPointer(newClass))
            }
            XCTAssertGreaterThanOrEqual(report.slotsRewritten, 1000)
            try runtime.checkHeap()
        }
    }

    // 2. Imported bindings and every kind of holder call the new function.
    func testEveryHolderCallsTheNewFunction() throws {
        try folder.buildModule("shapes", from: "shapes.c", version: 1)
        try folder.buildModule("user", from: "user.c", version: 1)
        try runtime.withLock {
            try loader.load("user")
            XCTAssertEqual(try int(loader.call("user.call_version")), 1)
            let version = try loader.resolve("shapes.version")
            let list = rm_list_new(0)!
            let dict = rm_dict_new()!
            let instance = rm_instance_alloc(rm_class_new("Holder", nil, nil))!
            XCTAssertEqual(rm_list_append(list, version), 0)
            XCTAssertEqual(rm_dict_set_str(dict, "callback", version), 0)
            XCTAssertEqual(rm_setattr(instance, "callback", version), 0)
            let bound = rm_method_new(version, instance)!
            let closure = rm_function_new("closure", { _, _, _ in
                rm_call(rm_function_closure(rm_function_current()), nil, 0)
            }, 0, nil, version)!
            let holders = try [list, dict, instance, bound, closure].map { try Ref($0) }

            try folder.buildModule("shapes", from: "shapes.c", version: 2)
            _ = try loader.reload(["shapes"])

            XCTAssertEqual(try int(loader.call("user.call_version")), 2, "rm_import_from binding")
            XCTAssertEqual(try int(Objects.call(rm_list_get(holders[0].object, 0), [])), 2, "list")
            XCTAssertEqual(try int(Objects.call(rm_dict_get_str(holders[1].object, "callback"), [])), 2, "dict value")
            XCTAssertEqual(try int(Objects.call(Objects.getAttribute(holders[2].object, "callback"), [])), 2, "attribute")
            XCTAssertEqual(try int(Objects.call(holders[3].object, [])), 2, "bound method")
            XCTAssertEqual(try int(Objects.call(holders[4].object, [])), 2, "closure")
            try runtime.checkHeap()
        }
    }

    // 3. Dicts keyed by a class, by a tuple holding a function, and a set of classes.
    func testHashedCollectionsFindEveryKey() throws {
        try folder.buildModule("shapes", from: "shapes.c", version: 1)
        try runtime.withLock {
            try loader.load("shapes")
            let square = try loader.resolve("shapes.Square")
            let version = try loader.resolve("shapes.version")
            let byClass = rm_dict_new()!, byTuple = rm_dict_new()!, classes = rm_set_new()!
            XCTAssertEqual(rm_dict_set(byClass, square, try Objects.int(1)), 0)
            var items: [Object?] = [version, try Objects.string("v")]
            XCTAssertEqual(rm_dict_set(byTuple, rm_tuple_of(2, &items), try Objects.int(2)), 0)
            XCTAssertEqual(rm_set_add(classes, square), 0)
            let roots = try [byClass, byTuple, classes].map { try Ref($0) }

            try folder.buildModule("shapes", from: "shapes.c", version: 2)
            let report = try loader.reload(["shapes"])
            XCTAssertGreaterThanOrEqual(report.tablesRehashed, 3)
            let newSquare = try loader.resolve("shapes.Square")
            let newVersion = try loader.resolve("shapes.version")
            XCTAssertEqual(try int(rm_dict_get(roots[0].object, newSquare)), 1)
            var newItems: [Object?] = [newVersion, try Objects.string("v")]
            XCTAssertEqual(try int(rm_dict_get(roots[1].object, rm_tuple_of(2, &newItems))), 2)
            XCTAssertEqual(rm_set_contains(roots[2].object, newSquare), 1)
            try runtime.checkHeap()
        }
    }

    // 4. State survives, values are replaced, added definitions appear, removed ones follow the policy.
    func testStateValuesAddedAndRemoved() throws {
        for policy in RemovedPolicy.allCases {
            let squares = try loadShapesWithSquares(3)
            try runtime.withLock {
                let registryBefore = try loader.resolve("shapes.registry")
                XCTAssertEqual(try string(loader.call("shapes.old_only")), "old")
                let oldOnly = try Ref(try loader.resolve("shapes.old_only"))
                try folder.buildModule("shapes", from: "shapes.c", version: 2)
                if policy == .refuse {
                    XCTAssertThrowsError(try loader.reload(["shapes"], options: .init(onRemoved: .refuse))) { error in
                        XCTAssertTrue("\(error)".contains("old_only"), "\(error)")
                    }
                    XCTAssertEqual(try int(loader.call("shapes.version")), 1, "refused: the old code stays")
                    return
                }
                let report = try loader.reload(["shapes"], options: .init(onRemoved: policy))
                XCTAssertEqual(try loader.resolve("shapes.registry"), registryBefore, "state is the same object")
                XCTAssertEqual(rm_list_size(squares.object), 3, "state keeps its contents")
                XCTAssertEqual(try int(loader.resolve("shapes.LIMIT")), 20, "value replaced")
                XCTAssertEqual(try string(loader.call("shapes.added")), "added")
                XCTAssertTrue(report.added.contains("shapes.added"))
                XCTAssertEqual(report.removed, ["shapes.old_only"])
                switch policy {
                case .keep:
                    XCTAssertEqual(try string(loader.call("shapes.old_only")), "old")
                    XCTAssertEqual(report.kept, ["shapes.old_only"])
                case .tombstone:
                    XCTAssertEqual(report.tombstoned, ["shapes.old_only"])
                    XCTAssertThrowsError(try Objects.call(oldOnly.object, [])) { error in
                        XCTAssertEqual((error as? RemapError)?.kind, .removed)
                        XCTAssertTrue("\(error)".contains("removed in generation 2"), "\(error)")
                    }
                case .refuse:
                    break
                }
            }
            setUp()
            try setUpWithError()
        }
    }

    // 5. Field defaults appear on old instances; the class hook sees each old instance once.
    func testFieldDefaultsAndClassHook() throws {
        let squares = try loadShapesWithSquares(1000)
        try folder.buildModule("shapes", from: "shapes.c", version: 2)
        try runtime.withLock {
            let report = try loader.reload(["shapes"])
            XCTAssertEqual(report.instancesMigrated, 1000)
            XCTAssertEqual(report.instanceHooksRun, 1000)
            XCTAssertEqual(try int(loader.call("shapes.hook_count")), 1000)
            for i in 0..<1000 {
                let square = rm_list_get(squares.object, i)!
                XCTAssertEqual(try string(Objects.getAttribute(square, "color")), "red")
                XCTAssertEqual(try int(Objects.getAttribute(square, "seen")), 1, "hook ran once on instance \(i)")
                XCTAssertEqual(try int(Objects.getAttribute(square, "side")), i % 7 + 1, "old field kept")
            }
            // The module hook carried the counter over from the old namespace.
            XCTAssertEqual(try int(rm_list_get(loader.resolve("shapes.reloads"), 0)), 1)
            XCTAssertEqual(report.moduleHooksRun, 1)
            try runtime.checkHeap()
        }
    }

    /// Asserts that a failed reload names the module and the cause, and that
    /// the program computes exactly what it did before.
    func assertFailsAndChangesNothing(_ squares: Ref, _ expected: [String], file: StaticString = #filePath,
                                      line: UInt = #line) throws {
        try runtime.withLock {
            let before = try observe(squares)
            XCTAssertThrowsError(try loader.reload(["shapes"]), file: file, line: line) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("shapes"), "names the module: \(text)", file: file, line: line)
                for part in expected {
                    XCTAssertTrue(text.contains(part), "'\(part)' in: \(text)", file: file, line: line)
                }
            }
            XCTAssertEqual(try observe(squares), before, "calls return what they returned before", file: file, line: line)
            XCTAssertEqual(loader.loadedModules.first { $0.name == "shapes" }?.generation, 1, file: file, line: line)
            try runtime.checkHeap()
        }
    }

    // 6. Failures before the remap change nothing.
    func testFailedLoadsChangeNothing() throws {
        let squares = try loadShapesWithSquares(50)
        try folder.buildModule("shapes", from: "shapes.c", version: 2, defines: ["MODULE_HOOK_FAILS=1"])
        try assertFailsAndChangesNothing(squares, ["__reload__", "module hook says no"])
        try folder.buildModule("shapes", from: "shapes.c", version: 2, defines: ["INIT_FAILS=1"])
        try assertFailsAndChangesNothing(squares, ["rm_module_init", "fails on purpose"])
        try folder.buildModule("shapes", from: "wrong_abi.c", version: 1)
        try assertFailsAndChangesNothing(squares, ["ABI 99"])
        try folder.buildModule("shapes", from: "no_init.c", version: 1)
        try assertFailsAndChangesNothing(squares, ["rm_module_init"])
        try folder.writeRaw("shapes", "this is not a shared library\n")
        try assertFailsAndChangesNothing(squares, ["not a loadable Remap module"])
        folder.remove("shapes")
        try assertFailsAndChangesNothing(squares, ["not found"])
        try runtime.withLock {
            XCTAssertThrowsError(try loader.reload(["../etc/passwd"])) { error in
                XCTAssertEqual(error as? RemapError, .invalidName("../etc/passwd"))
            }
        }
    }

    // 7. A class hook that fails on the 500th of 1,000 instances: everything is rolled back.
    func testInstanceHookFailureRollsBack() throws {
        let squares = try loadShapesWithSquares(1000)
        try runtime.withLock {
            let square = try loader.resolve("shapes.Square")
            let version = try loader.resolve("shapes.version")
            let byClass = try Ref(rm_dict_new()!)
            XCTAssertEqual(rm_dict_set(byClass.object, square, try Objects.int(7)), 0)
            let before = try observe(squares)
            try folder.buildModule("shapes", from: "shapes.c", version: 2, defines: ["HOOK_FAILS_AT=500"])
            XCTAssertThrowsError(try loader.reload(["shapes"])) { error in
                XCTAssertTrue("\(error)".contains("rolled back"), "\(error)")
                XCTAssertTrue("\(error)".contains("refuses instance 500"), "\(error)")
            }
            XCTAssertEqual(try loader.resolve("shapes.Square"), square, "the old class is back")
            XCTAssertEqual(try loader.resolve("shapes.version"), version, "the old function is back")
            XCTAssertEqual(try observe(squares), before)
            for i in 0..<1000 {
                let s = rm_list_get(squares.object, i)!
                XCTAssertEqual(UnsafeMutableRawPointer(s.pointee.ob_type), UnsafeMutableRawPointer(square))
                XCTAssertEqual(rm_instance_slot_count(s), 1, "old layout restored")
            }
            XCTAssertEqual(try int(rm_dict_get(byClass.object, square)), 7, "dict lookups by the old class")
            try runtime.checkHeap()
            // And the program can still reload afterwards.
            try folder.buildModule("shapes", from: "shapes.c", version: 2)
            _ = try loader.reload(["shapes"])
            XCTAssertEqual(try int(loader.call("shapes.version")), 2)
        }
    }

    // 8. Two modules together; cascade reloads importers in order; cycles are reported.
    func testSeveralModulesCascadeAndCycles() throws {
        try folder.buildModule("shapes", from: "shapes.c", version: 1)
        try folder.buildModule("user", from: "user.c", version: 1)
        try runtime.withLock {
            try loader.load("user")
            try folder.buildModule("shapes", from: "shapes.c", version: 2)
            let together = try loader.reload(["shapes", "user"])
            XCTAssertEqual(together.modules.map(\.name), ["shapes", "user"], "imported module first")
            XCTAssertEqual(try int(loader.call("user.call_version")), 2)

            let cascade = try loader.reload(["shapes"], options: .init(cascade: true))
            XCTAssertEqual(cascade.modules.map(\.name), ["shapes", "user"])
            XCTAssertEqual(cascade.modules.map(\.toGeneration), [3, 3])
        }
        try folder.buildModule("ping", from: "cycle.c", version: 1, defines: ["SELF_NAME=ping", "OTHER_NAME=pong"])
        try folder.buildModule("pong", from: "cycle.c", version: 1, defines: ["SELF_NAME=pong", "OTHER_NAME=ping"])
        try runtime.withLock {
            XCTAssertThrowsError(try loader.load("ping")) { error in
                XCTAssertTrue("\(error)".contains("import cycle: ping -> pong -> ping"), "\(error)")
            }
        }
    }

    // 9. A module written in Swift with @_cdecl loads and reloads like a C one.
    func testSwiftNativeModule() throws {
        func source(_ version: Int) -> String {
            """
            import CRemap

            @_cdecl("rm_module_abi")
            public func moduleABI() -> UInt32 { UInt32(RM_ABI_VERSION) }

            @_cdecl("rm_module_init")
            public func moduleInit(_ m: OpaquePointer) -> Int32 {
                let answer: rm_cfunction = { _, _, _ in rm_int(\(version)) }
                return rm_def_function(m, "answer", answer, 0) == nil ? -1 : 0
            }
            """
        }
        do {
            try folder.buildSwift("swiftmod", source(1))
        } catch FixtureError.buildFailed(let output) {
            XCTFail("swiftc failed: \(output)")
            return
        }
        try runtime.withLock {
            try loader.load("swiftmod")
            XCTAssertEqual(try int(loader.call("swiftmod.answer")), 1)
        }
        try folder.buildSwift("swiftmod", source(2))
        try runtime.withLock {
            _ = try loader.reload(["swiftmod"])
            XCTAssertEqual(try int(loader.call("swiftmod.answer")), 2)
        }
    }
}
