import Foundation
import Reload
import XCTest

/// The Swift API's shapes: the `Heap` a `withLock` body gets, the control
/// protocol's Codable types and their wire bytes, and the one error type.
final class SwiftAPITests: HeapTestCase {

    func testHeapMakesCallsAndReadsUnderTheLock() throws {
        let loader = ModuleLoader()
        loader.define(ModuleDefinition("heapapi") { m in
            try m.function("add", arity: 2) { args in
                try Objects.int(try Objects.intValue(args[0]) + Objects.intValue(args[1]))
            }
        })
        let kept: Ref = try runtime.withLock { heap in
            try loader.load("heapapi")
            let add = try loader.resolve("heapapi.add")
            XCTAssertEqual(try heap.intValue(try heap.call(add, [try heap.int(2), try heap.int(40)])), 42)
            let list = try heap.list([try heap.string("a"), try heap.int(1), heap.none, heap.bool(true)])
            XCTAssertEqual(try heap.json(list), .array([.string("a"), .int(1), .null, .bool(true)]))
            XCTAssertEqual(try heap.json(try heap.object(.object(["k": .float(1.5)]))), .object(["k": .float(1.5)]))
            XCTAssertEqual(try heap.stringValue(try heap.string("é")), "é")
            try heap.collect()
            try heap.check()
            return try heap.ref(list)
        }
        // A Ref outlives the lock; its object is read under it again.
        let json = try runtime.withLock { heap in try heap.json(try heap.object(kept)) }
        XCTAssertEqual(json, .array([.string("a"), .int(1), .null, .bool(true)]))
    }

    /// A Heap smuggled out of its body must not touch the heap unlocked.
    func testHeapUsedOutsideTheLockThrows() throws {
        var escaped: Heap?
        try runtime.withLock { heap in escaped = heap }
        let heap = try XCTUnwrap(escaped)
        XCTAssertThrowsError(try heap.int(1)) { error in
            XCTAssertEqual(error as? RemapError,
                           .core(.runtime, message: "a Heap was used outside Runtime.withLock: keep a Ref instead"))
        }
    }

    /// The Runtime's own heap calls, made without the lock, take it (or, for
    /// a safe point, have nothing to give up) instead of racing the heap.
    func testRuntimeHeapCallsOutsideTheLockAreSafe() throws {
        runtime.collect()
        try runtime.checkHeap()
        runtime.safePoint()
        XCTAssertEqual(try runtime.withLock { heap in try heap.intValue(try heap.int(7)) }, 7)
    }

