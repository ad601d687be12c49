import CRemap

#if canImport(Glibc)
import Glibc
#endif

extension RemapError {
    /// The kinds of error the C core knows, named as a user sees them.
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

        var cValue: rm_error_kind {
            switch self {
            case .type: RM_ERR_TYPE
            case .value: RM_ERR_VALUE
            case .key: RM_ERR_KEY
            case .index: RM_ERR_INDEX
            case .attribute: RM_ERR_ATTRIBUTE
            case .memory: RM_ERR_MEMORY
            case .runtime: RM_ERR_RUNTIME
            case .importFailure: RM_ERR_IMPORT
            case .reload: RM_ERR_RELOAD
            case .removed: RM_ERR_REMOVED
            }
        }
    }

    /// A core error of `kind` (what `RuntimeError(kind:message:)` made).
    public init(kind: Kind, message: String) {
        self = .core(kind, message: message)
    }

    /// The core's kind for this error: its own for `.core`; ImportError for
    /// a load failure that names no module (a bad name, a cycle),
    /// ReloadError for one that does; RuntimeError for the rest. What a C
    /// caller sees through `rm_error_occurred`.
    public var kind: Kind {
        switch self {
        case .core(let kind, _): kind
        case .invalidName, .importCycle: .importFailure
        case _ where isLoadFailure: .reload
        default: .runtime
        }
    }

    /// The message without the kind: a core error's own message, else the
    /// description.
    public var message: String {
        if case .core(_, let message) = self { return message }
        return description
    }

    /// Sets this error as the C core's current error, with `kind` unless it
    /// is a core error (which keeps its own kind and message).
    package func raise(as kind: Kind? = nil) {
        if case .core(let own, let message) = self {
            rm_error_set_message(own.cValue, message)
        } else {
            rm_error_set_message((kind ?? self.kind).cValue, description)
        }
    }

    /// Sets any error as the core's current error: a `RemapError` as
    /// `raise(as:)` does, anything else as a `kind` error with its
    /// description.
    package static func raise(_ error: Error, as kind: Kind) {
        if let error = error as? RemapError {
            error.raise(as: kind)
        } else {
            rm_error_set_message(kind.cValue, "\(error)")
        }
    }

    /// A failed system call, with the errno it left.
    static func systemCall(_ call: String, _ detail: String = "") -> RemapError {
        .system(call: call, errno: errno, detail: detail)
    }
}

/// The names of Remap's errors before they became one type.
@available(*, deprecated, renamed: "RemapError")
public typealias RuntimeError = RemapError
@available(*, deprecated, renamed: "RemapError")
public typealias ReloadError = RemapError
