@_exported import CRemapAPI
#if canImport(Glibc)
import Glibc
#endif

/// A reference to an object on the Remap heap, as the C API passes it.
public typealias HeapPointer = UnsafeMutablePointer<rm_object>

/// What a module's code may ask the runtime for.
public enum Remap {
    /// The ABI version the module is compiled against (`rm_module_abi`).
    public static var abiVersion: UInt32 { UInt32(RM_ABI_VERSION) }

    /// Lets a reload or a control request in, then continues: call it in
    /// a loop that runs for long (`rm_safe_point`).
    public static func safePoint() { rm_safe_point() }

    /// Runs `body` with the runtime lock released (a sleep, a wait on I/O):
    /// reloads and control requests get in meanwhile. No heap object may
    /// be touched inside.
    public static func unlocked<T>(_ body: () throws -> T) rethrows -> T {
        rm_release()
        defer { rm_acquire() }
        return try body()
    }

    /// Sleeps `seconds` with the lock released.
    public static func sleep(_ seconds: Double) {
        let nanoseconds = Int(max(0, seconds) * 1e9)
        var request = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        unlocked { _ = nanosleep(&request, nil) }
    }
}

/// The name of an object's type, for messages ("int", "str", "Particle").
@usableFromInline func typeName(_ object: HeapPointer?) -> String {
    guard let object else { return "NULL" }
    return String(cString: rm_type_name(object.pointee.ob_type))
}
