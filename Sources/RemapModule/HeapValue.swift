/// A Swift type whose values a module passes to and from the Remap heap:
/// function arguments and results, state, fields that hold references,
/// list items. Int, the fixed-width integers, Double, Float, Bool and
/// String are; so are @Reloadable structs, HeapList and Object.
public protocol HeapValue {
    /// The heap type's name in messages ("int").
    static var heapTypeName: String { get }
    /// The value of a heap object, or a TypeError (ValueError when an int
    /// is out of range).
    static func fromHeap(_ object: HeapPointer) throws -> Self
    /// A heap object for the value (new, or shared when immutable).
    func toHeap() throws -> HeapPointer
    /// The heap type an object must have exactly to be read unchecked
    /// (a @Reloadable struct's class), or nil.
    static func _remapExpectedType() -> UnsafeMutableRawPointer?
    /// `object` as this type, the exact type already checked.
    static func _remapUnchecked(_ object: HeapPointer) -> Self
}

extension HeapValue {
    @inlinable public static func _remapExpectedType() -> UnsafeMutableRawPointer? { nil }
    @inlinable public static func _remapUnchecked(_ object: HeapPointer) -> Self {
        do { return try fromHeap(object) } catch { preconditionFailure("\(error)") }
    }
}

extension Int64: HeapValue {
    public static var heapTypeName: String { "int" }
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Int64 {
        // A bool is not an int here, as in rm_args_parse.
        guard rm_is_int(object) else { throw RemapError.typeError("expected int, not \(typeName(object))") }
        return rm_int_value(object)
    }
    @inlinable public func toHeap() throws -> HeapPointer { try _remapChecked(rm_int(self)) }
}

/// The other integers go through Int64, with a range check.
public protocol _HeapInteger: HeapValue, FixedWidthInteger {}
extension _HeapInteger {
    public static var heapTypeName: String { "int" }
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Self {
        let wide = try Int64.fromHeap(object)
        guard let value = Self(exactly: wide) else {
            throw RemapError.valueError("\(wide) is out of range for \(Self.self)")
        }
        return value
    }
    @inlinable public func toHeap() throws -> HeapPointer {
        guard let wide = Int64(exactly: self) else { throw RemapError.valueError("\(self) does not fit an int") }
        return try _remapChecked(rm_int(wide))
    }
}
extension Int: _HeapInteger {}
extension Int32: _HeapInteger {}
extension Int16: _HeapInteger {}
extension Int8: _HeapInteger {}
extension UInt: _HeapInteger {}
extension UInt64: _HeapInteger {}
extension UInt32: _HeapInteger {}
extension UInt16: _HeapInteger {}
extension UInt8: _HeapInteger {}

extension Double: HeapValue {
    public static var heapTypeName: String { "float" }
    /// A float, or an int converted (as rm_args_parse's `d`).
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Double {
        if rm_is_float(object) { return rm_float_value(object) }
        if rm_is_int(object) { return Double(rm_int_value(object)) }
        throw RemapError.typeError("expected float, not \(typeName(object))")
    }
    @inlinable public func toHeap() throws -> HeapPointer { try _remapChecked(rm_float(self)) }
}

extension Float: HeapValue {
    public static var heapTypeName: String { "float" }
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Float { Float(try Double.fromHeap(object)) }
    @inlinable public func toHeap() throws -> HeapPointer { try Double(self).toHeap() }
}

extension Bool: HeapValue {
    public static var heapTypeName: String { "bool" }
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Bool {
        guard rm_is_bool(object) else { throw RemapError.typeError("expected bool, not \(typeName(object))") }
        return object == rm_get_true()
    }
    @inlinable public func toHeap() throws -> HeapPointer { try _remapChecked(rm_bool(self)) }
}

extension String: HeapValue {
    public static var heapTypeName: String { "str" }
    public static func fromHeap(_ object: HeapPointer) throws -> String {
        guard rm_is_str(object) else { throw RemapError.typeError("expected str, not \(typeName(object))") }
        let bytes = UnsafeRawBufferPointer(start: rm_str_cstr(object), count: rm_str_len(object))
        return String(decoding: bytes, as: UTF8.self)
    }
    public func toHeap() throws -> HeapPointer {
        var copy = self
        return try copy.withUTF8 { try _remapChecked(rm_str_n($0.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, $0.count)) }
    }
}

extension Optional: HeapValue where Wrapped: HeapValue {
    public static var heapTypeName: String { Wrapped.heapTypeName + " or None" }
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Wrapped? {
        rm_is_none(object) ? nil : try Wrapped.fromHeap(object)
    }
    @inlinable public func toHeap() throws -> HeapPointer {
        guard let self else { return rm_get_none() }
        return try self.toHeap()
    }
}
