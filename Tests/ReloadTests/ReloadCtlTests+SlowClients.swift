import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Issue 20, items 5 and 6: 64 same-uid connections sending one byte every
/// 100 ms held every slot past the idle timeout, so `ping` and `reload` got
/// nothing; and on a full host 8 of 10 `reloadctl ping` printed "closed the
/// connection" instead of the host's `busy` reply (a refused uid's
/// `forbidden` likewise).
extension ReloadCtlTests {
    /// Sends `bytes` without waiting; false if the connection is gone.
    func sendNow(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } == bytes.count
    }

    /// The reply line waiting on `fd`, if any, within `timeout` seconds.
    func readLine(_ fd: Int32, timeout: Double) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var line = [UInt8]()
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard poll(&poller, 1, 50) > 0 else { continue }
            guard recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 1 else { break }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    /// A request line that never ends, one byte every 100 ms: the host
    /// answers "request_timeout" about 5 s after its first byte and closes.
    func testSlowRequestLineIsCutOffAtItsDeadline() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        let fd = try connectSocket()
        defer { close(fd) }
        let start = Date()
        XCTAssertTrue(sendNow(fd, Array(#"{"request":"ping","pad":""#.utf8)))
        var reply: String?
        while reply == nil && Date().timeIntervalSince(start) < 15 {
            _ = sendNow(fd, [UInt8(ascii: "x")])
            reply = readLine(fd, timeout: 0.1)
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(errorCode(reply), "request_timeout", "after \(elapsed) s: \(reply ?? "no reply")")
        XCTAssertGreaterThan(elapsed, 4, "the deadline is 5 s from the first byte")
        XCTAssertLessThan(elapsed, 10)
        var byte: UInt8 = 0
        XCTAssertLessThanOrEqual(recv(fd, &byte, 1, 0), 0, "the connection is closed")
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
    }

    /// 64 slow clients (each reconnecting whenever the host drops it, as an
    /// attacker would) while pings run for 6 s, past the 5 s request
    /// deadline: every ping answers, p99 well under the issue's 100 ms on a
    /// quiet machine (printed; the assertion is generous for sanitizer
    /// runs), and `reloadctl reload` and `ping` work under the load.
    func testSixtyFourSlowClientsDoNotLockOutPingOrReload() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        final class Load: @unchecked Sendable {
            let lock = NSLock()
            var stop = false
            var connects = 0
            var endings: [String: Int] = [:]
            var stopped: Bool { lock.lock(); defer { lock.unlock() }; return stop }
        }
        let load = Load()
        let group = DispatchGroup()
        for _ in 0..<ControlServer.maxConnections {
            group.enter()
            Thread { [self] in
                defer { group.leave() }
                while !load.stopped {
                    guard let fd = try? connectSocket() else { usleep(10_000); continue }
                    load.lock.lock(); load.connects += 1; load.lock.unlock()
                    var alive = sendNow(fd, Array(#"{"request":"ping","pad":""#.utf8))
                    while alive && !load.stopped {
                        usleep(100_000)
                        alive = sendNow(fd, [UInt8(ascii: "x")])
                    }
                    if !alive {
                        let ending = errorCode(readLine(fd, timeout: 0.2)) ?? "closed"
                        load.lock.lock(); load.endings[ending, default: 0] += 1; load.lock.unlock()
                    }
                    close(fd)
                }
            }.start()
        }
        defer {
            load.lock.lock(); load.stop = true; load.lock.unlock()
            group.wait()
        }
        usleep(500_000) // all 64 connected and dribbling

        var latencies: [Double] = []
        var failures: [String] = []
        let start = Date()
        var checkedCommands = false
        while Date().timeIntervalSince(start) < 6 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                try ControlClient(path: socketPath, timeout: 5).ping()
            } catch {
                failures.append("\(error)")
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            if !checkedCommands && Date().timeIntervalSince(start) > 2 {
                checkedCommands = true
                let reload = try ctl("reload", "counter")
                XCTAssertEqual(reload.status, 0, reload.stderr)
                XCTAssertEqual(try ctl("ping").stdout, "pong\n")
            }
            usleep(20_000)
        }
        latencies.sort()
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        load.lock.lock()
        let summary = "\(latencies.count) pings under 64 slow clients: p50 \(String(format: "%.2f", p50)) ms, "
            + "p99 \(String(format: "%.2f", p99)) ms, max \(String(format: "%.2f", latencies.last ?? 0)) ms; "
            + "slow connections: \(load.connects), ended by \(load.endings.sorted { $0.key < $1.key })"
        load.lock.unlock()
        print(summary)
        XCTAssertEqual(failures, [], summary)
        XCTAssertLessThan(p99, 1000, summary)
        XCTAssertTrue(checkedCommands)
    }

    /// A host whose 64 connections all run requests answers `busy`, and
    /// reloadctl says so (exit 75) instead of "closed the connection".
    func testFullHostAnswersBusyAndReloadctlSaysSo() throws {
        try writeSlow()
        let host = try startHost()
        defer { host.stop() }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<ControlServer.maxConnections {
            let fd = try connectSocket()
            fds.append(fd)
            XCTAssertTrue(sendNow(fd, Array(#"{"request":"call","function":"slow.spin","args":[6]}"#.utf8) + [UInt8(ascii: "\n")]))
        }
        XCTAssertTrue(host.waitFor("spinning", timeout: 30), host.log)
        usleep(300_000)
        for i in 0..<10 {
            let busy = try ctl("ping")
            XCTAssertEqual(busy.status, 75, "ping \(i): \(busy.stdout) \(busy.stderr)")
            XCTAssertTrue(busy.stderr.hasPrefix("Error: the host at \(socketPath) is busy: "), "ping \(i): \(busy.stderr)")
        }
        let json = try ctl("ping", "--json")
        XCTAssertEqual(json.status, 75)
        XCTAssertEqual((try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["code"] as? String,
                       "busy", json.stdout)
        // The long calls finish and are answered; then the host has room.
        for fd in fds {
            let reply = readLine(fd, timeout: 120)
            XCTAssertTrue(reply?.contains(#""ok":true"#) == true, "a spin call's reply: \(reply ?? "none")")
        }
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")
    }
}
