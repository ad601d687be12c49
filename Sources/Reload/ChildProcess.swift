#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs a command to its end and collects what it prints: posix_spawnp,
/// one pipe for stdout and stderr, waitpid. The module compiler runs
/// through it rather than Foundation's `Process`, whose `waitUntilExit()`
/// polls a run loop in 50 ms steps: watch-bench measured the same gcc run
/// at about twice its CPU time through it (205 ms wall for 103 ms of CPU),
/// and that wait came on top of every save.
///
/// The child leads a process group of its own (so `kill(-pid, ...)` stops
/// it and what it started: cc1, as, ld) and starts with no signal blocked
/// (reloadctl blocks SIGINT and SIGTERM in its threads to take them with
/// sigwait).
enum ChildProcess {
    struct Result {
        /// The exit status, or 128 + the signal that ended it.
        var status: Int32
        var output: Data
    }

    /// Runs `arguments` (the first found on PATH). `started` gets the
    /// child's pid (its process group) as soon as it runs; `ending` is
    /// called once its output has ended, before it is reaped (until then
    /// its pid cannot name another process). Throws `RemapError.system` if
    /// it cannot be started (ENOENT: no such command).
    static func run(_ arguments: [String], started: (pid_t) -> Void = { _ in },
                    ending: () -> Void = {}) throws -> Result {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RemapError.systemCall("pipe") }
        let (reader, writer) = (fds[0], fds[1])
        _ = fcntl(reader, F_SETFD, FD_CLOEXEC)
        defer { close(reader) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writer, 1)
        posix_spawn_file_actions_adddup2(&actions, writer, 2)
        posix_spawn_file_actions_addclose(&actions, writer)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        close(writer)
        guard spawned == 0 else {
            errno = spawned
            throw RemapError.systemCall("posix_spawnp", arguments[0])
        }
        started(pid)

        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(reader, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            output.append(contentsOf: buffer[0..<n])
        }
        ending()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // The <sys/wait.h> macros: the low 7 bits are the signal, 0 if it exited.
        let signal = status & 0x7f
        return Result(status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, output: output)
    }
}
