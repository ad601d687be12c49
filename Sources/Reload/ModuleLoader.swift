import CRemap
import CRemapLoader
import Foundation

/// One generation of a module: its object, what each name is, what it
/// imports, and the library it came from.
final class LoadedModule {
    let name: String
    let generation: Int
    /// The module object, held through a handle: a remap rewrites it.
    let ref: Ref
    var kinds: [String: rm_def_kind]
    let imports: [String]
    /// Each name bound by `rm_import_from` -> the module it came from: the
    /// bindings a reload of that module rebinds by name when they are values.
    let importSources: [String: String]
    let library: NativeLibrary?
    let path: String?
    let loadedAt: Date

    init(name: String, generation: Int, ref: Ref, kinds: [String: rm_def_kind], imports: [String],
         importSources: [String: String], library: NativeLibrary?, path: String?) {
        self.name = name
        self.generation = generation
        self.ref = ref
        self.kinds = kinds
        self.imports = imports
        self.importSources = importSources
        self.library = library
        self.path = path
        self.loadedAt = Date()
    }

    var namespace: Object { rm_module_dict(ref.object) }
}

/// What `status` shows of a module.
public struct ModuleInfo: Codable, Sendable, Equatable {
    public var name: String
    public var generation: Int
    public var path: String?
    public var loadedAt: Date
    public var definitions: Int
    public var imports: [String]

    /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
    enum CodingKeys: String, CodingKey {
        case name, generation, path, loadedAt = "loaded_at", definitions, imports
    }
}

/// Finds, loads and keeps modules: native libraries found in the search paths
/// (`name.so`, dots as folders: `game.physics` is `game/physics.so`) and
/// in-process modules defined from Swift. Use it holding the runtime lock.
public final class ModuleLoader: @unchecked Sendable {
    public let runtime: Runtime
    public private(set) var searchPaths: [String] = []
    /// Load libraries that other users could have written (a file or folder
    /// writable by group or others, or owned by another user). Off: such a
    /// module is refused, since loading it runs its code in this process.
    public var allowInsecureModules = false
    /// Reloads committed, whoever asked for them (a control request, a source
    /// watcher, the host's own code): what a host's status reports. Readable
    /// from any thread without the runtime lock.
    public var reloadCount: Int {
        snapshotLock.lock()
        defer { snapshotLock.unlock() }
        return reloadsCommitted
    }
    private var reloadsCommitted = 0

    func countReload() {
        snapshotLock.lock()
        reloadsCommitted += 1
        snapshotLock.unlock()
    }
    /// The last committed reload's report.
    public internal(set) var lastReloadReport: ReloadReport?
    private var definitions: [String: ModuleDefinition] = [:]
    var modules: [String: LoadedModule] = [:] {
        didSet { publishSnapshot() }
    }
    /// `loadedModules` as of the last change, readable without the runtime
    /// lock (a control server's `status` answers from it while module code
    /// holds the lock).
    private var snapshot: [ModuleInfo] = []
    private let snapshotLock = NSLock()
    /// Modules being imported right now, outermost first: a cycle check.
    private var importStack: [String] = []
    /// Modules built by the reload in progress: imports see the new versions.
    var staged: [String: LoadedModule] = [:]
    /// Libraries opened by the transaction in progress (first imports
    /// included): retired if it fails. nil outside a transaction.
    var openedLibraries: [NativeLibrary]?
    /// The reload's mapping: freed when its transaction ends, since a
    /// rollback reads it (and its arrays keep the old objects alive).
    var transactionMapping: OpaquePointer?

    public init(runtime: Runtime = .shared) {
        self.runtime = runtime
        Self.hookLock.lock()
        Self.hookLoaders.append(WeakLoader(self))
        rm_set_import_hook(Self.importHook, nil)
        Self.hookLock.unlock()
    }

    /// The import hook is global and outlives any one loader: it holds no
    /// pointer to a loader, but asks this list for the newest one still
    /// alive. A loader leaves it when it is deallocated; the hook is removed
    /// with the last one.
    private final class WeakLoader {
        weak var loader: ModuleLoader?
        init(_ loader: ModuleLoader) { self.loader = loader }
    }
    private static let hookLock = NSLock()
    nonisolated(unsafe) private static var hookLoaders: [WeakLoader] = []

    private static var hookTarget: ModuleLoader? {
        hookLock.lock()
        defer { hookLock.unlock() }
        return hookLoaders.last(where: { $0.loader != nil })?.loader
    }

    private static let importHook: rm_import_hook = { importer, name, _ in
        let module = String(cString: name!), from = String(cString: importer!)
        guard let loader = ModuleLoader.hookTarget else {
            rm_error_set_message(RM_ERR_IMPORT, "\(from): cannot import \(module): no module loader is installed")
            return nil
        }
        do {
            return try loader.importModule(module, from: from)
        } catch {
            ModuleLoader.raise(error)
            return nil
        }
    }

