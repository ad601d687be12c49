import Foundation
import Reload

#if canImport(Glibc)
import Glibc
#endif

/// `reloadctl run FOLDER --watch` as a child process, as a user starts it:
/// its output is kept (to count builds), its socket is where the new code
/// is called.
final class Host {
    let process = Process()
    let socket: String
    private let output = Pipe()
    private let lock = NSLock()
    private var collected = Data()

    init(reloadctl: String, folder: String, socket: String, extra: [String]) throws {
        self.socket = socket
        process.executableURL = URL(fileURLWithPath: reloadctl)
        process.arguments = ["run", folder, "--socket", socket, "--watch"] + extra
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.collected.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    var log: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// Bytes of output so far: a mark to read what came after it.
    var mark: Int {
        lock.lock()
        defer { lock.unlock() }
        return collected.count
    }

    /// The build times the host logged after `mark` ("[12:00:01.250] built
    /// NAME in 112 ms"), as (end, ms): end in ms since midnight, local time.
    func builds(since mark: Int) -> [(end: Double, ms: Double)] {
        lock.lock()
        let text = String(decoding: collected[min(mark, collected.count)...], as: UTF8.self)
        lock.unlock()
        return text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let close = line.firstIndex(of: "]"), line.contains("] built "),
                  let inRange = line.range(of: " in ", options: .backwards),
                  let ms = Double(line[inRange.upperBound...].replacingOccurrences(of: " ms", with: "")) else { return nil }
            let clock = line[line.index(after: line.startIndex)..<close].split(separator: ":").compactMap { Double($0) }
            guard clock.count == 3 else { return nil }
            return ((clock[0] * 60 + clock[1]) * 60 * 1000 + clock[2] * 1000, ms)
        }
    }

    /// How often `text` appears in the output so far.
    func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }

    /// How many lines of the output so far hold all of `parts`.
    func lines(with parts: [String]) -> Int {
        log.split(separator: "\n").filter { line in parts.allSatisfy { line.contains($0) } }.count
    }

    func waitFor(_ text: String, timeout: Double = 120) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        throw BenchError("the host never printed \"\(text)\":\n\(log)")
    }

    /// Whether the output after `mark` holds `text`.
    func printed(_ text: String, since mark: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected[min(mark, collected.count)...], as: UTF8.self).contains(text)
    }

    /// Calls each of `functions` until all answer `value`; returns the time
    /// (nowMs) the last of them first did. Between tries it sleeps
    /// `pollMs`, which bounds what this adds to a measurement. With
    /// `reloadedSince`, calls start only once the host has logged a reload
    /// after that mark: a call every millisecond while the compilers run
    /// would take CPU from them on a small machine and slow what is
    /// measured. (The log line only lets the calls start; the time is still
    /// that of the first call the new code answers, a little later if
    /// anything.)
    func waitUntil(_ functions: [String], answer value: Int64, reloadedSince mark: Int? = nil, timeout: Double = 60,
                   pollMs: Double = 1) throws -> Double {
        let deadline = nowMs() + timeout * 1000
        if let mark {
            while !printed("] reloaded ", since: mark) && nowMs() < deadline { usleep(useconds_t(pollMs * 1000)) }
        }
        var client = try ControlClient(path: socket, timeout: 10)
        var pending = functions
        while nowMs() < deadline {
            do {
                pending = try pending.filter { try client.call($0) != .int(value) }
                if pending.isEmpty { return nowMs() }
            } catch RemapError.requestFailed {
                // The function is not there yet (a module loading for the first time).
            } catch {
                client = try ControlClient(path: socket, timeout: 10)
            }
            usleep(useconds_t(pollMs * 1000))
        }
        throw BenchError("\(pending.joined(separator: ", ")) never answered \(value):\n\(log)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