    func testRequestsEncodeToTheDocumentedLines() throws {
        func line(_ request: ControlRequest) throws -> String {
            String(decoding: try ControlProtocol.encoder.encode(request), as: UTF8.self)
        }
        XCTAssertEqual(try line(.ping), #"{"request":"ping"}"#)
        XCTAssertEqual(try line(.reload(modules: ["m"], options: ReloadOptions(cascade: true, onRemoved: .tombstone,
                                                                                onCollision: .keepNewer))),
                       #"{"cascade":true,"modules":["m"],"on_collision":"keep-newer","on_removed":"tombstone","request":"reload"}"#)
        XCTAssertEqual(try line(.call(function: "m.f", args: [.int(1), .string("x"), .array([.int(2)]), .object(["k": .null])])),
                       #"{"args":[1,"x",[2],{"k":null}],"function":"m.f","request":"call"}"#)
        XCTAssertEqual(try line(.get(name: "m.state")), #"{"name":"m.state","request":"get"}"#)
        // And they read back as themselves.
        for request: ControlRequest in [.status, .get(name: "a.b"), .call(function: "a.f", args: [.bool(false)]),
                                        .reload(modules: ["a", "b"], options: ReloadOptions(onCollision: .refuse))] {
            XCTAssertEqual(try ControlProtocol.decoder.decode(ControlRequest.self, from: Data(try line(request).utf8)), request)
        }
    }

    func testBadRequestLinesGetTheirCodeAndMessage() {
        func failure(_ text: String) -> RemapError? {
            do {
                _ = try ControlRequest(line: Array(text.utf8))
                return nil
            } catch {
                return error as? RemapError
            }
        }
        XCTAssertEqual(failure("[1]"), .requestFailed(code: .invalidJSON, message: "a request is one JSON object per line"))
        XCTAssertEqual(failure(#"{"no":1}"#), .requestFailed(code: .badRequest,
            message: #"missing "request" (ping, status, modules, reload, call, get, stats, collect)"#))
        XCTAssertEqual(failure(#"{"request":"launch"}"#), .requestFailed(code: .unknownRequest,
            message: "unknown request 'launch' (ping, status, modules, reload, call, get, stats, collect)"))
        XCTAssertEqual(failure(#"{"request":"reload","modules":[1]}"#), .requestFailed(code: .badArgument,
            message: #""modules" must be a non-empty array of module names"#))
        XCTAssertEqual(failure(#"{"request":"reload","modules":["m"],"on_collision":"keep-oldest"}"#),
                       .requestFailed(code: .badArgument, message: #""on_collision" must be keep-new, keep-old or refuse"#))
        XCTAssertEqual(failure(#"{"request":"call","function":"m.f","args":{}}"#),
                       .requestFailed(code: .badArgument, message: #""args" must be an array"#))
        XCTAssertEqual(failure(#"{"request":"reload","modules":["m"],"on_collision":"keep-old"}"#), nil)
    }

    /// Read from a line, 1.0 is a float and 1 an int, as the heap has them.
    func testRequestLinesKeepFloatsApartFromInts() throws {
        let request = try ControlRequest(line: Array(#"{"request":"call","function":"m.f","args":[1.0,1,true]}"#.utf8))
        XCTAssertEqual(request, .call(function: "m.f", args: [.float(1), .int(1), .bool(true)]))
    }

    func testRepliesPutTheBodyBesideOk() throws {
        let encoder = ControlProtocol.encoder
        XCTAssertEqual(String(decoding: try encoder.encode(ControlReply.success(PingReply())), as: UTF8.self),
                       #"{"ok":true,"pong":true}"#)
        let failed = ControlReply<PingReply>.failure(ControlFailure(code: .busy, message: "retry"))
        XCTAssertEqual(String(decoding: try encoder.encode(failed), as: UTF8.self),
                       #"{"error":{"code":"busy","message":"retry"},"ok":false}"#)
        // A JSON value's keys are data: no key strategy rewrites them.
        let call = ControlReply.success(CallReply(result: .object(["camelCase": .int(1)])))
        XCTAssertEqual(String(decoding: try encoder.encode(call), as: UTF8.self), #"{"ok":true,"result":{"camelCase":1}}"#)
        let decoded = try ControlProtocol.decoder.decode(ControlReply<CollectReply>.self,
                                                         from: Data(#"{"collections":1,"libraries_closed":2,"ok":true}"#.utf8))
        guard case .success(let body) = decoded else { return XCTFail("\(decoded)") }
        XCTAssertEqual(body.librariesClosed, 2)
    }

    func testOneErrorTypeKeepsItsMessagesAndKinds() {
        XCTAssertEqual(RemapError.core(.key, message: "'x'").description, "KeyError: 'x'")
        XCTAssertEqual(RemapError.notLoaded("m").description, "module m is not loaded")
        XCTAssertEqual(RemapError.notLoaded("m").kind, .reload)
        XCTAssertEqual(RemapError.importCycle(["a", "b", "a"]).kind, .importFailure)
        XCTAssertTrue(RemapError.invalidName("1x").isLoadFailure)
        XCTAssertFalse(RemapError.callCrashed(function: "m.f", signal: "SIGSEGV", message: "crashed").isLoadFailure)
        XCTAssertEqual(RemapError.requestFailed(code: .notFound, message: "no m.x").description, "no m.x [not_found]")
        XCTAssertEqual(RemapError.timedOut(seconds: 2, path: "/s").description,
                       "no reply from the host at /s within 2 s (raise it with --timeout)")
    }
}
