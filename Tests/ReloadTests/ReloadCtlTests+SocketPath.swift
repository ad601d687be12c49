import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Issue 20, item 4: `reloadctl run --socket PATH` deleted a regular file at
/// PATH. Only a stale socket (one nothing listens on) may be replaced;
/// anything else is refused with an error naming it, and nothing is
/// deleted. The socket's folder must be this user's with mode 0700 whatever
/// --socket names.
extension ReloadCtlTests {
    /// `reloadctl run` on the counter folder, expected to refuse at once.
    func runRefused(socket: String) throws -> Processes.Result {
        let result = try Processes.run(Processes.reloadctl, ["run", folder.path, "--socket", socket], timeout: 60)
        XCTAssertNotEqual(result.status, 0, "run should refuse \(socket): \(result.stdout)")
        XCTAssertFalse(result.stdout.contains("serving"), result.stdout)
        return result
    }

    func testRunReplacesOnlyAStaleSocket() throws {
        try writeCounter(factor: 1)
        let fm = FileManager.default

        // A regular file: refused by name, kept byte for byte.
        try "precious".write(toFile: socketPath, atomically: false, encoding: .utf8)
        let file = try runRefused(socket: socketPath)
        XCTAssertTrue(file.stderr.contains("\(socketPath) exists and is not a socket (a regular file)"), file.stderr)
        XCTAssertEqual(try String(contentsOfFile: socketPath, encoding: .utf8), "precious")
        try fm.removeItem(atPath: socketPath)

        // A folder, and a link to a file elsewhere: the same.
        try fm.createDirectory(atPath: socketPath, withIntermediateDirectories: false)
        XCTAssertTrue(try runRefused(socket: socketPath).stderr.contains("(a folder)"))
        var isDirectory: ObjCBool = false
        XCTAssertTrue(fm.fileExists(atPath: socketPath, isDirectory: &isDirectory) && isDirectory.boolValue)
        try fm.removeItem(atPath: socketPath)
        let target = folder.path + "/target.txt"
        try "target".write(toFile: target, atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: socketPath, withDestinationPath: target)
        XCTAssertTrue(try runRefused(socket: socketPath).stderr.contains("(a symbolic link)"))
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: socketPath), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "target")
        try fm.removeItem(atPath: socketPath)

        // A stale socket (bound, never listened on, its process gone): replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(stale)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")

        // A live one: refused, and the host it belongs to answers on.
        let live = try runRefused(socket: socketPath)
        XCTAssertTrue(live.stderr.contains("another host is serving \(socketPath)"), live.stderr)
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")

        // The folder rule holds for --socket DIR/x.sock: a folder others may
        // enter is refused, and no socket is made in it.
        let open = folder.path + "/open"
        try fm.createDirectory(atPath: open, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let wide = try runRefused(socket: open + "/x.sock")
        XCTAssertTrue(wide.stderr.contains("\(open) must be a folder of this user with mode 0700"), wide.stderr)
        XCTAssertFalse(fm.fileExists(atPath: open + "/x.sock"))
    }
}
