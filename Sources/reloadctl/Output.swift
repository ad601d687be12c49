import Foundation
import Reload
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Human-readable renderings of the host's replies.
enum Output {
    /// Line-buffered stdout, so a reader of a pipe sees each line at once.
    static func lineBuffered() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }

    /// The protocol's JSON text of `value` (sorted keys, as the host writes it).
    static func json<Value: Encodable>(_ value: Value) -> String {
        guard let data = try? ControlProtocol.encoder.encode(value) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text }
        let fill = String(repeating: " ", count: width - text.count)
        return right ? fill + text : text + fill
    }

    static func ms(_ value: Double) -> String {
        String(format: "%.2f ms", value)
    }

    static func seconds(_ value: Double) -> String {
        String(format: "%.1f s", value)
    }

    static func moduleTable(_ modules: [ModuleInfo]) -> [String] {
        guard !modules.isEmpty else { return ["no modules loaded"] }
        return [pad("MODULE", 20) + pad("GEN", 6) + pad("DEFS", 6) + "PATH"] + modules.map { m in
            pad(m.name, 20) + pad("\(m.generation)", 6) + pad("\(m.definitions)", 6) + (m.path ?? "(in-process)")
        }
    }

    static func reloadReport(_ r: ReloadReport) -> String {
        let modules = r.modules.map { "\($0.name) \($0.fromGeneration) -> \($0.toGeneration)" }
        let phases = r.phases
        var lines = ["reloaded \(modules.joined(separator: ", ")) in \(ms(phases.total))"]
        var changes = "  \(r.matched) definitions replaced"
        if !r.added.isEmpty { changes += ", added \(r.added.joined(separator: " "))" }
        if !r.removed.isEmpty { changes += ", removed \(r.removed.joined(separator: " "))" }
        if !r.kept.isEmpty { changes += " (kept)" }
        if !r.tombstoned.isEmpty { changes += " (tombstoned)" }
        if !r.rebound.isEmpty { changes += "; values rebound in \(r.rebound.joined(separator: " "))" }
        lines.append(changes)
        lines.append("  \(r.slotsRewritten) slots rewritten in \(r.objectsVisited) objects (\(r.walkThreads) threads); \(r.tablesRehashed) tables rehashed, \(r.keyCollisions) key collisions")
        lines.append("  \(r.instancesMigrated) instances migrated, \(r.instanceHooksRun) instance hooks, \(r.moduleHooksRun) module hooks; \(r.librariesClosed) old libraries closed")
        for line in r.classes {
            var text = "  class \(line.name): \(line.instances) instances, \(line.inPlace) in place, \(line.moved) moved"
            if line.givenDict > 0 { text += ", \(line.givenDict) given an attribute dict" }
            if line.initialized > 0 { text += ", \(line.initialized) initialized" }
            if line.hooksRun > 0 { text += ", \(line.hooksRun) hooks" }
            lines.append(text + " (\(ms(line.milliseconds)) after the walk)")
        }
        lines.append("  phases: " + phases.named.map { "\($0.name) \(ms($0.milliseconds))" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// The entry line of `status`: "entry game.main: running, 2 restarts (on-failure), last failure: ...".
    static func entryLine(_ entry: EntryStatus) -> String {
        var line = "entry \(entry.function): \(entry.state.rawValue), \(entry.restarts) restart\(entry.restarts == 1 ? "" : "s") (\(entry.restart.rawValue))"
        if let failure = entry.lastFailure {
            line += ", last failure: \(failure.split(whereSeparator: \.isNewline).joined(separator: " "))"
        }
        return line
    }
}
