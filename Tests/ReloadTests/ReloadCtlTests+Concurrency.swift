import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reloadctl's host under concurrent requests, client timeouts, large
/// replies and peers that never read; the exit codes of its commands.
extension ReloadCtlTests {
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
            double seconds;
            if (rm_args_parse(args, nargs, "d", &seconds) < 0) return NULL;
            double end = now() + seconds;
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
            int64_t length;
            if (rm_args_parse(args, nargs, "i", &length) < 0) return NULL;
            size_t n = length > 0 ? (size_t)length : 0;
            char *text = malloc(n + 1);
            if (!text) return NULL;
            memset(text, 'x', n);
            text[n] = 0;
            rm_object *s = rm_str(text);
            free(text);
            return s;
        }
        static rm_object *point(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *cls = rm_dict_get_str(rm_module_dict(rm_function_module(self)), "Point"), *x, *y;
            if (rm_args_parse(args, nargs, "OO", &x, &y) < 0) return NULL;
            rm_object *p = rm_instance_new(cls, NULL, 0);
            if (!p || rm_setattr(p, "x", x) < 0 || rm_setattr(p, "y", y) < 0) return NULL;
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
