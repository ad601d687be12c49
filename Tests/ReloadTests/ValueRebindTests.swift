import CRemap
import Reload
import XCTest

/// Values are rebound by name, never remapped by identity (issue 20, item 1).
///
/// The bug it guards: `rm_def_value` values were paired old -> new like
/// functions, so a reload rewrote every slot holding the old value: an
/// instance field set from `config.BIG` changed from 5000 to 6000 when the
/// config was edited. And since small ints are cached, `from config import
/// TAX_BP` of an int in -256...1023 was paired with itself (same object)
/// and kept the old value.
final class ValueRebindTests: ModuleTestCase {
    /// config: every kind of shared value a module defines, version `v`.
    func defineConfig(_ v: Int) {
        loader.define(ModuleDefinition("config") { m in
            try m.value("BIG", try Objects.int(5000 + 1000 * v))        // a fresh int each version
            try m.value("TAX_BP", try Objects.int(500 + 100 * v))       // a cached small int
            try m.value("NAME", try Objects.string("name \(v)"))
            try m.value("FLAG", rm_bool(v.isMultiple(of: 2))!)
            try m.value("NOTHING", v == 0 ? rm_get_none()! : try Objects.int(v))
            try m.value("LIMITS", try check(rm_list_new(0)))
            _ = try m.function("version", arity: 0) { _ in try Objects.int(v) }
        })
    }

    /// service imports every value of config; shop, its user, imports a
    /// value from service (a re-export). Neither is rebuilt by the reload.
    func defineImporters() {
        loader.define(ModuleDefinition("service") { m in
            for name in ["BIG", "TAX_BP", "NAME", "FLAG", "NOTHING", "LIMITS", "version"] {
                _ = try m.importFrom("config", name)
            }
            let item = try m.defineClass("Item")
            try m.field(item, "limit", default: nil)
        })
        loader.define(ModuleDefinition("shop") { m in _ = try m.importFrom("service", "TAX_BP") })
    }

    func testValuesAreReboundByNameAndDataKeepsWhatItWasGiven() throws {
        defineConfig(0)
        defineImporters()
        try runtime.withLock { heap in
            try loader.load("shop")
            // The user's data, each set from a config value.
            let item = try check(rm_instance_new(try loader.resolve("service.Item"), nil, 0))
            try check(rm_setattr(item, "limit", try loader.resolve("config.BIG")))
            let list = try check(rm_list_new(0))
            let dict = try check(rm_dict_new())
            for name in ["BIG", "TAX_BP", "NAME", "FLAG", "NOTHING"] {
                let value = try loader.resolve("config.\(name)")
                try check(rm_list_append(list, value))
                try check(rm_dict_set_str(dict, name, value))
            }
            let data = [try heap.ref(item), try heap.ref(list), try heap.ref(dict),
                        try heap.ref(try loader.resolve("config.BIG"))]
            let before = try heap.json(data[1].object)

            defineConfig(1)
            let report = try loader.reload(["config"])   // no cascade
            XCTAssertEqual(report.rebound, ["service.BIG", "service.FLAG", "service.LIMITS", "service.NAME",
                                            "service.NOTHING", "service.TAX_BP", "shop.TAX_BP"])

            // The namespace and every import binding see the new values...
            for module in ["config", "service"] {
                XCTAssertEqual(try int(loader.resolve("\(module).BIG")), 6000, module)
                XCTAssertEqual(try int(loader.resolve("\(module).TAX_BP")), 600, module)
                XCTAssertEqual(try Objects.stringValue(loader.resolve("\(module).NAME")), "name 1", module)
                XCTAssertEqual(try loader.resolve("\(module).FLAG"), rm_bool(false), module)
                XCTAssertEqual(try int(loader.resolve("\(module).NOTHING")), 1, module)
                XCTAssertEqual(try int(loader.call("\(module).version")), 1, "functions are still remapped")
            }
            XCTAssertEqual(try int(loader.resolve("shop.TAX_BP")), 600, "a re-exported import is rebound too")
            XCTAssertEqual(try loader.resolve("service.LIMITS"), try loader.resolve("config.LIMITS"))

            // ...and the data set from the old values keeps them.
            XCTAssertEqual(try int(Objects.getAttribute(data[0].object, "limit")), 5000, "instance field")
            XCTAssertEqual(try heap.json(data[1].object), before, "list items")
            XCTAssertEqual(try int(try check(rm_dict_get_str(data[2].object, "BIG"))), 5000, "dict value")
            XCTAssertEqual(try int(try check(rm_dict_get_str(data[2].object, "TAX_BP"))), 500, "dict value")
            XCTAssertEqual(try int(data[3].object), 5000, "handle")
            try heap.check()
        }
    }

