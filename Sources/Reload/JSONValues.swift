import CRemap
import Foundation

/// Converts between JSON values (as `JSONSerialization` reads them) and heap
/// objects, for the control socket's `call` request.
enum JSONValues {
    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// null, bools, numbers, strings, arrays (lists) and objects (dicts with
    /// str keys). Call holding the lock.
    static func object(from json: Any) throws -> Object {
        switch json {
        case is NSNull:
            return rm_get_none()
        case let number as NSNumber:
            // JSONSerialization gives booleans as NSNumbers of type "c".
            let type = String(cString: number.objCType)
            if type == "c" || type == "B" { return number.boolValue ? rm_get_true() : rm_get_false() }
            if type == "d" || type == "f" { return try check(rm_float(number.doubleValue)) }
            return try check(rm_int(number.int64Value))
        case let bool as Bool:
            return bool ? rm_get_true() : rm_get_false()
        case let string as String:
            return try check(rm_str(string))
        case let array as [Any]:
            let list = try check(rm_list_new(array.count))
            for item in array { try check(rm_list_append(list, try object(from: item))) }
            return list
        case let dict as [String: Any]:
            let result = try check(rm_dict_new())
            for (key, value) in dict.sorted(by: { $0.key < $1.key }) {
                try check(rm_dict_set(result, try check(rm_str(key)), try object(from: value)))
            }
            return result
        default:
            throw Unsupported(description: "cannot convert \(type(of: json)) to a runtime value")
        }
    }

    /// The JSON form of an object: containers recursively (to a depth of 32),
    /// anything without a JSON form as its printable description.
    static func json(from object: Object, depth: Int = 0) -> Any {
        if depth > 32 { return Objects.describe(object) }
        if rm_is_none(object) { return NSNull() }
        if rm_is_bool(object) { return object == rm_get_true() }
        if rm_is_int(object) { return rm_int_value(object) }
        if rm_is_float(object) { return rm_float_value(object) }
        if rm_is_str(object) { return String(cString: rm_str_cstr(object)) }
        if rm_is_list(object) {
            return (0..<rm_list_size(object)).map { json(from: rm_list_get(object, $0)!, depth: depth + 1) }
        }
        if rm_is_tuple(object) {
            return (0..<rm_tuple_size(object)).map { json(from: rm_tuple_get(object, $0) ?? rm_get_none(), depth: depth + 1) }
        }
        if rm_is_dict(object) {
            var result: [String: Any] = [:]
            var pos = 0
            var key: Object?
            var value: Object?
            while rm_dict_next(object, &pos, &key, &value) {
                let name = rm_is_str(key!) ? String(cString: rm_str_cstr(key!)) : Objects.describe(key!)
                result[name] = json(from: value!, depth: depth + 1)
            }
            return result
        }
        if rm_is_instance(object) { return instance(object, depth: depth) }
        return Objects.describe(object)
    }

    /// An instance as {"class": "module.Class", "fields": {name: value}}:
    /// its fields in their inline slots, then attributes kept in its dict
    /// (fields a reload moved there, among them).
    static func instance(_ object: Object, depth: Int) -> Any {
        guard let type = object.pointee.ob_type else { return Objects.describe(object) }
        var className = type.pointee.cls_name.map { String(cString: rm_str_cstr($0)) } ?? String(cString: rm_type_name(type))
        if let module = type.pointee.cls_module, let moduleName = rm_module_name(module), rm_is_str(moduleName) {
            className = String(cString: rm_str_cstr(moduleName)) + "." + className
        }
        var fields: [String: Any] = [:]
        if let names = type.pointee.cls_fields {
            let count = min(rm_tuple_size(names), rm_instance_slot_count(object))
            for i in 0..<count {
                guard let name = rm_tuple_get(names, i), rm_is_str(name) else { continue }
                fields[String(cString: rm_str_cstr(name))] = json(from: rm_instance_slot(object, i) ?? rm_get_none(), depth: depth + 1)
            }
        }
        if let dict = rm_instance_dict(object) {
            var pos = 0
            var key: Object?
            var value: Object?
            while rm_dict_next(dict, &pos, &key, &value) {
                let name = rm_is_str(key!) ? String(cString: rm_str_cstr(key!)) : Objects.describe(key!)
                fields[name] = json(from: value!, depth: depth + 1)
            }
        }
        return ["class": className, "fields": fields]
    }
}
