// swift-tools-version:6.2
import CompilerPluginSupport
import PackageDescription

// Host executables export their symbols so that native modules loaded with
// dlopen bind their rm_* calls to the host's single copy of the C core.
// unsafeFlags stay on executables: a library target with them could not be
// used as a dependency by other packages.
let exportDynamic: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--export-dynamic"])]

// libRemapHost.so exports include/remap/'s rm_* functions and nothing else
// (no Swift symbol). Only the RemapHost target carries this flag, and only
// the RemapHost product contains that target: the products other packages
// depend on (Reload, ReloadDynamic) stay free of unsafeFlags.
let remapHostExports: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/RemapHost/exports.map"]),
]

let package = Package(
    name: "Remap",
    products: [
        .library(name: "Reload", targets: ["Reload"]),
        // For Swift hosts: the same library as a shared object. A host that
        // links it has the one copy of the core in a library of the global
        // symbol scope, where the native modules it dlopens bind their rm_*
        // calls, so it needs no --export-dynamic (examples/swift-host).
        .library(name: "ReloadDynamic", type: .dynamic, targets: ["Reload"]),
        .library(name: "CRemap", targets: ["CRemap"]),
        // For C hosts: the runtime, the loader and include/remap/host.h in one
        // shared library (`reloadctl cflags --host` prints how to link it).
        .library(name: "RemapHost", type: .dynamic, targets: ["RemapHost"]),
        .executable(name: "reloadctl", targets: ["reloadctl"]),
        .executable(name: "remap-stress", targets: ["remap-stress"]),
        .executable(name: "layout-stress", targets: ["layout-stress"]),
        .executable(name: "remap-bench", targets: ["remap-bench"]),
        .executable(name: "reload-bench", targets: ["reload-bench"]),
        .executable(name: "module-bench", targets: ["module-bench"]),
        .executable(name: "watch-bench", targets: ["watch-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Only the macros (RemapMacros) use it, and only RemapModule and the
        // tests depend on them: release builds of reloadctl and the
        // benchmarks never compile swift-syntax.
        .package(url: "https://github.com/swiftlang/swift-syntax", "600.0.0"..<"604.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBoehm",
            pkgConfig: "bdw-gc",
            providers: [.apt(["libgc-dev"])]
        ),
        .target(
            name: "CRemap",
            dependencies: ["CBoehm"],
            path: ".",
            sources: ["CSources"],
            publicHeadersPath: "include",
            cSettings: [
                .enableWarning("all"),
                .treatAllWarnings(as: .error),
            ]
        ),
        // The part of the core only the Swift loader sees: a module map over
        // CSources/loader.h (the core implements it; nothing is compiled here).
        .systemLibrary(name: "CRemapLoader", path: "Sources/CRemapLoader"),
        // The C calls Swift cannot make itself (SO_PEERCRED), apart from the core.
        .target(name: "CRemapShims", cSettings: [.enableWarning("all"), .treatAllWarnings(as: .error)]),
        .target(name: "Reload", dependencies: ["CRemap", "CRemapLoader", "CRemapShims", "CBoehm"]),
        // include/remap/host.h, implemented in Swift, for libRemapHost.so.
        .target(name: "RemapHost", dependencies: ["Reload", "CRemap"], exclude: ["exports.map"],
                linkerSettings: remapHostExports),
        .executableTarget(
            name: "reloadctl",
            dependencies: ["Reload", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // Threads, signals and C stdio: checked by hand, not by Swift 6's
            // data-race rules.
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: exportDynamic
        ),
        .executableTarget(name: "remap-stress", dependencies: ["CRemap", "CBoehm"]),
        .executableTarget(name: "layout-stress", dependencies: ["CRemap", "CBoehm"]),
        .executableTarget(name: "reload-bench", dependencies: ["Reload", "CRemap"], linkerSettings: exportDynamic),
        .executableTarget(name: "remap-bench", dependencies: ["CRemap", "CBoehm"]),
        // The workloads are a C module and its Python twin, built and run by
        // the benchmark itself.
        .executableTarget(name: "module-bench", dependencies: ["Reload", "CRemap"], exclude: ["workloads"],
                          linkerSettings: exportDynamic),
        // Runs reloadctl (built beside it: the dependency builds it first)
        // as a real host under --watch, saves like an editor and times it.
        .executableTarget(name: "watch-bench", dependencies: ["Reload", "reloadctl"],
                          swiftSettings: [.swiftLanguageMode(.v5)]),
        // Modules written in Swift (docs/swift-modules.md): the macros that
        // turn @Reloadable structs and @Module enums into the C API's
        // definitions, and the library their expansions call. A module file
        // is compiled against RemapModule's interface and links its objects
        // (ModuleCompiler finds both); RemapModule is not linked into any
        // product, so no second copy of the core ever exists.
        .macro(
            name: "RemapMacros",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]
        ),
        .target(name: "RemapModule", dependencies: ["RemapMacros", "CRemapAPI"]),
        // `import CRemap` for RemapModule without linking the core: a module
        // map over include/remap/remap.h (nothing is compiled here).
        .systemLibrary(name: "CRemapAPI", path: "Sources/CRemapAPI"),
        .testTarget(
            name: "ReloadTests",
            dependencies: ["Reload", "CRemap", "CRemapLoader", "remap-stress", "layout-stress", "reloadctl",
                           "RemapMacros", "RemapModule"],
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: exportDynamic
        ),
    ]
)
