#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Tells the watcher when files may have changed: inotify events on the
/// folders it is given, as soon as a save is finished; or, where inotify
/// cannot be used (no inotify, or the user's watch limit reached), a tick
/// every `pollInterval`, after which every file must be looked at. Which of
/// the two is in use is logged once.
///
/// An event only says where to look: what changed is decided by content
/// hashes (ContentHashes), so an event for a file whose content is the same
/// (a touch) costs a hash and builds nothing.
public final class FileEvents: @unchecked Sendable {
    public enum Change: Equatable {
        /// These files (or folders) had events.
        case paths(Set<String>)
        /// Anything may have changed: a poll tick, or the kernel dropped
        /// events.
        case everything
    }

    /// How long the polling fallback sleeps between looks: a save is seen
    /// this much later, at worst, than with events.
    public static let pollInterval = 0.2

    private var inotify: Inotify?
    /// A pipe `wake()` writes to, so a `wait` returns before its timeout.
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private let log: (String) -> Void

    /// `polling`: the reason to poll from the start (nil: use inotify if it
    /// can be).
    public init(polling reason: String? = nil, log: @escaping (String) -> Void) {
        self.log = log
        var fds: [Int32] = [0, 0]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            }
            wakeRead = fds[0]
            wakeWrite = fds[1]
        }
        if let reason {
            fallBack(reason)
        } else {
            do {
                inotify = try Inotify()
            } catch {
                fallBack("\(error)")
            }
        }
    }

    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    /// True while events are used (false once polling).
    public var usesEvents: Bool { inotify != nil }

    private func fallBack(_ reason: String) {
        inotify = nil
        log("polling for changes every \(Int(Self.pollInterval * 1000)) ms: \(reason)")
    }

    /// Watches each of `folders` not yet watched. Once the watch limit is
    /// reached, falls back to polling (logged), as events for some folders
    /// and not others would miss saves.
    public func watch(_ folders: some Sequence<String>) {
        guard let inotify else { return }
        for folder in folders where !inotify.isWatching(folder) {
            do {
                try inotify.watch(folder)
            } catch RemapError.system(_, let number, _) where number == ENOENT {
                continue // gone since it was listed
            } catch RemapError.system(_, let number, _) where number == ENOSPC {
                fallBack("cannot watch \(folder): the user's inotify watch limit is reached "
                         + "(raise it with sysctl fs.inotify.max_user_watches)")
                return
            } catch {
                fallBack("cannot watch \(folder): \(error)")
                return
            }
        }
    }

    /// Waits up to `timeout` seconds (nil: as long as it takes) for a change
    /// or a `wake()`; returns the change, or nil if there was none. Events
    /// already queued are all taken at once, so a burst of them is one
    /// change.
    public func wait(timeout: Double?) -> Change? {
        var polls = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        var limit = timeout
        if let inotify {
            polls.append(pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0))
        } else {
            limit = min(timeout ?? Self.pollInterval, Self.pollInterval)
        }
        let ms = limit.map { Int32(clamping: Int(($0 * 1000).rounded(.up))) } ?? -1
        let ready = poll(&polls, nfds_t(polls.count), ms)
        if polls[0].revents != 0 { drainWakes() }
        guard let inotify else {
            // Polling: a tick that passed is a look at everything.
            return ready == 0 && limit == Self.pollInterval ? .everything : nil
        }
        guard ready > 0, polls[1].revents != 0 else { return nil }
        var paths = Set<String>()
        for event in inotify.read() {
            if event.isOverflow || event.name.isEmpty { return .everything }
            // Hidden entries (editor swap files, .remap-build) are no modules' inputs.
            if event.name.hasPrefix(".") { continue }
            paths.insert(event.path)
        }
        return paths.isEmpty ? nil : .paths(paths)
    }

    /// Makes a `wait` under way (or the next one) return at once.
    public func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func drainWakes() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while bytes.withUnsafeMutableBytes({ Glibc.read(wakeRead, $0.baseAddress, $0.count) }) > 0 {}
    }
}
