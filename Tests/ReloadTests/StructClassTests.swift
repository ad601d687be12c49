import CRemap
import Foundation
@testable import Reload
import XCTest

/// Struct classes (issue 21) without a reload: module code's C struct and
/// the dynamic API see the same fields; object fields are references like
/// any slot. Fixture: Tests/Modules/structs.c. Reloads: StructReloadTests.
class StructTestCase: ModuleTestCase {
    func build(_ version: Int, _ variant: String? = nil, _ extra: [String] = []) throws {
        try folder.buildModule("structs", from: "structs.c", version: version,
                               defines: (variant.map { ["\($0)=1"] } ?? []) + extra)
    }

    func cls(_ name: String) throws -> Object { try loader.resolve("structs.\(name)") }

    func get(_ object: Object, _ name: String) throws -> Object { try Objects.getAttribute(object, name) }

    func int(_ object: Object, _ name: String) throws -> Int { try Objects.intValue(get(object, name)) }

    func double(_ object: Object, _ name: String) throws -> Double {
        let v = try get(object, name)
        return rm_is_float(v) ? rm_float_value(v) : Double(try Objects.intValue(v))
    }

    func set(_ object: Object, _ name: String, _ value: Object) throws { try check(rm_setattr(object, name, value)) }

    /// The bytes of an instance's struct, past the header's type slot.
    func bytes(_ object: Object) -> [UInt8] {
        let size = rm_sizeof(object)
        let raw = UnsafeRawPointer(object)
        return (8..<size).map { raw.load(fromByteOffset: $0, as: UInt8.self) }
    }

    /// `count` Particles, Particle(i, 10 + i), in one heap list.
    func particles(_ count: Int) throws -> Ref {
        let list = try Ref(try check(rm_list_new(count)))
        let cls = try cls("Particle")
        for i in 0..<count {
            try check(rm_list_append(list.object, try Objects.call(cls, [try Objects.int(i), try Objects.int(10 + i)])))
        }
        return list
    }

    func items(_ list: Ref) -> [Object] { (0..<rm_list_size(list.object)).map { rm_list_get(list.object, $0)! } }
}

final class StructClassTests: StructTestCase {

