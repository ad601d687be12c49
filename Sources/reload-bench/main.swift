// reload-bench: end-to-end reload time of a native module with 20 classes and
// 100 functions while 1,000,000 instances of those classes are alive.
//
//   swift run -c release reload-bench [--instances N] [--reloads R] [--scenario NAME]
//
// Each scenario alternates two versions of the module, A and B, as an edit
// and its undo would: the A -> B reloads are the scenario's change, the
// B -> A ones its inverse. One JSON line per scenario: the median of each
// phase over the R forward reloads (after one warm-up pair), the median of
// the backward ones, the peak memory a reload added, and the target.
// The struct-* scenarios (issue 21) do the same with 20 struct classes:
// each instance holds another instance and a module function in object
// fields beside its int fields.
import CRemap
import Foundation
import Reload

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

let instances = Int(option("--instances", "1000000")) ?? 1_000_000
let reloads = max(1, Int(option("--reloads", "11")) ?? 11)
let only = option("--scenario", "all")
let classCount = 20, functionCount = 100

/// A class's fields in one version: name, default (a C expression), the old
/// name it was renamed from, whether an initializer computes it.
struct Field {
    var name: String
    var value = "rm_get_none()"
    var renamedFrom: String? = nil
    var initialized = false
}

struct Scenario {
    var name: String
    var a: [Field]
    var b: [Field]
    var targetMs: Double
    /// Struct classes instead: the fields of versions A and B.
    var structA: [StructField] = []
    var structB: [StructField] = []
    var isStruct: Bool { !structA.isEmpty }
}

/// A struct class's field: name, C type, kind; an initializer reading the
/// old instance's field of the same name (so B -> A may narrow it back).
struct StructField {
    var name: String
    var type = "int64_t"
    var kind = "RM_I64"
    var initialized = false
}

let abc = [Field(name: "a"), Field(name: "b"), Field(name: "c")]
let scenarios = [
    Scenario(name: "same-layout", a: abc, b: abc, targetMs: 15),
    Scenario(name: "add-field", a: abc, b: abc + [Field(name: "d", value: "rm_int(7)")], targetMs: 25),
    Scenario(name: "remove-field", a: abc, b: [abc[0], abc[2]], targetMs: 25),
    Scenario(name: "reorder-fields", a: abc, b: [abc[2], abc[0], abc[1]], targetMs: 25),
    Scenario(name: "rename-field", a: [abc[0], abc[1], Field(name: "c", renamedFrom: "z")],
             b: [abc[0], abc[1], Field(name: "z", renamedFrom: "c")], targetMs: 25),
    Scenario(name: "add-field-init", a: abc, b: abc + [Field(name: "d", initialized: true)], targetMs: 40),
]
/// A 48-byte struct (allocated 64: see RM_STRUCT_ROOM): a, b, next, fn.
let sabc = [StructField(name: "a"), StructField(name: "b", type: "int32_t", kind: "RM_I32"),
            StructField(name: "next", type: "rm_object *", kind: "RM_OBJECT"),
            StructField(name: "fn", type: "rm_object *", kind: "RM_OBJECT")]
let structScenarios = [
    Scenario(name: "struct-same-layout", a: [], b: [], targetMs: 15, structA: sabc, structB: sabc),
    Scenario(name: "struct-add-field", a: [], b: [], targetMs: 25, structA: sabc, structB: sabc + [StructField(name: "d")]),
    Scenario(name: "struct-grow", a: [], b: [], targetMs: 100, structA: sabc,
             structB: sabc + [StructField(name: "d"), StructField(name: "e"), StructField(name: "f")]),
    Scenario(name: "struct-widen", a: [], b: [], targetMs: 40,
             structA: [sabc[0], StructField(name: "b", type: "int32_t", kind: "RM_I32", initialized: true), sabc[2], sabc[3]],
             structB: [sabc[0], StructField(name: "b"), sabc[2], sabc[3]]),
]

