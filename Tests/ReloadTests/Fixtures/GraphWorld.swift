import CRemap
import Foundation
import Reload
import XCTest

/// The world of the fault-injection tests: modules gbase and gmid (which
/// imports gbase) and gleaf (never reloaded, with a class derived at run
/// time from gbase.Shape), 1,000 instances of the three classes kept in
/// gbase's state, tables keyed by classes and functions, host handles.
/// `fingerprint()` renders everything a program could observe of it.
final class GraphWorld {
    let folder: FixtureFolder
    let loader: ModuleLoader
    let instances: Int
    /// Held by the host: a function, an instance, a dict keyed by classes,
    /// a set of functions, a tuple-keyed dict.
    var handles: [Ref] = []

    init(instances: Int = 1000) throws {
        folder = try FixtureFolder()
        loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        self.instances = instances
        try folder.buildModule("gbase", from: "graph_base.c", version: 1)
        try folder.buildModule("gmid", from: "graph_mid.c", version: 1)
        try folder.buildModule("gleaf", from: "graph_leaf.c", version: 1)
        try Runtime.shared.withLock {
            try loader.load("gmid")
            try loader.load("gleaf")
            let shape = try loader.resolve("gbase.Shape"), square = try loader.resolve("gmid.Square")
            let circle = try loader.call("gleaf.define", [shape])
            let registry = try loader.resolve("gbase.registry")
            for i in 0..<instances {
                let made: Object
                switch i % 3 {
                case 0:
                    made = try Objects.call(shape, [])
                    try check(rm_setattr(made, "x", try Objects.int(i % 17)))
                case 1:
                    made = try Objects.call(square, [])
                    try check(rm_setattr(made, "side", try Objects.int(i % 5)))
                default:
                    made = try loader.call("gleaf.make", [try Objects.int(i % 11)])
                }
                try check(rm_list_append(registry, made))
            }
            // Points, whose reload changes their layout and runs nothing.
            let point = try loader.resolve("gbase.Point")
            for i in 0..<(instances / 5) {
                let made = try Objects.call(point, [try Objects.int(i), try Objects.int(-i)])
                try check(rm_list_append(registry, made))
            }
            // Struct instances: Cells (migrated in place, with a hook and an
            // initializer) and Blobs (all moved), one held by a handle and
            // some as dict keys.
            let cell = try loader.resolve("gbase.Cell"), blob = try loader.resolve("gbase.Blob")
            let blobKeys = try check(rm_dict_new())
            var firstBlob: Object?
            // (Few: every hook, initializer and allocation of a reload is a
            // fault point the test fails one by one.)
            for i in 0..<(instances / 50) {
                let c = try Objects.call(cell, [try Objects.int(i - 100), try check(rm_float(Double(i) / 4)),
                                                i % 2 == 0 ? shape : rm_list_get(registry, i)!])
                try check(rm_list_append(registry, c))
                let b = try Objects.call(blob, [try Objects.int(i * 7)])
                try check(rm_list_append(registry, b))
                if i % 3 == 0 { try check(rm_dict_set(blobKeys, b, try Objects.int(i))) }
                if firstBlob == nil { firstBlob = b }
            }
            let version = try loader.resolve("gbase.version")
            let index = try loader.resolve("gbase.index"), seen = try loader.resolve("gbase.seen")
            for (n, key) in [shape, square, circle, version].enumerated() {
                try check(rm_dict_set(index, key, try Objects.int(n)))
                try check(rm_set_add(seen, key))
            }
            let byClass = try check(rm_dict_new()), functions = try check(rm_set_new()), byTuple = try check(rm_dict_new())
            try check(rm_dict_set(byClass, shape, try Objects.string("shape")))
            try check(rm_dict_set(byClass, circle, try Objects.string("circle")))
            try check(rm_set_add(functions, version))
            try check(rm_set_add(functions, try loader.resolve("gbase.old_fn")))
            var items: [Object?] = [square, try Objects.string("k")]
            try check(rm_dict_set(byTuple, try check(rm_tuple_of(2, &items)), try Objects.int(99)))
            handles = try [version, rm_list_get(registry, 0)!, byClass, functions, byTuple, circle, firstBlob!, blobKeys]
                .map { try Ref($0) }
        }
    }

    /// Builds the versions a reload of gbase (cascading to gmid) loads.
    func buildVersion2() throws {
        try folder.buildModule("gbase", from: "graph_base.c", version: 2)
        try folder.buildModule("gmid", from: "graph_mid.c", version: 2)
    }

    let options: ReloadOptions = {
        var options = ReloadOptions()
        options.cascade = true
        options.onRemoved = .tombstone
        return options
    }()

    /// The reload the tests fail at every point. Call it holding the lock.
    func reload() throws -> ReloadReport {
        try loader.reload(["gbase"], options: options)
    }

    // MARK: - Fingerprint

    private func address(_ object: Object) -> String {
        String(UInt(bitPattern: UnsafeMutableRawPointer(object)), radix: 16)
    }

    /// An object's identity, type and, for values, its contents.
    private func ident(_ object: Object?) -> String {
        guard let object else { return "NULL" }
        let type = Objects.typeName(object)
        if rm_is_int(object) || rm_is_str(object) || rm_is_float(object) || rm_is_bool(object) || rm_is_none(object) {
            return "\(type):\(Objects.describe(object))"
        }
        if rm_is_tuple(object) {
            return "tuple@\(address(object))(" + (0..<rm_tuple_size(object)).map { ident(rm_tuple_get(object, $0)) }
                .joined(separator: ",") + ")"
        }
        return "\(type)@\(address(object))"
    }

