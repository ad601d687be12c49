import Foundation
import XCTest

/// Tests that run a host as a child process (`reloadctl run`): a fixture
/// folder for its modules and a private 0700 folder for its socket, removed
/// afterwards.
class HostTestCase: XCTestCase {
    var folder: FixtureFolder!
    var socketDir: String!
    var socketPath: String { socketDir + "/host.sock" }

    override func setUpWithError() throws {
        folder = try FixtureFolder()
        socketDir = NSTemporaryDirectory() + "remap-sock-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: socketDir)
    }

    /// Writes `text` to `file` in the fixture folder, as an editor saves.
    func write(_ file: String, _ text: String) throws {
        try text.write(toFile: folder.path + "/" + file, atomically: true, encoding: .utf8)
    }

    /// Runs reloadctl against this test's host.
    func ctl(_ args: String...) throws -> Processes.Result {
        try Processes.run(Processes.reloadctl, args + ["--socket", socketPath])
    }

    /// Polls `function` until it returns `expected`.
    func waitForCall(_ function: String, _ expected: String, timeout: TimeInterval = 60) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try ctl("call", function).stdout == expected + "\n" { return true }
            usleep(50_000)
        }
        return false
    }
}
