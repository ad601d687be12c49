#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A module build another thread may stop. The watcher stops a compiler
/// whose input changed since it started: its library would be built again
/// anyway, and a burst of saves then costs one build of the last one rather
/// than one build per save that lands while the previous one compiles.
///
/// The compiler runs in a process group of its own (ChildProcess makes it
/// a group leader), so `cancel()` stops the driver and what
/// it started (cc1, as, ld) together.
public final class BuildCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var group: pid_t = 0
    private var cancelled = false
    private var restarts = 0
    /// How often a build may be stopped in a row: past it, the compiler runs
    /// to the end, so saves that never stop still get builds out.
    public static let maxRestarts = 8

    /// The inputs the running compiler reads, with the content hashes they
    /// had when it started (set by `SourceFolder.build`).
    public private(set) var inputs: [String: UInt64] = [:]

    public init() {}

    /// A new build starts: nothing stopped yet.
    func begin() {
        lock.lock()
        cancelled = false
        restarts = 0
        inputs = [:]
        lock.unlock()
    }

    func compiling(_ inputs: [String: UInt64]) {
        lock.lock()
        self.inputs = inputs
        lock.unlock()
    }

    func started(_ pid: pid_t) {
        lock.lock()
        group = pid
        let stop = cancelled
        lock.unlock()
        if stop { kill(-pid, SIGKILL) }
    }

    /// Called once the compiler's output has ended: it is no longer a target.
    func finished() {
        lock.lock()
        group = 0
        lock.unlock()
    }

    /// Stops the compiler, unless it has been stopped `maxRestarts` times in
    /// a row already. Returns true if it was stopped.
    @discardableResult
    public func cancel() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !cancelled, restarts < Self.maxRestarts else { return false }
        cancelled = true
        restarts += 1
        if group > 0 { kill(-group, SIGKILL) }
        return true
    }

    /// Whether the build was stopped since the last call (and clears it).
    func takeCancelled() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let was = cancelled
        cancelled = false
        return was
    }
}
