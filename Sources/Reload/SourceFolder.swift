import Foundation

/// A folder of module sources (`NAME.c`, `NAME.swift`, in subfolders too:
/// `game/physics.c` is module `game.physics`) and prebuilt libraries
/// (`NAME.so`): builds each source into `.remap-build/NAME.so`, and notices
/// edits to a source or to a header it includes. Several modules may be
/// built at once from different threads; one module is built by one thread
/// at a time (callers see to that).
///
/// What a library was built from is kept as the content hash of each input
/// (the source and the headers the compiler's depfile names), taken when the
/// build starts. A build is needed when an input's content differs from that,
/// so a save that lands while the compiler runs is built next, never lost to a
/// modification time that looked older than the library, and a touch that
/// changes no byte builds nothing. Hidden files and folders are not looked at.
public final class SourceFolder: @unchecked Sendable {
    public let path: String
    public let buildPath: String
    let compiler: ModuleCompiler

    /// Guards `built` and `failed`.
    private let lock = NSLock()
    /// Input file -> content hash, for each module's current library.
    private var built: [String: [String: UInt64]] = [:]
    /// The inputs of a module's last failed build: not retried by the watcher
    /// until one of them changes.
    private var failed: [String: [String: UInt64]] = [:]
    /// Content hashes, read again when a file's stamp changes (or an event
    /// says it did). Build decisions read the files afresh.
    let hashes = ContentHashes()
    /// Builds one module runs at most in a row while its inputs keep changing
    /// under the compiler; the watcher carries on after that.
    static let maxRebuilds = 10
    /// A hash no content has (in practice): an input of unknown content, which
    /// makes the next look build again.
    static let unknown = ContentHashes.unknown

    public init(path: String, compiler: ModuleCompiler) throws {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
        buildPath = self.path + "/.remap-build"
        self.compiler = compiler
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RemapError(kind: .value, message: "\(path) is not a folder")
        }
        try FileManager.default.createDirectory(atPath: buildPath, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    /// Where the loader looks: built libraries first, then prebuilt ones.
    public var searchPaths: [String] { [buildPath, path] }

    /// Module names: every source (`NAME.c`, `NAME.swift`) and prebuilt
    /// `NAME.so` of the folder and its subfolders whose name is a module name.
    public var moduleNames: [String] {
        Array(Set(Self.moduleFiles(in: path, extensions: ModuleCompiler.Language.extensions.union(["so"])).map(\.name))).sorted()
    }

    /// Names with a source (the ones this folder builds).
    public var sourceModuleNames: [String] {
        Array(Set(Self.moduleFiles(in: path, extensions: ModuleCompiler.Language.extensions).map(\.name))).sorted()
    }

    /// The module files of `folder` with one of `extensions`, with their
    /// module names: `shapes.c` is module `shapes`, `game/physics.swift` is
    /// `game.physics` (the loader finds its library as `game/physics.so` or
    /// `game.physics.so`). Hidden files and folders (such as `.remap-build`)
    /// are skipped, as are names that are not module names.
    public static func moduleFiles(in folder: String, extensions: Set<String>,
                                   maxDepth: Int = 6) -> [(name: String, path: String)] {
        var found: [(name: String, path: String)] = []
        func visit(_ directory: String, prefix: String, depth: Int) {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for entry in entries.sorted() where !entry.hasPrefix(".") {
                let full = directory + "/" + entry
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    if depth < maxDepth, ModuleLoader.isValidName(entry) {
                        visit(full, prefix: prefix + entry + ".", depth: depth + 1)
                    }
                    continue
                }
                let ext = (entry as NSString).pathExtension
                let name = prefix + (entry as NSString).deletingPathExtension
                if extensions.contains(ext), ModuleLoader.isValidName(name) { found.append((name, full)) }
            }
        }
        visit(folder, prefix: "", depth: 0)
        return found
    }

