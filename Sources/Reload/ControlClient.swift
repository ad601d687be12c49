import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client of a host's control socket: sends one request line, reads one
/// reply line.
public final class ControlClient {
    public let path: String
    private let fd: Int32
    private var reader: LineReader

    public init(path: String = ControlServer.defaultPath()) throws {
        self.path = path
        fd = try Syscalls.connect(to: path)
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

        public var description: String {
            switch self {
            case .server(let code, let message): "\(message) [\(code)]"
            case .protocolError(let message): message
            }
        }
    }

    /// Sends `request` and returns the reply object; a reply with "ok": false
    /// throws `.server`.
    public func send(_ request: [String: Any]) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: request)
        guard Syscalls.writeAll(fd, Array(data) + [UInt8(ascii: "\n")]) else {
            throw Failure.protocolError("the host at \(path) closed the connection")
        }
        guard case .line(let line) = reader.next() else {
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
