import CRemap
import Foundation
import Reload
import XCTest

/// Every code block of docs/modules.md builds: C modules compile with
/// -Werror and load, the Swift module compiles, shell lines use real
/// reloadctl subcommands, the JSON report decodes as a ReloadReport.
final class GuideTests: HeapTestCase {
    struct Block {
        let language: String
        let text: String
        let line: Int
    }

    static func blocks() throws -> [Block] {
        let path = FixtureFolder.packageRoot.appendingPathComponent("docs/modules.md").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        var blocks: [Block] = []
        var current: (String, Int, [String])?
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("```") {
                if let open = current {
                    blocks.append(Block(language: open.0, text: open.2.joined(separator: "\n"), line: open.1))
                    current = nil
                } else {
                    current = (String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces), i + 1, [])
                }
            } else if current != nil {
                current!.2.append(line)
            }
        }
        return blocks
    }

    func testEveryBlockHasAKnownLanguage() throws {
        let blocks = try Self.blocks()
        XCTAssertGreaterThan(blocks.count, 8)
        for block in blocks {
            XCTAssertTrue(["c", "swift", "sh", "json"].contains(block.language),
                          "docs/modules.md:\(block.line): block without a checked language '\(block.language)'")
        }
    }

    func testCModulesCompileAndLoad() throws {
        let folder = try FixtureFolder()
        var names: [String] = []
        for block in try Self.blocks() where block.language == "c" {
            // The module's name is in its first comment: /* name.c ... */
            let firstLine = block.text.split(separator: "\n").first.map(String.init) ?? ""
            guard let match = firstLine.range(of: #"[A-Za-z_][A-Za-z0-9_]*\.c\b"#, options: .regularExpression) else {
                XCTFail("docs/modules.md:\(block.line): a C block must start with /* name.c */")
                continue
            }
            let name = String(firstLine[match].dropLast(2))
            do {
                try folder.buildC(name, block.text, extraFlags: ["-Werror"])
                names.append(name)
            } catch FixtureError.buildFailed(let output) {
                XCTFail("docs/modules.md:\(block.line) (\(name).c) does not compile:\n\(output)")
            }
        }
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try Runtime.shared.withLock {
            for name in Set(names) {
                XCTAssertNoThrow(try loader.load(name), "docs/modules.md: module \(name) does not load")
            }
            XCTAssertEqual(try Objects.stringValue(loader.call("greeter.hello", [try Objects.string("guide")])), "hello, guide")
            XCTAssertEqual(try Objects.intValue(loader.call("report.twice")), 2)
            XCTAssertEqual(try Objects.intValue(Objects.callMethod(Objects.call(loader.resolve("shapes.Square"), [try Objects.int(3)]), "area")), 9)
        }
    }

    /// The worked example of "Changing fields": version 1's accounts,
    /// reloaded with version 2, read what the guide says they read.
    func testFieldMigrationExampleReloads() throws {
        let blocks = try Self.blocks()
        func source(_ version: Int) throws -> String {
            let block = blocks.first { $0.text.hasPrefix("/* accounts.c, version \(version)") }
            return try XCTUnwrap(block, "docs/modules.md has accounts.c, version \(version)").text
        }
        let folder = try FixtureFolder()
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try folder.buildC("accounts", try source(1))
        try Runtime.shared.withLock {
            try loader.load("accounts")
            let account = try Ref(try Objects.call(loader.resolve("accounts.Account"), [
                try Objects.string("ada"), try Objects.int(1250), try Objects.string("vip"),
            ]))
            try folder.buildC("accounts", try source(2))
            let report = try loader.reload(["accounts"])
            XCTAssertEqual(try Objects.stringValue(Objects.getAttribute(account.object, "holder")), "ada")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(account.object, "euros")), 12)
            XCTAssertEqual(try Objects.stringValue(Objects.getAttribute(account.object, "memo")), "vip")
            XCTAssertEqual(report.fieldsInitialized, 1)
            let fresh = try Objects.call(loader.resolve("accounts.Account"), [])
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(fresh, "euros")), 0, "initializers run on migration only")
        }
    }

    /// The worked example of "Struct classes": a bee made by version 1
    /// reads what the guide says after the reload to version 2 (a field
    /// widened, one added), and runs the new step.
    func testStructClassExampleReloads() throws {
        let blocks = try Self.blocks()
        func source(_ version: Int) throws -> String {
            let block = blocks.first { $0.text.hasPrefix("/* swarm.c, version \(version)") }
            return try XCTUnwrap(block, "docs/modules.md has swarm.c, version \(version)").text
        }
        let folder = try FixtureFolder()
        let loader = ModuleLoader()
        loader.addSearchPath(folder.path)
        try folder.buildC("swarm", try source(1))
        try Runtime.shared.withLock {
            try loader.load("swarm")
            let bee = try Ref(try Objects.call(loader.resolve("swarm.Bee"), [try Objects.int(5), try Objects.int(2),
                                                                               try Objects.int(7)]))
            XCTAssertEqual(rm_setattr(bee.object, "charge", try Objects.int(1 << 40)), -1, "out of range for i32")
            XCTAssertTrue(String(cString: rm_error_message()).contains("Bee.charge"))
            rm_error_clear()
            try folder.buildC("swarm", try source(2))
            _ = try loader.reload(["swarm"])
            let values = try ["x", "v", "charge", "age"].map { try Objects.intValue(Objects.getAttribute(bee.object, $0)) }
            XCTAssertEqual(values, [5, 2, 7, 1])
            _ = try Objects.callMethod(bee.object, "step")
            XCTAssertEqual(try Objects.intValue(Objects.getAttribute(bee.object, "age")), 2, "the new step")
            try Runtime.shared.checkHeap()
        }
    }

    func testSwiftModuleCompiles() throws {
        let folder = try FixtureFolder()
        for block in try Self.blocks() where block.language == "swift" {
            XCTAssertNoThrow(try folder.buildSwift("guide_swift_\(block.line)", block.text), "docs/modules.md:\(block.line)")
        }
    }

    func testShellLinesUseRealSubcommands() throws {
        for block in try Self.blocks() where block.language == "sh" {
            for line in block.text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard words.first == "reloadctl", words.count > 1 else { continue }
                let help = try Processes.run(Processes.reloadctl, [words[1], "--help"])
                XCTAssertEqual(help.status, 0, "docs/modules.md:\(block.line): `\(line)`: no subcommand \(words[1])")
                for option in words.dropFirst(2) where option.hasPrefix("--") {
                    XCTAssertTrue(help.stdout.contains(option), "docs/modules.md:\(block.line): \(words[1]) has no \(option)")
                }
            }
        }
    }

    func testReportExampleDecodes() throws {
        for block in try Self.blocks() where block.language == "json" {
            // The report spells its snake_case keys itself: no key strategy.
            let decoder = ControlProtocol.decoder
            XCTAssertNoThrow(try decoder.decode(ReloadReport.self, from: Data(block.text.utf8)), "docs/modules.md:\(block.line)")
        }
    }
}