    private func dictLines(_ dict: Object, _ prefix: String) -> [String] {
        var lines: [String] = []
        var pos = 0
        var key: Object?, value: Object?
        while rm_dict_next(dict, &pos, &key, &value) {
            // Found where it was written, and found again by lookup.
            let found = rm_dict_get(dict, key!)
            lines.append("\(prefix)[\(ident(key))] = \(ident(value)) lookup \(ident(found))")
        }
        rm_error_clear()
        return lines.sorted()
    }

    private func setLines(_ set: Object, _ prefix: String) -> [String] {
        var lines: [String] = []
        var pos = 0
        var key: Object?
        while rm_set_next(set, &pos, &key) {
            lines.append("\(prefix){\(ident(key))} contains \(rm_set_contains(set, key!))")
        }
        return lines.sorted()
    }

    private func instanceLines(_ instance: Object, _ prefix: String) -> [String] {
        var lines = ["\(prefix) \(ident(instance)) class \(address(UnsafeMutableRawPointer(instance.pointee.ob_type).assumingMemoryBound(to: rm_object.self))) slots \(rm_instance_slot_count(instance))"]
        if let type = instance.pointee.ob_type, type.pointee.cls_struct != nil, let names = type.pointee.cls_fields {
            // A struct instance: its bytes, and each field as the API reads it.
            let raw = UnsafeRawPointer(instance)
            let bytes = (8..<rm_sizeof(instance)).map { String(format: "%02x", raw.load(fromByteOffset: $0, as: UInt8.self)) }
            lines.append("\(prefix).bytes = \(bytes.joined())")
            for i in 0..<rm_tuple_size(names) {
                let name = String(cString: rm_str_cstr(rm_tuple_get(names, i)))
                lines.append("\(prefix).\(name) = \(ident(rm_getattr(instance, name)))")
                rm_error_clear()
            }
            return lines
        }
        for slot in 0..<rm_instance_slot_count(instance) {
            lines.append("\(prefix).slot\(slot) = \(ident(rm_instance_slot(instance, slot)))")
        }
        if let dict = rm_instance_dict(instance) { lines += dictLines(dict, "\(prefix).dict") }
        let area = try? Objects.callMethod(instance, "area")
        lines.append("\(prefix).area() = \(area.map(ident) ?? "error: \(String(cString: rm_error_message()))")")
        rm_error_clear()
        return lines
    }

    /// Everything observable: each module's namespace (identities and
    /// values), the kept state's contents, every instance's class and
    /// fields and answer, every table's lookups, the host handles, the
    /// answers of the modules' functions, the loader's modules. Holding the
    /// lock.
    func fingerprint() throws -> [String] {
        var lines: [String] = []
        for info in loader.loadedModules {
            lines.append("module \(info.name) generation \(info.generation) imports \(info.imports)")
            let module = loader.module(named: info.name)!
            lines.append("module \(info.name) object \(ident(module))")
            lines += dictLines(rm_module_dict(module), "\(info.name)")
        }
        let registry = try loader.resolve("gbase.registry")
        for i in 0..<rm_list_size(registry) {
            let item = rm_list_get(registry, i)!
            if rm_is_instance(item) { lines += instanceLines(item, "registry[\(i)]") } else { lines.append("registry[\(i)] = \(ident(item))") }
        }
        lines += dictLines(try loader.resolve("gbase.index"), "index")
        lines += setLines(try loader.resolve("gbase.seen"), "seen")
        let log = try loader.resolve("gbase.log")
        lines.append("log size \(rm_list_size(log))")
        let classes = try loader.resolve("gleaf.classes")
        for i in 0..<rm_list_size(classes) {
            let cls = rm_list_get(classes, i)!
            let type = UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self).pointee
            lines.append("gleaf.classes[\(i)] = \(ident(cls)) base \(ident(type.cls_base)) fields \(ident(type.cls_fields)) defaults \(ident(type.cls_defaults))")
        }
        for (n, handle) in handles.enumerated() {
            let object = handle.object
            lines.append("handle \(n) = \(ident(object))")
            if rm_is_dict(object) { lines += dictLines(object, "handle\(n)") }
            if rm_is_set(object) { lines += setLines(object, "handle\(n)") }
        }
        for function in ["gbase.version", "gmid.call_version", "gbase.old_fn"] {
            let answer = try? loader.call(function)
            lines.append("\(function)() = \(answer.map(ident) ?? "error: \(String(cString: rm_error_message()))")")
            rm_error_clear()
        }
        lines.append("gleaf.make(4).area() = \(ident(try Objects.callMethod(try loader.call("gleaf.make", [try Objects.int(4)]), "area")))")
        try Runtime.shared.checkHeap()
        return lines
    }
}

/// The first line where two fingerprints differ, for a failure message.
func firstDifference(_ a: [String], _ b: [String]) -> String {
    for (x, y) in zip(a, b) where x != y { return "before: \(x)\n after: \(y)" }
    return a.count == b.count ? "none" : "\(a.count) lines before, \(b.count) after"
}

/// A C call that returns -1 or NULL on failure, as a thrown error.
func check(_ status: Int32) throws {
    if status != 0 { throw FixtureError.core(String(cString: rm_error_message())) }
}

@discardableResult
func check(_ object: Object?) throws -> Object {
    guard let object else { throw FixtureError.core(String(cString: rm_error_message())) }
    return object
}
