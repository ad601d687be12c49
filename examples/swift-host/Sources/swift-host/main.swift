// A host written in Swift: an in-process module defined in Swift, a native
// module from a folder, the control socket, and a main loop with safe points.
//
//   swift run swift-host [modules-folder] [--serve SOCKET] [--seconds N]
import Foundation
import Reload

let arguments = CommandLine.arguments
let folder = arguments.count > 1 && !arguments[1].hasPrefix("--") ? arguments[1] : nil
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}

let runtime = try Runtime.start()
let loader = ModuleLoader()
if let folder { loader.addSearchPath(folder) }

// A module written in Swift: reloading it runs whatever definition was
// registered last (here the same one; a real host would swap it in).
loader.define(ModuleDefinition("greetings") { m in
    let greeter = try m.defineClass("Greeter")
    try m.field(greeter, "name", default: try Objects.string("world"))
    try m.method(greeter, "greet", arity: 0) { this, _ in
        try Objects.string("hello, \(try Objects.stringValue(try Objects.getAttribute(this, "name")))")
    }
    try m.state("greeted", try Objects.int(0))
})

// Work on the heap happens in withLock, through the Heap it hands over.
// Objects are raw pointers valid inside it; the greeter outlives it as a
// Ref, a handle the reload rewrites to the new class's instance.
let greeter: Ref
do {
    greeter = try runtime.withLock { heap in
        try loader.load("greetings")
        let greeter = try heap.call(try loader.resolve("greetings.Greeter"))
        print(try heap.stringValue(heap.callMethod(greeter, "greet")))
        if folder != nil {
            try loader.load("counter")
            print("counter.bump() = \(try heap.intValue(loader.call("counter.bump")))")
        }
        return try heap.ref(greeter)
    }
    try runtime.withLock { heap in
        let report = try loader.reload(["greetings"])
        print("reloaded greetings to generation \(report.modules[0].toGeneration) in \(String(format: "%.2f", report.phases.total)) ms")
        print(try heap.stringValue(heap.callMethod(try heap.object(greeter), "greet")))
    }
} catch let error as RemapError {
    // One error type: a failed load or reload left the old code running.
    print("error: \(error)\(error.isLoadFailure ? " (the previous code keeps running)" : "")")
    exit(1)
}

// Serve the control socket while a main loop runs with safe points.
if let socket = option("--serve") {
    let server = try ControlServer(loader: loader, path: socket)
    server.start()
    print("serving \(socket)")
    let deadline = Date().addingTimeInterval(Double(option("--seconds") ?? "5") ?? 5)
    try runtime.withLock { heap in
        while Date() < deadline {
            // ... the host's own work on the heap ...
            try heap.safePoint() // lets a waiting reload or request run
            usleep(10_000)
        }
    }
    server.stop()
}
print("done")
