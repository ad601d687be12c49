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
}
