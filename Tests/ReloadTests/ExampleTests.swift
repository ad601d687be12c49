import Foundation
import XCTest

/// The README's walk-through of examples/particles, end to end: start it
/// with --watch, edit the source, see the running program change with its
/// state intact.
final class ExampleTests: XCTestCase {
    func testParticlesWalkThrough() throws {
        let folder = try FixtureFolder()
        let example = FixtureFolder.packageRoot.appendingPathComponent("examples/particles/particles.c").path
        let source = folder.path + "/particles.c"
        try FileManager.default.copyItem(atPath: example, toPath: source)
        let socketDir = NSTemporaryDirectory() + "remap-ex-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: socketDir) }

        let host = try HostProcess(folder: folder.path, socket: socketDir + "/s.sock",
                                   extra: ["--entry", "particles.run", "--watch"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("tick 10: 100000 particles"), host.log)

        // The edit the README suggests: particles move three times as fast,
        // and the report says so.
        var text = try String(contentsOfFile: source, encoding: .utf8)
        text = text.replacingOccurrences(of: "x = (x + v) % WORLD_SIZE;", with: "x = (x + 3 * v) % WORLD_SIZE;")
        text = text.replacingOccurrences(of: "mean position %.2f\"", with: "mean position %.2f, 3x speed\"")
        XCTAssertTrue(text.contains("3 * v") && text.contains("3x speed"), "the example's source changed: update the edit")
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(2)], ofItemAtPath: source)

        XCTAssertTrue(host.waitFor("3x speed"), host.log)
        // The clock was not reset: the first new report continues the count.
        let ticks = host.log.split(separator: "\n").compactMap { line -> (Int, Bool)? in
            guard line.hasPrefix("tick "), let n = Int(line.dropFirst(5).prefix { $0.isNumber }) else { return nil }
            return (n, line.contains("3x speed"))
        }
        let before = ticks.filter { !$0.1 }.map(\.0), after = ticks.filter { $0.1 }.map(\.0)
        XCTAssertFalse(before.isEmpty)
        XCTAssertGreaterThan(after.first ?? 0, before.last ?? .max, "state kept: \(host.log)")
        XCTAssertTrue(host.log.contains("reloaded particles 1 -> 2"), host.log)
        XCTAssertTrue(host.log.contains("100000 particles"), host.log)
    }
}
