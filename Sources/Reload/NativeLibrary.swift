import CRemap
import CRemapLoader
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One loaded copy of a module's shared library.
///
/// Every load copies the file to a private name first: `dlopen` returns the
/// already-loaded library for a path it has seen, which would hand a reload
/// the old code. The copy is unlinked right after `dlopen` (the mapping stays).
final class NativeLibrary {
    let module: String
    let path: String
    let handle: UnsafeMutableRawPointer
    let initFunction: rm_module_init_fn
    /// Where the library's segments are mapped: a function object pointing in
    /// here keeps the library open.
    let codeRange: Range<UInt>
    private var retiredAlready = false

    private nonisolated(unsafe) static var copies = 0

    private init(module: String, path: String, handle: UnsafeMutableRawPointer,
                 initFunction: rm_module_init_fn, codeRange: Range<UInt>) {
        self.module = module
        self.path = path
        self.handle = handle
        self.initFunction = initFunction
        self.codeRange = codeRange
    }

    /// Opens a private copy of `path` and checks it is a module of our ABI.
    static func open(module: String, path: String) throws -> NativeLibrary {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw RemapError.badLibrary(module: module, path: path, reason: "no such file")
        }
        let directory = try privateDirectory()
        copies += 1
        // The process id and a random part keep two processes that share
        // TMPDIR from overwriting each other's copies.
        let copy = "\(directory)/\(module)-\(getpid())-\(copies)-\(UInt32.random(in: 0...UInt32.max)).so"
        do {
            try? fm.removeItem(atPath: copy)
            try fm.copyItem(atPath: path, toPath: copy)
        } catch {
            throw RemapError.badLibrary(module: module, path: path, reason: "cannot copy it: \(error.localizedDescription)")
        }
        defer { unlink(copy) }
        guard let handle = dlopen(copy, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw RemapError.badLibrary(module: module, path: path, reason: reason.replacingOccurrences(of: copy, with: path))
        }
        do {
            let found: UInt32
            if let abi = dlsym(handle, "rm_module_abi_version") {
                found = abi.load(as: UInt32.self)
            } else if let abi = dlsym(handle, "rm_module_abi") {
                found = UInt32(unsafeBitCast(abi, to: rm_module_abi_fn.self)())
            } else {
                throw RemapError.badLibrary(module: module, path: path,
                                             reason: "no ABI version (add RM_MODULE_ABI; to a C module, rm_module_abi() to a Swift one)")
            }
            guard found == UInt32(RM_ABI_VERSION) else {
                throw RemapError.abiMismatch(module: module, path: path, found: found, expected: UInt32(RM_ABI_VERSION))
            }
            guard let symbol = dlsym(handle, "rm_module_init") else {
                throw RemapError.badLibrary(module: module, path: path, reason: "no rm_module_init function")
            }
            var lo: UInt = 0, hi: UInt = 0
            guard rm_library_range(symbol, &lo, &hi) == 0 else {
                throw RemapError.badLibrary(module: module, path: path, reason: CoreCalls.takeError().message)
            }
            let initFunction = unsafeBitCast(symbol, to: rm_module_init_fn.self)
            return NativeLibrary(module: module, path: path, handle: handle, initFunction: initFunction, codeRange: lo..<hi)
        } catch {
            // Not a module of ours, but its constructors ran: retire it like
            // any other, so nothing it set up is unmapped under a pointer.
            // One whose range cannot be found stays mapped.
            var lo: UInt = 0, hi: UInt = 0
            if let symbol = dlsym(handle, "rm_module_init") ?? dlsym(handle, "rm_module_abi_version"),
               rm_library_range(symbol, &lo, &hi) == 0 {
                if rm_library_retire(handle, lo, hi) != 0 { rm_error_clear() }
            } else {
                rm_error_clear()
            }
            throw error
        }
    }

    /// Hands the library to the runtime, which closes it once no live
    /// object can run its code (CSources/loader.h). A library
    /// that ran any code is never closed directly.
    func retire() {
        guard !retiredAlready else { return }
        retiredAlready = true
        // On failure (out of memory) the library simply stays mapped.
        if rm_library_retire(handle, codeRange.lowerBound, codeRange.upperBound) != 0 { rm_error_clear() }
    }

    /// A folder only this user can read, for the private copies.
    private static func privateDirectory() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let dir = "\(base)/remap-\(getuid())-libs"
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw RemapError.runtime(module: "loader", cause: "cannot create \(dir): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(dir, &info) == 0, info.st_uid == getuid(), (info.st_mode & S_IFMT) == S_IFDIR,
              info.st_mode & 0o077 == 0
        else {
            throw RemapError.runtime(module: "loader", cause: "\(dir) is not a private folder of this user")
        }
        return dir
    }
}
