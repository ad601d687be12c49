import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reloadctl as a user runs it: a host started with `reloadctl run` as a child
/// process, driven by `reloadctl` clients and by raw bytes on its socket.
final class ReloadCtlTests: HostTestCase {
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
        int rm_module_init(rm_builder *m) {
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

    // MARK: - Concurrency, timeouts, exit codes

    /// slow: spin(seconds) loops holding the lock, with a safe point every
    /// millisecond; big(n) returns a string of n bytes; point(x, y) makes a
    /// Point instance.
    static let slow = """
        #include <remap/module.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>
        RM_MODULE_ABI;
        static double now(void) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            return t.tv_sec + t.tv_nsec / 1e9;
        }
        static rm_object *spin(rm_object *self, rm_object *const *args, size_t nargs) {
            double end = now() + (double)rm_int_value(args[0]);
            printf("spinning\\n");
            fflush(stdout);
            int64_t rounds = 0;
            while (now() < end) {
                usleep(1000);
                rm_safe_point();
                rounds++;
            }
            return rm_int(rounds);
        }
        static rm_object *big(rm_object *self, rm_object *const *args, size_t nargs) {
            size_t n = (size_t)rm_int_value(args[0]);
            char *text = malloc(n + 1);
            if (!text) return NULL;
            memset(text, 'x', n);
            text[n] = 0;
            rm_object *s = rm_str(text);
            free(text);
            return s;
        }
        static rm_object *point(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Point");
            rm_object *p = rm_instance_new(cls, NULL, 0);
            if (!p || rm_setattr(p, "x", args[0]) < 0 || rm_setattr(p, "y", args[1]) < 0) return NULL;
            return p;
        }
        int rm_module_init(rm_builder *m) {
            rm_object *p = rm_def_class(m, "Point", NULL);
            if (!p || rm_def_field(p, "x", rm_int(0)) < 0 || rm_def_field(p, "y", rm_int(0)) < 0) return -1;
            if (!rm_def_function(m, "spin", spin, 1) || !rm_def_function(m, "big", big, 1)) return -1;
            return rm_def_function(m, "point", point, 2) ? 0 : -1;
        }
        """

    func writeSlow() throws {
        try Self.slow.write(toFile: folder.path + "/slow.c", atomically: true, encoding: .utf8)
    }

    /// Starts `reloadctl ARGS --socket S` in the background; its result is
    /// handed to `done` (on another thread) when it ends.
    func ctlInBackground(_ args: [String], done: @escaping @Sendable (Processes.Result) -> Void) {
        let all = args + ["--socket", socketPath]
        Thread {
            if let result = try? Processes.run(Processes.reloadctl, all) { done(result) }
        }.start()
    }

    /// Runs `reloadctl ARGS` and returns its result and how long it took.
    func timed(_ args: String...) throws -> (Processes.Result, TimeInterval) {
        let start = Date()
        let result = try Processes.run(Processes.reloadctl, args + ["--socket", socketPath])
        return (result, Date().timeIntervalSince(start))
    }

    /// A call that runs 10 s (holding the lock, with safe points) must not
    /// hold up status, stats or a reload: each answers within a second.
    func testLongCallDoesNotHoldUpOtherRequests() throws {
        try writeCounter(factor: 1)
        try writeSlow()
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
        final class Box: @unchecked Sendable { var result: Processes.Result? }
        let box = Box()
        let finished = DispatchSemaphore(value: 0)
        ctlInBackground(["call", "slow.spin", "10"]) { box.result = $0; finished.signal() }
        XCTAssertTrue(host.waitFor("spinning", timeout: 30), host.log)

        let (status, statusTime) = try timed("status")
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(status.stdout.contains("slow"), status.stdout)
        XCTAssertLessThan(statusTime, 1.0, "status while a call runs")
        let (stats, statsTime) = try timed("stats")
        XCTAssertEqual(stats.status, 0, stats.stderr)
        XCTAssertLessThan(statsTime, 1.0, "stats while a call runs")
        let (reload, reloadTime) = try timed("reload", "counter")
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertLessThan(reloadTime, 1.0, "reload while a call runs")
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n", "state kept across the reload")

        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success, "the long call ends")
        XCTAssertEqual(box.result?.status, 0, box.result?.stderr ?? "")
        XCTAssertGreaterThan(Int(box.result?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0, 100)
    }

    /// --timeout: a request without a reply in time fails with one line.
    func testClientTimeout() throws {
        try writeSlow()
        let host = try startHost()
        defer { host.stop() }
        let (result, elapsed) = try timed("call", "slow.spin", "5", "--timeout", "1")
        XCTAssertEqual(result.status, 75, result.stdout + result.stderr)
        XCTAssertEqual(result.stderr, "Error: no reply from the host at \(socketPath) within 1 s (raise it with --timeout)\n")
        XCTAssertLessThan(elapsed, 4)
        let json = try ctl("call", "slow.spin", "3", "--timeout", "0.5", "--json")
        XCTAssertEqual(json.status, 75)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["code"] as? String, "timeout")
        // The host is not stuck on the abandoned requests.
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
    }

