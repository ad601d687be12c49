#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The thin layer over inotify(7) the watcher uses: watches on folders, and
/// their events as (folder, name, mask). Every call that can fail throws
/// `RemapError.system` naming it.
final class Inotify {
    /// The events that say a save is finished, or that the tree changed: a
    /// file closed after writing, renamed into or out of a folder, created or
    /// removed (folders are watched as they appear), its attributes changed
    /// (`touch`, `chmod`, the times `cp -p` sets after writing), or the
    /// watched folder itself gone. IN_MODIFY is left out on purpose: it
    /// fires for each write of a save still under way.
    static let saveEvents: UInt32 = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE
        | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    struct Event {
        /// The watched folder the event is about.
        var folder: String
        /// The entry of the folder; empty for the folder itself.
        var name: String
        var mask: UInt32

        var path: String { name.isEmpty ? folder : folder + "/" + name }
        var isFolder: Bool { mask & UInt32(IN_ISDIR) != 0 }
        /// The kernel's queue overflowed: events were lost.
        var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
    }

    let fd: Int32
    private var folders: [Int32: String] = [:]
    private var descriptors: [String: Int32] = [:]

    init() throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw RemapError.systemCall("inotify_init1") }
    }

    deinit { close(fd) }

    var watchedFolders: Int { descriptors.count }

    func isWatching(_ folder: String) -> Bool { descriptors[folder] != nil }

    /// Watches `folder` for `saveEvents`. Throws ENOSPC when the user's
    /// watch limit (/proc/sys/fs/inotify/max_user_watches) is reached.
    func watch(_ folder: String) throws {
        guard descriptors[folder] == nil else { return }
        let wd = inotify_add_watch(fd, folder, Self.saveEvents)
        guard wd >= 0 else { throw RemapError.systemCall("inotify_add_watch", folder) }
        folders[wd] = folder
        descriptors[folder] = wd
    }

    /// The events queued now; empty if none.
    func read() -> [Event] {
        // Room for many events: each is 16 bytes and its name (NUL padded).
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var events: [Event] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return events }
            var offset = 0
            buffer.withUnsafeBytes { raw in
                // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[]; }
                while offset + 16 <= n {
                    let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                    offset += 16 + length
                    if mask & UInt32(IN_IGNORED) != 0 {
                        forget(wd) // the folder is gone or was unwatched
                        continue
                    }
                    let folder = folders[wd] ?? ""
                    events.append(Event(folder: folder, name: String(decoding: nameBytes, as: UTF8.self), mask: mask))
                }
            }
        }
    }

    private func forget(_ wd: Int32) {
        if let folder = folders.removeValue(forKey: wd) { descriptors[folder] = nil }
    }
}
