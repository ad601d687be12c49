import CRemap
import Foundation
import Reload
import XCTest

/// The attribute lookup caches (CSources/lookup.c) answer with the new code
/// and layout after a reload that moves a field, replaces a method or
/// changes a class's base, and after a method is redefined at run time:
/// every lookup below is made hot first, so a stale cache entry would answer.
final class LookupCacheTests: ModuleTestCase {
    func warm(_ thing: Object, _ times: Int = 100) throws {
        for _ in 0..<times {
            _ = try Objects.callMethod(thing, "get")
            _ = try Objects.callMethod(thing, "kind")
            _ = try Objects.getAttribute(thing, "a")
        }
    }

    func testCachesFollowReloadsAndRedefinitions() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try loader.load("cached")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), [try Objects.int(5), try Objects.int(6)]))
            try warm(thing.object)
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get")), 15)

            // v2: a moves from slot 0 to slot 2 (z is added in front).
            try folder.buildModule("cached", from: "cached.c", version: 2)
            _ = try loader.reload(["cached"])
            XCTAssertEqual(try int(Objects.getAttribute(thing.object, "a")), 5, "the moved field, not slot 0")
            XCTAssertEqual(try int(Objects.getAttribute(thing.object, "z")), 0)
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get")), 25, "the new method")
            XCTAssertEqual(try Objects.stringValue(Objects.callMethod(thing.object, "kind")), "base v2")
            try warm(thing.object)

            // v3: Thing's base is Other now.
            try folder.buildModule("cached", from: "cached.c", version: 3)
            _ = try loader.reload(["cached"])
            XCTAssertEqual(try Objects.stringValue(Objects.callMethod(thing.object, "kind")), "other", "the new base's method")
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get")), 35)

            // A setattr on the instance shadows the class's method; a field
            // set through the cache lands in the moved slot.
            try check(rm_setattr(thing.object, "kind", try Objects.string("own")))
            XCTAssertEqual(try Objects.stringValue(Objects.getAttribute(thing.object, "kind")), "own")
            try check(rm_setattr(thing.object, "a", try Objects.int(7)))
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get")), 37)
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 2))), 7, "a is slot 2 since v2")
        }
    }

    /// Guards: a method set on a class at run time replaces the cached one.
    func testRedefinedMethodIsSeen() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try loader.load("cached")
            let base = try loader.resolve("cached.Base"), other = try loader.resolve("cached.Other")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), []))
            try warm(thing.object)
            let otherKind = try Objects.getAttribute(other, "kind")
            try check(rm_setattr(base, "kind", otherKind))
            XCTAssertEqual(try Objects.stringValue(Objects.callMethod(thing.object, "kind")), "other")
        }
    }

    /// The typed fast API (an interned name kept in a static) follows a
    /// reload that moves the field, and refuses a value that is not an int.
    func testTypedAccessFollowsAMovedField() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try loader.load("cached")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), [try Objects.int(5), try Objects.int(6)]))
            for _ in 0..<100 { _ = try Objects.callMethod(thing.object, "get_typed") }
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get_typed")), 15)

            try folder.buildModule("cached", from: "cached.c", version: 2)
            _ = try loader.reload(["cached"])
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get_typed")), 25, "a from its new slot")
            _ = try Objects.callMethod(thing.object, "set_typed", [try Objects.int(2000)])
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 2))), 2000, "a is slot 2 since v2")
            XCTAssertEqual(try int(Objects.getAttribute(thing.object, "a")), 2000)

            try check(rm_setattr(thing.object, "a", try Objects.string("not an int")))
            XCTAssertThrowsError(try Objects.callMethod(thing.object, "get_typed")) { error in
                XCTAssertTrue("\(error)".contains("expected an int"), "\(error)")
            }
        }
    }

    /// Inline caches kept by module code: a class whose field moved, an
    /// instance of another class, and a value that is not an int all miss.
    func testInlineCachesFollowAMovedFieldAndOtherClasses() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try loader.load("cached")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), [try Objects.int(5), try Objects.int(6)]))
            for i in 0..<100 {
                _ = try Objects.callMethod(thing.object, "set_cached", [try Objects.int(i)])
                XCTAssertEqual(try int(Objects.callMethod(thing.object, "get_cached")), 10 + i)
            }
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 0))), 99, "a is slot 0 in v1")

            try folder.buildModule("cached", from: "cached.c", version: 2)
            _ = try loader.reload(["cached"])
            XCTAssertEqual(try int(Objects.callMethod(thing.object, "get_cached")), 20 + 99, "a from its new slot")
            _ = try Objects.callMethod(thing.object, "set_cached", [try Objects.int(7)])
            _ = try Objects.callMethod(thing.object, "set_cached", [try Objects.int(8)])
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 2))), 8, "a is slot 2 since v2")
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 0))), 0, "z untouched")

            // A method taken from Thing and called on a plain Base instance
            // (no field a): the cache for Thing must not answer for it.
            let getCached = try Objects.getAttribute(try loader.resolve("cached.Thing"), "get_cached")
            let base = try Ref(try Objects.call(loader.resolve("cached.Base"), []))
            XCTAssertThrowsError(try Objects.call(try check(rm_method_new(getCached, base.object)), [])) { error in
                XCTAssertTrue("\(error)".contains("no attribute 'a'"), "\(error)")
            }
            try check(rm_setattr(thing.object, "a", try Objects.string("not an int")))
            XCTAssertThrowsError(try Objects.callMethod(thing.object, "get_cached")) { error in
                XCTAssertTrue("\(error)".contains("expected an int"), "\(error)")
            }
        }
    }

    /// Caches in a module that is not reloaded outlive the class they were
    /// filled for: after "cached" is reloaded (a moves from slot 0 to 2),
    /// they read and write the moved field.
    func testInlineCachesInAnotherModuleOutliveTheClass() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try folder.buildModule("cacheuser", from: "cacheuser.c", version: 1)
            try loader.load("cached")
            try loader.load("cacheuser")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), [try Objects.int(5), try Objects.int(6)]))
            for i in 0..<50 {
                _ = try loader.call("cacheuser.write_a", [thing.object, try Objects.int(i)])
                XCTAssertEqual(try int(loader.call("cacheuser.read_a", [thing.object])), i)
            }
            try folder.buildModule("cached", from: "cached.c", version: 2)
            _ = try loader.reload(["cached"])
            XCTAssertEqual(try int(loader.call("cacheuser.read_a", [thing.object])), 49, "not slot 0 (z)")
            _ = try loader.call("cacheuser.write_a", [thing.object, try Objects.int(300)])
            _ = try loader.call("cacheuser.write_a", [thing.object, try Objects.int(301)])
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 2))), 301)
            XCTAssertEqual(try int(try XCTUnwrap(rm_instance_slot(thing.object, 0))), 0, "z untouched")
        }
    }

    /// The C-string cache is keyed by the string's address: one buffer that
    /// holds "a", then "b", then a name longer than the cache's inline check,
    /// names a different attribute each time.
    func testReusedNameBufferIsReadAgain() throws {
        try runtime.withLock {
            try folder.buildModule("cached", from: "cached.c", version: 1)
            try loader.load("cached")
            let thing = try Ref(try Objects.call(loader.resolve("cached.Thing"), [try Objects.int(5), try Objects.int(6)]))
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 32)
            defer { buffer.deallocate() }
            func read(_ name: String) throws -> Object {
                _ = name.withCString { strcpy(buffer, $0) }
                return try check(rm_getattr(thing.object, buffer))
            }
            for _ in 0..<10 {
                XCTAssertEqual(try int(read("a")), 5)
                XCTAssertEqual(try int(read("b")), 6)
            }
            try check(rm_setattr(thing.object, "a_longer_name", try Objects.int(9)))
            try check(rm_setattr(thing.object, "a_longer_other", try Objects.int(10)))
            for _ in 0..<10 {
                XCTAssertEqual(try int(read("a_longer_name")), 9)
                XCTAssertEqual(try int(read("a_longer_other")), 10)
                XCTAssertEqual(try int(read("a")), 5)
            }
            XCTAssertNil(rm_getattr(thing.object, "missing"))
            XCTAssertTrue(String(cString: rm_error_message()).contains("no attribute 'missing'"))
            rm_error_clear()
        }
    }
}
