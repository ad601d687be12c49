import Foundation
import XCTest

/// Compiles fixture modules into shared libraries in a temporary folder that
/// is the loader's search path: the C fixtures from Tests/Modules
/// (`buildModule`), and C or Swift text that a test reads from elsewhere,
/// such as the docs' code blocks or the examples (`buildC`, `buildSwift`).
final class FixtureFolder {
    let path: String
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init() throws {
        path = NSTemporaryDirectory() + "remap-fixtures-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `source` to name.c and builds name.so with the system compiler.
    func buildC(_ name: String, _ source: String, extraFlags: [String] = []) throws {
        let src = "\(path)/\(name).c"
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        let include = Self.packageRoot.appendingPathComponent("include").path
        try run("/usr/bin/cc", ["-shared", "-fPIC", "-O1", "-Wall", "-I", include] + extraFlags
                + ["-o", "\(path)/\(name).so.tmp", src])
        try replace(name)
    }

    /// The fixture modules' sources: real C files under Tests/Modules.
    static let modulesFolder = packageRoot.appendingPathComponent("Tests/Modules").path

    /// Builds Tests/Modules/`file` as module `name`, with `-DVERSION=version`
    /// and any other `-D` defines: one source holds every version.
    func buildModule(_ name: String, from file: String, version: Int, defines: [String] = []) throws {
        let include = Self.packageRoot.appendingPathComponent("include").path
        try run("/usr/bin/cc", ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I", include, "-DVERSION=\(version)"]
                + defines.map { "-D\($0)" } + ["-o", "\(path)/\(name).so.tmp", "\(Self.modulesFolder)/\(file)"])
        try replace(name)
    }

    /// Builds a module written in Swift against the C API (`@_cdecl`).
    func buildSwift(_ name: String, _ source: String) throws {
        let src = "\(path)/\(name).swift"
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        let include = Self.packageRoot.appendingPathComponent("include").path
        let swiftc = ProcessInfo.processInfo.environment["SWIFTC"] ?? "swiftc"
        try run("/usr/bin/env", [swiftc, "-emit-library", "-parse-as-library", "-Xcc", "-I", "-Xcc", include,
                                 "-I", include, "-module-name", name.replacingOccurrences(of: ".", with: "_"),
                                 "-o", "\(path)/\(name).so.tmp", src])
        try replace(name)
    }

    /// Writes any bytes as name.so (for bad-library tests).
    func writeRaw(_ name: String, _ text: String) throws {
        try text.write(toFile: "\(path)/\(name).so", atomically: true, encoding: .utf8)
    }

    func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: "\(path)/\(name).so")
    }

    /// Renames the freshly built library into place in one step, as a build
    /// system would.
    private func replace(_ name: String) throws {
        _ = rename("\(path)/\(name).so.tmp", "\(path)/\(name).so")
    }

    private func run(_ tool: String, _ args: [String]) throws {
        let result = try Processes.run(tool, args)
        if result.status != 0 {
            throw FixtureError.buildFailed(result.stdout + result.stderr)
        }
    }
}

enum FixtureError: Error {
    case buildFailed(String)
    case core(String)
}
