import CRemap

/// The one place Swift calls into the C core's runtime functions, so the
/// rest of the library reads as Swift (swift-system's `Syscalls.swift` idea).
enum CoreCalls {
    static func initialize() -> Int32 { rm_init() }
    static func acquire() { rm_acquire() }
    static func release() { rm_release() }
    static func attachThread() -> Int32 { rm_thread_attach() }

    /// The current error of the calling thread, cleared once read.
    static func takeError() -> RemapError {
        let kind = rm_error_occurred()
        let message = String(cString: rm_error_message())
        rm_error_clear()
        return .core(RemapError.Kind(kind), message: message)
    }
}
