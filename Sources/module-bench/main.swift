// module-bench: module code against CPython, in the same run.
//
//   swift run -c release module-bench [--particles N] [--rounds R] [--calls C]
//
// Builds workloads/bench.c as a native module and runs each workload in it,
// then runs workloads/bench.py (the same logic) with python3 if there is
// one. One JSON line per workload: nanoseconds per operation on each side
// (best of three) and CPython's time over ours.
//
// workloads/swiftbench.swift (plain_swift, swift_step, swift_method) is built
// with the macro plugin and RemapModule of a debug build, which this release
// build does not make (it never compiles swift-syntax): run
// `swift build --target RemapModule` once first, or those lines are skipped.
import CRemap
import Foundation
import Reload

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

let particles = option("--particles", 100_000)
let rounds = option("--rounds", 10)
let calls = option("--calls", 10_000_000)
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let root = here.deletingLastPathComponent().deletingLastPathComponent()
let workloads = here.appendingPathComponent("workloads")

func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

let dir = NSTemporaryDirectory() + "module-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: dir) }
let built = try run("cc", ["-shared", "-fPIC", "-O2", "-I", root.appendingPathComponent("include").path,
                           "-o", dir + "/bench.so", workloads.appendingPathComponent("bench.c").path])
guard built.status == 0 else { fatalError("cc failed on bench.c") }

// The Swift workloads: built as `reloadctl build` builds a module, with the
// macro plugin and RemapModule of the source tree's debug build (a release
// build of the benchmark does not build swift-syntax; scripts/bench.sh
// builds the debug kit first). Skipped, with a note, without it.
var swiftBuildSeconds: Double?
do {
    let compiler = try ModuleCompiler()
    if compiler.swiftKit != nil {
        let start = DispatchTime.now().uptimeNanoseconds
        try compiler.build(source: workloads.appendingPathComponent("swiftbench.swift").path, output: dir + "/swiftbench.so")
        swiftBuildSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } else {
        FileHandle.standardError.write(Data("module-bench: no RemapModule kit (swift build --target RemapModule): Swift workloads skipped\n".utf8))
    }
} catch {
    FileHandle.standardError.write(Data("module-bench: swiftbench.swift: \(error)\n".utf8))
}

/// Nanoseconds per operation, best of three, and the checksum.
func timed(_ loader: ModuleLoader, _ function: String, _ count: Int, ops: Int, module: String = "bench") throws -> (Double, Int) {
    var best = Double.infinity, checksum = 0
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        checksum = try Objects.intValue(loader.call("\(module).\(function)", [try Objects.int(count)]))
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
        best = min(best, ns / Double(ops))
    }
    return (best, checksum)
}

var ours: [String: (Double, Int)] = [:]
let loader = ModuleLoader()
loader.addSearchPath(dir)
try Runtime.shared.withLock {
    try loader.load("bench")
    _ = try loader.call("bench.make", [try Objects.int(particles)])
    Runtime.shared.collect()
    ours["particle_step"] = try timed(loader, "particle_step", rounds, ops: particles * rounds)
    ours["particle_step_fast"] = try timed(loader, "particle_step_fast", rounds, ops: particles * rounds)
    ours["getattr_int"] = try timed(loader, "getattr_int", rounds, ops: particles * rounds)
    ours["call"] = try timed(loader, "call", calls, ops: calls)
    ours["dict_str"] = try timed(loader, "dict_str", calls, ops: calls)
    ours["alloc"] = try timed(loader, "alloc", calls / 10, ops: calls / 10)
    // Struct classes (issue 21) beside plain C, same particles, same step.
    _ = try loader.call("bench.make_structs", [try Objects.int(particles)])
    _ = try loader.call("bench.make_plain", [try Objects.int(particles)])
    Runtime.shared.collect()
    ours["plain_c"] = try timed(loader, "plain_c", rounds, ops: particles * rounds)
    ours["struct_step"] = try timed(loader, "struct_step", rounds, ops: particles * rounds)
    ours["struct_method"] = try timed(loader, "struct_method", rounds, ops: particles * rounds)
    ours["struct_alloc"] = try timed(loader, "struct_alloc", calls / 10, ops: calls / 10)
    ours["malloc_alloc"] = try timed(loader, "malloc_alloc", calls / 10, ops: calls / 10)
    // Modules in Swift (issue 22): ordinary Swift beside @Reloadable.
    if swiftBuildSeconds != nil {
        try loader.load("swiftbench")
        _ = try loader.call("swiftbench.make", [try Objects.int(particles)])
        Runtime.shared.collect()
        for name in ["plain_swift", "plain_swift_unchecked", "swift_step", "swift_method"] {
            ours[name] = try timed(loader, name, rounds, ops: particles * rounds, module: "swiftbench")
        }
    }
}

// CPython, same sizes (alloc at a tenth, as above).
var theirs: [String: Double] = [:]
var python = "none"
if let out = try? run("python3", [workloads.appendingPathComponent("bench.py").path, "\(particles)", "\(rounds)", "\(calls)"]),
   out.status == 0, let data = out.output.data(using: .utf8),
   let json = try? JSONSerialization.jsonObject(with: data) as? [String: [Double]] {
    for (k, v) in json { theirs[k] = v[0] }
    python = (try? run("python3", ["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "python3"
}

/// The struct workloads are compared with CPython's same logic.
let cpythonName = ["plain_c": "particle_step", "struct_step": "particle_step", "struct_method": "particle_step",
                   "struct_alloc": "alloc", "plain_swift": "particle_step", "swift_step": "particle_step",
                   "swift_method": "particle_step", "plain_swift_unchecked": "particle_step"]
func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
for name in ["particle_step", "particle_step_fast", "getattr_int", "call", "dict_str", "alloc",
             "plain_c", "struct_step", "struct_method", "struct_alloc", "plain_swift", "plain_swift_unchecked", "swift_step", "swift_method"] {
    guard let (ns, checksum) = ours[name] else { continue }
    var line: [String: Any] = ["workload": name, "remap_ns": (ns * 10).rounded() / 10, "checksum": checksum,
                               "cpython": python]
    if name == "struct_step" || name == "struct_method" { line["vs_plain_c"] = round2(ns / ours["plain_c"]!.0) }
    if name == "swift_step" || name == "swift_method" {
        line["vs_plain_swift"] = round2(ns / ours["plain_swift"]!.0)
        line["vs_plain_swift_unchecked"] = round2(ns / ours["plain_swift_unchecked"]!.0)
        line["vs_plain_c"] = round2(ns / ours["plain_c"]!.0)
    }
    if name == "swift_step", let seconds = swiftBuildSeconds { line["module_build_s"] = round2(seconds) }
    if name == "struct_alloc" {
        let malloc = ours["malloc_alloc"]!.0
        line["malloc_ns"] = (malloc * 10).rounded() / 10
        line["vs_malloc"] = round2(ns / malloc)
        line["instances_per_second"] = (1e9 / ns).rounded()
    }
    if let c = theirs[cpythonName[name] ?? name] {
        line["cpython_ns"] = (c * 10).rounded() / 10
        line["speedup"] = (c / ns * 100).rounded() / 100
    }
    let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}
