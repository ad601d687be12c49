import Foundation
import XCTest

/// Runs the package's executables as a user would.
enum Processes {
    /// The folder the test's executables were built into.
    static var productsDirectory: URL {
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for dir in candidates where FileManager.default.fileExists(atPath: dir.appendingPathComponent("reloadctl").path) {
            return dir
        }
        return FixtureFolder.packageRoot.appendingPathComponent(".build/debug")
    }

    static var reloadctl: String { productsDirectory.appendingPathComponent("reloadctl").path }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs to completion; kills it after `timeout` seconds. `directory` and
    /// `environment` (added to this process's own) are the child's.
    static func run(_ tool: String, _ args: [String], timeout: TimeInterval = 120, directory: String? = nil,
                    environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let timer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        // Read both pipes to the end before waiting, so a chatty child never blocks.
        final class Box: @unchecked Sendable { var data = Data() }
        let errData = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        timer.cancel()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }

    static func reloadctl(_ args: String...) throws -> Result {
        try run(reloadctl, args)
    }

    /// The full path of `tool` on this process's PATH, for children that run
    /// with a PATH of their own.
    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A `reloadctl run` host started as a child process, stopped with SIGTERM.
final class HostProcess {
    let process = Process()
    let socket: String
    private let output = Pipe()
    private var collected = Data()
    private let lock = NSLock()

    /// `environment` is added to this process's own (CC=..., say).
    convenience init(folder: String, socket: String, extra: [String] = [], environment: [String: String] = [:]) throws {
        try self.init(arguments: ["run", folder, "--socket", socket] + extra, socket: socket, environment: environment)
    }

    /// `reloadctl` with `arguments` exactly, run in `directory` (a command
    /// line a document shows, say).
    init(arguments: [String], socket: String, directory: String? = nil, environment: [String: String] = [:]) throws {
        self.socket = socket
        process.executableURL = URL(fileURLWithPath: Processes.reloadctl)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
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

    /// Waits until `text` appears in the host's output.
    func waitFor(_ text: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            if !process.isRunning { return log.contains(text) }
            usleep(50_000)
        }
        return false
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}
