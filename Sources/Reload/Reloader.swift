import CRemap
import Foundation

/// The reload transaction.
///
/// 1. build the new version of every module into fresh, unpublished modules;
/// 2. match old and new definitions by qualified name and apply the policy;
/// 3. run each module's `__reload__(old_namespace)` hook;
///    a failure in 1-3 discards the new versions: nothing has changed;
/// 4. remap old -> new in one walk (all modules together);
/// 5. rehash the dicts and sets whose keys were rewritten;
/// 6. move old instances to their new class's fields and run class hooks;
///    a failure here remaps new -> old, restores the instances, rehashes
///    again and discards the new versions;
/// 7. publish the new generations and retire the old libraries.
/// Call it holding the lock, where no module code is running.
extension ModuleLoader {
    public func reload(_ names: [String], options: ReloadOptions = ReloadOptions()) throws -> ReloadReport {
        let start = Date()
        var report = ReloadReport()
        var clock = PhaseClock()
        report.librariesClosed = closeRetiredLibraries()
        report.phases.closeLibraries = clock.lap()

        // 1. Build.
        let order = try reloadOrder(names, cascade: options.cascade)
        var built: [(old: LoadedModule, new: LoadedModule)] = []
        defer { staged.removeAll() }
        do {
            for name in order {
                let old = modules[name]!
                let new = try build(name, previous: old)
                staged[name] = new
                built.append((old, new))
            }
        } catch {
            discard(built.map(\.new))
            throw error
        }
        report.phases.load = clock.lap()

        // 2. Match.
        guard let mapping = rm_mapping_new() else {
            discard(built.map(\.new))
            throw ReloadError.runtime(module: order[0], cause: CoreCalls.takeError().message)
        }
        defer { rm_mapping_free(mapping) }
        var classes: [ClassChange] = []
        do {
            for pair in built {
                try match(pair.old, pair.new, mapping: mapping, options: options, classes: &classes, report: &report)
            }
        } catch {
            discard(built.map(\.new))
            throw error
        }
        report.phases.match = clock.lap()

        // 3. Module hooks, with a copy of the old namespace.
        for pair in built {
            guard let hook = rm_dict_get_str(pair.new.namespace, "__reload__"), rm_is_function(hook) else { continue }
            do {
                let oldNamespace = try check(rm_dict_copy(pair.old.namespace))
                _ = try Objects.call(hook, [oldNamespace])
                report.moduleHooksRun += 1
            } catch {
                discard(built.map(\.new))
                throw ReloadError.moduleHookFailed(module: pair.new.name, cause: "\(error)")
            }
        }
        report.phases.moduleHooks = clock.lap()

        // 4. Remap.
        var remapReport = rm_remap_report()
        guard rm_remap(mapping, &remapReport) == 0 else {
            // Out of memory: before the walk nothing was rewritten; after it
            // (the report's lists) the slots were, and are put back.
            let cause = CoreCalls.takeError().message
            let walked = remapReport.objects_visited > 0
            rm_report_clear(&remapReport)
            if walked { rollBack(mapping: mapping, undo: nil) }
            discard(built.map(\.new))
            throw ReloadError.runtime(module: order[0], cause: cause)
        }
        defer { rm_report_clear(&remapReport) }
        report.objectsVisited = remapReport.objects_visited
        report.slotsRewritten = remapReport.slots_rewritten
        report.handlesRewritten = remapReport.handles_rewritten
        report.walkThreads = Int(remapReport.threads)
        report.phases.remap = clock.lap()

        // 5. Rehash.
        var failure: ReloadError?
        do {
            let (tables, collisions) = try rehash(remapReport)
            report.tablesRehashed = tables
            report.keyCollisions = collisions
            if collisions > 0 && options.onCollision == .refuse {
                failure = .runtime(module: order[0], cause: "\(collisions) dict or set keys became equal after the remap and the policy refuses collisions")
            }
        } catch {
            failure = .runtime(module: order[0], cause: "rehash failed: \(error)")
        }
        report.phases.rehash = clock.lap()

        // 6. Instances.
        var undo: Ref?
        if failure == nil {
            do {
                undo = try migrateInstances(remapReport, classes: classes, report: &report)
            } catch let error as InstanceFailure {
                undo = error.undo
                failure = error.error
            } catch {
                failure = .runtime(module: order[0], cause: "\(error)")
            }
        }
        report.phases.instances = clock.lap()
        if let failure {
            rollBack(mapping: mapping, undo: undo)
            discard(built.map(\.new))
            throw failure
        }

        // 7. Publish.
        for pair in built {
            modules[pair.new.name] = pair.new
            if let library = pair.old.library { retired.append(library) }
            report.modules.append(.init(name: pair.new.name, fromGeneration: pair.old.generation,
                                        toGeneration: pair.new.generation, path: pair.new.path))
        }
        report.phases.publish = clock.lap()
        report.phases.total = Date().timeIntervalSince(start) * 1000
        return report
    }

