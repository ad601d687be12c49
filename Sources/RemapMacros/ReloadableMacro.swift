import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// @Reloadable: a struct whose stored properties are a struct class's
/// fields. It generates
/// - the storage (`_remapObject`, the instance) and `init(_remapUnchecked:)`,
/// - an initializer with every field as a parameter (defaults as written)
///   that allocates a new instance,
/// - `_remapDefine`: the field table (kinds, offsets, the size), defaults,
///   @Renamed and @Initial rules, one method per `func`, and the class hook
///   (`func reload(added:removed:old:)`),
/// - `@_RemapField(offset:)` on each stored property (its accessors),
/// - the ReloadableStruct conformance.
public struct ReloadableMacro: MemberMacro, MemberAttributeMacro, ExtensionMacro {
    public static func expansion(of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
                                 conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext) throws -> [DeclSyntax] {
        guard let structDecl = declaration.as(StructDeclSyntax.self) else {
            throw MacroError("@Reloadable applies to a struct")
        }
        let name = structDecl.name.text
        let (fields, size) = try layoutFields(structDecl.memberBlock.members)

        var define: [String] = []
        let specs = fields.map { field in
            "FieldSpec(\"\(field.name)\", offset: \(field.offset), size: \(field.layout.byteSize), kind: \(field.layout.kind), count: \(field.layout.count))"
        }
        define.append("let cls = try module.structClass(\(name).self, \"\(name)\", size: \(size), fields: [\(specs.joined(separator: ", "))])")
        for field in fields {
            if let value = field.initializer, field.layout.count == 0 {
                define.append("try cls.fieldDefault(\"\(field.name)\", (\(value.trimmedDescription)) as \(field.type.trimmedDescription))")
            } else if field.initializer == nil, field.type.trimmedDescription == "String" {
                define.append("try cls.fieldDefault(\"\(field.name)\", \"\")")
            }
            if let old = field.renamedFrom {
                define.append("try cls.renamed(\"\(field.name)\", from: \(old.trimmedDescription))")
            }
            if let closure = field.initialClosure {
                define.append("""
                    try cls.fieldInit("\(field.name)", { me, args, nargs in _RemapCall.run(args, nargs, "\(name).\(field.name)", 1, 1) { a in
                        let initial: (OldInstance) throws -> \(field.type.trimmedDescription) = \(closure.trimmedDescription)
                        return try initial(OldInstance(try a.get(0, Object.self)._remapObject))
                    } })
                    """)
            }
        }
        for member in structDecl.memberBlock.members {
            guard let function = member.decl.as(FunctionDeclSyntax.self), !isStatic(function.modifiers),
                  !isPrivate(function.modifiers) else { continue }
            let method = function.name.text
            let instance = "try _RemapCall.instance(me, \(name).self)"
            if method == "reload" {
                define.append("""
                    try cls.classHook({ me, args, nargs in _RemapCall.run(args, nargs, "\(name).reload", 3, 3) { a in
                        try \(instance).reload(added: try _RemapCall.names(a, 0), removed: try _RemapCall.names(a, 1),
                                               old: OldInstance(try a.get(2, Object.self)._remapObject))
                    } })
                    """)
                continue
            }
            define.append("try cls.method(\"\(method)\", \(try callGlue(function, displayName: "\(name).\(method)", callee: "\(instance).\(method)")))")
        }

        let parameters = fields.map { field in
            "\(field.name): \(field.type.trimmedDescription)" + (field.initializer.map { " = \($0.trimmedDescription)" } ?? "")
        }
        // Stores at the offsets, not `self.x = x`: in an initializer that
        // would be taken for the init accessor's initialization.
        let assignments = fields.map { field in
            "\(field.layout.reference ? "_remapStoreReference" : "_remapStore")(_remapBase, \(field.offset), \(field.name))"
        }
        return [
            "public let _remapObject: HeapPointer",
            "@inlinable public init(_remapUnchecked object: HeapPointer) { _remapObject = object }",
            // Read on every method call and loop: no dynamic exclusivity
            // check (it is written only while the module is defined).
            "@exclusivity(unchecked) nonisolated(unsafe) public static var _remapClass: rm_handle? = nil",
            """
            /// A new instance on the Remap heap.
            public init(\(raw: parameters.joined(separator: ", "))) {
                self.init(_remapUnchecked: Self._remapNew())
                \(raw: assignments.joined(separator: "\n"))
            }
            """,
            """
            public static func _remapDefine(_ module: ModuleDefinition) throws {
                \(raw: define.joined(separator: "\n"))
            }
            """,
        ]
    }

    public static func expansion(of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
                                 providingAttributesFor member: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [AttributeSyntax] {
        guard let structDecl = declaration.as(StructDeclSyntax.self),
              let variable = member.as(VariableDeclSyntax.self), isStored(variable),
              let binding = variable.bindings.first,
              let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text,
              let (fields, _) = try? layoutFields(structDecl.memberBlock.members),
              let field = fields.first(where: { $0.name == name }) else { return [] }
        return ["@_RemapField(offset: \(raw: field.offset), reference: \(raw: field.layout.reference))"]
    }

    public static func expansion(of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
                                 providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
                                 in context: some MacroExpansionContext) throws -> [ExtensionDeclSyntax] {
        [try ExtensionDeclSyntax("extension \(type.trimmed): ReloadableStruct {}")]
    }
}

/// @_RemapField(offset:reference:): a stored property's accessors, a load
/// and a store at its offset in the instance. A property written with an
/// initial value also gets an empty `init` accessor, which keeps the value
/// legal to write: the class's default, not Swift, initializes the field.
public struct FieldMacro: AccessorMacro {
    public static func expansion(of node: AttributeSyntax, providingAccessorsOf declaration: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [AccessorDeclSyntax] {
        guard let variable = declaration.as(VariableDeclSyntax.self), let binding = variable.bindings.first,
              let type = binding.typeAnnotation?.type,
              case .argumentList(let arguments) = node.arguments,
              let offset = arguments.first?.expression.trimmedDescription,
              let reference = arguments.dropFirst().first?.expression.trimmedDescription else { return [] }
        let typeText = type.trimmedDescription
        var accessors: [AccessorDeclSyntax] = []
        if binding.initializer != nil {
            accessors.append("init(initialValue) {}")
        }
        if reference == "true" {
            accessors.append("get { _remapLoadReference(_remapBase, \(raw: offset), as: (\(raw: typeText)).self) }")
            accessors.append("nonmutating set { _remapStoreReference(_remapBase, \(raw: offset), newValue) }")
        } else {
            accessors.append("get { _remapLoad(_remapBase, \(raw: offset), as: (\(raw: typeText)).self) }")
            accessors.append("nonmutating set { _remapStore(_remapBase, \(raw: offset), newValue) }")
        }
        return accessors
    }
}

/// @Renamed and @Initial: read by @Reloadable; they generate nothing.
public struct MarkerMacro: PeerMacro {
    public static func expansion(of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [DeclSyntax] { [] }
}
