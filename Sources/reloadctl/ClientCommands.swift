import ArgumentParser
import Foundation
import Reload

/// How a client command ends when it does not succeed (docs/reloadctl.md, "Exit codes").
enum ClientExit {
    /// The host answered with an error, or broke the connection.
    static let failed: Int32 = 1
    /// A malformed argument (EX_USAGE), such as a `call` argument that is not
    /// JSON or an integer outside int64, refused here or by the host
    /// (`bad_argument`).
    static let usage: Int32 = 64
    /// No host: the socket is missing or nothing serves it (EX_UNAVAILABLE).
    static let unreachable: Int32 = 69
    /// The host did not answer within --timeout, or is busy: retry
    /// (EX_TEMPFAIL).
    static let timedOut: Int32 = 75
    /// The host refused our uid (EX_NOPERM).
    static let forbidden: Int32 = 77

    /// The exit status for a host's error reply: the codes a user acts on
    /// differently from a failed request get their own.
    static func status(for code: ControlErrorCode) -> Int32 {
        switch code {
        case .badArgument: usage
        case .busy, .evicted: timedOut
        case .forbidden: forbidden
        default: failed
        }
    }
}

/// Options every client of a running host takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The control socket of the host to talk to.")
    var socket: String = ControlServer.defaultPath()

    @Option(name: .long, help: "How to print the host's reply: text, or json (errors too, as {\"error\": ...}).")
    var format: OutputFormat?

    @Flag(name: .long, help: "Short for --format json.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the host's reply (default 30; 120 for reload).", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) disagree: give one")
        }
    }

    /// The format asked for, by --format or --json.
    var output: OutputFormat { json ? .json : format ?? .text }

    /// Sends one request; prints the JSON reply with --format json, else
    /// `human`. A failure prints one line (JSON with --format json) and
    /// exits with its code.
    func send<Body: Codable & Sendable>(_ request: ControlRequest, expecting _: Body.Type, defaultTimeout: Double = 30,
                                        human: (Body) -> String) throws {
        let reply: Body
        do {
            reply = try ControlClient(path: socket, timeout: timeout ?? defaultTimeout).send(request)
        } catch let error as RemapError {
            switch error {
            case .unreachable:
                throw fail("\(error). Is `reloadctl run` running?", code: "unreachable", exit: ClientExit.unreachable)
            case .timedOut:
                throw fail(error.description, code: "timeout", exit: ClientExit.timedOut)
            case .requestFailed(.busy, let message):
                throw fail("the host at \(socket) is busy: \(message)", code: ControlErrorCode.busy.rawValue, exit: ClientExit.timedOut)
            case .requestFailed(.forbidden, let message):
                throw fail("the host at \(socket) refused this user: \(message)", code: ControlErrorCode.forbidden.rawValue,
                           exit: ClientExit.forbidden)
            case .requestFailed(let code, let message):
                throw fail(message, code: code.rawValue, exit: ClientExit.status(for: code))
            case .protocolError(let message):
                throw fail(message, code: "protocol", exit: ClientExit.failed)
            default:
                throw fail(error.description, code: "failed", exit: ClientExit.failed)
            }
        }
        if output == .json {
            print(Output.json(ControlReply.success(reply)))
        } else {
            print(human(reply))
        }
    }

    /// Reports a failure: {"error": message, "code": code} on stdout with
    /// --format json, else "Error: message" on stderr; returns the exit to throw.
    func fail(_ message: String, code: String, exit: Int32) -> ExitCode {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        if output == .json {
            print(Output.json(["code": code, "error": line]))
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
    var onRemoved: RemovedPolicy = .keep

    @Option(name: .customLong("on-collision"), help: "Dict or set keys that become equal: keep-new (the entry inserted last wins), keep-old (the one inserted first stays) or refuse (roll back).")
    var onCollision: CollisionPolicy = .keepNewer

    @OptionGroup var client: ClientOptions

    func run() throws {
        let options = ReloadOptions(cascade: cascade, onRemoved: onRemoved, onCollision: onCollision)
        try client.send(.reload(modules: modules, options: options), expecting: ReloadReply.self,
                        defaultTimeout: 120) { reply in
            Output.reloadReport(reply.report)
        }
    }
}

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a function of a running host.",
        discussion: """
            Arguments are JSON values; the result is printed as JSON. A bare word
            (letters, digits, _ . -, not starting with a digit, and not true,
            false or null) is taken as a string; anything else must be strict
            JSON the host can hold exactly (integers within int64, no
            duplicate keys), or the command fails with exit status 64.

              reloadctl call shapes.make 3
              reloadctl call game.spawn orc '"two words"' '[1, 2]'
            """)

    @Argument(help: "The function, as module.name or module.Class.name.")
    var function: String

    @Argument(help: "Arguments, each a JSON value (a bare word is taken as a string).")
    var arguments: [String] = []

    @OptionGroup var client: ClientOptions

    func run() throws {
        guard ControlRequest.isQualifiedName(function) else {
            throw client.fail("\(JSONValue.string(function).jsonText) is not a qualified name such as game.step",
                              code: ControlErrorCode.badArgument.rawValue, exit: ClientExit.usage)
        }
        var args: [JSONValue] = []
        for (i, text) in arguments.enumerated() {
            switch Self.parse(text) {
            case .success(let value):
                args.append(value)
            case .failure(let error) where error.kind == .syntax:
                throw client.fail("argument \(i + 1) is not valid JSON: \(text) (\(error))",
                                  code: ControlErrorCode.badArgument.rawValue, exit: ClientExit.usage)
            case .failure(let error):
                throw client.fail("argument \(i + 1) cannot be sent as it is: \(error.message)",
                                  code: ControlErrorCode.badArgument.rawValue, exit: ClientExit.usage)
            }
        }
        try client.send(.call(function: function, args: args), expecting: CallReply.self) { reply in
            reply.result.jsonText
        }
    }
}

