import Foundation
import Reload

#if canImport(Glibc)
import Glibc
#endif

/// The compiler's own time on examples/particles with each option a user
/// could pick (`--fast-build`, `$CFLAGS`, `$CC`): what -O2 and -g cost, a
/// precompiled remap/module.h, another compiler, ccache when installed.
/// Nothing here changes what reloadctl compiles with.
struct CompilerOptions {
    var compiler: ModuleCompiler
    var runs: Int

    /// Runs `command` once; its wall time and the CPU time (user + system)
    /// of it and its children (cc1, as, ld), in ms. The CPU time is what
    /// the compiler costs whatever else the machine runs.
    func time(_ command: [String]) throws -> (wall: Double, cpu: Double) {
        func childrenCPU() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &usage)
            func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
            return ms(usage.ru_utime) + ms(usage.ru_stime)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let cpu = childrenCPU()
        let start = nowMs()
        try process.run()
        process.waitUntilExit()
        let wall = nowMs() - start
        guard process.terminationStatus == 0 else { throw BenchError("failed: \(command.joined(separator: " "))") }
        return (wall, childrenCPU() - cpu)
    }

    func run() throws {
        let workspace = try Workspace(name: "options")
        defer { workspace.remove() }
        let source = workspace.folder + "/particles.c"
        try Workspace.particles(version: "1").write(toFile: source, atomically: true, encoding: .utf8)
        let include = compiler.includeDirectory
        let output = workspace.scratch + "/particles.so"
        let cc = ModuleCompiler.words(compiler.compiler)
        func command(_ cc: [String], _ flags: [String], extraInclude: [String] = []) -> [String] {
            cc + ["-shared", "-fPIC"] + flags + extraInclude + ["-I", include, "-o", output, source]
        }
        var configs: [(String, [String], [String])] = [
            ("default", cc, ["-O2", "-g"]),
            ("no -g", cc, ["-O2"]),
            ("-O1 -g", cc, ["-O1", "-g"]),
            ("-O1", cc, ["-O1"]),
            ("-O0 -g", cc, ["-O0", "-g"]),
            ("--fast-build", cc, ModuleCompiler.fastBuildFlags),
        ]
        // A precompiled remap/module.h, found before the header itself
        // because its folder comes first in the search path.
        let pch = workspace.scratch + "/pch"
        try FileManager.default.createDirectory(atPath: pch + "/remap", withIntermediateDirectories: true)
        let precompile = cc + ["-fPIC", "-O2", "-g", "-I", include, "-x", "c-header", include + "/remap/module.h",
                               "-o", pch + "/remap/module.h.gch"]
        if (try? time(precompile)) != nil {
            configs.append(("default, precompiled module.h", cc, ["-O2", "-g", "-Winvalid-pch", "-I", pch]))
        }
        for other in ["clang", "ccache"] where which(other) != nil && !cc.contains(other) {
            let wrapped = other == "ccache" ? ["ccache"] + cc : [other]
            configs.append(("\(other) default", wrapped, ["-O2", "-g"]))
            configs.append(("\(other) --fast-build", wrapped, ModuleCompiler.fastBuildFlags))
        }
        // Round robin, one warm-up round first: a machine that gets busier
        // during the run slows every option alike.
        var wall = Array(repeating: [Double](), count: configs.count)
        var cpu = wall
        for round in 0...runs {
            for (index, (_, cc, flags)) in configs.enumerated() {
                let measured = try time(command(cc, flags))
                if round > 0 {
                    wall[index].append(measured.wall)
                    cpu[index].append(measured.cpu)
                }
            }
        }
        for (index, (name, cc, flags)) in configs.enumerated() {
            emit([("scenario", quoted("compiler-options")), ("option", quoted(name)),
                  ("command", quoted((cc + flags).joined(separator: " "))), ("runs", "\(runs)"),
                  ("compiler_ms", Summary(wall[index]).json), ("cpu_ms", Summary(cpu[index]).json)])
        }
        let missing = ["clang", "ccache"].filter { which($0) == nil }
        if !missing.isEmpty {
            emit([("scenario", quoted("compiler-options")), ("skipped", quoted(missing.joined(separator: ", ") + ": not installed"))])
        }
    }

    func which(_ tool: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
