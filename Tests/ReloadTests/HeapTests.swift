import CRemap
import Reload
import XCTest

/// The native heap as a C or Swift user sees it: remap semantics, hashed
/// collections after a remap, handles, weak references, finalizers, errors.
final class HeapTests: HeapTestCase {
    typealias Obj = UnsafeMutablePointer<rm_object>


    func int(_ v: Int64) -> Obj { rm_int(v)! }
    func str(_ s: String) -> Obj { rm_str(s)! }
    func cls(_ name: String) -> Obj { rm_class_new(name, nil, nil)! }
    func function(_ name: String, returning value: Int64) -> Obj {
        let fn: rm_cfunction = value == 1
            ? { _, _, _ in rm_int(1) }
            : { _, _, _ in rm_int(2) }
        return rm_function_new(name, fn, 0, nil, nil)!
    }

    /// Remaps `pairs` and returns the report; fails the test on error.
    func remap(_ pairs: [(Obj, Obj)], file: StaticString = #filePath, line: UInt = #line) -> rm_remap_report {
        let m = rm_mapping_new()!
        defer { rm_mapping_free(m) }
        for (old, new) in pairs {
            XCTAssertEqual(rm_mapping_add(m, old, new), 0, String(cString: rm_error_message()), file: file, line: line)
        }
        var report = rm_remap_report()
        XCTAssertEqual(rm_remap(m, &report), 0, String(cString: rm_error_message()), file: file, line: line)
        return report
    }

