import CRemap
import Foundation
import Reload
import XCTest

/// Reloads that change inheritance: a method that moves into the base
/// class, reload hooks that a new version removes, and subclasses defined
/// at run time in a module that is not reloaded. Fixtures: Tests/Modules.
final class ReloadInheritanceTests: ModuleTestCase {

    func classPart(_ cls: Object) -> rm_type {
        UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self).pointee
    }

    /// The class's own attribute named `name`, not an inherited one.
    func own(_ cls: Object, _ name: String) -> Object? {
        rm_dict_get_str(classPart(cls).cls_dict, name)
    }

    func base(_ cls: Object) -> Object? { classPart(cls).cls_base }

    func classOf(_ instance: Object) -> Object {
        UnsafeMutableRawPointer(instance.pointee.ob_type).assumingMemoryBound(to: rm_object.self)
    }

    // MARK: - Moved methods

    /// Guards: a method removed from a subclass whose new base now defines
    /// it was treated as removed (kept as the old override under `keep`, a
    /// tombstone under `tombstone`), so old instances and bound methods ran
    /// v1's Sub.m (1) or failed, instead of the inherited Base.m (2).
    func testMethodMovedIntoTheBaseClassIsInherited() throws {
        for policy in [RemovedPolicy.keep, .tombstone] {
            try setUpWithError()
            try folder.buildModule("moved", from: "moved.c", version: 1)
            try runtime.withLock {
                try loader.load("moved")
                let instance = try Ref(try Objects.call(try loader.resolve("moved.Sub"), []))
                let bound = try Ref(try Objects.getAttribute(instance.object, "m"))
                XCTAssertEqual(try int(Objects.callMethod(instance.object, "m")), 1)
                XCTAssertEqual(try int(Objects.call(bound.object, [])), 1)

                try folder.buildModule("moved", from: "moved.c", version: 2)
                let report = try loader.reload(["moved"], options: .init(onRemoved: policy))
                XCTAssertEqual(try int(Objects.callMethod(instance.object, "m")), 2, "\(policy): old instance")
                XCTAssertEqual(try int(Objects.call(bound.object, [])), 2, "\(policy): bound method captured before")
                let sub = try loader.resolve("moved.Sub"), base = try loader.resolve("moved.Base")
                XCTAssertEqual(classOf(instance.object), sub)
                XCTAssertNil(own(sub, "m"), "\(policy): Sub has no m of its own any more")
                let inherited = try XCTUnwrap(own(base, "m"))
                XCTAssertEqual(rm_class_lookup(sub, try Objects.string("m")), inherited)
                XCTAssertEqual(try Objects.getAttribute(sub, "m"), inherited, "getattr on the class: Base's function")
                XCTAssertEqual(rm_method_function(bound.object), inherited)
                XCTAssertEqual(report.kept, [], "\(policy)")
                XCTAssertEqual(report.tombstoned, [], "\(policy)")
                XCTAssertFalse(report.removed.contains("moved.Sub.m"), "\(report.removed)")
                try runtime.checkHeap()
            }
        }
    }

    /// Loads moved v1 built with BOTH: an old Sub and Base instance, and
    /// their bound methods m, each held by a Ref. Holding the lock.
    func loadMovedWithBoth() throws -> (sub: Ref, base: Ref, boundSub: Ref, boundBase: Ref) {
        try loader.load("moved")
        let sub = try Ref(try Objects.call(try loader.resolve("moved.Sub"), []))
        let base = try Ref(try Objects.call(try loader.resolve("moved.Base"), []))
        return (sub, base, try Ref(try Objects.getAttribute(sub.object, "m")),
                try Ref(try Objects.getAttribute(base.object, "m")))
    }

    /// Guards: two old methods (Base.m and the override Sub.m) that map to
    /// one new method (Base.m) must both end up there: the old Sub instance
    /// answers v2's Base.m (20), never v1's override (1) or v1's base (10).
    func testTwoOldMethodsMapToOneInheritedMethod() throws {
        try folder.buildModule("moved", from: "moved.c", version: 1, defines: ["BOTH=1"])
        try runtime.withLock {
            let (sub, base, boundSub, boundBase) = try loadMovedWithBoth()
            XCTAssertEqual(try int(Objects.callMethod(sub.object, "m")), 1)
            XCTAssertEqual(try int(Objects.callMethod(base.object, "m")), 10)

            try folder.buildModule("moved", from: "moved.c", version: 2, defines: ["BOTH=1"])
            _ = try loader.reload(["moved"])
            XCTAssertEqual(try int(Objects.callMethod(sub.object, "m")), 20, "old Sub instance")
            XCTAssertEqual(try int(Objects.callMethod(base.object, "m")), 20, "old Base instance")
            XCTAssertEqual(try int(Objects.call(boundSub.object, [])), 20)
            XCTAssertEqual(try int(Objects.call(boundBase.object, [])), 20)
            let newSub = try loader.resolve("moved.Sub"), newBase = try loader.resolve("moved.Base")
            XCTAssertNil(own(newSub, "m"))
            XCTAssertEqual(rm_method_function(boundSub.object), own(newBase, "m"))
            XCTAssertEqual(rm_method_function(boundBase.object), own(newBase, "m"))
            try runtime.checkHeap()
        }
    }

    /// Guards issue 10, item 2: rolling back a reload whose mapping has no
    /// inverse (two old methods mapped to one new one) aborted the process.
    /// Now the walk logs those rewrites and a failure at the very end (the
    /// last publish) puts every holder back on its own old method.
    func testRollbackOfAMappingWithoutInverse() throws {
        try folder.buildModule("moved", from: "moved.c", version: 1, defines: ["BOTH=1"])
        try runtime.withLock {
            let (sub, _, boundSub, boundBase) = try loadMovedWithBoth()
            let subM = rm_method_function(boundSub.object), baseM = rm_method_function(boundBase.object)
            let holder = try Ref(try check(rm_list_new(0)))
            try check(rm_list_append(holder.object, subM!))
            try check(rm_list_append(holder.object, baseM!))

            try folder.buildModule("moved", from: "moved.c", version: 2, defines: ["BOTH=1"])
            FaultInjection.resetCounts()
            try FaultInjection.arm("publish", occurrence: 1)
            XCTAssertThrowsError(try loader.reload(["moved"]))
            FaultInjection.resetCounts()
            XCTAssertEqual(rm_method_function(boundSub.object), subM, "each holder has its own old method back")
            XCTAssertEqual(rm_method_function(boundBase.object), baseM)
            XCTAssertEqual(rm_list_get(holder.object, 0), subM)
            XCTAssertEqual(rm_list_get(holder.object, 1), baseM)
            XCTAssertEqual(try int(Objects.call(boundSub.object, [])), 1)
            XCTAssertEqual(try int(Objects.call(boundBase.object, [])), 10)
            XCTAssertEqual(try int(Objects.callMethod(sub.object, "m")), 1)
            try runtime.checkHeap()
            _ = try loader.reload(["moved"])
            XCTAssertEqual(try int(Objects.call(boundSub.object, [])), 20, "and the same reload then succeeds")
        }
    }

    // MARK: - Removed hooks

    /// Guards: a module `__reload__` and a class `__reload__` that v2
    /// removes were kept (policy keep) or tombstoned like any removed
    /// definition, so the next reload of v2 ran v1's hooks again (or failed
    /// calling a tombstone). Removed hooks are gone: the second reload of v2
    /// runs no hook and the counters the hooks bump do not move.
    func testRemovedReloadHooksStayRemoved() throws {
        for policy in [RemovedPolicy.keep, .tombstone] {
            try setUpWithError()
            try folder.buildModule("hooked", from: "hooked.c", version: 1)
            try runtime.withLock {
                try loader.load("hooked")
                let things = try (0..<3).map { _ in try Ref(try Objects.call(try loader.resolve("hooked.Thing"), [])) }
                let counts = try Ref(try loader.resolve("hooked.counts"))
                func observed() throws -> [Int] { try (0..<2).map { try int(rm_list_get(counts.object, $0)!) } }
                let options = ReloadOptions(onRemoved: policy)

                // The hooks count: v1 -> v1 runs both.
                try folder.buildModule("hooked", from: "hooked.c", version: 1)
                let again = try loader.reload(["hooked"], options: options)
                XCTAssertEqual(again.moduleHooksRun, 1)
                XCTAssertEqual(again.instanceHooksRun, 3)
                XCTAssertEqual(try observed(), [1, 3])

                // v2 has no hook: none runs, the removed ones are not kept.
                try folder.buildModule("hooked", from: "hooked.c", version: 2)
                let removing = try loader.reload(["hooked"], options: options)
                XCTAssertEqual(removing.moduleHooksRun, 0)
                XCTAssertEqual(removing.instanceHooksRun, 0)
                XCTAssertEqual(try observed(), [1, 3])
                XCTAssertEqual(Set(removing.removed), ["hooked.__reload__", "hooked.Thing.__reload__"])
                XCTAssertEqual(removing.kept, [], "\(policy)")
                XCTAssertEqual(removing.tombstoned, [], "\(policy)")

                // v2 again, from a rebuilt identical file.
                try folder.buildModule("hooked", from: "hooked.c", version: 2)
                let report = try loader.reload(["hooked"], options: options)
                XCTAssertEqual(report.moduleHooksRun, 0, "\(policy): no module hook runs")
                XCTAssertEqual(report.instanceHooksRun, 0, "\(policy): no class hook runs")
                XCTAssertEqual(try observed(), [1, 3], "\(policy): the counters did not move")
                XCTAssertEqual(report.removed, [])
                XCTAssertEqual(report.modules.first?.toGeneration, 4)

                let namespace = rm_module_dict(try XCTUnwrap(loader.module(named: "hooked")))
                XCTAssertNil(rm_dict_get_str(namespace, "__reload__"), "\(policy): module hook gone")
                let thing = try loader.resolve("hooked.Thing")
                XCTAssertNil(own(thing, "__reload__"), "\(policy): class hook gone")
                XCTAssertNil(rm_class_lookup(thing, try Objects.string("__reload__")))
                for t in things { XCTAssertEqual(classOf(t.object), thing) }
                XCTAssertEqual(try int(loader.call("hooked.version")), 2)
                try runtime.checkHeap()
            }
        }
    }

    // MARK: - Subclasses in a module that is not reloaded

    /// Guards: a class derived from a reloaded class in another module,
    /// which does not import it and is not reloaded (leafmod's Circle, and
    /// Dot derived from Circle), kept the old base's layout: old instances
    /// missed the new field y and the new base's hook, new instances lacked
    /// y, and isinstance against the new Shape failed. Such classes are
    /// rebased onto the new class (a new class object) and their instances
    /// migrate.
    func testSubclassesInAModuleThatIsNotReloadedAreRebased() throws {
        try folder.buildModule("shapebase", from: "shapebase.c", version: 1)
        try folder.buildModule("leafmod", from: "leafmod.c", version: 1)
        try runtime.withLock {
            try loader.load("shapebase")
            try loader.load("leafmod")
            let shape1 = try loader.resolve("shapebase.Shape")
            let circleClass = try Ref(try loader.call("leafmod.define", [shape1]))
            let dotClass = try Ref(try loader.call("leafmod.define_sub", [circleClass.object]))
            let oldCircle = UInt(bitPattern: circleClass.object), oldDot = UInt(bitPattern: dotClass.object)
            let circle = try Ref(try loader.call("leafmod.make"))
            XCTAssertEqual(rm_setattr(circle.object, "r", try Objects.int(9)), 0)
            let dot = try Ref(try loader.call("leafmod.make_dot"))
            XCTAssertEqual(rm_setattr(dot.object, "x", try Objects.int(2)), 0)
            XCTAssertEqual(rm_setattr(dot.object, "d", try Objects.int(4)), 0)
            XCTAssertNil(rm_getattr(circle.object, "y"))
            rm_error_clear()

            try folder.buildModule("shapebase", from: "shapebase.c", version: 2)
            let report = try loader.reload(["shapebase"])
            XCTAssertEqual(report.modules.map(\.name), ["shapebase"], "leafmod is not reloaded")
            XCTAssertEqual(report.instanceHooksRun, 2, "Shape.__reload__ ran on the old Circle and the old Dot")
            let shape2 = try loader.resolve("shapebase.Shape")
            XCTAssertNotEqual(shape1, shape2)
            let classes = try loader.resolve("leafmod.classes")
            let circle2 = try XCTUnwrap(rm_dict_get_str(classes, "Circle"))
            let dot2 = try XCTUnwrap(rm_dict_get_str(classes, "Dot"))

            // Circle: rebased onto the new Shape.
            XCTAssertNotEqual(UInt(bitPattern: circle2), oldCircle, "Circle is a new class object")
            XCTAssertEqual(base(circle2), shape2, "its base is the new Shape")
            XCTAssertEqual(circleClass.object, circle2, "references to the old Circle see the new one")
            XCTAssertEqual(classOf(circle.object), circle2)
            XCTAssertEqual(try int(Objects.getAttribute(circle.object, "x")), 101, "the new base's hook ran")
            XCTAssertEqual(try int(Objects.getAttribute(circle.object, "y")), 7, "the new base's field")
            XCTAssertEqual(try int(Objects.getAttribute(circle.object, "r")), 9, "its own field kept")
            XCTAssertTrue(rm_is_instance_of(circle.object, shape2))
            let fresh = try loader.call("leafmod.make")
            XCTAssertEqual(try [int(Objects.getAttribute(fresh, "x")), int(Objects.getAttribute(fresh, "y")),
                                int(Objects.getAttribute(fresh, "r"))], [1, 7, 5])
            XCTAssertTrue(rm_is_instance_of(fresh, shape2))

            // Dot, derived from Circle: rebased onto the new Circle.
            XCTAssertNotEqual(UInt(bitPattern: dot2), oldDot, "Dot is a new class object")
            XCTAssertEqual(base(dot2), circle2, "its base is the new Circle")
            XCTAssertEqual(dotClass.object, dot2)
            XCTAssertEqual(classOf(dot.object), dot2)
            XCTAssertEqual(try [int(Objects.getAttribute(dot.object, "x")), int(Objects.getAttribute(dot.object, "y")),
                                int(Objects.getAttribute(dot.object, "r")), int(Objects.getAttribute(dot.object, "d"))],
                           [102, 7, 5, 4])
            XCTAssertTrue(rm_is_instance_of(dot.object, shape2))
            XCTAssertTrue(rm_is_instance_of(dot.object, circle2))
            let freshDot = try loader.call("leafmod.make_dot")
            XCTAssertEqual(try [int(Objects.getAttribute(freshDot, "x")), int(Objects.getAttribute(freshDot, "y")),
                                int(Objects.getAttribute(freshDot, "r")), int(Objects.getAttribute(freshDot, "d"))],
                           [1, 7, 5, 3])
            XCTAssertTrue(rm_is_instance_of(freshDot, shape2))
            try runtime.checkHeap()
        }
    }
}
