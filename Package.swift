// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "flotilla",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "flotilla", targets: ["flotilla"]),
        .executable(name: "flotilla-bench", targets: ["flotilla-bench"]),
        .executable(name: "flotilla-fuzz", targets: ["flotilla-fuzz"]),
        .library(name: "FleetModel", targets: ["FleetModel"]),
        .library(name: "FleetConfig", targets: ["FleetConfig"]),
        .library(name: "FleetTemplate", targets: ["FleetTemplate"]),
        .library(name: "FleetGenerators", targets: ["FleetGenerators"]),
        .library(name: "FleetStore", targets: ["FleetStore"]),
        .library(name: "FleetGit", targets: ["FleetGit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Thin module over the system libgit2 (apt: libgit2-dev).
        .systemLibrary(
            name: "CGit2",
            path: "Sources/CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // Thin module over the system libcurl (apt: libcurl4-openssl-dev).
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Thin module over the system libjsonnet, the reference implementation (apt: libjsonnet-dev).
        .systemLibrary(
            name: "CJsonnet",
            path: "Sources/CJsonnet",
            providers: [.apt(["libjsonnet-dev"])]
        ),
        // Thin module over the system LuaJIT (apt: libluajit-5.1-dev): Lua 5.1 with goto, as Argo CD's scripts need.
        .systemLibrary(
            name: "CLuaJIT",
            path: "Sources/CLuaJIT",
            pkgConfig: "luajit",
            providers: [.apt(["libluajit-5.1-dev"])]
        ),
        // Thin module over the system zlib (apt: zlib1g-dev): gzip-compressed chart archives.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Argo CD's resource customization scripts (health, actions) in a sandboxed Lua VM with budgets.
        .target(name: "FleetLua", dependencies: ["CLuaJIT", "FleetModel", "FleetDiff"], swiftSettings: strict),
        // Pure model: value types, validation, label selectors, ports. Foundation only.
        .target(name: "FleetModel", swiftSettings: strict),
        // Parsing of user files (clusters files, Argo CD cluster Secrets, kubeconfig). No I/O of its own.
        .target(
            name: "FleetConfig",
            dependencies: ["FleetModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Template engines: fasttemplate and Go text/template with Sprig functions. Pure.
        .target(
            name: "FleetTemplate",
            dependencies: [
                "FleetModel", "FleetConfig", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // ApplicationSet generators and the generation pipeline. Pure: git and clusters come through ports.
        .target(name: "FleetGenerators", dependencies: ["FleetModel", "FleetTemplate", "FleetConfig"], swiftSettings: strict),
        // Reading an Application's manifests from git (plain YAML/JSON, kustomize through kubectl).
        .target(name: "FleetManifests", dependencies: ["CJsonnet", "FleetModel", "FleetConfig", "FleetHelm", "FleetTemplate", "FleetKube", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // The hub API's request and answer types, shared by the server and the CLI, and their JSON coding. Pure.
        .target(name: "FleetAPI", dependencies: ["FleetModel"], swiftSettings: strict),
        // What tests and benchmarks share: a manual clock, free loopback ports, the fleet fixtures.
        .target(name: "FleetTesting", dependencies: ["FleetModel", "FleetPostgres"], exclude: ["git_http_server.py"], swiftSettings: strict),
        // Server plumbing shared by the simulator and the hub: TLS files, query strings, a Dispatch task executor.
        .target(name: "FleetServing", swiftSettings: strict),
        // The Kubernetes API simulator: in-memory API logic, served over HTTP by Hummingbird.
        .target(
            name: "FleetSim",
            dependencies: [
                "FleetModel", "FleetConfig", "FleetServing", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Kubernetes API client over libcurl: discovery, server-side apply, inventory and prune.
        .target(name: "FleetKube", dependencies: ["CCurl", "FleetModel", "FleetConfig"], swiftSettings: strict),
        // Pure: diff of desired and live objects, and Argo CD's health rules.
        .target(name: "FleetDiff", dependencies: ["FleetModel"], swiftSettings: strict),
        // Reconcile scheduling: a pure queue state machine and retry policy, and a Dispatch worker pool.
        .target(name: "FleetReconcile", dependencies: ["FleetModel", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // Authentication and authorisation as pure logic: API tokens, Argo CD-style RBAC, failure rate limits.
        .target(name: "FleetAuth", dependencies: ["FleetModel", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // The sync engine for one Application: render, diff, apply by waves, prune, health.
        .target(name: "FleetSync", dependencies: ["FleetModel", "FleetKube", "FleetManifests", "FleetDiff"], swiftSettings: strict),
        // SQLite implementation of the ClusterStore port.
        .target(
            name: "FleetStore",
            dependencies: ["FleetModel", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The hub's state in PostgreSQL, for several replicas: the store ports over a small blocking connection pool,
        // and the replicas' leases.
        .target(
            name: "FleetPostgres",
            dependencies: [
                "FleetModel", "FleetStore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // Policies as typed rules over rendered manifests (required labels, resources, registries, security, kinds,
        // replicas), parsed from YAML with field-naming errors. Pure.
        .target(name: "FleetPolicy", dependencies: ["FleetModel", "FleetConfig"], swiftSettings: strict),
        // The web dashboard as pure logic: the Applications board (filter, page, grid), sessions and CSRF tokens,
        // the failover timeline, and the pages rendered from Mustache templates (escaped by default). No I/O.
        .target(
            name: "FleetDashboard",
            dependencies: ["FleetModel", "FleetAPI", .product(name: "Mustache", package: "swift-mustache"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The hub: generation, git watching, the reconcile scheduler and the HTTP API.
        .target(
            name: "FleetHub",
            dependencies: [
                "FleetLua",
                "FleetModel", "FleetConfig", "FleetGenerators", "FleetStore", "FleetGit", "FleetKube", "FleetManifests",
                "FleetSync", "FleetReconcile", "FleetDiff", "FleetServing", "FleetAuth", "FleetTemplate", "FleetAPI", "FleetPostgres", "FleetDashboard", "FleetPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Git mirror cache over libgit2.
        .target(name: "FleetGit", dependencies: ["CGit2", "FleetModel"], swiftSettings: strict),
        // Helm charts rendered natively: chart loading (directories, .tgz), values, dependencies, schema, templates.
        // Pure: files come in as bytes.
        .target(name: "FleetHelm", dependencies: ["CZlib", "FleetModel", "FleetConfig", "FleetTemplate"], swiftSettings: strict),
        // The `flotilla` command line.
        .executableTarget(
            name: "flotilla",
            dependencies: [
                "FleetModel", "FleetConfig", "FleetStore", "FleetGit", "FleetTemplate", "FleetGenerators", "FleetManifests", "FleetHelm", "FleetSim", "FleetKube", "FleetDiff", "FleetHub", "FleetSync", "FleetReconcile", "FleetAPI", "FleetPostgres", "FleetPolicy", "FleetAuth", "FleetCLIKit", "FleetLua",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/FleetCLI",
            swiftSettings: strict
        ),
        // What the `flotilla` and `flotilla-bench` executables share: the user's error, files and durations as given
        // on a command line, the simulator as a child process.
        .target(name: "FleetCLIKit", dependencies: ["FleetModel", "FleetConfig", "FleetGit", "FleetManifests", "FleetGenerators", .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: strict),
        // `flotilla-bench`: figures on synthetic input (docs/benchmarks.md). Kept out of the shipped `flotilla`, which
        // forwards `flotilla bench …` to it; it links the test kit (a local PostgreSQL, Chromium).
        .executableTarget(
            name: "flotilla-bench",
            dependencies: [
                "FleetModel", "FleetConfig", "FleetStore", "FleetGit", "FleetTemplate", "FleetGenerators", "FleetManifests", "FleetHelm", "FleetSim", "FleetKube", "FleetDiff", "FleetHub", "FleetSync", "FleetReconcile", "FleetTesting", "FleetAPI", "FleetPostgres", "FleetPolicy", "FleetAuth", "FleetCLIKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/FleetBench",
            swiftSettings: strict
        ),
        // `flotilla-fuzz`: the fuzz targets (docs/security.md). Built by `.ci/fuzz` with `-sanitize=fuzzer,address` and
        // `-DFUZZING` (libFuzzer's main); in a plain build it replays saved inputs.
        .executableTarget(
            name: "flotilla-fuzz",
            dependencies: ["FleetModel", "FleetConfig", "FleetTemplate", "FleetHelm", "FleetGenerators", "FleetAuth", "FleetPolicy",
                           "FleetReconcile", "FleetServing", "FleetSim", "FleetDashboard", "FleetKube"],
            path: "Sources/FleetFuzz",
            exclude: ["Corpus", "Dictionaries"],
            swiftSettings: strict
        ),
        .testTarget(name: "FleetModelTests", dependencies: ["FleetModel"], exclude: ["FuzzInputs"], swiftSettings: strict),
        .testTarget(name: "FleetConfigTests", dependencies: ["FleetConfig", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetTemplateTests", dependencies: ["FleetTemplate", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetHelmTests", dependencies: ["FleetHelm", "FleetModel", "FleetConfig"], swiftSettings: strict),
        .testTarget(name: "FleetGeneratorsTests", dependencies: ["FleetGenerators", "FleetModel", "FleetConfig"], swiftSettings: strict),
        .testTarget(name: "FleetSimTests", dependencies: ["FleetSim", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetKubeTests", dependencies: ["FleetKube", "FleetSim", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetDiffTests", dependencies: ["FleetDiff", "FleetModel", "FleetConfig"], swiftSettings: strict),
        .testTarget(name: "FleetAuthTests", dependencies: ["FleetAuth", "FleetModel", "FleetConfig"], swiftSettings: strict),
        .testTarget(name: "FleetReconcileTests", dependencies: ["FleetReconcile", "FleetModel", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        .testTarget(name: "FleetSyncTests", dependencies: ["FleetSync", "FleetKube", "FleetSim", "FleetGit", "FleetManifests", "FleetModel", "FleetDiff", "FleetLua"], swiftSettings: strict),
        .testTarget(name: "FleetStoreTests", dependencies: ["FleetStore", "FleetPostgres", "FleetModel", "FleetReconcile", "FleetTesting", .product(name: "PostgresNIO", package: "postgres-nio")], swiftSettings: strict),
        .testTarget(name: "FleetGitTests", dependencies: ["FleetGit", "FleetTesting"], swiftSettings: strict),
        .testTarget(name: "FleetPolicyTests", dependencies: ["FleetPolicy", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetDashboardTests", dependencies: ["FleetDashboard", "FleetModel", "FleetAPI"], swiftSettings: strict),
        .testTarget(name: "FleetAPITests", dependencies: ["FleetAPI", "FleetModel"], swiftSettings: strict),
        .testTarget(name: "FleetHubTests", dependencies: ["FleetHub", "FleetSim", "FleetGit", "FleetModel", "FleetConfig", "FleetKube", "FleetReconcile", "FleetStore", "FleetTesting", "FleetServing", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")], swiftSettings: strict),
        .testTarget(name: "FleetLuaTests", dependencies: ["FleetLua", "FleetModel", "FleetDiff"], swiftSettings: strict),
        .testTarget(name: "FleetCLITests", dependencies: ["flotilla", "FleetGit", "FleetKube", "FleetManifests", "FleetModel", "FleetTesting", "FleetStore", "FleetPostgres", .product(name: "Crypto", package: "swift-crypto")], exclude: ["Snapshots"], swiftSettings: strict),
    ]
)
