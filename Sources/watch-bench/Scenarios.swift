import Foundation
import Reload

#if canImport(Glibc)
import Glibc
#endif

/// What every scenario needs: where reloadctl is, how many saves, and the
/// compiler set up as reloadctl sets it up (CC, CFLAGS, --fast-build).
struct Bench {
    var reloadctl: String
    var saves: Int
    var fastBuild: Bool
    var compiler: ModuleCompiler
    /// Print every sample too (--raw).
    var raw = false

    var hostFlags: [String] { fastBuild ? ["--fast-build"] : [] }

    /// A pause between saves, so each one starts from a quiet host.
    func settle() { usleep(150_000) }

    /// The compiler alone on `sources`, each into the scratch folder with the
    /// flags the watcher uses, `parallel` at once as the watcher runs them;
    /// returns the wall time of the whole batch in ms.
    func compileAlone(_ sources: [String], in workspace: Workspace, parallel: Int) throws -> Double {
        let slots = DispatchSemaphore(value: max(1, parallel))
        let group = DispatchGroup()
        /// The first compiler error, set from the builds' threads.
        final class Failure: @unchecked Sendable {
            let lock = NSLock()
            var error: Error?
        }
        let failure = Failure()
        let start = nowMs()
        for (index, source) in sources.enumerated() {
            group.enter()
            DispatchQueue.global().async {
                slots.wait()
                defer { slots.signal(); group.leave() }
                do {
                    try compiler.build(source: source, output: workspace.scratch + "/\(index).so",
                                       depfile: workspace.scratch + "/\(index).d")
                } catch {
                    failure.lock.lock(); failure.error = failure.error ?? error; failure.lock.unlock()
                }
            }
        }
        group.wait()
        let elapsed = nowMs() - start
        if let error = failure.error { throw error }
        return elapsed
    }

    /// `saves` + 1 rounds, the first a warm-up: a save (`save(n)` saves
    /// version n and returns the time of its rename) until `functions`
    /// answer n, and the compiler alone on the same files, in alternating
    /// order so that neither always runs just after the other. Returns
    /// save-to-running, the compiler alone, and save-to-running minus the
    /// host's own build time for that save.
    func rounds(host: Host, functions: [String], save: (Int) throws -> Double,
                compile: () throws -> Double) throws -> ([Double], [Double], [Double]) {
        var toRunning: [Double] = [], alone: [Double] = [], watcher: [Double] = []
        for n in 1...(saves + 1) {
            var compiled = 0.0
            if n % 2 == 0 {
                compiled = try compile()
                settle()
            }
            let mark = host.mark
            let saved = try save(n)
            let running = try host.waitUntil(functions, answer: Int64(n), reloadedSince: mark)
            settle()
            if n % 2 == 1 {
                compiled = try compile()
                settle()
            }
            if n > 1 {
                toRunning.append(running - saved)
                alone.append(compiled)
                watcher.append(running - saved - Self.batchTime(host.builds(since: mark)))
            }
        }
        return (toRunning, alone, watcher)
    }

    /// c-small: examples/particles under `--entry particles.run`, its source
    /// saved `saves` times.
    func cSmall() throws {
        let workspace = try Workspace(name: "c-small")
        defer { workspace.remove() }
        try workspace.save("particles.c", try Workspace.particles(version: "0"))
        let host = try Host(reloadctl: reloadctl, folder: workspace.folder, socket: workspace.socket,
                            extra: ["--entry", "particles.run"] + hostFlags)
        defer { host.stop() }
        try host.waitFor("serving")
        let function = ["particles.watch_bench_version"]
        _ = try host.waitUntil(function, answer: 0)
        let (toRunning, alone, watcher) = try rounds(host: host, functions: function, save: { n in
            try workspace.save("particles.c", try Workspace.particles(version: "\(n)"))
        }, compile: {
            try compileAlone([workspace.folder + "/particles.c"], in: workspace, parallel: 1)
        })
        report("c-small", toRunning: toRunning, compiler: alone, watcher: watcher, extra: [("modules", "1")])
    }

    /// c-header: a header included by three modules (particles each); a
    /// save of it rebuilds all three, in parallel, and reloads them together.
    func cHeader(parallel: Int) throws {
        let workspace = try Workspace(name: "c-header")
        defer { workspace.remove() }
        let modules = ["alpha", "beta", "gamma"]
        try workspace.save("shared.h", "#define WATCH_BENCH_VERSION 0\n")
        for module in modules {
            try workspace.save(module + ".c", try Workspace.particles(version: "WATCH_BENCH_VERSION", include: "shared.h"))
        }
        let host = try Host(reloadctl: reloadctl, folder: workspace.folder, socket: workspace.socket,
                            extra: ["--entry", "alpha.run"] + hostFlags)
        defer { host.stop() }
        try host.waitFor("serving")
        let functions = modules.map { $0 + ".watch_bench_version" }
        _ = try host.waitUntil(functions, answer: 0)
        let together = ["] reloaded alpha ", ", beta ", ", gamma "]
        let reloadsBefore = host.lines(with: together)
        let (toRunning, alone, watcher) = try rounds(host: host, functions: functions, save: { n in
            try workspace.save("shared.h", "#define WATCH_BENCH_VERSION \(n)\n")
        }, compile: {
            try compileAlone(modules.map { workspace.folder + "/\($0).c" }, in: workspace, parallel: parallel)
        })
        // Each save was one reload of the three together.
        let reloads = host.lines(with: together) - reloadsBefore
        report("c-header", toRunning: toRunning, compiler: alone, watcher: watcher,
               extra: [("modules", "3"), ("parallel_builds", "\(parallel)"), ("reloaded_together", "\(reloads)")])
    }

