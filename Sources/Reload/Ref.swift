import CRemap

/// A strong reference to a heap object, held from Swift.
///
/// Swift memory is invisible to Boehm, so the object is kept in a handle: a
/// slot in a table Boehm scans, which remap rewrites like any heap slot. A
/// `Ref` to an old object therefore sees the new one after a reload.
/// Create, read and drop refs holding the runtime lock.
public final class Ref: @unchecked Sendable {
    let handle: rm_handle

    /// Keeps `object` alive; throws if the handle table cannot grow.
    public init(_ object: UnsafeMutablePointer<rm_object>) throws {
        guard let h = rm_handle_new(object) else { throw CoreCalls.takeError() }
        handle = h
    }

    /// The object now, after any remap. Setting it drops the old reference.
    public var object: UnsafeMutablePointer<rm_object> {
        get { rm_handle_get(handle) }
        set { rm_handle_set(handle, newValue) }
    }

    deinit {
        // Freeing a handle slot touches the handle table: take the lock unless
        // the thread already holds it (a Ref dropped inside withLock). The
        // last release may happen on any thread; freeing a slot holds no heap
        // pointer, so the thread is not registered with Boehm for it.
        if rm_lock_held() {
            rm_handle_free(handle)
        } else {
            rm_acquire()
            rm_handle_free(handle)
            rm_release()
        }
    }
}
