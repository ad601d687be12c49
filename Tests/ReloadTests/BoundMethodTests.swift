import CRemap
import Reload
import XCTest

/// Bound methods compare and hash by receiver and function (issue 20, bug
/// 11: `rm_getattr(a, "hello")` twice gave two methods that were neither
/// identical nor equal, so a set of callbacks grew each time the same
/// handler was registered, `discard(a.hello)` never removed it, and after
/// a reload the set did not find the new bound method). Python (since 3.8)
/// and Dart's tear-offs (`tear_off_instance_equality`) are the model.
final class BoundMethodTests: ModuleTestCase {
    typealias Obj = UnsafeMutablePointer<rm_object>

    /// A class with methods `hello` and `bye`, and two instances of it.
    func makeGreeters() -> (cls: Obj, a: Obj, b: Obj) {
        let cls = rm_class_new("Greeter", nil, nil)!
        XCTAssertEqual(rm_class_set_method(cls, "hello", { _, _, _ in rm_str("hello") }, 0), 0)
        XCTAssertEqual(rm_class_set_method(cls, "bye", { _, _, _ in rm_str("bye") }, 0), 0)
        return (cls, rm_instance_alloc(cls)!, rm_instance_alloc(cls)!)
    }

    func hash(_ o: Obj) -> UInt32 {
        var error: Int32 = 0
        let h = rm_hash(o, &error)
        XCTAssertEqual(error, 0)
        return h
    }

    func testSameReceiverAndFunctionAreEqualAndHashAlike() throws {
        try runtime.withLock {
            let (_, a, b) = makeGreeters()
            let keep = try Ref(rm_list_new(0)!)
            let first = rm_getattr(a, "hello")!, second = rm_getattr(a, "hello")!
            [first, second].forEach { rm_list_append(keep.object, $0) }
            XCTAssertNotEqual(first, second, "two method objects")
            XCTAssertEqual(rm_equal(first, second), 1)
            XCTAssertEqual(hash(first), hash(second))
            // Another receiver, another function: not equal.
            XCTAssertEqual(rm_equal(first, rm_getattr(b, "hello")), 0)
            XCTAssertEqual(rm_equal(first, rm_getattr(a, "bye")), 0)
            // rm_method_new of the same parts is the same key.
            let made = rm_method_new(rm_method_function(first), a)!
            XCTAssertEqual(rm_equal(made, first), 1)
            XCTAssertEqual(hash(made), hash(first))
            try runtime.checkHeap()
        }
    }

    func testSetAddTwiceHoldsOneAndDiscardRemovesIt() throws {
        try runtime.withLock {
            let (_, a, b) = makeGreeters()
            let set = try Ref(rm_set_new()!)
            XCTAssertEqual(rm_set_add(set.object, rm_getattr(a, "hello")), 0)
            XCTAssertEqual(rm_set_add(set.object, rm_getattr(a, "hello")), 0)
            XCTAssertEqual(rm_set_size(set.object), 1, "the same handler registered twice is one callback")
            XCTAssertEqual(rm_set_add(set.object, rm_getattr(b, "hello")), 0)
            XCTAssertEqual(rm_set_size(set.object), 2)
            XCTAssertEqual(rm_set_contains(set.object, rm_getattr(a, "hello")), 1)
            XCTAssertEqual(rm_set_discard(set.object, rm_getattr(a, "hello")), 1)
            XCTAssertEqual(rm_set_contains(set.object, rm_getattr(a, "hello")), 0)
            XCTAssertEqual(rm_set_size(set.object), 1)
            // A dict keyed by a bound method finds it by another one.
            let dict = try Ref(rm_dict_new()!)
            XCTAssertEqual(rm_dict_set(dict.object, rm_getattr(a, "bye"), rm_int(7)), 0)
            XCTAssertEqual(rm_dict_get(dict.object, rm_getattr(a, "bye")), rm_int(7))
            try runtime.checkHeap()
        }
    }

