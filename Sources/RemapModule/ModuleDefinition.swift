#if canImport(Glibc)
import Glibc
#endif

/// One generation of a module being defined: what the code @Module and
/// @Reloadable generate calls, in `rm_module_init`. Each call is the C API
/// call of the same name, its failure thrown.
public struct ModuleDefinition {
    public let builder: OpaquePointer

    @inlinable public init(_ builder: OpaquePointer) { self.builder = builder }

    /// Runs `body` as `rm_module_init` does: 0, or -1 with the error set.
    public static func run(_ builder: OpaquePointer?, _ body: (ModuleDefinition) throws -> Void) -> Int32 {
        guard let builder else {
            rm_error_set_message(RM_ERR_RUNTIME, "rm_module_init: no builder")
            return -1
        }
        do {
            try body(ModuleDefinition(builder))
            return 0
        } catch {
            RemapError.set(error)
            return -1
        }
    }

    /// Whether this is the module's first generation (a new module: a new
    /// loader's, even when this code defined one before).
    var isFirstLoad: Bool { rm_builder_generation(builder) == 1 }

    /// The module object being built.
    public var module: HeapPointer { rm_builder_module(builder) }

    /// A function (`rm_def_function`) taking any number of arguments: the
    /// glue checks them.
    public func function(_ name: String, _ fn: rm_cfunction) throws {
        _ = try _remapChecked(rm_def_function(builder, name, fn, -1))
    }

    /// The module hook, `__reload__(old_namespace)`.
    public func moduleHook(_ fn: rm_cfunction) throws {
        _ = try _remapChecked(rm_def_function(builder, "__reload__", fn, 1))
    }

    /// A handle that follows the module across reloads: it holds a function
    /// of this generation, which the next reload remaps to its successor,
    /// whose module is the current one. `kept`, the handle an earlier
    /// generation of the same module made in this same code (a module
    /// defined in process is redefined by the same code), is kept: the
    /// reload that succeeds remaps it, one that fails leaves it on the
    /// version that runs on.
    public func anchor(keeping kept: rm_handle?) throws -> rm_handle {
        let fn: rm_cfunction = { _, _, _ in rm_get_none() }
        let anchor = try _remapChecked(rm_def_function(builder, "__swift__", fn, 0))
        if let kept, !isFirstLoad { return kept }
        guard let handle = rm_handle_new(anchor) else { throw RemapError.pending() }
        return handle
    }

    /// State `name` (`rm_def_state`): `initial` on the first load, the kept
    /// value after.
    public func state<Value: HeapValue>(_ name: String, _ initial: Value) throws {
        _ = try _remapChecked(rm_def_state(builder, name, try initial.toHeap()))
    }

    /// Defines a @Reloadable struct's class.
    public func define<T: ReloadableStruct>(_ type: T.Type) throws { try T._remapDefine(self) }

    /// A struct class (`rm_def_struct`) of `size` bytes with `fields`;
    /// `T._remapClass` then holds it.
    public func structClass<T: ReloadableStruct>(_ type: T.Type, _ name: String, size: Int,
                                                 fields: [FieldSpec]) throws -> StructClass {
        var names: [UnsafeMutablePointer<CChar>] = []
        defer { names.forEach { free($0) } }
        var specs: [rm_field_spec] = fields.map { field in
            let cName = strdup(field.name)!
            names.append(cName)
            return rm_field_spec(name: cName, offset: field.offset, size: field.size, kind: field.kind,
                                 count: UInt32(field.count))
        }
        specs.append(rm_field_spec(name: nil, offset: 0, size: 0, kind: rm_field_kind(rawValue: 0), count: 0))
        let cls = try _remapChecked(rm_def_struct(builder, name, nil, size, specs))
        // Kept when this code defined the class before, as the anchor is.
        if T._remapClass == nil || isFirstLoad {
            guard let handle = rm_handle_new(cls) else { throw RemapError.pending() }
            T._remapClass = handle
        }
        return StructClass(object: cls)
    }
}

/// One field as @Reloadable lays it out.
public struct FieldSpec {
    public var name: String, offset: Int, size: Int, kind: rm_field_kind, count: Int
    public init(_ name: String, offset: Int, size: Int, kind: rm_field_kind, count: Int = 0) {
        self.name = name; self.offset = offset; self.size = size; self.kind = kind; self.count = count
    }
}

/// A struct class being defined: its defaults, field rules and methods.
public struct StructClass {
    public let object: HeapPointer

    /// The default of a field (`rm_def_field_default`).
    public func fieldDefault<T: HeapValue>(_ name: String, _ value: T) throws {
        guard rm_def_field_default(object, name, try value.toHeap()) == 0 else { throw RemapError.pending() }
    }

    /// Field `name` is the old field `old` renamed (`rm_def_field_renamed`).
    public func renamed(_ name: String, from old: String) throws {
        guard rm_def_field_renamed(object, name, old) == 0 else { throw RemapError.pending() }
    }

    /// The initializer of a field added by a reload (`rm_def_field_init`).
    public func fieldInit(_ name: String, _ fn: rm_cfunction) throws {
        guard rm_def_field_init(object, name, fn) == 0 else { throw RemapError.pending() }
    }

    /// A method: `fn` gets the instance as `self`.
    public func method(_ name: String, _ fn: rm_cfunction) throws {
        guard rm_def_method(object, name, fn, -1) == 0 else { throw RemapError.pending() }
    }

    /// The class hook, `__reload__(added, removed, old)`.
    public func classHook(_ fn: rm_cfunction) throws {
        guard rm_def_method(object, "__reload__", fn, 3) == 0 else { throw RemapError.pending() }
    }
}
