// swift-tools-version:6.2
import PackageDescription

// A Swift program that embeds Remap. It depends on the Remap package by path;
// from elsewhere, depend on it by URL the same way:
//   .package(url: "https://example.com/remap.git", from: "0.1.0")
//
// The product is ReloadDynamic, the Reload library as a shared object: the
// runtime's one copy of the C core then lives in libReloadDynamic.so, which
// the executable loads at start, in the global symbol scope, so native
// modules loaded with dlopen bind their rm_* calls to it. No linker flags
// (and so no unsafeFlags) are needed here.
let package = Package(
    name: "swift-host",
    dependencies: [
        .package(name: "Remap", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "swift-host",
            dependencies: [.product(name: "ReloadDynamic", package: "Remap")]
        ),
    ]
)
