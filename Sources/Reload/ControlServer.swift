import CRemap
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Serves a running host's control socket: newline-delimited JSON, one request
/// and one reply per line.
///
/// Requests (`{"request": NAME, ...}`): `ping`; `status` (with `entry` when
/// the host supervises an entry function); `modules`;
/// `reload` (`modules`, `cascade`, `on_removed`, `on_collision`); `call`
/// (`function`: "module.name", `args`: JSON values); `get` (`name`:
/// "module.name"); `stats`; `collect`.
/// Replies are `{"ok": true, ...}` or `{"ok": false, "error": {"code", "message"}}`.
/// The requests and replies are the Codable types of ControlProtocol.swift,
/// which `ControlClient` uses too.
///
/// Each connection has its own thread. `ping` and `status` are answered on
/// it without the runtime lock (status from the loader's module snapshot), so
/// they answer even while module code holds the lock. Requests that use the
/// heap run on a pool of executor threads (grown on demand, up to one per
/// connection), each taking the runtime lock for its heap work only: a long
/// `call` on one connection does not queue the requests of others behind it.
/// They still never run at the same time as module code the host's own
/// threads (or a long call) run under the lock: code that holds the lock for
/// long calls `Runtime.safePoint()` in its loops, which lets them in.
///
/// A reply the peer does not read within `sendTimeout` seconds closes the
/// connection, so a client that never reads cannot hold a thread forever.
/// A request line must be complete `requestTimeout` seconds after its first
/// byte, so a client that dribbles bytes cannot either. When every slot is
/// taken, a new connection closes the one that has waited longest for its
/// next request line (idle, or still sending one); only when all of them
/// are running requests is the new one answered `busy`.
///
/// Access: the socket lives in a folder of mode 0700 and is itself 0600; a peer
/// whose uid is neither ours nor root is refused.
public final class ControlServer: @unchecked Sendable {
    public let path: String
    public let loader: ModuleLoader
    public let startedAt = Date()
    /// The most a request line may hold.
    public static let maxLineBytes = 1 << 20
    /// Connections served at once, by default. Past it, a new connection
    /// takes the slot of the one that has waited longest for a request line;
    /// if every connection is running a request, it is answered "busy".
    public static let maxConnections = 64
    /// Seconds a connection may stay silent before it is closed.
    public static let idleTimeout = 60
    /// Seconds a reply may wait for the peer to read it before the connection
    /// is dropped. Set it before `start()`.
    public var sendTimeout: Double = 10
    /// Seconds a request line may take from its first byte to its newline:
    /// past it the peer gets "request_timeout" and the connection is closed.
    /// Long enough for a 1 MiB line from any local client, short enough
    /// that slow senders cannot keep the slots (64 of them sending a byte
    /// every 100 ms once held every slot for as long as they liked). Set it
    /// before `start()`.
    public var requestTimeout: Double = 5
    /// Connections served at once (at most `maxConnections` of them run
    /// requests at the same time). Set it before `start()`.
    public var connectionLimit = ControlServer.maxConnections

    private var listenFD: Int32 = -1
    /// The socket file we bound, so that `stop()` removes it and nothing
    /// that replaced it.
    private var socketIdentity: Syscalls.FileIdentity?
    private let state = NSLock()
    /// The connections being served, by id; guarded by `state`.
    private var open: [Int: Connection] = [:]
    private var nextID = 0
    private var stopped = false
    /// Runs every request; connection threads only read and write bytes.
    private let executor = Executor(name: "remap-control-executor", maxThreads: ControlServer.maxConnections)
    private let allowedUIDs: Set<uid_t>

    /// Runs before a reload request takes the lock: `reloadctl run` rebuilds
    /// the modules' changed sources here. A thrown error fails the request
    /// ("build_failed") and nothing is reloaded.
    public var beforeReload: (@Sendable ([String]) throws -> Void)?

    /// The host's supervised entry function, if any: `status` shows its
    /// state, restarts and last failure. Set it before `start()`.
    public var entry: EntrySupervisor?

