import Foundation
@testable import Reload
import XCTest

/// The watcher's parts in one process: content hashes keyed by a stamp with
/// the change time, and the inotify events a save makes.
final class FileEventsTests: XCTestCase {
    var folder: FixtureFolder!

    override func setUpWithError() throws {
        folder = try FixtureFolder()
    }

    /// Guards issue 20 item 8 at its root: a cached hash keyed by (mtime,
    /// size) survived an edit that kept both. The stamp's change time moves.
    func testCachedHashSeesAnEditThatKeepsSizeAndTime() throws {
        let path = folder.path + "/a.c"
        try "version 1".write(toFile: path, atomically: false, encoding: .utf8)
        let hashes = ContentHashes()
        let first = try XCTUnwrap(hashes.hash(path))
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)
        usleep(30_000) // past the racy window, so the cache is trusted
        XCTAssertEqual(hashes.hash(path), first)
        try "version 2".write(toFile: path, atomically: false, encoding: .utf8)
        var times = [before.st_atim, before.st_mtim]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        XCTAssertNotEqual(hashes.hash(path), first, "the cached hash outlived the edit")
        XCTAssertEqual(hashes.hash(path), ContentHashes.hash(Data("version 2".utf8)))
    }

    /// A rename over a source, a close after writing, and an attribute
    /// change are events; a hidden temporary file is not.
    func testSaveEventsAndHiddenFiles() throws {
        let events = FileEvents(log: { XCTFail("unexpected log: \($0)") })
        XCTAssertTrue(events.usesEvents)
        events.watch([folder.path])
        let source = folder.path + "/a.c"
        let temporary = folder.path + "/.a.c.swp"

        try "one".write(toFile: temporary, atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(temporary, source), 0)
        XCTAssertEqual(events.wait(timeout: 2), .paths([source]))

        try "two".write(toFile: source, atomically: false, encoding: .utf8)
        XCTAssertEqual(events.wait(timeout: 2), .paths([source]))

        XCTAssertEqual(utimensat(AT_FDCWD, source, nil, 0), 0)
        XCTAssertEqual(events.wait(timeout: 2), .paths([source]))

        try "hidden".write(toFile: temporary, atomically: false, encoding: .utf8)
        XCTAssertNil(events.wait(timeout: 0.2))
    }

    /// `wake()` ends a wait with no change; polling reports everything each
    /// tick and says why it polls.
    func testWakeAndPolling() throws {
        let events = FileEvents(log: { _ in })
        events.wake()
        XCTAssertNil(events.wait(timeout: 5))

        var logged: [String] = []
        let polling = FileEvents(polling: "a test", log: { logged.append($0) })
        XCTAssertFalse(polling.usesEvents)
        XCTAssertEqual(logged, ["polling for changes every 200 ms: a test"])
        let start = Date()
        XCTAssertEqual(polling.wait(timeout: nil), .everything)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }
}
