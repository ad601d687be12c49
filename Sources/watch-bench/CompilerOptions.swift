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

    /// Builds `source` once with `compiler` as reloadctl would (the same
    /// call, the same flags, the same way of running the compiler); the
    /// wall time and the CPU time (user + system) of the compiler and its
    /// children (cc1, as, ld), in ms. The CPU time is what the compiler
    /// costs whatever else the machine runs.
    func time(_ compiler: ModuleCompiler, source: String, output: String) throws -> (wall: Double, cpu: Double) {
        func childrenCPU() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &usage)
            func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
            return ms(usage.ru_utime) + ms(usage.ru_stime)
        }
        let cpu = childrenCPU()
        let start = nowMs()
        try compiler.build(source: source, output: output, depfile: output + ".d")
        return (nowMs() - start, childrenCPU() - cpu)
    }

    func run() throws {
        let workspace = try Workspace(name: "options")
        defer { workspace.remove() }
        let source = workspace.folder + "/particles.c"
        try Workspace.particles(version: "1").write(toFile: source, atomically: true, encoding: .utf8)
        let include = compiler.includeDirectory
        let output = workspace.scratch + "/particles.so"
        /// An option: CC (which may carry arguments, placed before Remap's
        /// flags), --fast-build, and CFLAGS (after them: -O0 overrides -O2,
        /// -g0 drops -g).
        func option(_ cc: String? = nil, fast: Bool = false, cflags: [String] = []) -> ModuleCompiler {
            var chosen = compiler
            chosen.compiler = cc ?? compiler.compiler
            chosen.fastBuild = fast
            chosen.cflags = cflags
            return chosen
        }
        var configs: [(String, ModuleCompiler)] = [
            ("default", option()),
            ("no -g", option(cflags: ["-g0"])),
            ("-O1 -g", option(cflags: ["-O1"])),
            ("-O1", option(cflags: ["-O1", "-g0"])),
            ("-O0", option(cflags: ["-O0", "-g0"])),
            ("--fast-build", option(fast: true)),
        ]
        // A precompiled remap/module.h, found before the header itself
        // because its folder comes first in the search path (so it goes
        // in CC, before Remap's own -I).
        let pch = workspace.scratch + "/pch"
        try FileManager.default.createDirectory(atPath: pch + "/remap", withIntermediateDirectories: true)
        let precompiled = try? ChildCommand.run(ModuleCompiler.words(compiler.compiler)
            + ["-fPIC", "-O2", "-g", "-I", include, "-x", "c-header", include + "/remap/module.h", "-o", pch + "/remap/module.h.gch"])
        if precompiled == true {
            configs.append(("default, precompiled module.h", option(compiler.compiler + " -Winvalid-pch -I " + pch)))
        }
        for other in ["clang", "ccache"] where which(other) != nil && !compiler.compiler.contains(other) {
            let cc = other == "ccache" ? "ccache " + compiler.compiler : other
            configs.append(("\(other) default", option(cc)))
            configs.append(("\(other) --fast-build", option(cc, fast: true)))
        }
        // Round robin, one warm-up round first: a machine that gets busier
        // during the run slows every option alike.
        var wall = Array(repeating: [Double](), count: configs.count)
        var cpu = wall
        for round in 0...runs {
            for (index, (_, chosen)) in configs.enumerated() {
                let measured = try time(chosen, source: source, output: output)
                if round > 0 {
                    wall[index].append(measured.wall)
                    cpu[index].append(measured.cpu)
                }
            }
        }
        for (index, (name, chosen)) in configs.enumerated() {
            let flags = chosen.moduleFlags.filter { $0 != include && $0 != "-I" } + chosen.cflags
            emit([("scenario", quoted("compiler-options")), ("option", quoted(name)),
                  ("command", quoted(([chosen.compiler] + flags).joined(separator: " "))), ("runs", "\(runs)"),
                  ("compiler_ms", Summary(wall[index]).json), ("cpu_ms", Summary(cpu[index]).json)])
        }
        let missing = ["clang", "ccache"].filter { which($0) == nil }
        if !missing.isEmpty {
            emit([("scenario", quoted("compiler-options")), ("skipped", quoted(missing.joined(separator: ", ") + ": not installed"))])
        }
    }

    /// Runs a command once (the precompiled header's build); true if it succeeded.
    enum ChildCommand {
        static func run(_ command: [String]) throws -> Bool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
    }

    func which(_ tool: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