extension Call {
    /// A strict JSON value (the host's own parser: an integer outside int64
    /// is refused, not wrapped to -1 or made a float), or a bare word as a
    /// string; the parse error for anything else.
    static func parse(_ text: String) -> Result<JSONValue, JSONParseError> {
        let parsed = Result { () throws(JSONParseError) in try JSONValue(parsing: Array(text.utf8)) }
        guard case .failure(let error) = parsed, error.kind == .syntax,
              let first = text.unicodeScalars.first, CharacterSet.letters.contains(first) || first == "_",
              text.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0) })
        else { return parsed }
        return .success(.string(text))
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
        guard ControlRequest.isQualifiedName(name) else {
            throw client.fail("\(JSONValue.string(name).jsonText) is not a qualified name such as game.world",
                              code: ControlErrorCode.badArgument.rawValue, exit: ClientExit.usage)
        }
        try client.send(.get(name: name), expecting: GetReply.self) { reply in
            reply.value.jsonText
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running host's pid, uptime and modules.",
        discussion: "  reloadctl status --socket /run/user/1000/remap/game.sock")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(.status, expecting: StatusReply.self) { reply in
            var lines = ["pid \(reply.pid), up \(Output.seconds(reply.uptimeSeconds)), \(reply.reloads) reloads served, socket \(reply.socket)"]
            lines += Output.moduleTable(reply.modules)
            if let entry = reply.entry { lines.append(Output.entryLine(entry)) }
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
        try client.send(.modules, expecting: ModulesReply.self) { reply in
            Output.moduleTable(reply.modules).joined(separator: "\n")
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show heap statistics of a running host.",
        discussion: "  reloadctl stats")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(.stats, expecting: StatsReply.self) { reply in
            var lines = ["\(reply.objects) objects, \(reply.bytes) bytes, \(reply.handles) handles, \(reply.collections) collections"]
            for line in reply.types {
                lines.append("  \(Output.pad(line.type, 20)) \(Output.pad("\(line.objects)", 10, right: true)) objects \(Output.pad("\(line.bytes)", 12, right: true)) bytes")
            }
            if let last = reply.lastReload {
                lines.append("last reload: \(last.slotsRewritten) slots rewritten, remap \(Output.ms(last.remapMilliseconds)), total \(Output.ms(last.totalMilliseconds))")
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
        try client.send(.ping, expecting: PingReply.self) { _ in "pong" }
    }
}

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a full collection in a host and close unused old libraries.",
        discussion: "  reloadctl collect")

    @OptionGroup var client: ClientOptions

    func run() throws {
        try client.send(.collect, expecting: CollectReply.self) { reply in
            "collected; \(reply.librariesClosed) old libraries closed"
        }
    }
}

extension RemovedPolicy: ExpressibleByArgument {}

/// `--on-collision` takes the names the CLI shows (keep-new, keep-old,
/// refuse) and the raw values (keep-newer, keep-older).
extension CollisionPolicy: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(userName: argument)
    }

    public var defaultValueDescription: String { userName }

    public static var allValueStrings: [String] { allCases.map(\.userName) }
}

/// How a client command prints the host's reply.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    /// Lines for a person: tables, the reload report, a value as JSON.
    case text
    /// The host's reply as one JSON line, {"ok": true, ...}.
    case json
}
