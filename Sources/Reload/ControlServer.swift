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
///
/// Access: the socket lives in a folder of mode 0700 and is itself 0600; a peer
/// whose uid is neither ours nor root is refused.
public final class ControlServer: @unchecked Sendable {
    public let path: String
    public let loader: ModuleLoader
    public let startedAt = Date()
    /// The most a request line may hold.
    public static let maxLineBytes = 1 << 20
    /// Connections served at once; more are answered "busy" and closed.
    public static let maxConnections = 64
    /// Seconds a connection may stay silent before it is closed.
    public static let idleTimeout = 60
    /// Seconds a reply may wait for the peer to read it before the connection
    /// is dropped. Set it before `start()`.
    public var sendTimeout: Double = 10

    private var listenFD: Int32 = -1
    private let state = NSLock()
    private var connections = 0
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
    /// `/tmp/remap-UID/NAME.sock`.
    public static func defaultPath(name: String = "reloadctl") -> String {
        let env = ProcessInfo.processInfo.environment
        if let runtimeDir = env["XDG_RUNTIME_DIR"], !runtimeDir.isEmpty {
            return "\(runtimeDir)/remap/\(name).sock"
        }
        return "\(env["TMPDIR"] ?? "/tmp")/remap-\(getuid())/\(name).sock"
    }