    /// The sources module `name` could be built from (`a.b` is `a/b.c`,
    /// `a/b.swift`, or `a.b.c`, `a.b.swift` in the top folder): the ones
    /// that exist.
    func sourceCandidates(_ module: String) -> [String] {
        let nested = path + "/" + ModuleLoader.nestedPath(module)
        let flat = path + "/" + module
        var bases = [nested]
        if flat != nested { bases.append(flat) }
        return bases.flatMap { base in ModuleCompiler.Language.allCases.map { "\(base).\($0.rawValue)" } }
            .filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The module's source (the first candidate; a module with two is an
    /// error at build time), or where a C source would be.
    func sourcePath(_ module: String) -> String {
        sourceCandidates(module).first ?? path + "/" + ModuleLoader.nestedPath(module) + ".c"
    }

    func libraryPath(_ module: String) -> String { "\(buildPath)/\(module).so" }
    func depfilePath(_ module: String) -> String { "\(buildPath)/\(module).d" }
    /// The content hashes of the inputs the library was built from, for the
    /// next run of a host: one "HASH PATH" line per input, hex.
    func hashesPath(_ module: String) -> String { "\(buildPath)/\(module).inputs" }

    private func saveHashes(_ module: String, _ state: [String: UInt64]) {
        let lines = state.keys.sorted().map { String(format: "%016llx ", state[$0]!) + $0 + "\n" }.joined()
        try? lines.write(toFile: hashesPath(module), atomically: true, encoding: .utf8)
    }

    private func loadHashes(_ module: String) -> [String: UInt64]? {
        guard let text = try? String(contentsOfFile: hashesPath(module), encoding: .utf8) else { return nil }
        var state: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let value = UInt64(line[..<space], radix: 16) else { return nil }
            state[String(line[line.index(after: space)...])] = value
        }
        return state.isEmpty ? nil : state
    }

    /// The files a module's library was built from: the source, and the
    /// headers the last successful build read.
    public func inputs(_ module: String) -> [String] {
        if let known = state(module) { return known.keys.sorted() }
        return [sourcePath(module)] + dependencies(module).filter { $0 != sourcePath(module) }
    }

    private func dependencies(_ module: String) -> [String] {
        ModuleCompiler.dependencies(inDepfile: depfilePath(module),
                                    directory: FileManager.default.currentDirectoryPath)
    }

    private func state(_ module: String) -> [String: UInt64]? {
        lock.lock()
        defer { lock.unlock() }
        return built[module]
    }

    private func record(_ module: String, built state: [String: UInt64]?, failed inputs: [String: UInt64]?) {
        lock.lock()
        built[module] = state ?? built[module]
        failed[module] = inputs
        lock.unlock()
    }

    private func modified(_ file: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date
    }

    /// A file's content hash; nil if it cannot be read.
    private func contentHash(_ file: String, cached: Bool) -> UInt64? {
        hashes.hash(file, cached: cached)
    }

