import Foundation

/// A folder of module sources (`NAME.c`, `NAME.swift`, in subfolders too:
/// `game/physics.c` is module `game.physics`) and prebuilt libraries
/// (`NAME.so`): builds each source into `.remap-build/NAME.so`, and notices
/// edits to a source or to a header it includes. Not thread-safe: callers serialize its
/// use.
///
/// What a library was built from is kept as the content hash of each input
/// (the source and the headers the compiler's depfile names), taken when the
/// build starts. A build is needed when an input's content differs from that,
/// so a save that lands while the compiler runs is built next, never lost to a
/// modification time that looked older than the library. Hidden files and
/// folders are not looked at.
public final class SourceFolder: @unchecked Sendable {
    public let path: String
    public let buildPath: String
    let compiler: ModuleCompiler

    /// Input file -> content hash, for each module's current library.
    private var built: [String: [String: UInt64]] = [:]
    /// The inputs of a module's last failed build: not retried by the watcher
    /// until one of them changes.
    private var failed: [String: [String: UInt64]] = [:]
    /// Content hashes by (modification time, size), so polling reads a file
    /// only when it has changed. Build decisions read the files afresh.
    private var hashCache: [String: (modified: Date, size: Int, hash: UInt64)] = [:]
    /// Builds one module runs at most in a row while its inputs keep changing
    /// under the compiler; the watcher carries on after that.
    static let maxRebuilds = 10
    /// A hash no content has (in practice): an input of unknown content, which
    /// makes the next look build again.
    static let unknown: UInt64 = 0

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

    /// The files a module's library was built from: the source, and the
    /// headers the last successful build read.
    public func inputs(_ module: String) -> [String] {
        if let known = built[module] { return known.keys.sorted() }
        return [sourcePath(module)] + dependencies(module).filter { $0 != sourcePath(module) }
    }

    private func dependencies(_ module: String) -> [String] {
        ModuleCompiler.dependencies(inDepfile: depfilePath(module),
                                    directory: FileManager.default.currentDirectoryPath)
    }

    private func attributes(_ file: String) -> (modified: Date, size: Int)? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: file),
              let date = attrs[.modificationDate] as? Date else { return nil }
        return (date, (attrs[.size] as? NSNumber)?.intValue ?? 0)
    }

    private func modified(_ file: String) -> Date? { attributes(file)?.modified }

    /// FNV-1a, 64 bits: enough to tell one save from another.
    static func hash(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01b3
        }
        return h == unknown ? 1 : h
    }

    /// A file's content hash; nil if it cannot be read.
    private func contentHash(_ file: String, cached: Bool) -> UInt64? {
        guard let attrs = attributes(file) else {
            hashCache[file] = nil
            return nil
        }
        if cached, let entry = hashCache[file], entry.modified == attrs.modified, entry.size == attrs.size {
            return entry.hash
        }
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let value = Self.hash(data)
        hashCache[file] = (attrs.modified, attrs.size, value)
        return value
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
    /// first time, a library left by an earlier run counts as up to date when
    /// it is newer than the source and every header its depfile lists (then
    /// their content now is what it was built from); otherwise nil.
    private func builtState(_ module: String) -> [String: UInt64]? {
        if let known = built[module] { return known }
        guard let library = modified(libraryPath(module)),
              FileManager.default.fileExists(atPath: depfilePath(module)) else { return nil }
        let files = inputs(module).filter { $0 == sourcePath(module) || FileManager.default.fileExists(atPath: $0) }
        for file in files {
            guard let date = modified(file), date <= library else { return nil }
        }
        let state = snapshot(files, cached: false)
        guard state.count == files.count else { return nil }
        built[module] = state
        return state
    }

    private func differs(_ state: [String: UInt64], cached: Bool) -> Bool {
        snapshot(state.keys, cached: cached) != state
    }

    /// Builds `module` if its source or a header it includes changed since
    /// its library was built. Returns true if it built. Throws the
    /// compiler's errors.
    @discardableResult
    public func buildIfStale(_ module: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: sourcePath(module)) else { return false }
        if let state = builtState(module), !differs(state, cached: false) {
            failed[module] = nil // back to what was built: nothing to retry
            return false
        }
        try build(module)
        return true
    }

    /// Builds `module` until the library holds its sources' current content:
    /// the inputs are hashed as the compiler starts, and if they differ once
    /// it is done (a save landed meanwhile) it builds again.
    public func build(_ module: String) throws {
        let candidates = sourceCandidates(module)
        guard candidates.count <= 1 else {
            throw RemapError.compilerFailed(
                source: candidates[0],
                output: "module \(module) has \(candidates.count) sources (\(candidates.joined(separator: ", "))): keep one")
        }
        let source = sourcePath(module)
        let depfile = depfilePath(module)
        for attempt in 1...Self.maxRebuilds {
            let known = Set(inputs(module)).union([source])
            let before = snapshot(known, cached: false)
            let started = Date()
            do {
                try compiler.build(source: source, output: libraryPath(module), depfile: depfile + ".part",
                                   moduleName: module)
            } catch {
                try? FileManager.default.removeItem(atPath: depfile + ".part")
                // The error may be about content already replaced: try again.
                if attempt < Self.maxRebuilds, differs(before, cached: false) {
                    waitUntilQuiet(Array(before.keys))
                    continue
                }
                failed[module] = before
                throw error
            }
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
            built[module] = state
            failed[module] = nil
            guard differs(state, cached: false) else { return }
            if attempt < Self.maxRebuilds { waitUntilQuiet(Array(state.keys)) }
        }
    }

    /// Waits (up to 5 s) until none of `files` has been modified for 200 ms.
    private func waitUntilQuiet(_ files: [String], quiet: TimeInterval = 0.2) {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let newest = files.compactMap { modified($0) }.max() ?? .distantPast
            let wait = quiet - Date().timeIntervalSince(newest)
            if wait <= 0 { return }
            usleep(useconds_t(min(wait, 0.2) * 1_000_000))
        }
    }

    /// Builds every stale source; returns the names built.
    public func buildAll() throws -> [String] {
        try sourceModuleNames.filter { try buildIfStale($0) }
    }

    /// Modules whose source or included headers changed since their last
    /// build (or failed build), and whose files have not moved for `quiet`
    /// seconds (an editor may write in steps).
    public func changedSources(quiet: TimeInterval = 0.2) -> [String] {
        let now = Date()
        return sourceModuleNames.filter { module in
            if let reference = failed[module] ?? builtState(module), !differs(reference, cached: true) {
                return false
            }
            let newest = (inputs(module) + [sourcePath(module)]).compactMap { modified($0) }.max() ?? .distantPast
            return now.timeIntervalSince(newest) >= quiet
        }
    }

    /// Marks a module's current sources as seen (after a failed build, so it
    /// is not retried until one of them changes again).
    public func markSeen(_ module: String) {
        failed[module] = snapshot(Set(inputs(module)).union([sourcePath(module)]), cached: false)
    }
}
