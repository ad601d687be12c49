// watch-bench: from an editor's save to the new code running, under
// `reloadctl run --watch`, against the compiler alone on the same file.
//
//   swift run -c release watch-bench [--saves N] [--bursts N] [--scenario NAME]
//                                    [--fast-build] [--compiler-options] [--raw]
//
// Each scenario runs a real host (the reloadctl built beside this
// executable) on a temporary copy of examples/particles, saves a source by
// writing a temporary file and renaming it over, and times from the rename
// until the new code answers a call through the control socket. In the same
// run, after each save, it times the compiler alone on the same file with
// the same flags. One JSON line per scenario: c-small, c-header, burst.
// swift-small is not run here: a Swift module compiles with the debug
// build's macro plugin (docs/swift-modules.md), which a release benchmark
// must not build; docs/benchmarks.md gives its save-to-running, measured
// under the same watcher by SwiftModuleTests.
// --compiler-options prints the compiler's own time with each option
// instead.
import Foundation
import Reload

func option(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

setvbuf(stdout, nil, _IOLBF, 0)
do {
    let here = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                   ?? CommandLine.arguments[0]).deletingLastPathComponent()
    let reloadctl = here.appendingPathComponent("reloadctl").path
    guard FileManager.default.isExecutableFile(atPath: reloadctl) else {
        throw BenchError("no reloadctl beside watch-bench: swift build -c release --product reloadctl")
    }
    let fastBuild = CommandLine.arguments.contains("--fast-build")
    var compiler = try ModuleCompiler()
    compiler.fastBuild = fastBuild
    if CommandLine.arguments.contains("--compiler-options") {
        try CompilerOptions(compiler: compiler, runs: max(1, Int(option("--saves", "11")) ?? 11)).run()
        exit(0)
    }
    let bench = Bench(reloadctl: reloadctl, saves: max(1, Int(option("--saves", "20")) ?? 20),
                      fastBuild: fastBuild, compiler: compiler, raw: CommandLine.arguments.contains("--raw"))
    let only = option("--scenario", "all")
    if only == "all" || only == "c-small" { try bench.cSmall() }
    if only == "all" || only == "c-header" {
        try bench.cHeader(parallel: ProcessInfo.processInfo.activeProcessorCount)
    }
    if only == "all" || only == "burst" { try bench.burst(bursts: max(1, Int(option("--bursts", "5")) ?? 5)) }
    if only == "all" || only == "swift-small" {
        emit([("scenario", quoted("swift-small")),
              ("skipped", quoted("a Swift module needs the debug build's macro plugin; see docs/benchmarks.md"))])
    }
} catch {
    FileHandle.standardError.write(Data("watch-bench: \(error)\n".utf8))
    exit(1)
}
