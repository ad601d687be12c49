import CRemap
import Reload
import Foundation

/// The C embedding API (include/remap/host.h), exported from libRemapHost.so:
/// a C host gets the same loader, reloader and control server as a Swift one.
/// Every function but rm_host_start expects the caller to hold the lock.
enum HostAPI {
    nonisolated(unsafe) static var loader: ModuleLoader?
    nonisolated(unsafe) static var server: ControlServer?

    /// Reports a Swift error through the C current-error API.
    static func fail(_ error: Error) {
        // A core error keeps its kind; a load or reload failure is an
        // ImportError or a ReloadError (RemapError.kind); the rest RuntimeError.
        RemapError.raise(error, as: (error as? RemapError)?.kind ?? .runtime)
    }

    static func started() -> ModuleLoader? {
        if loader == nil { rm_error_set_message(RM_ERR_RUNTIME, "call rm_host_start() first") }
        return loader
    }
}

@_cdecl("rm_host_start")
public func rm_host_start() -> Int32 {
    if HostAPI.loader == nil {
        _ = Runtime.shared
        HostAPI.loader = ModuleLoader()
    }
    return 0
}

@_cdecl("rm_host_add_search_path")
public func rm_host_add_search_path(_ path: UnsafePointer<CChar>?) -> Int32 {
    guard let loader = HostAPI.started(), let path else { return -1 }
    loader.addSearchPath(String(cString: path))
    return 0
}

@_cdecl("rm_host_load")
public func rm_host_load(_ name: UnsafePointer<CChar>?) -> UnsafeMutablePointer<rm_object>? {
    guard let loader = HostAPI.started(), let name else { return nil }
    do {
        return try loader.load(String(cString: name))
    } catch {
        HostAPI.fail(error)
        return nil
    }
}

@_cdecl("rm_host_call")
public func rm_host_call(_ name: UnsafePointer<CChar>?, _ args: UnsafePointer<UnsafeMutablePointer<rm_object>?>?,
                         _ count: Int) -> UnsafeMutablePointer<rm_object>? {
    guard let loader = HostAPI.started(), let name else { return nil }
    do {
        let function = try loader.resolve(String(cString: name))
        return rm_call(function, args, count)
    } catch {
        HostAPI.fail(error)
        return nil
    }
}

@_cdecl("rm_host_reload")
public func rm_host_reload(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int,
                           _ options: UnsafePointer<rm_reload_options>?,
                           _ summary: UnsafeMutablePointer<rm_reload_summary>?) -> Int32 {
    guard let loader = HostAPI.started(), let names else { return -1 }
    var opts = ReloadOptions()
    if let options = options?.pointee {
        opts.cascade = options.cascade != 0
        opts.onRemoved = [RemovedPolicy.keep, .tombstone, .refuse][min(Int(options.on_removed.rawValue), 2)]
        opts.onCollision = options.refuse_collisions != 0 ? .refuse : options.keep_old_collisions != 0 ? .keepOlder : .keepNewer
    }
    let modules = (0..<count).compactMap { names[$0].map { String(cString: $0) } }
    do {
        let report = try loader.reload(modules, options: opts)
        if let summary {
            let json = String(decoding: (try? ControlProtocol.encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
            summary.pointee = rm_reload_summary(
                modules: report.modules.count, slots_rewritten: report.slotsRewritten,
                tables_rehashed: report.tablesRehashed, instances_migrated: report.instancesMigrated,
                remap_ms: report.phases.remap, total_ms: report.phases.total, json: strdup(json))
        }
        return 0
    } catch {
        HostAPI.fail(error)
        return -1
    }
}

@_cdecl("rm_host_free")
public func rm_host_free(_ memory: UnsafeMutableRawPointer?) {
    free(memory)
}

@_cdecl("rm_host_serve")
public func rm_host_serve(_ path: UnsafePointer<CChar>?) -> Int32 {
    guard let loader = HostAPI.started() else { return -1 }
    do {
        let server = try ControlServer(loader: loader, path: path.map { String(cString: $0) } ?? ControlServer.defaultPath())
        server.start()
        HostAPI.server = server
        return 0
    } catch {
        HostAPI.fail(error)
        return -1
    }
}

@_cdecl("rm_host_stop_serving")
public func rm_host_stop_serving() {
    HostAPI.server?.stop()
    HostAPI.server = nil
}
