import Foundation
import XCTest

/// `reloadctl build` as a user runs it (issue 20, item 10): `-o out/` names
/// `out/x.so`, not `out//x.so`; a second build of unchanged sources builds
/// nothing, while an edit of a source, of a header it includes, or of the
/// flags builds again; a broken `.swift` module's messages are whole lines,
/// not `x.swifterror:` (two compiler jobs writing into one pipe).
final class BuildCommandTests: XCTestCase {
    var folder: FixtureFolder!

    override func setUpWithError() throws {
        folder = try FixtureFolder()
    }

    func write(_ name: String, _ text: String) throws {
        let path = folder.path + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func module(_ header: String) -> String {
        "#include <remap/module.h>\n#include \"\(header)\"\nRM_MODULE_ABI;\n"
            + "int rm_module_init(rm_builder *m) { return rm_def_value(m, \"K\", rm_int(K)); }\n"
    }

    func testFolderBuildNamesItsLibrariesAndSkipsUnchangedOnes() throws {
        try write("src/a.c", module("k.h"))
        try write("src/game/b.c", module("../k.h"))
        try write("src/k.h", "#define K 1\n")
        let out = folder.path + "/out/"
        let first = try Processes.reloadctl("build", folder.path + "/src", "-o", out)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, "built \(out)a.so\nbuilt \(out)game/b.so\n", "one slash between folder and file")

        let again = try Processes.reloadctl("build", folder.path + "/src", "-o", out)
        XCTAssertEqual(again.stdout, "up to date: \(out)a.so\nup to date: \(out)game/b.so\n", again.stderr)

        try write("src/a.c", module("k.h") + "/* edited */\n")
        let edited = try Processes.reloadctl("build", folder.path + "/src", "-o", out)
        XCTAssertEqual(edited.stdout, "built \(out)a.so\nup to date: \(out)game/b.so\n", edited.stderr)

        try write("src/k.h", "#define K 2\n")
        let header = try Processes.reloadctl("build", folder.path + "/src", "-o", out)
        XCTAssertEqual(header.stdout, "built \(out)a.so\nbuilt \(out)game/b.so\n", "both include k.h: \(header.stderr)")

        let flags = try Processes.run("/usr/bin/env", ["CFLAGS=-DEXTRA", Processes.reloadctl, "build",
                                                        folder.path + "/src", "-o", out])
        XCTAssertEqual(flags.stdout, "built \(out)a.so\nbuilt \(out)game/b.so\n", "new flags: \(flags.stderr)")

        let forced = try Processes.reloadctl("build", folder.path + "/src", "-o", out, "--force")
        XCTAssertEqual(forced.stdout, "built \(out)a.so\nbuilt \(out)game/b.so\n", forced.stderr)
    }

    func testBrokenSwiftModuleMessagesAreWholeLines() throws {
        try write("x.swift", "import CRemap\nlet x: Int = \"a\"\n")
        for _ in 0..<3 {
            let result = try Processes.reloadctl("build", folder.path + "/x.swift")
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("x.swift:2:14: error: cannot convert"), result.stderr)
            XCTAssertFalse(result.stderr.contains("x.swifterror"), result.stderr)
            // One compiler job: no second copy of the messages from an
            // emit-module job racing the first.
            XCTAssertFalse(result.stderr.contains("emit-module command failed"), result.stderr)
            XCTAssertTrue(result.stderr.hasSuffix("\n"), result.stderr)
        }
    }
}
