import CRemap

/// A Swift closure as a runtime function: the function object's closure slot
/// holds a capsule that owns the closure, and one C trampoline calls it.
final class SwiftFunctionBox {
    /// (self, arguments): self is the function for a plain call, the
    /// instance for a method call.
    let body: (Object, [Object]) throws -> Object

    init(_ body: @escaping (Object, [Object]) throws -> Object) {
        self.body = body
    }
}

private let swiftTrampoline: rm_cfunction = { selfObject, args, nargs in
    guard let function = rm_function_current(),
          let capsule = rm_function_closure(function),
          let raw = rm_capsule_pointer(capsule)
    else {
        rm_error_set_message(RM_ERR_RUNTIME, "a Swift function lost its closure")
        return nil
    }
    let box = Unmanaged<SwiftFunctionBox>.fromOpaque(raw).takeUnretainedValue()
    var list: [Object] = []
    list.reserveCapacity(nargs)
    for i in 0..<nargs { if let arg = args?[i] { list.append(arg) } }
    do {
        return try box.body(selfObject!, list)
    } catch {
        RemapError.raise(error, as: .runtime)
    }
    return nil
}

/// Makes a function object that runs `body`. `arity` < 0: any number of
/// arguments. Call holding the lock.
func makeSwiftFunction(
    name: String, arity: Int, module: Object?,
    body: @escaping (Object, [Object]) throws -> Object
) throws -> Object {
    let box = Unmanaged.passRetained(SwiftFunctionBox(body))
    guard let capsule = rm_capsule_new(box.toOpaque(), "swift-function", { raw in
        if let raw { Unmanaged<SwiftFunctionBox>.fromOpaque(raw).release() }
    }) else {
        box.release()
        throw CoreCalls.takeError()
    }
    return try check(rm_function_new(name, swiftTrampoline, Int32(arity), module, capsule))
}