    /// The default socket: `$XDG_RUNTIME_DIR/remap/NAME.sock`, else
    /// `/tmp/remap-UID/NAME.sock`; NAME is the protocol's meeting point
    /// (`ControlProtocol.defaultSocketName`) unless a host names its own.
    public static func defaultPath(name: String = ControlProtocol.defaultSocketName) -> String {
        let env = ProcessInfo.processInfo.environment
        if let runtimeDir = env["XDG_RUNTIME_DIR"], !runtimeDir.isEmpty {
            return "\(runtimeDir)/remap/\(name).sock"
        }
        return "\(env["TMPDIR"] ?? "/tmp")/remap-\(getuid())/\(name).sock"
    }

    /// Creates the socket. Its folder must be this user's with mode 0700
    /// (created so if missing), whatever the path. A stale socket left by a
    /// dead host is replaced; a live one, or anything at the path that is
    /// not a socket (a file, a folder, a link), is an error naming it, and
    /// nothing is deleted.
    public init(loader: ModuleLoader, path: String = ControlServer.defaultPath()) throws {
        self.loader = loader
        self.path = path
        allowedUIDs = [getuid(), 0]
        let folder = (path as NSString).deletingLastPathComponent
        try Syscalls.privateDirectory(folder.isEmpty ? "." : folder)
        try Self.removeStaleSocket(path)
        listenFD = try Syscalls.listen(at: path)
        socketIdentity = Syscalls.fileIdentity(path)
    }

