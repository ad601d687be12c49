import CRemap
import CRemapLoader

/// The reload transaction's named failure points, for tests of a host or
/// of modules: arm one to make its nth occurrence fail, with an error or
/// with a crash (where the crash guard runs), as SQLite's fault-injection
/// tests do. Points are counted only while a reload (or a first load) runs.
/// Use it holding the runtime lock.
public enum FaultInjection {
    /// Every point, in the order a reload reaches them.
    public static var points: [String] {
        var names: [String] = []
        while let name = rm_fault_point_name(names.count) { names.append(String(cString: name)) }
        return names
    }

    public enum Mode: Sendable {
        case error
        case crash
    }

    /// Makes the `occurrence`th time (from now, 1-based) `point` is reached fail.
    public static func arm(_ point: String, occurrence: Int, mode: Mode = .error) throws {
        try check(rm_fault_arm(point, occurrence, mode == .crash ? RM_FAULT_CRASH : RM_FAULT_ERROR))
    }

    public static func disarm() { rm_fault_disarm() }

    /// How many times `point` was reached since `resetCounts()`.
    public static func count(_ point: String) -> Int { Int(rm_fault_count(point)) }

    /// Zeroes the counts and disarms.
    public static func resetCounts() { rm_fault_reset_counts() }
}
