import CRemap
import Foundation
import Reload
import XCTest

/// Random struct layouts through random reloads (issue 21), beside a model
/// of every field's value built from what the test did, never read back:
/// each round derives a new struct from the last (fields removed, added
/// with random defaults, widened, narrowed, reordered, arrays resized),
/// generates its C module, reloads, and checks every instance against the
/// model; or makes the reload fail (a hook that scribbles over every
/// instance's bytes and fails half way, or a fault point) and checks that
/// every instance is byte for byte as before. Growing layouts move
/// instances; a narrowing must be refused.
final class StructStressTests: ModuleTestCase {
    enum Kind: String, CaseIterable {
        case i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, object

        var ctype: String {
            switch self {
            case .i8: "int8_t"
            case .i16: "int16_t"
            case .i32: "int32_t"
            case .i64: "int64_t"
            case .u8: "uint8_t"
            case .u16: "uint16_t"
            case .u32: "uint32_t"
            case .u64: "uint64_t"
            case .f32: "float"
            case .f64: "double"
            case .bool: "bool"
            case .object: "rm_object *"
            }
        }
        var rm: String { "RM_" + rawValue.uppercased() }
        var size: Int { [.i8, .u8, .bool].contains(self) ? 1 : [.i16, .u16].contains(self) ? 2 : [.i32, .u32, .f32].contains(self) ? 4 : 8 }
        var isSigned: Bool { [.i8, .i16, .i32, .i64].contains(self) }
        var isUnsigned: Bool { [.u8, .u16, .u32, .u64].contains(self) }
        var isInt: Bool { isSigned || isUnsigned }
        var isFloat: Bool { self == .f32 || self == .f64 }
        /// The range the test draws values from (u64 within int64).
        var range: ClosedRange<Int64> {
            switch self {
            case .i8: -128...127
            case .i16: -32768...32767
            case .i32: Int64(Int32.min)...Int64(Int32.max)
            case .u8: 0...255
            case .u16: 0...65535
            case .u32: 0...Int64(UInt32.max)
            case .u64: 0...Int64.max
            case .bool: 0...1
            default: Int64.min...Int64.max
            }
        }

        /// The reload's rule (struct_reload.c, docs/modules.md).
        func widens(to other: Kind) -> Bool {
            if self == other { return true }
            if isSigned && other.isSigned { return other.size > size }
            if isUnsigned && other.isInt { return other.size > size }
            if self == .f32 { return other == .f64 }
            if isInt && other == .f64 { return size <= 4 }
            if self == .bool { return other.isInt }
            return false
        }
    }

    enum Value: Equatable {
        case int(Int64)
        case float(Double)
        case object(Int) // index in the string pool; -1: None
    }

    struct Field {
        var name: String
        var kind: Kind
        var count: Int // 0: a scalar
        var defaultValue: Value
    }

