import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reloadctl's host against bad input on a real socket: malformed, wrong
/// and oversized requests, a client that hangs up mid-request, a flood of
/// connections, and a peer with another uid.
extension ReloadCtlTests {
    /// Sends raw bytes; returns the first reply line (nil if none).
    func raw(_ bytes: [UInt8], close closeEarly: Bool = false) throws -> String? {
        let fd = try connectSocket()
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        if closeEarly { return nil }
        var reply = [UInt8]()
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            if byte == UInt8(ascii: "\n") { break }
            reply.append(byte)
        }
        return String(decoding: reply, as: UTF8.self)
    }

    func connectSocket() throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(socketPath.utf8))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw RemapError(kind: .runtime, message: "connect failed: \(errno)")
        }
        return fd
    }

    func errorCode(_ reply: String?) -> String? {
        guard let reply, let json = try? JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any] else { return nil }
        return (json["error"] as? [String: Any])?["code"] as? String
    }

    func testBadInputGetsErrorsAndChangesNothing() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")

        XCTAssertEqual(errorCode(try raw(Array("{not json\n".utf8))), "invalid_json")
        XCTAssertEqual(errorCode(try raw(Array("[1,2]\n".utf8))), "invalid_json")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"launch\"}\n".utf8))), "unknown_request")
        XCTAssertEqual(errorCode(try raw(Array("{\"no\":1}\n".utf8))), "bad_request")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"reload\",\"modules\":\"counter\"}\n".utf8))), "bad_argument")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"reload\",\"modules\":[\"counter\"],\"cascade\":\"yes\"}\n".utf8))), "bad_argument")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"call\",\"function\":42}\n".utf8))), "bad_argument")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"call\",\"function\":\"counter.bump\",\"args\":{}}\n".utf8))), "bad_argument")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"call\",\"function\":\"counter.bump\",\"args\":[1]}\n".utf8))), "call_failed")
        XCTAssertEqual(errorCode(try raw(Array("{\"request\":\"call\",\"function\":\"nowhere.f\"}\n".utf8))), "call_failed")
        var huge = Array("{\"request\":\"ping\",\"pad\":\"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: (1 << 20) + 10)
        huge += Array("\"}\n".utf8)
        XCTAssertEqual(errorCode(try raw(huge)), "line_too_long")
        // A client that disconnects in the middle of a request.
        _ = try raw(Array("{\"request\":\"call\",\"function\":\"counter.bu".utf8), close: true)

        // A flood of 1,000 connections, at most 100 open at once.
        var open: [Int32] = []
        for i in 0..<1000 {
            if let fd = try? connectSocket() { open.append(fd) }
            if open.count >= 100 || i == 999 {
                for fd in open { close(fd) }
                open.removeAll()
            }
        }

        // Still serving, state unchanged: the next bump is 2.
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "2\n", host.log)
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
    }

    func testPeerWithAnotherUIDIsRefused() throws {
        guard getuid() == 0 else {
            throw XCTSkip("needs root to act as another user (run as root to test the peer uid check)")
        }
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        // Open the folder and socket to others, so that only the uid check
        // stands between another user and the host.
        chmod(socketDir, 0o711)
        chmod(socketPath, 0o666)
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            s.connect(sys.argv[1])
            # The host answers a refused peer at once and closes: read first.
            print(s.recv(4096).decode())
            """
        let result = try Processes.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                            "/usr/bin/python3", "-c", script, socketPath])
        XCTAssertTrue(result.stdout.contains("forbidden"), "stdout: \(result.stdout) stderr: \(result.stderr)")
        // reloadctl itself, run as that user, reports the refusal (exit 77,
        // EX_NOPERM) instead of "closed the connection" (issue 20, item 6).
        let ctlResult = try Processes.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                               Processes.reloadctl, "ping", "--socket", socketPath])
        XCTAssertEqual(ctlResult.status, 77, ctlResult.stdout + ctlResult.stderr)
        XCTAssertTrue(ctlResult.stderr.hasPrefix("Error: the host at \(socketPath) refused this user: peer uid 65534"), ctlResult.stderr)
        XCTAssertEqual(try ctl("ping").stdout, "pong\n", "our own uid is still served")
    }
}