    /// Guards: a new instance starts zero-filled with its defaults, then
    /// __init__ runs (it writes the struct directly); getattr boxes every
    /// kind, an array reads as a tuple; C code reads what setattr wrote.
    func testNewInstancesAndTheDynamicView() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(3)
            let p = items(list)[2]
            XCTAssertEqual(try int(p, "x"), 2)
            XCTAssertEqual(try int(p, "v"), 12)
            XCTAssertEqual(try double(p, "mass"), 1.0, "the default")
            let pos = try get(p, "pos")
            XCTAssertTrue(rm_is_tuple(pos))
            XCTAssertEqual((0..<rm_tuple_size(pos)).map { rm_float_value(rm_tuple_get(pos, $0)) }, [2, 3, 4])
            XCTAssertTrue(rm_is_none(try get(p, "owner")))
            try set(p, "x", try Objects.int(5000))
            XCTAssertEqual(try int(Objects.call(try loader.resolve("structs.sum_x"), [list.object])), 0 + 1 + 5000)
            _ = try Objects.callMethod(p, "step")
            XCTAssertEqual(try int(p, "x"), 5012, "the method wrote p->x")
            try set(p, "pos", try check(rm_tuple_of(3, [try Objects.int(7), rm_float(0.5), try Objects.int(-1)])))
            let pos2 = try get(p, "pos")
            XCTAssertEqual((0..<3).map { rm_float_value(rm_tuple_get(pos2, $0)) }, [7, 0.5, -1])
            XCTAssertEqual(rm_instance_slot_count(p), 0, "no slots")
            XCTAssertNil(rm_instance_dict(p), "no attribute dict")
            XCTAssertEqual(rm_setattr(p, "note", try Objects.string("x")), -1, "a struct instance has only its fields")
            rm_error_clear()
            try runtime.checkHeap()
        }
    }

    /// Guards: every kind reads back what was written, at its limits.
    func testEveryKindRoundTrips() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let k = try Objects.call(try cls("Kinds"), [])
            let cases: [(String, Int)] = [("a8", -128), ("a8", 127), ("a16", -32768), ("a16", 32767),
                                          ("a32", Int(Int32.min)), ("a32", Int(Int32.max)), ("a64", Int.min),
                                          ("a64", Int.max), ("b8", 255), ("b16", 65535), ("b32", Int(UInt32.max)),
                                          ("b64", Int.max), ("b8", 0)]
            for (name, value) in cases {
                try set(k, name, try Objects.int(value))
                XCTAssertEqual(try int(k, name), value, name)
            }
            try set(k, "f", rm_float(1.5))
            XCTAssertEqual(try double(k, "f"), 1.5)
            try set(k, "d", try Objects.int(3))
            XCTAssertEqual(try double(k, "d"), 3.0, "an int converts to a float")
            try set(k, "flag", rm_get_true())
            XCTAssertEqual(try get(k, "flag"), rm_get_true())
            let obj = try Objects.string("held")
            try set(k, "obj", obj)
            XCTAssertEqual(try get(k, "obj"), obj)
            try set(k, "obj", rm_get_none())
            XCTAssertTrue(rm_is_none(try get(k, "obj")))
            try runtime.checkHeap()
        }
    }

    /// Guards: a dynamic write out of range or of the wrong type fails with
    /// a message naming the field, and writes nothing (the struct's bytes are
    /// the same); an array takes only its length.
    func testDynamicWritesAreRefusedOutOfRange() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let k = try Objects.call(try cls("Kinds"), [])
            try set(k, "a8", try Objects.int(5))
            let refused: [(String, Object)] = [("a8", try Objects.int(128)), ("a8", try Objects.int(-129)),
                                               ("a16", try Objects.int(40000)), ("a32", try Objects.int(1 << 40)),
                                               ("b8", try Objects.int(-1)), ("b8", try Objects.int(256)),
                                               ("b16", try Objects.int(70000)), ("b32", try Objects.int(-5)),
                                               ("b64", try Objects.int(-1)), ("f", rm_float(1e300)),
                                               ("flag", try Objects.int(2)), ("a64", try Objects.string("7")),
                                               ("d", try Objects.string("x")), ("flag", rm_float(1))]
            for (name, value) in refused {
                let before = bytes(k)
                XCTAssertEqual(rm_setattr(k, name, value), -1, "\(name) = \(Objects.describe(value))")
                let message = String(cString: rm_error_message())
                XCTAssertTrue(message.contains("Kinds.\(name)"), message)
                rm_error_clear()
                XCTAssertEqual(bytes(k), before, "nothing written for \(name)")
            }
            let a = try Objects.call(try cls("Arr"), [])
            let before = bytes(a)
            XCTAssertEqual(rm_setattr(a, "vals", try check(rm_tuple_of(2, [try Objects.int(1), try Objects.int(2)]))), -1)
            rm_error_clear()
            XCTAssertEqual(rm_setattr(a, "vals", try check(rm_tuple_of(4, [try Objects.int(1), try Objects.int(2),
                                                                            try Objects.int(3), try Objects.int(1 << 40)]))), -1)
            rm_error_clear()
            XCTAssertEqual(bytes(a), before, "no element written")
            XCTAssertEqual(try Objects.intValue(rm_tuple_get(try get(a, "vals"), 3)), 9, "the default")
        }
    }

    /// Guards: an object field is traced: the only reference to a list,
    /// through a collection, keeps it and its contents; the checker and
    /// the referrer search see the slot.
    func testAnObjectFieldIsTheOnlyReferenceAcrossACollection() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let list = try particles(1)
            let p = items(list)[0]
            do {
                let target = try check(rm_list_new(0))
                try check(rm_list_append(target, try Objects.string("kept by a struct field")))
                try set(p, "owner", target)
            }
            for _ in 0..<3 { runtime.collect() }
            let owner = try get(p, "owner")
            XCTAssertTrue(rm_is_list(owner))
            XCTAssertEqual(try Objects.stringValue(rm_list_get(owner, 0)), "kept by a struct field")
            var handles = 0
            let referrers = try check(rm_referrers(owner, &handles))
            XCTAssertEqual(rm_list_size(referrers), 1)
            XCTAssertEqual(rm_list_get(referrers, 0), p)
            try runtime.checkHeap()
        }
    }

    /// Guards: an object default of a struct field is a reference of its
    /// class: the referrer search finds the class, and the checker sees
    /// the slot (it lives in the field table, outside the class object).
    func testAnObjectDefaultIsAReferenceOfItsClass() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let particle = try cls("Particle")
            let target = try check(rm_list_new(0))
            try check(rm_def_field_default(particle, "owner", target))
            for _ in 0..<2 { runtime.collect() }
            var handles = 0
            let referrers = try check(rm_referrers(target, &handles))
            let found = (0..<rm_list_size(referrers)).map { rm_list_get(referrers, $0)! }
            // The class (its initial bytes) and its defaults tuple (what
            // the dynamic API lists).
            XCTAssertEqual(found.count, 2)
            XCTAssertTrue(found.contains(particle))
            try runtime.checkHeap()
            let fresh = try check(rm_instance_alloc(particle))
            XCTAssertEqual(try get(fresh, "owner"), target, "new instances start with the default")
        }
    }

    /// Guards: a class cannot derive from a struct class; a struct class
    /// cannot derive from a class; bad field tables are refused.
    func testDerivationRules() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            XCTAssertNil(rm_class_new("C", try cls("Particle"), nil))
            XCTAssertTrue(String(cString: rm_error_message()).contains("cannot derive from struct class"))
            rm_error_clear()
            XCTAssertTrue(rm_is_struct_class(try cls("Particle")))
            XCTAssertNil(rm_struct_cast(try cls("Kinds"), items(try particles(1))[0]))
            XCTAssertTrue(String(cString: rm_error_message()).contains("expected a Kinds instance"))
            rm_error_clear()
        }
    }

    /// Guards: a plain remap (no reload) cannot retype struct instances to a
    /// class laid out otherwise: it would not convert them.
    func testPlainRemapRefusesADifferentLayout() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let p = try Ref(items(try particles(1))[0])
            let mapping = try XCTUnwrap(rm_mapping_new())
            defer { rm_mapping_free(mapping) }
            try check(rm_mapping_add(mapping, try cls("Particle"), try cls("Kinds")))
            var report = rm_remap_report()
            defer { rm_report_clear(&report) }
            XCTAssertEqual(rm_remap(mapping, &report), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("layouts differ"), String(cString: rm_error_message()))
            rm_error_clear()
            XCTAssertEqual(try int(p.object, "x"), 0, "untouched")
            try runtime.checkHeap()
        }
    }

    /// Guards: the JSON rendering shows every field of a struct instance.
    func testJSONRendering() throws {
        try runtime.withLock {
            try build(1)
            try loader.load("structs")
            let p = items(try particles(2))[1]
            let json = JSONValue(rendering: p)
            guard case .object(let top) = json, case .object(let fields)? = top["fields"] else {
                return XCTFail("\(json)")
            }
            XCTAssertEqual(top["class"], .string("structs.Particle"))
            XCTAssertEqual(fields["x"], .int(1))
            XCTAssertEqual(fields["v"], .int(11))
            XCTAssertEqual(fields["mass"], .float(1.0))
            XCTAssertEqual(fields["owner"], .null)
            XCTAssertEqual(Set(fields.keys), ["x", "v", "mass", "pos", "owner"])
        }
    }
}
