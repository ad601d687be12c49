import CRemap
import Foundation
import Reload
import XCTest

/// Layout-changing reloads that fail: a hook or an initializer failing half
/// way through the instances, and rules the reload must refuse before it
/// changes anything. After each, every old instance must be exactly what it
/// was: class object, stored slots, attribute dict, and old code answering.
/// Fixture: Tests/Modules/layout.c (INIT with FAIL_* macros, TWO_RENAMES,
/// BAD_INIT).
final class ReloadLayoutRollbackTests: LayoutTestCase {

    /// What a user (or C code with the slot API) can observe of an instance.
    struct InstanceState: Equatable, CustomStringConvertible {
        var cls: UInt
        var slots: [UInt]      // rm_instance_slot, 0 ..< rm_instance_slot_count
        var dict: UInt         // the attribute dict's identity, 0 if none
        var attrs: [String: UInt]
        var version: Int       // what its version() method answers

        var description: String { "class \(cls) slots \(slots) dict \(dict) attrs \(attrs) version \(version)" }
    }

    func state(_ instance: Object) throws -> InstanceState {
        let slots = (0..<rm_instance_slot_count(instance)).map { UInt(bitPattern: rm_instance_slot(instance, $0)) }
        var attrs: [String: UInt] = [:]
        let dict = rm_instance_dict(instance)
        if let dict {
            var pos = 0
            var key: Object?, value: Object?
            while rm_dict_next(dict, &pos, &key, &value) {
                attrs[try Objects.stringValue(key!)] = UInt(bitPattern: value)
            }
        }
        return InstanceState(cls: classOf(instance), slots: slots, dict: UInt(bitPattern: dict), attrs: attrs,
                             version: try int(Objects.callMethod(instance, "version")))
    }

    func states(_ lists: Ref...) throws -> [InstanceState] {
        try lists.flatMap { try instances($0).map(state) }
    }

