#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The content hashes of files, read again only when a file may have changed.
/// Thread-safe: the builds of several modules run at once and share it.
///
/// A cached hash is reused while the file's stamp (device, inode, size,
/// modification time and change time) is the one it was taken with. The
/// change time is what makes this safe where (modification time, size) was
/// not: `cp -p`, `tar x` and `touch -r` set the modification time back, but
/// the kernel sets the change time to now on every write and every
/// attribute change, and no call can set it back.
///
/// Timestamps are as coarse as the kernel's clock tick (up to 10 ms), so a
/// write in the same tick as the hash could leave the stamp unchanged. A
/// file whose change time is that close to when it was hashed is "racy"
/// (git's term for its index) and is read again every time.
final class ContentHashes: @unchecked Sendable {
    /// What `stat` says about a file; equal stamps mean equal content unless
    /// the file is racy.
    struct Stamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec
        var changed: timespec

        static func == (a: Stamp, b: Stamp) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }

        /// The stamp of the file at `path` (links followed), nil if there is
        /// none or it is not a regular file.
        init?(_ path: String) {
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = info.st_mtim
            changed = info.st_ctim
        }

        var changedSeconds: Double { Double(changed.tv_sec) + Double(changed.tv_nsec) / 1e9 }
    }

    /// A file changed this close (seconds) to when it was hashed may change
    /// again without its stamp changing: the longest kernel clock tick
    /// (HZ=100) with room to spare.
    static let racyWindow = 0.02

    /// A hash no content has (in practice): an input of unknown content.
    static let unknown: UInt64 = 0

    private struct Entry {
        var stamp: Stamp
        var hash: UInt64
        /// Wall-clock seconds when the file was read.
        var hashedAt: Double
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    /// The hash of the file at `path`, nil if it cannot be read. With
    /// `cached` false the file is read whatever its stamp says.
    func hash(_ path: String, cached: Bool = true) -> UInt64? {
        guard let stamp = Stamp(path) else {
            forget([path])
            return nil
        }
        if cached {
            lock.lock()
            let entry = entries[path]
            lock.unlock()
            if let entry, entry.stamp == stamp, stamp.changedSeconds < entry.hashedAt - Self.racyWindow {
                return entry.hash
            }
        }
        let hashedAt = Date().timeIntervalSince1970
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let value = Self.hash(data)
        // The stamp taken before reading: if the file changed while it was
        // read, its next stamp differs and it is read again.
        lock.lock()
        entries[path] = Entry(stamp: stamp, hash: value, hashedAt: hashedAt)
        lock.unlock()
        return value
    }

    /// Drops what is known of `paths` (an event said they changed).
    func forget(_ paths: some Sequence<String>) {
        lock.lock()
        for path in paths { entries[path] = nil }
        lock.unlock()
    }

    /// FNV-1a, 64 bits: enough to tell one save from another, and about a
    /// nanosecond a byte, so a source and its headers hash in microseconds.
    static func hash(_ data: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { bytes in
            for byte in bytes {
                h ^= UInt64(byte)
                h = h &* 0x100_0000_01b3
            }
        }
        return h == unknown ? 1 : h
    }
}
