/// The arguments of one call from Remap, read as Swift types: the glue the
/// macros generate for every function and method goes through here.
public struct Arguments {
    @usableFromInline let items: UnsafePointer<HeapPointer?>?
    public let count: Int
    @usableFromInline let function: String

    @inlinable init(_ items: UnsafePointer<HeapPointer?>?, _ count: Int, function: String) {
        self.items = items
        self.count = count
        self.function = function
    }

    /// Argument `index` as `T`; a TypeError naming the function and the
    /// argument when it is not one.
    @inlinable public func get<T: HeapValue>(_ index: Int, _ type: T.Type = T.self) throws -> T {
        guard let items, index < count, let object = items[index] else {
            throw RemapError.typeError("\(function)() missing argument \(index + 1)")
        }
        if let expected = T._remapExpectedType(), UnsafeMutableRawPointer(object.pointee.ob_type) == expected {
            return T._remapUnchecked(object)
        }
        do { return try T.fromHeap(object) } catch let error as RemapError {
            throw RemapError(error.kind, "\(function)() argument \(index + 1) must be \(T.heapTypeName), not \(typeName(object))")
        }
    }

    /// Argument `index` as `T`, or `fallback` when the call has fewer.
    @inlinable public func get<T: HeapValue>(_ index: Int, default fallback: @autoclosure () -> T) throws -> T {
        index < count ? try get(index) : fallback()
    }
}

/// Calls into module code from the C API, as the generated glue does.
public enum _RemapCall {
    /// Checks the argument count (`required`...`total`), runs `body`,
    /// converts its result; a thrown error becomes the current error.
    @inlinable
    public static func run<R: HeapValue>(_ args: UnsafePointer<HeapPointer?>?, _ nargs: Int, _ name: String,
                                         _ required: Int, _ total: Int,
                                         _ body: (Arguments) throws -> R) -> HeapPointer? {
        do {
            try checkCount(nargs, name, required, total)
            return try body(Arguments(args, nargs, function: name)).toHeap()
        } catch {
            RemapError.set(error)
            return nil
        }
    }

    @inlinable
    public static func run(_ args: UnsafePointer<HeapPointer?>?, _ nargs: Int, _ name: String,
                           _ required: Int, _ total: Int,
                           _ body: (Arguments) throws -> Void) -> HeapPointer? {
        do {
            try checkCount(nargs, name, required, total)
            try body(Arguments(args, nargs, function: name))
            return rm_get_none()
        } catch {
            RemapError.set(error)
            return nil
        }
    }

    /// "spawn() takes exactly 1 argument (2 given)", as rm_args_parse says it.
    @inlinable
    public static func checkCount(_ nargs: Int, _ name: String, _ required: Int, _ total: Int) throws {
        guard nargs < required || nargs > total else { return }
        let bound = required == total ? "exactly" : nargs < required ? "at least" : "at most"
        let n = nargs < required ? required : total
        throw RemapError.typeError("\(name)() takes \(bound) \(n) argument\(n == 1 ? "" : "s") (\(nargs) given)")
    }

    /// The instance a method is called on, checked.
    @inlinable
    public static func instance<T: ReloadableStruct>(_ object: HeapPointer?, _ type: T.Type) throws -> T {
        guard let object else { throw RemapError.typeError("\(T.self) method called without an instance") }
        return try T.fromHeap(object)
    }
}

extension _RemapCall {
    /// Argument `index`, a tuple of str (the class hook's added and removed
    /// field names), as an array.
    public static func names(_ a: Arguments, _ index: Int) throws -> [String] {
        let tuple = try a.get(index, Object.self)._remapObject
        guard rm_is_tuple(tuple) else { throw RemapError.typeError("expected a tuple of field names") }
        return try (0..<rm_tuple_size(tuple)).map { try String.fromHeap(try _remapChecked(rm_tuple_get(tuple, $0))) }
    }
}