    /// The remap walk, by hand: a set holding bm(a, old) and bm(a, new) is
    /// listed for a rehash, which merges them; a set holding only bm(a,
    /// old) finds bm(a, new) at once (the hash was handed over).
    func testRemapListsAndMergesBoundMethodKeys() throws {
        try runtime.withLock {
            let (_, a, _) = makeGreeters()
            let oldF = rm_function_new("hello", { _, _, _ in rm_int(1) }, 0, nil, nil)!
            let newF = rm_function_new("hello", { _, _, _ in rm_int(2) }, 0, nil, nil)!
            let both = try Ref(rm_set_new()!), onlyOld = try Ref(rm_set_new()!)
            XCTAssertEqual(rm_set_add(both.object, rm_method_new(oldF, a)), 0)
            XCTAssertEqual(rm_set_add(both.object, rm_method_new(newF, a)), 0)
            XCTAssertEqual(rm_set_add(onlyOld.object, rm_method_new(oldF, a)), 0)
            XCTAssertEqual(rm_set_size(both.object), 2)

            let m = rm_mapping_new()!
            defer { rm_mapping_free(m) }
            XCTAssertEqual(rm_mapping_add(m, oldF, newF), 0)
            var report = rm_remap_report()
            XCTAssertEqual(rm_remap(m, &report), 0, String(cString: rm_error_message()))
            defer { rm_report_clear(&report) }
            let listed = (0..<report.ntables).map { report.tables[$0] }
            XCTAssertTrue(listed.contains(both.object), "a set whose method keys now bind a new function is listed")
            var collisions = 0
            for table in listed { XCTAssertEqual(rm_rehash_keeping(table, RM_KEEP_LAST, &collisions), 0) }
            XCTAssertEqual(collisions, 1)
            XCTAssertEqual(rm_set_size(both.object), 1, "bm(a, old) and bm(a, new) are one key after the remap")
            XCTAssertEqual(rm_set_contains(both.object, rm_method_new(newF, a)), 1)
            XCTAssertEqual(rm_set_contains(onlyOld.object, rm_method_new(newF, a)), 1)
            try runtime.checkHeap()
        }
    }

    /// Across a reload of a real module: the set of callbacks kept in its
    /// state finds the new bound method, and the two callbacks that became
    /// the same (Sub.hello, removed in v2, and Base.hello, which Sub now
    /// inherits) are merged into one.
    func testReloadedSetFindsTheNewBoundMethodAndMergesDuplicates() throws {
        try folder.buildModule("bound", from: "bound.c", version: 1)
        try runtime.withLock {
            try loader.load("bound")
            let a = try Ref(try loader.call("bound.make"))
            let subHello = rm_getattr(a.object, "hello")!
            XCTAssertEqual(try Objects.stringValue(rm_call(subHello, nil, 0)), "sub 1")
            XCTAssertEqual(try int(loader.call("bound.register", [subHello])), 1)
            XCTAssertEqual(try int(loader.call("bound.register", [rm_getattr(a.object, "hello")!])), 1,
                           "registering the same handler twice")
            // Base.hello bound to the same receiver (a super call's method).
            let baseHello = rm_class_lookup(try loader.resolve("bound.Base"), rm_name("hello"))!
            XCTAssertEqual(try int(loader.call("bound.register", [rm_method_new(baseHello, a.object)!])), 2)
        }
        try folder.buildModule("bound", from: "bound.c", version: 2)
        try runtime.withLock {
            let report = try loader.reload(["bound"])
            XCTAssertGreaterThanOrEqual(report.tablesRehashed, 1)
            XCTAssertEqual(report.keyCollisions, 1)
            let callbacks = try loader.resolve("bound.callbacks")
            XCTAssertEqual(rm_set_size(callbacks), 1, "the two callbacks are the same method now")
            var pos = 0
            var key: UnsafeMutablePointer<rm_object>?
            XCTAssertTrue(rm_set_next(callbacks, &pos, &key))
            XCTAssertEqual(try Objects.stringValue(rm_call(key!, nil, 0)), "base 2")
            let receiver = rm_method_self(key!)!
            XCTAssertEqual(rm_set_contains(callbacks, rm_getattr(receiver, "hello")), 1, "the new bound method is found")
            XCTAssertEqual(try int(loader.call("bound.register", [rm_getattr(receiver, "hello")!])), 1)
            XCTAssertEqual(rm_set_discard(callbacks, rm_getattr(receiver, "hello")), 1)
            XCTAssertEqual(rm_set_size(callbacks), 0)
            try runtime.checkHeap()
        }
    }
}
