import Foundation

// The control socket's protocol, shared by `ControlServer` and
// `ControlClient` (and reloadctl through it): one JSON object per line, a
// request `{"request": NAME, ...}` and its reply `{"ok": true, ...}` or
// `{"ok": false, "error": {"code": ..., "message": ...}}`. The wire keys are
// spelled out here, in snake_case, once.

/// How the protocol writes and reads JSON: sorted keys, ISO 8601 dates, and
/// the CodingKeys of each type as they are (no key strategy: the keys of a
/// `JSONValue` object are data and must not be rewritten).
public enum ControlProtocol {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// Where a host and a client meet when neither is given a path: a host
    /// that serves without one (`rm_host_serve(NULL)`, `reloadctl run`)
    /// and a client that asks without one (`reloadctl status`) both use
    /// `ControlServer.defaultPath()`, whose file is named after this. It is
    /// part of the protocol, spelled here once; it reads as the command
    /// line's name because that is the client users run.
    public static let defaultSocketName = "reloadctl"

    /// The request names, for error messages.
    static var requestNames: String { RequestName.allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The `"request"` field of each request: the one spelling of each name.
public enum RequestName: String, CaseIterable, Sendable {
    case ping, status, modules, reload, call, get, stats, collect
}

// MARK: - Requests

/// One request to a host.
public enum ControlRequest: Codable, Equatable, Sendable {
    /// Answers at once, without the runtime lock. Reply: `PingReply`.
    case ping
    /// The host's pid, uptime, modules and entry function, without the
    /// runtime lock. Reply: `StatusReply`.
    case status
    /// The loaded modules. Reply: `ModulesReply`.
    case modules
    /// Reloads modules in one transaction. Reply: `ReloadReply`.
    case reload(modules: [String], options: ReloadOptions = ReloadOptions())
    /// Calls `module.name` (or `module.Class.name`) under the crash guard.
    /// Reply: `CallReply`.
    case call(function: String, args: [JSONValue] = [])
    /// A value: `module.name`, or an attribute of one. Reply: `GetReply`.
    case get(name: String)
    /// Heap statistics. Reply: `StatsReply`.
    case stats
    /// A full collection, then closes unused old libraries. Reply: `CollectReply`.
    case collect

    /// The `"request"` field.
    public var name: String { kind.rawValue }

    public var kind: RequestName {
        switch self {
        case .ping: .ping
        case .status: .status
        case .modules: .modules
        case .reload: .reload
        case .call: .call
        case .get: .get
        case .stats: .stats
        case .collect: .collect
        }
    }

    /// Answered on the connection's thread: touch neither the heap nor the lock.
    var isLockFree: Bool {
        switch self {
        case .ping, .status: true
        default: false
        }
    }

    /// The fields of a request: their one spelling.
    enum Key: String, CodingKey {
        case request, modules, cascade, onRemoved = "on_removed", onCollision = "on_collision"
        case function, args, name
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(name, forKey: .request)
        switch self {
        case .reload(let modules, let options):
            try container.encode(modules, forKey: .modules)
            try container.encode(options.cascade, forKey: .cascade)
            try container.encode(options.onRemoved, forKey: .onRemoved)
            try container.encode(options.onCollision, forKey: .onCollision)
        case .call(let function, let args):
            try container.encode(function, forKey: .function)
            try container.encode(args, forKey: .args)
        case .get(let name):
            try container.encode(name, forKey: .name)
        case .ping, .status, .modules, .stats, .collect:
            break
        }
    }

    public init(from decoder: Decoder) throws {
        guard case .object(let fields) = try JSONValue(from: decoder) else {
            throw RemapError.requestFailed(code: .invalidJSON, message: "a request is one JSON object per line")
        }
        self = try ControlRequest(fields: fields)
    }

    /// A request line as the server reads it: strict JSON
    /// (`JSONValue(parsing:)`), so that `1.0` stays a float and nothing is
    /// rounded, wrapped or truncated. Throws `.requestFailed` with the code
    /// and message the server replies: `invalid_json` for text that is not
    /// one strict JSON object (a duplicate key, a trailing comma, a
    /// byte-order mark), `bad_argument` for JSON this side cannot hold
    /// exactly (an integer outside Int64, a lone surrogate).
    public init(line: some Collection<UInt8>) throws {
        let parsed: JSONValue
        do {
            parsed = try JSONValue(parsing: line)
        } catch {
            let code: ControlErrorCode = error.kind == .syntax ? .invalidJSON : .badArgument
            throw RemapError.requestFailed(code: code, message: "a request is one strict JSON object per line: \(error)")
        }
        guard case .object(let fields) = parsed else {
            throw RemapError.requestFailed(code: .invalidJSON, message: "a request is one JSON object per line")
        }
        self = try ControlRequest(fields: fields)
    }

    /// Checks the fields of a request object, in the order the protocol
    /// has always checked them. Unknown fields are ignored.
    public init(fields: [String: JSONValue]) throws {
        func bad(_ message: String) -> RemapError { .requestFailed(code: .badArgument, message: message) }
        func field(_ key: Key) -> JSONValue? { fields[key.rawValue] }
        guard case .string(let request)? = field(.request) else {
            throw RemapError.requestFailed(code: .badRequest, message: "missing \"request\" (\(ControlProtocol.requestNames))")
        }
        guard let kind = RequestName(rawValue: request) else {
            throw RemapError.requestFailed(code: .unknownRequest,
                                           message: "unknown request '\(request)' (\(ControlProtocol.requestNames))")
        }
        switch kind {
        case .ping: self = .ping
        case .status: self = .status
        case .modules: self = .modules
        case .stats: self = .stats
        case .collect: self = .collect
        case .reload:
            var options = ReloadOptions()
            if let cascade = field(.cascade) {
                guard case .bool(let value) = cascade else { throw bad("\"cascade\" must be true or false") }
                options.cascade = value
            }
            if let removed = field(.onRemoved) {
                guard case .string(let text) = removed, let policy = RemovedPolicy(rawValue: text) else {
                    throw bad("\"on_removed\" must be keep, tombstone or refuse")
                }
                options.onRemoved = policy
            }
            if let collision = field(.onCollision) {
                guard case .string(let text) = collision, let policy = CollisionPolicy(userName: text) else {
                    throw bad("\"on_collision\" must be keep-new, keep-old or refuse")
                }
                options.onCollision = policy
            }
            guard case .array(let items)? = field(.modules), !items.isEmpty else {
                throw bad("\"modules\" must be a non-empty array of module names")
            }
            let modules = items.compactMap { item -> String? in if case .string(let s) = item { s } else { nil } }
            guard modules.count == items.count else { throw bad("\"modules\" must be a non-empty array of module names") }
            if let invalid = modules.first(where: { !ModuleLoader.isValidName($0) }) {
                throw bad(RemapError.invalidName(invalid).description)
            }
            self = .reload(modules: modules, options: options)
        case .call:
            guard case .string(let function)? = field(.function), Self.isQualifiedName(function) else {
                throw bad("\"function\" must be a qualified name such as \"game.step\"\(Self.got(field(.function)))")
            }
            var args: [JSONValue] = []
            if let given = field(.args) {
                guard case .array(let items) = given else { throw bad("\"args\" must be an array") }
                args = items
            }
            self = .call(function: function, args: args)
        case .get:
            guard case .string(let name)? = field(.name), Self.isQualifiedName(name) else {
                throw bad("\"name\" must be a qualified name such as \"game.world\"\(Self.got(field(.name)))")
            }
            self = .get(name: name)
        }
    }
}

extension ControlRequest {
    /// A name as `call` and `get` take it: parts separated by dots, none of
    /// them empty, and no control character. Checked before any lookup,
    /// which splits on dots and passes C strings: a NUL once cut
    /// `m.f\u{0}junk` to `m.f`, and empty parts made `m.....f` resolve as
    /// `m.f`.
    public static func isQualifiedName(_ name: String) -> Bool {
        !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty }
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// ", not X" for a message about a string field, X as JSON text (so a
    /// NUL shows as \u0000); nothing for a field of another type.
    fileprivate static func got(_ value: JSONValue?) -> String {
        guard case .string? = value, let value else { return "" }
        return ", not \(value.jsonText)"
    }
}

// MARK: - Replies

/// A reply: `{"ok": true}` with the body's fields beside it, or
/// `{"ok": false, "error": {"code", "message"}}`.
public enum ControlReply<Body: Codable & Sendable>: Codable, Sendable {
    case success(Body)
    case failure(ControlFailure)

    private enum Key: String, CodingKey { case ok, error }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if try container.decodeIfPresent(Bool.self, forKey: .ok) == true {
            self = .success(try Body(from: decoder))
        } else {
            self = .failure(try container.decodeIfPresent(ControlFailure.self, forKey: .error)
                ?? ControlFailure(code: .failed, message: "the host reported a failure"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .success(let body):
            try body.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(true, forKey: .ok)
        case .failure(let failure):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(false, forKey: .ok)
            try container.encode(failure, forKey: .error)
        }
    }
}

/// The code of a failed control request (`{"ok": false, "error": {"code": ...}}`).
/// A struct, not an enum: a client must understand a newer host's codes.
public struct ControlErrorCode: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The line is not one JSON object.
    public static let invalidJSON = Self("invalid_json")
    /// No "request" field.
    public static let badRequest = Self("bad_request")
    /// A "request" this host does not know.
    public static let unknownRequest = Self("unknown_request")
    /// A field of the request has the wrong type or value.
    public static let badArgument = Self("bad_argument")
    /// The line is over `ControlServer.maxLineBytes`.
    public static let lineTooLong = Self("line_too_long")
    /// The reload failed and was rolled back.
    public static let reloadFailed = Self("reload_failed")
    /// Rebuilding a module's sources before a reload failed.
    public static let buildFailed = Self("build_failed")
    /// The function raised an error.
    public static let callFailed = Self("call_failed")
    /// The function crashed; the crash guard kept the host alive.
    public static let callCrashed = Self("call_crashed")
    /// `get` found nothing of that name.
    public static let notFound = Self("not_found")
    /// Every connection slot is running a request; retry.
    public static let busy = Self("busy")
    /// This connection was closed to make room for a new one (it had waited
    /// longest for a request line); its request, if any, did not run.
    public static let evicted = Self("evicted")
    /// The request line did not end within `ControlServer.requestTimeout`
    /// of its first byte; the connection is closed.
    public static let requestTimeout = Self("request_timeout")
    /// The peer's uid may not use this socket.
    public static let forbidden = Self("forbidden")
    /// Anything else.
    public static let failed = Self("failed")
}

/// The error of a failed request.
public struct ControlFailure: Codable, Sendable, Equatable {
    public var code: ControlErrorCode
    public var message: String

    public init(code: ControlErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// What a server replies for an error its request handling threw.
    init(_ error: Error) {
        if case RemapError.requestFailed(let code, let message) = error {
            self.init(code: code, message: message)
        } else {
            self.init(code: .failed, message: "\(error)")
        }
    }
}

/// `ping`: `{"ok": true, "pong": true}`.
public struct PingReply: Codable, Sendable, Equatable {
    public var pong = true
    public init() {}
}

/// `status`.
public struct StatusReply: Codable, Sendable {
    public var pid: Int
    public var uptimeSeconds: Double
    /// The sum of the modules' generations: it grows with every reload.
    public var generation: Int
    /// Reloads committed, whoever asked for them.
    public var reloads: Int
    public var socket: String
    public var modules: [ModuleInfo]
    /// The supervised entry function, if the host has one.
    public var entry: EntryStatus?

    enum CodingKeys: String, CodingKey {
        case pid, uptimeSeconds = "uptime_seconds", generation, reloads, socket, modules, entry
    }
}

/// `modules`.
public struct ModulesReply: Codable, Sendable {
    public var modules: [ModuleInfo]

    public init(modules: [ModuleInfo]) { self.modules = modules }
}

/// `reload`.
public struct ReloadReply: Codable, Sendable {
    public var report: ReloadReport

    public init(report: ReloadReport) { self.report = report }
}

/// `call`.
public struct CallReply: Codable, Sendable {
    public var result: JSONValue

    public init(result: JSONValue) { self.result = result }
}

/// `get`.
public struct GetReply: Codable, Sendable {
    public var value: JSONValue

    public init(value: JSONValue) { self.value = value }
}

/// `stats`.
public struct StatsReply: Codable, Sendable {
    /// Objects and bytes of one type (the largest types, then "(other)").
    public struct TypeLine: Codable, Sendable {
        public var type: String
        public var objects: Int
        public var bytes: Int
    }

    /// The last reload's walk.
    public struct LastReload: Codable, Sendable {
        public var slotsRewritten: Int
        public var objectsVisited: Int
        public var remapMilliseconds: Double
        public var totalMilliseconds: Double

        enum CodingKeys: String, CodingKey {
            case slotsRewritten = "slots_rewritten", objectsVisited = "objects_visited"
            case remapMilliseconds = "remap_ms", totalMilliseconds = "total_ms"
        }
    }

    public var objects: Int
    public var bytes: Int
    public var handles: Int
    public var gcHeapBytes: Int
    public var collections: Int
    public var types: [TypeLine]
    public var retiredLibraries: Int
    public var librariesClosed: Int
    public var lastReload: LastReload?

    enum CodingKeys: String, CodingKey {
        case objects, bytes, handles, gcHeapBytes = "gc_heap_bytes", collections, types
        case retiredLibraries = "retired_libraries", librariesClosed = "libraries_closed", lastReload = "last_reload"
    }
}

/// `collect`.
public struct CollectReply: Codable, Sendable {
    /// Collections that ran (1, or more if another thread collected too).
    public var collections: Int
    public var librariesClosed: Int

    enum CodingKeys: String, CodingKey {
        case collections, librariesClosed = "libraries_closed"
    }
}
