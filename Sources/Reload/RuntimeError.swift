import CRemap

/// An error reported by the C core: its kind and a message a user can act on.
public struct RuntimeError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case type = "TypeError"
        case value = "ValueError"
        case key = "KeyError"
        case index = "IndexError"
        case attribute = "AttributeError"
        case memory = "MemoryError"
        case runtime = "RuntimeError"
        case importFailure = "ImportError"
        case reload = "ReloadError"
        case removed = "RemovedError"

        init(_ kind: rm_error_kind) {
            self = Kind(rawValue: String(cString: rm_error_kind_name(kind))) ?? .runtime
        }
    }

    public var kind: Kind
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