    /// Compares, reporting only the first difference (not 2000 failures).
    func assertSame(_ before: [InstanceState], _ after: [InstanceState], _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(before.count, after.count, what, file: file, line: line)
        if let i = zip(before, after).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            XCTFail("\(what): instance \(i) changed:\n before: \(before[i])\n  after: \(after[i])", file: file, line: line)
        }
    }

    /// Guards: a class hook or an initializer failing on the 500th of 1000
    /// instances (of Triple, or of Pair: whichever class the migration
    /// reaches first or second) must roll back everything: the in-place
    /// migrations of the walk, the moves, the initializers' writes (direct
    /// slots and setattr) and the hooks' runs on the first 499. Then the good
    /// version reloads and migrates every instance.
    func testFailingHookOrInitializerPutsEveryInstanceBack() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            let pairClass = try loader.resolve("layout.Pair"), tripleClass = try loader.resolve("layout.Triple")
            let before = try states(pairs, triples)
            let failures = [("FAIL_HOOK_AT=500", 2, "Triple hook refuses call 500"),
                            ("FAIL_INIT_AT=500", 2, "d initializer refuses call 500"),
                            ("FAIL_HOOK_AT=500", 1, "Pair hook refuses call 500"),
                            ("FAIL_INIT_AT=500", 1, "e initializer refuses call 500")]
            for (generation, (define, cls, message)) in failures.enumerated() {
                let what = "\(define) in class \(cls)"
                try build(generation + 2, "INIT", [define, "FAIL_CLASS=\(cls)"])
                XCTAssertThrowsError(try reload(), what) { error in
                    XCTAssertTrue("\(error)".contains(message), "\(what): \(error)")
                    XCTAssertTrue("\(error)".contains("rolled back"), "\(what): \(error)")
                    // The message names the step that failed.
                    let step = define.hasPrefix("FAIL_HOOK") ? "__reload__ failed" : "field initializer failed"
                    XCTAssertTrue("\(error)".contains(step), "\(what): \(error)")
                }
                assertSame(before, try states(pairs, triples), what)
                XCTAssertEqual(try loader.resolve("layout.Pair"), pairClass, what)
                XCTAssertEqual(try loader.resolve("layout.Triple"), tripleClass, what)
                XCTAssertEqual(loader.module(named: "layout").map { rm_module_generation($0) }, 1, what)
                try runtime.checkHeap()
            }

            try build(9, "INIT")
            let report = try reload()
            XCTAssertEqual(report.fieldsInitialized, 2 * Self.count)
            XCTAssertEqual(report.instanceHooksRun, 2 * Self.count)
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "a", "c", "d"), [i, 20_000 + i, 1000 * i + 10_000 + i], "Triple \(i)")
                XCTAssertEqual(try int(Objects.callMethod(t, "version")), 9)
            }
            for (i, p) in instances(pairs).enumerated() {
                XCTAssertEqual(try ints(p, "a", "b", "e"), pairValues(i) + [i + 10_000 + i], "Pair \(i)")
            }
            try runtime.checkHeap()
        }
    }

    /// Guards: a failure after the walk must also put back instances whose
    /// dict word holds a field: SHUFFLE gives a Triple 4 fields in its
    /// 3-slot block (c in the word) and a rebased Sub of Pair too (s in the
    /// word). From there, SHUFFLE_ORDER=2 migrates the Triples in place with
    /// b in the word, and INIT (which removes n) has to move them all; each
    /// then fails half way (500th hook call). Then SHUFFLE_ORDER=2 succeeds.
    func testFailingReloadPutsBackInstancesUsingTheDictWord() throws {
        try build(1)
        try folder.buildModule("layoutleaf", from: "layout.c", version: 1, defines: ["LEAF=1"])
        try runtime.withLock {
            try loader.load("layout")
            try loader.load("layoutleaf")
            let sub = try Ref(try loader.call("layoutleaf.define", [try loader.resolve("layout.Pair")]))
            let subs = try make(sub.object) { [$0, 10_000 + $0, 30_000 + $0] }
            let triples = try make(try loader.resolve("layout.Triple"), tripleValues)
            try build(2, "SHUFFLE")
            _ = try reload()
            let before = try states(subs, triples)
            let plain = Self.count - Self.count / Self.noteEvery
            XCTAssertEqual(before.filter { $0.slots.count == 4 && $0.dict == 0 }.count, 2 * plain,
                           "the plain Subs and Triples store 4 fields, one in the dict word")

            let failures = [(3, "SHUFFLE", ["SHUFFLE_ORDER=2", "FAIL_HOOK_AT=500", "FAIL_CLASS=2"]),
                            (4, "INIT", ["FAIL_HOOK_AT=500", "FAIL_CLASS=1"])]
            for (generation, variant, defines) in failures {
                try build(generation, variant, defines)
                XCTAssertThrowsError(try reload(), variant) { error in
                    XCTAssertTrue("\(error)".contains("hook refuses call 500"), "\(variant): \(error)")
                }
                assertSame(before, try states(subs, triples), "after the rollback of \(variant)")
                for (i, s) in instances(subs).enumerated() {
                    XCTAssertEqual(try ints(s, "a", "n", "b", "s"), [i, 42, 10_000 + i, 30_000 + i], "\(variant) Sub \(i)")
                }
                for (i, t) in instances(triples).enumerated() {
                    XCTAssertEqual(try ints(t, "n", "a", "b", "c"), [42] + tripleValues(i), "\(variant) Triple \(i)")
                }
                try runtime.checkHeap()
            }

            try build(5, "SHUFFLE", ["SHUFFLE_ORDER=2"])
            let report = try reload()
            let line = try line(report, "layout.Triple")
            XCTAssertGreaterThanOrEqual(line.inPlace, plain, "word to word, in place: \(line)")
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "n", "a", "b", "c"), [42] + tripleValues(i), "Triple \(i)")
                if i % Self.noteEvery != 0 {
                    XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(t, 3))), 10_000 + i, "Triple \(i): b in the word")
                }
            }
            try runtime.checkHeap()
        }
    }

    /// Guards: two new fields renamed from the same old field cannot both
    /// have its value: the reload must be refused, saying so, before any
    /// instance changes; and an initializer for a field the class does not
    /// define must fail the module's init (reload and first load alike)
    /// with a message naming the field. After both, a good reload works.
    func testBadRulesAreRefusedCleanly() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            let pairClass = try loader.resolve("layout.Pair")
            let before = try states(pairs, triples)

            try build(2, "TWO_RENAMES")
            XCTAssertThrowsError(try reload()) { error in
                XCTAssertTrue("\(error)".contains("b1 and b2 both take old field b"), "\(error)")
            }
            assertSame(before, try states(pairs, triples), "after two renames of b")
            XCTAssertEqual(try loader.resolve("layout.Pair"), pairClass)

            try build(3, "BAD_INIT")
            XCTAssertThrowsError(try reload()) { error in
                guard case RemapError.initFailed(let module, let cause) = error else {
                    return XCTFail("not an init failure: \(error)")
                }
                XCTAssertEqual(module, "layout")
                XCTAssertTrue(cause.contains("rm_def_field_init") && cause.contains("'nope'"), cause)
            }
            assertSame(before, try states(pairs, triples), "after a bad initializer")

            try folder.buildModule("layoutbad", from: "layout.c", version: 1, defines: ["BAD_INIT=1"])
            XCTAssertThrowsError(try loader.load("layoutbad")) { error in
                XCTAssertTrue("\(error)".contains("'nope'"), "\(error)")
            }
            XCTAssertNil(loader.module(named: "layoutbad"))

            try build(4, "ADD")
            let report = try reload()
            XCTAssertEqual(try line(report, "layout.Pair").instances, Self.count)
            XCTAssertEqual(try ints(instances(pairs)[7], "n", "a", "b"), [42] + pairValues(7))
            try runtime.checkHeap()
        }
    }
}
