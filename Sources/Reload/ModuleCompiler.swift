import Foundation

/// Builds module sources (C, or Swift against the C API) into shared
/// libraries with the flags Remap needs,
/// finding Remap's headers without the user knowing where the package lives.
public struct ModuleCompiler: Sendable {
    /// The errors a build throws are `RemapError.headersNotFound` and
    /// `RemapError.compilerFailed`.
    @available(*, deprecated, renamed: "RemapError")
    public typealias Failure = RemapError

    /// The folder holding `remap/module.h`.
    public let includeDirectory: String
    /// The compiler command, split into words as a shell would: `$CC`
    /// (which may carry arguments, such as "ccache cc"), else `cc`.
    public var compiler: String
    /// Extra compile flags (`$CFLAGS`), after Remap's own.
    public var cflags: [String]
    /// Extra link flags (`$LDFLAGS`), after the source.
    public var ldflags: [String]

    /// The Swift compiler for `.swift` modules: `$SWIFTC` (which may carry
    /// arguments), else `swiftc` on the PATH.
    public var swiftCompiler: String
    /// Extra flags for `swiftc` (`$SWIFTFLAGS`).
    public var swiftFlags: [String]
    /// RemapModule and its macros, for Swift modules that import it (nil
    /// when neither a build tree nor an install has them: modules that
    /// import only CRemap still build).
    public var swiftKit: SwiftModuleKit?

