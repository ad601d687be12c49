import CRemap

/// The operations that need the runtime lock, handed to the body of
/// `Runtime.withLock { heap in ... }`: code without a `Heap` cannot make,
/// call or collect objects.
///
/// The rule for pointers and handles: an `Object` is a raw pointer, valid
/// while the lock is held and the collector can see it (on this thread's
/// stack, in a heap slot, or in a `Ref`); it must not outlive the
/// `withLock` body. A value kept past the lock is a `Ref`: a handle the
/// collector scans and a reload rewrites (`heap.ref(_:)`). Every public
/// function that takes or returns an `Object` is one to call inside
/// `withLock`.
///
/// A `Heap` is not `Sendable` and belongs to the body it was given to.
/// Used after the body returned, or on a thread that does not hold the
/// lock, every operation throws a RuntimeError instead of touching the
/// heap unlocked.
public struct Heap {
    public let runtime: Runtime

    init(runtime: Runtime) {
        self.runtime = runtime
    }

    /// Throws unless the calling thread holds the lock.
    private func locked() throws {
        guard rm_lock_held() else {
            throw RemapError.core(.runtime, message: "a Heap was used outside Runtime.withLock: keep a Ref instead")
        }
    }

    // MARK: Making objects

    public var none: Object { rm_get_none() }
    public func bool(_ value: Bool) -> Object { value ? rm_get_true() : rm_get_false() }
    public func int(_ value: Int) throws -> Object { try locked(); return try Objects.int(value) }
    public func float(_ value: Double) throws -> Object { try locked(); return try Reload.check(rm_float(value)) }
    public func string(_ value: String) throws -> Object { try locked(); return try Objects.string(value) }

    /// A list of `items` (kept alive by the list once it returns).
    public func list(_ items: [Object] = []) throws -> Object {
        try locked()
        return try Objects.withRootedArguments(items) { _, _ in
            let list = try Reload.check(rm_list_new(items.count))
            for item in items { try Reload.check(rm_list_append(list, item)) }
            return list
        }
    }

    /// An object from a JSON value: lists, dicts with str keys, scalars.
    public func object(_ json: JSONValue) throws -> Object { try locked(); return try json.makeObject() }

    // MARK: Reading objects

    public func intValue(_ object: Object) throws -> Int { try locked(); return try Objects.intValue(object) }
    public func stringValue(_ object: Object) throws -> String { try locked(); return try Objects.stringValue(object) }
    /// The printable form (`rm_repr`).
    public func describe(_ object: Object) throws -> String { try locked(); return Objects.describe(object) }
    /// The JSON form, as the control socket's `get` shows it.
    public func json(_ object: Object) throws -> JSONValue { try locked(); return JSONValue(rendering: object) }

    // MARK: Calls and attributes

    public func call(_ callable: Object, _ args: [Object] = []) throws -> Object {
        try locked()
        return try Objects.call(callable, args)
    }

    /// `object.name(args)`.
    public func callMethod(_ object: Object, _ name: String, _ args: [Object] = []) throws -> Object {
        try locked()
        return try Objects.callMethod(object, name, args)
    }

    public func getAttribute(_ object: Object, _ name: String) throws -> Object {
        try locked()
        return try Objects.getAttribute(object, name)
    }

    // MARK: Handles

    /// A handle that keeps `object` alive past the lock and follows reloads.
    public func ref(_ object: Object) throws -> Ref { try locked(); return try Ref(object) }

    /// The object a handle holds now, after any reload.
    public func object(_ ref: Ref) throws -> Object { try locked(); return ref.object }

    // MARK: The heap as a whole

    /// A full collection (see `Runtime.collect`).
    public func collect() throws { try locked(); runtime.collect() }

    /// Checks every object and handle; throws the first fault.
    public func check() throws { try locked(); try runtime.checkHeap() }

    /// Lets a waiting reload or control request run, then takes the lock back.
    public func safePoint() throws { try locked(); runtime.safePoint() }
}

extension Runtime {
    /// Runs `body` holding the runtime lock, with the `Heap` that works
    /// under it. Not recursive: do not call `withLock` from inside `body`.
    /// Throws what `body` throws, the reason the runtime could not start,
    /// or why this thread could not be registered with Boehm.
    public func withLock<T>(_ body: (Heap) throws -> T) throws -> T {
        try withLock { try body(Heap(runtime: self)) }
    }
}
