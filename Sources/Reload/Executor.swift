import Foundation

/// Long-lived threads that run the work a server does on the heap: a pool
/// that grows when every thread is busy, up to a limit, and never shrinks.
///
/// Threads that serve connections never touch the heap, so they need no
/// registration with Boehm: only these threads are registered, once each,
/// and they never exit. (A registered thread that unregisters and exits while
/// another thread starts a collection made Boehm abort with "Signals delivery
/// fails constantly"; one connection thread per client did exactly that.)
///
/// Several threads, not one: a request that runs long (a call that loops,
/// giving the lock up at safe points, or one that sleeps without it) must
/// not hold up the requests of other connections behind it. The runtime lock
/// still puts their heap work one at a time.
final class Executor: @unchecked Sendable {
    private let name: String
    private let maxThreads: Int
    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var threads = 0
    private var idle = 0

    init(name: String, maxThreads: Int) {
        self.name = name
        self.maxThreads = max(1, maxThreads)
    }

    /// Threads started so far.
    var threadCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return threads
    }

    /// Runs `work` on a thread of the pool and waits for its result. A new
    /// thread is started if none is idle and the limit allows; else the work
    /// waits for the first thread to come free.
    func run<T>(_ work: @escaping () -> T) -> T {
        let done = NSCondition()
        var result: T?
        condition.lock()
        queue.append {
            let value = work()
            done.lock()
            result = value
            done.signal()
            done.unlock()
        }
        if idle < queue.count && threads < maxThreads {
            threads += 1
            let thread = Thread { [self] in loop() }
            thread.name = "\(name)-\(threads)"
            thread.start()
        } else {
            condition.signal()
        }
        condition.unlock()
        done.lock()
        while result == nil { done.wait() }
        done.unlock()
        return result!
    }

    private func loop() {
        while true {
            condition.lock()
            idle += 1
            while queue.isEmpty { condition.wait() }
            idle -= 1
            let job = queue.removeFirst()
            condition.unlock()
            job()
        }
    }
}
