import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reloadctl as a user runs it: a host started with `reloadctl run` as a child
/// process, driven by `reloadctl` clients and by raw bytes on its socket.
final class ReloadCtlTests: XCTestCase {
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

    /// counter: state `count` kept across reloads; bump() returns count*FACTOR.
    static func counter(factor: Int) -> String {
        """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *box(rm_object *fn) { return rm_dict_get_str(rm_module_dict(rm_function_module(fn)), "count"); }
        static rm_object *bump(rm_object *self, rm_object *const *args, size_t nargs) {
            int64_t n = rm_int_value(rm_list_get(box(self), 0)) + 1;
            if (rm_list_set(box(self), 0, rm_int(n)) < 0) return NULL;
            return rm_int(n * \(factor));
        }
        static rm_object *peek(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_list_get(box(self), 0);
        }
        static rm_object *echo(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *list = rm_list_new(nargs);
            for (size_t i = 0; list && i < nargs; i++) if (rm_list_append(list, args[i]) < 0) return NULL;
            return list;
        }
        int rm_module_init(rm_module *m) {
            rm_object *count = rm_list_new(1);
            if (!count || rm_list_append(count, rm_int(0)) < 0 || !rm_def_state(m, "count", count)) return -1;
            if (!rm_def_function(m, "bump", bump, 0) || !rm_def_function(m, "peek", peek, 0)) return -1;
            return rm_def_function(m, "echo", echo, -1) ? 0 : -1;
        }
        """
    }

    /// Writes the counter source into the host's folder, with a modification
    /// time that differs from the previous write's.
    func writeCounter(factor: Int, bumpTime: Bool = false) throws {
        let path = folder.path + "/counter.c"
        try Self.counter(factor: factor).write(toFile: path, atomically: true, encoding: .utf8)
        if bumpTime {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(2)], ofItemAtPath: path)
        }
    }

    func startHost(_ extra: [String] = []) throws -> HostProcess {
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: extra)
        XCTAssertTrue(host.waitFor("serving"), "host did not start:\n\(host.log)")
        return host
    }

    func ctl(_ args: String...) throws -> Processes.Result {
        try Processes.run(Processes.reloadctl, args + ["--socket", socketPath])
    }

    func testRunCallEditReloadKeepsState() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "2\n")

        try writeCounter(factor: 10, bumpTime: true)
        let reload = try ctl("reload", "counter")
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertTrue(reload.stdout.contains("reloaded counter 1 -> 2"), reload.stdout)
        XCTAssertTrue(reload.stdout.contains("phases:"), reload.stdout)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "30\n", "new code, old state")

        let echo = try ctl("call", "counter.echo", "\"a\"", "2", "[1,2]", "word")
        XCTAssertEqual(echo.stdout, "[\"a\",2,[1,2],\"word\"]\n")

        let status = try ctl("status", "--json")
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((json?["modules"] as? [[String: Any]])?.first?["generation"] as? Int, 2)
        XCTAssertTrue(try ctl("modules").stdout.contains("counter"))
        XCTAssertTrue(try ctl("stats").stdout.contains("objects"))
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")

        let missing = try ctl("reload", "nosuch")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("module nosuch is not loaded"), missing.stderr)
        let badName = try ctl("reload", "../../etc/passwd")
        XCTAssertNotEqual(badName.status, 0)
        XCTAssertTrue(badName.stderr.contains("invalid module name"), badName.stderr)

        // A broken source: the build error comes back and the old code runs on.
        try "this is not C".write(toFile: folder.path + "/counter.c", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(4)], ofItemAtPath: folder.path + "/counter.c")
        let broken = try ctl("reload", "counter")
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("build"), broken.stderr)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "40\n")
    }

    func testWatchRebuildsAndReloadsOnSave() throws {
        try writeCounter(factor: 1)
        let host = try startHost(["--watch"])
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        try writeCounter(factor: 100, bumpTime: true)
        XCTAssertTrue(host.waitFor("reloaded counter 1 -> 2", timeout: 60), host.log)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "200\n")
        // A save that does not compile is reported; the running code stays.
        try "int x = ;".write(toFile: folder.path + "/counter.c", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(4)], ofItemAtPath: folder.path + "/counter.c")
        XCTAssertTrue(host.waitFor("build of counter failed", timeout: 60), host.log)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "300\n")
    }

    // MARK: - Bad input on a real socket

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
            throw RuntimeError(kind: .runtime, message: "connect failed: \(errno)")
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
        XCTAssertEqual(try ctl("ping").stdout, "pong\n", "our own uid is still served")
    }

    func testDemoRunsAndExitsZero() throws {
        let result = try Processes.run(Processes.reloadctl, ["demo", "--particles", "20000"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("reloaded particles 1 -> 2"), result.stdout)
        XCTAssertTrue(result.stdout.contains("version 2 still answers"), result.stdout)
    }

    func testBuildAndCflags() throws {
        try writeCounter(factor: 1)
        let built = try Processes.reloadctl("build", folder.path + "/counter.c", "-o", folder.path + "/out.so")
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path + "/out.so"))
        try "int broken(void) { return }".write(toFile: folder.path + "/bad.c", atomically: true, encoding: .utf8)
        let failed = try Processes.reloadctl("build", folder.path + "/bad.c")
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("error"), "the compiler's own messages: \(failed.stderr)")
        let flags = try Processes.reloadctl("cflags")
        XCTAssertTrue(flags.stdout.contains("-fPIC") && flags.stdout.contains("/include"), flags.stdout)
        XCTAssertTrue(try Processes.reloadctl("--version").stdout.contains(Version.string))
    }
}
