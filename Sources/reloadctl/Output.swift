import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Human-readable renderings of the host's replies.
enum Output {
    /// Line-buffered stdout, so a reader of a pipe sees each line at once.
    static func lineBuffered() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber || value is NSNull,
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let fill = String(repeating: " ", count: width - text.count)
        return right ? fill + text : text + fill
    }

    static func ms(_ value: Any?) -> String {
        String(format: "%.2f ms", (value as? Double) ?? Double((value as? Int) ?? 0))
    }

    static func seconds(_ value: Any?) -> String {
        String(format: "%.1f s", (value as? Double) ?? 0)
    }

    static func moduleTable(_ modules: [[String: Any]]) -> [String] {
        guard !modules.isEmpty else { return ["no modules loaded"] }
        return [pad("MODULE", 20) + pad("GEN", 6) + pad("DEFS", 6) + "PATH"] + modules.map { m in
            pad("\(m["name"] ?? "?")", 20) + pad("\(m["generation"] ?? "?")", 6) + pad("\(m["definitions"] ?? "?")", 6)
                + "\(m["path"] as? String ?? "(in-process)")"
        }
    }

    /// A reload report (snake_case keys, as the host encodes it).
    static func reloadReport(_ r: [String: Any]) -> String {
        let modules = (r["modules"] as? [[String: Any]] ?? []).map {
            "\($0["name"] ?? "?") \($0["from_generation"] ?? "?") -> \($0["to_generation"] ?? "?")"
        }
        let phases = r["phases"] as? [String: Any] ?? [:]
        func list(_ key: String) -> [String] { r[key] as? [String] ?? [] }
        var lines = ["reloaded \(modules.joined(separator: ", ")) in \(ms(phases["total"]))"]
        var changes = "  \(r["matched"] ?? 0) definitions replaced"
        if !list("added").isEmpty { changes += ", added \(list("added").joined(separator: " "))" }
        if !list("removed").isEmpty { changes += ", removed \(list("removed").joined(separator: " "))" }
        if !list("kept").isEmpty { changes += " (kept)" }
        if !list("tombstoned").isEmpty { changes += " (tombstoned)" }
        lines.append(changes)
        lines.append("  \(r["slots_rewritten"] ?? 0) slots rewritten in \(r["objects_visited"] ?? 0) objects (\(r["walk_threads"] ?? 1) threads); \(r["tables_rehashed"] ?? 0) tables rehashed, \(r["key_collisions"] ?? 0) key collisions")
        lines.append("  \(r["instances_migrated"] ?? 0) instances migrated, \(r["instance_hooks_run"] ?? 0) instance hooks, \(r["module_hooks_run"] ?? 0) module hooks; \(r["libraries_closed"] ?? 0) old libraries closed")
        for line in r["classes"] as? [[String: Any]] ?? [] {
            var text = "  class \(line["name"] ?? "?"): \(line["instances"] ?? 0) instances, \(line["in_place"] ?? 0) in place, \(line["moved"] ?? 0) moved"
            if let n = line["initialized"] as? Int, n > 0 { text += ", \(n) initialized" }
            if let n = line["hooks_run"] as? Int, n > 0 { text += ", \(n) hooks" }
            lines.append(text + " (\(ms(line["milliseconds"])) after the walk)")
        }
        let order = ["close_libraries", "load", "match", "module_hooks", "remap", "rehash", "instances", "publish", "commit"]
        lines.append("  phases: " + order.map { "\($0) \(ms(phases[$0]))" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// The entry line of `status`: "entry game.main: running, 2 restarts (on-failure), last failure: ...".
    static func entryLine(_ entry: [String: Any]) -> String {
        let restarts = entry["restarts"] as? Int ?? 0
        var line = "entry \(entry["function"] ?? "?"): \(entry["state"] ?? "?"), \(restarts) restart\(restarts == 1 ? "" : "s") (\(entry["restart"] ?? "no"))"
        if let failure = entry["last_failure"] as? String {
            line += ", last failure: \(failure.split(whereSeparator: \.isNewline).joined(separator: " "))"
        }
        return line
    }
}
