/// An error a module's Swift code throws to its caller: the generated glue
/// sets it as the runtime's current error (its kind and message), as a C
/// function does with `rm_error_set`. Any other Swift error reaches the
/// caller as a RuntimeError with its description.
public struct RemapError: Error, CustomStringConvertible {
    public var kind: rm_error_kind
    public var message: String

    public init(_ kind: rm_error_kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func typeError(_ message: String) -> RemapError { RemapError(RM_ERR_TYPE, message) }
    public static func valueError(_ message: String) -> RemapError { RemapError(RM_ERR_VALUE, message) }
    public static func runtimeError(_ message: String) -> RemapError { RemapError(RM_ERR_RUNTIME, message) }

    /// The runtime's current error, after a C call failed (cleared).
    public static func pending() -> RemapError {
        let kind = rm_error_occurred()
        let error = RemapError(kind.rawValue == 0 ? RM_ERR_RUNTIME : kind, String(cString: rm_error_message()))
        rm_error_clear()
        return error
    }

    public var description: String { message }

    /// Sets `error` as the runtime's current error.
    @usableFromInline static func set(_ error: Error) {
        if let error = error as? RemapError {
            rm_error_set_message(error.kind, error.message)
        } else {
            rm_error_set_message(RM_ERR_RUNTIME, String(describing: error))
        }
    }
}

/// `object`, or the runtime's pending error thrown.
@inlinable public func _remapChecked(_ object: HeapPointer?) throws -> HeapPointer {
    guard let object else { throw RemapError.pending() }
    return object
}

/// Stops the program with the runtime's message: for what Swift cannot
/// throw from (a property setter) and only fails when memory is exhausted.
@usableFromInline func mustSucceed(_ object: HeapPointer?, _ what: String) -> HeapPointer {
    guard let object else { fatalError("remap: \(what): \(String(cString: rm_error_message()))") }
    return object
}
