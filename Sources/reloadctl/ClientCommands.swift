import ArgumentParser
import Foundation
import Reload

/// How a client command ends when it does not succeed (README, "Exit codes").
enum ClientExit {
    /// The host answered with an error, or broke the connection.
    static let failed: Int32 = 1
    /// A malformed argument (EX_USAGE), such as a `call` argument that is not JSON.
    static let usage: Int32 = 64
    /// No host: the socket is missing or nothing serves it (EX_UNAVAILABLE).
    static let unreachable: Int32 = 69
    /// The host did not answer within --timeout (EX_TEMPFAIL).
    static let timedOut: Int32 = 75
}

/// Options every client of a running host takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The control socket of the host to talk to.")
    var socket: String = ControlServer.defaultPath()

    @Flag(name: .long, help: "Print the host's reply as JSON (errors too, as {\"error\": ...}).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the host's reply (default 30; 120 for reload).", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    /// Sends one request; prints the JSON reply with --json, else `human`.
    /// A failure prints one line (JSON with --json) and exits with its code.
    func send(_ request: [String: Any], defaultTimeout: Double = 30, human: ([String: Any]) -> String) throws {
        let reply: [String: Any]
        do {
            reply = try ControlClient(path: socket, timeout: timeout ?? defaultTimeout).send(request)
        } catch let error as ControlClient.Failure {
            switch error {
            case .unreachable:
                throw fail("\(error). Is `reloadctl run` running?", code: "unreachable", exit: ClientExit.unreachable)
            case .timedOut:
                throw fail(error.description, code: "timeout", exit: ClientExit.timedOut)
            case .server(let code, let message):
                throw fail(message, code: code, exit: ClientExit.failed)
            case .protocolError(let message):
                throw fail(message, code: "protocol", exit: ClientExit.failed)
            }
        }
        if json {
            print(Output.json(reply))
        } else {
            print(human(reply))
        }
    }

    /// Reports a failure: {"error": message, "code": code} on stdout with
    /// --json, else "Error: message" on stderr; returns the exit to throw.
    func fail(_ message: String, code: String, exit: Int32) -> ExitCode {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        if json {
            print(Output.json(["error": line, "code": code]))
        } else {
            FileHandle.standardError.write(Data("Error: \(line)\n".utf8))
        }
        return ExitCode(exit)
    }
}

/// A failure reported to the user as "Error: message", with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload modules of a running host.",
        discussion: """
            The host rebuilds the modules' C sources if they changed, then swaps
            the new code in; instances keep their state.

              reloadctl reload shapes
              reloadctl reload util --cascade --on-removed tombstone
              reloadctl reload shapes --on-collision refuse --timeout 600
            """)

    @Argument(help: "Modules to reload together (one remap walk).")
    var modules: [String]

    @Flag(help: "Also reload the modules that import them, after them.")
    var cascade = false

    @Option(name: .customLong("on-removed"), help: "Definitions the new version removes: keep, tombstone or refuse.")
    var onRemoved: String = "keep"

    @Option(name: .customLong("on-collision"), help: "Dict or set keys that become equal: keep-new (the entry inserted last wins), keep-old (the one inserted first stays) or refuse (roll back).")
    var onCollision: String = "keep-new"

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard RemovedPolicy(rawValue: onRemoved) != nil else {
            throw ValidationError("--on-removed must be keep, tombstone or refuse")
        }
        guard CollisionPolicy(userName: onCollision) != nil else {
            throw ValidationError("--on-collision must be keep-new, keep-old or refuse")
        }
    }

    func run() throws {
        let collision = CollisionPolicy(userName: onCollision) ?? .keepNewer
        try client.send(["request": "reload", "modules": modules, "cascade": cascade, "on_removed": onRemoved,
                         "on_collision": collision.rawValue], defaultTimeout: 120) { reply in
            Output.reloadReport(reply["report"] as? [String: Any] ?? [:])
        }
    }
}

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a function of a running host.",
        discussion: """
            Arguments are JSON values; the result is printed as JSON. A bare word
            (letters, digits, _ . -, not starting with a digit, and not true,
            false or null) is taken as a string; anything else must be valid
            JSON, or the command fails with exit status 64.

              reloadctl call shapes.make 3
              reloadctl call game.spawn orc '"two words"' '[1, 2]'
            """)

    @Argument(help: "The function, as module.name or module.Class.name.")
    var function: String

    @Argument(help: "Arguments, each a JSON value (a bare word is taken as a string).")
    var arguments: [String] = []

    @OptionGroup var client: ClientOptions

    func run() throws {
        var args: [Any] = []
        for (i, text) in arguments.enumerated() {
            guard let value = Self.parse(text) else {
                throw client.fail("argument \(i + 1) is not valid JSON: \(text)", code: "bad_argument", exit: ClientExit.usage)
            }
            args.append(value)
        }
        try client.send(["request": "call", "function": function, "args": args]) { reply in
            Output.json(reply["result"] ?? NSNull())
        }
    }
}

