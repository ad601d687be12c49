import Foundation

/// What a definition removed by a new version becomes.
public enum RemovedPolicy: String, Codable, Sendable, CaseIterable {
    /// The old definition stays, bound in the new namespace.
    case keep
    /// Functions become tombstones that fail with "removed in generation N";
    /// classes and values are kept.
    case tombstone
    /// The reload fails and nothing changes.
    case refuse
}

/// What happens when keys of a dict or set become equal after a remap (two
/// old classes replaced by one new class, say).
public enum CollisionPolicy: String, Codable, Sendable, CaseIterable {
    /// The entry inserted last wins; the count is in the report.
    case keepNewer = "keep-newer"
    /// The entry inserted first wins, key and value: the older binding
    /// stays and the later one is dropped; the count is in the report.
    case keepOlder = "keep-older"
    /// The reload is rolled back.
    case refuse

    /// The policy a user names: keep-new, keep-old or refuse (the raw
    /// values keep-newer and keep-older are accepted too); nil otherwise.
    public init?(userName: String) {
        switch userName {
        case "keep-new", "keep-newer": self = .keepNewer
        case "keep-old", "keep-older": self = .keepOlder
        case "refuse": self = .refuse
        default: return nil
        }
    }

    /// What the CLI calls it: keep-new, keep-old or refuse.
    public var userName: String {
        switch self {
        case .keepNewer: return "keep-new"
        case .keepOlder: return "keep-old"
        case .refuse: return "refuse"
        }
    }
}

public struct ReloadOptions: Codable, Sendable, Equatable {
    /// Also reload the modules that import a reloaded module, after it.
    public var cascade: Bool
    public var onRemoved: RemovedPolicy
    public var onCollision: CollisionPolicy

    public init(cascade: Bool = false, onRemoved: RemovedPolicy = .keep, onCollision: CollisionPolicy = .keepNewer) {
        self.cascade = cascade
        self.onRemoved = onRemoved
        self.onCollision = onCollision
    }
}

/// What a reload did, phase by phase.
public struct ReloadReport: Codable, Sendable {
    public struct Module: Codable, Sendable, Equatable {
        public var name: String
        public var fromGeneration: Int
        public var toGeneration: Int
        public var path: String?

        public init(name: String, fromGeneration: Int, toGeneration: Int, path: String?) {
            self.name = name
            self.fromGeneration = fromGeneration
            self.toGeneration = toGeneration
            self.path = path
        }

        /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
        enum CodingKeys: String, CodingKey {
            case name, fromGeneration = "from_generation", toGeneration = "to_generation", path
        }
    }

    /// Milliseconds spent in each phase.
    public struct Phases: Codable, Sendable {
        /// Closing libraries of earlier generations that nothing runs (a heap
        /// walk, done only if a collection ran since the last look).
        public var closeLibraries = 0.0
        public var load = 0.0
        public var match = 0.0
        public var moduleHooks = 0.0
        public var remap = 0.0
        public var rehash = 0.0
        public var instances = 0.0
        public var publish = 0.0
        /// Ending the transaction: the removed fields' values kept for a
        /// rollback are cleared.
        public var commit = 0.0
        public var total = 0.0

        /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
        /// In the order a reload runs them: what `named` lists.
        enum CodingKeys: String, CodingKey, CaseIterable {
            case closeLibraries = "close_libraries", load, match, moduleHooks = "module_hooks", remap
            case rehash, instances, publish, commit, total
        }

        /// Every phase but the total, by its wire name, in the order a
        /// reload runs them: what reloadctl prints and reload-bench reports
        /// (as NAME_ms), spelled once, here.
        public var named: [(name: String, milliseconds: Double)] {
            CodingKeys.allCases.filter { $0 != .total }.map { ($0.rawValue, self[$0]) }
        }

        private subscript(key: CodingKeys) -> Double {
            switch key {
            case .closeLibraries: closeLibraries
            case .load: load
            case .match: match
            case .moduleHooks: moduleHooks
            case .remap: remap
            case .rehash: rehash
            case .instances: instances
            case .publish: publish
            case .commit: commit
            case .total: total
            }
        }
    }

    /// What the reload did to the instances of one replaced class.
    public struct ClassMigration: Codable, Sendable, Equatable {
        /// module.Class
        public var name: String
        /// Old instances whose class the walk replaced.
        public var instances: Int
        /// Moved to the new field layout during the walk, in their own
        /// memory, and given no attribute dict after it.
        public var inPlace: Int
        /// Without room for the new layout: fields moved to the attribute dict.
        public var moved: Int
        /// Migrated during the walk, then given an attribute dict by a field
        /// initializer or a class hook that set an attribute no slot holds.
        public var givenDict: Int = 0
        /// Field initializer calls.
        public var initialized: Int
        public var hooksRun: Int
        /// After the walk (moves, initializers, hooks), estimated from one
        /// instance in 32 timed at random; the in-place part is in the remap
        /// phase.
        public var milliseconds: Double

        /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
        enum CodingKeys: String, CodingKey {
            case name, instances, inPlace = "in_place", moved, givenDict = "given_dict", initialized
        case hooksRun = "hooks_run"
            case milliseconds
        }
    }

    public var modules: [Module] = []
    /// Definitions found in both versions and replaced (methods included).
    public var matched = 0
    public var added: [String] = []
    public var removed: [String] = []
    /// Removed definitions kept (policy keep, or classes and values).
    public var kept: [String] = []
    public var tombstoned: [String] = []
    /// Import bindings of values, in modules not rebuilt, rebound by name
    /// to the new value ("shop.TAX_BP").
    public var rebound: [String] = []
    public var objectsVisited = 0
    public var slotsRewritten = 0
    public var handlesRewritten = 0
    public var walkThreads = 0
    public var tablesRehashed = 0
    public var keyCollisions = 0
    public var instancesMigrated = 0
    public var instanceHooksRun = 0
    public var fieldsInitialized = 0
    /// Per replaced class with live instances.
    public var classes: [ClassMigration] = []
    public var moduleHooksRun = 0
    public var librariesClosed = 0
    public var phases = Phases()

    /// The wire keys (snake_case), spelled out: the control protocol uses no key strategy.
    enum CodingKeys: String, CodingKey {
        case modules, matched, added, removed, kept, tombstoned, rebound, objectsVisited = "objects_visited"
        case slotsRewritten = "slots_rewritten", handlesRewritten = "handles_rewritten"
        case walkThreads = "walk_threads", tablesRehashed = "tables_rehashed"
        case keyCollisions = "key_collisions", instancesMigrated = "instances_migrated"
        case instanceHooksRun = "instance_hooks_run", fieldsInitialized = "fields_initialized", classes
        case moduleHooksRun = "module_hooks_run", librariesClosed = "libraries_closed", phases
    }
}

extension JSONEncoder {
    /// The protocol's encoder (`ControlProtocol.encoder`), under its old
    /// name. It once converted keys to snake_case, which would have
    /// rewritten the keys of a `JSONValue` object (data, not names): every
    /// type spells its wire keys in its CodingKeys instead.
    @available(*, deprecated, renamed: "ControlProtocol.encoder")
    public static var remap: JSONEncoder { ControlProtocol.encoder }
}
