import Foundation

/// What `swiftc` needs to build a module written against RemapModule
/// (docs/swift-modules.md): RemapModule's compiled interface, its object
/// code (linked into each module library: it holds no state, so every
/// module may carry its own copy), the macro plugin, and the module map of
/// the C API RemapModule imports (CRemapAPI).
///
/// Found in a build tree (`swift build` leaves `Modules/RemapModule.swiftmodule`,
/// `RemapModule.build/*.o` and `RemapMacros-tool` in its products folder) or
/// in an install (`PREFIX/lib/remap/swift/`, laid out by scripts/install.sh).
public struct SwiftModuleKit: Sendable, Equatable {
    /// The folder holding RemapModule.swiftmodule (`-I`).
    public var interfaceDirectory: String
    /// RemapModule's objects, or its archive.
    public var linkInputs: [String]
    /// The macro plugin executable (`-load-plugin-executable PATH#RemapMacros`).
    public var plugin: String
    /// The folder whose module.modulemap declares CRemapAPI (`-I`).
    public var moduleMapDirectory: String

    /// The flags that add the kit to a `swiftc` command, before the source;
    /// `linkInputs` go after it (an archive is searched only for what the
    /// objects before it need).
    public var swiftFlags: [String] {
        ["-I", interfaceDirectory, "-I", moduleMapDirectory, "-load-plugin-executable", plugin + "#RemapMacros"]
    }

    /// The kit in `folder` laid out as an install (`lib/remap/swift`).
    static func installed(_ folder: String, includeDirectory: String) -> SwiftModuleKit? {
        let fm = FileManager.default
        let archive = folder + "/libRemapModule.a", plugin = folder + "/RemapMacros-tool"
        guard fm.fileExists(atPath: folder + "/RemapModule.swiftmodule"), fm.fileExists(atPath: archive),
              fm.isExecutableFile(atPath: plugin) else { return nil }
        return SwiftModuleKit(interfaceDirectory: folder, linkInputs: [archive], plugin: plugin,
                              moduleMapDirectory: includeDirectory + "/remap")
    }

    /// The kit in a SwiftPM products folder (`.build/debug`).
    static func buildTree(_ folder: String, sourceRoot: String) -> SwiftModuleKit? {
        let fm = FileManager.default
        let plugin = folder + "/RemapMacros-tool", objects = folder + "/RemapModule.build"
        guard fm.fileExists(atPath: folder + "/Modules/RemapModule.swiftmodule"), fm.isExecutableFile(atPath: plugin),
              let files = try? fm.contentsOfDirectory(atPath: objects) else { return nil }
        let linkInputs = files.filter { $0.hasSuffix(".swift.o") }.sorted().map { objects + "/" + $0 }
        guard !linkInputs.isEmpty else { return nil }
        return SwiftModuleKit(interfaceDirectory: folder + "/Modules", linkInputs: linkInputs, plugin: plugin,
                              moduleMapDirectory: sourceRoot + "/Sources/CRemapAPI")
    }

    /// $REMAP_SWIFT_KIT (an installed layout), then beside the running
    /// executable (a build tree's products, or `PREFIX/lib/remap/swift` for
    /// `PREFIX/bin/reloadctl`), then the debug build of the source tree
    /// this library was built from (a release benchmark's modules use the
    /// debug build's plugin: the release products never build swift-syntax).
    /// nil when none has it.
    public static func find(includeDirectory: String) -> SwiftModuleKit? {
        let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        if let env = ProcessInfo.processInfo.environment["REMAP_SWIFT_KIT"], !env.isEmpty {
            return installed(env, includeDirectory: includeDirectory)
        }
        let exeDir = ModuleCompiler.executableURL().deletingLastPathComponent()
        let prefixKit = exeDir.deletingLastPathComponent().appendingPathComponent("lib/remap/swift").path
        return buildTree(exeDir.path, sourceRoot: sourceRoot)
            ?? installed(prefixKit, includeDirectory: includeDirectory)
            ?? buildTree(sourceRoot + "/.build/debug", sourceRoot: sourceRoot)
    }
}
