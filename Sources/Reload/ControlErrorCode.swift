/// The code of a failed control request (`{"ok": false, "error": {"code": ...}}`).
/// A struct, not an enum: a client must understand a newer host's codes.
public struct ControlErrorCode: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The line is not one JSON object.
    public static let invalidJSON = Self("invalid_json")
    /// No "request" field.
    public static let badRequest = Self("bad_request")
    /// A "request" this host does not know.
    public static let unknownRequest = Self("unknown_request")
    /// A field of the request has the wrong type or value.
    public static let badArgument = Self("bad_argument")
    /// The line is over `ControlServer.maxLineBytes`.
    public static let lineTooLong = Self("line_too_long")
    /// The reload failed and was rolled back.
    public static let reloadFailed = Self("reload_failed")
    /// Rebuilding a module's sources before a reload failed.
    public static let buildFailed = Self("build_failed")
    /// The function raised an error.
    public static let callFailed = Self("call_failed")
    /// The function crashed; the crash guard kept the host alive.
    public static let callCrashed = Self("call_crashed")
    /// `get` found nothing of that name.
    public static let notFound = Self("not_found")
    /// Too many connections.
    public static let busy = Self("busy")
    /// The peer's uid may not use this socket.
    public static let forbidden = Self("forbidden")
    /// Anything else.
    public static let failed = Self("failed")
}