    func testRolledBackReloadPutsTheOldBindingsBack() throws {
        defineConfig(0)
        defineImporters()
        try runtime.withLock {
            try loader.load("shop")
            defineConfig(1)
            try FaultInjection.arm("publish", occurrence: 1)
            defer { FaultInjection.disarm() }
            XCTAssertThrowsError(try loader.reload(["config"]))
            XCTAssertEqual(try int(loader.resolve("service.TAX_BP")), 500)
            XCTAssertEqual(try int(loader.resolve("shop.TAX_BP")), 500)
            XCTAssertEqual(try int(loader.resolve("service.BIG")), 5000)
            XCTAssertEqual(try int(loader.resolve("config.BIG")), 5000)
        }
    }

    /// Everything a program could observe of the value world: the bindings
    /// and the data set from them.
    func observe(_ data: [Ref]) throws -> [String] {
        var lines: [String] = []
        for module in ["config", "service", "shop"] {
            for name in ["BIG", "TAX_BP", "NAME", "FLAG", "NOTHING"] where module != "shop" || name == "TAX_BP" {
                lines.append("\(module).\(name) = \(Objects.describe(try loader.resolve("\(module).\(name)")))")
            }
        }
        lines.append("service.LIMITS is config.LIMITS: \(try loader.resolve("service.LIMITS") == loader.resolve("config.LIMITS"))")
        lines.append("version() = \(try int(loader.call("service.version")))")
        lines += data.map { Objects.describe($0.object) }
        return lines
    }

    /// Every failure point of a reload that rebinds imports, every
    /// occurrence, failed in turn: each leaves every binding and the data
    /// as they were (the rebinding is journaled with the rest).
    func testEveryFailurePointPutsTheBindingsBack() throws {
        defineConfig(0)
        defineImporters()
        try runtime.withLock { heap in
            try loader.load("shop")
            let item = try check(rm_instance_new(try loader.resolve("service.Item"), nil, 0))
            try check(rm_setattr(item, "limit", try loader.resolve("service.BIG")))
            let data = [try heap.ref(item), try heap.ref(try loader.resolve("config.TAX_BP"))]
            let before = try observe(data)
            defineConfig(1)
            // Count the points of one reload, failing its last step.
            FaultInjection.resetCounts()
            try FaultInjection.arm("publish", occurrence: 1)
            XCTAssertThrowsError(try loader.reload(["config"]))
            XCTAssertEqual(try observe(data), before)
            let counts = FaultInjection.points.map { ($0, FaultInjection.count($0)) }.filter { $0.1 > 0 }
            XCTAssertGreaterThan(counts.count, 3, "\(counts)")
            var failed = 0
            for (point, count) in counts {
                for occurrence in 1...min(count, 200) {
                    FaultInjection.resetCounts()
                    try FaultInjection.arm(point, occurrence: occurrence)
                    XCTAssertThrowsError(try loader.reload(["config"]), "\(point) #\(occurrence)")
                    XCTAssertEqual(try observe(data), before, "\(point) #\(occurrence)")
                    try heap.check()
                    failed += 1
                }
            }
            FaultInjection.resetCounts()
            print("value rebinding: \(failed) failures injected at \(counts.count) points, each rolled back")
            _ = try loader.reload(["config"])
            XCTAssertEqual(try int(loader.resolve("shop.TAX_BP")), 600, "the good reload after them all")
            XCTAssertEqual(try int(Objects.getAttribute(data[0].object, "limit")), 5000)
        }
    }

    /// A value that becomes a function (or back) is rebound, not remapped:
    /// the old int is not turned into a function wherever it is held.
    func testAValueThatChangesKindIsReboundNotRemapped() throws {
        loader.define(ModuleDefinition("config") { m in try m.value("HANDLER", try Objects.int(7)) })
        loader.define(ModuleDefinition("service") { m in _ = try m.importFrom("config", "HANDLER") })
        try runtime.withLock { heap in
            try loader.load("service")
            let held = try heap.ref(try loader.resolve("config.HANDLER"))
            loader.define(ModuleDefinition("config") { m in
                _ = try m.function("HANDLER", arity: 0) { _ in try Objects.int(8) }
            })
            _ = try loader.reload(["config"])
            XCTAssertEqual(try int(held.object), 7)
            XCTAssertEqual(try int(loader.call("service.HANDLER")), 8)
        }
    }
}
