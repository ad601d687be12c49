import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder of modules made from examples/particles, saved into
/// the way an editor saves: the whole new text to a hidden temporary file,
/// then renamed over the old one.
struct Workspace {
    let folder: String
    let socket: String
    /// Where the compiler alone writes (outside the watched folder).
    let scratch: String

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    init(name: String) throws {
        let base = NSTemporaryDirectory() + "watch-bench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        folder = base + "/modules"
        scratch = base + "/scratch"
        socket = base + "/sock/host.sock"
        for dir in [folder, scratch, base + "/sock"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: (folder as NSString).deletingLastPathComponent)
    }

    /// examples/particles/particles.c with one more function,
    /// `watch_bench_version()`, returning `version` (a C expression), and
    /// the `include`d header if given: the same compile work as the example.
    static func particles(version: String, include: String? = nil) throws -> String {
        let path = packageRoot.appendingPathComponent("examples/particles/particles.c").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let initializer = "int rm_module_init(rm_builder *m) {\n"
        guard let at = text.range(of: initializer) else { throw BenchError("\(path) has no rm_module_init") }
        let function = """
            \(include.map { "#include \"\($0)\"\n" } ?? "")\
            static rm_object *watch_bench_version(rm_object *self, rm_object *const *args, size_t nargs) {
                return rm_int(\(version));
            }

            """
        text.replaceSubrange(at, with: function + initializer
            + "    if (!rm_def_function(m, \"watch_bench_version\", watch_bench_version, 0)) return -1;\n")
        return text
    }

    /// Saves `text` as `file` by writing a temporary file and renaming it
    /// over; returns the time of the rename (nowMs).
    @discardableResult
    func save(_ file: String, _ text: String) throws -> Double {
        let target = folder + "/" + file
        let temporary = folder + "/." + file + ".watch-bench"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, target) == 0 else { throw BenchError("cannot rename over \(target)") }
        return nowMs()
    }
}