/// The module with 20 struct classes instead of classes.
func structModuleSource(_ fields: [StructField], version: Int) -> String {
    let members = fields.map { "    \($0.type) \($0.name);\n" }.joined()
    let specs = fields.map { "    RM_FIELD(S, \($0.name), \($0.kind)),\n" }.joined()
    var body = ""
    for c in 0..<classCount {
        body += "    { rm_object *c = rm_def_struct(m, \"C\(c)\", NULL, sizeof(S), fields);\n      if (!c) return -1;\n"
        for f in fields where f.initialized {
            body += "      if (rm_def_field_init(c, \"\(f.name)\", from_old) < 0) return -1;\n"
        }
        body += "      if (rm_def_method(c, \"get\", answer, 0) < 0 || rm_def_method(c, \"put\", answer, 0) < 0) return -1; }\n"
    }
    for f in 0..<functionCount {
        body += "    if (!rm_def_function(m, \"f\(f)\", answer, 0)) return -1;\n"
    }
    return """
        #include <remap/module.h>
        #include <stddef.h>
        RM_MODULE_ABI;
        typedef struct S {
            RM_INSTANCE_HEADER;
        \(members)} S;
        static const rm_field_spec fields[] = {
        \(specs)    RM_FIELDS_END,
        };
        static rm_object *name_b; /* interned: kept in a static safely */
        static rm_object *answer(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        static rm_object *from_old(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_getattr_name(args[0], name_b);
        }
        int rm_module_init(rm_builder *m) {
            if (!name_b && !(name_b = rm_name("b"))) return -1;
        \(body)    return 0;
        }
        """
}

/// The module's C source: 20 classes with `fields` and 2 methods, 100
/// functions, all answering `version`. The initializer reads the old
/// instance's field b (a module function) through a name made once.
func moduleSource(_ fields: [Field], version: Int) -> String {
    var body = ""
    for c in 0..<classCount {
        body += "    { rm_object *c = rm_def_class(m, \"C\(c)\", NULL);\n      if (!c) return -1;\n"
        for f in fields {
            body += "      if (rm_def_field(c, \"\(f.name)\", \(f.value)) < 0) return -1;\n"
            if let from = f.renamedFrom { body += "      if (rm_def_field_renamed(c, \"\(f.name)\", \"\(from)\") < 0) return -1;\n" }
            if f.initialized { body += "      if (rm_def_field_init(c, \"\(f.name)\", from_b) < 0) return -1;\n" }
        }
        body += "      if (rm_def_method(c, \"get\", answer, 0) < 0 || rm_def_method(c, \"put\", answer, 0) < 0) return -1; }\n"
    }
    for f in 0..<functionCount {
        body += "    if (!rm_def_function(m, \"f\(f)\", answer, 0)) return -1;\n"
    }
    return """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *name_b; /* interned: kept in a static safely */
        static rm_object *answer(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        static rm_object *from_b(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_getattr_name(args[0], name_b);
        }
        int rm_module_init(rm_builder *m) {
            if (!name_b && !(name_b = rm_name("b"))) return -1;
        \(body)    return 0;
        }
        """
}

func build(_ source: String, into path: String) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let src = path + ".c"
    try source.write(toFile: src, atomically: true, encoding: .utf8)
    let cc = Process()
    cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
    cc.arguments = ["-shared", "-fPIC", "-O2", "-I", root.appendingPathComponent("include").path, "-o", path, src]
    try cc.run()
    cc.waitUntilExit()
    guard cc.terminationStatus == 0 else { throw RemapError(kind: .runtime, message: "cc failed for \(src)") }
}

/// A fast seeded generator: the system one costs a system call per number,
/// which made building 10^7 instances take minutes.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

/// Kilobytes of one /proc/self/status line (VmRSS, VmHWM).
func statusKB(_ key: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }
    return 0
}

/// Resets the peak-RSS mark (Linux: "5" to clear_refs), so VmHWM after a
/// reload is that reload's peak.
func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }

let dir = NSTemporaryDirectory() + "reload-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }
let runtime = Runtime.shared

