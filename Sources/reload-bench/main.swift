// reload-bench: end-to-end reload time of a native module with 20 classes and
// 100 functions while 1,000,000 instances of those classes are alive.
//
//   swift run -c release reload-bench [--instances N] [--reloads R]
//
// Prints one JSON line: the median of each phase over R reloads (v1 and v2
// of the module alternate, as successive saves of a file would).
import CRemap
import Foundation
import Reload

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

let instances = option("--instances", 1_000_000)
let reloads = option("--reloads", 11)

/// The module: 20 classes with 3 fields and 2 methods, 100 functions.
func moduleSource(version: Int) -> String {
    var body = ""
    for c in 0..<20 {
        body += """
            { rm_object *c = rm_def_class(m, "C\(c)", NULL);
              if (!c || rm_def_field(c, "a", NULL) < 0 || rm_def_field(c, "b", NULL) < 0 || rm_def_field(c, "c", NULL) < 0) return -1;
              if (rm_def_method(c, "get", answer, 0) < 0 || rm_def_method(c, "put", answer, 0) < 0) return -1; }

            """
    }
    for f in 0..<100 {
        body += "    if (!rm_def_function(m, \"f\(f)\", answer, 0)) return -1;\n"
    }
    return """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *answer(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(version)); }
        int rm_module_init(rm_module *m) {
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
    guard cc.terminationStatus == 0 else { throw RuntimeError(kind: .runtime, message: "cc failed for \(src)") }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

let dir = NSTemporaryDirectory() + "reload-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }
try build(moduleSource(version: 1), into: dir + "/v1.so")
try build(moduleSource(version: 2), into: dir + "/v2.so")
let live = dir + "/bench.so"
try FileManager.default.copyItem(atPath: dir + "/v1.so", toPath: live)

let runtime = Runtime.shared
let loader = ModuleLoader()
loader.addSearchPath(dir)
var reports: [ReloadReport] = []
try runtime.withLock {
    try loader.load("bench")
    // Instances of the 20 classes, each holding another instance, a module
    // function and None: what a program's live state looks like.
    let all = try Ref(rm_list_new(instances)!)
    let classes = try (0..<20).map { try loader.resolve("bench.C\($0)") }
    let functions = try (0..<100).map { try loader.resolve("bench.f\($0)") }
    var rng = SystemRandomNumberGenerator()
    for i in 0..<instances {
        let inst = rm_instance_alloc(classes[i % 20])!
        rm_instance_set_slot(inst, 1, functions[Int.random(in: 0..<100, using: &rng)])
        if i > 0 { rm_instance_set_slot(inst, 0, rm_list_get(all.object, Int.random(in: 0..<i, using: &rng))) }
        _ = rm_list_append(all.object, inst)
    }
    runtime.collect()
    for n in 0...reloads {
        try? FileManager.default.removeItem(atPath: live)
        try FileManager.default.copyItem(atPath: dir + (n % 2 == 0 ? "/v2.so" : "/v1.so"), toPath: live)
        let report = try loader.reload(["bench"])
        if n > 0 { reports.append(report) } // the first one warms up
        let expected = n % 2 == 0 ? 2 : 1
        let sample = rm_list_get(all.object, n)!
        guard try Objects.intValue(Objects.callMethod(sample, "get")) == expected else {
            fatalError("reload \(n): an old instance does not run the new code")
        }
    }
}

let measured = reports
func phase(_ key: KeyPath<ReloadReport.Phases, Double>) -> Double {
    (median(measured.map { $0.phases[keyPath: key] }) * 1000).rounded() / 1000
}

let line: [String: Any] = [
    "instances": instances,
    "reloads": measured.count,
    "classes": 20,
    "functions": 100,
    "reload_ms": phase(\.total),
    "close_libraries_ms": phase(\.closeLibraries),
    "load_ms": phase(\.load),
    "match_ms": phase(\.match),
    "module_hooks_ms": phase(\.moduleHooks),
    "remap_ms": phase(\.remap),
    "rehash_ms": phase(\.rehash),
    "instances_ms": phase(\.instances),
    "publish_ms": phase(\.publish),
    "slots_rewritten": measured.last?.slotsRewritten ?? 0,
    "objects_visited": measured.last?.objectsVisited ?? 0,
    "walk_threads": measured.last?.walkThreads ?? 0,
    "target_ms": 25,
]
let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