    let names = (0..<8).map { "f\($0)" }
    /// splitmix64, seeded from REMAP_STRUCT_SEED or at random (printed).
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }
    let seed = UInt64(ProcessInfo.processInfo.environment["REMAP_STRUCT_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64(UInt32.max))
    lazy var rng = Seeded(state: seed)
    var strings: [Ref] = []

    func random(_ kind: Kind) -> Value {
        switch kind {
        case .f32: return .float(Double(Int.random(in: -4000...4000, using: &rng)) / 4)
        case .f64: return .float(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 8)
        case .object: return .object(Int.random(in: -1..<strings.count, using: &rng))
        default: return .int(Int64.random(in: kind.range, using: &rng))
        }
    }

    func zero(_ kind: Kind) -> Value { kind.isFloat ? .float(0) : kind == .object ? .object(-1) : .int(0) }

    /// The model's value of a kept field after a widening.
    func widened(_ v: Value, to kind: Kind) -> Value {
        if kind.isFloat, case .int(let i) = v { return .float(Double(i)) }
        return v
    }

    func cExpression(_ v: Value) -> String {
        switch v {
        case .int(let i): i == Int64.min ? "rm_int(INT64_MIN)" : "rm_int(\(i)LL)"
        case .float(let d): "rm_float(\(d))"
        case .object: "rm_get_none()"
        }
    }

    /// The module: struct S with `fields` in order, their defaults, and a
    /// __reload__ hook when asked (failing at its `failAt`-th call after
    /// overwriting the struct's bytes).
    func source(_ fields: [Field], hook: Bool, failAt: Int) -> String {
        var members = "", specs = "", defaults = "", scribble = ""
        for f in fields {
            // The failing hook's direct writes: every byte of every field but
            // the references (garbage there would be a bug of the module).
            if f.kind != .object { scribble += "    memset(&s->\(f.name), 0xab, sizeof s->\(f.name));\n" }
            members += "    \(f.kind.ctype) \(f.name)\(f.count > 0 ? "[\(f.count)]" : "");\n"
            specs += f.count > 0 ? "    RM_FIELD_ARRAY(S, \(f.name), \(f.kind.rm), \(f.count)),\n" : "    RM_FIELD(S, \(f.name), \(f.kind.rm)),\n"
            if f.kind != .object { defaults += "    if (rm_def_field_default(c, \"\(f.name)\", \(cExpression(f.defaultValue))) < 0) return -1;\n" }
        }
        return """
            #include <remap/module.h>
            #include <stdbool.h>
            #include <stddef.h>
            #include <string.h>
            RM_MODULE_ABI;
            typedef struct S {
                RM_INSTANCE_HEADER;
            \(members)} S;
            static const rm_field_spec fields[] = {
            \(specs)    RM_FIELDS_END,
            };
            static int calls;
            static rm_object *hook(rm_object *self, rm_object *const *args, size_t nargs) {
                if (\(failAt) == 0) return rm_get_none();
                /* Direct writes over the whole struct, then a failure. */
                S *s = RM_STRUCT(S, self);
            \(scribble)
                if (++calls == \(failAt)) { rm_error_set(RM_ERR_VALUE, "stress hook fails"); return NULL; }
                return rm_get_none();
            }
            int rm_module_init(rm_builder *m) {
                rm_object *c = rm_def_struct(m, "S", NULL, sizeof(S), fields);
                if (!c) return -1;
            \(defaults)    \(hook ? "if (rm_def_method(c, \"__reload__\", hook, 0) < 0) return -1;" : "")
                return 0;
            }
            """
    }

    /// What an instance's field reads, as a Value (an array: each element).
    func read(_ object: Object, _ f: Field) throws -> [Value] {
        let v = try Objects.getAttribute(object, f.name)
        let items = f.count > 0 ? (0..<rm_tuple_size(v)).map { rm_tuple_get(v, $0)! } : [v]
        return items.map { item in
            if rm_is_float(item) { return .float(rm_float_value(item)) }
            if rm_is_bool(item) { return .int(item == rm_get_true() ? 1 : 0) }
            if rm_is_int(item) { return .int(Int64((try? Objects.intValue(item)) ?? -999)) }
            if rm_is_none(item) { return .object(-1) }
            return .object(strings.firstIndex { $0.object == item } ?? -2)
        }
    }

    func write(_ object: Object, _ f: Field, _ values: [Value]) throws {
        func box(_ v: Value) throws -> Object {
            switch v {
            case .int(let i): return f.kind == .bool ? (i != 0 ? rm_get_true() : rm_get_false()) : try check(rm_int(i))
            case .float(let d): return try check(rm_float(d))
            case .object(let k): return k < 0 ? rm_get_none() : strings[k].object
            }
        }
        let value: Object
        if f.count > 0 {
            var items = try values.map { Optional(try box($0)) }
            value = try check(rm_tuple_of(items.count, &items))
        } else {
            value = try box(values[0])
        }
        try check(rm_setattr(object, f.name, value))
    }

    func bytes(_ object: Object) -> [UInt8] {
        let raw = UnsafeRawPointer(object)
        return (8..<rm_sizeof(object)).map { raw.load(fromByteOffset: $0, as: UInt8.self) }
    }

    /// The next layout: each field removed, widened, narrowed (refused),
    /// resized (arrays) or kept; new fields from the unused names; maybe
    /// reordered. Returns the fields and whether the reload must refuse.
    func mutate(_ fields: [Field]) -> ([Field], Bool) {
        var next: [Field] = [], refused = false
        for var f in fields {
            let roll = Int.random(in: 0..<100, using: &rng)
            if roll < 12 { continue }
            if roll < 35 {
                if let wider = Kind.allCases.filter({ $0 != f.kind && f.kind.widens(to: $0) }).randomElement(using: &rng) {
                    f.kind = wider
                }
            } else if roll < 37, let narrower = Kind.allCases.filter({ !f.kind.widens(to: $0) }).randomElement(using: &rng) {
                f.kind = narrower
                f.defaultValue = narrower == .object ? .object(-1) : random(narrower)
                refused = true
            } else if roll < 48 && f.count > 0 {
                f.count = Int.random(in: 1...6, using: &rng)
            }
            next.append(f)
        }
        // (A name removed in this round is not added back: it would be a kept field.)
        for name in names where !fields.contains(where: { $0.name == name }) && !next.contains(where: { $0.name == name })
            && Bool.random(using: &rng) {
            let kind = Kind.allCases.randomElement(using: &rng)!
            next.append(Field(name: name, kind: kind, count: Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 1...5, using: &rng) : 0,
                              defaultValue: kind == .object ? .object(-1) : random(kind)))
        }
        if next.isEmpty { next.append(Field(name: names[0], kind: .i64, count: 0, defaultValue: .int(1))) }
        if Bool.random(using: &rng) { next.shuffle(using: &rng) }
        return (next, refused)
    }

    func testRandomLayoutsAndRollbacks() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["REMAP_STRUCT_ROUNDS"] ?? "") ?? 30
        let count = 300
        print("struct stress: seed \(seed) (REMAP_STRUCT_SEED reruns it)")
        try runtime.withLock {
            strings = try (0..<5).map { try Ref(try Objects.string("s\($0)")) }
            var fields = mutate([]).0
            try folder.buildC("sstress", source(fields, hook: false, failAt: 0))
            try loader.load("sstress")
            let list = try Ref(try check(rm_list_new(count)))
            var model: [[String: [Value]]] = []
            for _ in 0..<count {
                let o = try Objects.call(try loader.resolve("sstress.S"), [])
                try check(rm_list_append(list.object, o))
                var values: [String: [Value]] = [:]
                for f in fields {
                    let v = (0..<max(f.count, 1)).map { _ in random(f.kind) }
                    try write(o, f, v)
                    values[f.name] = v
                }
                model.append(values)
            }
            var stats = (ok: 0, refused: 0, failed: 0, moved: 0)
            defer { FaultInjection.disarm() }
            for round in 0..<rounds {
                let (next, refused) = mutate(fields)
                let failure = refused ? 0 : Int.random(in: 0..<3, using: &rng) // 0 none, 1 hook, 2 fault point
                let failAt = failure == 1 ? Int.random(in: 1...count, using: &rng) : 0
                try folder.buildC("sstress", source(next, hook: failure == 1 || Bool.random(using: &rng), failAt: failAt))
                let before = (0..<count).map { bytes(rm_list_get(list.object, $0)!) }
                let addresses = (0..<count).map { rm_list_get(list.object, $0)! }
                runtime.collect()
                if failure == 2 {
                    FaultInjection.resetCounts()
                    try FaultInjection.arm(["remap", "publish", "alloc"].randomElement(using: &rng)!, occurrence: 1)
                }
                do {
                    let report = try loader.reload(["sstress"])
                    FaultInjection.disarm()
                    if refused || failure != 0 {
                        XCTFail("round \(round): the reload succeeded, refused \(refused) failure \(failure)")
                        return
                    }
                    stats.moved += report.classes.reduce(0) { $0 + $1.moved }
                } catch {
                    FaultInjection.disarm()
                    let message = "\(error)"
                    if refused {
                        XCTAssertTrue(message.contains("would lose values"), "round \(round): \(message)")
                        stats.refused += 1
                    } else if failure == 0 {
                        XCTFail("round \(round): \(message)")
                        return
                    } else {
                        stats.failed += 1
                    }
                    for i in 0..<count where rm_list_get(list.object, i)! != addresses[i] || bytes(addresses[i]) != before[i] {
                        XCTFail("""
                            round \(round): instance \(i) changed by a failed reload (\(message))
                            from \(fields.map { "\($0.name) \($0.kind)[\($0.count)]" })
                            to \(next.map { "\($0.name) \($0.kind)[\($0.count)]" })
                            before \(before[i].map { String(format: "%02x", $0) }.joined())
                             after \(bytes(addresses[i]).map { String(format: "%02x", $0) }.joined()) moved \(rm_list_get(list.object, i)! != addresses[i])
                            """)
                        return
                    }
                    try runtime.checkHeap()
                    continue
                }
                // The model follows the rules.
                for i in 0..<count {
                    var values: [String: [Value]] = [:]
                    for f in next {
                        if let old = fields.first(where: { $0.name == f.name }), let kept = model[i][f.name] {
                            var v = kept.map { widened($0, to: f.kind) }
                            if f.count > 0 {
                                v = Array(v.prefix(f.count))
                                while v.count < f.count { v.append(widened(f.defaultValue, to: f.kind)) }
                            }
                            _ = old
                            values[f.name] = v
                        } else {
                            values[f.name] = Array(repeating: f.kind == .object ? .object(-1) : widened(f.defaultValue, to: f.kind),
                                                   count: max(f.count, 1))
                        }
                    }
                    model[i] = values
                }
                fields = next
                stats.ok += 1
                for i in 0..<count {
                    let o = rm_list_get(list.object, i)!
                    for f in fields where try read(o, f) != model[i][f.name]! {
                        XCTFail("round \(round): instance \(i) field \(f.name) \(f.kind)[\(f.count)] reads \(try read(o, f)), model \(model[i][f.name]!)")
                        return
                    }
                    // Some new values through the dynamic API.
                    if let f = fields.randomElement(using: &rng), Int.random(in: 0..<4, using: &rng) == 0 {
                        let v = (0..<max(f.count, 1)).map { _ in random(f.kind) }
                        try write(o, f, v)
                        model[i][f.name] = v
                    }
                }
                try runtime.checkHeap()
            }
            print("struct stress: \(rounds) rounds, \(stats.ok) reloaded (\(stats.moved) instances moved), \(stats.refused) refused, \(stats.failed) rolled back")
        }
    }
}
