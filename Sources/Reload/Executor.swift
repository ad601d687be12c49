import Foundation

/// One long-lived thread that runs every piece of work a server does on the
/// heap, one at a time.
///
/// Threads that serve connections never touch the heap, so they need no
/// registration with Boehm: only this thread is registered, once, and it never
/// exits. (A registered thread that unregisters and exits while another
/// thread starts a collection made Boehm abort with "Signals delivery fails
/// constantly"; one connection thread per client did exactly that.)
final class Executor: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [() -> Void] = []

    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Runs `work` on the executor and waits for its result.
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
        condition.signal()
        condition.unlock()
        done.lock()
        while result == nil { done.wait() }
        done.unlock()
        return result!
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let job = queue.removeFirst()
            condition.unlock()
            job()
        }
    }
}
