import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client of a host's control socket: sends one `ControlRequest` line,
/// reads and decodes one reply line (ControlProtocol.swift).
public final class ControlClient {
    public let path: String
    /// Seconds a request may take, from sending it to the end of its reply;
    /// nil: no limit.
    public var timeout: Double?
    private let fd: Int32
    private var reader: LineReader

    /// Connects to the host at `path`; throws `.unreachable` if there is no
    /// socket or nothing serves it. With a timeout, connecting is bounded by
    /// it too.
    public init(path: String = ControlServer.defaultPath(), timeout: Double? = nil) throws {
        self.path = path
        self.timeout = timeout
        do {
            fd = try Syscalls.connect(to: path, timeout: timeout)
        } catch RemapError.system(_, let number, let detail) {
            if number == EAGAIN || number == EINPROGRESS {
                throw RemapError.timedOut(seconds: timeout ?? 0, path: path)
            }
            throw RemapError.unreachable(path: path, reason: number == 0 ? detail : String(cString: strerror(number)))
        }
        reader = LineReader(fd: fd, limit: 64 << 20)
    }

    deinit {
        close(fd)
    }

    @available(*, deprecated, renamed: "RemapError")
    public typealias Failure = RemapError

    /// Sends `request` and returns the reply's body, decoded as `Body`: a
    /// reply with "ok": false throws `.requestFailed(code:message:)`, no
    /// reply within `timeout` throws `.timedOut`, a reply that is not
    /// JSON or not a `Body` throws `.protocolError`.
    public func send<Body: Codable & Sendable>(_ request: ControlRequest, expecting _: Body.Type = Body.self) throws -> Body {
        let data: Data
        do {
            data = try ControlProtocol.encoder.encode(request)
        } catch {
            throw RemapError.protocolError("the request could not be encoded: \(error)")
        }
        let line = try exchange(Array(data))
        let reply: ControlReply<Body>
        do {
            reply = try ControlProtocol.decoder.decode(ControlReply<Body>.self, from: Data(line))
        } catch {
            guard (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] else {
                throw RemapError.protocolError("the host sent a reply that is not a JSON object")
            }
            throw RemapError.protocolError("the host sent a reply to \(request.name) this client does not understand: \(error)")
        }
        switch reply {
        case .success(let body): return body
        case .failure(let failure): throw RemapError.requestFailed(code: failure.code, message: failure.message)
        }
    }

    public func ping() throws { _ = try send(.ping, expecting: PingReply.self) }
    public func status() throws -> StatusReply { try send(.status) }
    public func modules() throws -> [ModuleInfo] { try send(.modules, expecting: ModulesReply.self).modules }
    public func reload(_ modules: [String], options: ReloadOptions = ReloadOptions()) throws -> ReloadReport {
        try send(.reload(modules: modules, options: options), expecting: ReloadReply.self).report
    }
    public func call(_ function: String, _ args: [JSONValue] = []) throws -> JSONValue {
        try send(.call(function: function, args: args), expecting: CallReply.self).result
    }
    public func get(_ name: String) throws -> JSONValue { try send(.get(name: name), expecting: GetReply.self).value }
    public func stats() throws -> StatsReply { try send(.stats) }
    public func collect() throws -> CollectReply { try send(.collect) }

    /// Sends a request built by hand and returns the reply object.
    @available(*, deprecated, message: "send a ControlRequest: send(.ping, expecting: PingReply.self), or ping(), status(), ...")
    public func send(_ request: [String: Any]) throws -> [String: Any] {
        let line = try exchange(Array(try JSONSerialization.data(withJSONObject: request)))
        guard let reply = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw RemapError.protocolError("the host sent a reply that is not a JSON object")
        }
        if reply["ok"] as? Bool != true {
            let error = reply["error"] as? [String: Any]
            throw RemapError.requestFailed(code: ControlErrorCode(rawValue: error?["code"] as? String ?? "failed"),
                                           message: error?["message"] as? String ?? "the host reported a failure")
        }
        return reply
    }

    /// Writes one request line and reads one reply line, within `timeout`.
    ///
    /// A host that refuses a connection (`busy`, `forbidden`) writes its
    /// reply at once and closes without reading the request, so the write
    /// may fail (EPIPE) with the reply already waiting: the reply is read
    /// either way, and only if there is none is the connection reported
    /// closed. (Giving up on the failed write once turned 8 of 10 `busy`
    /// replies into "closed the connection".)
    private func exchange(_ request: [UInt8]) throws -> [UInt8] {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        if let timeout { Syscalls.setSendTimeout(fd, seconds: timeout) }
        let sent = Syscalls.writeAll(fd, request + [UInt8(ascii: "\n")])
        if !sent && (errno == EAGAIN || errno == EWOULDBLOCK) {
            throw RemapError.timedOut(seconds: timeout ?? 0, path: path)
        }
        reader.deadline = deadline
        switch reader.next() {
        case .line(let bytes):
            return bytes
        case .timedOut, .lineTimedOut:
            throw RemapError.timedOut(seconds: timeout ?? 0, path: path)
        case .tooLong:
            throw RemapError.protocolError("the host at \(path) sent a reply longer than 64 MiB")
        case .closed:
            throw RemapError.protocolError("the host at \(path) closed the connection \(sent ? "without a reply" : "before the request was sent")")
        }
    }
}
