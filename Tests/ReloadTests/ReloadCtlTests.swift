import Foundation
import Reload
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// reloadctl as a user runs it: a host started with `reloadctl run` as a child
/// process, driven by `reloadctl` clients and by raw bytes on its socket.
/// Bad input on the socket is in ReloadCtlTests+BadInput.swift; concurrency,
/// timeouts and exit codes in ReloadCtlTests+Concurrency.swift.
final class ReloadCtlTests: HostTestCase {
    /// counter: state `count` kept across reloads; bump() returns count*FACTOR.
    static func counter(factor: Int) -> String {
        """
        #include <remap/module.h>
        RM_MODULE_ABI;
        static rm_object *box(rm_object *fn) { return rm_dict_get_str(rm_module_dict(rm_function_module(fn)), "count"); }
        static rm_object *bump(rm_object *self, rm_object *const *args, size_t nargs) {
            int64_t n;
            if (rm_int_check(rm_list_get(box(self), 0), &n) < 0) return NULL;
            n++;
            if (rm_list_set(box(self), 0, rm_int(n)) < 0) return NULL;
            return rm_int(n * \(factor));
        }
        static rm_object *peek(rm_object *self, rm_object *const *args, size_t nargs) {
            return rm_list_get(box(self), 0);
        }
        static rm_object *echo(rm_object *self, rm_object *const *args, size_t nargs) {
            rm_object *list = rm_list_new(nargs);
            for (size_t i = 0; list && i < nargs; i++) if (rm_list_append(list, args[i]) < 0) return NULL;
            return list;
        }
        int rm_module_init(rm_builder *m) {
            rm_object *count = rm_list_new(1);
            if (!count || rm_list_append(count, rm_int(0)) < 0 || !rm_def_state(m, "count", count)) return -1;
            if (!rm_def_function(m, "bump", bump, 0) || !rm_def_function(m, "peek", peek, 0)) return -1;
            return rm_def_function(m, "echo", echo, -1) ? 0 : -1;
        }
        """
    }

    /// Writes the counter source into the host's folder, with a modification
    /// time that differs from the previous write's.
    func writeCounter(factor: Int, bumpTime: Bool = false) throws {
        let path = folder.path + "/counter.c"
        try Self.counter(factor: factor).write(toFile: path, atomically: true, encoding: .utf8)
        if bumpTime {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(2)], ofItemAtPath: path)
        }
    }

    func startHost(_ extra: [String] = []) throws -> HostProcess {
        let host = try HostProcess(folder: folder.path, socket: socketPath, extra: extra)
        XCTAssertTrue(host.waitFor("serving"), "host did not start:\n\(host.log)")
        return host
    }

    func testRunCallEditReloadKeepsState() throws {
        try writeCounter(factor: 1)
        let host = try startHost()
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "2\n")

        try writeCounter(factor: 10, bumpTime: true)
        let reload = try ctl("reload", "counter")
        XCTAssertEqual(reload.status, 0, reload.stderr)
        XCTAssertTrue(reload.stdout.contains("reloaded counter 1 -> 2"), reload.stdout)
        XCTAssertTrue(reload.stdout.contains("phases:"), reload.stdout)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "30\n", "new code, old state")

        let echo = try ctl("call", "counter.echo", "\"a\"", "2", "[1,2]", "word")
        XCTAssertEqual(echo.stdout, "[\"a\",2,[1,2],\"word\"]\n")

        let status = try ctl("status", "--json")
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((json?["modules"] as? [[String: Any]])?.first?["generation"] as? Int, 2)
        XCTAssertTrue(try ctl("modules").stdout.contains("counter"))
        XCTAssertTrue(try ctl("stats").stdout.contains("objects"))
        XCTAssertEqual(try ctl("ping").stdout, "pong\n")

        let missing = try ctl("reload", "nosuch")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("module nosuch is not loaded"), missing.stderr)
        let badName = try ctl("reload", "../../etc/passwd")
        XCTAssertNotEqual(badName.status, 0)
        XCTAssertTrue(badName.stderr.contains("invalid module name"), badName.stderr)

        // A broken source: the build error comes back and the old code runs on.
        try "this is not C".write(toFile: folder.path + "/counter.c", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(4)], ofItemAtPath: folder.path + "/counter.c")
        let broken = try ctl("reload", "counter")
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("build"), broken.stderr)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "40\n")
    }

    func testWatchRebuildsAndReloadsOnSave() throws {
        try writeCounter(factor: 1)
        let host = try startHost(["--watch"])
        defer { host.stop() }
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "1\n")
        try writeCounter(factor: 100, bumpTime: true)
        XCTAssertTrue(host.waitFor("reloaded counter 1 -> 2", timeout: 60), host.log)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "200\n")
        // A save that does not compile is reported; the running code stays.
        try "int x = ;".write(toFile: folder.path + "/counter.c", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(4)], ofItemAtPath: folder.path + "/counter.c")
        XCTAssertTrue(host.waitFor("build of counter failed", timeout: 60), host.log)
        XCTAssertEqual(try ctl("call", "counter.bump").stdout, "300\n")
    }

    func testDemoRunsAndExitsZero() throws {
        let result = try Processes.run(Processes.reloadctl, ["demo", "--particles", "20000"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("reloaded particles 1 -> 2"), result.stdout)
        XCTAssertTrue(result.stdout.contains("version 2 still answers"), result.stdout)
    }

    func testBuildAndCflags() throws {
        try writeCounter(factor: 1)
        let built = try Processes.reloadctl("build", folder.path + "/counter.c", "-o", folder.path + "/out.so")
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.path + "/out.so"))
        try "int broken(void) { return }".write(toFile: folder.path + "/bad.c", atomically: true, encoding: .utf8)
        let failed = try Processes.reloadctl("build", folder.path + "/bad.c")
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.stderr.contains("error"), "the compiler's own messages: \(failed.stderr)")
        let flags = try Processes.reloadctl("cflags")
        XCTAssertTrue(flags.stdout.contains("-fPIC") && flags.stdout.contains("/include"), flags.stdout)
        XCTAssertTrue(try Processes.reloadctl("--version").stdout.contains(Version.string))
    }
}
