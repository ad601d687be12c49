import CRemap

/// The process-wide Remap runtime: Boehm, the object heap and its lock.
///
/// Every use of the heap happens inside `withLock`, on a thread the runtime
/// knows (`withLock` registers the calling thread with Boehm the first time).
public final class Runtime: @unchecked Sendable {
    /// The runtime of this process. Starting it twice is harmless.
    public static let shared: Runtime = {
        guard CoreCalls.initialize() == 0 else {
            fatalError("Remap: Boehm GC could not be started")
        }
        return Runtime()
    }()

    private init() {}

    /// Runs `body` holding the runtime lock. The lock is not recursive: do
    /// not call `withLock` from inside `body`.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        _ = CoreCalls.attachThread()
        CoreCalls.acquire()
        defer { CoreCalls.release() }
        return try body()
    }

    /// Lets a waiting reload or control request run, if any, then takes the
    /// lock back. Call it holding the lock, from a host's long-running loop.
    public func safePoint() { rm_safe_point() }

    /// Unregisters the calling thread from Boehm; call it before a thread
    /// that used `withLock` exits.
    public func detachThread() { rm_thread_detach() }

    /// Checks every object and handle of the heap; throws the first fault.
    /// Call it holding the lock.
    public func checkHeap() throws {
        if rm_heap_check() != 0 { throw CoreCalls.takeError() }
    }

    /// A full collection, after scrubbing this thread's unused stack so that
    /// stale pointers left by returned calls do not keep garbage alive.
    /// Call it holding the lock.
    public func collect() {
        rm_scrub_stack()
        rm_collect()
    }
}
