import CRemap

/// Builds one generation of an in-process module: the Swift face of the
/// `rm_def_*` calls a C module makes. Used inside a `ModuleDefinition`'s
/// initializer, holding the lock.
public final class ModuleBuilder {
    let raw: OpaquePointer

    init(_ raw: OpaquePointer) {
        self.raw = raw
    }

    public var name: String { String(cString: rm_builder_name(raw)) }
    /// 1 on first load, then one more on each reload.
    public var generation: Int { Int(rm_builder_generation(raw)) }
    /// The module object being built.
    public var module: Object { rm_builder_module(raw) }

    /// A function. `arity` < 0 accepts any number of arguments.
    @discardableResult
    public func function(_ name: String, arity: Int = -1, _ body: @escaping ([Object]) throws -> Object) throws -> Object {
        let f = try makeSwiftFunction(name: "\(self.name).\(name)", arity: arity, module: module) { _, args in try body(args) }
        try check(rm_def_object(raw, name, f, RM_DEF_FUNCTION))
        return f
    }

    /// A function written in C.
    @discardableResult
    public func cFunction(_ name: String, arity: Int, _ fn: rm_cfunction) throws -> Object {
        try check(rm_def_function(raw, name, fn, Int32(arity)))
    }

    /// A class; its instances get the new class when the module is reloaded.
    @discardableResult
    public func defineClass(_ name: String, base: Object? = nil) throws -> Object {
        try check(rm_def_class(raw, name, base))
    }

    /// A method, called with the instance and the arguments after it.
    public func method(_ cls: Object, _ name: String, arity: Int = -1,
                       _ body: @escaping (Object, [Object]) throws -> Object) throws {
        let className = String(cString: rm_type_name(UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self)))
        let qualified = "\(self.name).\(className).\(name)"
        let f = try makeSwiftFunction(name: qualified, arity: arity, module: module, body: body)
        try check(rm_setattr(cls, name, f))
    }

    /// A field with a default value.
    public func field(_ cls: Object, _ name: String, default value: Object? = nil) throws {
        try check(rm_def_field(cls, name, value))
    }

    /// State: `initial` on first load, the kept value on reloads.
    @discardableResult
    public func state(_ name: String, _ initial: Object) throws -> Object {
        try check(rm_def_state(raw, name, initial))
    }

    /// A value, replaced on every reload.
    public func value(_ name: String, _ value: Object) throws {
        try check(rm_def_value(raw, name, value))
    }

    /// Runs a module initializer written for `rm_module_init` into this
    /// module: a `@Module enum` compiled into the host defines itself in
    /// process with `try builder.define(particles._remapDefine)`, the same
    /// declarations a `.so` build exports (docs/swift-modules.md).
    public func define(_ initializer: (OpaquePointer?) -> Int32) throws {
        try check(initializer(raw))
    }

    /// `from module import name`.
    @discardableResult
    public func importFrom(_ module: String, _ name: String) throws -> Object {
        try check(rm_import_from(raw, module, name))
    }
}

/// A module defined in-process from Swift. Reloading it runs its current
/// initializer: register a replaced definition with `ModuleLoader.define`.
public struct ModuleDefinition: Sendable {
    public let name: String
    public let initializer: @Sendable (ModuleBuilder) throws -> Void

    public init(_ name: String, _ initializer: @escaping @Sendable (ModuleBuilder) throws -> Void) {
        self.name = name
        self.initializer = initializer
    }
}