    /// The current content of `files` (a missing file is left out, so it
    /// differs from any state that had it).
    private func snapshot(_ files: some Sequence<String>, cached: Bool) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for file in files {
            if let value = contentHash(file, cached: cached) { result[file] = value }
        }
        return result
    }

    /// What the module's library holds, as far as this process knows. The
    /// first time, a library left by an earlier run holds what its
    /// `.inputs` file says (the hashes its build recorded), so an edit made
    /// while no host ran is built even if it kept the file's modification
    /// time (`cp -p`). A library without one (built by an older version)
    /// counts as up to date when it is newer than the source and every
    /// header its depfile lists; otherwise nil.
    private func builtState(_ module: String) -> [String: UInt64]? {
        if let known = state(module) { return known }
        guard let library = modified(libraryPath(module)),
              FileManager.default.fileExists(atPath: depfilePath(module)) else { return nil }
        if let recorded = loadHashes(module) {
            lock.lock()
            built[module] = recorded
            lock.unlock()
            return recorded
        }
        let files = inputs(module).filter { $0 == sourcePath(module) || FileManager.default.fileExists(atPath: $0) }
        for file in files {
            guard let date = modified(file), date <= library else { return nil }
        }
        let state = snapshot(files, cached: false)
        guard state.count == files.count else { return nil }
        lock.lock()
        built[module] = state
        lock.unlock()
        return state
    }

    private func differs(_ state: [String: UInt64], cached: Bool) -> Bool {
        snapshot(state.keys, cached: cached) != state
    }

    /// Builds `module` if its source or a header it includes changed since
    /// its library was built. Returns true if it built. Throws the
    /// compiler's errors.
    @discardableResult
    public func buildIfStale(_ module: String, cancellation: BuildCancellation? = nil) throws -> Bool {
        guard FileManager.default.fileExists(atPath: sourcePath(module)) else { return false }
        if let state = builtState(module), !differs(state, cached: false) {
            record(module, built: nil, failed: nil) // back to what was built: nothing to retry
            return false
        }
        try build(module, cancellation: cancellation)
        return true
    }

    /// Builds `module` until the library holds its sources' current content:
    /// the inputs are hashed as the compiler starts, and if they differ once
    /// it is done (a save landed meanwhile) it builds again at once. With
    /// `cancellation`, the watcher may stop a compiler whose inputs changed
    /// under it; it is started again on the new content.
    public func build(_ module: String, cancellation: BuildCancellation? = nil) throws {
        let candidates = sourceCandidates(module)
        guard candidates.count <= 1 else {
            // Not tried again until one of them changes (or goes).
            record(module, built: nil, failed: snapshot(candidates, cached: false))
            throw RemapError.compilerFailed(
                source: candidates[0],
                output: "module \(module) has \(candidates.count) sources (\(candidates.joined(separator: ", "))): keep one")
        }
        let source = sourcePath(module)
        let depfile = depfilePath(module)
        cancellation?.begin()
        for attempt in 1...Self.maxRebuilds {
            let known = Set(inputs(module)).union([source])
            let before = snapshot(known, cached: false)
            cancellation?.compiling(before)
            let started = Date()
            do {
                try compiler.build(source: source, output: libraryPath(module), depfile: depfile + ".part",
                                   moduleName: module, cancellation: cancellation)
            } catch {
                try? FileManager.default.removeItem(atPath: depfile + ".part")
                if cancellation?.takeCancelled() == true { continue } // stopped for newer content
                // The error may be about content already replaced: try again.
                if attempt < Self.maxRebuilds, differs(before, cached: false) { continue }
                record(module, built: nil, failed: before)
                throw error
            }
            _ = cancellation?.takeCancelled() // too late to stop: the library is whole
            _ = rename(depfile + ".part", depfile)
            var state: [String: UInt64] = [:]
            for file in Set(dependencies(module)).union([source]) {
                // A prerequisite gone once the build is done (a temporary
                // file of a compiler wrapper, say) is not watched.
                guard file == source || FileManager.default.fileExists(atPath: file) else { continue }
                if let value = before[file] {
                    state[file] = value
                } else if let date = modified(file), date < started, let value = contentHash(file, cached: false) {
                    state[file] = value // a header new to this build, unchanged since it started
                } else {
                    state[file] = Self.unknown
                }
            }
            record(module, built: state, failed: nil)
            saveHashes(module, state)
            guard differs(state, cached: false) else { return }
        }
    }

    /// Builds every stale source; returns the names built.
    public func buildAll() throws -> [String] {
        try sourceModuleNames.filter { try buildIfStale($0) }
    }

    /// Modules whose source or included headers changed since their last
    /// build (or failed build), or that were never built. Cheap when nothing
    /// changed: a `stat` of each input, and a read of those whose stamp
    /// moved (ContentHashes).
    public func staleModules() -> [String] {
        sourceModuleNames.filter { module in
            lock.lock()
            let reference = failed[module]
            lock.unlock()
            guard let reference = reference ?? builtState(module) else { return true }
            return differs(reference, cached: true)
        }
    }

    /// Modules whose sources changed (`staleModules()`); there is no quiet
    /// period to wait any more.
    @available(*, deprecated, renamed: "staleModules()")
    public func changedSources(quiet: TimeInterval = 0.2) -> [String] { staleModules() }

    /// Forgets what is known of `files`' content (an event said they
    /// changed), so the next look reads them.
    public func forget(_ files: some Sequence<String>) { hashes.forget(files) }

    /// The folders a watcher must watch: this folder and its subfolders
    /// (the ones `moduleFiles` looks in), and the folder of every input of
    /// every module (a header elsewhere). A folder is watched rather than
    /// its files, as an editor's save by rename replaces the file.
    public func watchedFolders(maxDepth: Int = 6) -> Set<String> {
        var folders: Set<String> = [path]
        func visit(_ directory: String, depth: Int) {
            guard depth < maxDepth, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for entry in entries where !entry.hasPrefix(".") && ModuleLoader.isValidName(entry) {
                let full = directory + "/" + entry
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                    folders.insert(full)
                    visit(full, depth: depth + 1)
                }
            }
        }
        visit(path, depth: 0)
        for module in sourceModuleNames {
            for input in inputs(module) { folders.insert((input as NSString).deletingLastPathComponent) }
        }
        return folders
    }

    /// Marks a module's current sources as seen (after a failed build, so it
    /// is not retried until one of them changes again).
    public func markSeen(_ module: String) {
        record(module, built: nil, failed: snapshot(Set(inputs(module)).union([sourcePath(module)]), cached: false))
    }
}