    /// Creates the socket (its folder with mode 0700 if needed; a stale socket
    /// file left by a dead host is replaced, a live one is an error).
    public init(loader: ModuleLoader, path: String = ControlServer.defaultPath()) throws {
        self.loader = loader
        self.path = path
        allowedUIDs = [getuid(), 0]
        try Syscalls.privateDirectory((path as NSString).deletingLastPathComponent)
        if FileManager.default.fileExists(atPath: path) {
            if let probe = try? Syscalls.connect(to: path) {
                close(probe)
                throw RuntimeError(kind: .runtime, message: "another host is serving \(path)")
            }
            unlink(path)
        }
        listenFD = try Syscalls.listen(at: path)
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
        unlink(path)
    }

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
            guard let uid = Syscalls.peerUID(client), allowedUIDs.contains(uid) else {
                reply(client, error: "forbidden", "peer uid is not allowed on this socket")
                close(client)
                continue
            }
            state.lock()
            let busy = connections >= Self.maxConnections
            if !busy { connections += 1 }
            state.unlock()
            if busy {
                reply(client, error: "busy", "too many connections (\(Self.maxConnections)); retry")
                close(client)
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                close(client)
                state.lock()
                connections -= 1
                state.unlock()
            }
            thread.start()
        }
    }

    /// One connection: a reply for every line, until the peer closes.
    private func serve(_ fd: Int32) {
        Syscalls.setReceiveTimeout(fd, seconds: Double(Self.idleTimeout))
        Syscalls.setSendTimeout(fd, seconds: sendTimeout)
        var reader = LineReader(fd: fd, limit: Self.maxLineBytes)
        while true {
            switch reader.next() {
            case .closed, .timedOut:
                return
            case .tooLong:
                guard reply(fd, error: "line_too_long", "a request line may hold at most \(Self.maxLineBytes) bytes") else { return }
            case .line(let bytes):
                if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                let reply = handle(bytes)
                guard send(fd, reply) else { return }
            }
        }
    }

    // MARK: - Requests

    struct RequestError: Error {
        let code: String
        let message: String
    }

    /// Requests answered on the connection's thread: they touch neither the
    /// heap nor the runtime lock.
    static let lockFree: Set<String> = ["ping", "status"]

    /// Parses and runs one request; returns the reply object. Requests that
    /// use the heap run on the executor pool.
    func handle(_ line: [UInt8]) -> [String: Any] {
        let request: [String: Any]
        let name: String
        do {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw RequestError(code: "invalid_json", message: "a request is one JSON object per line")
            }
            request = parsed
            guard let requested = parsed["request"] as? String else {
                throw RequestError(code: "bad_request", message: "missing \"request\" (\(Self.requestNames))")
            }
            name = requested
        } catch {
            return Self.failure(error)
        }
        if Self.lockFree.contains(name) { return answer(name, request) }
        return executor.run { [self] in answer(name, request) }
    }

    static let requestNames = "ping, status, modules, reload, call, get, stats, collect"

    private func answer(_ name: String, _ request: [String: Any]) -> [String: Any] {
        do {
            var result = try run(name, request)
            result["ok"] = true
            return result
        } catch {
            return Self.failure(error)
        }
    }

    private static func failure(_ error: Error) -> [String: Any] {
        if let error = error as? RequestError {
            return ["ok": false, "error": ["code": error.code, "message": error.message]]
        }
        return ["ok": false, "error": ["code": "failed", "message": "\(error)"]]
    }

    private func run(_ name: String, _ request: [String: Any]) throws -> [String: Any] {
        switch name {
        case "ping":
            return ["pong": true]
        case "status":
            return try status()
        case "modules":
            return try loader.runtime.withLock { ["modules": try encode(loader.loadedModules)] }
        case "reload":
            let options = try reloadOptions(request)
            guard let modules = request["modules"] as? [String], !modules.isEmpty else {
                throw RequestError(code: "bad_argument", message: "\"modules\" must be a non-empty array of module names")
            }
            do {
                try beforeReload?(modules)
            } catch {
                throw RequestError(code: "build_failed", message: "\(error)")
            }
            return try loader.runtime.withLock {
                do {
                    let report = try loader.reload(modules, options: options)
                    return ["report": try encode(report)]
                } catch let error as ReloadError {
                    throw RequestError(code: "reload_failed", message: error.description)
                }
            }
        case "call":
            guard let function = request["function"] as? String else {
                throw RequestError(code: "bad_argument", message: "\"function\" must be a qualified name such as \"game.step\"")
            }
            guard let args = (request["args"] ?? [Any]()) as? [Any] else {
                throw RequestError(code: "bad_argument", message: "\"args\" must be an array")
            }
            return try loader.runtime.withLock {
                do {
                    // The converted arguments are new objects: hold them in a
                    // list the collector sees while the next ones are made.
                    let held = try Ref(try check(rm_list_new(args.count)))
                    for arg in args { try check(rm_list_append(held.object, try JSONValues.object(from: arg))) }
                    let values = (0..<args.count).map { rm_list_get(held.object, $0)! }
                    // Under the crash guard: a function that crashes fails
                    // this request, not the host.
                    let result = try loader.callGuarded(function, values)
                    return ["result": JSONValues.json(from: result)]
                } catch let crash as CallCrash {
                    throw RequestError(code: "call_crashed", message: "\(function) \(crash.message)")
                } catch let error as JSONValues.Unsupported {
                    throw RequestError(code: "bad_argument", message: error.description)
                } catch let error as RuntimeError {
                    throw RequestError(code: "call_failed", message: error.description)
                }
            }
        case "get":
            guard let qualified = request["name"] as? String else {
                throw RequestError(code: "bad_argument", message: "\"name\" must be a qualified name such as \"game.world\"")
            }
            return try loader.runtime.withLock {
                do {
                    return ["value": JSONValues.json(from: try loader.resolve(qualified))]
                } catch let error as RuntimeError {
                    throw RequestError(code: "not_found", message: error.description)
                }
            }
        case "stats":
            return try loader.runtime.withLock { stats() }
        case "collect":
            return try loader.runtime.withLock {
                let before = rm_collection_count()
                let closed = loader.collect()
                return ["collections": rm_collection_count() - before, "libraries_closed": closed]
            }
        default:
            throw RequestError(code: "unknown_request", message: "unknown request '\(name)' (\(Self.requestNames))")
        }
    }

    private func reloadOptions(_ request: [String: Any]) throws -> ReloadOptions {
        var options = ReloadOptions()
        if let cascade = request["cascade"] {
            guard let value = cascade as? Bool else { throw RequestError(code: "bad_argument", message: "\"cascade\" must be true or false") }
            options.cascade = value
        }
        if let removed = request["on_removed"] {
            guard let text = removed as? String, let policy = RemovedPolicy(rawValue: text) else {
                throw RequestError(code: "bad_argument", message: "\"on_removed\" must be keep, tombstone or refuse")
            }
            options.onRemoved = policy
        }
        if let collision = request["on_collision"] {
            guard let text = collision as? String, let policy = CollisionPolicy(userName: text) else {
                throw RequestError(code: "bad_argument", message: "\"on_collision\" must be keep-new, keep-old or refuse")
            }
            options.onCollision = policy
        }
        return options
    }

    /// Without the runtime lock: from the loader's snapshot and our counters.
    private func status() throws -> [String: Any] {
        // Every committed reload counts, a watcher's included: the loader
        // keeps the count, readable without the runtime lock like its
        // module snapshot.
        let reloads = loader.reloadCount
        let modules = loader.moduleSnapshot
        var result: [String: Any] = [
            "pid": Int(getpid()),
            "uptime_seconds": Date().timeIntervalSince(startedAt),
            "generation": modules.map(\.generation).reduce(0, +),
            "reloads": reloads,
            "socket": path,
            "modules": try encode(modules),
        ]
        if let entry { result["entry"] = try encode(entry.status) }
        return result
    }

    private func stats() -> [String: Any] {
        var heap = rm_heap_stats()
        rm_heap_stats_get(&heap)
        let types = withUnsafeBytes(of: &heap.types) { raw in
            Array(raw.bindMemory(to: rm_type_stats.self).prefix(heap.ntypes))
        }
        var result: [String: Any] = [
            "objects": heap.objects,
            "bytes": heap.bytes,
            "handles": heap.handles,
            "gc_heap_bytes": heap.gc_heap_bytes,
            "collections": heap.collections,
            "types": types.map { line -> [String: Any] in
                ["type": line.type.map { String(cString: rm_type_name($0)) } ?? "(other)",
                 "objects": line.objects, "bytes": line.bytes]
            },
            "retired_libraries": loader.retiredLibraryCount,
            "libraries_closed": loader.librariesClosed,
        ]
        if let last = loader.lastReloadReport {
            result["last_reload"] = ["slots_rewritten": last.slotsRewritten, "objects_visited": last.objectsVisited,
                                     "remap_ms": last.phases.remap, "total_ms": last.phases.total]
        }
        return result
    }

    private func encode<T: Encodable>(_ value: T) throws -> Any {
        try JSONSerialization.jsonObject(with: JSONEncoder.remap.encode(value))
    }

    // MARK: - Replies

    @discardableResult
    private func send(_ fd: Int32, _ reply: [String: Any]) -> Bool {
        let data = (try? JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys]))
            ?? Data(#"{"ok":false,"error":{"code":"failed","message":"reply could not be encoded"}}"#.utf8)
        return Syscalls.writeAll(fd, Array(data) + [UInt8(ascii: "\n")])
    }

    @discardableResult
    private func reply(_ fd: Int32, error code: String, _ message: String) -> Bool {
        send(fd, ["ok": false, "error": ["code": code, "message": message]])
    }
}
