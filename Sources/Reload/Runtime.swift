import CRemap

/// The process-wide Remap runtime: Boehm, the object heap and its lock.
///
/// Every use of the heap happens inside `withLock`, on a thread the runtime
/// knows (`withLock` registers the calling thread with Boehm the first time).
/// Any thread may start it. If Boehm cannot be started, `start()` throws and
/// so does every `withLock`: the host decides what to do, the library never
/// ends the process.
public final class Runtime: @unchecked Sendable {
    /// Starting once, on whichever thread comes first.
    private static let started: Result<Runtime, RemapError> = {
        guard CoreCalls.initialize() == 0 else {
            let cause = CoreCalls.takeError()
            return .failure(RemapError(kind: .runtime, message: "Remap could not start: \(cause.message)"))
        }
        return .success(Runtime(startError: nil))
    }()

    /// Starts the runtime (the first call) and returns it; throws if Boehm
    /// could not be started. Calling it again is harmless.
    @discardableResult
    public static func start() throws -> Runtime {
        try started.get()
    }

    /// The runtime of this process, started on first use. If it could not
    /// start, this is a runtime whose `withLock` throws the reason.
    public static let shared: Runtime = {
        switch started {
        case .success(let runtime): return runtime
        case .failure(let error): return Runtime(startError: error)
        }
    }()

    /// Why the runtime could not start, or nil.
    public let startError: RemapError?

    private init(startError: RemapError?) {
        self.startError = startError
    }

    /// Runs `body` holding the runtime lock. The lock is not recursive: do
    /// not call `withLock` from inside `body`. Throws what `body` throws,
    /// the reason the runtime could not start, or why this thread could not
    /// be registered with Boehm.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        if let startError { throw startError }
        if CoreCalls.attachThread() != 0 { throw CoreCalls.takeError() }
        CoreCalls.acquire()
        defer { CoreCalls.release() }
        return try body()
    }

    /// Lets a waiting reload or control request run, if any, then takes the
    /// lock back. Call it holding the lock, from a host's long-running loop
    /// (`heap.safePoint()`); without the lock there is nothing to give up,
    /// and it does nothing.
    public func safePoint() {
        guard rm_lock_held() else { return }
        rm_safe_point()
    }

    /// Unregisters the calling thread from Boehm; call it before a thread
    /// that used `withLock` exits.
    public func detachThread() { rm_thread_detach() }

    /// Checks every object and handle of the heap; throws the first fault.
    /// Holding the lock (`heap.check()`), or it takes the lock itself.
    public func checkHeap() throws {
        guard rm_lock_held() else { return try withLock { try checkHeap() } }
        if rm_heap_check() != 0 { throw CoreCalls.takeError() }
    }

    /// A full collection, after scrubbing this thread's unused stack so that
    /// stale pointers left by returned calls do not keep garbage alive.
    /// Holding the lock (`heap.collect()`), or `rm_collect` takes the lock
    /// itself.
    public func collect() {
        rm_scrub_stack()
        rm_collect()
    }
}
