/// What @Reloadable generates a conformance to: a struct whose storage is
/// one instance of a struct class on the Remap heap. Its stored properties
/// are the class's fields, read and written at fixed offsets.
public protocol ReloadableStruct: HeapReference {
    /// The class's handle: set when the module defines the class, and
    /// rewritten by the reload that replaces it (handles are remapped).
    static var _remapClass: rm_handle? { get set }
    /// Defines the struct class, its fields, defaults, rules and methods.
    static func _remapDefine(_ module: ModuleDefinition) throws
}

extension ReloadableStruct {
    public static var heapTypeName: String { String(describing: Self.self) }

    /// The current class object.
    @inlinable public static var _remapClassObject: HeapPointer {
        guard let handle = _remapClass, let cls = rm_handle_get(handle) else {
            preconditionFailure("\(Self.self) is used before its module defined it")
        }
        return cls
    }

    @inlinable public static func _remapExpectedType() -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(_remapClassObject)
    }

    /// An instance of the class or of a class derived from it.
    @inlinable public static func _remapAccepts(_ object: HeapPointer) -> Bool {
        let cls = _remapClassObject
        if UnsafeMutableRawPointer(object.pointee.ob_type) == UnsafeMutableRawPointer(cls) { return true }
        if rm_struct_cast(cls, object) != nil { return true }
        rm_error_clear()
        return false
    }

    /// A new instance: zero-filled, the defaults applied (rm_instance_new).
    @inlinable public static func _remapNew() -> HeapPointer {
        mustSucceed(rm_instance_new(_remapClassObject, nil, 0), "\(Self.self)()")
    }

    /// The field storage: where offset 0 is the object header.
    @inlinable public var _remapBase: UnsafeMutableRawPointer { UnsafeMutableRawPointer(_remapObject) }

    /// The instance itself, for what the dynamic API does (reloadctl get).
    public var object: Object { Object(_remapUnchecked: _remapObject) }
}

// ---- Field access: what the accessors @Reloadable generates call ----

/// A scalar or fixed-array field: a load at its offset.
@inlinable @inline(__always)
public func _remapLoad<T>(_ base: UnsafeMutableRawPointer, _ offset: Int, as type: T.Type) -> T {
    base.load(fromByteOffset: offset, as: T.self)
}

/// A scalar or fixed-array field: a store at its offset.
@inlinable @inline(__always)
public func _remapStore<T>(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: T) {
    base.storeBytes(of: value, toByteOffset: offset, as: T.self)
}

/// A reference field (`rm_object *`): the value it holds as `T`. A NULL
/// field reads as None. A value of another type stops the program (the
/// dynamic API can store any object in a reference field).
@inlinable
public func _remapLoadReference<T: HeapValue>(_ base: UnsafeMutableRawPointer, _ offset: Int, as type: T.Type) -> T {
    let object = base.load(fromByteOffset: offset, as: HeapPointer?.self) ?? rm_get_none()!
    if let expected = T._remapExpectedType(), UnsafeMutableRawPointer(object.pointee.ob_type) == expected {
        return T._remapUnchecked(object)
    }
    do { return try T.fromHeap(object) } catch { preconditionFailure("field of type \(T.self): \(error)") }
}

/// A reference field: stores the value's object (NULL for nil).
@inlinable
public func _remapStoreReference<T: HeapValue>(_ base: UnsafeMutableRawPointer, _ offset: Int, _ value: T) {
    let object = mustSucceed(try? value.toHeap(), "a field of type \(T.self)")
    base.storeBytes(of: rm_is_none(object) ? nil : object, toByteOffset: offset, as: HeapPointer?.self)
}
