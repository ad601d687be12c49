import ArgumentParser
import Foundation
import Reload

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A self-contained tour: build a module, run 100,000 instances, edit, reload.",
        discussion: """
            Writes a C module to a temporary folder, builds it, creates live
            instances, rewrites the module (a changed method, a new field with a
            default, a hook that migrates state), reloads it in place and shows
            what the same instances compute, then tries two broken versions and
            shows the previous code still answering.

              reloadctl demo
              reloadctl demo --particles 1000000
            """)

    @Option(help: "How many live instances to create.")
    var particles = 100_000

    func run() throws {
        Output.lineBuffered()
        let dir = NSTemporaryDirectory() + "remap-demo-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let compiler = try ModuleCompiler()
        let source = dir + "/particles.c", library = dir + "/particles.so"
        let runtime = Runtime.shared
        let loader = ModuleLoader()
        loader.addSearchPath(dir)

        func write(_ text: String, _ what: String) throws {
            try text.write(toFile: source, atomically: true, encoding: .utf8)
            print("\n== \(what)")
        }
        func build() throws {
            try compiler.build(source: source, output: library)
            print("built \(library)")
        }
        func tick(_ times: Int) throws -> String {
            try runtime.withLock {
                for _ in 0..<times { _ = try loader.call("particles.tick") }
                return try Objects.stringValue(loader.call("particles.describe"))
            }
        }

        try write(DemoModule.v1, "version 1: particles drift by their velocity")
        try build()
        try runtime.withLock {
            try loader.load("particles")
            _ = try loader.call("particles.spawn", [try Objects.int(particles)])
        }
        print(try tick(3))

        try write(DemoModule.v2(), "version 2: step() moves twice as far, struct field v widened to int64_t, a new field mass = 2, ticks move into a clock dict")
        try build()
        let report = try runtime.withLock { try loader.reload(["particles"]) }
        print(Output.reloadReport(report))
        print(try tick(0) + "   <- the same instances, their state kept")
        print(try tick(3))

        try write(DemoModule.broken, "version 3: does not compile")
        do {
            try build()
        } catch {
            print("\(error)".split(separator: "\n").prefix(4).joined(separator: "\n"))
            print("(nothing was reloaded)")
        }
        try write(DemoModule.v2(hookFails: true), "version 3 again: compiles, but its __reload__ hook fails")
        try build()
        do {
            _ = try runtime.withLock { try loader.reload(["particles"]) }
            print("unexpected: the broken version was accepted")
            throw ExitCode.failure
        } catch let error as RemapError where error.isLoadFailure {
            print("reload failed: \(error)")
        }
        print(try tick(1) + "   <- version 2 still answers")
    }
}
