// swift-tools-version:6.2
import PackageDescription

// A Swift program that embeds Remap. It depends on the Remap package by path;
// from elsewhere, depend on it by URL the same way:
//   .package(url: "https://example.com/remap.git", from: "0.1.0")
let package = Package(
    name: "swift-host",
    dependencies: [
        .package(name: "Remap", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "swift-host",
            dependencies: [.product(name: "Reload", package: "Remap")],
            // Native modules loaded with dlopen bind their rm_* calls to this
            // executable's copy of the runtime: export its symbols.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"])]
        ),
    ]
)