    /// The modules to rebuild, each after the modules it imports: the named
    /// ones and, with cascade, every module that imports one of them.
    func reloadOrder(_ names: [String], cascade: Bool) throws -> [String] {
        for name in names {
            guard ModuleLoader.isValidName(name) else { throw ReloadError.invalidName(name) }
            guard modules[name] != nil else { throw ReloadError.notLoaded(name) }
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
            if let at = visiting.firstIndex(of: name) { throw ReloadError.importCycle(visiting[at...] + [name]) }
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

    /// Closes what build() opened for versions that will not be published.
    func discard(_ versions: [LoadedModule]) {
        for version in versions { version.library?.close() }
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
            guard from != to, rm_is_heap_object(from) != 0, rm_mapping_lookup(mapping, from) == nil else { return }
            try check(rm_mapping_add(mapping, from, to))
        }
        for (name, kind) in old.kinds.sorted(by: { $0.key < $1.key }) {
            guard kind != RM_DEF_IMPORT, let oldValue = rm_dict_get_str(oldNS, name) else { continue }
            guard let newKind = new.kinds[name], newKind != RM_DEF_IMPORT, let newValue = rm_dict_get_str(newNS, name) else {
                removed.append(name)
                continue
            }
            if kind == RM_DEF_STATE || newKind == RM_DEF_STATE { continue }
            try pair(oldValue, newValue)
            report.matched += 1
            if rm_is_class(oldValue) != 0 && rm_is_class(newValue) != 0 {
                classes.append(ClassChange(module: new.name, name: name, old: oldValue, new: newValue))
                try matchMethods(of: name, module: new, oldValue, newValue, pair: pair, options: options,
                                 report: &report, removed: &removed)
            }
        }
        report.added += new.kinds.keys.filter { old.kinds[$0] == nil }.sorted().map { "\(new.name).\($0)" }
        if options.onRemoved == .refuse && !removed.isEmpty {
            throw ReloadError.removalRefused(module: new.name, names: removed)
        }
        for name in removed {
            let qualified = "\(new.name).\(name)"
            report.removed.append(qualified)
            guard !name.contains(".") else { continue } // methods were handled with their class
            let oldValue = rm_dict_get_str(oldNS, name)!
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
            let qualified = "\(className).\(methodName)"
            removed.append(qualified)
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

    func classDict(_ cls: Object) -> Object {
        UnsafeMutableRawPointer(cls).assumingMemoryBound(to: rm_type.self).pointee.cls_dict
    }

    // MARK: - After the remap

    /// Rehashes every table the remap listed. Returns (tables, collisions).
    func rehash(_ remapReport: rm_remap_report) throws -> (Int, Int) {
        var collisions = 0
        for i in 0..<remapReport.ntables {
            let table = remapReport.tables[i]!
            let status = rm_is_set(table) ? rm_set_rehash(table, &collisions) : rm_dict_rehash(table, &collisions)
            try check(status)
        }
        return (remapReport.ntables, collisions)
    }

    struct InstanceFailure: Error {
        let error: ReloadError
        let undo: Ref?
    }

    /// Moves every old instance of a replaced class to the new class's
    /// fields (defaults for added ones) and runs the class's __reload__ on it.
    /// Returns the undo log (a list: instance, record, instance, record...);
    /// on failure throws it with the error, for the rollback.
    ///
    /// Plans and hook arguments are new heap objects: a Swift dictionary is
    /// invisible to the collector, so each is also appended to `keep`, a list
    /// held by a Ref, the moment it is made.
    func migrateInstances(_ remapReport: rm_remap_report, classes: [ClassChange],
                          report: inout ReloadReport) throws -> Ref? {
        struct Plan {
            let change: ClassChange
            let plan: Object?
            let hook: Object?
            let hookArgs: [Object]
        }
        let keep = try Ref(try check(rm_list_new(0)))
        func kept(_ object: Object) throws -> Object {
            try check(rm_list_append(keep.object, object))
            return object
        }
        let hookName = try kept(try Objects.string("__reload__"))
        var plans: [UnsafeMutableRawPointer: Plan] = [:]
        for change in classes {
            let plan = try kept(try check(rm_migration_plan(change.old, change.new)))
            let hook = rm_class_lookup(change.new, hookName).flatMap { rm_is_function($0) ? $0 : nil }
            guard !rm_is_none(plan) || hook != nil else { continue }
            var hookArgs: [Object] = []
            if let hook, rm_function_arity(hook) == 2 {
                hookArgs.append(try kept(try check(rm_fields_missing(change.new, change.old))))
                hookArgs.append(try kept(try check(rm_fields_missing(change.old, change.new))))
            }
            plans[UnsafeMutableRawPointer(change.new)] = Plan(change: change, plan: rm_is_none(plan) ? nil : plan,
                                                             hook: hook, hookArgs: hookArgs)
        }
        guard !plans.isEmpty else { return nil }
        let log = try Ref(try check(rm_list_new(0)))
        for i in 0..<remapReport.ninstances {
            let instance = remapReport.instances[i]!
            guard let plan = plans[UnsafeMutableRawPointer(instance.pointee.ob_type)] else { continue }
            do {
                if let steps = plan.plan {
                    let record = try check(rm_instance_migrate(instance, plan.change.old, steps))
                    try check(rm_list_append(log.object, instance))
                    try check(rm_list_append(log.object, record))
                    report.instancesMigrated += 1
                }
                if let hook = plan.hook {
                    var args: [Object?] = plan.hookArgs
                    try check(rm_call(try check(rm_method_new(hook, instance)), &args, args.count))
                    report.instanceHooksRun += 1
                }
            } catch {
                throw InstanceFailure(
                    error: .instanceHookFailed(module: plan.change.module, className: plan.change.name,
                                               instance: i, cause: "\(error)"),
                    undo: log)
            }
        }
        return log
    }

    /// Undoes steps 4-6: instances back to their old fields, then the inverse
    /// remap (old classes and functions back everywhere, identity hashes
    /// handed back), then a rehash of what that remap listed.
    func rollBack(mapping: OpaquePointer, undo: Ref?) {
        if let log = undo?.object {
            for i in stride(from: rm_list_size(log), to: 0, by: -2) {
                rm_instance_restore(rm_list_get(log, i - 2), rm_list_get(log, i - 1))
            }
        }
        guard let inverse = rm_mapping_inverse(mapping) else {
            fatalError("Remap: a reload mapping has no inverse: \(CoreCalls.takeError())")
        }
        defer { rm_mapping_free(inverse) }
        var back = rm_remap_report()
        if rm_remap(inverse, &back) != 0 {
            fatalError("Remap: rolling back a failed reload ran out of memory: \(CoreCalls.takeError())")
        }
        _ = try? rehash(back)
        rm_error_clear()
        rm_report_clear(&back)
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