for (number, scenario) in (scenarios + structScenarios).enumerated() where only == "all" || only == scenario.name {
    let module = "bench\(number)"
    if scenario.isStruct {
        try build(structModuleSource(scenario.structA, version: 1), into: "\(dir)/\(module)-a.so")
        try build(structModuleSource(scenario.structB, version: 2), into: "\(dir)/\(module)-b.so")
    } else {
        try build(moduleSource(scenario.a, version: 1), into: "\(dir)/\(module)-a.so")
        try build(moduleSource(scenario.b, version: 2), into: "\(dir)/\(module)-b.so")
    }
    let live = "\(dir)/\(module).so"
    try? FileManager.default.removeItem(atPath: live)
    try FileManager.default.copyItem(atPath: "\(dir)/\(module)-a.so", toPath: live)
    let loader = ModuleLoader()
    loader.addSearchPath(dir)
    var forward: [ReloadReport] = [], backward: [ReloadReport] = []
    var peakKB: [Int] = []
    var firstPeakKB = 0
    try runtime.withLock {
        try loader.load(module)
        // Instances of the 20 classes, each holding another instance, a
        // module function and None: what a program's live state looks like.
        let all = try Ref(rm_list_new(instances)!)
        var rng = SplitMix(seed: 42)
        func populate() throws {
        // The current version's classes and functions (held by the module).
        let classes = try (0..<classCount).map { try loader.resolve("\(module).C\($0)") }
        let functions = try (0..<functionCount).map { try loader.resolve("\(module).f\($0)") }
        for i in 0..<instances {
            let inst = rm_instance_alloc(classes[i % classCount])!
            let function = functions[Int.random(in: 0..<functionCount, using: &rng)]
            let next = i > 0 ? rm_list_get(all.object, Int.random(in: 0..<i, using: &rng)) : nil
            if scenario.isStruct {
                _ = rm_setattr(inst, "fn", function)
                if let next { _ = rm_setattr(inst, "next", next) }
                // a and b written as module code writes them (p->a, p->b):
                // through rm_setattr, a boxed int per instance would be
                // allocated between the instances, spreading them out.
                let raw = UnsafeMutableRawPointer(inst)
                raw.storeBytes(of: Int64(i), toByteOffset: 16, as: Int64.self)
                raw.storeBytes(of: Int32(i % 1000), toByteOffset: 24, as: Int32.self)
            } else {
                rm_instance_set_slot(inst, 1, function)
                if let next { rm_instance_set_slot(inst, 0, next) }
            }
            _ = rm_list_append(all.object, inst)
        }
        }
        try populate()
        runtime.collect()
        for n in 0..<(2 * (reloads + 1)) {
            let toB = n % 2 == 0
            if scenario.name == "struct-grow" && toB && n > 0 {
                // A moved instance keeps its larger allocation: only fresh
                // instances must move again.
                _ = rm_list_clear(all.object) // a stale stack word must not keep the old ones
                runtime.collect()
                try populate()
                runtime.collect()
            }
            try? FileManager.default.removeItem(atPath: live)
            try FileManager.default.copyItem(atPath: "\(dir)/\(module)-\(toB ? "b" : "a").so", toPath: live)
            let rssBefore = statusKB("VmRSS")
            resetPeak()
            let report = try loader.reload([module])
            let peak = statusKB("VmHWM") - rssBefore
            if n == 0 { firstPeakKB = peak } // buffers the later reloads reuse
            if n >= 2 { // the first pair warms up
                if toB { forward.append(report); peakKB.append(peak) } else { backward.append(report) }
            }
            let sample = rm_list_get(all.object, n)!
            guard try Objects.intValue(Objects.callMethod(sample, "get")) == (toB ? 2 : 1) else {
                fatalError("\(scenario.name) reload \(n): an old instance does not run the new code")
            }
            if scenario.isStruct {
                guard try Objects.intValue(Objects.getAttribute(sample, "a")) == n,
                      try Objects.intValue(Objects.getAttribute(sample, "b")) == n % 1000 else {
                    fatalError("\(scenario.name) reload \(n): a struct instance lost its values")
                }
            }
            if scenario.name == "add-field-init" && toB {
                guard try Objects.getAttribute(sample, "d") == Objects.getAttribute(sample, "b") else {
                    fatalError("add-field-init: the initializer's value is not there")
                }
            }
        }
        // This scenario's instances go before the next one makes its own.
        all.object = Objects.none
        runtime.collect()
    }

    func phase(_ reports: [ReloadReport], _ key: KeyPath<ReloadReport.Phases, Double>) -> Double {
        rounded(median(reports.map { $0.phases[keyPath: key] }))
    }
    let last = forward.last!
    let perClass = last.classes
    var line: [String: Any] = [
        "scenario": scenario.name,
        "instances": instances,
        "reloads": forward.count,
        "classes": classCount,
        "functions": functionCount,
        "reload_ms": phase(forward, \.total),
        "back_reload_ms": phase(backward, \.total),
        "peak_extra_mb": rounded(median(peakKB.map(Double.init)) / 1024),
        "first_peak_extra_mb": rounded(Double(firstPeakKB) / 1024),
        "objects_visited": last.objectsVisited,
        "instances_migrated": last.instancesMigrated,
        "in_place": perClass.reduce(0) { $0 + $1.inPlace },
        "moved": perClass.reduce(0) { $0 + $1.moved },
        "initialized": last.fieldsInitialized,
        "walk_threads": last.walkThreads,
        "target_ms": scenario.targetMs,
    ]
    // Each phase as NAME_ms, by the names the report spells (Phases.named).
    for (i, named) in forward[0].phases.named.enumerated() {
        line["\(named.name)_ms"] = rounded(median(forward.map { $0.phases.named[i].milliseconds }))
    }
    let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
    fflush(nil)
}