    /// Removes what is at `path` only if it is a socket nobody serves.
    /// `reloadctl run --socket PATH` once deleted a regular file at PATH:
    /// the old check asked only whether something was there and whether a
    /// connect to it failed.
    private static func removeStaleSocket(_ path: String) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            if errno == ENOENT { return }
            throw RemapError.systemCall("stat", path)
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw RemapError(kind: .runtime, message: "\(path) exists and is not a socket (\(Syscalls.fileKind(info.st_mode))); "
                + "it was left as it is: remove it yourself or serve another path")
        }
        do {
            let probe = try Syscalls.connect(to: path, timeout: 1)
            close(probe)
        } catch RemapError.system(_, let number, _) where number == ECONNREFUSED {
            // A socket file with no listener: a dead host's. Replace it.
            unlink(path)
            return
        } catch RemapError.system(_, let number, _) where number == EAGAIN || number == EINPROGRESS {
            // A live host with a full backlog.
        }
        throw RemapError(kind: .runtime, message: "another host is serving \(path)")
    }

    deinit {
        stop()
    }

    /// Accepts connections on a background thread until `stop()`.
    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "remap-control"
        thread.start()
    }

    /// Closes the socket and removes its file. Connections being served finish.
    public func stop() {
        state.lock()
        let fd = listenFD
        let wasStopped = stopped
        stopped = true
        listenFD = -1
        state.unlock()
        guard !wasStopped, fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        if let socketIdentity, Syscalls.fileIdentity(path) == socketIdentity { unlink(path) }
    }

    /// One connection's state, guarded by `state`.
    private final class Connection: @unchecked Sendable {
        let fd: Int32
        /// Since when it has waited for a request line (from the accept, or
        /// the end of its last reply); nil while it runs a request.
        var waitingSince: UInt64?
        /// Closed to make room for a newer connection: its thread answers
        /// "evicted" and ends, without running a request.
        var evicted = false

        init(fd: Int32) {
            self.fd = fd
            waitingSince = DispatchTime.now().uptimeNanoseconds
        }
    }

    /// Registers a new connection; if every slot is taken, evicts the one
    /// that has waited longest for a request line. Nil if all are running
    /// requests (the caller answers "busy"). Holding `state`.
    private func admit(_ fd: Int32) -> (id: Int, connection: Connection)? {
        if open.count >= connectionLimit {
            let waiting = open.filter { $0.value.waitingSince != nil }
            guard let (id, victim) = waiting.min(by: { $0.value.waitingSince! < $1.value.waitingSince! }) else { return nil }
            open[id] = nil
            victim.evicted = true
            // Wakes its thread's read; the thread answers and closes the fd.
            shutdown(victim.fd, Int32(SHUT_RD))
        }
        nextID += 1
        let connection = Connection(fd: fd)
        open[nextID] = connection
        return (nextID, connection)
    }

    private static let evictedMessage = "this connection waited longest for a request and was closed to make room for a new one; its request, if any, did not run: reconnect"

    private func acceptLoop() {
        while true {
            state.lock()
            let fd = listenFD
            state.unlock()
            guard fd >= 0 else { return }
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                    continue
                }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC) // builds run by the host must not inherit it
            // The refusals below are written before the peer's request is
            // read; ControlClient reads them even when its own write failed.
            Syscalls.setSendTimeout(client, seconds: 1)
            let uid = Syscalls.peerUID(client)
            guard let uid, allowedUIDs.contains(uid) else {
                let allowed = getuid() == 0 ? "only root may" : "only uid \(getuid()) and root may"
                reply(client, error: .forbidden, "peer uid \(uid.map(String.init) ?? "unknown") may not use this socket (\(allowed))")
                close(client)
                continue
            }
            state.lock()
            let admitted = admit(client)
            state.unlock()
            guard let (id, connection) = admitted else {
                reply(client, error: .busy, "all \(connectionLimit) connections are running requests; retry")
                close(client)
                continue
            }
            let thread = Thread { [self] in
                serve(connection)
                state.lock()
                if open[id] === connection { open[id] = nil }
                state.unlock()
                close(client)
            }
            thread.start()
        }
    }

    /// One connection: a reply for every line, until the peer closes, goes
    /// silent for `idleTimeout`, takes over `requestTimeout` to send a line,
    /// or is evicted. A request runs only if the connection was not evicted
    /// when its line was complete.
    private func serve(_ connection: Connection) {
        let fd = connection.fd
        Syscalls.setReceiveTimeout(fd, seconds: Double(Self.idleTimeout))
        Syscalls.setSendTimeout(fd, seconds: sendTimeout)
        var reader = LineReader(fd: fd, limit: Self.maxLineBytes, lineTimeout: requestTimeout)
        func evicted() -> Bool {
            state.lock()
            defer { state.unlock() }
            return connection.evicted
        }
        while true {
            let next = reader.next()
            if evicted() {
                reply(fd, error: .evicted, Self.evictedMessage)
                return
            }
            switch next {
            case .closed, .timedOut:
                return
            case .lineTimedOut:
                reply(fd, error: .requestTimeout, "a request line must end within \(requestTimeout) s of its first byte")
                return
            case .tooLong:
                guard reply(fd, error: .lineTooLong, "a request line may hold at most \(Self.maxLineBytes) bytes") else { return }
            case .line(let bytes):
                if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                state.lock()
                let running = !connection.evicted
                if running { connection.waitingSince = nil }
                state.unlock()
                guard running else {
                    reply(fd, error: .evicted, Self.evictedMessage)
                    return
                }
                let reply = handle(bytes)
                guard send(fd, reply) else { return }
                state.lock()
                connection.waitingSince = DispatchTime.now().uptimeNanoseconds
                state.unlock()
            }
        }
    }

    // MARK: - Requests

    /// Parses and runs one request line; returns the reply line. Requests
    /// that use the heap run on the executor pool.
    func handle(_ line: [UInt8]) -> [UInt8] {
        let request: ControlRequest
        do {
            request = try ControlRequest(line: line)
        } catch {
            return Self.encode(ControlReply<PingReply>.failure(ControlFailure(error)))
        }
        if request.isLockFree { return answer(request) }
        return executor.run { [self] in answer(request) }
    }

    private func answer(_ request: ControlRequest) -> [UInt8] {
        do {
            return try run(request)
        } catch {
            return Self.encode(ControlReply<PingReply>.failure(ControlFailure(error)))
        }
    }

    /// Runs a request; returns its encoded reply. Errors a user should act on
    /// are `.requestFailed` with the code the protocol documents; anything
    /// else is a "failed" reply with the error's description.
    private func run(_ request: ControlRequest) throws -> [UInt8] {
        let runtime = loader.runtime
        switch request {
        case .ping:
            return Self.success(PingReply())
        case .status:
            return Self.success(status())
        case .modules:
            return Self.success(try runtime.withLock { ModulesReply(modules: loader.loadedModules) })
        case .reload(let modules, let options):
            do {
                try beforeReload?(modules)
            } catch {
                throw RemapError.requestFailed(code: .buildFailed, message: "\(error)")
            }
            return Self.success(try runtime.withLock {
                do {
                    return ReloadReply(report: try loader.reload(modules, options: options))
                } catch let error as RemapError where error.isLoadFailure {
                    throw RemapError.requestFailed(code: .reloadFailed, message: error.description)
                }
            })
        case .call(let function, let args):
            return Self.success(try runtime.withLock {
                do {
                    return CallReply(result: try call(function, args))
                } catch RemapError.callCrashed(_, _, let message) {
                    throw RemapError.requestFailed(code: .callCrashed, message: "\(function) \(message)")
                } catch let error as RemapError where error.isCore {
                    throw RemapError.requestFailed(code: .callFailed, message: error.description)
                }
            })
        case .get(let name):
            return Self.success(try runtime.withLock {
                do {
                    return GetReply(value: JSONValue(rendering: try loader.resolve(name)))
                } catch let error as RemapError where error.isCore {
                    throw RemapError.requestFailed(code: .notFound, message: error.description)
                }
            })
        case .stats:
            return Self.success(try runtime.withLock { stats() })
        case .collect:
            return Self.success(try runtime.withLock {
                let before = rm_collection_count()
                let closed = loader.collect()
                return CollectReply(collections: rm_collection_count() - before, librariesClosed: closed)
            })
        }
    }

    /// Calls `function` under the crash guard (a function that crashes fails
    /// the request, not the host) with `args` made into heap objects.
    /// Holding the lock.
    private func call(_ function: String, _ args: [JSONValue]) throws -> JSONValue {
        // The converted arguments are new objects: hold them in a list the
        // collector sees while the next ones are made.
        let held = try Ref(try check(rm_list_new(args.count)))
        for arg in args { try check(rm_list_append(held.object, try arg.makeObject())) }
        let values = (0..<args.count).compactMap { rm_list_get(held.object, $0) }
        return JSONValue(rendering: try loader.callGuarded(function, values))
    }

    /// Without the runtime lock: from the loader's snapshot and our counters.
    private func status() -> StatusReply {
        // Every committed reload counts, a watcher's included: the loader
        // keeps the count, readable without the runtime lock like its
        // module snapshot.
        let modules = loader.moduleSnapshot
        return StatusReply(pid: Int(getpid()), uptimeSeconds: Date().timeIntervalSince(startedAt),
                           generation: modules.map(\.generation).reduce(0, +), reloads: loader.reloadCount,
                           socket: path, modules: modules, entry: entry?.status)
    }

    private func stats() -> StatsReply {
        var heap = rm_heap_stats()
        rm_heap_stats_get(&heap)
        let types = withUnsafeBytes(of: &heap.types) { raw in
            Array(raw.bindMemory(to: rm_type_stats.self).prefix(heap.ntypes))
        }
        let last = loader.lastReloadReport.map {
            StatsReply.LastReload(slotsRewritten: $0.slotsRewritten, objectsVisited: $0.objectsVisited,
                                  remapMilliseconds: $0.phases.remap, totalMilliseconds: $0.phases.total)
        }
        return StatsReply(
            objects: heap.objects, bytes: heap.bytes, handles: heap.handles, gcHeapBytes: heap.gc_heap_bytes,
            collections: heap.collections,
            types: types.map { line in
                StatsReply.TypeLine(type: line.type.map { String(cString: rm_type_name($0)) } ?? "(other)",
                                    objects: line.objects, bytes: line.bytes)
            },
            retiredLibraries: loader.retiredLibraryCount, librariesClosed: loader.librariesClosed, lastReload: last)
    }

    // MARK: - Replies

    private static func success<Body: Codable & Sendable>(_ body: Body) -> [UInt8] {
        encode(ControlReply.success(body))
    }

    private static func encode<Body>(_ reply: ControlReply<Body>) -> [UInt8] {
        let data = (try? ControlProtocol.encoder.encode(reply))
            ?? Data(#"{"error":{"code":"failed","message":"reply could not be encoded"},"ok":false}"#.utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }

    @discardableResult
    private func send(_ fd: Int32, _ line: [UInt8]) -> Bool {
        Syscalls.writeAll(fd, line)
    }

    @discardableResult
    private func reply(_ fd: Int32, error code: ControlErrorCode, _ message: String) -> Bool {
        send(fd, Self.encode(ControlReply<PingReply>.failure(ControlFailure(code: code, message: message))))
    }
}
