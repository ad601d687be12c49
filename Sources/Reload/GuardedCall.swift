import CRemap
import CRemapLoader

extension ModuleLoader {
    /// Looks `module.name` up and calls it with the crash signals caught
    /// (`rm_guarded_call`, the guard a reload runs new code under): a crash
    /// in module code throws `RemapError.callCrashed`; an error throws
    /// `RemapError.core`.
    /// Call it holding the runtime lock.
    ///
    /// The function may run for as long as it likes and release the lock at
    /// safe points (`rm_safe_point`): the guard belongs to the calling thread
    /// (a thread-local `current` guard), so a reload or request that runs on
    /// another thread while this one waits at a safe point has its own guard
    /// and its own crashes; the handlers stay installed while any thread is
    /// guarded. Module code only runs under the lock, so a crash always
    /// comes back with the lock held by this thread, as it was; the core
    /// state the crash interrupted (the current function, the depth of calls
    /// into module code, which keeps libraries from being closed) is put back
    /// by the guard. What the crashed code left half done in the heap or in
    /// locks of its own stays so: the guard keeps the process alive, it does
    /// not undo the code's work.
    public func callGuarded(_ qualifiedName: String, _ args: [Object] = []) throws -> Object {
        let function = try resolve(qualifiedName)
        return try Objects.withRootedArguments(args) { pointer, count in
            var crashed: Int32 = 0
            guard let result = rm_guarded_call(function, pointer, count, nil, &crashed) else {
                let cause = CoreCalls.takeError()
                if crashed != 0 {
                    throw RemapError.callCrashed(function: qualifiedName,
                                                 signal: String(cString: rm_signal_name(crashed)), message: cause.message)
                }
                throw cause
            }
            return result
        }
    }
}
