/// Why a load or a reload failed. Every case names the module; after any of
/// them, the running program still has its previous code and state.
public enum ReloadError: Error, CustomStringConvertible, Equatable, Sendable {
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
    /// Anything else the runtime reported.
    case runtime(module: String, cause: String)

    public var module: String? {
        switch self {
        case .invalidName, .importCycle: nil
        case .notFound(let m, _), .badLibrary(let m, _, _), .abiMismatch(let m, _, _, _), .initFailed(let m, _),
             .moduleHookFailed(let m, _), .instanceHookFailed(let m, _, _, _), .removalRefused(let m, _),
             .runtime(let m, _), .insecure(let m, _, _), .crashed(let m, _, _):
            m
        case .notLoaded(let m): m
        }
    }

    public var description: String {
        switch self {
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
        }
    }
}
