import CRemap

/// Converts between JSON values and heap objects, for the control socket's
/// `call` and `get` requests.
extension JSONValue {
    /// null, bools, numbers, strings, arrays (lists) and objects (dicts with
    /// str keys, inserted in key order). Call holding the lock.
    func makeObject() throws -> Object {
        switch self {
        case .null: return rm_get_none()
        case .bool(let value): return value ? rm_get_true() : rm_get_false()
        case .int(let value): return try check(rm_int(value))
        case .float(let value): return try check(rm_float(value))
        case .string(let value): return try Objects.string(value)
        case .array(let items):
            let list = try check(rm_list_new(items.count))
            for item in items { try check(rm_list_append(list, try item.makeObject())) }
            return list
        case .object(let fields):
            let result = try check(rm_dict_new())
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                try check(rm_dict_set(result, try Objects.string(key), try value.makeObject()))
            }
            return result
        }
    }

    /// The JSON form of an object: containers recursively, anything without
    /// a JSON form as its printable description. A container met again is
    /// not rendered again: a repeat elsewhere is `{"$ref": "#/0/1"}` and a
    /// container inside itself is `{"$cycle": "#/0"}`, each naming where it
    /// was first rendered (a JSON Pointer from the result). So the output
    /// and the time grow with the number of distinct objects, not with the
    /// number of paths to them. Past a depth of 32 a value is its
    /// description; past `maxNodes` values, the rest are "<truncated>".
    /// Call holding the lock.
    init(rendering object: Object, maxNodes: Int = 100_000) {
        var rendering = Rendering(maxNodes: maxNodes)
        self = rendering.render(object, path: "#", depth: 0)
    }

    static let maxDepth = 32

    private struct Rendering {
        let maxNodes: Int
        var nodes = 0
        /// Every container rendered so far, by identity: where it was.
        var firstPath: [UnsafeMutableRawPointer: String] = [:]
        /// The containers being rendered: the current one's ancestors.
        var open: Set<UnsafeMutableRawPointer> = []

        init(maxNodes: Int) { self.maxNodes = maxNodes }

        /// A JSON Pointer reference token.
        static func token(_ key: String) -> String {
            key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
        }

        static func keyName(_ key: Object) -> String {
            rm_is_str(key) ? Objects.text(key) : Objects.describe(key)
        }

        mutating func render(_ object: Object, path: String, depth: Int) -> JSONValue {
            nodes += 1
            if nodes > maxNodes { return .string("<truncated>") }
            if rm_is_none(object) { return .null }
            if rm_is_bool(object) { return .bool(object == rm_get_true()) }
            if rm_is_int(object) { return .int(rm_int_value(object)) }
            if rm_is_float(object) { return .float(rm_float_value(object)) }
            if rm_is_str(object) { return .string(Objects.text(object)) }
            let isList = rm_is_list(object), isTuple = rm_is_tuple(object), isDict = rm_is_dict(object)
            let isInstance = rm_is_instance(object)
            guard isList || isTuple || isDict || isInstance else { return .string(Objects.describe(object)) }
            let key = UnsafeMutableRawPointer(object)
            if let first = firstPath[key] {
                return .object([open.contains(key) ? "$cycle" : "$ref": .string(first)])
            }
            if depth >= JSONValue.maxDepth { return .string(Objects.describe(object)) }
            firstPath[key] = path
            open.insert(key)
            defer { open.remove(key) }
            if isInstance { return instance(object, path: path, depth: depth) }
            if isList || isTuple {
                let count = isList ? rm_list_size(object) : rm_tuple_size(object)
                var items: [JSONValue] = []
                items.reserveCapacity(count)
                for i in 0..<count {
                    let got: Object? = isList ? rm_list_get(object, i) : rm_tuple_get(object, i)
                    items.append(render(got ?? rm_get_none(), path: "\(path)/\(i)", depth: depth + 1))
                }
                return .array(items)
            }
            var result: [String: JSONValue] = [:]
            renderEntries(of: object, into: &result, path: path, depth: depth)
            return .object(result)
        }

        /// Every entry of `dict`, rendered into `result` under its key's
        /// name, at `path`/name.
        mutating func renderEntries(of dict: Object, into result: inout [String: JSONValue], path: String, depth: Int) {
            var pos = 0
            var key: Object?
            var value: Object?
            while rm_dict_next(dict, &pos, &key, &value) {
                guard let key, let value else { continue }
                let name = Self.keyName(key)
                result[name] = render(value, path: "\(path)/\(Self.token(name))", depth: depth + 1)
            }
        }

        /// An instance as {"class": "module.Class", "fields": {name: value}}:
        /// its stored fields, then attributes kept in its dict (fields a
        /// reload moved there, among them). Shared and cyclic like the
        /// containers.
        mutating func instance(_ object: Object, path: String, depth: Int) -> JSONValue {
            guard let type = object.pointee.ob_type else { return .string(Objects.describe(object)) }
            var className = type.pointee.cls_name.map { String(cString: rm_str_cstr($0)) } ?? String(cString: rm_type_name(type))
            if let module = type.pointee.cls_module, let moduleName = rm_module_name(module), rm_is_str(moduleName) {
                className = String(cString: rm_str_cstr(moduleName)) + "." + className
            }
            var fields: [String: JSONValue] = [:]
            if type.pointee.cls_struct != nil, let names = type.pointee.cls_fields {
                // A struct instance: every field, boxed from its bytes (an
                // array as a list).
                for i in 0..<rm_tuple_size(names) {
                    guard let name = rm_tuple_get(names, i), rm_is_str(name) else { continue }
                    let field = String(cString: rm_str_cstr(name))
                    guard let value = rm_getattr_name(object, name) else {
                        rm_error_clear()
                        continue
                    }
                    fields[field] = render(value, path: "\(path)/fields/\(Self.token(field))", depth: depth + 1)
                }
                return .object(["class": .string(className), "fields": .object(fields)])
            }
            if let dict = rm_instance_dict(object) {
                renderEntries(of: dict, into: &fields, path: "\(path)/fields", depth: depth)
            }
            // Every field of the class, as rm_getattr reads it: the stored
            // slot, else the attribute dict (rendered above), else the
            // class default an instance that never wrote it reads.
            if let names = type.pointee.cls_fields {
                let stored = rm_instance_slot_count(object)
                for i in 0..<rm_tuple_size(names) {
                    guard let name = rm_tuple_get(names, i), rm_is_str(name) else { continue }
                    let field = String(cString: rm_str_cstr(name))
                    let value: Object?
                    if i < stored {
                        value = rm_instance_slot(object, i)
                    } else if fields[field] == nil {
                        value = rm_getattr_name(object, name)
                        if value == nil { rm_error_clear() }
                    } else {
                        continue
                    }
                    fields[field] = render(value ?? rm_get_none(), path: "\(path)/fields/\(Self.token(field))",
                                           depth: depth + 1)
                }
            }
            return .object(["class": .string(className), "fields": .object(fields)])
        }
    }
}
