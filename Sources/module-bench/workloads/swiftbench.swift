// The particle workload in Swift, built by module-bench with reloadctl's
// ModuleCompiler (swiftc -O, RemapModule and its macro plugin):
//   plain_swift   a Swift array of `final class` instances, ordinary Swift
//                 (-O keeps the dynamic exclusivity checks on class
//                 properties: most of its time);
//   plain_swift_unchecked  the same with @exclusivity(unchecked) fields;
//   swift_step    the same logic over @Reloadable instances in a HeapList;
//   swift_method  step called as a Remap method per particle, through the
//                 runtime and the generated glue (rm_call_method_name).
import RemapModule

final class PlainParticle {
    var x: Int
    var v: Int
    init(x: Int, v: Int) { self.x = x; self.v = v }
    func step() {
        let next = (x + v) % 1000
        x = next < 0 ? next + 1000 : next
    }
}

/// The same without the dynamic exclusivity checks.
final class UncheckedParticle {
    @exclusivity(unchecked) var x: Int
    @exclusivity(unchecked) var v: Int
    init(x: Int, v: Int) { self.x = x; self.v = v }
    func step() {
        let next = (x + v) % 1000
        x = next < 0 ? next + 1000 : next
    }
}

nonisolated(unsafe) var plain: [PlainParticle] = []
nonisolated(unsafe) var unchecked: [UncheckedParticle] = []
nonisolated(unsafe) var stepName: HeapPointer? = nil

@Module
enum swiftbench {
    @Reloadable
    struct Particle {
        var x: Int = 0
        var v: Int = 0
        func step() {
            let next = (x + v) % 1000
            x = next < 0 ? next + 1000 : next
        }
    }

    @State static var world = HeapList<Particle>()

    static func make(_ n: Int) throws -> Int {
        for i in 0..<n { try world.append(Particle(x: i % 1000, v: i % 5 - 2)) }
        plain = (0..<n).map { PlainParticle(x: $0 % 1000, v: $0 % 5 - 2) }
        unchecked = (0..<n).map { UncheckedParticle(x: $0 % 1000, v: $0 % 5 - 2) }
        return world.count
    }

    static func plain_swift(_ rounds: Int) -> Int {
        let particles = plain
        for _ in 0..<rounds { for p in particles { p.step() } }
        return particles.reduce(0) { $0 + $1.x }
    }

    static func plain_swift_unchecked(_ rounds: Int) -> Int {
        let particles = unchecked
        for _ in 0..<rounds { for p in particles { p.step() } }
        return particles.reduce(0) { $0 + $1.x }
    }

    static func swift_step(_ rounds: Int) -> Int {
        let particles = world
        for _ in 0..<rounds { for p in particles { p.step() } }
        return particles.reduce(0) { $0 + $1.x }
    }

    static func swift_method(_ rounds: Int) throws -> Int {
        if stepName == nil { stepName = rm_name("step") }
        let particles = world
        for _ in 0..<rounds {
            for p in particles where rm_call_method_name(p._remapObject, stepName, nil, 0) == nil {
                throw RemapError.pending()
            }
        }
        return particles.reduce(0) { $0 + $1.x }
    }
}
