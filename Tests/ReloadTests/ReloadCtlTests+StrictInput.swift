import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Issue 20, item 3, "bad input is changed instead of refused": `reloadctl
/// call m.echo 18446744073709551615` returned [-1], 2^63 became a float,
/// "a\u0000b" arrived as "a", and `m.f\u0000junk` and `m.....f` resolved to
/// `m.f`. The protocol is strict JSON: what the host cannot keep exactly is
/// refused (`bad_argument`, exit 64 from reloadctl), what is not strict JSON
/// is `invalid_json`, and strings keep every byte.
extension ReloadCtlTests {
    /// One connection, one request line and one reply line at a time.
    final class Session {
        let fd: Int32

        init(_ test: ReloadCtlTests) throws {
            fd = try test.connectSocket()
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Sends `line` and a newline; returns the reply line, nil if the
        /// host closed the connection or did not answer within 10 s.
        func exchange(_ line: [UInt8]) -> [UInt8]? {
            let bytes = line + [UInt8(ascii: "\n")]
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return nil }
                sent += n
            }
            var reply = [UInt8]()
            var byte: UInt8 = 0
            while recv(fd, &byte, 1, 0) == 1 {
                if byte == UInt8(ascii: "\n") { return reply }
                reply.append(byte)
            }
            return nil
        }

