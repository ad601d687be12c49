import ArgumentParser
import Foundation
import Reload

#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a host on a folder of modules and serve its control socket.",
        discussion: """
            Builds every NAME.c and NAME.swift of the folder and its subfolders
            (game/physics.c is module game.physics) into a library (also loads
            prebuilt NAME.so), loads the modules, calls the entry function if given, and
            serves the control socket until interrupted. With --watch, a saved
            source or an edited header it includes is rebuilt and reloaded as
            soon as the save is finished (inotify; REMAP_WATCH_POLL=1 polls
            instead), modules that changed together are built in parallel and
            reloaded together, and a file whose content did not change builds
            nothing; a failed build or reload is printed and the old code keeps
            running, and a module that does not compile at start is loaded once
            it does. CC (which may carry arguments, as in "ccache cc"), CFLAGS
            and LDFLAGS are honoured; --fast-build trades optimized code for a
            shorter compile.

            The entry function runs with crash signals caught: a crash in it
            is reported like an error and the host keeps serving. With
            --restart on-failure (or always), it is called again after a
            failure (or any end), with backoff from 0.1 s doubling to 5 s;
            module state is kept, and a reload that fixed it is what runs.

              reloadctl run examples/particles --entry particles.run --watch
              reloadctl run game --entry game.main --restart on-failure --watch
            """)

    @Argument(help: "The folder of modules.")
    var folder: String

    @Option(help: "A function to call once the modules are loaded, as module.name.")
    var entry: String?

    @Option(help: "Call the entry again when it fails (on-failure), when it ends at all (always), or never (no).")
    var restart: RestartPolicy = .no

    @Option(help: "The control socket to serve (its folder is created with mode 0700, or must already be this user's with mode 0700).")
    var socket: String = ControlServer.defaultPath()

    @Flag(help: "Rebuild and reload a module when its source changes.")
    var watch = false

    @Flag(name: .customLong("fast-build"),
          help: "Compile C modules with \(ModuleCompiler.fastBuildFlags.joined(separator: " ")) instead of -O2 -g, for a shorter wait from save to running.")
    var fastBuild = false

    @Flag(name: .customLong("allow-insecure-modules"), help: "Load libraries other users could have written.")
    var allowInsecureModules = false

    func validate() throws {
        if restart != .no && entry == nil {
            throw ValidationError("--restart \(restart.rawValue) needs an --entry function to restart")
        }
    }

    func run() throws {
        Output.lineBuffered()
        // Signals are taken by one thread with sigwait; block them before any
        // other thread starts so none of them gets one.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var compiler = try ModuleCompiler()
        compiler.fastBuild = fastBuild
        let sources = try SourceFolder(path: folder, compiler: compiler)
        let buildLock = NSLock()
        // Under --watch a module that does not compile yet is reported and
        // left unloaded; the watcher loads it once a save compiles.
        var unbuilt: Set<String> = []
        var built: [String] = []
        for module in sources.sourceModuleNames {
            do {
                if try sources.buildIfStale(module) { built.append(module) }
            } catch {
                guard watch else { throw CommandFailure(message: "\(error)") }
                unbuilt.insert(module)
                Self.log("build of \(module) failed; it is loaded once it compiles\n\(error)")
            }
        }
        if !built.isEmpty { print("built \(built.joined(separator: ", "))") }
        let runtime = Runtime.shared
        let loader = ModuleLoader()
        loader.allowInsecureModules = allowInsecureModules
        for path in sources.searchPaths { loader.addSearchPath(path) }
        let names = sources.moduleNames.filter { !unbuilt.contains($0) }
        do {
            try runtime.withLock { for name in names { try loader.load(name) } }
        } catch {
            throw CommandFailure(message: "\(error)")
        }
        let server: ControlServer
        do {
            server = try ControlServer(loader: loader, path: socket)
        } catch {
            throw CommandFailure(message: "cannot serve \(socket): \(error)")
        }
        let supervisor = entry.map {
            EntrySupervisor(loader: loader, function: $0, policy: restart, log: { Self.log($0) })
        }
        server.entry = supervisor
        server.beforeReload = { modules in
            buildLock.lock()
            defer { buildLock.unlock() }
            for module in modules { try sources.buildIfStale(module) }
        }
        server.start()
        print("loaded \(names.isEmpty ? "no modules" : names.joined(separator: ", ")); serving \(socket)")

        let waitFor = signals
        let signalThread = Thread {
            var set = waitFor
            var caught: Int32 = 0
            sigwait(&set, &caught)
            server.stop()
            print("stopped (signal \(caught))")
            Glibc.exit(0)
        }
        signalThread.start()
        if watch {
            // REMAP_WATCH_POLL=1 forces the polling fallback (to test it, or
            // on a file system whose changes inotify does not see, such as
            // some network mounts).
            let poll = ProcessInfo.processInfo.environment["REMAP_WATCH_POLL"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
            let events = FileEvents(polling: poll.map { _ in "REMAP_WATCH_POLL is set" }, log: { Self.log($0) })
            let watcher = SourceWatcher(sources: sources, events: events, buildLock: buildLock,
                                        log: { Self.log($0) },
                                        reload: { Self.reloadBuilt($0, loader: loader) })
            Thread { watcher.run() }.start()
            print("watching \(sources.path)")
        }
        if let supervisor {
            // The last run's end, once the policy stops calling it; the host
            // keeps serving either way.
            switch supervisor.run() {
            case .returned(let value): print("\(supervisor.function) returned \(value)")
            case .failed(let reason): print("\(supervisor.function) failed: \(reason)")
            }
        }
        while true { pause() }
    }

    /// A watch log line: the local time to the millisecond, then the text.
    static func log(_ text: String) {
        var now = timeval()
        gettimeofday(&now, nil)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        let stamp = String(format: "%02d:%02d:%02d.%03d", parts.tm_hour, parts.tm_min, parts.tm_sec,
                           Int(now.tv_usec / 1000))
        print("[\(stamp)] \(text)")
    }

    /// Reloads what the watcher built: modules already loaded are reloaded
    /// together (one transaction, so modules sharing a header change at
    /// once); a new source, or one that did not compile before, is loaded
    /// for the first time. Failures are printed; the old code keeps running.
    static func reloadBuilt(_ built: [String], loader: ModuleLoader) {
        do {
            let (report, loaded): (ReloadReport?, [String]) = try loader.runtime.withLock {
                let reloading = built.filter { loader.module(named: $0) != nil }
                let fresh = built.filter { !reloading.contains($0) }
                for module in fresh { try loader.load(module) }
                return (reloading.isEmpty ? nil : try loader.reload(reloading), fresh)
            }
            if !loaded.isEmpty { log("loaded \(loaded.joined(separator: ", "))") }
            if let report { log(Output.reloadReport(report)) }
        } catch {
            log("reload of \(built.joined(separator: ", ")) failed; the old code keeps running\n\(error)")
        }
    }
}

extension RestartPolicy: ExpressibleByArgument {}
