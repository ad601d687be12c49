import CRemap
import CRemapLoader
import Foundation

/// The reload transaction.
///
/// 1. build the new version of every module into fresh, unpublished modules
///    (each init runs under the crash guard);
/// 2. match old and new definitions by qualified name and apply the policy;
/// 3. run each module's `__reload__(old_namespace)` hook (guarded);
/// 4. rebase the classes, in any module, that inherit from a replaced class;
/// 5. remap old -> new in one walk (all modules together);
/// 6. rehash the dicts and sets whose keys were rewritten;
/// 7. move old instances to their new class's fields and run class hooks
///    (guarded);
/// 8. publish the new generations and retire the old libraries.
/// All of it runs inside a core transaction (`rm_txn_begin`): every object
/// that existed before and was changed by any step, new code included, is
/// journaled, and the walk logs what it cannot undo by inverting the
/// mapping. Any failure, or a crash caught by the guard, rolls back all of
/// it (`rm_txn_rollback`), restores the loader's tables, and retires every
/// library the attempt opened. Call it holding the lock, where no module
/// code is running.
extension ModuleLoader {
    public func reload(_ names: [String], options: ReloadOptions = ReloadOptions()) throws -> ReloadReport {
        let start = Date()
        var report = ReloadReport()
        var clock = PhaseClock()
        rm_scrub_stack()
        report.librariesClosed = Int(rm_libraries_reclaim())
        report.phases.closeLibraries = clock.lap()
        let order = try reloadOrder(names, cascade: options.cascade)
        var stepsEnd = Date()
        var result = try transaction(module: order[0]) {
            try reloadSteps(order, options: options, report: &report, clock: &clock)
            stepsEnd = Date()
            return report
        }
        // The commit (clearing what the migration kept aside) is part of
        // the reload the caller waited for.
        let end = Date()
        result.phases.commit = end.timeIntervalSince(stepsEnd) * 1000
        result.phases.total = end.timeIntervalSince(start) * 1000
        countReload()
        lastReloadReport = result
        return result
    }

    /// Runs `body` as one core transaction. On failure everything is rolled
    /// back: the heap (rm_txn_rollback), the loader's modules (first
    /// imports included) and the libraries opened, which are retired (never
    /// closed while something may still point into them).
    func transaction<T>(module: String, _ body: () throws -> T) throws -> T {
        guard rm_txn_begin() == 0 else {
            throw RemapError.runtime(module: module, cause: CoreCalls.takeError().message)
        }
        let published = modules
        openedLibraries = []
        defer {
            openedLibraries = nil
            if let mapping = transactionMapping { rm_mapping_free(mapping) }
            transactionMapping = nil
        }
        do {
            let result = try body()
            rm_txn_commit()
            return result
        } catch {
            rm_txn_rollback()
            modules = published
            for library in openedLibraries ?? [] { library.retire() }
            throw error
        }
    }

