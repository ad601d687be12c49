import ArgumentParser
import Foundation
import Reload

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build module sources into shared libraries.",
        discussion: """
            Compiles C sources with Remap's headers and the flags modules need
            (CC, CFLAGS, LDFLAGS honoured), and Swift sources with swiftc
            (SWIFTC, SWIFTFLAGS) importing CRemap; the compilers' messages are
            shown as they are. A folder's subfolders hold dotted modules:
            game/physics.c is module game.physics, built to game/physics.so.

              reloadctl build shapes.c            # -> shapes.so
              reloadctl build hello.swift         # -> hello.so
              reloadctl build modules/ -o out/    # every module of the folder

            A library is built again only when its source, a header the source
            includes, or the compilers and flags changed since it was built
            (recorded in .remap-build/ beside it); --force builds every one.
            """)

    @Argument(help: "A .c or .swift file, or a folder of them.")
    var input: String

    @Option(name: .shortAndLong, help: "The library to write (a folder when building a folder).")
    var output: String?

    @Flag(help: "Build every library, even one that is up to date.")
    var force = false

    func run() throws {
        let compiler = try ModuleCompiler()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw CommandFailure(message: "no such file or folder: \(input)")
        }
        // (source, library, module name)
        var jobs: [(String, String, String)] = []
        if isDirectory.boolValue {
            let outDir = output ?? input
            var seen = Set<String>()
            for (name, source) in SourceFolder.moduleFiles(in: input, extensions: ModuleCompiler.Language.extensions) {
                guard seen.insert(name).inserted else {
                    throw CommandFailure(message: "module \(name) has two sources in \(input): keep one")
                }
                jobs.append((source, (outDir as NSString).appendingPathComponent(ModuleLoader.nestedPath(name) + ".so"), name))
            }
            guard !jobs.isEmpty else {
                throw CommandFailure(message: "no modules to build in \(input): it has no NAME.c or NAME.swift sources")
            }
        } else {
            guard ModuleCompiler.Language(source: input) != nil else {
                throw CommandFailure(message: "\(input) is not a .c or .swift file")
            }
            let name = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
            jobs.append((input, output ?? (input as NSString).deletingPathExtension + ".so", name))
        }
        var failed = false
        for (source, library, name) in jobs {
            do {
                let directory = (library as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                }
                if try compiler.buildIfChanged(source: source, output: library, moduleName: name, force: force) {
                    print("built \(library)")
                } else {
                    print("up to date: \(library)")
                }
            } catch RemapError.compilerFailed(_, let text) {
                // Each failure's messages end a line, so the next one starts its own.
                FileHandle.standardError.write(Data((text.hasSuffix("\n") || text.isEmpty ? text : text + "\n").utf8))
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}

struct CFlags: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cflags",
        abstract: "Print the compiler flags that build a module (or, with --host, a C host), for other build systems.",
        discussion: """
              cc $(reloadctl cflags) -o shapes.so shapes.c
              cc host.c $(reloadctl cflags --host) -o host     # needs the RemapHost library built

            Installed with scripts/install.sh, it prints the flags of pkg-config's
            remap and remap-host, from its own prefix (PREFIX/include, PREFIX/lib).
            """)

    @Flag(help: "Flags to compile and link a C program that embeds Remap (include/remap/host.h).")
    var host = false

    func run() throws {
        let compiler = try ModuleCompiler()
        do {
            print((host ? try compiler.hostFlags() : compiler.moduleFlags).joined(separator: " "))
        } catch {
            throw CommandFailure(message: "\(error)")
        }
    }
}
