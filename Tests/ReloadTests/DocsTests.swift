import CRemap
import Foundation
import Reload
import XCTest

/// The README and every page of docs/ show only what works (issue 24, item
/// 2: the README's live edit named a line particles.c no longer had, the
/// module guide pointed hosts at a core-private guard.h and a transaction.h
/// that did not exist, the README cited a notes file that is not in the
/// repository and a `Reloader` type that does not exist).
///
/// - The README's walkthrough is run as written: its host command, its edit
///   (read from the README and applied verbatim to a copy of
///   examples/particles/particles.c: whoever changes the example must change
///   the README), the output it quotes and the client commands it lists.
/// - Every code block has a checked language. A C block is a whole module
///   (`/* name.c ...` first), compiled with -Werror and loaded, or is quoted
///   from a file the suite builds (`<!-- quoted from PATH -->` before it,
///   checked verbatim); a Swift block is quoted the same way (docs/modules.md
///   compiles its own, GuideTests); JSON parses.
/// - Every shell line names a real reloadctl subcommand and its options, a
///   real product, a script that exists.
/// - Every path, header, link, anchor and type name in backquotes exists.
final class DocsTests: HeapTestCase {
    struct Block {
        let document: String
        let language: String
        let text: String
        let line: Int
        /// The prose between the previous block (or the heading) and this one.
        let before: String
        /// The `<!-- ... -->` comment right before the fence, if any.
        let marker: String?
        /// The `## ` section the block is in.
        let section: String

        var place: String { "\(document):\(line)" }
    }

    static let root = FixtureFolder.packageRoot.path

