import CBoehm
import CRemap
import Foundation
import Reload
import XCTest

/// Libraries of replaced and failed versions are unmapped once nothing can
/// run them, and not before; a safe point inside a reload keeps the lock.
/// What is mapped is read from /proc/self/maps, where the loader's private
/// copies show as `.../remap-<uid>-libs/<module>-<pid>-<n>-<random>.so (deleted)`.
final class LibraryUnloadTests: ModuleTestCase {
    func mappedCopies(of module: String) throws -> Set<String> { try ProcMaps.mappedCopies(of: module) }

    /// Reloads in its own frame, so no local of the test keeps an old object.
    @inline(never)
    func reload(_ name: String) throws -> Int {
        let report = try loader.reload([name])
        return report.modules.first?.toGeneration ?? 0
    }

    @inline(never)
    func version() throws -> Int {
        try Objects.intValue(loader.call("churn.version"))
    }

    // MARK: - Replaced versions

    /// Guards: replaced libraries piling up (every reload leaking a mapped
    /// copy) because nothing closed them, or something kept counting them
    /// as used. After 20 reloads and a collection, only the current copy of
    /// churn is mapped.
    func testReplacedLibrariesAreUnmapped() throws {
        let before = try mappedCopies(of: "churn")
        try folder.buildModule("churn", from: "churn.c", version: 1)
        try runtime.withLock {
            try loader.load("churn")
            for n in 1...20 {
                let v = n % 2 == 1 ? 2 : 1
                try folder.buildModule("churn", from: "churn.c", version: v)
                XCTAssertEqual(try reload("churn"), n + 1)
                XCTAssertEqual(try version(), v)
            }
            loader.collect()
            let mine = try mappedCopies(of: "churn").subtracting(before)
            XCTAssertEqual(mine.count, 1, "only the current copy stays mapped: \(mine.sorted())")
            XCTAssertEqual(try version(), 1)
            try runtime.checkHeap()
        }
    }

    // MARK: - Failed versions

