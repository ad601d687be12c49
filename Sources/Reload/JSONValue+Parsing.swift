/// Strict JSON text (RFC 8259) to `JSONValue`: what the control server reads
/// a request line with, and reloadctl a `call` argument.
///
/// Strict, because the protocol is: a value that cannot be kept exactly is
/// refused, never changed. A duplicate key, a trailing comma, a byte-order
/// mark, a control character inside a string, bytes that are not UTF-8 or
/// anything after the value are syntax errors. An integer outside Int64, a
/// number too large for a Double and a lone surrogate escape are valid JSON
/// this side cannot hold: they are refused as unsupported, not rounded or
/// wrapped (`JSONSerialization` made 2^64-1 into -1 and 2^63 into a float).
/// A number with a fraction or an exponent is a float (`1.0` stays one),
/// any other an int. Strings keep every byte, `\u0000` included.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not JSON text (the protocol's `invalid_json`).
        case syntax
        /// JSON this side cannot hold exactly (the protocol's `bad_argument`).
        case unsupported
    }

    public var kind: Kind
    public var message: String
    /// Byte offset in the text where the problem was found.
    public var offset: Int

    public var description: String { "\(message) at byte \(offset)" }
}

extension JSONValue {
    /// Containers nested deeper than this are refused (unsupported): the
    /// parser recurses, and a 1 MiB line of `[` must not overflow a
    /// connection thread's stack.
    public static let maxParseDepth = 128

    /// Parses one JSON value, with only whitespace around it.
    public init(parsing text: some Collection<UInt8>) throws(JSONParseError) {
        var parser = StrictJSONParser(Array(text))
        self = try parser.document()
    }
}

/// A recursive-descent parser over bytes; see `JSONParseError` for what it
/// refuses.
private struct StrictJSONParser {
    let bytes: [UInt8]
    var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String, _ kind: JSONParseError.Kind = .syntax, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(kind: kind, message: message, offset: offset ?? at)
    }

    var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

    mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { at += 1 }
    }

    mutating func document() throws(JSONParseError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw fail("a byte-order mark before the JSON text") }
        skipSpace()
        let value = try value(depth: 0)
        skipSpace()
        guard at == bytes.count else { throw fail("text after the JSON value") }
        return value
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = peek else { throw fail("the text ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw fail("unexpected character '\(Self.show(byte))' where a value was expected")
        }
    }

    static func show(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    mutating func literal(_ word: String) throws(JSONParseError) {
        let expected = Array(word.utf8)
        guard bytes[at...].starts(with: expected) else { throw fail("unexpected characters where a value was expected") }
        at += expected.count
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONValue.maxParseDepth else {
            throw fail("containers nested deeper than \(JSONValue.maxParseDepth)", .unsupported)
        }
        at += 1 // {
        var fields: [String: JSONValue] = [:]
        skipSpace()
        if peek == UInt8(ascii: "}") { at += 1; return .object(fields) }
        while true {
            skipSpace()
            let keyAt = at
            guard peek == UInt8(ascii: "\"") else {
                throw fail(peek == UInt8(ascii: "}") ? "a trailing comma before '}'" : "an object key must be a string")
            }
            let key = try string()
            // Swift compares strings by canonical equivalence: two keys that
            // differ only in Unicode normalization are one key here, and
            // refused like any duplicate rather than one of them dropped.
            guard fields[key] == nil else { throw fail("duplicate key \(JSONValue.string(key).jsonText)", at: keyAt) }
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw fail("expected ':' after an object key") }
            at += 1
            skipSpace()
            fields[key] = try value(depth: depth)
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"): at += 1; return .object(fields)
            default: throw fail("expected ',' or '}' in an object")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= JSONValue.maxParseDepth else {
            throw fail("containers nested deeper than \(JSONValue.maxParseDepth)", .unsupported)
        }
        at += 1 // [
        var items: [JSONValue] = []
        skipSpace()
        if peek == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            skipSpace()
            if peek == UInt8(ascii: "]") { throw fail("a trailing comma before ']'") }
            items.append(try value(depth: depth))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "]"): at += 1; return .array(items)
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    /// A string: its raw bytes must be UTF-8 (checked once, at the end) and
    /// hold no control character; escapes are decoded, a surrogate pair
    /// into its one scalar.
    mutating func string() throws(JSONParseError) -> String {
        let start = at
        at += 1 // "
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek else { throw fail("a string is not closed", at: start) }
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw fail("a string holds bytes that are not UTF-8", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                throw fail("a control character (\\x\(String(byte, radix: 16))) inside a string must be escaped", at: at - 1)
            default:
                utf8.append(byte)
            }
        }
    }

    mutating func escape(into utf8: inout [UInt8]) throws(JSONParseError) {
        guard let byte = peek else { throw fail("a string ends inside an escape") }
        at += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let escapeAt = at - 2
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes[at...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                    throw fail("a lone surrogate escape cannot be held in a string", .unsupported, at: escapeAt)
                }
                at += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw fail("a lone surrogate escape cannot be held in a string", .unsupported, at: escapeAt)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw fail("a lone surrogate escape cannot be held in a string", .unsupported, at: escapeAt)
            }
            // Not a surrogate, so a valid scalar.
            utf8.append(contentsOf: Array(String(Character(UnicodeScalar(scalar)!)).utf8))
        default:
            throw fail("unknown escape '\\\(Self.show(byte))' in a string", at: at - 2)
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = Self.hexDigit(byte) else { throw fail("\\u takes four hex digits") }
            value = value << 4 | digit
            at += 1
        }
        return value
    }

    static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`: an int
    /// without fraction and exponent, else a float; either must hold the
    /// value exactly enough (Int64, a finite Double) or it is refused.
    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = at
        func digits(_ parser: inout StrictJSONParser) -> Int {
            let from = parser.at
            while let byte = parser.peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { parser.at += 1 }
            return parser.at - from
        }
        if peek == UInt8(ascii: "-") { at += 1 }
        let intStart = at
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw fail("a number needs digits", at: start) }
        if intDigits > 1 && bytes[intStart] == UInt8(ascii: "0") { throw fail("a number may not start with 0", at: start) }
        var isFloat = false
        if peek == UInt8(ascii: ".") {
            at += 1
            guard digits(&self) > 0 else { throw fail("a number needs digits after '.'", at: start) }
            isFloat = true
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            at += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { at += 1 }
            guard digits(&self) > 0 else { throw fail("a number needs digits in its exponent", at: start) }
            isFloat = true
        }
        let text = String(decoding: bytes[start..<at], as: UTF8.self)
        if isFloat {
            guard let value = Double(text), value.isFinite else {
                throw fail("the number \(text) is too large for a 64-bit float", .unsupported, at: start)
            }
            return .float(value)
        }
        guard let value = Int64(text) else {
            throw fail("the integer \(text) is outside the 64-bit range (\(Int64.min) to \(Int64.max))", .unsupported, at: start)
        }
        return .int(value)
    }
}
