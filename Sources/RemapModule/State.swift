/// Module state declared once (`@State static var clock = 0` in a @Module
/// enum): on the first load the variable starts with its initial value, and
/// every reload keeps the value it has (`rm_def_state`). It lives in the
/// module's namespace, so `reloadctl get particles.clock` shows it and the
/// module hook sees it in the old namespace.
@propertyWrapper
public struct State<Value: HeapValue> {
    @usableFromInline let initial: Value
    @usableFromInline var name: HeapPointer?
    @usableFromInline var anchor: rm_handle?

    public init(wrappedValue: Value) { initial = wrappedValue }

    /// Called by the @Module glue when the module is defined.
    public mutating func _remapDefine(_ module: ModuleDefinition, _ name: String, anchor: rm_handle) throws {
        try module.state(name, initial)
        self.name = try _remapChecked(rm_name(name))
        self.anchor = anchor
    }

    @inlinable public var wrappedValue: Value {
        get {
            guard let name, let namespace = Namespace.current(anchor), let object = rm_dict_get(namespace, name) else {
                return initial
            }
            do { return try Value.fromHeap(object) } catch { preconditionFailure("state \(String(cString: rm_str_cstr(name))): \(error)") }
        }
        nonmutating set {
            guard let name, let namespace = Namespace.current(anchor) else { return }
            _ = rm_dict_set(namespace, name, mustSucceed(try? newValue.toHeap(), "state"))
        }
    }
}

/// The current namespace of a module, for calls that must reach its newest
/// version: a loop that runs across reloads calls through `live`
/// (`try particles.live.tick()`); a direct Swift call runs the code of the
/// version the caller belongs to.
@dynamicMemberLookup
public struct Namespace {
    @usableFromInline let anchor: rm_handle?

    public init(_remapAnchor anchor: rm_handle?) { self.anchor = anchor }

    /// The namespace dict of the module `anchor` follows.
    @inlinable static func current(_ anchor: rm_handle?) -> HeapPointer? {
        guard let anchor, let fn = rm_handle_get(anchor), let module = rm_function_module(fn) else { return nil }
        return rm_module_dict(module)
    }

    /// The object bound to `name`, or a KeyError.
    public subscript(name: String) -> Object {
        get throws {
            guard let dict = Self.current(anchor), let object = rm_dict_get_str(dict, name) else {
                throw RemapError(RM_ERR_KEY, "no \(name) in the module")
            }
            return Object(_remapUnchecked: object)
        }
    }

    /// `live.tick()`: calls the module's current `tick`.
    public subscript(dynamicMember name: String) -> LiveFunction { LiveFunction(namespace: self, name: name) }
}

/// A function looked up at each call (see Namespace).
public struct LiveFunction {
    let namespace: Namespace
    let name: String

    @discardableResult
    public func callAsFunction(_ arguments: any HeapValue...) throws -> Object {
        try namespace[name].call(arguments)
    }
}

/// The old namespace a module hook gets (`static func reload(old:)`).
public struct OldNamespace {
    public let object: Object
    public init(_ object: HeapPointer) { self.object = Object(_remapUnchecked: object) }

    /// The old value of `name` as `T`, or nil if the old version had none.
    public subscript<T: HeapValue>(name: String, as type: T.Type = T.self) -> T? {
        get throws {
            guard let value = rm_dict_get_str(object._remapObject, name) else { return nil }
            return try T.fromHeap(value)
        }
    }

    /// The names the old version bound.
    public var names: [String] {
        var pos = 0, key: HeapPointer?, value: HeapPointer?
        var names: [String] = []
        while rm_dict_next(object._remapObject, &pos, &key, &value) {
            if let key, let name = try? String.fromHeap(key) { names.append(name) }
        }
        return names
    }
}

/// An instance as it was before a reload, read by field name (its removed
/// fields included): what a field initializer and the class hook get.
public struct OldInstance {
    public let object: HeapPointer
    public init(_ object: HeapPointer) { self.object = object }

    /// Old field `name` as `T`; an AttributeError if it had none.
    public subscript<T: HeapValue>(name: String, as type: T.Type = T.self) -> T {
        get throws { try T.fromHeap(try _remapChecked(rm_getattr(object, name))) }
    }
}
