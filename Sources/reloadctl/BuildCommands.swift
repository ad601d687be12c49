import ArgumentParser
import Foundation
import Reload

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build module sources into shared libraries.",
        discussion: """
            Compiles with Remap's headers and the flags modules need; the
            compiler's messages are shown as they are.

              reloadctl build shapes.c            # -> shapes.so
              reloadctl build modules/ -o out/    # every .c of the folder
            """)

    @Argument(help: "A .c file or a folder of them.")
    var input: String

    @Option(name: .shortAndLong, help: "The library to write (a folder when building a folder).")
    var output: String?

    func run() throws {
        let compiler = try ModuleCompiler()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw CommandFailure(message: "no such file or folder: \(input)")
        }
        var jobs: [(String, String)] = []
        if isDirectory.boolValue {
            let outDir = output ?? input
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: input).sorted() where file.hasSuffix(".c") {
                jobs.append(("\(input)/\(file)", "\(outDir)/\((file as NSString).deletingPathExtension).so"))
            }
            guard !jobs.isEmpty else {
                throw CommandFailure(message: "no modules to build in \(input): it has no NAME.c sources")
            }
        } else {
            guard input.hasSuffix(".c") else { throw CommandFailure(message: "\(input) is not a .c file") }
            jobs.append((input, output ?? (input as NSString).deletingPathExtension + ".so"))
        }
        var failed = false
        for (source, library) in jobs {
            do {
                try compiler.build(source: source, output: library)
                print("built \(library)")
            } catch ModuleCompiler.Failure.compilerFailed(_, let text) {
                FileHandle.standardError.write(Data(text.utf8))
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
