# bench.py: the workloads of module-bench in CPython, the same logic as
# bench.c. Prints one JSON object: workload -> [ns per operation, checksum].
import json, sys, time

WORLD = 1000

class Particle:
    __slots__ = ("x", "v")
    def __init__(self):
        self.x = 0
        self.v = 0
    def step(self):
        self.x = (self.x + self.v) % WORLD

def make(n):
    world = []
    for i in range(n):
        p = Particle()
        p.x = i % WORLD
        p.v = i % 5 - 2
        world.append(p)
    return world

def particle_step(world, rounds):
    for _ in range(rounds):
        for p in world:
            p.step()
    return sum(p.x for p in world)

def getattr_int(world, rounds):
    s = 0
    for _ in range(rounds):
        for p in world:
            s += p.x
    return s

def f(i):
    return i + 1

def call(n):
    s = 0
    for i in range(n):
        s += f(i & 1023)
    return s

KEYS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]

def dict_str(n):
    d = {}
    for i in range(n):
        k = KEYS[i % 10]
        d[k] = d.get(k, 0) + 1
    return len(d)

def alloc(n):
    s = 0
    for _ in range(n):
        p = Particle()
        s += 2
    return s

def timed(fn, *args, ops):
    best = None
    for _ in range(3):
        t = time.perf_counter()
        r = fn(*args)
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return [best * 1e9 / ops, r]

def main():
    n, rounds, calls = (int(a) for a in sys.argv[1:4])
    world = make(n)
    out = {
        "particle_step": timed(particle_step, world, rounds, ops=n * rounds),
        "getattr_int": timed(getattr_int, world, rounds, ops=n * rounds),
        "call": timed(call, calls, ops=calls),
        "dict_str": timed(dict_str, calls, ops=calls),
        "alloc": timed(alloc, calls, ops=calls),
    }
    out["particle_step_fast"] = out["particle_step"]
    print(json.dumps(out))

main()