    /// Guards: the library of a version whose rm_module_init failed being
    /// closed at once, while objects it made may still be reachable, or
    /// never. It stays mapped until a collection, then is unmapped.
    func testFailedInitLibraryIsUnmappedAfterACollection() throws {
        let before = try mappedCopies(of: "churn")
        try folder.buildModule("churn", from: "churn.c", version: 1)
        try runtime.withLock {
            try loader.load("churn")
            try folder.buildModule("churn", from: "churn.c", version: 3)
            try assertInitFails()
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 2,
                           "the failed copy stays mapped until a collection")
            loader.collect()
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 1, "the failed copy is unmapped")
            XCTAssertEqual(try version(), 1)
            XCTAssertEqual(loader.loadedModules.first { $0.name == "churn" }?.generation, 1)
            try runtime.checkHeap()
        }
    }

    @inline(never)
    func assertInitFails(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try loader.reload(["churn"]), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains("fails on purpose"), "\(error)", file: file, line: line)
        }
    }

    /// Context of `findFunction`: the name sought and what was found.
    final class Search {
        let name: String
        var found: Object?
        init(_ name: String) { self.name = name }
    }

    /// The live function object named `name`, found by walking the heap.
    func findFunction(_ name: String) -> Object? {
        let search = Search(name)
        let context = Unmanaged.passUnretained(search).toOpaque()
        let visit: @convention(c) (UnsafeMutablePointer<rm_object>?, UnsafeMutableRawPointer?) -> Int32 = { obj, arg in
            let search = Unmanaged<Search>.fromOpaque(arg!).takeUnretainedValue()
            guard let obj, rm_is_function(obj), rm_str_eq(rm_function_name(obj), search.name) else { return 0 }
            search.found = obj
            return 1
        }
        _ = rm_heap_each(visit, context)
        return withExtendedLifetime(search) { search.found }
    }

    /// Finds churn.leaked and calls it (with `release`: it frees its handle).
    @inline(never)
    func callLeaked(release: Bool) throws -> Int? {
        guard let leaked = findFunction("churn.leaked") else { return nil }
        return try Objects.intValue(Objects.call(leaked, release ? [rm_get_true()] : []))
    }

    /// Guards: a failed version's library being unmapped while a function
    /// of it is still reachable (its init put it in a handle, a root that
    /// outlives the rolled-back attempt): calling it would jump into
    /// unmapped memory. It stays mapped and callable while the function
    /// lives, and is unmapped once it is gone.
    func testFailedLibraryStaysWhileItsFunctionLives() throws {
        let before = try mappedCopies(of: "churn")
        try folder.buildModule("churn", from: "churn.c", version: 1)
        try runtime.withLock {
            try loader.load("churn")
            try folder.buildModule("churn", from: "churn.c", version: 3, defines: ["LEAK=1"])
            try assertInitFails()
            loader.collect()
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 2,
                           "a function of the failed version is alive: its copy stays mapped")
            XCTAssertEqual(try callLeaked(release: false), 33, "and its code still runs")
            loader.collect()
            XCTAssertEqual(try callLeaked(release: true), 33)
            loader.collect()
            XCTAssertNil(findFunction("churn.leaked"), "its handle is freed: collected")
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 1,
                           "nothing runs the failed version any more: unmapped")
            XCTAssertEqual(try version(), 1)
            try runtime.checkHeap()
        }
    }

    // MARK: - Queued finalizers

    @inline(never)
    func makeCapsule() throws {
        _ = try loader.call("churn.make_capsule")
    }

    /// Guards: a library being unmapped while a finalizer of one of its
    /// capsules is queued (the capsule died in a collection; the finalizer
    /// runs later, under the lock): running it would jump into unmapped
    /// memory. The library is closed only after the finalizer ran.
    func testQueuedFinalizerKeepsItsLibraryMapped() throws {
        // It counts on when collections happen; RM_GC_STRESS adds some.
        try XCTSkipIf(runtime_gcStress() != 0, "depends on collection timing: skipped under RM_GC_STRESS")
        let before = try mappedCopies(of: "churn")
        try folder.buildModule("churn", from: "churn.c", version: 1)
        try runtime.withLock {
            try loader.load("churn")
            let finalized = try Ref(try loader.resolve("churn.finalized"))
            loader.collect()
            try makeCapsule()
            try folder.buildModule("churn", from: "churn.c", version: 2)
            XCTAssertEqual(try reload("churn"), 2)
            XCTAssertEqual(rm_list_size(finalized.object), 0, "the capsule's finalizer has not run yet")
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 2)

            // A bare collection queues the finalizer without running it;
            // nothing below allocates until loader.collect().
            rm_scrub_stack()
            GC_gcollect()
            XCTAssertEqual(loader.closeRetiredLibraries(), 0, "v1's finalizer is queued: v1 stays")
            XCTAssertEqual(rm_list_size(finalized.object), 0, "queued, not run")
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 2)

            XCTAssertGreaterThanOrEqual(loader.collect(), 1, "the finalizer ran, then v1 closed")
            XCTAssertEqual(rm_list_size(finalized.object), 1, "v1's finalizer ran once")
            XCTAssertEqual(try Objects.intValue(rm_list_get(finalized.object, 0)!), 1, "it was v1's code")
            XCTAssertEqual(try mappedCopies(of: "churn").subtracting(before).count, 1, "v1 is unmapped")
            XCTAssertEqual(try version(), 2)
            try runtime.checkHeap()
        }
    }

    // MARK: - Safe points inside a reload

    /// What two threads did, in order.
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String] = []
        func add(_ event: String) { lock.lock(); events.append(event); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return events }
    }

    final class Outcome: @unchecked Sendable {
        var generation: Int?
        var hooksRun: Int?
        var error: Error?
    }

    /// Guards: rm_safe_point called by a module hook during a reload
    /// handing the lock to a waiting thread, whose own reload then failed
    /// with "a reload is already in progress" (or saw a half-reloaded
    /// heap). The waiting reload runs after the first one, and both succeed.
    func testSafePointInsideAReloadKeepsTheLock() throws {
        try folder.buildModule("pauser", from: "pauser.c", version: 1)
        try runtime.withLock { _ = try loader.load("pauser") }
        try folder.buildModule("pauser", from: "pauser.c", version: 2)
        let events = Events()
        let a = Outcome(), b = Outcome()
        let aHasLock = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        let shared = self.loader!, runtime = self.runtime
        func reloader(_ name: String, _ outcome: Outcome, signal: DispatchSemaphore?) -> Thread {
            Thread {
                defer {
                    runtime.detachThread()
                    finished.leave()
                }
                events.add("\(name) waits")
                do {
                    let report = try runtime.withLock {
                        events.add("\(name) starts")
                        signal?.signal()
                        defer { events.add("\(name) ends") }
                        return try shared.reload(["pauser"])
                    }
                    outcome.generation = report.modules.first?.toGeneration
                    outcome.hooksRun = report.moduleHooksRun
                } catch {
                    outcome.error = error
                }
            }
        }
        finished.enter()
        reloader("A", a, signal: aHasLock).start()
        aHasLock.wait()
        usleep(20_000) // A is loading v2 or inside its hook (100 ms of safe points)
        finished.enter()
        reloader("B", b, signal: nil).start()
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success, "both reloads finish")

        XCTAssertNil(a.error, "A: \(String(describing: a.error))")
        XCTAssertNil(b.error, "B must not fail: \(String(describing: b.error))")
        XCTAssertEqual(a.generation, 2)
        XCTAssertEqual(b.generation, 3)
        XCTAssertEqual(a.hooksRun, 1)
        XCTAssertEqual(b.hooksRun, 1)
        XCTAssertEqual(events.all, ["A waits", "A starts", "B waits", "A ends", "B starts", "B ends"],
                       "B waited while A's hook ran its safe points, and ran after A")
        try runtime.withLock {
            XCTAssertEqual(shared.loadedModules.first { $0.name == "pauser" }?.generation, 3)
            let hooks = try loader.resolve("pauser.hooks")
            XCTAssertEqual(try (0..<rm_list_size(hooks)).map { try Objects.intValue(rm_list_get(hooks, $0)!) }, [2, 3])
            XCTAssertEqual(try Objects.intValue(loader.call("pauser.version")), 2)
            try runtime.checkHeap()
        }
    }
}

private func runtime_gcStress() -> Int { Int(rm_gc_stress_interval()) }
