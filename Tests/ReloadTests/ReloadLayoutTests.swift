import CRemap
import Foundation
@testable import Reload
import XCTest

/// Reloads that change a class's fields (issue 11), as a user sees them:
/// old instances read added fields' defaults or initializers' values, lose
/// removed fields, keep renamed and reordered values, whether the walk
/// migrated them in place or they had to be moved after it. Fixture:
/// Tests/Modules/layout.c (its header lists the variants). Rollback and bad
/// rules: ReloadLayoutRollbackTests.
class LayoutTestCase: ModuleTestCase {
    /// Instances per class: enough that the walk's lists grow and hooks run
    /// many times, few enough to take well under a second.
    static let count = 1000
    /// Every `noteEvery`-th instance also gets an attribute that is not a
    /// field, so it has an attribute dict (no free dict word).
    static let noteEvery = 10

    /// Builds layout.c as module `layout`: `variant` is one of the header's
    /// macros (nil: the base layout).
    func build(_ version: Int, _ variant: String? = nil, _ extra: [String] = []) throws {
        try folder.buildModule("layout", from: "layout.c", version: version,
                               defines: (variant.map { ["\($0)=1"] } ?? []) + extra)
    }

    /// `count` instances of `cls`, instance i built from `values(i)` in the
    /// class's field order; every noteEvery-th one gets note = "note i".
    /// Kept in one heap list (one handle, not a Ref per instance).
    func make(_ cls: Object, _ values: (Int) -> [Int]) throws -> Ref {
        let list = try Ref(try check(rm_list_new(Self.count)))
        for i in 0..<Self.count {
            let instance = try Objects.call(cls, try values(i).map { try Objects.int($0) })
            if i % Self.noteEvery == 0 { try check(rm_setattr(instance, "note", try Objects.string("note \(i)"))) }
            try check(rm_list_append(list.object, instance))
        }
        return list
    }

    func instances(_ list: Ref) -> [Object] { (0..<rm_list_size(list.object)).map { rm_list_get(list.object, $0)! } }

    /// Fields (or attributes) of an instance, as ints.
    func ints(_ instance: Object, _ names: String...) throws -> [Int] {
        try names.map { try int(Objects.getAttribute(instance, $0)) }
    }

    func note(_ instance: Object) -> String? {
        guard let v = rm_getattr(instance, "note") else { rm_error_clear(); return nil }
        return try? Objects.stringValue(v)
    }

    /// Pair i: a = i, b = 10000 + i. Triple i: also c = 20000 + i.
    func pairValues(_ i: Int) -> [Int] { [i, 10_000 + i] }
    func tripleValues(_ i: Int) -> [Int] { [i, 10_000 + i, 20_000 + i] }

    /// Loads the base layout with `count` Pairs and Triples.
    func loadBase() throws -> (pairs: Ref, triples: Ref) {
        try build(1)
        try loader.load("layout")
        return (try make(try loader.resolve("layout.Pair"), pairValues),
                try make(try loader.resolve("layout.Triple"), tripleValues))
    }

    /// A reload of `layout` after a collection: the walk also retypes dead
    /// instances not yet swept, which would make the counts drift.
    func reload(_ names: [String] = ["layout"]) throws -> ReloadReport {
        runtime.collect()
        return try loader.reload(names)
    }

    func line(_ report: ReloadReport, _ name: String) throws -> ReloadReport.ClassMigration {
        try XCTUnwrap(report.classes.first { $0.name == name }, "no line \(name) in \(report.classes)")
    }

    func classOf(_ instance: Object) -> UInt { UInt(bitPattern: instance.pointee.ob_type) }
}

final class ReloadLayoutTests: LayoutTestCase {

