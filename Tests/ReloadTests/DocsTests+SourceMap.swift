import Foundation
import XCTest

extension DocsTests {
    /// docs/reload.md's table of where each reload step is in the source
    /// (issue 24 item 6): every function it names is defined in the file
    /// named before it in the same cell, so the map cannot drift from the
    /// code. `R` is the file the table's introduction names.
    func testReloadStepsPointAtRealFunctions() throws {
        let text = try Self.text("docs/reload.md")
        guard let start = text.range(of: "Where each step is in the source") else {
            return XCTFail("docs/reload.md has no source map")
        }
        let table = text[start.upperBound...].split(separator: "\n").drop { !$0.hasPrefix("|") }
            .prefix { $0.hasPrefix("|") }.dropFirst(2)
        XCTAssertGreaterThanOrEqual(table.count, 9, "a row per step and the rollback")
        // In each cell, in order: a file (`x.c`, `X.swift`, or R), then
        // the functions it defines; "step 3" and plain words are skipped.
        let tokens = try NSRegularExpression(pattern: "(?:^|\\s)(R)\\s|`([^`]+)`")
        var checked = 0
        for row in table {
            for cell in row.split(separator: "|").dropFirst().map(String.init) {
                let ns = cell as NSString
                var source: String?, file = ""
                for match in tokens.matches(in: cell, range: NSRange(location: 0, length: ns.length)) {
                    let token = match.range(at: 1).location != NSNotFound ? "R" : ns.substring(with: match.range(at: 2))
                    if token == "R" || token.hasSuffix(".c") || token.hasSuffix(".swift") {
                        file = token == "R" ? "ModuleLoader+Reload.swift" : token
                        let folder = file.hasSuffix(".c") ? "CSources" : "Sources/Reload"
                        source = try String(contentsOfFile: "\(Self.root)/\(folder)/\(file)", encoding: .utf8)
                        continue
                    }
                    guard let source else { continue }
                    let bare = String(token.prefix { $0 != "(" })
                    let defined = source.contains("func \(bare)(") || source.contains("func \(bare)<")
                        || source.range(of: "\\b\(bare)\\([^;]*\\) \\{", options: .regularExpression) != nil
                    XCTAssertTrue(defined, "docs/reload.md: \(file) defines no \(token)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 20, "the table names the functions")
    }
}
