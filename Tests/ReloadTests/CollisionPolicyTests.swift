import CRemap
import Foundation
import Reload
import XCTest

/// `ReloadOptions.onCollision`: a reload that binds two old classes to one
/// new class makes two keys of a kept dict equal (Tests/Modules/collide.c:
/// labels = {Circle: "circle", Round: "round"}, Circle inserted first).
/// keep-new keeps the entry inserted last, keep-old the one inserted
/// first, refuse rolls the reload back.
final class CollisionPolicyTests: ModuleTestCase {
    /// Loads version 1, reloads version 2 under `policy`; returns the
    /// reload's collisions (nil if it failed) and what labels holds then.
    func reloadCollide(_ policy: CollisionPolicy) throws -> (collisions: Int?, label: String, size: Int) {
        try folder.buildModule("collide", from: "collide.c", version: 1)
        try runtime.withLock { _ = try loader.load("collide") }
        try folder.buildModule("collide", from: "collide.c", version: 2)
        return try runtime.withLock {
            let collisions = try? loader.reload(["collide"], options: ReloadOptions(onCollision: policy)).keyCollisions
            try runtime.checkHeap()
            return (collisions, try Objects.stringValue(try loader.call("collide.label")),
                    try int(try loader.call("collide.size")))
        }
    }

    func testKeepNewKeepsTheEntryInsertedLast() throws {
        let (collisions, label, size) = try reloadCollide(.keepNewer)
        XCTAssertEqual(collisions, 1)
        XCTAssertEqual(label, "round")
        XCTAssertEqual(size, 1)
    }

    func testKeepOldKeepsTheEntryInsertedFirst() throws {
        let (collisions, label, size) = try reloadCollide(.keepOlder)
        XCTAssertEqual(collisions, 1)
        XCTAssertEqual(label, "circle")
        XCTAssertEqual(size, 1)
    }

    func testRefuseRollsTheReloadBack() throws {
        let (collisions, label, size) = try reloadCollide(.refuse)
        XCTAssertNil(collisions)
        XCTAssertEqual(label, "circle")
        XCTAssertEqual(size, 2, "both keys, as before the reload")
        try runtime.withLock { XCTAssertEqual(loader.loadedModules.first?.generation, 1) }
    }

    /// The core call refuses what is not a dict or set, and an unknown
    /// choice, with an error and the object unchanged.
    func testRehashKeepingRefusesBadInput() throws {
        try runtime.withLock {
            let list = try Ref(try check(rm_list_new(0))), dict = try Ref(try check(rm_dict_new()))
            var collisions = 0
            XCTAssertEqual(rm_rehash_keeping(list.object, RM_KEEP_FIRST, &collisions), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("not a dict or set"))
            rm_error_clear()
            XCTAssertEqual(rm_rehash_keeping(dict.object, rm_rehash_keep(rawValue: 7), &collisions), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("RM_KEEP_FIRST"))
            rm_error_clear()
            XCTAssertEqual(rm_rehash_keeping(dict.object, RM_KEEP_FIRST, &collisions), 0)
            XCTAssertEqual(collisions, 0)
        }
    }

    func testUserNamesOfThePolicies() {
        XCTAssertEqual(CollisionPolicy(userName: "keep-old"), .keepOlder)
        XCTAssertEqual(CollisionPolicy(userName: "keep-older"), .keepOlder)
        XCTAssertEqual(CollisionPolicy(userName: "keep-new"), .keepNewer)
        XCTAssertEqual(CollisionPolicy(userName: "refuse"), .refuse)
        XCTAssertNil(CollisionPolicy(userName: "keep-oldest"))
        XCTAssertEqual(CollisionPolicy.allCases.map(\.userName), ["keep-new", "keep-old", "refuse"])
    }
}

/// `reloadctl reload --on-collision keep-old` through a running host: the
/// CLI, the control protocol and the reload agree.
final class CollisionCommandTests: HostTestCase {
    func testReloadOnCollisionKeepOldThroughTheHost() throws {
        try folder.buildModule("collide", from: "collide.c", version: 1)
        let host = try HostProcess(folder: folder.path, socket: socketPath)
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)
        try folder.buildModule("collide", from: "collide.c", version: 2)
        let reload = try Processes.reloadctl("reload", "collide", "--on-collision", "keep-old", "--socket", socketPath)
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertTrue(reload.stdout.contains("1 key collisions"), reload.stdout)
        XCTAssertEqual(try Processes.reloadctl("call", "collide.label", "--socket", socketPath).stdout, "\"circle\"\n")
        XCTAssertEqual(try Processes.reloadctl("call", "collide.size", "--socket", socketPath).stdout, "1\n")
        let bad = try Processes.reloadctl("reload", "collide", "--on-collision", "keep-oldest", "--socket", socketPath)
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("'keep-new', 'keep-old' or 'refuse'"), bad.stderr)
    }
}