    /// Guards: an added field must read its default on every old instance,
    /// in place (a Pair has a spare slot) and moved (a Triple gaining two
    /// fields in front has no room), and an instance's attribute that is
    /// not a field must survive either way.
    func testAddedFieldsReadTheirDefaults() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            try build(2, "ADD")
            let report = try reload()
            for (i, p) in instances(pairs).enumerated() {
                XCTAssertEqual(try ints(p, "n", "a", "b"), [42] + pairValues(i), "Pair \(i)")
                XCTAssertEqual(note(p), i % Self.noteEvery == 0 ? "note \(i)" : nil, "Pair \(i)")
            }
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "n", "m", "a", "b", "c"), [42, 43] + tripleValues(i), "Triple \(i)")
                XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil, "Triple \(i)")
                XCTAssertEqual(try int(Objects.callMethod(t, "version")), 2)
            }
            let pair = try line(report, "layout.Pair"), triple = try line(report, "layout.Triple")
            let plain = Self.count - Self.count / Self.noteEvery
            XCTAssertEqual(pair.instances, Self.count)
            XCTAssertGreaterThanOrEqual(pair.inPlace, plain, "a Pair without attributes has room: \(pair)")
            XCTAssertEqual(pair.inPlace + pair.moved, Self.count)
            XCTAssertEqual(triple.instances, Self.count)
            XCTAssertEqual(triple.moved, Self.count, "a Triple has no room for two more fields: \(triple)")
            try runtime.checkHeap()
        }
    }

    /// Guards: a removed field must be gone from old instances (not a field,
    /// not a leftover attribute), its value must reach a 3-argument hook
    /// through the old-instance view, and adding it back in a later reload
    /// must give the default, not the stale value from before the removal.
    func testRemovedFieldIsGoneItsValueReachesTheHookAndReAddingGivesTheDefault() throws {
        try runtime.withLock {
            let (_, triples) = try loadBase()
            let log = try Ref(try loader.resolve("layout.log"))
            try build(2, "REMOVE")
            let report = try reload()
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "a", "c"), [i, 20_000 + i], "Triple \(i)")
                XCTAssertThrowsError(try Objects.getAttribute(t, "b"), "Triple \(i) has no b")
                XCTAssertEqual(rm_instance_slot_count(t), 2, "Triple \(i) stores two fields")
                XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil, "Triple \(i)")
            }
            // One log entry per hook call: (added, removed, old b).
            let entries = try logEntries(log)
            XCTAssertEqual(entries.count, Self.count)
            XCTAssertEqual(Set(entries.map(\.added)), [[]])
            XCTAssertEqual(Set(entries.map(\.removed)), [["b"]])
            XCTAssertEqual(Set(entries.map(\.b)), Set((0..<Self.count).map { 10_000 + $0 }), "the view read old b")
            XCTAssertEqual(try line(report, "layout.Triple").hooksRun, Self.count)

            try check(rm_list_clear(log.object))
            try build(3, "READD")
            _ = try reload()
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "a", "b", "c"), [i, 99, 20_000 + i], "Triple \(i): b is the default again")
            }
            // What reloadctl get prints: every field, the default b that
            // the instance does not store included (issue 20 item 9).
            let json = JSONValue(rendering: instances(triples)[1])
            XCTAssertEqual(json, .object(["class": .string("layout.Triple"),
                                          "fields": .object(["a": .int(1), "b": .int(99), "c": .int(20_001)])]))
            let again = try logEntries(log)
            XCTAssertEqual(again.count, Self.count)
            XCTAssertEqual(Set(again.map(\.added)), [["b"]])
            XCTAssertEqual(Set(again.map(\.removed)), [[]])
            XCTAssertEqual(Set(again.map(\.b)), [nil], "the view of the 2-field instance has no b")
            try runtime.checkHeap()
        }
    }

    /// Guards: a removed field that an instance keeps in its attribute dict
    /// (ADD moved the Triples: no room for b and c) must be gone as well,
    /// whether the next migration is in place or a move, and must not come
    /// back as the value of the field re-added later (READD: b at the end,
    /// left to its default).
    func testRemovedFieldHeldInTheAttributeDictIsGone() throws {
        try runtime.withLock {
            let (_, triples) = try loadBase()
            try build(2, "ADD")
            _ = try reload()
            XCTAssertTrue(instances(triples).allSatisfy { rm_instance_dict($0).map { rm_dict_get_str($0, "b") != nil } ?? false },
                          "after ADD every Triple keeps b in its attribute dict")
            try build(3, "REMOVE")
            _ = try reload()
            // (Counted, not asserted per instance: one line if it breaks.)
            let all = instances(triples)
            let withB = all.indices.filter { rm_getattr(all[$0], "b") != nil }
            rm_error_clear()
            XCTAssertEqual(withB.count, 0, "Triples still reading the removed b, first: \(withB.prefix(5))")
            for (i, t) in all.enumerated() {
                XCTAssertEqual(try ints(t, "a", "c"), [i, 20_000 + i], "Triple \(i)")
                XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil, "Triple \(i)")
            }
            try build(4, "READD")
            _ = try reload()
            let stale = try all.indices.filter { try ints(all[$0], "b") != [99] }
            XCTAssertEqual(stale.count, 0, "Triples whose re-added b is not the default 99, first: \(stale.prefix(5))")
            for (i, t) in all.enumerated() { XCTAssertEqual(try ints(t, "a", "c"), [i, 20_000 + i], "Triple \(i)") }
            try runtime.checkHeap()
        }
    }

    /// The entries the REMOVE and READD hooks appended to `log`.
    func logEntries(_ log: Ref) throws -> [(added: [String], removed: [String], b: Int?)] {
        func names(_ t: Object) throws -> [String] {
            try (0..<rm_tuple_size(t)).map { try Objects.stringValue(rm_tuple_get(t, $0)) }
        }
        return try instances(log).map { e in
            let b = rm_tuple_get(e, 2)!
            return (try names(rm_tuple_get(e, 0)), try names(rm_tuple_get(e, 1)), rm_is_none(b) ? nil : try int(b))
        }
    }

    /// Guards: reordered fields must keep their values by name, not by slot
    /// (the slots did move: slot 0 of a Triple now holds c).
    func testReorderedFieldsKeepTheirValuesByName() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            try build(2, "REORDER")
            let report = try reload()
            for (i, p) in instances(pairs).enumerated() {
                XCTAssertEqual(try ints(p, "a", "b"), pairValues(i), "Pair \(i)")
                XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(p, 0))), 10_000 + i, "Pair \(i): slot 0 is b")
            }
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "a", "b", "c"), tripleValues(i), "Triple \(i)")
                XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(t, 0))), 20_000 + i, "Triple \(i): slot 0 is c")
                XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil)
            }
            XCTAssertEqual(try line(report, "layout.Triple").inPlace, Self.count, "a permutation always fits")
            try runtime.checkHeap()
        }
    }

    /// Guards: a renamed field must keep its value under the new name, both
    /// for Pairs (in place) and for Triples that also gain two fields in
    /// front (no room: moved), and a second reload of the renamed version
    /// (old and new both call it bee) must keep it too.
    func testRenamedFieldKeepsItsValueInPlaceAndMoved() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            try build(2, "RENAME")
            let report = try reload()
            let triple = try line(report, "layout.Triple"), pair = try line(report, "layout.Pair")
            XCTAssertEqual(triple.moved, triple.instances, "\(triple)")
            XCTAssertEqual(triple.instances, Self.count)
            XCTAssertGreaterThanOrEqual(pair.inPlace, Self.count - Self.count / Self.noteEvery, "\(pair)")
            for generation in [2, 3] {
                if generation == 3 {
                    try build(3, "RENAME")
                    _ = try reload()
                }
                for (i, p) in instances(pairs).enumerated() {
                    XCTAssertEqual(try ints(p, "a", "bee"), pairValues(i), "gen \(generation) Pair \(i)")
                    XCTAssertThrowsError(try Objects.getAttribute(p, "b"), "gen \(generation) Pair \(i): b is gone")
                }
                for (i, t) in instances(triples).enumerated() {
                    XCTAssertEqual(try ints(t, "x", "y", "a", "bee", "c"), [7, 8] + tripleValues(i),
                                   "gen \(generation) Triple \(i)")
                    XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil)
                }
            }
            try runtime.checkHeap()
        }
    }

    /// Guards: an initializer must compute the added field from the old
    /// instance (reading b, which the new Triple removes), run exactly once
    /// per old instance, not run for instances made after the reload (they
    /// get the default), and a view kept past its call must fail cleanly
    /// when read, not crash or read stale values.
    func testInitializerComputesFromTheOldInstanceOncePerInstance() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            try build(2, "INIT")
            let report = try reload()
            for (i, p) in instances(pairs).enumerated() {
                XCTAssertEqual(try ints(p, "a", "b", "e"), pairValues(i) + [i + 10_000 + i], "Pair \(i)")
            }
            for (i, t) in instances(triples).enumerated() {
                XCTAssertEqual(try ints(t, "a", "c", "d"), [i, 20_000 + i, 1000 * i + 10_000 + i], "Triple \(i)")
                XCTAssertThrowsError(try Objects.getAttribute(t, "b"))
                XCTAssertEqual(note(t), i % Self.noteEvery == 0 ? "note \(i)" : nil)
            }
            func calls() throws -> [Int] {
                let list = try loader.call("layout.calls")
                return try (0..<4).map { try int(rm_list_get(list, $0)!) }
            }
            XCTAssertEqual(try calls(), [Self.count, Self.count, Self.count, Self.count], "[e, d, Pair hook, Triple hook]")
            XCTAssertEqual(try line(report, "layout.Pair").initialized, Self.count)
            XCTAssertEqual(try line(report, "layout.Triple").initialized, Self.count)

            let freshPair = try Objects.call(try loader.resolve("layout.Pair"), [try Objects.int(5), try Objects.int(6)])
            let freshTriple = try Objects.call(try loader.resolve("layout.Triple"), [try Objects.int(5), try Objects.int(6)])
            XCTAssertEqual(try ints(freshPair, "a", "b", "e"), [5, 6, -2], "a new Pair gets the default")
            XCTAssertEqual(try ints(freshTriple, "a", "c", "d"), [5, 6, -1], "a new Triple gets the default")
            XCTAssertEqual(try calls(), [Self.count, Self.count, Self.count, Self.count], "no initializer ran for them")

            let views = try loader.resolve("layout.views")
            XCTAssertEqual(rm_list_size(views), 1)
            let view = try XCTUnwrap(rm_list_get(views, 0))
            XCTAssertThrowsError(try Objects.getAttribute(view, "a")) { error in
                XCTAssertTrue("\(error)".contains("valid only during"), "\(error)")
            }
            XCTAssertThrowsError(try Objects.getAttribute(view, "b"), "nor a removed field")
            try runtime.checkHeap()
        }
    }

    /// Guards: a subclass defined at run time by a module that is not
    /// reloaded (layoutleaf's Sub of Pair) must migrate with its base: its
    /// own field s keeps its value, the inherited new field gets the
    /// default (ADD; 4 fields in a 3-slot block: the dict word) and then
    /// the base's initializer (INIT), which also runs on Sub instances.
    func testSubclassInAModuleNotReloadedMigratesWithItsBase() throws {
        try build(1)
        try folder.buildModule("layoutleaf", from: "layout.c", version: 1, defines: ["LEAF=1"])
        try runtime.withLock {
            try loader.load("layout")
            try loader.load("layoutleaf")
            let pair1 = try loader.resolve("layout.Pair")
            let sub = try Ref(try loader.call("layoutleaf.define", [pair1]))
            let oldSub = UInt(bitPattern: sub.object)
            let subs = try make(sub.object) { [$0, 10_000 + $0, 30_000 + $0] }

            try build(2, "ADD")
            let added = try reload()
            XCTAssertEqual(added.modules.map(\.name), ["layout"], "layoutleaf is not reloaded")
            XCTAssertNotEqual(UInt(bitPattern: sub.object), oldSub, "Sub was rebased: a new class")
            let pair2 = try loader.resolve("layout.Pair")
            for (i, s) in instances(subs).enumerated() {
                XCTAssertEqual(try ints(s, "n", "a", "b", "s"), [42, i, 10_000 + i, 30_000 + i], "Sub \(i)")
                XCTAssertEqual(classOf(s), UInt(bitPattern: sub.object))
                XCTAssertTrue(rm_is_instance_of(s, pair2))
                XCTAssertEqual(note(s), i % Self.noteEvery == 0 ? "note \(i)" : nil)
            }
            let line2 = try line(added, "layoutleaf.Sub")
            XCTAssertEqual(line2.instances, Self.count)
            XCTAssertEqual(line2.inPlace + line2.moved, Self.count)
            XCTAssertGreaterThanOrEqual(line2.inPlace, Self.count - Self.count / Self.noteEvery,
                                        "without attributes the dict word holds the 4th field: \(line2)")

            try build(3, "INIT")
            let initialized = try reload()
            for (i, s) in instances(subs).enumerated() {
                XCTAssertEqual(try ints(s, "a", "b", "e", "s"), [i, 10_000 + i, i + 10_000 + i, 30_000 + i], "Sub \(i)")
                XCTAssertThrowsError(try Objects.getAttribute(s, "n"), "n was removed")
            }
            let line3 = try line(initialized, "layoutleaf.Sub")
            XCTAssertEqual(line3.initialized, Self.count, "the base's initializer ran on each Sub")
            XCTAssertEqual(line3.hooksRun, Self.count, "and the base's hook")
            let fresh = try Objects.call(sub.object, [])
            XCTAssertEqual(try ints(fresh, "a", "b", "e", "s"), [1, 2, -2, 5])
            try runtime.checkHeap()
        }
    }

    /// Guards issue 20 item 9: a hook that set an attribute on every Pair
    /// made a dict for each, and the report said they were all "in place".
    /// Those are counted as given an attribute dict; the per-class times
    /// add up to at most the phase's.
    func testInstancesGivenADictByAHookAreCountedAsSuch() throws {
        try runtime.withLock {
            let (pairs, _) = try loadBase()
            let noted = (0..<Self.count).filter { $0 % Self.noteEvery == 0 }.count
            try build(2, "INIT", ["HOOK_SETS_ATTRIBUTE"])
            let report = try reload()
            let pair = try line(report, "layout.Pair")
            XCTAssertEqual(pair.inPlace + pair.moved + pair.givenDict, pair.instances, "\(pair)")
            XCTAssertEqual(pair.givenDict + noted, Self.count, "every Pair without a note was given a dict: \(pair)")
            for p in instances(pairs) { XCTAssertEqual(try Objects.getAttribute(p, "seen"), rm_get_true()) }
            let sum = report.classes.map(\.milliseconds).reduce(0, +)
            XCTAssertLessThanOrEqual(sum, report.phases.instances, "\(report.classes)")
            try runtime.checkHeap()
        }
    }

    /// Guards: the report's per-class lines must count what happened
    /// (instances, in place + moved, initializer and hook calls), leave out
    /// a replaced class without instances (Empty), and be encoded the way
    /// `reloadctl reload --json` prints them (snake_case keys).
    func testReportHasALinePerClassWithInstances() throws {
        try runtime.withLock {
            let (pairs, triples) = try loadBase()
            try build(2, "INIT")
            let report = try reload()
            XCTAssertEqual(rm_list_size(pairs.object) + rm_list_size(triples.object), 2 * Self.count, "kept alive")
            XCTAssertEqual(Set(report.classes.map(\.name)), ["layout.Pair", "layout.Triple"], "no line for Empty")
            for name in ["layout.Pair", "layout.Triple"] {
                let l = try line(report, name)
                XCTAssertEqual(l.instances, Self.count, name)
                XCTAssertEqual(l.inPlace + l.moved, l.instances, "\(name): every instance is on the new layout")
                XCTAssertEqual(l.initialized, l.instances, name)
                XCTAssertEqual(l.hooksRun, l.instances, name)
                XCTAssertEqual(l.givenDict, 0, name)
                XCTAssertLessThanOrEqual(l.milliseconds, report.phases.instances, "\(name): a part is at most the whole")
            }
            XCTAssertEqual(report.instancesMigrated, 2 * Self.count)
            XCTAssertEqual(report.fieldsInitialized, 2 * Self.count)
            XCTAssertEqual(report.instanceHooksRun, 2 * Self.count)

            let json = try JSONSerialization.jsonObject(with: ControlProtocol.encoder.encode(report)) as? [String: Any]
            let lines = try XCTUnwrap(json?["classes"] as? [[String: Any]], "\(String(describing: json))")
            XCTAssertEqual(lines.count, 2)
            let pair = try XCTUnwrap(lines.first { $0["name"] as? String == "layout.Pair" })
            XCTAssertEqual(Set(pair.keys), ["name", "instances", "in_place", "moved", "given_dict", "initialized",
                                            "hooks_run", "milliseconds"])
            XCTAssertEqual(pair["instances"] as? Int, Self.count)
            XCTAssertEqual(pair["hooks_run"] as? Int, Self.count)
            XCTAssertEqual((pair["in_place"] as? Int ?? -1) + (pair["moved"] as? Int ?? -1), Self.count)
        }
    }
}
