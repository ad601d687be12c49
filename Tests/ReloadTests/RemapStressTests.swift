import Foundation
import XCTest

/// Runs the `remap-stress` executable (Sources/remap-stress): random object
/// graphs over every built-in type, random mappings (swaps, chains,
/// many-to-one, dict keys, classes with live instances), each remap checked
/// slot by slot against an independent model, collections checked to lose
/// nothing reachable, and a threaded mode with two mutators beside a
/// remapping thread. Small sizes here; the full size is
/// `swift run -c release remap-stress --objects 2000000 --rounds 50`.
final class RemapStressTests: XCTestCase {
    /// Where SwiftPM put a stress executable: beside the test bundle (the
    /// products directory), else the package's own .build/debug.
    static func stressExecutable(named name: String = "remap-stress") -> URL? {
        var candidates: [URL] = []
        for bundle in [Bundle.main] + Bundle.allBundles + Bundle.allFrameworks {
            let url = bundle.bundleURL
            candidates.append(url.appendingPathComponent(name))
            candidates.append(url.deletingLastPathComponent().appendingPathComponent(name))
        }
        if let argv0 = CommandLine.arguments.first {
            let runner = URL(fileURLWithPath: argv0).resolvingSymlinksInPath()
            candidates.append(runner.deletingLastPathComponent().appendingPathComponent(name))
        }
        // Tests/ReloadTests/RemapStressTests.swift -> the package root.
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/\(name)"))
        candidates.append(root.appendingPathComponent(".build/release/\(name)"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs remap-stress with `arguments`; returns its exit status and output.
    /// The output goes to a temporary file, so a full pipe cannot block it.
    func runStress(_ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let executable = try XCTUnwrap(Self.stressExecutable(), "remap-stress was not built next to the tests")
        let outputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("remap-stress-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).log")
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
            XCTFail("remap-stress \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s:\n\(text)")
            return (-1, text)
        }
        return (process.terminationStatus, text)
    }

    func assertStressPasses(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, output) = try runStress(arguments)
        XCTAssertTrue(output.hasPrefix("seed="), "the first line must give the seed:\n\(output)", file: file, line: line)
        XCTAssertTrue(output.contains(" 0 failed"), "remap-stress reported failures:\n\(output)", file: file, line: line)
        XCTAssertEqual(status, 0, "remap-stress \(arguments.joined(separator: " ")) exited \(status):\n\(output)",
                       file: file, line: line)
    }

    func testFixedSeed() throws {
        try assertStressPasses(["--seed", "12345", "--objects", "60000", "--rounds", "9", "--quiet"])
    }

    func testRandomSeed() throws {
        let seed = UInt64.random(in: 1...UInt64(Int64.max))
        print("RemapStressTests.testRandomSeed: seed=\(seed) (replay: remap-stress --seed \(seed) --objects 30000 --rounds 12)")
        try assertStressPasses(["--seed", String(seed), "--objects", "30000", "--rounds", "12", "--quiet"])
    }

    func testThreaded() throws {
        try assertStressPasses(["--threads", "--seed", "777", "--objects", "30000", "--rounds", "10", "--quiet"])
    }

    /// A bad option is refused with exit status 2, not run with defaults.
    func testUsageErrorExitsWithTwo() throws {
        let (status, _) = try runStress(["--no-such-option"])
        XCTAssertEqual(status, 2)
    }
}
