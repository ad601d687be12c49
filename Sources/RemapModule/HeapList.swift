/// A Remap list whose items are `Element`s: kept in state or in a field, it
/// lives on the heap and survives reloads with everything in it. Reading an
/// item checks its type (the dynamic API can put anything in a list): an
/// item of another type stops the program, as an out-of-range index does.
public struct HeapList<Element: HeapValue>: HeapReference, RandomAccessCollection {
    public let _remapObject: HeapPointer

    @inlinable public init(_remapUnchecked object: HeapPointer) { _remapObject = object }
    @inlinable public static func _remapAccepts(_ object: HeapPointer) -> Bool { rm_is_list(object) }
    public static var heapTypeName: String { "list" }

    /// A new, empty list.
    public init() { _remapObject = mustSucceed(rm_list_new(0), "HeapList()") }

    /// A new list holding `items`.
    public init<S: Sequence>(_ items: S) throws where S.Element == Element {
        self.init()
        for item in items { try append(item) }
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { rm_list_size(_remapObject) }

    @inlinable public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < rm_list_size(_remapObject), "HeapList index out of range")
            return Self.item(rm_list_items(_remapObject)[index], Element._remapExpectedType())
        }
        nonmutating set {
            precondition(index >= 0 && index < rm_list_size(_remapObject), "HeapList index out of range")
            _ = rm_list_set(_remapObject, index, mustSucceed(try? newValue.toHeap(), "HeapList item"))
        }
    }

    /// Adds `item` at the end.
    @inlinable public func append(_ item: Element) throws {
        guard rm_list_append(_remapObject, try item.toHeap()) == 0 else { throw RemapError.pending() }
    }

    /// Empties the list.
    public func removeAll() { _ = rm_list_clear(_remapObject) }

    /// An item as `Element`: an exact class match is a compare with the
    /// type read once per loop; anything else goes through the checked
    /// conversion.
    @inlinable static func item(_ object: HeapPointer?, _ expected: UnsafeMutableRawPointer?) -> Element {
        guard let object else { preconditionFailure("HeapList: a NULL item") }
        if let expected, UnsafeMutableRawPointer(object.pointee.ob_type) == expected {
            return Element._remapUnchecked(object)
        }
        do { return try Element.fromHeap(object) } catch {
            preconditionFailure("HeapList<\(Element.self)>: \(error)")
        }
    }

    /// Iterates over the items the list has when the loop starts, without
    /// a call into the runtime per item.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let items: UnsafePointer<HeapPointer?>?
        @usableFromInline let count: Int
        @usableFromInline let expected: UnsafeMutableRawPointer?
        @usableFromInline var index = 0

        @inlinable init(_ list: HeapPointer) {
            items = rm_list_items(list)
            count = rm_list_size(list)
            expected = Element._remapExpectedType()
        }

        @inlinable public mutating func next() -> Element? {
            guard index < count, let items else { return nil }
            defer { index += 1 }
            return HeapList.item(items[index], expected)
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(_remapObject) }
}
