import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// @Module: an enum that is a module. It generates
/// - `_remapDefine(builder)`: the anchor (a handle that follows the module
///   across reloads), each nested @Reloadable struct's class, each @State
///   variable's `rm_def_state`, one function per `static func`, and the
///   module hook (`static func reload(old:)`);
/// - `live`: the module's current namespace, for calls that must reach the
///   newest version;
/// - beside the enum, the two C exports a host loads: `rm_module_abi` and
///   `rm_module_init`.
public struct ModuleMacro: MemberMacro, PeerMacro {
    public static func expansion(of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
                                 conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext) throws -> [DeclSyntax] {
        guard let enumDecl = declaration.as(EnumDeclSyntax.self) else {
            throw MacroError("@Module applies to an enum (a namespace: `@Module enum particles { ... }`)")
        }
        let module = enumDecl.name.text
        var define: [String] = ["let anchor = try m.anchor(keeping: _remapAnchor)", "_remapAnchor = anchor"]
        for member in enumDecl.memberBlock.members {
            if let nested = member.decl.as(StructDeclSyntax.self), hasAttribute(nested.attributes, "Reloadable") {
                define.append("try m.define(\(nested.name.text).self)")
            } else if let variable = member.decl.as(VariableDeclSyntax.self), hasAttribute(variable.attributes, "State") {
                guard isStatic(variable.modifiers) else { throw MacroError("@State variables are `static var`s") }
                for binding in variable.bindings {
                    guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text else { continue }
                    define.append("try _\(name)._remapDefine(m, \"\(name)\", anchor: anchor)")
                }
            } else if let function = member.decl.as(FunctionDeclSyntax.self), isStatic(function.modifiers),
                      !isPrivate(function.modifiers) {
                let name = function.name.text
                if name == "reload" {
                    define.append("""
                        try m.moduleHook({ me, args, nargs in _RemapCall.run(args, nargs, "\(module).reload", 1, 1) { a in
                            try \(module).reload(old: OldNamespace(try a.get(0, Object.self)._remapObject))
                        } })
                        """)
                } else {
                    define.append("try m.function(\"\(name)\", \(try callGlue(function, displayName: "\(module).\(name)", callee: "\(module).\(name)")))")
                }
            }
        }
        return [
            "@exclusivity(unchecked) nonisolated(unsafe) static var _remapAnchor: rm_handle? = nil",
            """
            /// The module's current namespace: `try \(raw: module).live.tick()` calls the newest tick.
            static var live: Namespace { Namespace(_remapAnchor: _remapAnchor) }
            """,
            """
            static func _remapDefine(_ builder: OpaquePointer?) -> Int32 {
                ModuleDefinition.run(builder) { m in
                    \(raw: define.joined(separator: "\n"))
                }
            }
            """,
        ]
    }

    public static func expansion(of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
                                 in context: some MacroExpansionContext) throws -> [DeclSyntax] {
        guard let enumDecl = declaration.as(EnumDeclSyntax.self) else { return [] }
        if case .argumentList(let arguments) = node.arguments,
           arguments.contains(where: { $0.label?.text == "exports" && $0.expression.trimmedDescription == "false" }) {
            return []
        }
        return [
            "@_cdecl(\"rm_module_abi\") public func _remap_module_abi() -> UInt32 { Remap.abiVersion }",
            """
            @_cdecl("rm_module_init") public func _remap_module_init(_ builder: OpaquePointer?) -> Int32 {
                \(raw: enumDecl.name.text)._remapDefine(builder)
            }
            """,
        ]
    }
}