    /// README.md and docs/*.md.
    static func documents() throws -> [String] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: root + "/docs")
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return ["README.md"] + docs
    }

    static func text(_ document: String) throws -> String {
        try String(contentsOfFile: root + "/" + document, encoding: .utf8)
    }

    static func blocks(_ document: String) throws -> [Block] {
        var blocks: [Block] = []
        var open: (language: String, line: Int, lines: [String], before: String, marker: String?)?
        var prose: [String] = []
        var section = ""
        for (i, line) in try text(document).components(separatedBy: "\n").enumerated() {
            if line.hasPrefix("```") {
                if let block = open {
                    blocks.append(Block(document: document, language: block.language,
                                        text: block.lines.joined(separator: "\n"), line: block.line,
                                        before: block.before, marker: block.marker, section: section))
                    open = nil
                    prose = []
                } else {
                    let last = prose.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
                    let marker = last.hasPrefix("<!--") && last.hasSuffix("-->")
                        ? last.dropFirst(4).dropLast(3).trimmingCharacters(in: .whitespaces) : nil
                    open = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), i + 1, [],
                            prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines), marker)
                }
            } else if open != nil {
                open!.lines.append(line)
            } else {
                if line.hasPrefix("## ") {
                    section = String(line.dropFirst(3))
                    prose = []
                } else {
                    prose.append(line)
                }
            }
        }
        return blocks
    }

    static func allBlocks() throws -> [Block] { try documents().flatMap(blocks) }

    /// The quoted file of a `quoted from PATH` marker.
    static func quotedFile(_ block: Block) -> String? {
        guard let marker = block.marker, marker.hasPrefix("quoted from ") else { return nil }
        return String(marker.dropFirst("quoted from ".count))
    }

    // MARK: The README's walkthrough

    /// The README's "Try it" section, run as it says: the host command in a
    /// folder holding examples/particles, the quoted first line, the edit
    /// (each `replace` block and its `with` block, applied verbatim), the
    /// reload line and `, 3x speed` on every line after it, a version that
    /// does not compile, and the client commands from another "terminal".
    func testReadmeWalkthroughRunsAsWritten() throws {
        let section = try Self.blocks("README.md").filter { $0.section.hasPrefix("Try it") }
        let shell = section.filter { $0.language == "sh" }
        let outputs = section.filter { $0.language == "text" }.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let edits = section.filter { $0.language == "c" }
        XCTAssertEqual(shell.count, 2, "README Try it: the commands to start, then those from another terminal")
        XCTAssertEqual(outputs.count, 2, "README Try it: the first line printed, then the reload line")
        XCTAssertTrue(edits.count >= 2 && edits.count % 2 == 0, "README Try it: edits come as replace/with pairs")
        guard shell.count == 2, outputs.count == 2, edits.count >= 2 else { return }

        // reloadctl as the README spells it (.build/release/reloadctl): the
        // suite's own build stands in for the release build its first line makes.
        func reloadctlArguments(_ line: String) -> [String]? {
            let words = ModuleCompiler.words(line)
            guard let first = words.first, first == "reloadctl" || first.hasSuffix("/reloadctl") else { return nil }
            return Array(words.dropFirst())
        }
        let startLines = shell[0].text.split(separator: "\n").map(String.init)
        XCTAssertTrue(startLines.first?.hasPrefix("swift build -c release --product reloadctl") ?? false, startLines.description)
        let hostArguments = try XCTUnwrap(startLines.compactMap(reloadctlArguments).first { $0.first == "run" },
                                          "README Try it: a reloadctl run line")

        // A folder laid out like the repository, with the example's source,
        // and a runtime folder of the test's own for the default socket.
        let work = try FixtureFolder()
        let example = work.path + "/examples/particles"
        try FileManager.default.createDirectory(atPath: example, withIntermediateDirectories: true)
        let source = example + "/particles.c"
        try FileManager.default.copyItem(atPath: Self.root + "/examples/particles/particles.c", toPath: source)
        let runtimeDir = NSTemporaryDirectory() + "remap-docs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: runtimeDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: runtimeDir) }
        let environment = ["XDG_RUNTIME_DIR": runtimeDir]

        // The edit, read from the README and applied as written, to the
        // example as it is now: checked before anything runs.
        var text = try String(contentsOfFile: source, encoding: .utf8)
        for k in stride(from: 0, to: edits.count - 1, by: 2) {
            let old = edits[k].text, new = edits[k + 1].text
            XCTAssertTrue(edits[k].before.hasSuffix("replace"), "\(edits[k].place): an edit starts with 'replace'")
            XCTAssertEqual(edits[k + 1].before, "with", "\(edits[k + 1].place): the new text follows 'with'")
            guard text.components(separatedBy: old + "\n").count - 1 == 1 else {
                return XCTFail("\(edits[k].place): examples/particles/particles.c must hold this line once; "
                               + "update the README's edit when the example changes:\n\(old)")
            }
            text = text.replacingOccurrences(of: old + "\n", with: new + "\n")
        }
        let edited = text

        let host = try HostProcess(arguments: hostArguments, socket: runtimeDir + "/remap/reloadctl.sock",
                                   directory: work.path, environment: environment)
        defer { host.stop() }
        let firstLine = outputs[0]
        XCTAssertTrue(host.waitFor(firstLine + "\n"), "README: the line it quotes is printed:\n\(host.log)")

        try edited.write(toFile: source, atomically: true, encoding: .utf8)

        XCTAssertTrue(host.waitFor(outputs[1]), "README: \(outputs[1]):\n\(host.log)")
        XCTAssertTrue(host.waitFor("3x speed\n"), host.log)
        // Every tick line after the reload says so, and the count went on.
        let lines = host.log.split(separator: "\n").map(String.init)
        let reloadAt = try XCTUnwrap(lines.firstIndex { $0.contains(outputs[1]) })
        let ticks = { (lines: ArraySlice<String>) in lines.filter { $0.hasPrefix("tick ") } }
        let before = ticks(lines[..<reloadAt]), after = ticks(lines[(reloadAt + 1)...])
        XCTAssertFalse(after.isEmpty)
        for line in after { XCTAssertTrue(line.hasSuffix(", 3x speed"), "after the reload: \(line)") }
        func tick(_ line: String?) -> Int { Int(line?.dropFirst(5).prefix { $0.isNumber } ?? "") ?? -1 }
        XCTAssertEqual(tick(after.first), tick(before.last) + 5, "the same tick count, carried on: \(host.log)")
        XCTAssertTrue(after.first?.contains(": 100000 particles,") ?? false, "the same particles: \(host.log)")

        // "From another terminal": each command as written, answered by this host.
        for line in shell[1].text.split(separator: "\n").map(String.init) {
            let arguments = try XCTUnwrap(reloadctlArguments(line), "README: \(line)")
            let result = try Processes.run(Processes.reloadctl, arguments, directory: work.path, environment: environment)
            XCTAssertEqual(result.status, 0, "README: `\(line)`: \(result.stderr)")
            if arguments == ["call", "particles.report"] {
                XCTAssertTrue(result.stdout.contains("3x speed"), "`\(line)` reaches the running host: \(result.stdout)")
            }
        }
        // The prose's bad argument gets a TypeError back, and the host runs on.
        let bad = try Processes.run(Processes.reloadctl, ["call", "particles.spawn", "\"abc\""], directory: work.path,
                                    environment: environment)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("TypeError"), bad.stderr)

        // A version that does not compile: its errors are printed, the last
        // good version keeps running.
        let printed = host.log.components(separatedBy: "3x speed").count
        try (edited + "this is not C\n").write(toFile: source, atomically: true, encoding: .utf8)
        XCTAssertTrue(host.waitFor("error:"), "the compiler's errors are printed:\n\(host.log)")
        let deadline = Date().addingTimeInterval(30)
        while host.log.components(separatedBy: "3x speed").count < printed + 2 && Date() < deadline { usleep(100_000) }
        XCTAssertGreaterThanOrEqual(host.log.components(separatedBy: "3x speed").count, printed + 2,
                                    "the last good version runs on:\n\(host.log)")

        // And the edited step moves three times as fast: particle i starts at
        // x = i with v = i % 5 - 2 (spawn), so one tick takes it to i + 3v.
        let folder = try FixtureFolder()
        try folder.buildC("particles", edited)
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try runtime.withLock {
            _ = try loader.load("particles")
            _ = try loader.call("particles.spawn", [try Objects.int(10)])
            _ = try loader.call("particles.tick")
            let world = try loader.resolve("particles.world")
            for i in 0..<10 {
                let x = try Objects.intValue(Objects.getAttribute(try XCTUnwrap(rm_list_get(world, i)), "x"))
                XCTAssertEqual(x, (i + 3 * (i % 5 - 2) + 1000) % 1000, "particle \(i) after one tick of the README's step")
            }
            _ = loader.collect()
        }
    }

    /// docs/modules.md's first module, built and run with the three commands
    /// the guide gives, as written, in a folder holding its greeter.c.
    func testGuideFirstModuleRunsAsWritten() throws {
        let blocks = try Self.blocks("docs/modules.md")
        let greeter = try XCTUnwrap(blocks.first { $0.language == "c" && $0.text.hasPrefix("/* greeter.c */") })
        let commands = try XCTUnwrap(blocks.first { $0.language == "sh" && $0.text.contains("reloadctl build greeter.c") })
        let lines = commands.text.split(separator: "\n").map { ModuleCompiler.words(String($0)) }
        XCTAssertEqual(lines.map { $0.first }, ["reloadctl", "reloadctl", "reloadctl"], commands.place)
        guard lines.count == 3 else { return }
        let work = try FixtureFolder()
        try greeter.text.write(toFile: work.path + "/greeter.c", atomically: true, encoding: .utf8)
        let runtimeDir = NSTemporaryDirectory() + "remap-guide-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: runtimeDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: runtimeDir) }
        let environment = ["XDG_RUNTIME_DIR": runtimeDir]

        let build = try Processes.run(Processes.reloadctl, Array(lines[0].dropFirst()), directory: work.path,
                                      environment: environment)
        XCTAssertEqual(build.status, 0, build.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.path + "/greeter.so"), build.stdout)
        let host = try HostProcess(arguments: Array(lines[1].dropFirst()), socket: runtimeDir + "/remap/reloadctl.sock",
                                   directory: work.path, environment: environment)
        defer { host.stop() }
        var reply = Processes.Result(status: -1, stdout: "", stderr: "")
        for _ in 0..<100 where reply.status != 0 {
            usleep(100_000)
            reply = try Processes.run(Processes.reloadctl, Array(lines[2].dropFirst()), directory: work.path,
                                      environment: environment)
        }
        XCTAssertEqual(reply.status, 0, reply.stderr + host.log)
        XCTAssertEqual(reply.stdout, "\"hello, world\"\n", host.log)
    }

    /// The two commands the README starts with are scripts that exist, run
    /// and parse (scripts/test.sh is this suite; scripts/demo.sh runs
    /// `reloadctl demo`, which HostExampleTests runs).
    func testReadmeStartsWithTheTwoCommands() throws {
        let first = try XCTUnwrap(try Self.blocks("README.md").first)
        let commands = first.text.split(separator: "\n").map { ModuleCompiler.words(String($0)).first ?? "" }
        XCTAssertEqual(commands, ["scripts/demo.sh", "scripts/test.sh"])
        for script in commands {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.root + "/" + script), script)
            let syntax = try Processes.run("/bin/bash", ["-n", Self.root + "/" + script])
            XCTAssertEqual(syntax.status, 0, "\(script): \(syntax.stderr)")
        }
        let demo = try String(contentsOfFile: Self.root + "/scripts/demo.sh", encoding: .utf8)
        XCTAssertTrue(demo.contains("demo"), "scripts/demo.sh runs reloadctl demo")
    }

    // MARK: Code blocks

    func testEveryBlockHasACheckedLanguage() throws {
        for block in try Self.allBlocks() {
            XCTAssertTrue(["c", "swift", "sh", "json", "text"].contains(block.language),
                          "\(block.place): a block without a checked language '\(block.language)'")
        }
    }

    /// A quoted block is in its file, verbatim.
    func testQuotedBlocksAreInTheirFiles() throws {
        var quoted = 0
        for block in try Self.allBlocks() {
            guard let file = Self.quotedFile(block) else { continue }
            quoted += 1
            let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
            XCTAssertTrue(text.contains(block.text), "\(block.place): not in \(file) as shown")
        }
        XCTAssertGreaterThanOrEqual(quoted, 4)
    }

    /// C blocks outside docs/modules.md (GuideTests builds those) and the
    /// README's edit: whole modules that compile with -Werror and load, or
    /// quoted. The two modules docs show for the heap API do what they say.
    func testCBlocksCompileAndLoad() throws {
        let folder = try FixtureFolder()
        var names: [String] = []
        for block in try Self.allBlocks() where block.language == "c" && block.document != "docs/modules.md" {
            if block.document == "README.md" && block.section.hasPrefix("Try it") { continue }
            if Self.quotedFile(block) != nil { continue }
            let first = block.text.split(separator: "\n").first.map(String.init) ?? ""
            guard first.hasPrefix("/* "), let match = first.range(of: #"[A-Za-z_][A-Za-z0-9_]*\.c\b"#, options: .regularExpression)
            else {
                XCTFail("\(block.place): a C block is a module (/* name.c ... */ first) or quoted (<!-- quoted from PATH -->)")
                continue
            }
            let name = String(first[match].dropLast(2))
            do {
                try folder.buildC(name, block.text, extraFlags: ["-Werror"])
                names.append(name)
            } catch FixtureError.buildFailed(let output) {
                XCTFail("\(block.place) (\(name).c) does not compile:\n\(output)")
            }
        }
        XCTAssertEqual(Set(names), ["pair", "become"])
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try runtime.withLock {
            for name in names { XCTAssertNoThrow(try loader.load(name), "module \(name) does not load") }
            // pair.make(a, b) holds a and b; become(a, c) makes it hold c.
            let a = try Objects.string("a"), b = try Objects.string("b"), c = try Objects.string("c")
            let pair = try loader.call("pair.make", [a, b])
            let list = try XCTUnwrap(rm_list_new(1))
            XCTAssertEqual(rm_list_append(list, a), 0)
            let rewritten = try Objects.intValue(loader.call("become.become", [a, c]))
            XCTAssertGreaterThanOrEqual(rewritten, 2, "the pair's slot and the list's")
            XCTAssertEqual(try Objects.stringValue(try XCTUnwrap(rm_list_get(list, 0))), "c")
            var seen: [String] = []
            _ = withUnsafeMutablePointer(to: &seen) { seenPointer in
                rm_traverse(pair, { slot, arg in
                    if let object = slot?.pointee, rm_is_str(object) {
                        arg!.assumingMemoryBound(to: [String].self).pointee.append(String(cString: rm_str_cstr(object)))
                    }
                    return 0
                }, seenPointer)
            }
            XCTAssertEqual(seen, ["c", "b"], "pair_traverse visits left and right")
            _ = loader.collect()
        }
    }

    /// Swift blocks outside docs/modules.md are quoted from a file the suite
    /// builds and runs, or name the test that checks them.
    func testSwiftBlocksAreQuotedOrChecked() throws {
        let tests = try Self.testSources()
            + String(contentsOfFile: Self.root + "/Tests/ReloadTests/DocsTests.swift", encoding: .utf8)
        for block in try Self.allBlocks() where block.language == "swift" && block.document != "docs/modules.md" {
            if Self.quotedFile(block) != nil { continue }
            guard let marker = block.marker, marker.hasPrefix("checked by DocsTests.") else {
                XCTFail("\(block.place): a Swift block is quoted (<!-- quoted from PATH -->) or checked by a test")
                continue
            }
            let test = marker.dropFirst("checked by DocsTests.".count)
            XCTAssertTrue(tests.contains("func \(test)("), "\(block.place): no test \(test)")
        }
    }

    /// docs/embedding-swift.md's dependency blocks resolve as shown (issue
    /// 20, item 10: `.package(path:)` with `package: "Remap"` failed unless
    /// the folder was named Remap). By URL: the block verbatim, its URL
    /// pointed at a bare clone of this repository named remap.git and
    /// tagged 0.1.0. By path: the quoted block of examples/swift-host
    /// pointed at this checkout; without its `name:` it fails, as the page
    /// says, when the folder has another name.
    func testPackageByURLResolves() throws {
        let blocks = try Self.blocks("docs/embedding-swift.md").filter { $0.language == "swift" }
        let byURL = try XCTUnwrap(blocks.first { $0.marker == "checked by DocsTests.testPackageByURLResolves" })
        let byPath = try XCTUnwrap(blocks.first { $0.marker == "quoted from examples/swift-host/Package.swift" })
        let work = try FixtureFolder()
        let clone = try Processes.run("/usr/bin/env", ["git", "clone", "-q", "--bare", Self.root, work.path + "/remap.git"])
        XCTAssertEqual(clone.status, 0, clone.stderr)
        let head = try Processes.run("/usr/bin/env", ["git", "-C", Self.root, "rev-parse", "HEAD"])
        let tag = try Processes.run("/usr/bin/env", ["git", "-C", work.path + "/remap.git", "tag", "0.1.0",
                                                     head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        XCTAssertEqual(tag.status, 0, tag.stderr)

        func describe(_ name: String, _ body: String) throws -> Processes.Result {
            let package = work.path + "/" + name
            try FileManager.default.createDirectory(atPath: package + "/Sources/myhost", withIntermediateDirectories: true)
            try "import Reload\n".write(toFile: package + "/Sources/myhost/main.swift", atomically: true, encoding: .utf8)
            let manifest = "// swift-tools-version:6.2\nimport PackageDescription\n\nlet package = Package(\n"
                + "    name: \"myhost\",\n" + body.replacingOccurrences(of: "\"swift-host\"", with: "\"myhost\"") + "\n)\n"
            try manifest.write(toFile: package + "/Package.swift", atomically: true, encoding: .utf8)
            return try Processes.run("/usr/bin/env", ["swift", "package", "describe", "--package-path", package], timeout: 300)
        }
        let url = try describe("by-url", byURL.text.replacingOccurrences(of: "https://example.com/remap.git",
                                                                          with: "file://" + work.path + "/remap.git"))
        XCTAssertEqual(url.status, 0, "\(byURL.place): \(url.stderr)")
        let path = try describe("by-path", byPath.text.replacingOccurrences(of: "path: \"../..\"", with: "path: \"\(Self.root)\""))
        XCTAssertEqual(path.status, 0, "\(byPath.place): \(path.stderr)")
        if (Self.root as NSString).lastPathComponent.lowercased() != "remap" {
            let unnamed = try describe("unnamed", byPath.text.replacingOccurrences(of: ".package(name: \"Remap\", path: \"../..\")",
                                                                                   with: ".package(path: \"\(Self.root)\")"))
            XCTAssertNotEqual(unnamed.status, 0, "a path dependency is known by its folder's name")
            XCTAssertTrue(unnamed.stderr.contains("unknown package 'Remap'"), unnamed.stderr)
        }
    }

    func testJSONBlocksParse() throws {
        for block in try Self.allBlocks() where block.language == "json" {
            let whole = try? JSONSerialization.jsonObject(with: Data(block.text.utf8))
            if whole != nil { continue }
            for line in block.text.split(separator: "\n") {
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), "\(block.place): not JSON: \(line)")
            }
        }
    }

    // MARK: Shell lines

    /// Every shell line's command exists: reloadctl's subcommands and the
    /// options shown (`--help` lists them), `swift run`'s and `swift build`'s
    /// products, scripts.
    func testShellLinesNameRealCommands() throws {
        let package = try String(contentsOfFile: Self.root + "/Package.swift", encoding: .utf8)
        var helps: [String: String] = [:]
        func help(_ subcommand: String) throws -> String? {
            if let known = helps[subcommand] { return known }
            let result = try Processes.run(Processes.reloadctl, [subcommand, "--help"])
            guard result.status == 0 else { return nil }
            helps[subcommand] = result.stdout
            return result.stdout
        }
        func checkReloadctl(_ words: [String], _ place: String) throws {
            guard let sub = words.first, !sub.hasPrefix("-") else { return } // --generate-completion-script, --version
            guard let text = try help(sub) else { return XCTFail("\(place): no reloadctl subcommand \(sub)") }
            for option in words.dropFirst() where option.hasPrefix("--") {
                let name = option.split(separator: "=").first.map(String.init) ?? option
                XCTAssertTrue(text.contains(name), "\(place): reloadctl \(sub) has no \(name)")
            }
        }
        var checked = 0
        for block in try Self.allBlocks() where block.language == "sh" {
            let joined = block.text.replacingOccurrences(of: "\\\n", with: " ")
            for (k, raw) in joined.split(separator: "\n").enumerated() {
                let place = "\(block.document):\(block.line + k + 1)"
                let line = raw.components(separatedBy: " #").first ?? String(raw)
                guard !line.hasPrefix("#") else { continue }
                var words = ModuleCompiler.words(line)
                while let first = words.first, first.contains("="), !first.hasPrefix("-") { words.removeFirst() } // VAR=value
                guard let command = words.first else { continue }
                // $(reloadctl cflags ...) inside another command.
                if let range = line.range(of: #"\$\((\S*/)?reloadctl [^)]*\)"#, options: .regularExpression) {
                    let inner = line[range].dropFirst(2).dropLast()
                    try checkReloadctl(Array(ModuleCompiler.words(String(inner)).dropFirst()), place)
                    checked += 1
                }
                if command == "reloadctl" || command.hasSuffix("/reloadctl") {
                    try checkReloadctl(Array(words.dropFirst()), place)
                    checked += 1
                } else if command == "swift", words.count > 1, ["run", "build"].contains(words[1]) {
                    if words.contains("--package-path") { continue }
                    var products: [String] = []
                    if let i = words.firstIndex(of: "--product"), i + 1 < words.count { products.append(words[i + 1]) }
                    if words[1] == "run", let product = words.dropFirst(2).first(where: { !$0.hasPrefix("-") && $0 != "release" }) {
                        products.append(product)
                    }
                    for product in products {
                        XCTAssertTrue(package.contains("name: \"\(product)\""), "\(place): no product \(product) in Package.swift")
                    }
                    checked += 1
                } else if command.hasSuffix(".sh") {
                    let path = Self.root + "/" + (command.hasPrefix("./") ? String(command.dropFirst(2)) : command)
                    XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path), "\(place): no script \(command)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 40)
    }

    // MARK: Pointers

    static func testSources() throws -> String {
        try sources(under: ["Tests"], extensions: ["swift"])
    }

    /// The text of every file under `folders` with one of `extensions`.
    static func sources(under folders: [String], extensions: Set<String>) throws -> String {
        var text = ""
        for folder in folders {
            guard let walker = FileManager.default.enumerator(atPath: root + "/" + folder) else { continue }
            // Not this file: it names what must not be named.
            for case let file as String in walker
            where extensions.contains((file as NSString).pathExtension) && !file.hasSuffix("DocsTests.swift") {
                text += (try? String(contentsOfFile: root + "/" + folder + "/" + file, encoding: .utf8)) ?? ""
            }
        }
        return text
    }

    /// Every file name in the repository (not .build).
    static func fileNames() -> Set<String> {
        var names = Set<String>()
        guard let walker = FileManager.default.enumerator(atPath: root) else { return names }
        for case let file as String in walker {
            if file.hasPrefix(".build") || file.hasPrefix(".git") { walker.skipDescendants(); continue }
            names.insert((file as NSString).lastPathComponent)
        }
        return names
    }

    /// GitHub's anchor for a heading.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { c -> Character? in
            if c == " " { return "-" }
            return c.isLetter || c.isNumber || c == "-" || c == "_" ? c : nil
        })
    }

    /// Every path in backquotes (`CSources/txn.c`, `include/remap/host.h`),
    /// every file name (`guard.h`, `BOEHM-NOTES.md`), every link and anchor,
    /// and every type-like name (`ModuleLoader`, `Reloader`) exists.
    func testPointersExist() throws {
        let names = Self.fileNames()
        let code = try Self.sources(under: ["Sources", "Tests", "CSources", "include", "scripts", "examples"],
                                    extensions: ["swift", "c", "h", "sh", "map"])
            + (try String(contentsOfFile: Self.root + "/Package.swift", encoding: .utf8))
        var examples = Set<String>() // module files the docs themselves write
        for block in try Self.allBlocks() {
            let first = block.text.split(separator: "\n").first.map(String.init) ?? ""
            if let match = first.range(of: #"[A-Za-z_][A-Za-z0-9_]*\.(c|swift)\b"#, options: .regularExpression) {
                examples.insert(String(first[match]))
            }
        }
        // Names a page uses for the reader's own files.
        let illustrative: Set<String> = ["shapes.c", "shapes.so", "shapes.swift", "hello.swift", "hello.so", "x.swift",
                                         "x.so", "shared.h", "physics.c", "game/physics.c", "game/physics.so",
                                         "greet.swift", "host.c", "counter.so", "out/shapes.so", "shapes.py", "bench.py"]
        // Names a page uses for the reader's own types and modules.
        let illustrativeTypes: Set<String> = ["Round", "Circle", "Square", "Account", "Particle", "Greeter"]
        let tokens = try NSRegularExpression(pattern: "`([^`\\n]+)`")
        let links = try NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        for document in try Self.documents() {
            let text = try Self.text(document)
            let prose = text.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                .joined(separator: "\n")
            let ns = prose as NSString
            for match in tokens.matches(in: prose, range: NSRange(location: 0, length: ns.length)) {
                var token = ns.substring(with: match.range(at: 1))
                token = token.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
                if token.contains("*") || token.contains(" ") || token.contains("$") { continue }
                // Placeholders: NAME.c, PREFIX/lib, DIR/x.sock.
                if token.range(of: #"\b(NAME|PREFIX|DIR|LIBRARY|PATH|FOLDER|UID)\b"#, options: .regularExpression) != nil { continue }
                if let top = token.split(separator: "/").first,
                   ["CSources", "Sources", "include", "Tests", "docs", "examples", "scripts"].contains(String(top)) {
                    let path = token.split(separator: ":").first.map(String.init) ?? token
                    XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root + "/" + path),
                                  "\(document): `\(token)` does not exist")
                } else if token.range(of: #"^[A-Za-z0-9_.+/-]+\.(h|c|swift|md|sh|map)$"#, options: .regularExpression) != nil {
                    let name = (token as NSString).lastPathComponent
                    XCTAssertTrue(names.contains(name) || examples.contains(name) || illustrative.contains(token),
                                  "\(document): `\(token)` is no file of the repository")
                } else if token.range(of: #"^[A-Z][a-z]+[A-Za-z0-9]*$"#, options: .regularExpression) != nil,
                          !illustrativeTypes.contains(token) {
                    // A capitalized name: a type, a product, a test of this package.
                    XCTAssertNotNil(code.range(of: "\\b\(token)\\b", options: .regularExpression),
                                    "\(document): `\(token)` is named nowhere in the code")
                }
            }
            // Names in diagrams (```text): a CamelCase name, or one in a
            // list of the types a folder holds, exists too.
            for block in try Self.blocks(document) where block.language == "text" || block.language.isEmpty {
                for line in block.text.split(separator: "\n") {
                    for word in line.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
                    where word.range(of: #"^[A-Z][a-z]+[A-Z][A-Za-z0-9]*$"#, options: .regularExpression) != nil
                        || line.contains(word + ",") && word.first!.isUppercase {
                        XCTAssertNotNil(code.range(of: "\\b\(word)\\b", options: .regularExpression),
                                        "\(block.place): \(word) is named nowhere in the code")
                    }
                }
            }
            for match in links.matches(in: prose, range: NSRange(location: 0, length: ns.length)) {
                let target = ns.substring(with: match.range(at: 1))
                if target.hasPrefix("http") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let directory = (document as NSString).deletingLastPathComponent
                let file = parts[0].isEmpty ? document
                    : ((directory.isEmpty ? parts[0] : directory + "/" + parts[0]) as NSString).standardizingPath
                guard FileManager.default.fileExists(atPath: Self.root + "/" + file) else {
                    XCTFail("\(document): link to \(target): no \(file)")
                    continue
                }
                if parts.count == 2 {
                    let headings = try Self.text(file).components(separatedBy: "\n").filter { $0.hasPrefix("#") }
                        .map { Self.anchor($0.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)) }
                    XCTAssertTrue(headings.contains(parts[1]), "\(document): link to \(target): no such heading in \(file)")
                }
            }
        }
    }
}
