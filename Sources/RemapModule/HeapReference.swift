/// A Swift value that is a reference to one heap object: a @Reloadable
/// struct, a HeapList, an Object. Copying it copies the reference; the
/// object lives as long as the heap reaches it (a list, a field, state).
/// Keep it in heap storage, not in a Swift global or class: the collector
/// does not scan Swift's memory.
public protocol HeapReference: HeapValue {
    /// The object, unchecked: the caller knows it is of this type.
    init(_remapUnchecked object: HeapPointer)
    var _remapObject: HeapPointer { get }
    /// Whether `object` is of this type.
    static func _remapAccepts(_ object: HeapPointer) -> Bool
}

extension HeapReference {
    @inlinable public static func fromHeap(_ object: HeapPointer) throws -> Self {
        guard _remapAccepts(object) else {
            throw RemapError.typeError("expected \(heapTypeName), not \(typeName(object))")
        }
        return Self(_remapUnchecked: object)
    }
    @inlinable public func toHeap() throws -> HeapPointer { _remapObject }
    @inlinable public static func _remapUnchecked(_ object: HeapPointer) -> Self { Self(_remapUnchecked: object) }
}

/// Any heap object: an int, a str, a list, an instance of any class.
public struct Object: HeapReference, CustomStringConvertible {
    public let _remapObject: HeapPointer
    @inlinable public init(_remapUnchecked object: HeapPointer) { _remapObject = object }
    @inlinable public static func _remapAccepts(_ object: HeapPointer) -> Bool { true }
    public static var heapTypeName: String { "object" }

    /// The object holding `value` (an int for an Int...).
    public init<T: HeapValue>(_ value: T) throws { _remapObject = try value.toHeap() }

    /// The value as `T`, or a TypeError.
    public func `as`<T: HeapValue>(_ type: T.Type) throws -> T { try T.fromHeap(_remapObject) }

    /// Its type's name ("int", "Particle").
    public var typeName: String { RemapModule.typeName(_remapObject) }

    /// The object's attribute `name` (a field, a method), or an AttributeError.
    public subscript(name: String) -> Object {
        get throws { Object(_remapUnchecked: try _remapChecked(rm_getattr(_remapObject, name))) }
    }

    /// Calls it (a function, a class, a bound method).
    @discardableResult
    public func call(_ arguments: any HeapValue...) throws -> Object {
        try call(arguments)
    }

    @discardableResult
    public func call(_ arguments: [any HeapValue]) throws -> Object {
        let objects: [HeapPointer?] = try arguments.map { try $0.toHeap() }
        return Object(_remapUnchecked: try _remapChecked(objects.withUnsafeBufferPointer {
            rm_call(_remapObject, $0.baseAddress, $0.count)
        }))
    }

    /// A str's text; for anything else, how the runtime shows it (`rm_repr`).
    public var description: String {
        if rm_is_str(_remapObject), let text = try? String.fromHeap(_remapObject) { return text }
        guard let repr = rm_repr(_remapObject) else { rm_error_clear(); return "<\(typeName)>" }
        return (try? String.fromHeap(repr)) ?? "<\(typeName)>"
    }
}

extension Object: Equatable {
    /// The same object.
    public static func == (a: Object, b: Object) -> Bool { a._remapObject == b._remapObject }
}