    func assertHeapValid(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try runtime.checkHeap(), file: file, line: line)
    }

    /// The mapping is applied once, simultaneously, to every slot: a swap
    /// swaps, a chain a->b, b->c turns a into b (never c), a 3-cycle rotates.
    func assertAppliedOnce(_ mapping: [(String, String)], from items: [String], to expected: [String],
                           file: StaticString = #filePath, line: UInt = #line) throws {
        try runtime.withLock {
            var objects: [String: Obj] = [:]
            for name in Set(items + mapping.flatMap { [$0.0, $0.1] }) { objects[name] = str(name) }
            let list = rm_list_new(0)!
            let root = try Ref(list)
            for item in items { rm_list_append(list, objects[item]!) }
            var report = remap(mapping.map { (objects[$0.0]!, objects[$0.1]!) }, file: file, line: line)
            defer { rm_report_clear(&report) }
            let got = (0..<rm_list_size(root.object)).map { i in
                objects.first { $0.value == rm_list_get(root.object, i) }?.key ?? "?"
            }
            XCTAssertEqual(got, expected, file: file, line: line)
            XCTAssertEqual(report.slots_rewritten, expected.indices.filter { items[$0] != expected[$0] }.count,
                           file: file, line: line)
            assertHeapValid()
        }
    }

    /// Guards: a mapping that made a class its own base (Base -> Derived,
    /// where Derived derives from Base) rewrote Derived's base slot to
    /// Derived, and every attribute lookup through it looped forever
    /// (remap-stress, seed 8077630902545140012). It is refused before
    /// anything is rewritten; through a longer chain too.
    func testAClassIsNeverMadeItsOwnBase() throws {
        try runtime.withLock {
            let base = cls("Base")
            let derived = try XCTUnwrap(rm_class_new("Derived", base, nil))
            let leaf = try XCTUnwrap(rm_class_new("Leaf", derived, nil))
            let roots = try [Ref(base), Ref(derived), Ref(leaf)]
            for pairs in [[(base, derived)], [(base, leaf)], [(derived, leaf)]] {
                let m = rm_mapping_new()!
                defer { rm_mapping_free(m) }
                for (old, new) in pairs { XCTAssertEqual(rm_mapping_add(m, old, new), 0) }
                var report = rm_remap_report()
                XCTAssertEqual(rm_remap(m, &report), -1)
                XCTAssertTrue(String(cString: rm_error_message()).contains("would become its own base"),
                              String(cString: rm_error_message()))
                rm_error_clear()
                let type = { (o: Obj) in UnsafeMutableRawPointer(o).assumingMemoryBound(to: rm_type.self).pointee }
                XCTAssertEqual(type(roots[1].object).cls_base, roots[0].object, "nothing was rewritten")
                XCTAssertEqual(type(roots[2].object).cls_base, roots[1].object)
            }
            // A swap of unrelated classes is still fine.
            var report = remap([(derived, cls("Other"))])
            rm_report_clear(&report)
            assertHeapValid()
        }
    }

    /// Guards: a mapping that made a tuple contain itself (an item of T
    /// mapped to a tuple that holds T) made every hash or comparison of it
    /// recurse forever; the stress test's model had to leave such plans
    /// out. It is refused before anything is rewritten.
    func testATupleIsNeverMadeToContainItself() throws {
        try runtime.withLock {
            let item = str("item")
            var inner: [Object?] = [item]
            let t = try XCTUnwrap(rm_tuple_of(1, &inner))
            var outer: [Object?] = [t]
            let u = try XCTUnwrap(rm_tuple_of(1, &outer))
            let roots = try [Ref(t), Ref(u)]
            let m = rm_mapping_new()!
            defer { rm_mapping_free(m) }
            XCTAssertEqual(rm_mapping_add(m, item, u), 0)
            var report = rm_remap_report()
            XCTAssertEqual(rm_remap(m, &report), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("contain itself"), String(cString: rm_error_message()))
            rm_error_clear()
            XCTAssertEqual(rm_tuple_get(roots[0].object, 0), item, "nothing was rewritten")
            // Mapping the item to a tuple that does not hold t is fine.
            var other: [Object?] = [str("other")]
            let v = try XCTUnwrap(rm_tuple_of(1, &other))
            var fine = remap([(item, v)])
            rm_report_clear(&fine)
            XCTAssertEqual(rm_tuple_get(roots[0].object, 0), v)
            assertHeapValid()
        }
    }

    func testSwapIsAppliedOnce() throws {
        try assertAppliedOnce([("a", "b"), ("b", "a")], from: ["a", "b", "c"], to: ["b", "a", "c"])
    }

    func testChainIsAppliedOnce() throws {
        try assertAppliedOnce([("a", "b"), ("b", "c")], from: ["a", "b", "c"], to: ["b", "c", "c"])
    }

    func testThreeCycleIsAppliedOnce() throws {
        try assertAppliedOnce([("a", "b"), ("b", "c"), ("c", "a")], from: ["a", "b", "c"], to: ["b", "c", "a"])
    }

    func testInstancesGetTheNewClassAndNewFunctions() throws {
        try runtime.withLock {
            let old = cls("Point"), new = cls("Point")
            XCTAssertEqual(rm_class_add_field(old, "x", int(0)), 0)
            XCTAssertEqual(rm_class_add_field(new, "x", int(0)), 0)
            let f1 = function("f", returning: 1), f2 = function("f", returning: 2)
            let holder = rm_list_new(0)!
            let root = try Ref(holder)
            for _ in 0..<1000 {
                let p = rm_instance_alloc(old)!
                rm_instance_set_slot(p, 0, f1)
                rm_list_append(holder, p)
            }
            var report = remap([(old, new), (f1, f2)])
            defer { rm_report_clear(&report) }
            XCTAssertEqual(report.ninstances, 1000)
            XCTAssertEqual(report.slots_rewritten, 2000)
            for i in 0..<1000 {
                let p = rm_list_get(root.object, i)!
                XCTAssertEqual(UnsafeMutableRawPointer(p.pointee.ob_type), UnsafeMutableRawPointer(new))
                XCTAssertTrue(rm_is_instance_of(p, new))
                let result = rm_call(rm_instance_slot(p, 0), nil, 0)!
                XCTAssertEqual(rm_int_value(result), 2)
            }
            assertHeapValid()
        }
    }

    func testDictsAndSetsKeyedByRemappedObjectsFindEveryKey() throws {
        try runtime.withLock {
            let oldClass = cls("K"), newClass = cls("K")
            let oldFn = function("g", returning: 1), newFn = function("g", returning: 2)
            let byClass = rm_dict_new()!, byTuple = rm_dict_new()!, classes = rm_set_new()!
            let roots = try [byClass, byTuple, classes].map { try Ref($0) }
            XCTAssertEqual(rm_dict_set(byClass, oldClass, int(1)), 0)
            var items: [Obj?] = [oldClass, oldFn, int(7)]
            XCTAssertEqual(rm_dict_set(byTuple, rm_tuple_of(3, &items), int(2)), 0)
            XCTAssertEqual(rm_set_add(classes, oldClass), 0)
            var report = remap([(oldClass, newClass), (oldFn, newFn)])
            defer { rm_report_clear(&report) }
            XCTAssertGreaterThanOrEqual(report.ntables, 3, "every table with a remapped key is reported")
            for i in 0..<report.ntables {
                let t = report.tables[i]!
                var collisions = 0
                if rm_is_set(t) {
                    XCTAssertEqual(rm_set_rehash(t, &collisions), 0)
                } else {
                    XCTAssertEqual(rm_dict_rehash(t, &collisions), 0)
                }
                XCTAssertEqual(collisions, 0)
            }
            XCTAssertEqual(rm_int_value(rm_dict_get(roots[0].object, newClass)), 1)
            var newItems: [Obj?] = [newClass, newFn, int(7)]
            XCTAssertEqual(rm_int_value(rm_dict_get(roots[1].object, rm_tuple_of(3, &newItems))), 2)
            XCTAssertEqual(rm_set_contains(roots[2].object, newClass), 1)
            assertHeapValid()
        }
    }

    func testKeysThatBecomeEqualKeepTheNewerEntry() throws {
        try runtime.withLock {
            let a = cls("A"), b = cls("B")
            let d = rm_dict_new()!
            let root = try Ref(d)
            XCTAssertEqual(rm_dict_set(d, a, int(1)), 0)
            XCTAssertEqual(rm_dict_set(d, b, int(2)), 0)
            var report = remap([(a, b)])
            defer { rm_report_clear(&report) }
            var collisions = 0
            XCTAssertEqual(rm_dict_rehash(root.object, &collisions), 0)
            XCTAssertEqual(collisions, 1)
            XCTAssertEqual(rm_dict_size(root.object), 1)
            XCTAssertEqual(rm_int_value(rm_dict_get(root.object, b)), 2)
            assertHeapValid()
        }
    }

    func testHandlesAndWeakReferencesFollowTheRemap() throws {
        try runtime.withLock {
            let old = cls("H"), new = cls("H")
            let ref = try Ref(old)
            let weak = rm_weakref_new(old)!
            let weakRoot = try Ref(weak)
            var report = remap([(old, new)])
            defer { rm_report_clear(&report) }
            XCTAssertEqual(ref.object, new)
            XCTAssertEqual(report.handles_rewritten, 1)
            XCTAssertEqual(rm_weakref_get(weakRoot.object), new)
        }
    }

    func testWeakReferenceIsClearedWhenItsTargetDies() throws {
        try runtime.withLock {
            let weakRoot = try makeWeakReferenceToGarbage()
            let strongTarget = try Ref(rm_list_new(0)!)
            let weakToLive = try Ref(rm_weakref_new(strongTarget.object)!)
            // Boehm scans stacks conservatively: the garbage is made in a
            // frame that is gone, and the stack is overwritten before the
            // collections.
            overwriteStack()
            for _ in 0..<3 { runtime.collect() }
            XCTAssertNil(rm_weakref_get(weakRoot.object))
            XCTAssertEqual(rm_weakref_get(weakToLive.object), strongTarget.object)
        }
    }

    @inline(never)
    func makeWeakReferenceToGarbage() throws -> Ref {
        try Ref(rm_weakref_new(rm_list_new(0))!)
    }

    @inline(never)
    func overwriteStack() {
        rm_scrub_stack()
        for _ in 0..<1000 { _ = rm_list_new(4) }
    }

    /// Guards issue 13, bug 1: a dead capsule without a finalizer gave back
    /// the queue room another capsule had reserved, so with 128 finalized
    /// capsules kept, 128 plain ones dead, and 128 more finalized ones, only
    /// 128 of the 256 finalizers ran.
    func testEveryCapsuleFinalizerRunsWhenPlainCapsulesDie() throws {
        // The capsules are made on threads that end before each collection:
        // a finished thread's stack is not scanned, so no stale stack word
        // of this test's frames can keep a batch alive (which made the count
        // 128 now and then, the same as the bug).
        try runtime.withLock { scrubAndCollect() } // other tests' capsules first
        BatchCounter.finalized = 0
        let kept = try onFreshThread { try self.makeCapsules(128, finalized: true) }
        // The batches that die return nothing: a returned Ref (a handle)
        // would live as long as the thread object that carried it.
        try onFreshThread { _ = try self.makeCapsules(128, finalized: false) }
        try runtime.withLock { scrubAndCollect() }
        try onFreshThread { _ = try self.makeCapsules(128, finalized: true) }
        try runtime.withLock {
            kept.object = Objects.none
            scrubAndCollect()
        }
        XCTAssertEqual(BatchCounter.finalized, 256, "every finalizer runs, once")
    }

    /// Runs `body` holding the lock on a new thread, which detaches and ends
    /// before this returns.
    @discardableResult
    func onFreshThread<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Thread {
            box.result = Result { try self.runtime.withLock { try body() } }
            self.runtime.detachThread()
            done.signal()
        }.start()
        done.wait()
        return try box.result!.get()
    }

    /// Capsules in a list, made in a frame of their own so no local keeps them.
    @inline(never) @discardableResult
    func makeCapsules(_ count: Int, finalized: Bool) throws -> Ref {
        let list = try Ref(rm_list_new(0)!)
        for _ in 0..<count {
            let capsule = finalized ? rm_capsule_new(nil, "f") { _ in BatchCounter.finalized += 1 } : rm_capsule_new(nil, "plain", nil)
            XCTAssertEqual(rm_list_append(list.object, capsule), 0)
        }
        return list
    }

    @inline(never)
    func scrubAndCollect() {
        for _ in 0..<3 { runtime.collect() }
    }

    func testCapsuleFinalizerRunsOnceAfterCollection() throws {
        CapsuleCounter.finalized = 0
        try runtime.withLock {
            for _ in 0..<100 {
                _ = rm_capsule_new(nil, "test") { _ in CapsuleCounter.finalized += 1 }
            }
            let kept = try Ref(rm_capsule_new(nil, "kept") { _ in CapsuleCounter.finalized += 1000 }!)
            for _ in 0..<3 { runtime.collect() }
            XCTAssertGreaterThan(CapsuleCounter.finalized, 90, "most dead capsules are finalized")
            XCTAssertLessThanOrEqual(CapsuleCounter.finalized, 100, "no capsule twice, the live one never")
            _ = kept
        }
    }

    func testImmortalObjectsCannotBeRemapped() throws {
        try runtime.withLock {
            let m = rm_mapping_new()!
            defer { rm_mapping_free(m) }
            XCTAssertEqual(rm_mapping_add(m, rm_get_none(), cls("X")), -1)
            XCTAssertEqual(rm_error_occurred(), RM_ERR_VALUE)
            XCTAssertTrue(String(cString: rm_error_message()).contains("immortal"))
            rm_error_clear()
            let a = cls("A")
            XCTAssertEqual(rm_mapping_add(m, a, cls("B")), 0)
            XCTAssertEqual(rm_mapping_add(m, a, cls("C")), -1, "an object mapped twice is refused")
            rm_error_clear()
        }
    }

    func testReferrersFindsEveryHolder() throws {
        try runtime.withLock {
            let target = str("target")
            let l = rm_list_new(0)!, d = rm_dict_new()!
            let roots = try [Ref(l), Ref(d), Ref(target)]
            rm_list_append(l, target)
            rm_dict_set(d, str("k"), target)
            var handles = 0
            let found = rm_referrers(target, &handles)!
            var holders: Set<UnsafeMutableRawPointer> = []
            for i in 0..<rm_list_size(found) { holders.insert(UnsafeMutableRawPointer(rm_list_get(found, i)!)) }
            XCTAssertTrue(holders.contains(UnsafeMutableRawPointer(l)))
            XCTAssertTrue(holders.contains(UnsafeMutableRawPointer(d)))
            XCTAssertEqual(handles, 1)
            _ = roots
        }
    }

    func testStatisticsCountObjectsByType() throws {
        try runtime.withLock {
            let point = cls("StatsPoint")
            let holder = rm_list_new(0)!
            let root = try Ref(holder)
            for _ in 0..<500 { rm_list_append(holder, rm_instance_alloc(point)) }
            var stats = rm_heap_stats()
            rm_heap_stats_get(&stats)
            let lines = withUnsafeBytes(of: &stats.types) { raw in
                Array(raw.bindMemory(to: rm_type_stats.self).prefix(stats.ntypes))
            }
            let points = lines.first { $0.type.map { UnsafeRawPointer($0) } == UnsafeRawPointer(point) }
            XCTAssertEqual(points?.objects, 500)
            XCTAssertGreaterThan(stats.bytes, 500 * 24)
            _ = root
        }
    }

    /// A type defined the way C user code defines one: two object slots
    /// after the header, which its own traverse visits. Returns it and its
    /// instances' size.
    func twoSlotType(_ name: String) throws -> (UnsafeMutablePointer<rm_type>, Int) {
        let size = MemoryLayout<rm_object>.size + 2 * MemoryLayout<UnsafeMutableRawPointer>.size
        let type = try XCTUnwrap(rm_type_new(name, size) { obj, visit, arg in
            let slots = UnsafeMutableRawPointer(obj!).advanced(by: MemoryLayout<rm_object>.size)
                .assumingMemoryBound(to: Optional<UnsafeMutablePointer<rm_object>>.self)
            for i in 0..<2 where slots[i] != nil {
                let rc = visit!(slots.advanced(by: i), arg)
                if rc != 0 { return rc }
            }
            return 0
        })
        return (type, size)
    }

    /// A type defined by C user code: a pair whose two slots its own traverse
    /// visits. Remap, the checker, referrers and the collector all go through it.
    /// Guards issue 24, item 1: a type whose traverse and tp_fixed (the
    /// offsets the remap walk reads) disagree fails the heap checker, both
    /// ways; when they agree it passes.
    func testTraverseAndFixedSlotsMustAgree() throws {
        try runtime.withLock {
            let (type, size) = try twoSlotType("twoslots")
            let object = try XCTUnwrap(rm_alloc(type, size))
            let root = try Ref(object)
            let slots = UnsafeMutableRawPointer(root.object).advanced(by: MemoryLayout<rm_object>.size)
                .assumingMemoryBound(to: Optional<UnsafeMutablePointer<rm_object>>.self)
            slots[0] = str("first")
            slots[1] = str("second")
            // The walk would read only the first slot: the second is missing.
            type.pointee.tp_layout = UInt8(RM_LAYOUT_FIXED.rawValue)
            type.pointee.tp_nfixed = 1
            type.pointee.tp_fixed.0 = 16
            XCTAssertEqual(rm_heap_check(), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("offset 24"), String(cString: rm_error_message()))
            rm_error_clear()
            // A slot listed that traverse does not visit.
            type.pointee.tp_nfixed = 3
            type.pointee.tp_fixed.1 = 24
            type.pointee.tp_fixed.2 = 8
            XCTAssertEqual(rm_heap_check(), -1)
            rm_error_clear()
            type.pointee.tp_nfixed = 2
            XCTAssertEqual(rm_heap_check(), 0, String(cString: rm_error_message()))
            root.object = Objects.none
        }
    }

    /// Guards issue 24, item 1: "leaf" has one definition (rm_type_is_leaf:
    /// RM_TYPE_ATOMIC, which decides allocation and registry, and
    /// RM_LAYOUT_LEAF, which the walk reads, together). A type whose flag
    /// and layout disagree, or a leaf whose traverse visits a slot (Boehm
    /// does not scan it), fails the heap checker.
    func testALeafIsAtomicAndLaidOutAsALeaf() throws {
        try runtime.withLock {
            let size = MemoryLayout<rm_object>.size + MemoryLayout<UnsafeMutableRawPointer>.size
            let leaf = try XCTUnwrap(rm_type_new("plainleaf", size, nil))
            let object = try XCTUnwrap(rm_alloc(leaf, size))
            let root = try Ref(object)
            XCTAssertEqual(rm_heap_check(), 0, "a user type without traverse is a leaf, both ways")
            leaf.pointee.tp_layout = UInt8(RM_LAYOUT_TRAVERSE.rawValue)
            XCTAssertEqual(rm_heap_check(), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("RM_LAYOUT_LEAF disagree"),
                          String(cString: rm_error_message()))
            rm_error_clear()
            // Atomic and laid out as a leaf, but a traverse that visits a slot.
            leaf.pointee.tp_layout = UInt8(RM_LAYOUT_LEAF.rawValue)
            leaf.pointee.tp_traverse = { obj, visit, arg in
                let slot = UnsafeMutableRawPointer(obj!).advanced(by: MemoryLayout<rm_object>.size)
                    .assumingMemoryBound(to: Optional<UnsafeMutablePointer<rm_object>>.self)
                return visit!(slot, arg)
            }
            XCTAssertEqual(rm_heap_check(), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("is a leaf"), String(cString: rm_error_message()))
            rm_error_clear()
            leaf.pointee.tp_traverse = nil
            XCTAssertEqual(rm_heap_check(), 0, String(cString: rm_error_message()))
            root.object = Objects.none
        }
    }

    func testUserDefinedTypeWithItsOwnTraverse() throws {
        try runtime.withLock {
            let (pairType, size) = try twoSlotType("pair")
            func slot(_ pair: Obj, _ i: Int) -> UnsafeMutablePointer<Obj?> {
                UnsafeMutableRawPointer(pair).advanced(by: MemoryLayout<rm_object>.size + 8 * i)
                    .assumingMemoryBound(to: Obj?.self)
            }
            let old = cls("Old"), new = cls("New")
            let pair = try XCTUnwrap(rm_alloc(pairType, size))
            let root = try Ref(pair)
            slot(pair, 0).pointee = old
            slot(pair, 1).pointee = str("kept alive only by the pair")
            runtime.collect()
            XCTAssertEqual(try Objects.stringValue(slot(root.object, 1).pointee!), "kept alive only by the pair")
            var handles = 0
            let referrers = try XCTUnwrap(rm_referrers(old, &handles))
            XCTAssertEqual(rm_list_size(referrers), 1)
            var report = remap([(old, new)])
            defer { rm_report_clear(&report) }
            XCTAssertEqual(slot(root.object, 0).pointee, new)
            XCTAssertEqual(report.slots_rewritten, 1)
            assertHeapValid()
        }
    }

    /// Regression: a remap made a tuple contain itself (a tuple mapped to a
    /// tuple holding it), and hashing it overflowed the stack in rehash,
    /// lookups and the heap checker. Found by remap-stress at full size.
    /// Such a mapping is now refused before anything is rewritten: the
    /// dict keyed by the tuple keeps finding it.
    func testSelfContainingTupleIsRefusedNotMade() throws {
        try runtime.withLock {
            let inner = rm_tuple_new(0)!
            var items: [Obj?] = [inner]
            let outer = rm_tuple_of(1, &items)!
            let dict = try Ref(rm_dict_new()!)
            XCTAssertEqual(rm_dict_set(dict.object, outer, int(1)), 0)
            let m = rm_mapping_new()!
            defer { rm_mapping_free(m) }
            XCTAssertEqual(rm_mapping_add(m, inner, outer), 0)   // outer would become (outer,)
            var report = rm_remap_report()
            XCTAssertEqual(rm_remap(m, &report), -1)
            XCTAssertTrue(String(cString: rm_error_message()).contains("contain itself"), String(cString: rm_error_message()))
            rm_error_clear()
            XCTAssertEqual(try Objects.intValue(try check(rm_dict_get(dict.object, outer))), 1)
            assertHeapValid()
        }
    }

    func testErrorsAreReportedNotFatal() throws {
        try runtime.withLock {
            let l = rm_list_new(0)!
            XCTAssertNil(rm_list_get(l, 3))
            XCTAssertEqual(rm_error_occurred(), RM_ERR_INDEX)
            rm_error_clear()
            XCTAssertEqual(rm_dict_set(rm_dict_new(), rm_list_new(0), rm_get_none()), -1)
            XCTAssertEqual(rm_error_occurred(), RM_ERR_TYPE)
            rm_error_clear()
            XCTAssertNil(rm_call(int(3), nil, 0))
            XCTAssertTrue(String(cString: rm_error_message()).contains("not callable"))
            rm_error_clear()
        }
    }
}

enum CapsuleCounter {
    nonisolated(unsafe) static var finalized = 0
}

/// The batches' finalizers alone: a capsule of another test that a stale
/// stack word kept until now may be finalized during these collections.
enum BatchCounter {
    nonisolated(unsafe) static var finalized = 0
}

/// A thread's result, handed back after the thread ended.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
