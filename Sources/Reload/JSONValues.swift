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
        return Objects.describe(object)
    }
}