    public init(compiler: String? = nil) throws {
        includeDirectory = try Self.findIncludeDirectory()
        let env = ProcessInfo.processInfo.environment
        func command(_ variable: String) -> String? {
            env[variable].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        self.compiler = compiler ?? command("CC") ?? "cc"
        cflags = Self.words(env["CFLAGS"] ?? "")
        ldflags = Self.words(env["LDFLAGS"] ?? "")
        swiftCompiler = command("SWIFTC") ?? "swiftc"
        swiftFlags = Self.words(env["SWIFTFLAGS"] ?? "")
        swiftKit = SwiftModuleKit.find(includeDirectory: includeDirectory)
    }

    /// A command variable split into words; `fallback` if it has none.
    static func commandWords(_ command: String, fallback: String) -> [String] {
        let words = Self.words(command)
        return words.isEmpty ? [fallback] : words
    }

    /// Splits a command line into words: blanks separate, single and double
    /// quotes group, a backslash escapes the next character (no expansion).
    public static func words(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in line {
            if escaped {
                word.append(c); escaped = false; inWord = true
            } else if c == "\\" && quote != "'" {
                escaped = true; inWord = true
            } else if let q = quote {
                if c == q { quote = nil } else { word.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" || c == "\n" {
                if inWord { words.append(word); word = ""; inWord = false }
            } else {
                word.append(c); inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// Flags to compile a module: position-independent, with the headers,
    /// optimized and with debug information unless `fastBuild`.
    public var moduleFlags: [String] {
        ["-shared", "-fPIC"] + (fastBuild ? Self.fastBuildFlags : ["-O2", "-g"]) + ["-I", includeDirectory]
    }

    /// Compile C modules for the shortest save-to-running time rather than
    /// for the speed of the code (`reloadctl run --fast-build`):
    /// `fastBuildFlags`. `$CFLAGS` comes after either set, so it can also
    /// override them one by one.
    public var fastBuild = false

    /// What `fastBuild` compiles with: no optimization, debug information
    /// kept. The compiler's CPU time on examples/particles with gcc 12
    /// (`watch-bench --compiler-options`, medians): -O2 -g 99 ms, -O2 88,
    /// -O1 -g 83, -O1 73, -O0 -g 51, -O0 49; a precompiled remap/module.h
    /// saves nothing (its headers are 43 KB). -g costs almost nothing at
    /// -O0, and a debugger is why one would keep it.
    public static let fastBuildFlags = ["-O0", "-g"]

    /// Flags to compile and link a C host against the RemapHost library,
    /// the same set `pkg-config --cflags --libs remap-host` gives for an
    /// install: the library is found beside the running executable (a build
    /// folder that built the `RemapHost` product) or in `../lib` (an install
    /// prefix, see scripts/install.sh), with run paths for it and the Swift
    /// runtime, the collector (`-lgc`), and `--export-dynamic` so modules can
    /// bind to symbols the host defines.
    public func hostFlags() throws -> [String] {
        let exeDir = Self.executableURL().deletingLastPathComponent()
        let candidates = [exeDir.path, exeDir.deletingLastPathComponent().appendingPathComponent("lib").path]
        guard let libDir = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/libRemapHost.so") }) else {
            throw RemapError.headersNotFound(candidates.map {
                "\($0)/libRemapHost.so (build it: swift build -c release --product RemapHost)"
            })
        }
        var flags = ["-I", includeDirectory, "-L", libDir,
                     // Kept even before the sources on a linker that defaults to --as-needed.
                     "-Wl,--push-state,--no-as-needed", "-lRemapHost", "-Wl,--pop-state", "-lgc", "-Wl,--export-dynamic",
                     "-Wl,-rpath,\(libDir)"]
        if let runtime = Self.swiftRuntimeDirectory() { flags += ["-Wl,-rpath,\(runtime)"] }
        return flags
    }

    /// The running executable, symbolic links resolved (/proc/self/exe).
    static func executableURL() -> URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]).standardizedFileURL
    }

    /// The folder of libswiftCore.so this process runs with.
    static func swiftRuntimeDirectory() -> String? {
        // Read to the end by hand: /proc files report a size of 0, and
        // String(contentsOfFile:) then reads nothing.
        let fd = open("/proc/self/maps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        let maps = String(decoding: data, as: UTF8.self)
        for line in maps.split(separator: "\n") where line.hasSuffix("/libswiftCore.so") {
            if let path = line.split(separator: " ").last { return (String(path) as NSString).deletingLastPathComponent }
        }
        return nil
    }

    /// $REMAP_INCLUDE, then an `include` folder beside or above the running
    /// executable (a build tree, or `PREFIX/include` for `PREFIX/bin/reloadctl`
    /// as scripts/install.sh lays it out), then the source tree
    /// this library was built from.
    static func findIncludeDirectory() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["REMAP_INCLUDE"] { candidates.append(env) }
        var dir = executableURL().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.appendingPathComponent("include").path)
            dir = dir.deletingLastPathComponent()
        }
        let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(sourceRoot.appendingPathComponent("include").path)
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/remap/module.h") {
            return candidate
        }
        throw RemapError.headersNotFound(candidates)
    }

    /// The languages a module source can be written in, told by its file's
    /// extension.
    public enum Language: String, Sendable, CaseIterable {
        case c
        case swift

        public init?(source: String) {
            self.init(rawValue: (source as NSString).pathExtension)
        }

        /// Every source file extension: "c", "swift".
        public static let extensions = Set(allCases.map(\.rawValue))
    }

    /// The `swiftc` command that builds `source` into a module library:
    /// `import CRemap` finds include/module.modulemap, `import RemapModule`
    /// the kit (its interface, objects and macro plugin), and the C API's
    /// symbols stay undefined until the host loads the library.
    func swiftCommand(source: String, output: String, moduleName: String) -> [String] {
        // The kit only for a source that uses it: a module written against
        // the C API alone links nothing of RemapModule.
        let kit = Self.usesRemapModule(source) ? swiftKit : nil
        return Self.commandWords(swiftCompiler, fallback: "swiftc") + ["-emit-library", "-parse-as-library", "-O", "-g",
                          "-module-name", moduleName,
                          // The module map: include/ in the source tree,
                          // include/remap/ in an install (scripts/install.sh).
                          "-I", includeDirectory, "-I", includeDirectory + "/remap",
                          "-Xcc", "-I", "-Xcc", includeDirectory,
                          // One frontend job: with a separate emit-module job
                          // two processes print the same diagnostics into one
                          // pipe, interleaved mid-line ("x.swifterror: ...").
                          "-no-emit-module-separately"]
            + (kit?.swiftFlags ?? []) + swiftFlags + ["-o", output, source] + (kit?.linkInputs ?? [])
    }

    /// Compiles `source` (a `.c` or a `.swift` file) into `output` (written
    /// under a temporary name, then renamed, so a host never loads a
    /// half-written library). Throws with the compiler's own messages. With
    /// `depfile`, a C build also writes the headers the source includes there
    /// (`-MMD -MF`, make syntax; see `dependencies(inDepfile:)`); a Swift
    /// build writes no depfile (its only input is the source).
    /// `moduleName` names a Swift module's symbols (default: the file's
    /// name); give the full dotted name so two modules never share one.
    ///
    /// With `cancellation`, another thread may stop the compiler
    /// (`BuildCancellation.cancel()`): the build then throws, and
    /// `cancellation.takeCancelled()` says that was why.
    public func build(source: String, output: String, depfile: String? = nil, moduleName: String? = nil,
                      cancellation: BuildCancellation? = nil) throws {
        guard let language = Language(source: source) else {
            throw RemapError.compilerFailed(source: source,
                                         output: "a module source is a .c or a .swift file, not \(source)")
        }
        let temporary = output + ".part"
        let command: [String]
        switch language {
        case .c:
            var cc = Self.commandWords(compiler, fallback: "cc") + moduleFlags + cflags
            if let depfile { cc += ["-MMD", "-MF", depfile] }
            command = cc + ["-o", temporary, source] + ldflags
        case .swift:
            let name = moduleName ?? ((source as NSString).lastPathComponent as NSString).deletingPathExtension
            command = swiftCommand(source: source, output: temporary, moduleName: Self.swiftModuleName(name))
        }
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(command, started: { cancellation?.started($0) },
                                          ending: { cancellation?.finished() })
        } catch RemapError.system(_, let number, _) where number == ENOENT {
            throw RemapError.compilerFailed(source: source,
                                            output: "cannot run \(command[0]) (set \(language == .c ? "CC" : "SWIFTC"))\n")
        } catch {
            throw RemapError.compilerFailed(source: source, output: "cannot run \(command[0]): \(error)")
        }
        guard result.status == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            var text = String(decoding: result.output, as: UTF8.self)
            if language == .swift, swiftKit == nil, text.contains("no such module 'RemapModule'") {
                text += "RemapModule was not found: build it (swift build --target RemapModule) or install it (scripts/install.sh)\n"
            }
            throw RemapError.compilerFailed(source: source, output: text)
        }
        if language == .swift, let depfile {
            // The same depfile a C build leaves, so callers track both alike.
            let escaped = { (name: String) in name.replacingOccurrences(of: " ", with: "\\ ") }
            try? "\(escaped(output)): \(escaped(source))\n".write(toFile: depfile, atomically: true, encoding: .utf8)
        }
        guard rename(temporary, output) == 0 else {
            throw RemapError.compilerFailed(source: source, output: "cannot move the library into \(output)")
        }
    }

    /// Whether a Swift source names RemapModule (an unreadable one is
    /// given the kit: the compiler reports what is wrong with it).
    static func usesRemapModule(_ source: String) -> Bool {
        guard let text = try? String(contentsOfFile: source, encoding: .utf8) else { return true }
        return text.contains("RemapModule")
    }

    /// Builds `source` into `output` unless `output` already holds what
    /// `source` and the headers it includes hold now, built with the same
    /// compilers and flags; returns whether it built. What a library was
    /// built from is recorded beside it, in `.remap-build/LIBRARY.inputs`
    /// (the flags, then the content hash of each input, the source's taken
    /// as the compiler starts, so a save that lands during a build is built
    /// by the next call), with the C depfile (`LIBRARY.d`) naming the
    /// headers. Content, not modification times: a file put back with an
    /// older time (`cp -p`, `tar x`) still counts as changed. `force`
    /// builds in any case.
    @discardableResult
    public func buildIfChanged(source: String, output: String, moduleName: String? = nil,
                               force: Bool = false) throws -> Bool {
        let record = Self.recordPath(output: output)
        let depfile = record.replacingOccurrences(of: ".inputs", with: ".d", options: .backwards)
        if !force, FileManager.default.fileExists(atPath: output), let text = try? String(contentsOfFile: record, encoding: .utf8),
           Self.recordIsCurrent(text, signature: signature) {
            return false
        }
        try? FileManager.default.removeItem(atPath: record)
        // Made as `reloadctl run` makes its own (SourceFolder), which may share it.
        try FileManager.default.createDirectory(atPath: (record as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let sourceHash = FileManager.default.contents(atPath: source).map(ContentHashes.hash)
        try build(source: source, output: output, depfile: Language(source: source) == .c ? depfile : nil,
                  moduleName: moduleName)
        guard let sourceHash else { return true }
        let cwd = FileManager.default.currentDirectoryPath
        let sourcePath = URL(fileURLWithPath: source).standardizedFileURL.path
        var lines = ["flags " + signature, "\(String(sourceHash, radix: 16)) \(sourcePath)"]
        for header in Self.dependencies(inDepfile: depfile, directory: cwd) where header != sourcePath {
            guard let data = FileManager.default.contents(atPath: header) else { return true }
            lines.append("\(String(ContentHashes.hash(data), radix: 16)) \(header)")
        }
        try? (lines.joined(separator: "\n") + "\n").write(toFile: record, atomically: true, encoding: .utf8)
        return true
    }

    /// The compilers and flags a build uses, as one line: a library built
    /// with others is rebuilt.
    var signature: String {
        (Self.commandWords(compiler, fallback: "cc") + moduleFlags + cflags + ["|"] + ldflags + ["|"]
            + Self.commandWords(swiftCompiler, fallback: "swiftc") + swiftFlags + (swiftKit?.swiftFlags ?? [])).joined(separator: " ")
    }

    /// `.remap-build/LIBRARY.inputs` in the library's folder.
    static func recordPath(output: String) -> String {
        let url = URL(fileURLWithPath: output)
        return url.deletingLastPathComponent().appendingPathComponent(".remap-build")
            .appendingPathComponent(url.lastPathComponent + ".inputs").path
    }

    /// Whether a record's flags are `signature` and each input it lists
    /// still has the content hash it lists.
    static func recordIsCurrent(_ text: String, signature: String) -> Bool {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring("flags " + signature) else { return false }
        lines.removeFirst()
        guard !lines.isEmpty else { return false }
        for line in lines {
            guard let space = line.firstIndex(of: " "), let hash = UInt64(line[..<space], radix: 16),
                  let data = FileManager.default.contents(atPath: String(line[line.index(after: space)...])),
                  ContentHashes.hash(data) == hash else { return false }
        }
        return true
    }

    /// A Swift module name for a Remap module name ("game.physics" ->
    /// "game_physics"): Swift names have no dots.
    static func swiftModuleName(_ name: String) -> String {
        name.replacingOccurrences(of: ".", with: "_")
    }

    /// The files a make-syntax depfile lists as prerequisites (the source and
    /// the headers it includes), absolute, resolved against `directory`
    /// (where the compiler ran). Empty if the file is missing.
    public static func dependencies(inDepfile depfile: String, directory: String) -> [String] {
        guard let text = try? String(contentsOfFile: depfile, encoding: .utf8) else { return [] }
        // Joined continuation lines; "target: prereq prereq ..." with
        // backslash-escaped spaces in names.
        let joined = text.replacingOccurrences(of: "\\\n", with: " ")
        var files: [String] = []
        for line in joined.split(separator: "\n") {
            guard let colon = line.range(of: ": ") ?? (line.hasSuffix(":") ? line.range(of: ":", options: .backwards) : nil)
            else { continue }
            var name = ""
            var escaped = false
            func flush() {
                if !name.isEmpty {
                    files.append(name.hasPrefix("/") ? name : (directory as NSString).appendingPathComponent(name))
                }
                name = ""
            }
            for c in line[colon.upperBound...] {
                if escaped { name.append(c); escaped = false }
                else if c == "\\" { escaped = true }
                else if c == " " || c == "\t" { flush() }
                else { name.append(c) }
            }
            flush()
        }
        var seen = Set<String>()
        return files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }.filter { seen.insert($0).inserted }
    }
}
