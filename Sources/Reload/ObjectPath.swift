import CRemap

/// A path to an object, as `reloadctl get` and `call` take it: dotted
/// names, each followed by any number of subscripts. `shop.items[3].price`
/// is attribute `items` of module `shop`, its item 3, that item's
/// attribute `price`. A subscript is an integer (a list or tuple index,
/// negative from the end, or an int dict key) or a JSON string (a str dict
/// key: `shop.prices["green tea"]`).
enum ObjectPath {
    enum Step: Equatable {
        case attribute(String)
        case index(Int)
        case key(String)
    }

    static func parse(_ path: String) throws -> [Step] {
        var steps: [Step] = []
        var rest = Substring(path)
        func bad(_ why: String) -> RemapError {
            RemapError(kind: .value, message: "bad path \(path): \(why)")
        }
        while true {
            let name = rest.prefix { $0 != "." && $0 != "[" }
            guard !name.isEmpty else { throw bad("an empty name") }
            steps.append(.attribute(String(name)))
            rest = rest.dropFirst(name.count)
            while rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw bad("a [ without its ]") }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if inside.first == "\"" {
                    guard inside.count >= 2, inside.last == "\"" else { throw bad("a key without its closing quote") }
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else if let index = Int(inside) {
                    steps.append(.index(index))
                } else {
                    throw bad("[\(inside)] is neither an integer nor a quoted key")
                }
                rest = rest[rest.index(after: close)...]
            }
            if rest.isEmpty { return steps }
            guard rest.first == "." else { throw bad("unexpected \(rest.prefix(1))") }
            rest = rest.dropFirst()
        }
    }

    /// Follows `steps` from `object`. Call holding the lock.
    static func follow(_ steps: ArraySlice<Step>, from object: Object, path: String) throws -> Object {
        var current = object
        for step in steps {
            switch step {
            case .attribute(let name):
                current = try attribute(current, name)
            case .index(let index):
                current = try subscriptIndex(current, index, path: path)
            case .key(let key):
                guard rm_is_dict(current) else {
                    throw RemapError(kind: .type, message: "\(path): [\"\(key)\"] of a '\(Objects.typeName(current))', not a dict")
                }
                guard let value = rm_dict_get(current, try Objects.string(key)) else {
                    throw RemapError(kind: .key, message: "\(path): no key \"\(key)\"")
                }
                current = value
            }
        }
        return current
    }

    /// An attribute; of a class, a field's default as well (`shop.Item.warehouse`).
    private static func attribute(_ object: Object, _ name: String) throws -> Object {
        do {
            return try Objects.getAttribute(object, name)
        } catch {
            guard rm_is_class(object) else { throw error }
            let type = UnsafeMutableRawPointer(object).assumingMemoryBound(to: rm_type.self).pointee
            guard let fields = type.cls_fields, let defaults = type.cls_defaults else { throw error }
            for i in 0..<rm_tuple_size(fields) {
                guard let field = rm_tuple_get(fields, i), rm_str_eq(field, name) else { continue }
                return rm_tuple_get(defaults, i) ?? rm_get_none()
            }
            throw error
        }
    }

    private static func subscriptIndex(_ object: Object, _ index: Int, path: String) throws -> Object {
        if rm_is_dict(object) {
            guard let value = rm_dict_get(object, try Objects.int(index)) else {
                throw RemapError(kind: .key, message: "\(path): no key \(index)")
            }
            return value
        }
        let isList = rm_is_list(object)
        guard isList || rm_is_tuple(object) else {
            throw RemapError(kind: .type, message: "\(path): [\(index)] of a '\(Objects.typeName(object))', not a list, tuple or dict")
        }
        let count = isList ? rm_list_size(object) : rm_tuple_size(object)
        let position = index < 0 ? count + index : index
        guard position >= 0, position < count else {
            throw RemapError(kind: .index, message: "\(path): index \(index) out of range (\(count) items)")
        }
        let item = isList ? rm_list_get(object, position) : rm_tuple_get(object, position)
        return try check(item)
    }
}
