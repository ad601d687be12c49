import Foundation

/// Watches a source folder and builds what a save changed (`reloadctl run
/// --watch`): waits for file events, builds every module whose inputs'
/// content changed, several at once, and hands the ones that built to
/// `reload`, together, so modules that share a header are reloaded in one
/// transaction.
///
/// There is no quiet period: a save is built as soon as it is finished (an
/// event says so). A save that lands while its module compiles stops that
/// compiler and starts it again on the new content (BuildCancellation),
/// and one that makes other modules stale meanwhile has them built before
/// the round's reload: no save is lost, and one save is one transaction.
public final class SourceWatcher: @unchecked Sendable {
    public let sources: SourceFolder
    public let events: FileEvents
    /// Held while building, so a build asked for over the control socket
    /// (`reloadctl reload`) never runs alongside one of the watcher's.
    private let buildLock: NSLock
    private let log: @Sendable (String) -> Void
    private let reload: ([String]) -> Void

    /// Compilers run at once: one per core. More would only share the cores
    /// (the last of a batch finishes no sooner); fewer would leave one idle.
    public var parallelBuilds = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// `reload` gets the names of the modules a round built, and runs on the
    /// watcher's thread before it looks for saves again.
    public init(sources: SourceFolder, events: FileEvents, buildLock: NSLock,
                log: @escaping @Sendable (String) -> Void, reload: @escaping ([String]) -> Void) {
        self.sources = sources
        self.events = events
        self.buildLock = buildLock
        self.log = log
        self.reload = reload
    }

    /// Watches until the process ends.
    public func run() -> Never {
        let folders = sources.watchedFolders()
        events.watch(folders)
        if events.usesEvents { log("watching for saves with inotify (\(folders.count) folders)") }
        while true {
            var stale = sources.staleModules()
            if stale.isEmpty {
                if let change = events.wait(timeout: nil) { take(change) }
                continue
            }
            var built = build(stale)
            // A save that landed while the stale modules were looked for (a
            // header renamed into place between two includers' checks) made
            // the rest stale only now: built before the reload, so that one
            // save is still one transaction.
            var more = sources.staleModules().filter { !stale.contains($0) }
            while !more.isEmpty {
                stale += more
                built += build(more)
                more = sources.staleModules().filter { !stale.contains($0) }
            }
            // A build may have brought in a header from a folder not watched yet.
            if events.usesEvents { events.watch(sources.watchedFolders()) }
            if !built.isEmpty { reload(built) }
        }
    }

    /// What a change means before any build is decided: the content of its
    /// files is read again, and new folders are watched.
    private func take(_ change: FileEvents.Change) {
        if case .paths(let paths) = change { sources.forget(paths) }
        if events.usesEvents { events.watch(sources.watchedFolders()) }
    }

    /// Builds `modules` at once, `parallelBuilds` at a time, and returns the
    /// ones that built (in `modules`' order). Meanwhile it keeps reading
    /// events: a compiler whose inputs changed is stopped and restarted.
    private func build(_ modules: [String]) -> [String] {
        buildLock.lock()
        defer { buildLock.unlock() }
        let running = modules.map { _ in BuildCancellation() }
        let outcome = Outcomes(count: modules.count)
        let group = DispatchGroup()
        let slots = DispatchSemaphore(value: parallelBuilds)
        for (index, module) in modules.enumerated() {
            group.enter()
            DispatchQueue.global().async { [sources, events, log] in
                slots.wait()
                defer {
                    slots.signal()
                    group.leave()
                    events.wake()
                }
                do {
                    let start = DispatchTime.now().uptimeNanoseconds
                    if try sources.buildIfStale(module, cancellation: running[index]) {
                        outcome.set(index)
                        // The build's own time (restarts included): the rest of
                        // the wait from save to running is the watcher's.
                        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                        log("built \(module) in \(Int(ms.rounded())) ms")
                    }
                } catch {
                    log("build of \(module) failed; the running code is unchanged\n\(error)")
                }
            }
        }
        while group.wait(timeout: .now()) == .timedOut {
            guard let change = events.wait(timeout: nil) else { continue }
            take(change)
            for build in running { stopIfChanged(build, by: change) }
        }
        return modules.indices.filter { outcome.built($0) }.map { modules[$0] }
    }

    /// Stops `build`'s compiler if a file it reads has new content.
    private func stopIfChanged(_ build: BuildCancellation, by change: FileEvents.Change) {
        let inputs = build.inputs
        let touched: [String]
        switch change {
        case .everything: touched = Array(inputs.keys)
        case .paths(let paths): touched = inputs.keys.filter { paths.contains($0) }
        }
        if touched.contains(where: { sources.hashes.hash($0, cached: false) != inputs[$0] }) {
            build.cancel()
        }
    }

    /// Which builds of a round succeeded, set from their threads.
    private final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var flags: [Bool]
        init(count: Int) { flags = Array(repeating: false, count: count) }
        func set(_ index: Int) {
            lock.lock()
            flags[index] = true
            lock.unlock()
        }
        func built(_ index: Int) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return flags[index]
        }
    }
}
