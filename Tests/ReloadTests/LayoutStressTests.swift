import Foundation
import XCTest

/// Runs the `layout-stress` executable (Sources/layout-stress): random
/// layout-changing reloads (fields added, removed, reordered, renamed,
/// defaults changed, initializers, `__reload__` hooks of 0, 2 and 3
/// arguments) over instances in every state the walk distinguishes (fewer
/// stored fields than the class has, an attribute dict, a field in the dict
/// word), each checked against an independent model; failed reloads (armed
/// faults, crashes under the guard, a failing initializer or hook, a refused
/// rename rule) and plain rollbacks checked to restore every instance byte
/// for byte. The full size is
/// `swift run -c release layout-stress --rounds 2000 --instances 20000`.
final class LayoutStressTests: XCTestCase {
    /// Runs layout-stress with `arguments`; returns its exit status and
    /// output, which goes to a temporary file so a full pipe cannot block it.
    func runLayoutStress(_ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let executable = try XCTUnwrap(RemapStressTests.stressExecutable(named: "layout-stress"),
                                       "layout-stress was not built next to the tests")
        let outputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("layout-stress-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outputURL.path])
        }
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let timedOut = process.isRunning
        if timedOut { process.terminate() }
        process.waitUntilExit()
        try output.close()
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        if timedOut {
            XCTFail("layout-stress \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s:\n\(text)")
            return (-1, text)
        }
        return (process.terminationStatus, text)
    }

    func assertStressPasses(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, output) = try runLayoutStress(arguments)
        XCTAssertTrue(output.hasPrefix("seed="), "the first line must give the seed:\n\(output)", file: file, line: line)
        XCTAssertTrue(output.contains(" 0 failed"), "layout-stress reported failures:\n\(output)", file: file, line: line)
        XCTAssertEqual(status, 0, "layout-stress \(arguments.joined(separator: " ")) exited \(status):\n\(output)",
                       file: file, line: line)
    }

    func testFixedSeed() throws {
        try assertStressPasses(["--seed", "12345", "--rounds", "150", "--instances", "3000", "--quiet"])
    }

    func testRandomSeed() throws {
        let seed = UInt64.random(in: 1...UInt64(Int64.max))
        print("LayoutStressTests.testRandomSeed: seed=\(seed) (replay: layout-stress --seed \(seed) --rounds 150 --instances 2000)")
        try assertStressPasses(["--seed", String(seed), "--rounds", "150", "--instances", "2000", "--quiet"])
    }

    /// A bad option is refused with exit status 2, not run with defaults.
    func testUsageErrorExitsWithTwo() throws {
        let (status, _) = try runLayoutStress(["--no-such-option"])
        XCTAssertEqual(status, 2)
    }
}
