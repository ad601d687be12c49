import Foundation
import Reload

/// The compiler's own time on examples/particles with each option a user
/// could pick (`--fast-build`, `$CFLAGS`, `$CC`): what -O2 and -g cost, a
/// precompiled remap/module.h, another compiler, ccache when installed.
/// Nothing here changes what reloadctl compiles with.
struct CompilerOptions {
    var compiler: ModuleCompiler
    var runs: Int

    /// Runs `command` `runs` times after one warm-up; the times in ms.
    func time(_ command: [String]) throws -> [Double] {
        var times: [Double] = []
        for run in 0...runs {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = command
            let start = nowMs()
            try process.run()
            process.waitUntilExit()
            let elapsed = nowMs() - start
            guard process.terminationStatus == 0 else { throw BenchError("failed: \(command.joined(separator: " "))") }
            if run > 0 { times.append(elapsed) }
        }
        return times
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
        for (name, cc, flags) in configs {
            let times = try time(command(cc, flags))
            emit([("scenario", quoted("compiler-options")), ("option", quoted(name)),
                  ("command", quoted((cc + flags).joined(separator: " "))), ("compiler_ms", Summary(times).json)])
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
