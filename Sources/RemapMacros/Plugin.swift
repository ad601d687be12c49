import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin: the macros RemapModule declares.
@main
struct RemapMacrosPlugin: CompilerPlugin {
    let providingMacros: [Macro.Type] = [ReloadableMacro.self, FieldMacro.self, MarkerMacro.self, ModuleMacro.self]
}

/// A diagnostic message: what a macro refuses, and why.
struct MacroError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
