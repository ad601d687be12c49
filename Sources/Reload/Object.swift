import CBoehm
import CRemap

/// A pointer to a heap object. Valid while something the collector sees keeps
/// the object alive (a `Ref`, a heap slot, the stack of the calling thread).
public typealias Object = UnsafeMutablePointer<rm_object>

/// Calls a C function that returns NULL on failure, turning the current error
/// into a thrown `RemapError.core`.
@discardableResult
func check(_ result: Object?) throws -> Object {
    guard let result else { throw CoreCalls.takeError() }
    return result
}

/// Calls a C function that returns -1 on failure.
func check(_ status: Int32) throws {
    if status != 0 { throw CoreCalls.takeError() }
}

/// Converts between Swift values and heap objects (holding the lock).
public enum Objects {
    public static func int(_ value: Int) throws -> Object { try check(rm_int(Int64(value))) }
    /// A str of every byte of `value`'s UTF-8, an embedded NUL included
    /// (`rm_str` would stop at it).
    public static func string(_ value: String) throws -> Object {
        try value.withCString { try check(rm_str_n($0, value.utf8.count)) }
    }
    public static var none: Object { rm_get_none() }

    /// The Int value of an int object, or a type error.
    public static func intValue(_ object: Object) throws -> Int {
        var value: Int64 = 0
        try check(rm_int_check(object, &value))
        return Int(value)
    }

    public static func stringValue(_ object: Object) throws -> String {
        guard rm_is_str(object) else {
            throw RemapError(kind: .type, message: "expected a str, got \(typeName(object))")
        }
        return text(object)
    }

    /// The text of a str, all `rm_str_len` bytes of it (a NUL inside does
    /// not end it; bytes that are not UTF-8 become U+FFFD). The caller has
    /// checked that `object` is a str.
    static func text(_ object: Object) -> String {
        let bytes = UnsafeRawBufferPointer(start: rm_str_cstr(object), count: rm_str_len(object))
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func typeName(_ object: Object) -> String {
        String(cString: rm_type_name(object.pointee.ob_type))
    }

    /// The printable form of any object (`rm_repr`).
    public static func describe(_ object: Object) -> String {
        guard let repr = rm_repr(object) else { rm_error_clear(); return "<?>" }
        return String(cString: rm_str_cstr(repr))
    }

    /// Calls a callable object with arguments.
    public static func call(_ callable: Object, _ args: [Object]) throws -> Object {
        try withRootedArguments(args) { try check(rm_call(callable, $0, $1)) }
    }

    /// Calls `object.name(args)`.
    public static func callMethod(_ object: Object, _ name: String, _ args: [Object] = []) throws -> Object {
        try withRootedArguments(args) { try check(rm_call_method(object, name, $0, $1)) }
    }

    /// Runs `body` with the arguments copied into a block Boehm scans.
    /// A Swift array is invisible to the collector: arguments made just for
    /// the call may be referenced from nothing else, and the call may
    /// collect. The uncollectable block is a root until the call returns.
    static func withRootedArguments<T>(_ args: [Object],
                                       _ body: (UnsafePointer<Object?>?, Int) throws -> T) throws -> T {
        if args.isEmpty { return try body(nil, 0) }
        let bytes = args.count * MemoryLayout<Object?>.stride
        // Until they are copied, the arguments are in the Swift array only:
        // the block's own allocation must not collect.
        GC_disable()
        let block = GC_malloc_uncollectable(bytes)
        GC_enable()
        guard let raw = block else {
            throw RemapError(kind: .memory, message: "out of memory for \(args.count) call arguments")
        }
        defer { GC_free(raw) }
        let buffer = raw.bindMemory(to: Object?.self, capacity: args.count)
        buffer.initialize(from: args.map { Optional($0) }, count: args.count)
        return try withExtendedLifetime(args) { try body(UnsafePointer(buffer), args.count) }
    }

    /// `dict[name]`, nil if absent; throws if the key cannot be made (a
    /// failed allocation must not pass for an absent key).
    public static func lookup(_ dict: Object, _ name: String) throws -> Object? {
        rm_dict_get(dict, try string(name))
    }

    public static func getAttribute(_ object: Object, _ name: String) throws -> Object {
        try check(rm_getattr(object, name))
    }
}
