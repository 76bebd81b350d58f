// swift-tools-version:6.0
// Sluice: a PostgreSQL source and destination plugin, its Swift SDK and its host.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "postgres-plugin", targets: ["postgres-plugin"]),
        .executable(name: "plugin-host", targets: ["plugin-host"]),
        .executable(name: "sluice-bench", targets: ["sluice-bench"]),
        .executable(name: "sequence-plugin", targets: ["sequence-plugin"]),
        .library(name: "SluiceSDK", targets: ["SluiceSDK"]),
        .library(name: "SluiceWire", targets: ["SluiceWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        // C edge: system libraries and the protoc-c output.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "SluiceProtoC",
            path: "Sources/SluiceProtoC",
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),

        // Process edge: spawning children with clean signal state, memory-only files.
        .target(name: "SluiceSystemC", path: "Sources/SluiceSystemC"),

        // Wire format: Swift values for every protocol message, protobuf-c codec, framing.
        .target(name: "SluiceWire", dependencies: ["SluiceProtoC"], swiftSettings: strict),

        // SDK: serving the protocol as a plugin, and driving a plugin as a host.
        .target(
            name: "SluiceSDK",
            dependencies: ["SluiceWire", "SluiceSystemC", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),

        // PostgreSQL client: libpq, wrapped once.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"], swiftSettings: strict),

        // The PostgreSQL plugin's logic, and its executable.
        .target(
            name: "PostgresPlugin",
            dependencies: [
                "SluiceSDK", "SluiceSystemC", "PostgresClient", .product(name: "Logging", package: "swift-log"),
                // Cloud identity: RS256 for Google service account keys, HMAC-SHA256 for AWS SigV4.
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "postgres-plugin", dependencies: ["PostgresPlugin", "SluiceSDK"], swiftSettings: strict),

        // An example source written with the SDK (also a test fixture for the host side).
        .executableTarget(name: "sequence-plugin", dependencies: ["SluiceSDK"], swiftSettings: strict),

        // The host harness: its commands, readers, pipeline and conformance checks as a library,
        // and the thin `plugin-host` executable that starts them.
        .target(
            name: "PluginHostKit",
            dependencies: [
                "SluiceSDK",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "plugin-host/PluginHostKit",
            swiftSettings: strict
        ),
        .executableTarget(name: "plugin-host", dependencies: ["PluginHostKit"], path: "plugin-host/Command", swiftSettings: strict),

        // Benchmarks that print ratios against references measured in the same run.
        .executableTarget(
            name: "sluice-bench",
            dependencies: ["SluiceSDK", "PluginHostKit", "PostgresClient", "PostgresPlugin", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),

        // A source that breaks the protocol on purpose, for the host-side tests.
        .executableTarget(name: "misbehaving-plugin", dependencies: ["SluiceSDK"], path: "Tests/Fixtures/misbehaving-plugin",
                          swiftSettings: strict),

        .testTarget(name: "SluiceWireTests", dependencies: ["SluiceWire", "SluiceTestSupport"]),
        .testTarget(name: "SluiceSDKTests", dependencies: ["SluiceSDK", "SluiceWire"]),
        .testTarget(name: "PluginHostTests", dependencies: ["PluginHostKit", "SluiceWire", "SluiceTestSupport"]),
        // What the integration test targets share: the test server's connection.
        .target(name: "SluiceTestSupport", dependencies: ["PostgresClient"], path: "Tests/Support"),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "SluiceTestSupport"]),
        .testTarget(name: "PostgresPluginTests", dependencies: ["SluiceSDK", "SluiceWire", "PostgresClient", "PostgresPlugin", "SluiceTestSupport"]),
    ]
)

// MARK: - Fuzz targets
// libFuzzer targets (Tests/Fuzz), declared only when SLUICE_FUZZ=1: scripts/fuzz.sh builds them
// with `--sanitize=fuzzer` in .build-fuzz. Each defines `LLVMFuzzerTestOneInput` and has no main
// of its own, so the normal build never sees them. The plugin-host readers come from PluginHostKit.
if Context.environment["SLUICE_FUZZ"] == "1" {
    func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
        .executableTarget(name: name, dependencies: dependencies, path: "Tests/Fuzz/Targets/\(name)")
    }
    package.targets += [
        fuzzTarget("fuzz-frame", ["SluiceWire"]),
        fuzzTarget("fuzz-messages", ["SluiceWire"]),
        fuzzTarget("fuzz-config", ["PluginHostKit"]),
        fuzzTarget("fuzz-jsonlines", ["SluiceWire", "PluginHostKit"]),
        fuzzTarget("fuzz-pg-binary", ["SluiceWire", "PostgresPlugin"]),
        fuzzTarget("fuzz-pg-numeric", ["SluiceWire", "PostgresPlugin"]),
    ]
}