        func exchange(_ text: String) -> [UInt8]? { exchange(Array(text.utf8)) }
    }

    /// The reply's JSON object, decoded as ControlClient decodes replies,
    /// or nil.
    func replyObject(_ reply: [UInt8]?) -> [String: JSONValue]? {
        guard let reply, case .object(let fields)? = try? ControlProtocol.decoder.decode(JSONValue.self, from: Data(reply))
        else { return nil }
        return fields
    }

    func replyCode(_ reply: [UInt8]?) -> String? {
        guard case .object(let error)? = replyObject(reply)?["error"], case .string(let code)? = error["code"] else { return nil }
        return code
    }

    /// Through the reloadctl binary: what the issue showed, refused or kept.
    func testCallRefusesWhatItCannotSendExactly() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }

        for big in ["18446744073709551615", "9223372036854775808", "[1, 99999999999999999999]", "1e400"] {
            let result = try ctl("call", "counter.echo", big)
            XCTAssertEqual(result.status, 64, "\(big): \(result.stdout) \(result.stderr)")
            XCTAssertEqual(result.stdout, "", big)
            XCTAssertTrue(result.stderr.contains("cannot be sent as it is"), result.stderr)
        }
        XCTAssertEqual(try ctl("call", "counter.echo", "9223372036854775807").stdout, "[9223372036854775807]\n")
        XCTAssertEqual(try ctl("call", "counter.echo", "[-9223372036854775808]").stdout, "[[-9223372036854775808]]\n")

        // Every byte of a string arrives and comes back: the NUL included.
        let nul = try ctl("call", "counter.echo", #""a\u0000b""#, #"{"k\u0000ey": "\u0000"}"#)
        XCTAssertEqual(nul.status, 0, nul.stderr)
        XCTAssertEqual(nul.stdout, #"["a\u0000b",{"k\u0000ey":"\u0000"}]"# + "\n")

        // Malformed names are refused before the host is asked...
        for name in ["counter.....echo", ".counter.echo", "counter.echo.", "counter..echo"] {
            let result = try ctl("call", name, "1")
            XCTAssertEqual(result.status, 64, "\(name): \(result.stdout) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("not a qualified name"), result.stderr)
        }
        XCTAssertEqual(try ctl("get", "counter..count").status, 64)
        // ...and the host's own bad_argument is exit 64 as well.
        let badModule = try ctl("reload", "counter..x")
        XCTAssertEqual(badModule.status, 64, badModule.stderr)
        XCTAssertTrue(badModule.stderr.contains("invalid module name"), badModule.stderr)

        // Strict JSON: no duplicate keys, no trailing commas.
        for bad in [#"{"a": 1, "a": 2}"#, "[1, 2,]", #"{"a": 1,}"#] {
            let result = try ctl("call", "counter.echo", bad)
            XCTAssertEqual(result.status, 64, "\(bad): \(result.stdout) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("not valid JSON"), result.stderr)
        }
        XCTAssertEqual(try ctl("call", "counter.peek").stdout, "0\n", "nothing ran")
    }

    /// On the socket, the cases of the issue each get their code, and the
    /// host keeps serving with its state unchanged.
    func testStrictRequestsOnTheSocket() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        let session = try Session(self)
        let call = #"{"request":"call","function":"counter.echo","args":"#
        let cases: [(String, [UInt8], String)] = [
            ("duplicate key", Array(#"{"request":"ping","request":"ping"}"#.utf8), "invalid_json"),
            ("duplicate key inside args", Array((call + #"[{"a":1,"a":2}]}"#).utf8), "invalid_json"),
            ("duplicate key, other spelling", Array(#"{"request":"ping","requ\u0065st":"ping"}"#.utf8), "invalid_json"),
            ("trailing comma in object", Array(#"{"request":"ping",}"#.utf8), "invalid_json"),
            ("trailing comma in array", Array((call + "[1,]}").utf8), "invalid_json"),
            ("byte-order mark", [0xEF, 0xBB, 0xBF] + Array(#"{"request":"ping"}"#.utf8), "invalid_json"),
            ("raw control character", Array((call + "[\"a\u{1}b\"]}").utf8), "invalid_json"),
            ("not UTF-8", Array((call + "[\"").utf8) + [0xFF, 0xFE] + Array("\"]}".utf8), "invalid_json"),
            ("text after the object", Array(#"{"request":"ping"} {}"#.utf8), "invalid_json"),
            ("2^64-1", Array((call + "[18446744073709551615]}").utf8), "bad_argument"),
            ("2^63", Array((call + "[9223372036854775808]}").utf8), "bad_argument"),
            ("-2^63-1", Array((call + "[-9223372036854775809]}").utf8), "bad_argument"),
            ("float overflow", Array((call + "[1e400]}").utf8), "bad_argument"),
            ("lone surrogate", Array((call + #"["\ud800"]}"#).utf8), "bad_argument"),
            ("deep nesting", Array((call + String(repeating: "[", count: 5000)).utf8), "bad_argument"),
            ("NUL in function", Array(#"{"request":"call","function":"counter.echo\u0000junk"}"#.utf8), "bad_argument"),
            ("empty parts", Array(#"{"request":"call","function":"counter.....echo"}"#.utf8), "bad_argument"),
            ("empty function", Array(#"{"request":"call","function":""}"#.utf8), "bad_argument"),
            ("NUL in get", Array(#"{"request":"get","name":"counter.count\u0000x"}"#.utf8), "bad_argument"),
            ("empty parts in get", Array(#"{"request":"get","name":"counter..count"}"#.utf8), "bad_argument"),
            ("NUL in module", Array(#"{"request":"reload","modules":["counter\u0000x"]}"#.utf8), "bad_argument"),
            ("empty module part", Array(#"{"request":"reload","modules":["counter."]}"#.utf8), "bad_argument"),
        ]
        for (name, line, code) in cases {
            XCTAssertEqual(replyCode(session.exchange(line)), code, name)
        }
        // Kept exactly: the NUL, int64's ends, a float that looks whole.
        let kept = replyObject(session.exchange(call + #"["a\u0000b",9223372036854775807,-9223372036854775808,-0]}"#))
        XCTAssertEqual(kept?["result"], .array([.string("a\u{0}b"), .int(.max), .int(.min), .int(0)]))
        let text = session.exchange(call + "[2.5]}").map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(text, #"{"ok":true,"result":[2.5]}"#)

        XCTAssertEqual(replyCode(session.exchange(#"{"request":"ping"}"#)), nil)
        XCTAssertEqual(try ctl("call", "counter.peek").stdout, "1\n", "state unchanged:\n\(host.log)")
    }

    /// A few hundred malformed requests from a seeded generator
    /// (REMAP_FUZZ_SEED=N repeats a run): each gets one clean reply, a
    /// known error code or a success, never a closed connection, and the
    /// host serves on with its state unchanged. Requests that could change
    /// state (bump, reload, collect) are not among the bases mutated.
    func testFuzzedRequestsGetCleanErrors() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        let seed = ProcessInfo.processInfo.environment["REMAP_FUZZ_SEED"].flatMap { UInt64($0) }
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        print("fuzz seed: \(seed) (REMAP_FUZZ_SEED=\(seed) repeats this run)")
        var random = SplitMix64(seed: seed)
        let bases = [
            #"{"request":"ping"}"#, #"{"request":"status"}"#, #"{"request":"get","name":"counter.count"}"#,
            #"{"request":"call","function":"counter.peek"}"#,
            #"{"request":"call","function":"counter.echo","args":[1,-2.5,"x\u0000y",[true,null],{"k":"v"}]}"#,
        ].map { Array($0.utf8) }
        let known: Set<String> = ["invalid_json", "bad_request", "unknown_request", "bad_argument", "call_failed", "not_found"]
        let session = try Session(self)
        var tally: [String: Int] = [:]

        func check(_ line: [UInt8], expect: String?, _ what: String) {
            let reply = session.exchange(line)
            let text = "\(what) [seed \(seed)]: \(String(decoding: line.prefix(200), as: UTF8.self))"
            guard let object = replyObject(reply) else {
                return XCTFail("no JSON reply to \(text): \(reply.map { String(decoding: $0, as: UTF8.self) } ?? "connection closed")")
            }
            let code = replyCode(reply) ?? "ok"
            tally[code, default: 0] += 1
            if let expect {
                XCTAssertEqual(code, expect, text)
            } else if object["ok"] != .bool(true) {
                XCTAssertTrue(known.contains(code), "unexpected code \(code) for \(text)")
            }
        }

        // Random byte edits: flips, insertions, deletions, truncation.
        for i in 0..<300 {
            var line = bases[random.below(bases.count)]
            for _ in 0...random.below(3) {
                let at = random.below(line.count + 1)
                switch random.below(4) {
                case 0 where at < line.count: line[at] ^= UInt8(1 << random.below(8))
                case 1: line.insert(UInt8(random.below(256)), at: at)
                case 2 where at < line.count: line.remove(at: at)
                default: line = Array(line.prefix(at))
                }
            }
            // One line each; a line of spaces only gets no reply at all.
            line = line.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: "?") : $0 }
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { line = Array("x".utf8) }
            check(line, expect: nil, "mutation \(i)")
        }
        // Generated cases of each kind the issue names, with their codes.
        for i in 0..<40 {
            let key = ["request", "function", "args", "name"][random.below(4)]
            check(Array(#"{"request":"call","function":"counter.echo","\#(key)":1,"\#(key)":2}"#.utf8), expect: "invalid_json", "duplicate \(i)")
            let comma = random.below(2) == 0 ? #"{"request":"ping",}"# : #"{"request":"call","function":"counter.echo","args":[1,2,]}"#
            check(Array(comma.utf8), expect: "invalid_json", "trailing comma \(i)")
            check([0xEF, 0xBB, 0xBF] + bases[random.below(bases.count)], expect: "invalid_json", "BOM \(i)")
            // An integer just past either end of int64, or far past.
            let digits = (0..<random.below(20)).map { _ in String(random.below(10)) }.joined()
            let big = random.below(2) == 0 ? "9223372036854775808" : "-9223372036854775809"
            check(Array(#"{"request":"call","function":"counter.echo","args":[\#(big)\#(digits)]}"#.utf8),
                  expect: "bad_argument", "out of range \(i)")
            let name = Array("counter.echo")
            let cut = 1 + random.below(name.count - 1)
            let withNUL = String(name[..<cut]) + #"\u0000"# + String(name[cut...])
            check(Array(#"{"request":"call","function":"\#(withNUL)"}"#.utf8), expect: "bad_argument", "NUL in name \(i)")
            let dots = String(repeating: ".", count: 2 + random.below(6))
            check(Array(#"{"request":"call","function":"counter\#(dots)echo"}"#.utf8), expect: "bad_argument", "empty parts \(i)")
            // A NUL anywhere in a string argument is kept.
            let payload = String(repeating: "x", count: random.below(5)) + "\u{0}" + String(repeating: "y", count: random.below(5))
            let echoed = replyObject(session.exchange(Array(#"{"request":"call","function":"counter.echo","args":\#(JSONValue.array([.string(payload)]).jsonText)}"#.utf8)))
            XCTAssertEqual(echoed?["result"], .array([.string(payload)]), "NUL kept \(i) [seed \(seed)]")
        }
        print("fuzz replies by code: \(tally.sorted { $0.key < $1.key })")

        XCTAssertEqual(try ctl("ping").stdout, "pong\n", host.log)
        XCTAssertEqual(try ctl("call", "counter.peek").stdout, "1\n", "state unchanged")
        XCTAssertEqual(try ctl("get", "counter.count").stdout, "[1]\n")
    }
}

/// A small seeded generator (SplitMix64), so a fuzz run can be repeated.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
