import Foundation

/// Milliseconds since an arbitrary start, from the monotonic clock.
func nowMs() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e6
}

/// The median and 95th percentile of a sample, in ms (nearest rank: with
/// 20 samples the p95 is the 19th smallest).
struct Summary {
    var median: Double
    var p95: Double
    var count: Int

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        guard !sorted.isEmpty else {
            median = .nan
            p95 = .nan
            return
        }
        let mid = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        p95 = sorted[min(sorted.count - 1, Int((0.95 * Double(sorted.count)).rounded(.up)) - 1)]
    }

    var json: String { "{\"median\": \(rounded(median)), \"p95\": \(rounded(p95))}" }
}

func rounded(_ ms: Double) -> String { ms.isNaN ? "null" : String(format: "%.1f", ms) }

/// One JSON line on stdout, fields in the order given.
func emit(_ fields: [(String, String)]) {
    print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    fflush(stdout)
}

func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
