import Foundation
import XCTest

/// Field rules written in Swift (issue 22): @Initial computes a new field
/// from the old instance (its removed fields included), the class hook
/// `reload(added:removed:old:)` sees what changed, reference fields (a str,
/// another @Reloadable instance) and a fixed array keep their values, and a
/// narrowing is refused with the old version kept.
final class SwiftFieldRulesTests: HostTestCase {
    func save(_ text: String) throws {
        try text.write(toFile: folder.path + "/wallet.swift", atomically: true, encoding: .utf8)
    }

    static func wallet(fields: String, describe: String, extra: String = "") -> String {
        """
        import RemapModule

        @Module
        enum wallet {
            @Reloadable
            struct Account {
                \(fields)
                var owner: String = "nobody"
                var pos: (Float, Float, Float) = (0, 0, 0)
                var next: Account? = nil
                \(extra)
            }

            @State static var accounts = HeapList<Account>()

            static func open(_ owner: String, cents: Int = 0, x: Double = 0) throws -> Int {
                let a = Account(owner: owner)
                a.pos = (Float(x), 2, 3)
                a.next = accounts.last
                \(fields.hasPrefix("var cents") ? "a.cents = cents" : "")
                try accounts.append(a)
                return accounts.count
            }

            static func describe() -> String {
                accounts.map { \(describe) }.joined(separator: ",")
            }
        }
        """
    }

    func testInitialRenameHookAndRefusedNarrowing() throws {
        try save(Self.wallet(fields: "var cents: Int = 0", describe: #""\($0.owner):\($0.cents):\($0.pos.0):\($0.next?.owner ?? "-")""#))
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--watch"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)
        XCTAssertEqual(try ctl("call", "wallet.open", "\"ann\"", "1234", "1.5").stdout, "1\n", host.log)
        XCTAssertEqual(try ctl("call", "wallet.open", "\"bob\"", "500").stdout, "2\n")
        XCTAssertEqual(try ctl("call", "wallet.describe").stdout, "\"ann:1234:1.5:-,bob:500:0.0:ann\"\n")

        // cents becomes euros (computed from the old instance), the hook
        // marks every migrated owner.
        try save(Self.wallet(
            fields: #"@Initial({ old in Double(try old["cents", as: Int.self]) / 100 }) var euros: Double = 0"#,
            describe: #""\($0.owner):\($0.euros):\($0.pos.0):\($0.next?.owner ?? "-")""#,
            extra: """
                func reload(added: [String], removed: [String], old: OldInstance) throws {
                    owner = owner + "(+\\(added.joined())-\\(removed.joined()))"
                }
                """))
        XCTAssertTrue(host.waitFor("reloaded wallet 1 -> 2", timeout: 120), host.log)
        XCTAssertEqual(try ctl("call", "wallet.describe").stdout,
                       "\"ann(+euros-cents):12.34:1.5:-,bob(+euros-cents):5.0:0.0:ann(+euros-cents)\"\n", host.log)

        // euros narrowed to a Float with no rule: refused, version 2 stays.
        try save(Self.wallet(fields: "var euros: Float = 0", describe: #""\($0.owner):\($0.euros)""#))
        XCTAssertTrue(host.waitFor("reload of wallet failed", timeout: 120), host.log)
        XCTAssertTrue(host.log.contains("euros"), host.log)
        XCTAssertTrue(try ctl("call", "wallet.describe").stdout.hasPrefix("\"ann(+euros-cents):12.34:"), host.log)
    }
}
