#if canImport(Glibc)
import Glibc
#endif

/// Every error the `Reload` library throws: one enum, so a host catches one
/// type and switches over what went wrong. The description is the message
/// a user sees (the CLI prints it after "Error: "); every case carries what
/// a program needs to react without parsing it.
///
/// After any load or reload case, the running program still has its
/// previous code and state.
public enum RemapError: Error, CustomStringConvertible, Equatable, Sendable {
    // MARK: The core

    /// An error the C core reported (`rm_error_occurred`): a TypeError, a
    /// KeyError, ... with its message. Also what Swift code running as a
    /// module function throws to raise one.
    case core(Kind, message: String)

    // MARK: Loading and reloading

    /// The name is not a dotted identifier (refused before touching files).
    case invalidName(String)
    /// No module of that name in the search paths or among in-process modules.
    case notFound(module: String, searched: [String])
    /// The file exists but is not a loadable library, or lacks the entry points.
    case badLibrary(module: String, path: String, reason: String)
    /// The library was built against another module ABI.
    case abiMismatch(module: String, path: String, found: UInt32, expected: UInt32)
    /// The module's initializer failed.
    case initFailed(module: String, cause: String)
    /// A module imports itself through a chain of imports.
    case importCycle([String])
    /// The module's `__reload__(old_namespace)` hook failed.
    case moduleHookFailed(module: String, cause: String)
    /// A class `__reload__` hook failed on an instance; everything was rolled back.
    case instanceHookFailed(module: String, className: String, instance: Int, cause: String)
    /// The policy refuses to remove a definition.
    case removalRefused(module: String, names: [String])
    /// The library or its folder could have been written by another user.
    case insecure(module: String, path: String, reason: String)
    /// The module is not loaded, so it cannot be reloaded.
    case notLoaded(String)
    /// The new code crashed (a signal caught by the crash guard) in `phase`;
    /// everything was rolled back.
    case crashed(module: String, phase: String, cause: String)
    /// Anything else the runtime reported while loading or reloading `module`.
    case runtime(module: String, cause: String)

    // MARK: Calls

    /// A call into module code crashed (`ModuleLoader.callGuarded`): the
    /// function as `module.name`, the signal's name ("SIGSEGV"), and what
    /// the guard saw ("crashed: SIGSEGV at address 0x0 (instruction 0x7f…)").
    case callCrashed(function: String, signal: String, message: String)

    // MARK: Building modules

    /// Remap's headers (include/remap/module.h) are in none of these folders.
    case headersNotFound([String])
    /// The compiler failed on `source`; `output` is what it printed.
    case compilerFailed(source: String, output: String)

    // MARK: The control socket

    /// A system call failed: its name, errno, and what it was applied to.
    case system(call: String, errno: Int32, detail: String)
    /// A control request failed: the host's error code and message (thrown
    /// by `ControlClient` for a reply with "ok": false, and by the server's
    /// own request handling).
    case requestFailed(code: ControlErrorCode, message: String)
    /// The connection broke or the reply was not one of the protocol's.
    case protocolError(String)
    /// No socket at the path, or nothing listening on it.
    case unreachable(path: String, reason: String)
    /// No complete reply within the timeout.
    case timedOut(seconds: Double, path: String)

    /// The module a load or reload case names, if any.
    public var module: String? {
        switch self {
        case .notFound(let m, _), .badLibrary(let m, _, _), .abiMismatch(let m, _, _, _), .initFailed(let m, _),
             .moduleHookFailed(let m, _), .instanceHookFailed(let m, _, _, _), .removalRefused(let m, _),
             .runtime(let m, _), .insecure(let m, _, _), .crashed(let m, _, _), .notLoaded(let m):
            m
        default:
            nil
        }
    }

    /// True for an error the C core reported (`.core`).
    public var isCore: Bool {
        if case .core = self { return true }
        return false
    }

    /// True for the load and reload cases (`invalidName` through
    /// `runtime(module:cause:)`): the module's previous code and state are
    /// still in place.
    public var isLoadFailure: Bool {
        switch self {
        case .invalidName, .importCycle: true
        default: module != nil
        }
    }

    public var description: String {
        switch self {
        case .core(let kind, let message):
            "\(kind.rawValue): \(message)"
        case .invalidName(let name):
            "invalid module name '\(name)': use dotted identifiers such as 'game.physics'"
        case .notFound(let module, let searched):
            "module \(module) not found (searched: \(searched.isEmpty ? "no search paths" : searched.joined(separator: ", ")))"
        case .badLibrary(let module, let path, let reason):
            "module \(module): \(path) is not a loadable Remap module: \(reason)"
        case .abiMismatch(let module, let path, let found, let expected):
            "module \(module): \(path) was built for module ABI \(found), this host speaks \(expected); rebuild it"
        case .initFailed(let module, let cause):
            "module \(module): rm_module_init failed: \(cause)"
        case .importCycle(let chain):
            "import cycle: \(chain.joined(separator: " -> "))"
        case .moduleHookFailed(let module, let cause):
            "module \(module): __reload__ hook failed: \(cause); nothing was changed"
        case .instanceHookFailed(let module, let cls, let index, let cause):
            "module \(module): \(cls).__reload__ failed on instance \(index): \(cause); the reload was rolled back"
        case .removalRefused(let module, let names):
            "module \(module): the new version removes \(names.joined(separator: ", ")) and the policy refuses removals"
        case .insecure(let module, let path, let reason):
            "module \(module): refusing \(path): \(reason); fix its permissions or pass --allow-insecure-modules"
        case .notLoaded(let module):
            "module \(module) is not loaded"
        case .crashed(let module, let phase, let cause):
            "module \(module): the new code \(cause) in \(phase); the reload was rolled back and the old code keeps running"
        case .runtime(let module, let cause):
            "module \(module): \(cause)"
        case .callCrashed(_, _, let message):
            message
        case .headersNotFound(let searched):
            "cannot find Remap's headers (include/remap/module.h); searched \(searched.joined(separator: ", ")). Set REMAP_INCLUDE to the include folder."
        case .compilerFailed(let source, let output):
            "building \(source) failed:\n\(output)"
        case .system(let call, let errno, let detail):
            "\(call)\(detail.isEmpty ? "" : " \(detail)"): \(String(cString: strerror(errno)))"
        case .requestFailed(let code, let message):
            "\(message) [\(code)]"
        case .protocolError(let message):
            message
        case .unreachable(let path, let reason):
            "cannot reach a host at \(path): \(reason)"
        case .timedOut(let seconds, let path):
            "no reply from the host at \(path) within \(Self.format(seconds)) s (raise it with --timeout)"
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
