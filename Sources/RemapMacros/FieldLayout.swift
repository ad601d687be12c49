import SwiftSyntax

/// How a Swift stored property's type is laid out as a struct-class field:
/// the C kind, the size and alignment of one element, the element count
/// (0: a scalar; n: a fixed tuple of n) and whether it is a reference.
struct FieldType {
    var kind: String
    var size: Int
    var count: Int
    var reference: Bool

    static let scalars: [String: (kind: String, size: Int)] = [
        "Int": ("RM_I64", 8), "Int64": ("RM_I64", 8), "Int32": ("RM_I32", 4), "Int16": ("RM_I16", 2),
        "Int8": ("RM_I8", 1), "UInt": ("RM_U64", 8), "UInt64": ("RM_U64", 8), "UInt32": ("RM_U32", 4),
        "UInt16": ("RM_U16", 2), "UInt8": ("RM_U8", 1), "Double": ("RM_F64", 8), "Float": ("RM_F32", 4),
        "Bool": ("RM_BOOL", 1),
    ]

    /// The layout of a type as written: a scalar, a tuple of one scalar
    /// type, or else a reference (String, a @Reloadable struct, HeapList,
    /// Object, an optional of those).
    static func of(_ type: TypeSyntax) throws -> FieldType {
        let text = type.trimmedDescription
        if let scalar = Self.scalars[text] {
            return FieldType(kind: scalar.kind, size: scalar.size, count: 0, reference: false)
        } else if let tuple = type.as(TupleTypeSyntax.self) {
            let elements = tuple.elements.map { $0.type.trimmedDescription }
            guard let first = elements.first, let scalar = Self.scalars[first], elements.allSatisfy({ $0 == first }),
                  tuple.elements.allSatisfy({ $0.firstName == nil }) else {
                throw MacroError("a tuple field must have elements of one number or Bool type, unlabelled: \(text)")
            }
            return FieldType(kind: scalar.kind, size: scalar.size, count: elements.count, reference: false)
        } else {
            return FieldType(kind: "RM_OBJECT", size: 8, count: 0, reference: true)
        }
    }

    var byteSize: Int { size * max(count, 1) }
}

/// One stored property of a @Reloadable struct, placed.
struct Field {
    var name: String
    var type: TypeSyntax
    var layout: FieldType
    var offset: Int
    var initializer: ExprSyntax?
    var renamedFrom: ExprSyntax?
    var initialClosure: ExprSyntax?
}

/// The size of the object header every instance starts with
/// (RM_INSTANCE_HEADER, checked by rm_def_struct's overlap test).
let headerSize = 16

func align(_ n: Int, _ to: Int) -> Int { (n + to - 1) / to * to }

/// The stored properties of a struct, in declaration order, placed after
/// the header at their natural alignment: what the C struct with the same
/// members in the same order would be.
func layoutFields(_ members: MemberBlockItemListSyntax) throws -> (fields: [Field], size: Int) {
    var fields: [Field] = []
    var offset = headerSize
    for member in members {
        guard let variable = member.decl.as(VariableDeclSyntax.self), isStored(variable) else { continue }
        guard variable.bindingSpecifier.tokenKind == .keyword(.var) else {
            throw MacroError("a @Reloadable struct's stored properties are `var`s (fields can be written)")
        }
        for binding in variable.bindings {
            guard let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.trimmedDescription else {
                throw MacroError("a field needs a plain name")
            }
            guard let type = binding.typeAnnotation?.type else {
                throw MacroError("field \(name) needs its type written (`var \(name): Int = 0`)")
            }
            let layout = try FieldType.of(type)
            offset = align(offset, layout.size)
            fields.append(Field(name: name, type: type, layout: layout, offset: offset,
                                initializer: binding.initializer?.value,
                                renamedFrom: attributeArgument(variable.attributes, "Renamed"),
                                initialClosure: attributeArgument(variable.attributes, "Initial")))
            offset += layout.byteSize
        }
    }
    return (fields, align(offset, 8))
}

/// A `var` or `let` with storage: not static, no accessors of its own.
func isStored(_ variable: VariableDeclSyntax) -> Bool {
    if variable.modifiers.contains(where: { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }) {
        return false
    }
    return variable.bindings.allSatisfy { binding in
        guard let accessors = binding.accessorBlock?.accessors else { return true }
        if case .accessors(let list) = accessors {
            return list.allSatisfy { [.keyword(.willSet), .keyword(.didSet)].contains($0.accessorSpecifier.tokenKind) }
        }
        return false
    }
}

/// The first argument of attribute `@name(...)`, if the list has it.
func attributeArgument(_ attributes: AttributeListSyntax, _ name: String) -> ExprSyntax? {
    for case .attribute(let attribute) in attributes
    where attribute.attributeName.trimmedDescription == name {
        if case .argumentList(let arguments) = attribute.arguments { return arguments.first?.expression }
    }
    return nil
}

func hasAttribute(_ attributes: AttributeListSyntax, _ name: String) -> Bool {
    attributes.contains { element in
        if case .attribute(let attribute) = element { return attribute.attributeName.trimmedDescription == name }
        return false
    }
}
