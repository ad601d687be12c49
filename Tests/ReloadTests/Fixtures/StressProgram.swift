import Foundation
import XCTest

/// A seeded C stress executable of the package (remap-stress, layout-stress)
/// run as a test runs it: output to a temporary file (a full pipe cannot
/// block it), killed after a timeout, its seed line and failure count checked.
struct StressProgram {
    let name: String

    /// Where SwiftPM put the executable: beside the test bundle (the
    /// products directory), else the package's own .build.
    var executable: URL? {
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
        let root = FixtureFolder.packageRoot
        candidates.append(root.appendingPathComponent(".build/debug/\(name)"))
        candidates.append(root.appendingPathComponent(".build/release/\(name)"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs it with `arguments` and `environment` added to this process's;
    /// returns its exit status and output.
    func run(_ arguments: [String], environment: [String: String] = [:],
             timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let executable = try XCTUnwrap(executable, "\(name) was not built next to the tests")
        let outputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outputURL.path])
        }
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
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
            XCTFail("\(name) \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s:\n\(text)")
            return (-1, text)
        }
        return (process.terminationStatus, text)
    }

    /// Runs it and checks it printed its seed first, no failure, exit 0.
    func assertPasses(_ arguments: [String], environment: [String: String] = [:],
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, output) = try run(arguments, environment: environment)
        XCTAssertTrue(output.hasPrefix("seed="), "the first line must give the seed:\n\(output)", file: file, line: line)
        XCTAssertTrue(output.contains(" 0 failed"), "\(name) reported failures:\n\(output)", file: file, line: line)
        XCTAssertEqual(status, 0, "\(name) \(arguments.joined(separator: " ")) exited \(status):\n\(output)",
                       file: file, line: line)
    }
}
