import CRemap
import Foundation
import Reload
import XCTest

/// Reloads of struct classes (issue 21): fields match by name, widenings
/// convert, arrays keep their common prefix, anything lossy is refused
/// before anything changes (unless an initializer says what to do), and a
/// failure rolls every instance back byte for byte, whatever a hook or an
/// initializer wrote directly. Fixture: Tests/Modules/structs.c.
final class StructReloadTests: StructTestCase {
    static let count = 1000

    func reload(_ names: [String] = ["structs"]) throws -> ReloadReport {
        runtime.collect()
        return try loader.reload(names)
    }

    func line(_ report: ReloadReport, _ name: String) throws -> ReloadReport.ClassMigration {
        try XCTUnwrap(report.classes.first { $0.name == name }, "no line \(name) in \(report.classes)")
    }

    /// A reload that must fail, with a message containing every one of `words`.
    func assertRefused(_ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try reload()
            XCTFail("the reload was not refused", file: file, line: line)
        } catch {
            let message = "\(error)"
            for word in words { XCTAssertTrue(message.contains(word), "\(word) not in: \(message)", file: file, line: line) }
        }
    }

    /// A new loader and fixture folder: the next load starts from version 1.
    func fresh() throws {
        try runtime.withLock { _ = loader.collect() }
        loader = ModuleLoader()
        folder = try FixtureFolder()
        loader.addSearchPath(folder.path)
    }

    func version(_ object: Object) throws -> Int { try Objects.intValue(Objects.callMethod(object, "version")) }

    /// What a user can observe of a struct instance: its class, its bytes
    /// (everything past the type slot, the header's hash and flags
    /// included) and what its version() answers.
    struct State: Equatable {
        var cls: UInt
        var bytes: [UInt8]
        var version: Int
    }

    func states(_ list: Ref) throws -> [State] {
        try items(list).map { State(cls: UInt(bitPattern: $0.pointee.ob_type), bytes: bytes($0), version: try version($0)) }
    }

    /// Guards: an added field in the middle of the struct moves the fields
    /// after it; every old instance keeps its values, reads the new
    /// field's default and runs the new code, migrated in place in the walk.
    func testAddingAFieldKeepsEveryValue() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            try set(items(list)[3], "pos", try check(rm_tuple_of(3, [rm_float(0.25), rm_float(1), rm_float(2)])))
            try build(2, "ADD")
            let report = try reload()
            let migration = try line(report, "structs.Particle")
            XCTAssertEqual(migration.instances, Self.count)
            XCTAssertEqual(migration.inPlace, Self.count)
            XCTAssertEqual(migration.moved, 0)
            for (i, p) in items(list).enumerated() {
                XCTAssertEqual(try [int(p, "x"), int(p, "v"), int(p, "extra")], [i, 10 + i, 7], "particle \(i)")
                XCTAssertEqual(try double(p, "mass"), 1.0)
                XCTAssertEqual(try version(p), 2)
            }
            let pos = try get(items(list)[3], "pos")
            XCTAssertEqual((0..<3).map { rm_float_value(rm_tuple_get(pos, $0)) }, [0.25, 1, 2])
            _ = try Objects.callMethod(items(list)[5], "step")
            XCTAssertEqual(try int(items(list)[5], "x"), 5 + 15, "new code reads the moved field")
            XCTAssertEqual(try int(Objects.call(try loader.resolve("structs.sum_x"), [list.object])),
                           (0..<Self.count).reduce(0, +) + 15)
            try runtime.checkHeap()
        }
    }

    /// Every widening of the issue, at the old kinds' limits.
    func checkWidening(_ variant: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let k = try Objects.call(try cls("Kinds"), [])
            let values: [(String, Int)] = [("a8", -128), ("a16", -32768), ("a32", Int(Int32.min)), ("a64", Int.min),
                                           ("b8", 255), ("b16", 65535), ("b32", Int(UInt32.max)), ("b64", Int.max)]
            for (name, value) in values { try set(k, name, try Objects.int(value)) }
            try set(k, "f", rm_float(-2.5))
            try set(k, "d", rm_float(1e300))
            try set(k, "flag", rm_get_true())
            let obj = try Objects.string("kept")
            try set(k, "obj", obj)
            let held = try Ref(k)
            try build(2, variant)
            _ = try reload()
            for (name, value) in values {
                XCTAssertEqual(try double(held.object, name), Double(value), "\(variant) \(name)", file: file, line: line)
            }
            XCTAssertEqual(try double(held.object, "f"), -2.5, file: file, line: line)
            XCTAssertEqual(try double(held.object, "d"), 1e300, file: file, line: line)
            XCTAssertEqual(try double(held.object, "flag"), 1, "bool to an int", file: file, line: line)
            XCTAssertEqual(try get(held.object, "obj"), obj, file: file, line: line)
            XCTAssertEqual(try version(held.object), 2, file: file, line: line)
            try runtime.checkHeap()
        }
    }

    /// Guards: i8->i16, i16->i32, i32->i64, u8->u16, u16->i32, u32->u64,
    /// f32->f64, bool->i32 keep every value.
    func testWideningsKeepValues() throws { try checkWidening("WIDEN") }

    /// Guards: i8->i64, i16->f64, i32->f64, u8->u64, u16->i64, u32->i64,
    /// bool->u8 keep every value.
    func testMoreWideningsKeepValues() throws { try checkWidening("WIDEN2") }

    /// Guards: a narrowing is refused before anything changes, naming the
    /// class, the field and both kinds; with an initializer it is allowed,
    /// and the initializer reads the old value through the old view.
    func testNarrowingIsRefusedUnlessInitialized() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try Ref(try check(rm_list_new(0)))
            for i in 0..<100 {
                let k = try Objects.call(try cls("Kinds"), [])
                try set(k, "a64", try Objects.int(1000 * i + 7))
                try check(rm_list_append(list.object, k))
            }
            let before = try states(list)
            try build(2, "NARROW")
            assertRefused(["Kinds", "a64", "i64", "i32"])
            XCTAssertEqual(try states(list), before, "nothing changed")
            try build(3, "OBJ_TO_INT")
            assertRefused(["Kinds", "obj", "object", "i64"])
            XCTAssertEqual(try states(list), before, "nothing changed")
            try build(4, "NARROW_INIT")
            _ = try reload()
            for (i, k) in items(list).enumerated() { XCTAssertEqual(try int(k, "a64"), i, "initialized from old a64") }
            try runtime.checkHeap()
        }
    }

    /// Guards: an array's length change keeps the common prefix (new
    /// elements get the default), and its element kind may widen.
    func testArraysKeepTheirCommonPrefix() throws {
        for (variant, expected) in [("ARR_GROW", [1, 2, 3, 4, 9, 9]), ("ARR_SHRINK", [1, 2]), ("ARR_WIDEN", [1, 2, 3, 4])] {
            try runtime.withLock {
                try build(1)
                try loader.load("structs")
                let a = try Ref(try Objects.call(try cls("Arr"), []))
                try set(a.object, "vals", try check(rm_tuple_of(4, try [1, 2, 3, 4].map { try Objects.int($0) })))
                try build(2, variant)
                _ = try reload()
                let vals = try get(a.object, "vals")
                XCTAssertEqual(try (0..<rm_tuple_size(vals)).map { try Objects.intValue(rm_tuple_get(vals, $0)) },
                               expected, variant)
                try runtime.checkHeap()
            }
            try fresh()
        }
    }

    /// Guards: a removed field reaches the class hook's old view; a renamed
    /// one keeps its value under the new name.
    func testRemovedFieldsReachTheHookAndRenamesKeepValues() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            try build(2, "RENAME")
            _ = try reload()
            for (i, p) in items(list).enumerated() { XCTAssertEqual(try int(p, "vel"), 10 + i) }
        }
        try fresh()
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            try build(2, "REMOVE")
            _ = try reload()
            for (i, p) in items(list).enumerated() {
                XCTAssertEqual(try int(p, "x"), i + 10 + i, "the hook read old.v")
                XCTAssertNil(rm_getattr(p, "v"))
                rm_error_clear()
            }
            try runtime.checkHeap()
        }
    }

    /// Guards: an object field holding a function of the reloaded module
    /// holds the new version after the reload (the walk rewrote the slot).
    func testAnObjectFieldFollowsItsFunctionAcrossAReload() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(10)
            let p = items(list)[4]
            try set(p, "owner", try loader.resolve("structs.helper"))
            let k = try Ref(try Objects.call(try cls("Kinds"), []))
            try set(k.object, "obj", try cls("Particle"))
            try build(2, "ADD")
            _ = try reload()
            XCTAssertEqual(try get(p, "owner"), try loader.resolve("structs.helper"))
            XCTAssertEqual(try int(Objects.call(try get(p, "owner"), [])), 200)
            XCTAssertEqual(try get(k.object, "obj"), try cls("Particle"), "a class in an object field follows too")
            try runtime.checkHeap()
        }
    }

    /// Guards: a hook or an initializer that writes struct fields directly
    /// (unjournaled) on every instance and fails on the 500th leaves every
    /// instance as it was, byte for byte, at its address, with its class;
    /// then the good version reloads.
    func testRollbackIsByteForByteAfterDirectWrites() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            let owner = try Objects.string("owner")
            for (i, p) in items(list).enumerated() where i % 3 == 0 { try set(p, "owner", owner) }
            let before = try states(list)
            let addresses = items(list)
            for (generation, failure) in [(2, "FAIL_HOOK_AT=500"), (3, "FAIL_INIT_AT=500")] {
                try build(generation, "ADD", [failure])
                assertRefused(["on purpose at 500"])
                XCTAssertEqual(items(list), addresses, "same addresses")
                let after = try states(list)
                if let i = zip(before, after).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    XCTFail("\(failure): instance \(i) changed: \(before[i]) -> \(after[i])")
                }
                try runtime.checkHeap()
            }
            try build(4, "ADD")
            _ = try reload()
            for (i, p) in items(list).enumerated() { XCTAssertEqual(try [int(p, "x"), int(p, "extra")], [i, 7]) }
            try runtime.checkHeap()
        }
    }

    /// Guards: a reload without hooks or initializers does not copy the
    /// instances (the undo converts them back: struct_reload.c); a failure
    /// after the walk (the remap, rehash and publish fault points) still
    /// leaves every instance byte for byte as it was, for an added field,
    /// widenings and a move.
    func testRollbackWithoutHooksConvertsBack() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            for i in 0..<100 {
                let k = try Objects.call(try cls("Kinds"), [])
                for (name, value) in [("a8", -100 + i), ("a16", -30000 + i), ("a32", -2_000_000_000 + i), ("b8", 200 + i / 2),
                                      ("b16", 60000 + i), ("b32", 4_000_000_000 + i)] {
                    try set(k, name, try Objects.int(value))
                }
                try set(k, "f", rm_float(Double(i) + 0.5))
                try set(k, "flag", i % 2 == 0 ? rm_get_true() : rm_get_false())
                try check(rm_list_append(list.object, k))
            }
            let before = try states(list)
            defer { FaultInjection.disarm() }
            for (generation, (variant, point)) in [("ADD", "remap"), ("ADD", "publish"), ("WIDEN", "remap"),
                                                   ("WIDEN2", "publish"), ("GROW", "publish")].enumerated() {
                try build(generation + 2, variant)
                runtime.collect()
                FaultInjection.resetCounts()
                try FaultInjection.arm(point, occurrence: 1)
                XCTAssertThrowsError(try loader.reload(["structs"]), "\(variant) \(point)")
                FaultInjection.disarm()
                let after = try states(list)
                if let i = zip(before, after).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    XCTFail("\(variant) \(point): instance \(i) changed: \(before[i]) -> \(after[i])")
                }
                try runtime.checkHeap()
            }
        }
    }

    /// Guards: a new layout past every instance's allocation moves every
    /// instance to a new one in the walk, and every reference follows: heap
    /// slots (a list), handles, weak references, dict keys (the identity
    /// hash is kept, so the dict finds them without a rehash); the values
    /// and object fields are kept; the report counts the moves.
    func testGrowingPastTheAllocationMovesEveryInstance() throws { try checkGrowing(Self.count) }

    /// The same with enough instances that the moves are found by two
    /// threads, each over its part of the registry, and allocated part
    /// after part (struct_moves.c): the pairs keep the registry's order.
    func testManyMovesAreSplitAmongThreads() throws { try checkGrowing(Self.manyMoves) }

    /// More instances than two of the walk's chunks: the moves run in parts.
    static let manyMoves = 40_000

    func checkGrowing(_ count: Int, file: StaticString = #filePath, line testLine: UInt = #line) throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(count)
            let olds = items(list)
            let handle = try Ref(olds[7])
            let weak = try Ref(try check(rm_weakref_new(olds[8])))
            let dict = try Ref(try check(rm_dict_new()))
            for (i, p) in olds.enumerated() where i % 10 == 0 { try check(rm_dict_set(dict.object, p, try Objects.int(i))) }
            let owner = try Objects.string("owner")
            try set(olds[9], "owner", owner)
            var error: Int32 = 0
            let hashes = olds.map { rm_hash($0, &error) }
            try build(2, "GROW")
            let report = try reload()
            let migration = try line(report, "structs.Particle")
            XCTAssertEqual(migration.moved, count, file: file, line: testLine)
            XCTAssertEqual(migration.inPlace, 0, file: file, line: testLine)
            let news = items(list)
            for (i, p) in news.enumerated() {
                XCTAssertNotEqual(p, olds[i], "moved", file: file, line: testLine)
                XCTAssertEqual(try [int(p, "x"), int(p, "v"), int(p, "g1"), int(p, "g4")], [i, 10 + i, 0, 3],
                               file: file, line: testLine)
                XCTAssertEqual(rm_hash(p, &error), hashes[i], "identity hash kept", file: file, line: testLine)
                if i % 97 == 0 { XCTAssertEqual(try version(p), 2, file: file, line: testLine) }
            }
            XCTAssertEqual(handle.object, news[7], "the handle followed", file: file, line: testLine)
            XCTAssertEqual(rm_weakref_get(weak.object), news[8], "the weak reference followed", file: file, line: testLine)
            XCTAssertEqual(try get(news[9], "owner"), owner, file: file, line: testLine)
            for (i, p) in news.enumerated() where i % 10 == 0 {
                XCTAssertEqual(try Objects.intValue(try check(rm_dict_get(dict.object, p))), i, "a dict key followed",
                               file: file, line: testLine)
            }
            XCTAssertEqual(rm_dict_size(dict.object), count / 10, file: file, line: testLine)
            _ = try Objects.callMethod(news[5], "step")
            XCTAssertEqual(try int(news[5], "x"), 20, file: file, line: testLine)
            try runtime.checkHeap()
        }
    }

    /// Guards: when the moves run in parts, a failed allocation in any
    /// part (each part's is a fault point) leaves every instance where and
    /// as it was, every reference on it; the reload that follows succeeds.
    func testAFailedAllocationOfParallelMovesRollsBack() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.manyMoves)
            let olds = items(list)
            let handle = try Ref(olds[7])
            let before = olds.map(bytes)
            try build(2, "GROW")
            // The parts' allocations are the reload's last (nothing after the
            // walk allocates here): count them, then fail each of the last
            // few, the parts' and those just before them.
            runtime.collect()
            FaultInjection.resetCounts()
            try FaultInjection.arm("publish", occurrence: 1)
            XCTAssertThrowsError(try loader.reload(["structs"]))
            let allocs = FaultInjection.count("alloc")
            XCTAssertGreaterThan(allocs, 0)
            var refused = 0
            for occurrence in stride(from: allocs, to: max(0, allocs - 8), by: -1) {
                runtime.collect()
                FaultInjection.resetCounts()
                try FaultInjection.arm("alloc", occurrence: occurrence)
                do { _ = try loader.reload(["structs"]) } catch { refused += 1 }
                FaultInjection.resetCounts()
                XCTAssertTrue(items(list) == olds, "alloc #\(occurrence): every slot on the old instance")
                XCTAssertEqual(handle.object, olds[7])
                XCTAssertTrue(olds.map(bytes) == before, "alloc #\(occurrence): bytes as they were")
            }
            XCTAssertEqual(refused, min(8, allocs), "every armed allocation failed its reload")
            try runtime.checkHeap()
            let report = try reload()
            XCTAssertEqual(try line(report, "structs.Particle").moved, Self.manyMoves)
            XCTAssertEqual(try int(items(list)[39_999], "x"), 39_999)
            try runtime.checkHeap()
        }
    }

    /// Guards: a hook that fails on the 500th moved instance, after writing
    /// the new instances directly, leaves every reference on the old
    /// instances, which are byte for byte as they were.
    func testAFailedMoveRollsBackToTheOldInstances() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(Self.count)
            let olds = items(list)
            let handle = try Ref(olds[7])
            let before = try states(list)
            try build(2, "GROW", ["FAIL_HOOK_AT=500"])
            assertRefused(["on purpose at 500"])
            XCTAssertEqual(items(list), olds, "every list slot points at the old instance again")
            XCTAssertEqual(handle.object, olds[7])
            XCTAssertEqual(try states(list), before)
            try runtime.checkHeap()
            try build(3, "GROW")
            _ = try reload()
            XCTAssertEqual(try int(items(list)[999], "x"), 999)
            try runtime.checkHeap()
        }
    }

    /// Guards: a hook that writes directly into an instance of another
    /// struct class of the module, one whose layout the reload does not
    /// change, then fails: that instance is put back byte for byte too.
    func testAHookWritingAnotherStructClassIsUndone() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(100)
            let kinds = try Ref(try Objects.call(try cls("Kinds"), []))
            try set(kinds.object, "a64", try Objects.int(5))
            for p in items(list) { try set(p, "owner", kinds.object) }
            let before = bytes(kinds.object)
            try build(2, "ADD", ["FAIL_HOOK_AT=50", "TOUCH_OWNER=1"])
            assertRefused(["on purpose at 50"])
            XCTAssertEqual(bytes(kinds.object), before, "the other class's instance as it was")
            XCTAssertEqual(try int(kinds.object, "a64"), 5)
            try runtime.checkHeap()
        }
    }

    /// Guards: a struct class derived from a reloaded module's struct class,
    /// in a module that is not reloaded, is rebased: its instances keep
    /// their base and own fields and answer the new base's methods.
    func testAStructSubclassInAModuleNotReloaded() throws {
        try runtime.withLock {
            try build(1)
            try folder.buildModule("structsub", from: "structs.c", version: 1, defines: ["SUB=1"])
            try loader.load("structs")
            try loader.load("structsub")
            let sub = try loader.resolve("structsub.Sub")
            let list = try Ref(try check(rm_list_new(0)))
            for i in 0..<100 {
                let s = try Objects.call(sub, [])
                try set(s, "id", try Objects.int(i))
                try check(rm_list_append(list.object, s))
            }
            try set(items(list)[1], "s", try Objects.int(50))
            try build(2)
            _ = try reload()
            for (i, s) in items(list).enumerated() {
                XCTAssertEqual(try int(s, "id"), i)
                XCTAssertEqual(try int(s, "s"), i == 1 ? 50 : 5)
                XCTAssertEqual(try int(Objects.callMethod(s, "sum")), i + (i == 1 ? 50 : 5))
                XCTAssertEqual(try version(s), 2, "the new base's method")
            }
            let fresh = try Objects.call(try loader.resolve("structsub.Sub"), [])
            XCTAssertEqual(try int(fresh, "s"), 5, "the rebased class keeps its default")
            try runtime.checkHeap()
        }
    }
}
