import Foundation
import Reload
import XCTest

/// `reloadctl run --watch`: saves during a build, header dependencies,
/// sources that do not compile at start, the log and the status count.
final class WatchTests: HostTestCase {
    /// A module whose `version()` returns `value` (an expression: a number
    /// or a macro from `include`).
    static func versioned(_ value: String, include: String? = nil) -> String {
        """
        #include <remap/module.h>
        \(include.map { "#include \"\($0)\"" } ?? "")
        RM_MODULE_ABI;
        static rm_object *version(rm_object *self, rm_object *const *args, size_t nargs) { return rm_int(\(value)); }
        int rm_module_init(rm_builder *m) { return rm_def_function(m, "version", version, 0) ? 0 : -1; }
        """
    }

    func startHost(environment: [String: String] = [:]) throws -> HostProcess {
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--watch"], environment: environment)
        XCTAssertTrue(host.waitFor("serving", timeout: 120), "host did not start:\n\(host.log)")
        return host
    }

    func waitForFile(_ path: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(20_000)
        }
        return false
    }

    /// A save while the build of the previous one runs is built next. CC is
    /// a wrapper with an argument ("slowcc cc") that acts as a slow compiler:
    /// it reads the source at once (a copy), marks that it did, sleeps 2 s,
    /// then compiles what it read, so the library is written after the next
    /// save and is newer than it.
    func testSaveDuringBuildIsBuiltNext() throws {
        let wrapper = folder.path + "/tools/slowcc"
        let started = folder.path + "/tools/started"
        try FileManager.default.createDirectory(atPath: folder.path + "/tools", withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            copy=$(mktemp -d)
            for arg do
                shift
                case $arg in *.c) cp "$arg" "$copy/"; arg="$copy/${arg##*/}";; esac
                set -- "$@" "$arg"
            done
            touch '\(started)'
            sleep 2
            "$@"; status=$?
            rm -rf "$copy"
            exit $status

            """
        try script.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        try write("slow.c", Self.versioned("1"))
        let host = try startHost(environment: ["CC": "\(wrapper) cc", "CFLAGS": "-DFROM_CFLAGS=7"])
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "slow.version").stdout, "1\n", host.log)

        try FileManager.default.removeItem(atPath: started)
        try write("slow.c", Self.versioned("2"))
        XCTAssertTrue(waitForFile(started), "the watcher did not start a build:\n\(host.log)")
        usleep(300_000)
        // Version 2 has been read, the build still runs; version 3 lands now.
        try write("slow.c", Self.versioned("3 + FROM_CFLAGS - 7"))
        XCTAssertTrue(try waitForCall("slow.version", "3", timeout: 60), "the last save never ran:\n\(host.log)")
        sleep(1)
        XCTAssertEqual(try ctl("call", "slow.version").stdout, "3\n", host.log)
        // Version 3 was built once more, not in a loop.
        XCTAssertEqual(host.log.components(separatedBy: "] built slow").count - 1, 1, host.log)
    }

    /// Editing a header rebuilds and reloads the modules that include it, and
    /// only those.
    func testHeaderEditReloadsItsIncluders() throws {
        try write("shared.h", "#define VALUE 1\n")
        try write("uses.c", Self.versioned("VALUE", include: "shared.h"))
        try write("other.c", Self.versioned("5"))
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "uses.version").stdout, "1\n", host.log)

        try write("shared.h", "#define VALUE 2\n")
        XCTAssertTrue(host.waitFor("reloaded uses 1 -> 2"), host.log)
        XCTAssertEqual(try ctl("call", "uses.version").stdout, "2\n")
        XCTAssertFalse(host.log.contains("reloaded other"), host.log)
        XCTAssertFalse(host.log.contains("] built other"), host.log)
    }

    /// A module that does not compile at start: the host starts anyway,
    /// prints the error, and loads the module once a save compiles.
    func testStartupCompileErrorKeepsWatching() throws {
        try write("good.c", Self.versioned("1"))
        try write("late.c", "int broken(void) { return }\n")
        let host = try startHost()
        defer { host.stop() }
        XCTAssertTrue(host.log.contains("build of late failed"), host.log)
        XCTAssertTrue(host.log.contains("error"), "the compiler's messages: \(host.log)")
        XCTAssertEqual(try ctl("call", "good.version").stdout, "1\n")
        XCTAssertFalse(try ctl("modules").stdout.contains("late"))

        try write("late.c", Self.versioned("9"))
        XCTAssertTrue(host.waitFor("loaded late"), host.log)
        XCTAssertEqual(try ctl("call", "late.version").stdout, "9\n", host.log)
    }

    /// Watch lines carry a timestamp, and status counts the watcher's reloads
    /// as well as those asked for over the socket.
    func testWatchLogTimestampsAndStatusCountsEveryReload() throws {
        try write("counted.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        try write("counted.c", Self.versioned("2"))
        XCTAssertTrue(host.waitFor("reloaded counted 1 -> 2"), host.log)
        let line = host.log.split(separator: "\n").first { $0.contains("reloaded counted 1 -> 2") }.map(String.init) ?? ""
        XCTAssertNotNil(line.range(of: #"^\[\d\d:\d\d:\d\d\.\d\d\d\] reloaded"#, options: .regularExpression), line)

        func reloads() throws -> Int? {
            let status = try ctl("status", "--json")
            return (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["reloads"] as? Int
        }
        XCTAssertEqual(try reloads(), 1, "the watcher's reload counts")
        XCTAssertEqual(try ctl("reload", "counted").status, 0)
        XCTAssertEqual(try reloads(), 2)
    }

    /// A module written in Swift (`NAME.swift`, importing CRemap).
    static func swiftVersioned(_ value: Int) -> String {
        """
        import CRemap
        @_cdecl("rm_module_abi") public func moduleABI() -> UInt32 { UInt32(RM_ABI_VERSION) }
        @_cdecl("rm_module_init") public func moduleInit(_ m: OpaquePointer) -> Int32 {
            let version: rm_cfunction = { _, _, _ in rm_int(\(value)) }
            return rm_def_function(m, "version", version, 0) == nil ? -1 : 0
        }
        """
    }

    /// `.swift` sources and sources in subfolders (dotted modules) are built,
    /// loaded, watched and reloaded like a top-level `.c`.
    func testSwiftAndSubfolderModulesAreBuiltAndWatched() throws {
        try FileManager.default.createDirectory(atPath: folder.path + "/game", withIntermediateDirectories: true)
        try write("greet.swift", Self.swiftVersioned(1))
        try write("game/physics.c", Self.versioned("10"))
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "greet.version").stdout, "1\n", host.log)
        XCTAssertEqual(try ctl("call", "game.physics.version").stdout, "10\n", host.log)

        try write("greet.swift", Self.swiftVersioned(2))
        XCTAssertTrue(host.waitFor("reloaded greet 1 -> 2"), host.log)
        XCTAssertEqual(try ctl("call", "greet.version").stdout, "2\n")
        try write("game/physics.c", Self.versioned("11"))
        XCTAssertTrue(host.waitFor("reloaded game.physics 1 -> 2"), host.log)
        XCTAssertEqual(try ctl("call", "game.physics.version").stdout, "11\n")

        // A Swift compile error keeps the old code, with swiftc's message.
        try write("greet.swift", "import CRemap\nlet x: Int = \"no\"\n")
        XCTAssertTrue(host.waitFor("build of greet failed"), host.log)
        XCTAssertTrue(host.log.contains("error:"), host.log)
        XCTAssertEqual(try ctl("call", "greet.version").stdout, "2\n")

        // A new module in a new subfolder is loaded for the first time.
        try FileManager.default.createDirectory(atPath: folder.path + "/game/ai", withIntermediateDirectories: true)
        try write("game/ai/brain.c", Self.versioned("3"))
        XCTAssertTrue(host.waitFor("loaded game.ai.brain"), host.log)
        XCTAssertEqual(try ctl("call", "game.ai.brain.version").stdout, "3\n", host.log)
    }

    // MARK: - How editors save (issue 23)

    /// Saves `text` as an editor that saves atomically does: the whole text
    /// to a temporary file, renamed over the source.
    func saveByRename(_ file: String, _ text: String) throws {
        let target = folder.path + "/" + file
        let temporary = (target as NSString).deletingLastPathComponent + "/."
            + (target as NSString).lastPathComponent + ".swp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(temporary, target), 0)
    }

    /// Rewrites `file` in place (truncate, write, close), in `parts` writes
    /// with `pause` seconds between them, as an editor without atomic saves
    /// or a slow copy does.
    func rewriteInPlace(_ file: String, _ text: String, parts: Int = 1, pause: TimeInterval = 0) throws {
        guard let handle = FileHandle(forWritingAtPath: folder.path + "/" + file) else {
            return XCTFail("cannot open \(file)")
        }
        try handle.truncate(atOffset: 0)
        let bytes = Array(text.utf8)
        let step = (bytes.count + parts - 1) / parts
        for start in stride(from: 0, to: bytes.count, by: step) {
            try handle.write(contentsOf: bytes[start..<min(bytes.count, start + step)])
            if pause > 0 { usleep(useconds_t(pause * 1_000_000)) }
        }
        try handle.close()
    }

    /// Replaces `file`'s content with `text` (of the same length) and sets
    /// its modification time back to what it was, to the nanosecond, as
    /// `cp -p`, `tar x` or `touch -r` leave a file.
    func replaceKeepingSizeAndTime(_ file: String, _ text: String) throws {
        let path = folder.path + "/" + file
        var before = stat()
        XCTAssertEqual(stat(path, &before), 0)
        XCTAssertEqual(Int(before.st_size), text.utf8.count, "the new text must have the old size")
        try rewriteInPlace(file, text)
        var times = [before.st_atim, before.st_mtim]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0)
        var after = stat()
        XCTAssertEqual(stat(path, &after), 0)
        XCTAssertEqual(after.st_size, before.st_size)
        XCTAssertEqual(after.st_mtim.tv_sec, before.st_mtim.tv_sec)
        XCTAssertEqual(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec)
    }

    /// Sets `path`'s times to now, as `touch` does.
    func touch(_ path: String) {
        XCTAssertEqual(utimensat(AT_FDCWD, path, nil, 0), 0, path) // no times: both now
    }

    /// Waits for a line of the host's log that holds every one of `parts`.
    func waitForLine(_ host: HostProcess, with parts: [String], timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if host.log.split(separator: "\n").contains(where: { line in parts.allSatisfy { line.contains($0) } }) {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    /// How many times the host has built `module` (the watcher's log lines).
    func builds(_ host: HostProcess, _ module: String) -> Int {
        host.log.components(separatedBy: "] built \(module) in ").count - 1
    }

    /// A save by rename (write a temporary file, rename it over the source:
    /// what most editors do) is running within seconds, without waiting for
    /// a poll or a quiet period.
    func testSaveByRenameIsRunning() throws {
        try write("saved.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("with inotify", timeout: 10), "events, not polling:\n\(host.log)")
        for n in 2...4 {
            try saveByRename("saved.c", Self.versioned("\(n)"))
            XCTAssertTrue(try waitForCall("saved.version", "\(n)", timeout: 30), "save \(n):\n\(host.log)")
        }
        XCTAssertEqual(builds(host, "saved"), 3, host.log)
    }

    /// A save that rewrites the file in place (truncate, write, close) is
    /// built once it is closed.
    func testSaveByRewriteInPlaceIsRunning() throws {
        try write("inplace.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        try rewriteInPlace("inplace.c", Self.versioned("2"))
        XCTAssertTrue(try waitForCall("inplace.version", "2", timeout: 30), host.log)
    }

    /// A save in two steps (half the text, a pause, the rest, then close:
    /// a slow writer) ends with the whole text running, whatever was built
    /// from the first half.
    func testSaveInTwoStepsEndsWithTheWholeText() throws {
        try write("steps.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        try rewriteInPlace("steps.c", Self.versioned("2"), parts: 2, pause: 0.3)
        XCTAssertTrue(try waitForCall("steps.version", "2", timeout: 30), host.log)
        // And the same through two closes: the first half saved on its own
        // (it does not compile), the whole text after.
        let whole = Self.versioned("3")
        let half = String(whole.prefix(whole.count / 2))
        try rewriteInPlace("steps.c", half)
        usleep(300_000)
        try rewriteInPlace("steps.c", whole)
        XCTAssertTrue(try waitForCall("steps.version", "3", timeout: 30), host.log)
        sleep(1)
        XCTAssertEqual(try ctl("call", "steps.version").stdout, "3\n", host.log)
    }

    /// Guards issue 20 item 8: an edit that keeps the file's size and
    /// modification time (`cp -p`, `tar x`, `touch -r`) was never seen,
    /// because changes were keyed by (mtime, size); it stayed stale until
    /// the next touch. Content hashes keyed by a stamp with the change time
    /// see it, with events and with the polling fallback.
    func testEditKeepingSizeAndTimeIsReloaded() throws {
        try write("kept.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        try replaceKeepingSizeAndTime("kept.c", Self.versioned("2"))
        XCTAssertTrue(try waitForCall("kept.version", "2", timeout: 20), "the edit was not seen:\n\(host.log)")
    }

    /// The same edit made while no host runs: the next host builds it,
    /// though the library left by the last one is newer than the source.
    func testEditKeepingSizeAndTimeWhileStoppedIsBuiltAtStart() throws {
        try write("kept.c", Self.versioned("1"))
        let first = try startHost()
        XCTAssertEqual(try ctl("call", "kept.version").stdout, "1\n", first.log)
        first.stop()
        try replaceKeepingSizeAndTime("kept.c", Self.versioned("2"))
        let second = try startHost()
        defer { second.stop() }
        XCTAssertEqual(try ctl("call", "kept.version").stdout, "2\n", second.log)
        // And a host that finds its library up to date builds nothing.
        second.stop()
        let third = try startHost()
        defer { third.stop() }
        XCTAssertFalse(third.log.contains("built kept"), third.log)
        XCTAssertEqual(try ctl("call", "kept.version").stdout, "2\n", third.log)
    }

    func testEditKeepingSizeAndTimeIsReloadedWhenPolling() throws {
        try write("kept.c", Self.versioned("1"))
        let host = try startHost(environment: ["REMAP_WATCH_POLL": "1"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("polling for changes every 200 ms: REMAP_WATCH_POLL is set", timeout: 10), host.log)
        try replaceKeepingSizeAndTime("kept.c", Self.versioned("2"))
        XCTAssertTrue(try waitForCall("kept.version", "2", timeout: 20), "the edit was not seen:\n\(host.log)")
        // Polling still builds a plain save, and a touch builds nothing.
        try saveByRename("kept.c", Self.versioned("3"))
        XCTAssertTrue(try waitForCall("kept.version", "3", timeout: 20), host.log)
        let built = builds(host, "kept")
        touch(folder.path + "/kept.c")
        sleep(1)
        XCTAssertEqual(builds(host, "kept"), built, host.log)
    }

    /// A header included by three modules: one save of it builds all three
    /// (in parallel) and reloads them in one transaction, each built once.
    func testSharedHeaderRebuildsEveryIncluderTogether() throws {
        try write("shared.h", "#define VALUE 1\n")
        for module in ["one", "two", "three"] { try write(module + ".c", Self.versioned("VALUE", include: "shared.h")) }
        let host = try startHost()
        defer { host.stop() }
        try saveByRename("shared.h", "#define VALUE 2\n")
        XCTAssertTrue(waitForLine(host, with: ["] reloaded ", "one 1 -> 2", "two 1 -> 2", "three 1 -> 2"]), host.log)
        for module in ["one", "two", "three"] {
            XCTAssertEqual(try ctl("call", module + ".version").stdout, "2\n", host.log)
            XCTAssertEqual(builds(host, module), 1, host.log)
        }
    }

    /// A new source in a new subfolder, made at once with its folders (the
    /// watcher has no watch on them yet), is built and loaded.
    func testNewFileInNewSubfolderIsLoaded() throws {
        try write("base.c", Self.versioned("1"))
        let host = try startHost()
        defer { host.stop() }
        try FileManager.default.createDirectory(atPath: folder.path + "/world/zone", withIntermediateDirectories: true)
        try write("world/zone/gate.c", Self.versioned("4"))
        XCTAssertTrue(try waitForCall("world.zone.gate.version", "4", timeout: 30), host.log)
        // And its later saves are watched.
        try saveByRename("world/zone/gate.c", Self.versioned("5"))
        XCTAssertTrue(try waitForCall("world.zone.gate.version", "5", timeout: 30), host.log)
    }

    /// A touch, a save of the same text, or times set back change no byte:
    /// nothing is built.
    func testTouchWithoutChangeBuildsNothing() throws {
        try write("still.h", "#define VALUE 1\n")
        try write("still.c", Self.versioned("VALUE", include: "still.h"))
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "still.version").stdout, "1\n", host.log)
        touch(folder.path + "/still.c")
        touch(folder.path + "/still.h")
        try saveByRename("still.c", Self.versioned("VALUE", include: "still.h"))
        try rewriteInPlace("still.h", "#define VALUE 1\n")
        sleep(1)
        XCTAssertEqual(builds(host, "still"), 0, host.log)
        XCTAssertFalse(host.log.contains("reloaded still"), host.log)
    }

    /// `--fast-build` compiles with ModuleCompiler.fastBuildFlags instead of
    /// -O2 -g (seen through a CC wrapper that records its arguments), and
    /// $CFLAGS still comes last.
    func testFastBuildCompilesWithoutOptimization() throws {
        let wrapper = folder.path + "/tools/recordcc"
        try FileManager.default.createDirectory(atPath: folder.path + "/tools", withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$@\" >> '\(folder.path)/tools/args'\nexec cc \"$@\"\n"
            .write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        try write("quick.c", Self.versioned("1"))
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: ["--watch", "--fast-build"],
                                   environment: ["CC": wrapper, "CFLAGS": "-DEXTRA=1"])
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)
        XCTAssertEqual(try ctl("call", "quick.version").stdout, "1\n", host.log)
        let args = try String(contentsOfFile: folder.path + "/tools/args", encoding: .utf8)
        XCTAssertTrue(args.contains(" -O0 -g "), args)
        XCTAssertFalse(args.contains("-O2"), args)
        XCTAssertTrue(args.contains("-DEXTRA=1"), args)
    }

    /// `reloadctl build` builds `.swift` files, and a folder's subfolders
    /// into the same layout; two sources for one module are refused.
    func testBuildSwiftFileAndFolderWithSubfolders() throws {
        try write("greet.swift", Self.swiftVersioned(5))
        let single = try Processes.reloadctl("build", folder.path + "/greet.swift")
        XCTAssertEqual(single.status, 0, single.stdout + single.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path + "/greet.so"))

        try FileManager.default.createDirectory(atPath: folder.path + "/src/game", withIntermediateDirectories: true)
        try Self.swiftVersioned(6).write(toFile: folder.path + "/src/greet.swift", atomically: true, encoding: .utf8)
        try Self.versioned("7").write(toFile: folder.path + "/src/game/physics.c", atomically: true, encoding: .utf8)
        let tree = try Processes.reloadctl("build", folder.path + "/src", "-o", folder.path + "/out")
        XCTAssertEqual(tree.status, 0, tree.stdout + tree.stderr)
        for library in ["out/greet.so", "out/game/physics.so"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path + "/" + library), library)
        }

        try Self.versioned("8").write(toFile: folder.path + "/src/greet.c", atomically: true, encoding: .utf8)
        let twice = try Processes.reloadctl("build", folder.path + "/src")
        XCTAssertNotEqual(twice.status, 0)
        XCTAssertTrue(twice.stderr.contains("two sources"), twice.stderr)
    }

    /// `reloadctl build` on a folder without sources says so and fails.
    func testBuildOfEmptyFolderFails() throws {
        try write("notes.txt", "nothing to build")
        let result = try Processes.reloadctl("build", folder.path)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no modules"), result.stderr)
    }
}
