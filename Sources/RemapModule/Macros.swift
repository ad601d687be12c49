/// A struct whose storage is a struct-class instance on the Remap heap
/// (docs/swift-modules.md). Each stored property becomes a field: its kind,
/// offset and default are generated, and reading or writing it is a load or
/// store at a fixed offset. Methods are callable from Remap. Declare it
/// inside the @Module enum whose module defines it.
@attached(member, names: named(_remapObject), named(init), named(_remapClass), named(_remapDefine),
          named(_remapLayout))
@attached(memberAttribute)
@attached(extension, conformances: ReloadableStruct)
public macro Reloadable() = #externalMacro(module: "RemapMacros", type: "ReloadableMacro")

/// What @Reloadable puts on each stored property: the accessors at `offset`.
@attached(accessor, names: named(init), named(get), named(set))
public macro _RemapField(offset: Int, reference: Bool) = #externalMacro(module: "RemapMacros", type: "FieldMacro")

/// The field was called `old` in the version before: old instances keep
/// its value under the new name (`rm_def_field_renamed`).
@attached(peer)
public macro Renamed(from old: String) = #externalMacro(module: "RemapMacros", type: "MarkerMacro")

/// The value an old instance gets for this field when a reload adds it,
/// computed from the instance as it was (`rm_def_field_init`).
@attached(peer)
public macro Initial<T>(_ initializer: (OldInstance) throws -> T) = #externalMacro(module: "RemapMacros", type: "MarkerMacro")

/// A module: the enum's static functions are its functions, its @State
/// variables its state, its @Reloadable structs its classes, and
/// `static func reload(old: OldNamespace) throws` its hook. Generates the
/// exports a host loads (`rm_module_abi`, `rm_module_init`).
/// `@Module(exports: false)` leaves the exports out, for a module compiled
/// into a host and defined in process (`ModuleBuilder.define(name._remapDefine)`
/// in Reload): a program has one `rm_module_init` at most.
@attached(member, names: named(_remapDefine), named(live), named(_remapAnchor))
@attached(peer, names: named(_remap_module_abi), named(_remap_module_init))
public macro Module(exports: Bool = true) = #externalMacro(module: "RemapMacros", type: "ModuleMacro")