    private func reloadSteps(_ order: [String], options: ReloadOptions, report: inout ReloadReport,
                             clock: inout PhaseClock) throws {
        // 1. Build.
        var built: [(old: LoadedModule, new: LoadedModule)] = []
        defer { staged.removeAll() }
        for name in order {
            let old = modules[name]!
            let new = try build(name, previous: old)
            staged[name] = new
            built.append((old, new))
        }
        report.phases.load = clock.lap()

        // 2. Match.
        guard let mapping = rm_mapping_new() else {
            throw RemapError.runtime(module: order[0], cause: CoreCalls.takeError().message)
        }
        // Freed after the rollback or commit (transaction(module:_:)).
        transactionMapping = mapping
        var classes: [ClassChange] = []
        for pair in built {
            try match(pair.old, pair.new, mapping: mapping, options: options, classes: &classes, report: &report)
        }
        try rebindImports(of: built, report: &report)
        report.phases.match = clock.lap()

        // 3. Module hooks, with a copy of the old namespace.
        for pair in built {
            guard let hook = try Objects.lookup(pair.new.namespace, "__reload__"), rm_is_function(hook) else { continue }
            let oldNamespace = try Ref(try check(rm_dict_copy(pair.old.namespace)))
            var args: [Object?] = [oldNamespace.object]
            var crashed: Int32 = 0
            if rm_guarded_call(hook, &args, 1, "module_hook", &crashed) == nil {
                let cause = CoreCalls.takeError().message
                throw crashed != 0 ? RemapError.crashed(module: pair.new.name, phase: "__reload__ hook", cause: cause)
                    : RemapError.moduleHookFailed(module: pair.new.name, cause: cause)
            }
            report.moduleHooksRun += 1
        }
        report.phases.moduleHooks = clock.lap()

        // 4. Subclasses of replaced classes, wherever they are defined.
        let rebased = try Ref(try check(rm_mapping_add_subclasses(mapping)))
        for i in stride(from: 0, to: rm_list_size(rebased.object), by: 2) {
            let old = rm_list_get(rebased.object, i)!, new = rm_list_get(rebased.object, i + 1)!
            classes.append(ClassChange(module: Self.moduleName(ofClass: old), name: Self.className(old),
                                       old: old, new: new))
        }

        // 5. Remap.
        var remapReport = rm_remap_report()
        defer { rm_report_clear(&remapReport) }
        guard rm_txn_remap(mapping, &remapReport) == 0 else {
            throw RemapError.runtime(module: order[0], cause: CoreCalls.takeError().message)
        }
        report.objectsVisited = remapReport.objects_visited
        report.slotsRewritten = remapReport.slots_rewritten
        report.handlesRewritten = remapReport.handles_rewritten
        report.walkThreads = Int(remapReport.threads)
        report.phases.remap = clock.lap()

        // 6. Rehash.
        do {
            let (tables, collisions) = try rehash(remapReport, keep: options.onCollision == .keepOlder ? RM_KEEP_FIRST : RM_KEEP_LAST)
            report.tablesRehashed = tables
            report.keyCollisions = collisions
        } catch {
            throw RemapError.runtime(module: order[0], cause: "rehash failed: \(error)")
        }
        if report.keyCollisions > 0 && options.onCollision == .refuse {
            throw RemapError.runtime(module: order[0], cause: "\(report.keyCollisions) dict or set keys became equal after the remap and the policy refuses collisions")
        }
        report.phases.rehash = clock.lap()

        // 7. Instances.
        try migrateInstances(classes: classes, report: &report)
        report.phases.instances = clock.lap()

        // 8. Publish: nothing after this loop can fail.
        for pair in built {
            if rm_fault("publish") != 0 {
                throw RemapError.runtime(module: pair.new.name, cause: CoreCalls.takeError().message)
            }
            modules[pair.new.name] = pair.new
            report.modules.append(.init(name: pair.new.name, fromGeneration: pair.old.generation,
                                        toGeneration: pair.new.generation, path: pair.new.path))
        }
        for pair in built { pair.old.library?.retire() }
        report.phases.publish = clock.lap()
    }

