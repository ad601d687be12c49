import CBoehm
import CRemap
import Foundation
import Reload
import XCTest

/// "A bad new version never hurts the running program", proved the way
/// SQLite proves its rollback: count every failure point a reload reaches,
/// then fail each occurrence in turn and compare everything observable with
/// what it was before. Issue 10: rollback missed the module hook's writes
/// to kept state, class-hook attributes that are not fields, collisions
/// merged under `refuse`, first imports; a mapping without an inverse
/// aborted the process.
final class FaultInjectionTests: HeapTestCase {

    /// Which occurrences of a point to fail: all of them up to `all`, then
    /// a spread (first, last and a stride) that keeps the test's time
    /// bounded on points reached once per instance or per allocation.
    static func occurrences(of count: Int, all: Int) -> [Int] {
        guard count > 0 else { return [] }
        guard count > all else { return Array(stride(from: 1, through: count, by: 1)) }
        let step = max(1, count / all)
        return Array(Set(Array(1...min(count, all / 4)) + Array(stride(from: 1, through: count, by: step)) + [count]))
            .sorted()
    }

    /// Every occurrence of every point is failed, except allocations (11,000
    /// in this reload), of which a spread of 1,500 is, unless
    /// REMAP_FAULT_ALL=1 asks for all of them (about two minutes).
    static let allocSample = ProcessInfo.processInfo.environment["REMAP_FAULT_ALL"] == "1" ? Int.max : 1500

    /// Counts the points of one reload without letting it succeed: the last
    /// publish fails, so the world stays as it was.
    func countPoints(_ world: GraphWorld) throws -> [String: Int] {
        settle()
        try FaultInjection.arm("publish", occurrence: 2)
        XCTAssertThrowsError(try world.reload())
        return Dictionary(uniqueKeysWithValues: FaultInjection.points.map { ($0, FaultInjection.count($0)) })
    }

    /// Zeroes the counts and collects: the walk also lists dead instances
    /// not yet pruned (the fingerprint makes some), which would make the
    /// number of occurrences of a point differ from one reload to the next.
    func settle() {
        FaultInjection.resetCounts()
        runtime.collect()
    }

    override func tearDown() {
        // An armed point left behind would fail another test's reload.
        try? runtime.withLock { FaultInjection.resetCounts() }
    }

    /// Every point, every occurrence (or a spread of them), error mode.
    func testEveryFailurePointLeavesTheWorldAsItWas() throws {
        let world = try GraphWorld()
        try world.buildVersion2()
        try runtime.withLock {
            let before = try world.fingerprint()
            let counts = try countPoints(world)
            XCTAssertEqual(try world.fingerprint(), before, "the counting run failed at its last publish")
            for point in FaultInjection.points {
                XCTAssertGreaterThan(counts[point] ?? 0, 0, "a reload of this graph reaches \(point)")
            }
            var injected = 0
            for point in FaultInjection.points {
                for n in Self.occurrences(of: counts[point] ?? 0, all: point == "alloc" ? Self.allocSample : Int.max) {
                    settle()
                    if ProcessInfo.processInfo.environment["REMAP_TRACE_FAULTS"] != nil { print("inject \(point) #\(n) heap \(GC_get_heap_size() >> 20) MiB disabled \(GC_is_disabled()) live \(rm_handle_count())"); fflush(stdout) }
                    try FaultInjection.arm(point, occurrence: n)
                    do {
                        _ = try world.reload()
                        XCTFail("\(point) #\(n) of \(counts[point]!): the reload succeeded")
                        return
                    } catch {}
                    injected += 1
                    let after: [String]
                    do { after = try world.fingerprint() } catch {
                        XCTFail("\(point) #\(n): \(error)")
                        return
                    }
                    if after != before {
                        XCTFail("\(point) #\(n): the world changed:\n\(firstDifference(before, after))")
                        return
                    }
                }
            }
            // A crash at each point reached inside the crash guard.
            for point in ["init", "module_hook", "migrate", "field_init", "class_hook"] {
                for n in Self.occurrences(of: counts[point] ?? 0, all: 100) {
                    settle()
                    try FaultInjection.arm(point, occurrence: n, mode: .crash)
                    do {
                        _ = try world.reload()
                        XCTFail("crash at \(point) #\(n): the reload succeeded")
                        return
                    } catch RemapError.crashed {
                    } catch {
                        XCTFail("crash at \(point) #\(n): not reported as a crash: \(error)")
                        return
                    }
                    injected += 1
                    let after = try world.fingerprint()
                    if after != before {
                        XCTFail("crash at \(point) #\(n): the world changed:\n\(firstDifference(before, after))")
                        return
                    }
                }
            }
            FaultInjection.resetCounts()
            print("fault points: \(counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")); failures injected: \(injected)")

            // And the same reload, unhindered, does what it says.
            let report = try world.reload()
            XCTAssertEqual(report.modules.map(\.name), ["gbase", "gmid"])
            XCTAssertEqual(try Objects.intValue(world.loader.call("gmid.call_version")), 2)
            let registry = try world.loader.resolve("gbase.registry")
            let circle = rm_list_get(registry, 2)!
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(circle, "y")), 2 * (2 % 11), "the base's hook ran on a subclass of another module")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(circle, "r")), 3)
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(circle, "z")), 2 % 11 + 100, "the base's initializer")
            let first = rm_list_get(registry, 0)!, square = rm_list_get(registry, 1)!
            XCTAssertEqual(try Objects.stringValue(Objects.getAttribute(first, "note")), "migrated")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(first, "z")), 100, "an initializer on an instance with an attribute dict")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(square, "kind")), 10 * (1 % 5), "a moved instance's initializer")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(square, "side")), 1 % 5, "a moved instance keeps its value")
            XCTAssertEqual(try Objects.stringValue(Objects.getAttribute(square, "tag")), "sq")
            let point = rm_list_get(registry, world.instances + 7)!
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(point, "x")), 7, "a reordered field keeps its value")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(point, "y")), -7)
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(point, "w")), 5)
            let lines = Dictionary(uniqueKeysWithValues: report.classes.map { ($0.name, $0) })
            XCTAssertEqual(lines["gbase.Point"]?.inPlace, world.instances / 5, "\(report.classes)")
            XCTAssertEqual(lines["gmid.Square"]?.moved, lines["gmid.Square"]?.instances, "\(report.classes)")
            // The one instance the module hook gave an attribute dict is moved: the walk cannot
            // read the dict, which might hold a name the reload makes a field.
            XCTAssertEqual(lines["gbase.Shape"]?.moved, 1, "\(report.classes)")
            // The others are migrated in place by the walk, then given an
            // attribute dict by the class hook's `note` (not a field): counted
            // as such since issue 20 item 9, not as in place.
            XCTAssertGreaterThan(lines["gbase.Shape"]?.givenDict ?? 0, 300, "\(report.classes)")
            if let shape = lines["gbase.Shape"] {
                XCTAssertEqual(shape.inPlace + shape.givenDict + shape.moved, shape.instances, "\(report.classes)")
            }
            XCTAssertThrowsError(try world.loader.call("gbase.old_fn"), "removed and tombstoned")
            XCTAssertNotEqual(try world.fingerprint(), before)
        }
    }
}
