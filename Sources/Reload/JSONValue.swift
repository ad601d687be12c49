import Foundation

/// A JSON value of any shape: the arguments and results of the control
/// protocol's `call` and `get`, which the protocol cannot type.
///
/// Integers and floats are distinct cases, as they are in the heap. Read
/// from text by `init(parsing:)` (strict JSON, what the control server and
/// reloadctl do; JSONValue+Parsing.swift), `1.0` stays a float and nothing
/// is rounded or wrapped; through `Decodable`, which cannot see the text, a
/// whole number is an `int`.
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value `JSONSerialization` parsed, or nil if `any` is not JSON or
    /// holds an integer outside Int64 (which `int64Value` would wrap).
    public init?(any: Any) {
        switch any {
        case is NSNull:
            self = .null
        case let number as NSNumber:
            // JSONSerialization gives booleans as NSNumbers of type "c".
            let type = String(cString: number.objCType)
            if type == "c" || type == "B" {
                self = .bool(number.boolValue)
            } else if type == "d" || type == "f" {
                self = .float(number.doubleValue)
            } else {
                guard number.stringValue == String(number.int64Value) else { return nil }
                self = .int(number.int64Value)
            }
        case let bool as Bool:
            self = .bool(bool)
        case let string as String:
            self = .string(string)
        case let array as [Any]:
            var items: [JSONValue] = []
            items.reserveCapacity(array.count)
            for item in array {
                guard let value = JSONValue(any: item) else { return nil }
                items.append(value)
            }
            self = .array(items)
        case let dict as [String: Any]:
            var fields: [String: JSONValue] = [:]
            for (key, item) in dict {
                guard let value = JSONValue(any: item) else { return nil }
                fields[key] = value
            }
            self = .object(fields)
        default:
            return nil
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let float = try? container.decode(Double.self) {
            self = .float(float)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .float(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value's text as the control protocol writes it (sorted keys).
    public var jsonText: String {
        (try? ControlProtocol.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
