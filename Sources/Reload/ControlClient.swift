import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client of a host's control socket: sends one request line, reads one
/// reply line.
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
        } catch let error as SystemError {
            if error.errno == EAGAIN || error.errno == EINPROGRESS {
                throw Failure.timedOut(seconds: timeout ?? 0, path: path)
            }
            throw Failure.unreachable(path: path, reason: error.errno == 0 ? error.detail : String(cString: strerror(error.errno)))
        }
        reader = LineReader(fd: fd, limit: 64 << 20)
    }

    deinit {
        close(fd)
    }

    public enum Failure: Error, CustomStringConvertible {
        /// The host answered {"ok": false, "error": {code, message}}.
        case server(code: String, message: String)
        /// The connection broke or the reply was not JSON.
        case protocolError(String)
        /// No socket at the path, or nothing listening on it.
        case unreachable(path: String, reason: String)
        /// No complete reply within the timeout.
        case timedOut(seconds: Double, path: String)

        public var description: String {
            switch self {
            case .server(let code, let message): "\(message) [\(code)]"
            case .protocolError(let message): message
            case .unreachable(let path, let reason): "cannot reach a host at \(path): \(reason)"
            case .timedOut(let seconds, let path):
                "no reply from the host at \(path) within \(Self.format(seconds)) s (raise it with --timeout)"
            }
        }

        static func format(_ seconds: Double) -> String {
            seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        }
    }

    /// Sends `request` and returns the reply object; a reply with "ok": false
    /// throws `.server`, no reply within `timeout` throws `.timedOut`.
    public func send(_ request: [String: Any]) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: request)
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        if let timeout { Syscalls.setSendTimeout(fd, seconds: timeout) }
        guard Syscalls.writeAll(fd, Array(data) + [UInt8(ascii: "\n")]) else {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timedOut(seconds: timeout ?? 0, path: path) }
            throw Failure.protocolError("the host at \(path) closed the connection")
        }
        reader.deadline = deadline
        let line: [UInt8]
        switch reader.next() {
        case .line(let bytes):
            line = bytes
        case .timedOut:
            throw Failure.timedOut(seconds: timeout ?? 0, path: path)
        case .tooLong:
            throw Failure.protocolError("the host at \(path) sent a reply longer than 64 MiB")
        case .closed:
            throw Failure.protocolError("the host at \(path) closed the connection without a reply")
        }
        guard let reply = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw Failure.protocolError("the host sent a reply that is not a JSON object")
        }
        if reply["ok"] as? Bool != true {
            let error = reply["error"] as? [String: Any]
            throw Failure.server(code: error?["code"] as? String ?? "failed",
                                 message: error?["message"] as? String ?? "the host reported a failure")
        }
        return reply
    }
}
