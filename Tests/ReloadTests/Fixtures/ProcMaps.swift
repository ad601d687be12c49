import Foundation

/// What this process has mapped, from /proc/self/maps: the way to see that
/// a library is really unloaded, not that a counter says so.
enum ProcMaps {
    /// /proc/self/maps, read to its end (Foundation's String(contentsOfFile:)
    /// trusts the size stat gives, 0 for /proc files, and stops at 4 KiB).
    static func readMaps(of pid: String = "self") throws -> String {
        let fd = open("/proc/\(pid)/maps", O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The private copies of `module`'s library mapped in this process (or
    /// process `pid`) now.
    static func mappedCopies(of module: String, pid: pid_t = getpid()) throws -> Set<String> {
        let maps = try readMaps(of: pid == getpid() ? "self" : "\(pid)")
        let marker = "remap-\(getuid())-libs/\(module)-\(pid)-"
        var copies: Set<String> = []
        for line in maps.split(separator: "\n") where line.contains(marker) {
            guard let slash = line.firstIndex(of: "/") else { continue }
            var path = String(line[slash...])
            if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
            copies.insert(path)
        }
        return copies
    }

}