    static func className(_ cls: Object) -> String {
        String(cString: rm_type_name(UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self)))
    }

    /// The module a class was defined in, for messages.
    static func moduleName(ofClass cls: Object) -> String {
        let module = UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self).pointee.cls_module
        guard let module, rm_is_module(module) else { return "?" }
        return (try? Objects.stringValue(rm_module_name(module))) ?? "?"
    }

    /// The modules to rebuild, each after the modules it imports: the named
    /// ones and, with cascade, every module that imports one of them.
    func reloadOrder(_ names: [String], cascade: Bool) throws -> [String] {
        for name in names {
            guard ModuleLoader.isValidName(name) else { throw RemapError.invalidName(name) }
            guard modules[name] != nil else { throw RemapError.notLoaded(name) }
        }
        var wanted = Set(names)
        if cascade {
            var frontier = names
            while let next = frontier.popLast() {
                for importer in importers(of: next) where !wanted.contains(importer) {
                    wanted.insert(importer)
                    frontier.append(importer)
                }
            }
        }
        // Depth-first on imports, so a module comes after what it imports.
        var order: [String] = []
        var visiting: [String] = []
        func visit(_ name: String) throws {
            if order.contains(name) { return }
            if let at = visiting.firstIndex(of: name) { throw RemapError.importCycle(visiting[at...] + [name]) }
            visiting.append(name)
            for dependency in modules[name]?.imports ?? [] where wanted.contains(dependency) {
                try visit(dependency)
            }
            visiting.removeLast()
            order.append(name)
        }
        for name in wanted.sorted() { try visit(name) }
        return order
    }

    // MARK: - Matching

    struct ClassChange {
        let module: String
        let name: String
        let old: Object
        let new: Object
    }

    /// Pairs old and new definitions of one module into the mapping and
    /// applies the removal policy. Nothing global changes here: the new
    /// namespace is still private.
    func match(_ old: LoadedModule, _ new: LoadedModule, mapping: OpaquePointer, options: ReloadOptions,
               classes: inout [ClassChange], report: inout ReloadReport) throws {
        let oldNS = old.namespace, newNS = new.namespace
        var removed: [String] = []
        func pair(_ from: Object, _ to: Object) throws {
            guard from != to, rm_is_heap_object(from), rm_mapping_lookup(mapping, from) == nil else { return }
            try check(rm_mapping_add(mapping, from, to))
        }
        for (name, kind) in old.kinds.sorted(by: { $0.key < $1.key }) {
            guard kind != RM_DEF_IMPORT, let oldValue = try Objects.lookup(oldNS, name) else { continue }
            guard let newKind = new.kinds[name], newKind != RM_DEF_IMPORT, let newValue = try Objects.lookup(newNS, name) else {
                removed.append(name)
                continue
            }
            if kind == RM_DEF_STATE || newKind == RM_DEF_STATE { continue }
            // Values are rebound by name (the new namespace holds the new
            // one; rebindImports does the importers), never remapped by
            // identity: an int or a str may be shared with the user's data,
            // which keeps what it was given. A function or class stays code
            // when its name becomes a value bound to a function or class
            // (an alias: `Round = Circle`): it is remapped as before.
            let newIsCode = rm_is_function(newValue) || rm_is_class(newValue)
            if kind == RM_DEF_VALUE || (newKind == RM_DEF_VALUE && !newIsCode) {
                report.matched += 1
                continue
            }
            try pair(oldValue, newValue)
            report.matched += 1
            if rm_is_class(oldValue) && rm_is_class(newValue) {
                classes.append(ClassChange(module: new.name, name: name, old: oldValue, new: newValue))
                try matchMethods(of: name, module: new, oldValue, newValue, pair: pair, options: options,
                                 report: &report, removed: &removed)
            }
        }
        report.added += new.kinds.keys.filter { old.kinds[$0] == nil }.sorted().map { "\(new.name).\($0)" }
        if options.onRemoved == .refuse && !removed.isEmpty {
            throw RemapError.removalRefused(module: new.name, names: removed)
        }
        for name in removed {
            let qualified = "\(new.name).\(name)"
            report.removed.append(qualified)
            // Methods were handled with their class; a removed hook such as
            // __reload__ is gone, never kept (it would run again).
            guard !name.contains("."), !Self.isSpecial(name) else { continue }
            guard let oldValue = try Objects.lookup(oldNS, name) else { continue }
            if options.onRemoved == .tombstone && rm_is_function(oldValue) {
                let tombstone = try check(rm_tombstone_new(qualified, Int64(new.generation)))
                try pair(oldValue, tombstone)
                report.tombstoned.append(qualified)
            } else {
                // Kept: bound in the new namespace, and remembered as defined
                // so later reloads treat it the same way.
                try check(rm_dict_set_str(newNS, name, oldValue))
                new.kinds[name] = old.kinds[name]
                report.kept.append(qualified)
            }
        }
        try pair(old.ref.object, new.ref.object)
        try pair(oldNS, newNS)
    }

    /// Rebinds by name every import binding, in a module this reload does
    /// not rebuild, of a value of a rebuilt module: `from config import
    /// LIMIT` sees the new LIMIT, small ints and shared strs included.
    /// Functions and classes need nothing here: the remap rewrites their
    /// bindings with every other reference. Journaled like any change of
    /// the transaction, so a rollback puts the old bindings back.
    func rebindImports(of built: [(old: LoadedModule, new: LoadedModule)], report: inout ReloadReport) throws {
        let rebuilt = Dictionary(uniqueKeysWithValues: built.map { ($0.new.name, $0.new) })
        let previous = Dictionary(uniqueKeysWithValues: built.map { ($0.new.name, $0.old) })
        for importer in modules.values.sorted(by: { $0.name < $1.name }) where rebuilt[importer.name] == nil {
            for (name, source) in importer.importSources.sorted(by: { $0.key < $1.key }) {
                // A value in either version: a value that became a function
                // (or back) was not remapped either.
                let definer = origin(of: name, in: source, rebuilt: rebuilt)
                guard let new = rebuilt[definer], let old = previous[definer],
                      new.kinds[name] == RM_DEF_VALUE || old.kinds[name] == RM_DEF_VALUE,
                      let value = try Objects.lookup(new.namespace, name) else { continue }
                try check(rm_dict_set_str(importer.namespace, name, value))
                report.rebound.append("\(importer.name).\(name)")
            }
        }
    }

    /// The module that defines `name`, following re-exports (`from b import
    /// X` where b did `from a import X`) from `module` on.
    private func origin(of name: String, in module: String, rebuilt: [String: LoadedModule]) -> String {
        var current = module
        for _ in 0..<64 {   // an import chain longer than this is a cycle
            guard let loaded = rebuilt[current] ?? modules[current], loaded.kinds[name] == RM_DEF_IMPORT,
                  let next = loaded.importSources[name] else { break }
            current = next
        }
        return current
    }

    /// Methods of a class present in both versions are paired (a bound method
    /// or a stored reference to one then runs the new code); removed ones
    /// follow the policy.
    private func matchMethods(of className: String, module: LoadedModule, _ oldClass: Object, _ newClass: Object,
                              pair: (Object, Object) throws -> Void, options: ReloadOptions,
                              report: inout ReloadReport, removed: inout [String]) throws {
        let oldDict = classDict(oldClass), newDict = classDict(newClass)
        var pos = 0
        var key: Object?
        var value: Object?
        while rm_dict_next(oldDict, &pos, &key, &value) {
            guard let key, let value, rm_is_function(value) else { continue }
            let methodName = try Objects.stringValue(key)
            if let newMethod = rm_dict_get(newDict, key) {
                try pair(value, newMethod)
                report.matched += 1
                continue
            }
            // Moved into a base class: the old override becomes what the
            // new class inherits (two old methods may now map to one).
            if let inherited = rm_class_lookup(newClass, key), rm_is_function(inherited) {
                try pair(value, inherited)
                report.matched += 1
                continue
            }
            let qualified = "\(className).\(methodName)"
            removed.append(qualified)
            if Self.isSpecial(methodName) { continue }
            if options.onRemoved == .tombstone {
                let tombstone = try check(rm_tombstone_new("\(module.name).\(qualified)", Int64(module.generation)))
                try pair(value, tombstone)
                report.tombstoned.append("\(module.name).\(qualified)")
            } else if options.onRemoved == .keep {
                try check(rm_dict_set(newDict, key, value))
                report.kept.append("\(module.name).\(qualified)")
            }
        }
    }

    /// `__name__`: hooks and protocol methods, whose absence means something.
    static func isSpecial(_ name: String) -> Bool {
        name.count > 4 && name.hasPrefix("__") && name.hasSuffix("__")
    }

    func classDict(_ cls: Object) -> Object {
        UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self).pointee.cls_dict
    }

    // MARK: - After the remap

    /// Rehashes every table the remap listed, keeping of keys that became
    /// equal the entry `keep` says (a refused collision is undone by the
    /// rollback, so refuse rehashes as keep-new does). Returns (tables,
    /// collisions).
    func rehash(_ remapReport: rm_remap_report, keep: rm_rehash_keep) throws -> (Int, Int) {
        var collisions = 0
        for i in 0..<remapReport.ntables {
            let table = remapReport.tables[i]!
            if rm_fault("rehash") != 0 { throw CoreCalls.takeError() }
            try check(rm_rehash_keeping(table, keep, &collisions))
        }
        return (remapReport.ntables, collisions)
    }

    /// Moves the old instances the walk could not migrate in place, runs
    /// the field initializers and each class's __reload__: one guarded call
    /// into the core for all of them, journaled there. Fills the report's
    /// per-class lines.
    func migrateInstances(classes: [ClassChange], report: inout ReloadReport) throws {
        var result = rm_migration()
        var crashed: Int32 = 0
        let status = rm_guarded_migrate(&result, &crashed)
        report.instancesMigrated = result.migrated
        report.instanceHooksRun = result.hooks_run
        report.fieldsInitialized = result.initialized
        report.classes = Self.classLines(classes)
        guard status != 0 else { return }
        let cause = CoreCalls.takeError().message
        let failed = rm_txn_class(result.failed_class)?.pointee
        let change = classes.first { $0.old == failed?.old_cls } ?? classes.first
        let module = change?.module ?? "?", name = change?.name ?? "?"
        let step = result.failed_step.map { String(cString: $0) } ?? "migration"
        if crashed != 0 {
            throw RemapError.crashed(module: module, phase: "\(name).\(step) (instance \(result.failed_instance))",
                                      cause: cause)
        }
        // Only a failed hook is a hook failure: a failed initializer or move
        // is named as such, not as "__reload__ failed".
        guard step == "__reload__" else {
            throw RemapError.runtime(module: module, cause: "\(name): the \(step) failed on instance \(result.failed_instance): \(cause); the reload was rolled back")
        }
        throw RemapError.instanceHookFailed(module: module, className: name, instance: result.failed_instance,
                                             cause: cause)
    }

    /// One line per replaced class whose instances the reload touched.
    static func classLines(_ classes: [ClassChange]) -> [ReloadReport.ClassMigration] {
        (0..<rm_txn_class_count()).compactMap { i -> ReloadReport.ClassMigration? in
            guard let line = rm_txn_class(i)?.pointee, line.instances > 0 else { return nil }
            let change = classes.first { $0.old == line.old_cls }
            return ReloadReport.ClassMigration(
                name: change.map { "\($0.module).\($0.name)" } ?? className(line.old_cls),
                instances: line.instances, inPlace: line.in_place - line.given_dict, moved: line.moved,
                givenDict: line.given_dict, initialized: line.initialized, hooksRun: line.hooks_run, milliseconds: line.seconds * 1000)
        }
    }
}

/// Times the phases of a reload.
struct PhaseClock {
    private var last = DispatchTime.now()

    /// Milliseconds since the previous lap.
    mutating func lap() -> Double {
        let now = DispatchTime.now()
        defer { last = now }
        return Double(now.uptimeNanoseconds - last.uptimeNanoseconds) / 1e6
    }
}
