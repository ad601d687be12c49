import Foundation

/// A folder of module sources (`NAME.c`) and prebuilt libraries (`NAME.so`):
/// builds each source into `.remap-build/NAME.so` when it is newer than its
/// library, and notices edits. Not thread-safe: callers serialize its use.
public final class SourceFolder: @unchecked Sendable {
    public let path: String
    public let buildPath: String
    let compiler: ModuleCompiler
    private var lastSeen: [String: Date] = [:]

    public init(path: String, compiler: ModuleCompiler) throws {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
        buildPath = self.path + "/.remap-build"
        self.compiler = compiler
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RuntimeError(kind: .value, message: "\(path) is not a folder")
        }
        try FileManager.default.createDirectory(atPath: buildPath, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    /// Where the loader looks: built libraries first, then prebuilt ones.
    public var searchPaths: [String] { [buildPath, path] }

    /// Module names: every `NAME.c` and `NAME.so` whose name is a module name.
    public var moduleNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let names = files.compactMap { file -> String? in
            guard file.hasSuffix(".c") || file.hasSuffix(".so") else { return nil }
            let name = (file as NSString).deletingPathExtension
            return ModuleLoader.isValidName(name) ? name : nil
        }
        return Array(Set(names)).sorted()
    }

    func sourcePath(_ module: String) -> String { "\(path)/\(module).c" }
    func libraryPath(_ module: String) -> String { "\(buildPath)/\(module).so" }

    private func modified(_ file: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file))?[.modificationDate] as? Date
    }

    /// Builds `module` if its source is newer than its library. Returns true
    /// if it built. Throws the compiler's errors.
    @discardableResult
    public func buildIfStale(_ module: String) throws -> Bool {
        let source = sourcePath(module)
        guard let sourceDate = modified(source) else { return false }
        lastSeen[module] = sourceDate
        if let built = modified(libraryPath(module)), built >= sourceDate { return false }
        try compiler.build(source: source, output: libraryPath(module))
        return true
    }

    /// Builds every stale source; returns the names built.
    public func buildAll() throws -> [String] {
        try moduleNames.filter { try buildIfStale($0) }
    }

    /// Sources changed since the last build or look, whose modification time
    /// has not moved for `quiet` seconds (an editor may write in steps).
    public func changedSources(quiet: TimeInterval = 0.2) -> [String] {
        let now = Date()
        return moduleNames.filter { module in
            guard let date = modified(sourcePath(module)), date != lastSeen[module] else { return false }
            guard now.timeIntervalSince(date) >= quiet else { return false }
            return true
        }
    }

    /// Marks a module's current source as seen (after a failed build, so it
    /// is not retried until it changes again).
    public func markSeen(_ module: String) {
        lastSeen[module] = modified(sourcePath(module))
    }
}
