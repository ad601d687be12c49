import ArgumentParser
import Foundation
import Reload

/// Options every client of a running host takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The control socket of the host to talk to.")
    var socket: String = ControlServer.defaultPath()

    @Flag(name: .long, help: "Print the host's reply as JSON.")
    var json = false

    /// Sends one request; prints the JSON reply with --json, else `human`.
    func send(_ request: [String: Any], human: ([String: Any]) -> String) throws {
        let reply: [String: Any]
        do {
            reply = try ControlClient(path: socket).send(request)
        } catch let error as SystemError {
            throw ValidationError("cannot reach a host at \(socket): \(error). Is `reloadctl run` running?")
        } catch let error as ControlClient.Failure {
            throw CommandFailure(message: error.description)
        }
        if json {
            print(Output.json(reply))
        } else {
            print(human(reply))
        }
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
            """)

    @Argument(help: "Modules to reload together (one remap walk).")
    var modules: [String]

    @Flag(help: "Also reload the modules that import them, after them.")
    var cascade = false

    @Option(name: .customLong("on-removed"), help: "Definitions the new version removes: keep, tombstone or refuse.")
    var onRemoved: String = "keep"

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard RemovedPolicy(rawValue: onRemoved) != nil else {
            throw ValidationError("--on-removed must be keep, tombstone or refuse")
        }
    }

    func run() throws {
        try client.send(["request": "reload", "modules": modules, "cascade": cascade, "on_removed": onRemoved]) { reply in
            Output.reloadReport(reply["report"] as? [String: Any] ?? [:])
        }
    }
}

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a function of a running host.",
        discussion: """
            Arguments are JSON values; the result is printed as JSON.

              reloadctl call shapes.make 3
              reloadctl call game.spawn '"orc"' '[1, 2]'
            """)

    @Argument(help: "The function, as module.name or module.Class.name.")
    var function: String

    @Argument(help: "Arguments, each a JSON value (a bare word is taken as a string).")
    var arguments: [String] = []

    @OptionGroup var client: ClientOptions

    func run() throws {
        let args: [Any] = arguments.map { text in
            (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
        }
        try client.send(["request": "call", "function": function, "args": args]) { reply in
            Output.json(reply["result"] ?? NSNull())
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
