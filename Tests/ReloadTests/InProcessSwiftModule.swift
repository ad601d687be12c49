// A @Module compiled into the test process (not a .so): defined in process
// with ModuleBuilder.define (SwiftInProcessModuleTests). Only RemapModule
// is imported here: the rest of the tests see the C API through CRemap.
import RemapModule

/// Set by a test to make the next reload's module hook throw.
nonisolated(unsafe) var inprocFailReload = false

@Module(exports: false)
enum inproc {
    @Reloadable
    struct Point {
        var x: Int = 0
        var label: String = "p"

        func bump(_ by: Int = 1) { x += by }
    }

    @State static var points = HeapList<Point>()

    static func add(_ x: Int) throws -> Int {
        try points.append(Point(x: x, label: "p\(points.count)"))
        return points.count
    }

    static func sum() -> Int { points.reduce(0) { $0 + $1.x } }

    static func reload(old: OldNamespace) throws {
        if inprocFailReload { throw RemapError.runtimeError("refused by the test") }
    }
}
