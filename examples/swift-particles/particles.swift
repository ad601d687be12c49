// particles: the simulation of examples/particles, written in Swift.
//
//   reloadctl run examples/swift-particles --entry particles.run --watch
//
// Edit `step` (try `x = (x + 2 * v) % 1000`), add a stored property with a
// default (`var mass: Double = 1.0`), rename one (`@Renamed(from: "v") var
// speed: Int = 0`), save: the running program keeps its 100,000 particles
// and their values, migrated to the new layout (docs/swift-modules.md).
import RemapModule

@Module
enum particles {
    @Reloadable
    struct Particle {
        var x: Int = 0
        var v: Int = 0

        func step() {
            x = (x + v) % 1000
            if x < 0 { x += 1000 }
        }
    }

    @State static var world = HeapList<Particle>()
    @State static var clock = 0

    static func spawn(_ n: Int) throws -> Int {
        guard n >= 0 else { throw RemapError.valueError("cannot spawn \(n) particles") }
        for i in 0..<n { try world.append(Particle(x: i % 1000, v: i % 5 - 2)) }
        return world.count
    }

    static func tick() {
        for p in world { p.step() }
        clock += 1
    }

    static func report() -> String {
        let sum = world.reduce(0) { $0 + $1.x }
        let mean = world.isEmpty ? 0 : Double(sum) / Double(world.count)
        return "tick \(clock): \(world.count) particles, mean position \(mean)"
    }

    /// The main loop: it calls through `live`, so each round runs the
    /// newest tick and report; sleeping lets reloads in.
    static func run() throws {
        if world.isEmpty { try live.spawn(100_000) }
        while true {
            try live.tick()
            if clock % 5 == 0 { print(try live.report()) }
            Remap.sleep(0.2)
        }
    }
}
