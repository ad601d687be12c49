#if canImport(Glibc)
import Glibc
#endif
import CRemap
import CRemapShims
import Foundation

/// The thin layer over the socket calls the control server and client use:
/// every call that can fail throws `RemapError.system` naming it.
enum Syscalls {
    /// A sockaddr_un for `path`, or nil if the path is too long for one.
    static func address(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    /// A new Unix stream socket and the address of `path`, handed to `body`
    /// (bind or connect); the socket is closed if `body` fails.
    private static func unixSocket(_ call: String, _ path: String,
                                   _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) throws -> Int32 {
        guard var addr = address(path) else { throw RemapError.systemCall(call, "\(path): path too long") }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RemapError.systemCall("socket") }
        let result = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let error = RemapError.systemCall(call, path)
            close(fd)
            throw error
        }
        return fd
    }

    static func listen(at path: String) throws -> Int32 {
        let fd = try unixSocket("bind", path) { bind($0, $1, $2) }
        guard chmod(path, 0o600) == 0, Glibc.listen(fd, 128) == 0 else {
            let error = RemapError.systemCall("listen", path)
            close(fd)
            throw error
        }
        return fd
    }

    /// Connects to the socket at `path`. With a timeout, a connect to a host
    /// whose backlog is full gives up after it (a Unix socket's connect
    /// waits as long as its send timeout), and so do later sends.
    static func connect(to path: String, timeout: Double? = nil) throws -> Int32 {
        try unixSocket("connect", path) { fd, addr, len in
            if let timeout { setSendTimeout(fd, seconds: timeout) }
            return Glibc.connect(fd, addr, len)
        }
    }

    /// The uid of the process at the other end of a Unix socket.
    static func peerUID(_ fd: Int32) -> uid_t? {
        var uid: UInt32 = 0
        guard remap_shim_peer_uid(fd, &uid) == 0 else { return nil }
        return uid
    }

    static func setReceiveTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(seconds)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A send that cannot make progress for this long fails (EAGAIN), so a
    /// peer that never reads cannot hold the writer forever.
    static func setSendTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(seconds)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `data`; false if the peer is gone.
    @discardableResult
    static func writeAll(_ fd: Int32, _ data: [UInt8]) -> Bool {
        var offset = 0
        while offset < data.count {
            let n = data[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// What identifies a file across renames: its device and inode.
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// The identity of the file at `path` itself (a link is not followed),
    /// or nil if there is none.
    static func fileIdentity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// "a regular file", "a folder", ... for a `st_mode`, in error messages.
    static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a folder"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "a file of unknown type"
        }
    }

    /// A folder that only this user can enter: created with mode 0700 if
    /// missing; refused if it exists with another owner or wider permissions.
    static func privateDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw RemapError.systemCall("mkdir", path) }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw RemapError.systemCall("stat", path) }
        guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o077 == 0 else {
            throw RemapError(kind: .runtime, message: "\(path) must be a folder of this user with mode 0700")
        }
    }
}

extension timeval {
    init(_ seconds: Double) {
        let whole = max(0, seconds.rounded(.down))
        self.init(tv_sec: Int(whole), tv_usec: Int((max(0, seconds) - whole) * 1_000_000))
    }
}

/// Reads newline-delimited messages from a socket, refusing lines longer
/// than a limit.
///
/// Linear in what it reads: each byte is looked at once for a newline (the
/// scan resumes where the last one stopped), and consumed lines are dropped
/// by moving a start offset, the buffer being compacted only when most of it
/// is consumed.
struct LineReader {
    enum Line {
        case line([UInt8])
        case tooLong
        case closed
        /// No complete line before the deadline (or the socket's receive
        /// timeout).
        case timedOut
        /// A line began but did not end within `lineTimeout`.
        case lineTimedOut
    }

    let fd: Int32
    let limit: Int
    /// A reply must have arrived by then (client side); nil: wait as long as
    /// the socket's own receive timeout allows.
    var deadline: Date?
    /// Seconds a line may take from the moment its first byte is seen to its
    /// newline (server side); nil: no limit. Silence before a line's first
    /// byte is the receive timeout's business, not this one's.
    let lineTimeout: Double?
    /// When the first byte of the pending line was seen.
    private var lineStarted: Date?
    private var buffer: [UInt8] = []
    /// Where the unread part of `buffer` starts.
    private var start = 0
    /// Bytes from `start` up to here hold no newline.
    private var scanned = 0
    private var discarding = false

    init(fd: Int32, limit: Int, deadline: Date? = nil, lineTimeout: Double? = nil) {
        self.fd = fd
        self.limit = limit
        self.deadline = deadline
        self.lineTimeout = lineTimeout
    }

    /// The earlier of `deadline` and the pending line's own deadline.
    private mutating func waitUntil() -> Date? {
        guard let lineTimeout, discarding || buffer.count > start else {
            lineStarted = nil
            return deadline
        }
        let started = lineStarted ?? Date()
        lineStarted = started
        let lineDeadline = started.addingTimeInterval(lineTimeout)
        return deadline.map { min($0, lineDeadline) } ?? lineDeadline
    }

    mutating func next() -> Line {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                // The length is checked here too: the newline may arrive in
                // the same read that crosses the limit.
                let tooLong = newline - start > limit
                let line = Array(buffer[start..<newline])
                start = newline + 1
                scanned = start
                compact()
                lineStarted = nil
                if discarding {
                    discarding = false
                    continue
                }
                return tooLong ? .tooLong : .line(line)
            }
            scanned = buffer.count
            if buffer.count - start > limit {
                // Drop the rest of this line as it arrives.
                buffer.removeAll(keepingCapacity: true)
                start = 0
                scanned = 0
                if !discarding {
                    discarding = true
                    return .tooLong
                }
            }
            if let until = waitUntil() {
                let ms = Int32(clamping: Int((until.timeIntervalSinceNow * 1000).rounded(.up)))
                let expired: Line = until == deadline ? .timedOut : .lineTimedOut
                guard ms > 0 else { return expired }
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, ms)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 { return expired }
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .timedOut }
            guard n > 0 else { return .closed }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Drops the consumed bytes once they are at least half the buffer, so
    /// each byte is moved at most once more on average.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
            scanned = 0
        } else if start > 65536 && start * 2 >= buffer.count {
            buffer.removeSubrange(..<start)
            scanned -= start
            start = 0
        }
    }
}