    deinit {
        // Weak references to self already read nil here.
        Self.hookLock.lock()
        Self.hookLoaders.removeAll { $0.loader == nil }
        if Self.hookLoaders.isEmpty { rm_set_import_hook(nil, nil) }
        Self.hookLock.unlock()
    }

    static func raise(_ error: Error) {
        RemapError.raise(error, as: .importFailure)
    }

    public func addSearchPath(_ path: String) {
        if !searchPaths.contains(path) { searchPaths.append(path) }
    }

    /// Registers (or replaces) an in-process module. A replaced definition
    /// takes effect at the next reload of the module.
    public func define(_ definition: ModuleDefinition) {
        definitions[definition.name] = definition
    }

    /// Is `name` a dotted identifier?
    /// A dotted module name as the path of folders it lives in:
    /// "game.physics" is "game/physics".
    public static func nestedPath(_ name: String) -> String {
        name.replacingOccurrences(of: ".", with: "/")
    }

    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else {
                return false
            }
            return part.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
        }
    }

    /// Loads a module if it is not loaded yet; returns its module object.
    /// A first load is a transaction too: if it fails (an init error or
    /// crash, in it or in a module it imports), the modules it loaded are
    /// unloaded again and what their code changed is put back.
    @discardableResult
    public func load(_ name: String) throws -> Object {
        if let module = modules[name] { return module.ref.object }
        if rm_txn_active() != 0 { return try importModule(name, from: nil) }
        return try transaction(module: name) { try importModule(name, from: nil) }
    }

    /// The module object of a loaded module.
    public func module(named name: String) -> Object? {
        modules[name]?.ref.object
    }

    public var loadedModules: [ModuleInfo] {
        modules.values.sorted { $0.name < $1.name }.map {
            ModuleInfo(name: $0.name, generation: $0.generation, path: $0.path, loadedAt: $0.loadedAt,
                       definitions: $0.kinds.count, imports: $0.imports)
        }
    }

    /// The loaded modules as of the last load, reload or unload: safe to read
    /// from any thread without the runtime lock.
    public var moduleSnapshot: [ModuleInfo] {
        snapshotLock.lock()
        defer { snapshotLock.unlock() }
        return snapshot
    }

    private func publishSnapshot() {
        let now = loadedModules
        snapshotLock.lock()
        snapshot = now
        snapshotLock.unlock()
    }

    /// The loaded modules that import `name`.
    public func importers(of name: String) -> [String] {
        modules.values.filter { $0.imports.contains(name) }.map(\.name).sorted()
    }

    /// Looks up `module.name` (or `module.Class.name`) and calls it.
    public func call(_ qualifiedName: String, _ args: [Object] = []) throws -> Object {
        let function = try resolve(qualifiedName)
        return try Objects.call(function, args)
    }

    /// The object a path designates: the longest loaded module prefix,
    /// then attributes and subscripts (`shop.items[3].price`,
    /// `shop.Item.warehouse`, `shop.prices["tea"]`; see ObjectPath).
    public func resolve(_ path: String) throws -> Object {
        let steps = try ObjectPath.parse(path)
        var names: [String] = []
        for step in steps {
            guard case .attribute(let name) = step else { break }
            names.append(name)
        }
        for split in stride(from: names.count - 1, to: 0, by: -1) {
            guard let module = modules[names[..<split].joined(separator: ".")] else { continue }
            return try ObjectPath.follow(steps[split...], from: module.ref.object, path: path)
        }
        throw RemapError(kind: .attribute, message: "no loaded module defines \(path)")
    }

    // MARK: - Loading

    /// The import hook and first loads: a staged (reloading) version first,
    /// then a loaded one, else load it now. Refuses cycles.
    func importModule(_ name: String, from importer: String?) throws -> Object {
        if let module = staged[name] { return module.ref.object }
        if let module = modules[name] { return module.ref.object }
        if importStack.contains(name) {
            throw RemapError.importCycle(importStack + [name])
        }
        importStack.append(name)
        defer { importStack.removeLast() }
        let module = try build(name, previous: nil)
        modules[name] = module
        return module.ref.object
    }

    enum Source {
        case native(String)
        case swift(ModuleDefinition)
    }

    /// Where a module comes from: an in-process definition, else the first
    /// search path that has its library.
    func locate(_ name: String) throws -> Source {
        guard Self.isValidName(name) else { throw RemapError.invalidName(name) }
        if let definition = definitions[name] { return .swift(definition) }
        var searched: [String] = []
        for directory in searchPaths {
            for candidate in ["\(Self.nestedPath(name)).so", "\(name).so"] {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(candidate).path
                if FileManager.default.fileExists(atPath: path) { return .native(path) }
                searched.append(path)
            }
        }
        throw RemapError.notFound(module: name, searched: searched)
    }

    /// Builds a new generation of `name` without publishing it. On failure
    /// nothing is left behind (its library is closed).
    func build(_ name: String, previous: LoadedModule?) throws -> LoadedModule {
        let source = try locate(name)
        let generation = (previous?.generation ?? 0) + 1
        guard let builder = rm_module_builder_new(name, previous?.namespace, Int64(generation)) else {
            throw RemapError.runtime(module: name, cause: CoreCalls.takeError().message)
        }
        defer { rm_module_builder_free(builder) }
        var library: NativeLibrary?
        var path: String?
        do {
            switch source {
            case .native(let file):
                path = file
                if !allowInsecureModules { try Self.checkOwnership(module: name, path: file) }
                if rm_fault("load") != 0 {
                    throw RemapError.badLibrary(module: name, path: file, reason: CoreCalls.takeError().message)
                }
                let lib = try NativeLibrary.open(module: name, path: file)
                library = lib
                openedLibraries?.append(lib)
                var crashed: Int32 = 0
                if rm_guarded_init(builder, lib.initFunction, &crashed) != 0 {
                    let cause = CoreCalls.takeError().message
                    throw crashed != 0 ? RemapError.crashed(module: name, phase: "rm_module_init", cause: cause)
                        : RemapError.initFailed(module: name, cause: cause)
                }
            case .swift(let definition):
                do {
                    if rm_fault("init") != 0 { throw CoreCalls.takeError() }
                    try definition.initializer(ModuleBuilder(builder))
                } catch let error as RemapError where error.isLoadFailure {
                    throw error
                } catch {
                    throw RemapError.initFailed(module: name, cause: "\(error)")
                }
            }
            let kinds = try readKinds(rm_module_builder_kinds(builder))
            let imports = try readStrings(rm_module_builder_imports(builder))
            let sources = try readStringDict(rm_module_builder_import_sources(builder))
            let ref = try Ref(rm_builder_module(builder))
            return LoadedModule(name: name, generation: generation, ref: ref, kinds: kinds, imports: imports,
                                importSources: sources, library: library, path: path)
        } catch {
            // Its code ran: retired (closed once nothing points into it),
            // never closed here. Inside a transaction, the transaction does it.
            if openedLibraries == nil { library?.retire() }
            throw error
        }
    }

    /// Refuses a library, or a folder holding it, that someone other than
    /// this user (or root) could have written.
    static func checkOwnership(module: String, path: String) throws {
        let me = getuid()
        for candidate in [path, (path as NSString).deletingLastPathComponent] {
            var info = stat()
            guard stat(candidate, &info) == 0 else { continue }
            let owner = info.st_uid
            if owner != me && owner != 0 {
                throw RemapError.insecure(module: module, path: candidate, reason: "owned by uid \(owner), not by uid \(me)")
            }
            // A shared folder with the sticky bit (like /tmp) is fine: others
            // cannot replace a file of ours in it.
            let writableByOthers = info.st_mode & 0o022 != 0
            let sticky = info.st_mode & S_ISVTX != 0
            if writableByOthers && (candidate == path || !sticky) {
                throw RemapError.insecure(module: module, path: candidate, reason: "writable by group or others (mode \(String(info.st_mode & 0o777, radix: 8)))")
            }
        }
    }

    /// A dict with str keys, its values converted by `value`.
    private func readDict<V>(_ dict: Object, _ value: (Object) throws -> V) throws -> [String: V] {
        var result: [String: V] = [:]
        var pos = 0
        var key: Object?
        var item: Object?
        while rm_dict_next(dict, &pos, &key, &item) {
            result[try Objects.stringValue(key!)] = try value(item!)
        }
        return result
    }

    private func readKinds(_ dict: Object) throws -> [String: rm_def_kind] {
        try readDict(dict) { rm_def_kind(rawValue: UInt32(try Objects.intValue($0))) }
    }

    private func readStringDict(_ dict: Object) throws -> [String: String] {
        try readDict(dict, Objects.stringValue)
    }

    private func readStrings(_ list: Object) throws -> [String] {
        try (0..<rm_list_size(list)).map { try Objects.stringValue(rm_list_get(list, $0)) }
    }

    // MARK: - Old libraries

    /// Closes the libraries of replaced (or failed) versions that the last
    /// collection proved nothing can run or read any more. Returns how many.
    /// Does nothing while module code may be on a stack (a call or a safe
    /// point in progress); the runtime also does this by itself when the
    /// lock is released after a collection.
    @discardableResult
    public func closeRetiredLibraries() -> Int {
        Int(rm_libraries_close_unused())
    }

    /// A full collection, then closes the libraries nothing runs any more.
    /// Returns how many were closed.
    @discardableResult
    public func collect() -> Int {
        rm_scrub_stack()
        return Int(rm_collect_and_close())
    }

    /// Libraries replaced by reloads (or of failed versions) still mapped.
    public var retiredLibraryCount: Int { Int(rm_libraries_retired()) }
    /// Libraries closed so far by this process.
    public var librariesClosed: Int { Int(rm_libraries_closed()) }
}
