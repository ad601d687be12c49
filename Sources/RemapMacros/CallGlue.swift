import SwiftSyntax

/// The C function (an `rm_cfunction` closure literal, capturing nothing)
/// that calls a Swift function from Remap: it checks the argument count,
/// converts each argument to its parameter's type (a TypeError naming the
/// argument otherwise), calls, converts the result, and turns a thrown
/// error into the runtime's current error.
///
/// `callee` is how the glue reaches the function: `particles.spawn` for a
/// module function, `try _RemapCall.instance(me, Particle.self).step` for
/// a method.
func callGlue(_ function: FunctionDeclSyntax, displayName: String, callee: String) throws -> String {
    let signature = function.signature
    if signature.effectSpecifiers?.asyncSpecifier != nil {
        throw MacroError("\(function.name.text) is async: Remap calls are synchronous")
    }
    let throwing = signature.effectSpecifiers?.throwsClause != nil
    var arguments: [String] = []
    var required = 0
    let parameters = Array(signature.parameterClause.parameters)
    for (index, parameter) in parameters.enumerated() {
        if parameter.ellipsis != nil || parameter.type.is(AttributedTypeSyntax.self) {
            throw MacroError("parameter \(index + 1) of \(function.name.text): variadic and inout parameters cannot be called from Remap")
        }
        let type = parameter.type.trimmedDescription
        let value: String
        if let fallback = parameter.defaultValue?.value {
            value = "try a.get(\(index), default: \(fallback.trimmedDescription) as \(type))"
        } else {
            guard required == index else {
                throw MacroError("\(function.name.text): a parameter without a default follows one with a default")
            }
            required += 1
            value = "try a.get(\(index), \(type).self)"
        }
        let label = parameter.firstName.text
        arguments.append(label == "_" ? value : "\(label): \(value)")
    }
    let call = "\(throwing ? "try " : "")\(callee)(\(arguments.joined(separator: ", ")))"
    return "{ me, args, nargs in _RemapCall.run(args, nargs, \"\(displayName)\", \(required), \(parameters.count)) { a in \(call) } }"
}

/// Whether a declaration is `static` (or `class`).
func isStatic(_ modifiers: DeclModifierListSyntax) -> Bool {
    modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
}

/// Whether a declaration is private or fileprivate: kept out of Remap.
func isPrivate(_ modifiers: DeclModifierListSyntax) -> Bool {
    modifiers.contains { $0.name.tokenKind == .keyword(.private) || $0.name.tokenKind == .keyword(.fileprivate) }
}
