import CRemap
import Foundation
import Reload
import XCTest

/// Collections prune the registry of live objects, so they must only start
/// on the thread holding the runtime lock: not on a thread registering with
/// Boehm (registration allocates, and an allocation may collect), not from
/// a collection requested without the lock.
final class LockDisciplineTests: HeapTestCase {

    /// Runs `body` on a new thread while this thread holds the lock; returns
    /// whether `body` finished before the lock was released, and whether it
    /// finished at all afterwards.
    func whileHoldingTheLock(_ body: @escaping @Sendable () -> Void) throws -> (early: Bool, finished: Bool) {
        final class Flag: @unchecked Sendable { var done = false }
        let flag = Flag()
        let finished = DispatchSemaphore(value: 0)
        var early = false
        try runtime.withLock {
            let thread = Thread {
                body()
                flag.done = true
                finished.signal()
            }
            thread.start()
            early = finished.wait(timeout: .now() + 0.3) == .success
        }
        let done = early || finished.wait(timeout: .now() + 10) == .success
        return (early, done && flag.done)
    }

    func testThreadRegistrationWaitsForTheLock() throws {
        let (early, finished) = try whileHoldingTheLock {
            _ = rm_thread_attach()
            rm_thread_detach()
        }
        XCTAssertFalse(early, "a thread registered with Boehm (which may collect) while another held the lock")
        XCTAssertTrue(finished)
    }

    func testCollectWithoutTheLockTakesIt() throws {
        let before = try runtime.withLock { rm_collection_count() }
        let (early, finished) = try whileHoldingTheLock {
            _ = rm_thread_attach()
            rm_collect()
            rm_thread_detach()
        }
        XCTAssertFalse(early, "a collection ran while another thread held the lock")
        XCTAssertTrue(finished)
        XCTAssertGreaterThan(try runtime.withLock { rm_collection_count() }, before)
    }

    /// Threads that come and go (each registering with Boehm) while the
    /// main thread allocates: the registry stays consistent.
    func testRegistryStaysValidWhileThreadsComeAndGo() throws {
        let stop = DispatchSemaphore(value: 0)
        // Read by the churn thread, cleared by this one: behind a lock.
        final class Box: @unchecked Sendable {
            private let lock = NSLock()
            private var value = true
            var running: Bool {
                get { lock.lock(); defer { lock.unlock() }; return value }
                set { lock.lock(); value = newValue; lock.unlock() }
            }
        }
        let box = Box()
        let churn = Thread {
            while box.running {
                let group = DispatchGroup()
                for _ in 0..<4 {
                    group.enter()
                    Thread {
                        _ = try? Runtime.shared.withLock { _ = try Objects.string("t") }
                        Runtime.shared.detachThread()
                        group.leave()
                    }.start()
                }
                group.wait()
            }
            stop.signal()
        }
        churn.start()
        try runtime.withLock {
            let keep = try Ref(try check(rm_list_new(0)))
            for round in 0..<20 {
                for i in 0..<5_000 { try check(rm_list_append(keep.object, try Objects.string("r\(round)-\(i)"))) }
                runtime.safePoint()
            }
            try runtime.checkHeap()
        }
        box.running = false
        stop.wait()
    }
}
