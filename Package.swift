// swift-tools-version:6.2
// Outpost: Kubernetes software for bare-metal sites with no network.
// Module layout and layering: see ../shared/DESIGN.md. A module only imports from layers below it.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Outpost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outpost", targets: ["OutpostCLI"]),
        .executable(name: "outpost-sim", targets: ["OutpostSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // MARK: Layer 1: C shims over Debian's libraries
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLinux"),
        // The webhook's JSON tokenizer: SSE2 block classification has no Swift spelling (see Admission's JSONTape).
        .target(name: "CJSONScan"),

        // MARK: Layer 2: pure formats and plans
        .target(name: "OutpostCore", swiftSettings: swift6),
        .target(name: "Archiving", dependencies: ["CArchive", "CZstd", "CLinux", "OutpostCore"], swiftSettings: swift6),
        .target(name: "OCI", dependencies: [
            "OutpostCore",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swift6),
        .target(name: "Packaging", dependencies: [
            "OutpostCore", "OCI", "Archiving", "Yams",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], resources: [.copy("Resources")], swiftSettings: swift6),
        .target(name: "Injection", dependencies: ["OutpostCore", "OCI", "Archiving",
            .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swift6),
        .target(name: "Admission", dependencies: ["OutpostCore", "OCI", "CJSONScan"], swiftSettings: swift6),
        .target(name: "Charts", dependencies: ["OutpostCore", "Archiving", "CArchive", "Yams",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1")], swiftSettings: swift6),
        .target(name: "Talos", dependencies: [
            "OutpostCore", "Yams",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], swiftSettings: swift6),
        .target(name: "Media", dependencies: [
            "OutpostCore", "Archiving", "CArchive", "OCI",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], swiftSettings: swift6),

        // MARK: Layer 3: clients, servers, orchestration (I/O)
        .target(name: "Cluster", dependencies: [
            "OutpostCore", "Yams",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ], swiftSettings: swift6),
        .target(name: "MediaBuilder", dependencies: [
            "OutpostCore", "Media", "Talos", "Packaging", "Registry", "OCI", "Archiving", "Yams",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swift6),
        .target(name: "Registry", dependencies: [
            "OutpostCore", "OCI", "Archiving",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swift6),
        .target(name: "PackageBuilder", dependencies: [
            "OutpostCore", "OCI", "Registry", "Packaging", "Archiving", "Yams",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: swift6),
        .target(name: "AdmissionServer", dependencies: [
            "OutpostCore", "Admission", "Cluster",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ], swiftSettings: swift6),
        .target(name: "ClusterSimulator", dependencies: [
            "OutpostCore", "Yams",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ], swiftSettings: swift6),

        // MARK: Layer 4: executables (thin)
        .executableTarget(name: "OutpostCLI", dependencies: [
            "OutpostCore", "OCI", "Registry", "Packaging", "PackageBuilder", "Injection", "Admission",
            "AdmissionServer", "Charts", "Talos", "Media", "MediaBuilder", "Cluster",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        // Fuzz checks for the webhook's HTTP parser and review path; scripts/fuzz/run builds it with libFuzzer,
        // a plain build replays inputs.
        .executableTarget(name: "AdmissionFuzz", dependencies: [
            "Admission", "AdmissionServer",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: swift6),
        .executableTarget(name: "OutpostSim", dependencies: [
            "ClusterSimulator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),

        // MARK: Layer 5: tests. TestSupport starts and stops real services for every test target.
        .target(name: "TestSupport", dependencies: ["OutpostCore", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/TestSupport", swiftSettings: swift6),
        .testTarget(name: "OCITests", dependencies: ["OCI", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "OCI", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "PackagingTests", dependencies: ["Packaging", "PackageBuilder", "Registry", "OCI", "Archiving", "Yams", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "InjectionTests", dependencies: ["Injection", "OCI", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "AdmissionTests", dependencies: ["Admission", "AdmissionServer", "AdmissionFuzz", "OCI", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio")], swiftSettings: swift6),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "TalosTests", dependencies: ["Talos", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "SimulatorTests", dependencies: ["ClusterSimulator", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "MediaTests", dependencies: ["Media", "MediaBuilder", "Talos", "Packaging", "OCI", "OutpostCore", "TestSupport"], swiftSettings: swift6),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "ClusterSimulator", "TestSupport"], swiftSettings: swift6),
    ]
)
