import Foundation
import Testing

/// The modules each module may import (docs/architecture.md). A module importing one not listed fails here, so
/// a layer cannot start leaning on another unnoticed: pure modules stay free of I/O libraries, the hub of the
/// simulator, the stores of the scheduler.
private let allowed: [String: Set<String>] = [
    "FleetModel": [],
    "FleetConfig": ["FleetModel", "Yams"],
    "FleetTemplate": ["FleetModel", "FleetConfig", "Crypto", "CryptoExtras"],
    "FleetGenerators": ["FleetModel", "FleetConfig", "FleetTemplate"],
    "FleetHelm": ["FleetModel", "FleetConfig", "FleetTemplate", "CZlib"],
    "FleetDiff": ["FleetModel"],
    "FleetLua": ["FleetModel", "FleetDiff", "CLuaJIT"],
    "FleetAuth": ["FleetModel", "Crypto"],
    "FleetReconcile": ["FleetModel", "Crypto"],
    "FleetGit": ["FleetModel", "CGit2"],
    "FleetKube": ["FleetModel", "FleetConfig", "CCurl"],
    "FleetManifests": ["FleetModel", "FleetConfig", "FleetHelm", "FleetTemplate", "FleetKube", "CJsonnet", "Crypto"],
    "FleetSync": ["FleetModel", "FleetKube", "FleetManifests", "FleetDiff"],
    "FleetStore": ["FleetModel", "GRDB", "Crypto"],
    "FleetPostgres": ["FleetModel", "FleetStore", "PostgresNIO", "NIOCore", "NIOPosix", "NIOSSL", "Logging", "Crypto"],
    "FleetServing": [],
    "FleetTesting": ["FleetModel", "FleetPostgres"],
    "FleetAPI": ["FleetModel"],
    "FleetDashboard": ["FleetModel", "FleetAPI", "Mustache", "Crypto"],
    "FleetPolicy": ["FleetModel", "FleetConfig"],
    "FleetSim": ["FleetModel", "FleetConfig", "FleetServing", "Hummingbird", "HummingbirdCore", "HummingbirdTLS", "NIOCore", "NIOSSL", "ServiceLifecycle", "Logging", "Dispatch"],
    "FleetHub": ["FleetModel", "FleetConfig", "FleetGenerators", "FleetStore", "FleetGit", "FleetKube", "FleetManifests", "FleetSync",
                 "FleetReconcile", "FleetDiff", "FleetServing", "FleetAuth", "FleetTemplate", "FleetAPI", "FleetPostgres", "FleetDashboard", "FleetPolicy", "FleetLua", "Hummingbird", "HummingbirdCore", "HummingbirdTLS", "HTTPTypes",
                 "NIOCore", "NIOPosix", "NIOSSL", "NIOConcurrencyHelpers", "ServiceLifecycle", "Logging"],
    "FleetCLIKit": ["FleetModel", "FleetConfig", "FleetGit", "FleetManifests", "FleetGenerators", "ArgumentParser"],
    // The shipped `flotilla`: every library but the test kit.
    "FleetCLI": ["FleetModel", "FleetConfig", "FleetStore", "FleetGit", "FleetTemplate", "FleetGenerators", "FleetManifests", "FleetHelm",
                 "FleetSim", "FleetKube", "FleetDiff", "FleetHub", "FleetSync", "FleetReconcile", "FleetAPI", "FleetPostgres", "FleetPolicy",
                 "FleetAuth", "FleetCLIKit", "FleetLua", "ArgumentParser", "Logging", "Yams"],
    // `flotilla-bench` may use the test kit.
    "FleetBench": ["FleetModel", "FleetConfig", "FleetStore", "FleetGit", "FleetTemplate", "FleetGenerators", "FleetManifests", "FleetHelm",
                   "FleetSim", "FleetKube", "FleetDiff", "FleetHub", "FleetSync", "FleetReconcile", "FleetAPI", "FleetPostgres", "FleetPolicy",
                   "FleetCLIKit", "FleetTesting", "ArgumentParser", "Logging", "Yams", "Crypto"],
]

@Test func modulesImportOnlyTheirLayers() throws {
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")
    let system: Set<String> = ["Foundation", "Dispatch", "Glibc", "Darwin", "Synchronization"]
    var checked = 0
    for (module, permitted) in allowed {
        let dir = sources.appendingPathComponent(module)
        let walker = try #require(FileManager.default.enumerator(atPath: dir.path), "Sources/\(module) exists")
        for case let file as String in walker where file.hasSuffix(".swift") {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                var words = line.split(separator: " ").map(String.init)
                if words.first == "@preconcurrency" { words.removeFirst() }
                guard words.count >= 2, words[0] == "import" else { continue }
                let imported = words[1]
                checked += 1
                #expect(system.contains(imported) || permitted.contains(imported), "Sources/\(module)/\(file) imports \(imported), which \(module) may not")
            }
        }
    }
    #expect(checked > 100)
}

/// The shipped executable does not link the test kit (a local PostgreSQL launcher for tests, Chromium, a WebSocket
/// client): `Package.swift`'s `flotilla` target lists no FleetTesting, and the benchmarks that need it are
/// `flotilla-bench`.
@Test func theShippedBinaryLinksNoTestKit() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
    let targets = manifest.components(separatedBy: ".executableTarget(")
    let dependencies = try #require(targets.first { $0.contains("path: \"Sources/FleetCLI\"") }, "Package.swift declares the flotilla target")
    #expect(dependencies.contains("\"FleetHub\""), "the flotilla target's dependencies were read")
    #expect(!dependencies.contains("FleetTesting"), "the shipped flotilla links FleetTesting: \(dependencies)")
}