    /// A 16 MB reply is read in time linear in its length (the reader once
    /// rescanned its whole buffer for a newline after every read).
    func testLargeReplyIsReadQuickly() throws {
        try writeSlow()
        let host = try startHost()
        defer { host.stop() }
        let size = 16 << 20
        let (result, elapsed) = try timed("call", "slow.big", "\(size)", "--timeout", "60")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.utf8.count, size + 3, "the quoted string and a newline")
        XCTAssertLessThan(elapsed, 15)
    }

    /// A client that sends requests and never reads their replies: the
    /// host's send times out and it drops the connection instead of being
    /// held by it.
    func testServerDropsAPeerThatNeverReads() throws {
        let loader = ModuleLoader()
        let server = try ControlServer(loader: loader, path: socketPath)
        server.sendTimeout = 0.5
        server.start()
        defer { server.stop() }
        let fd = try connectSocket()
        defer { close(fd) }
        // Shrink our receive buffer so the host's replies back up quickly.
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("{\"request\":\"stats\"}\n".utf8)
        let count = 20_000
        var sent = 0
        for _ in 0..<count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n != request.count { break }
            sent += 1
        }
        sleep(2)
        // Read what is left: the host gave up well before answering all.
        var replies = 0
        var byte = [UInt8](repeating: 0, count: 65536)
        tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while true {
            let n = recv(fd, &byte, byte.count, 0)
            if n <= 0 { break }
            replies += byte[..<n].filter { $0 == UInt8(ascii: "\n") }.count
        }
        XCTAssertLessThan(replies, sent, "the connection was dropped (\(replies) replies to \(sent) requests)")
        let client = try ControlClient(path: socketPath, timeout: 5)
        XCTAssertNoThrow(try client.ping())
    }

    func testExitCodesAndErrors() throws {
        // No host: 69, one line, no usage text.
        let missing = try ctl("status")
        XCTAssertEqual(missing.status, 69, missing.stdout + missing.stderr)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("Error: cannot reach a host at \(socketPath)"), missing.stderr)
        XCTAssertFalse(missing.stderr.contains("USAGE") || missing.stderr.contains("Usage"), missing.stderr)
        let missingJSON = try ctl("ping", "--json")
        XCTAssertEqual(missingJSON.status, 69)
        let missingReply = try JSONSerialization.jsonObject(with: Data(missingJSON.stdout.utf8)) as? [String: Any]
        XCTAssertTrue((missingReply?["error"] as? String)?.contains("cannot reach") == true, missingJSON.stdout)

        try writeCounter(factor: 1)
        try writeSlow()
        let host = try startHost()
        defer { host.stop() }
        // The host answers with an error: 1, and --json gives {"error": ...}.
        let failed = try ctl("call", "nowhere.f")
        XCTAssertEqual(failed.status, 1, failed.stderr)
        XCTAssertEqual(failed.stderr.split(separator: "\n").count, 1, failed.stderr)
        let failedJSON = try ctl("call", "nowhere.f", "--json")
        XCTAssertEqual(failedJSON.status, 1)
        let failedReply = try JSONSerialization.jsonObject(with: Data(failedJSON.stdout.utf8)) as? [String: Any]
        XCTAssertTrue((failedReply?["error"] as? String)?.contains("nowhere.f") == true, failedJSON.stdout)
        XCTAssertEqual(failedReply?["code"] as? String, "call_failed")

        // --format json is what --json is short for; text is the default;
        // anything else, or a contradiction, is a usage error.
        XCTAssertEqual(try ctl("ping", "--format", "json").stdout, "{\"ok\":true,\"pong\":true}\n")
        XCTAssertEqual(try ctl("ping", "--json").stdout, "{\"ok\":true,\"pong\":true}\n")
        XCTAssertEqual(try ctl("ping", "--format", "text").stdout, "pong\n")
        XCTAssertEqual(try ctl("ping", "--format", "yaml").status, 64)
        let contradiction = try ctl("ping", "--json", "--format", "text")
        XCTAssertEqual(contradiction.status, 64)
        XCTAssertTrue(contradiction.stderr.contains("--json and --format text disagree"), contradiction.stderr)
        // --on-removed is an enum too: a bad value never reaches the host.
        let badRemoved = try ctl("reload", "counter", "--on-removed", "drop")
        XCTAssertEqual(badRemoved.status, 64, badRemoved.stderr)
        XCTAssertTrue(badRemoved.stderr.contains("'keep', 'tombstone' or 'refuse'"), badRemoved.stderr)

        // Malformed JSON arguments are refused, not sent as strings.
        for bad in ["[1,2", "{\"a\":", "1.2.3", "\"open"] {
            let result = try ctl("call", "counter.echo", bad)
            XCTAssertEqual(result.status, 64, "\(bad): \(result.stdout) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("not valid JSON"), result.stderr)
        }
        XCTAssertEqual(try ctl("call", "counter.echo", "word", "[1]").stdout, "[\"word\",[1]]\n")
        XCTAssertEqual(try ctl("call", "counter.peek").stdout, "0\n", "no call ran")

        // get: a value; an instance with its class and fields.
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        XCTAssertEqual(try ctl("get", "counter.count").stdout, "[1]\n")
        let absent = try ctl("get", "counter.nothing")
        XCTAssertEqual(absent.status, 1, absent.stderr)
        let point = try ctl("call", "slow.point", "3", "\"four\"")
        XCTAssertEqual(point.stdout, "{\"class\":\"slow.Point\",\"fields\":{\"x\":3,\"y\":\"four\"}}\n", point.stderr)

        // reload --on-collision.
        for policy in ["keep-new", "refuse"] {
            let reload = try ctl("reload", "counter", "--on-collision", policy)
            XCTAssertEqual(reload.status, 0, reload.stderr)
        }
        let badPolicy = try ctl("reload", "counter", "--on-collision", "keep-oldest")
        XCTAssertEqual(badPolicy.status, 64, badPolicy.stderr)
        XCTAssertTrue(badPolicy.stderr.contains("--on-collision"), badPolicy.stderr)
    }
}