extension Call {
    /// A JSON value, or a bare word as a string; nil for anything else.
    static func parse(_ text: String) -> Any? {
        if let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) {
            return value
        }
        guard let first = text.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "_",
              text.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0) })
        else { return nil }
        return text
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a value of a running host, as JSON.",
        discussion: """
            A module's state, function or class, or an attribute of one; an
            instance prints as {"class": "module.Class", "fields": {...}}.

              reloadctl get counter.count
              reloadctl get game.world --json
            """)

    @Argument(help: "The value, as module.name (or module.name.attribute).")
    var name: String

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "get", "name": name]) { reply in
            Output.json(reply["value"] ?? NSNull())
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running host's pid, uptime and modules.",
        discussion: "  reloadctl status --socket /run/user/1000/remap/game.sock")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "status"]) { reply in
            var lines = ["pid \(reply["pid"] ?? "?"), up \(Output.seconds(reply["uptime_seconds"])), \(reply["reloads"] ?? 0) reloads served, socket \(reply["socket"] ?? "?")"]
            lines += Output.moduleTable(reply["modules"] as? [[String: Any]] ?? [])
            if let entry = reply["entry"] as? [String: Any] { lines.append(Output.entryLine(entry)) }
            return lines.joined(separator: "\n")
        }
    }
}

struct Modules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the modules of a running host.",
        discussion: "  reloadctl modules --json")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "modules"]) { reply in
            Output.moduleTable(reply["modules"] as? [[String: Any]] ?? []).joined(separator: "\n")
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show heap statistics of a running host.",
        discussion: "  reloadctl stats")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "stats"]) { reply in
            var lines = ["\(reply["objects"] ?? 0) objects, \(reply["bytes"] ?? 0) bytes, \(reply["handles"] ?? 0) handles, \(reply["collections"] ?? 0) collections"]
            for line in reply["types"] as? [[String: Any]] ?? [] {
                lines.append("  \(Output.pad("\(line["type"] ?? "?")", 20)) \(Output.pad("\(line["objects"] ?? 0)", 10, right: true)) objects \(Output.pad("\(line["bytes"] ?? 0)", 12, right: true)) bytes")
            }
            if let last = reply["last_reload"] as? [String: Any] {
                lines.append("last reload: \(last["slots_rewritten"] ?? 0) slots rewritten, remap \(Output.ms(last["remap_ms"])), total \(Output.ms(last["total_ms"]))")
            }
            return lines.joined(separator: "\n")
        }
    }
}

struct Ping: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that a host answers.",
        discussion: "  reloadctl ping && echo up")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "ping"]) { _ in "pong" }
    }
}

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a full collection in a host and close unused old libraries.",
        discussion: "  reloadctl collect")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(["request": "collect"]) { reply in
            "collected; \(reply["libraries_closed"] ?? 0) old libraries closed"
        }
    }
}