    /// burst: 10 saves 20 ms apart, `bursts` times; counts the builds each
    /// burst caused and checks that the last save is what runs.
    func burst(bursts: Int, count: Int = 10, intervalMs: Double = 20) throws {
        let workspace = try Workspace(name: "burst")
        defer { workspace.remove() }
        try workspace.save("particles.c", try Workspace.particles(version: "0"))
        let host = try Host(reloadctl: reloadctl, folder: workspace.folder, socket: workspace.socket,
                            extra: ["--entry", "particles.run"] + hostFlags)
        defer { host.stop() }
        try host.waitFor("serving")
        let function = ["particles.watch_bench_version"]
        _ = try host.waitUntil(function, answer: 0)
        var builds: [Int] = [], lastToRunning: [Double] = []
        var lastRuns = true
        var version = 0
        for _ in 0..<bursts {
            let before = host.count("] built particles in ")
            let mark = host.mark
            var lastSaved = 0.0
            for k in 0..<count {
                version += 1
                let at = nowMs()
                lastSaved = try workspace.save("particles.c", try Workspace.particles(version: "\(version)"))
                if k < count - 1 { usleep(useconds_t(max(0, intervalMs - (nowMs() - at)) * 1000)) }
            }
            let running = try host.waitUntil(function, answer: Int64(version), reloadedSince: mark)
            lastToRunning.append(running - lastSaved)
            usleep(1_000_000) // any build still to come has come
            let client = try ControlClient(path: workspace.socket, timeout: 10)
            let answer = try client.call(function[0])
            lastRuns = lastRuns && answer == .int(Int64(version))
            builds.append(host.count("] built particles in ") - before)
        }
        emit([("scenario", quoted("burst")), ("saves", "\(count)"), ("interval_ms", rounded(intervalMs)),
              ("bursts", "\(bursts)"), ("builds_per_burst", "[" + builds.map(String.init).joined(separator: ", ") + "]"),
              ("last_save_runs", "\(lastRuns)"), ("last_save_to_running_ms", Summary(lastToRunning).json),
              ("target", quoted("1 or 2 builds per burst; the last save runs")),
              ("met", "\(lastRuns && builds.allSatisfy { (1...2).contains($0) })")])
    }

    /// The wall time of the builds the host logged for one save, from the
    /// first one's start to the last one's end (they may run in parallel).
    static func batchTime(_ builds: [(end: Double, ms: Double)]) -> Double {
        guard let last = builds.map(\.end).max(), let first = builds.map({ $0.end - $0.ms }).min() else { return .nan }
        return last - first
    }

    /// One scenario's line: save-to-running, the compiler alone, and the
    /// margin between them (difference of the medians, of the p95s); and,
    /// paired save by save, save-to-running minus the host's own build time
    /// for that save (`watcher_ms`: the watcher's part, free of the noise
    /// between two separate compiler runs).
    func report(_ name: String, toRunning: [Double], compiler: [Double], watcher: [Double],
                extra: [(String, String)]) {
        let total = Summary(toRunning), alone = Summary(compiler)
        let margin = (median: total.median - alone.median, p95: total.p95 - alone.p95)
        emit([("scenario", quoted(name))] + extra + [
            ("saves", "\(total.count)"),
            ("save_to_running_ms", total.json),
            ("compiler_ms", alone.json),
            ("margin_ms", "{\"median\": \(rounded(margin.median)), \"p95\": \(rounded(margin.p95))}"),
            ("watcher_ms", Summary(watcher).json),
            ("target", quoted("margin at most 15 ms median, 30 ms p95")),
            ("met", "\(margin.median <= 15 && margin.p95 <= 30)"),
            ("watcher_met", "\(Summary(watcher).median <= 15 && Summary(watcher).p95 <= 30)"),
            ("flags", quoted(flagsText)),
        ] + (raw ? [("save_to_running_samples", list(toRunning)), ("compiler_samples", list(compiler))] : []))
    }

    func list(_ samples: [Double]) -> String { "[" + samples.map(rounded).joined(separator: ", ") + "]" }

    var flagsText: String {
        ([compiler.compiler] + compiler.moduleFlags.filter { $0 != compiler.includeDirectory && $0 != "-I" }
            + compiler.cflags).joined(separator: " ")
    }
}
