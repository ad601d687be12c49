import CRemap
import Foundation

/// When a host's entry function is called again.
public enum RestartPolicy: String, Codable, Sendable, CaseIterable {
    /// Never: a failure is reported and the host keeps serving.
    case no
    /// After it fails: throws an error or crashes.
    case onFailure = "on-failure"
    /// After it fails and after it returns.
    case always

    func restarts(after outcome: EntryOutcome) -> Bool {
        switch (self, outcome) {
        case (.no, _): return false
        case (.onFailure, .returned): return false
        case (.onFailure, .failed), (.always, _): return true
        }
    }
}

/// How long a restart waits: `initial` seconds after the first failure in a
/// row, doubling with each one after it up to `cap`. A run that lasted
/// `healthyRun` seconds or more before it ended starts the row again.
public struct RestartBackoff: Sendable, Equatable {
    /// Short enough that a one-off failure costs nothing noticeable.
    public var initial: Double
    /// Long enough that an entry failing at once does not spin the CPU or
    /// fill the log, short enough that a fix is picked up within seconds.
    public var cap: Double
    /// A run this long was not a failure loop.
    public var healthyRun: Double

    public init(initial: Double = 0.1, cap: Double = 5, healthyRun: Double = 10) {
        self.initial = initial
        self.cap = cap
        self.healthyRun = healthyRun
    }

    /// The wait before restart number `inRow + 1` of a row (0 based).
    public func delay(inRow: Int) -> Double {
        min(cap, initial * pow(2, Double(min(inRow, 32))))
    }
}

/// How one run of the entry ended.
public enum EntryOutcome: Sendable, Equatable {
    /// It returned this value (rendered).
    case returned(String)
    /// It threw this error or crashed (the message says which).
    case failed(String)
}

/// What `status` shows of the entry function.
public struct EntryStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// The function is running.
        case running
        /// It ended and is called again after a backoff.
        case waiting
        /// It returned and the policy does not call it again.
        case returned
        /// It failed and the policy does not call it again.
        case failed
    }

    public var function: String
    public var restart: RestartPolicy
    public var state: State
    public var restarts: Int
    public var lastFailure: String?
    public var lastFailureAt: Date?

    /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
    enum CodingKeys: String, CodingKey {
        case function, restart, state, restarts, lastFailure = "last_failure"
        case lastFailureAt = "last_failure_at"
    }
}

/// Runs a host's entry function and, as its `RestartPolicy` says, calls it
/// again when it fails or returns, with backoff.
///
/// Each run looks the function up by name and calls it under the crash
/// guard (`ModuleLoader.callGuarded`), holding the runtime lock; the wait
/// between runs holds nothing, so reloads and requests run then. The heap
/// is kept from run to run: module state survives, and a reload that
/// replaced the function (a fix saved under `--watch`) is what the next run
/// calls.
public final class EntrySupervisor: @unchecked Sendable {
    public let loader: ModuleLoader
    public let function: String
    public let policy: RestartPolicy
    public let backoff: RestartBackoff
    private let log: (String) -> Void
    private let lock = NSLock()
    private var current: EntryStatus

    /// `log` gets a line for every restart, saying why and when it runs.
    public init(loader: ModuleLoader, function: String, policy: RestartPolicy,
                backoff: RestartBackoff = RestartBackoff(), log: @escaping (String) -> Void) {
        self.loader = loader
        self.function = function
        self.policy = policy
        self.backoff = backoff
        self.log = log
        current = EntryStatus(function: function, restart: policy, state: .running, restarts: 0)
    }

    /// The entry's state now; readable from any thread without the runtime
    /// lock (a control server's `status` reads it while the entry runs).
    public var status: EntryStatus {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    private func update(_ change: (inout EntryStatus) -> Void) {
        lock.lock()
        change(&current)
        lock.unlock()
    }

    /// Runs the entry on the calling thread until the policy lets it end;
    /// returns how the last run ended. Under `always` that is never.
    public func run() -> EntryOutcome {
        var inRow = 0
        while true {
            update { $0.state = .running }
            let started = Date()
            let outcome = runOnce()
            let ranFor = Date().timeIntervalSince(started)
            if case .failed(let reason) = outcome {
                update {
                    $0.lastFailure = reason
                    $0.lastFailureAt = Date()
                }
            }
            guard policy.restarts(after: outcome) else {
                update {
                    if case .failed = outcome { $0.state = .failed } else { $0.state = .returned }
                }
                return outcome
            }
            if ranFor >= backoff.healthyRun { inRow = 0 }
            let delay = backoff.delay(inRow: inRow)
            inRow += 1
            var restarts = 0
            update {
                $0.restarts += 1
                $0.state = .waiting
                restarts = $0.restarts
            }
            let why: String
            switch outcome {
            case .returned(let value): why = "returned \(value)"
            case .failed(let reason): why = "failed: \(reason)"
            }
            log("\(function) \(why); restart \(restarts) in \(String(format: "%.1f", delay)) s")
            Thread.sleep(forTimeInterval: delay)
        }
    }

    /// One run: look up, call guarded, render the result, all under the lock.
    private func runOnce() -> EntryOutcome {
        do {
            return try loader.runtime.withLock {
                let result = try loader.callGuarded(function)
                return .returned(Objects.describe(result))
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
