import CRemap
import Foundation
import Reload
import XCTest

/// Old libraries are unmapped while an entry runs (issue 20, item 2).
///
/// The bug it guards: the runtime kept one global count of calls into
/// module code, and an entry (`reloadctl run --entry m.run --watch`) is
/// always inside one, so no replaced library was ever closed: every save
/// mapped one more copy, and after about 2,680 reloads libgc aborted with
/// "Too many root sets" inside a guarded reload, its lock held. Now only
/// the libraries with a frame in progress (the entry's own version) or
/// with live objects pointing into them stay mapped.
final class EntryUnloadTests: ModuleTestCase {
    func mappedCopies() throws -> Set<String> { try ProcMaps.mappedCopies(of: "looper") }

    /// looper.so's two versions, built once, put in place by copy + rename
    /// (a compiler per reload would make the soak take minutes).
    func buildVersions() throws -> [String] {
        var files: [String] = []
        for version in 1...2 {
            try folder.buildModule("looper", from: "looper.c", version: version)
            let file = "\(folder.path)/looper-v\(version).bin"
            try? FileManager.default.removeItem(atPath: file)
            try FileManager.default.copyItem(atPath: "\(folder.path)/looper.so", toPath: file)
            files.append(file)
        }
        try install(files[0])
        return files
    }

    func install(_ file: String) throws {
        let tmp = "\(folder.path)/looper.so.tmp"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.copyItem(atPath: file, toPath: tmp)
        guard rename(tmp, "\(folder.path)/looper.so") == 0 else { throw POSIXError(.EIO) }
    }

    /// Starts looper.run on a thread of its own; returns a semaphore
    /// signalled when it returns.
    func startEntry() throws -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let loader = self.loader!, runtime = self.runtime
        Thread {
            _ = try? runtime.withLock { try loader.call("looper.run") }
            runtime.detachThread()
            done.signal()
        }.start()
        // Wait for the loop to have ticked: the entry is inside v1's code.
        let deadline = Date().addingTimeInterval(10)
        while try runtime.withLock({ try ticks() }) == 0 && Date() < deadline { usleep(1000) }
        return done
    }

    func ticks() throws -> Int {
        try Objects.intValue(rm_list_get(try loader.resolve("looper.ticks"), 0)!)
    }

    func stopEntry(_ done: DispatchSemaphore) throws {
        try runtime.withLock { try check(rm_list_append(try loader.resolve("looper.stop"), rm_get_none())) }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the entry returns when told to")
    }

    @inline(never)
    func reload(_ n: Int) throws -> ReloadReport {
        try runtime.withLock { try loader.reload(["looper"]) }
    }

    /// 20 reloads under a running entry, then a collection: the entry's
    /// version and the current one are mapped, nothing else.
    func testOldLibrariesAreUnmappedWhileAnEntryRuns() throws {
        let before = try mappedCopies()
        let files = try buildVersions()
        try runtime.withLock { _ = try loader.load("looper") }
        let done = try startEntry()
        for n in 1...20 {
            try install(files[n % 2])
            XCTAssertEqual(try reload(n).modules.first?.toGeneration, n + 1)
        }
        let closed = try runtime.withLock { loader.collect() }
        let mapped = try mappedCopies().subtracting(before)
        XCTAssertLessThanOrEqual(mapped.count, 2, "the entry's copy and the current one: \(mapped.sorted())")
        XCTAssertGreaterThanOrEqual(closed + loader.librariesClosed, 18, "the other copies were closed")
        XCTAssertGreaterThan(try runtime.withLock { try ticks() }, 0)
        try stopEntry(done)
        try runtime.withLock { _ = loader.collect() }
        XCTAssertEqual(try mappedCopies().subtracting(before).count, 1, "the entry returned: its copy is unmapped")
        XCTAssertEqual(try runtime.withLock { try Objects.intValue(loader.call("looper.version")) }, 1)
    }

    /// Thousands of reloads under a running entry (more than the 2,680 at
    /// which libgc ran out of root sets): mapped copies stay bounded and
    /// the resident set flat. REMAP_SOAK_RELOADS sets the count (default
    /// 10,000, about 10 s here).
    func testThousandsOfReloadsUnderAnEntryStayFlat() throws {
        let count = Int(ProcessInfo.processInfo.environment["REMAP_SOAK_RELOADS"] ?? "") ?? 10_000
        let before = try mappedCopies()
        let files = try buildVersions()
        try runtime.withLock { _ = try loader.load("looper") }
        let done = try startEntry()
        var mostMapped = 0
        var rssAtTenth = 0
        let start = Date()
        for n in 1...count {
            try install(files[n % 2])
            _ = try reload(n)
            if n % 100 == 0 {
                mostMapped = max(mostMapped, try mappedCopies().subtracting(before).count)
                if n == count / 10 { rssAtTenth = Self.residentKiB() }
            }
        }
        let seconds = Date().timeIntervalSince(start)
        try runtime.withLock { _ = loader.collect() }
        let rssAtEnd = Self.residentKiB()
        let mappedAtEnd = try mappedCopies().subtracting(before).count
        print("soak: \(count) reloads under a running entry in \(String(format: "%.1f", seconds)) s; most copies mapped \(mostMapped), after a collection \(mappedAtEnd); RSS \(rssAtTenth) KiB at \(count / 10), \(rssAtEnd) KiB at the end")
        XCTAssertLessThanOrEqual(mappedAtEnd, 2)
        // Collections come with allocation, not with each reload: some
        // retired copies wait for the next one. Bounded, never growing.
        XCTAssertLessThan(mostMapped, 64, "copies mapped between collections")
        XCTAssertLessThan(rssAtEnd, rssAtTenth + 64 * 1024, "RSS grows by less than 64 MiB over the soak")
        try stopEntry(done)
    }

    static func residentKiB() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(getpagesize()) / 1024 : 0
    }
}
