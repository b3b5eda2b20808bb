import FleetModel
import FleetStore
import Foundation
import Testing

/// A fresh temporary data directory per test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-store-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

private let token = "planted-token-7f3a"

private func sample() -> [Cluster] {
    [
        Cluster(name: "prod-eu", server: "https://10.0.0.1:6443", labels: ["env": "prod", "region": "eu"],
                annotations: ["owner": "platform"], secondary: "prod-us",
                credentials: ClusterCredentials(bearerToken: token, insecureSkipTLSVerify: true)),
        Cluster(name: "prod-us", server: "https://10.0.0.2:6443", labels: ["env": "prod", "region": "us"]),
    ]
}

/// Clusters round-trip through SQLite with every field, credentials included.
@Test func roundTrip() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteClusterStore(directory: dir)
        let changes = try store.update { registry in for c in sample() { registry.upsert(c) } }
        #expect(changes.created == ["prod-eu", "prod-us"])
        #expect(try store.clusters() == sample())
        // A second process (a new store on the same file) sees the same data.
        let reopened = try SQLiteClusterStore(directory: dir)
        #expect(try reopened.cluster(named: "prod-eu") == sample()[0])
        #expect(try reopened.cluster(named: "nope") == nil)
    }
}

/// The store runs in WAL mode with its migrations applied, and its files are private to the owner.
@Test func walModeAndMigrations() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteClusterStore(directory: dir)
        #expect(try store.journalMode() == "wal")
        #expect(try store.appliedMigrations() == ["v1-clusters", "v2-applications", "v3-hub", "v4-failover", "v5-auth", "v6-token-parent", "v7-cluster-scope", "v8-history-origin", "v9-event-data"])
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir.path)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
        #expect(fileMode == 0o600)
    }
}

/// A rejected update (invalid result, or a throwing body) writes nothing.
@Test func rejectedUpdateChangesNothing() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteClusterStore(directory: dir)
        try store.update { registry in for c in sample() { registry.upsert(c) } }
        let before = try store.clusters()

        // Valid change plus an invalid one in the same update: neither lands.
        #expect(throws: InputError.self) {
            try store.update { registry in
                registry.upsert(Cluster(name: "new-one", server: "https://x"))
                registry.upsert(Cluster(name: "prod-us", server: "https://10.0.0.2:6443", secondary: "prod-eu"))  // cycle
            }
        }
        #expect(try store.clusters() == before)

        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try store.update { registry in
                registry.remove("prod-eu")
                throw Abort()
            }
        }
        #expect(try store.clusters() == before)

        // Removing a cluster that is another's secondary is rejected too.
        #expect(throws: InputError.self) { try store.update { $0.remove("prod-us") } }
        #expect(try store.clusters() == before)
    }
}

/// Applying the same registry twice changes nothing the second time.
@Test func idempotentUpdate() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteClusterStore(directory: dir)
        try store.update { registry in for c in sample() { registry.upsert(c) } }
        let second = try store.update { registry in for c in sample() { registry.upsert(c) } }
        #expect(second.isEmpty)
        #expect(second.unchanged == ["prod-eu", "prod-us"])
    }
}

/// Concurrent writers from many threads lose no update.
@Test func concurrentWritersLoseNothing() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteClusterStore(directory: dir)
        let count = 40
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: count) { i in
            do {
                // Open per thread, as separate CLI processes would.
                let own = try SQLiteClusterStore(directory: dir)
                try own.update { $0.upsert(Cluster(name: "c\(i)", server: "http://127.0.0.1:\(7000 + i)")) }
            } catch {
                errors.add("\(error)")
            }
        }
        #expect(errors.all.isEmpty)
        #expect(try store.clusters().count == count)
    }
}

final class ErrorBox: @unchecked Sendable {
    // `lock` guards `errors`.
    private let lock = NSLock()
    private var errors: [String] = []
    func add(_ e: String) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return errors }
}

/// Credentials are encrypted at rest: the database files never hold a token in plaintext; a rotated key
/// still opens every credential and the key file then holds only the new key; a missing key is a clear error.
@Test func credentialsEncryptedAtRestAndRotated() throws {
    try withTemporaryDirectory { dir in
        let planted = "planted-secret-\(UUID().uuidString)"
        let store = try SQLiteClusterStore(directory: dir)
        try store.update { $0.upsert(Cluster(name: "prod", server: "https://10.0.0.1:6443", credentials: ClusterCredentials(bearerToken: planted))) }
        func leaks() throws -> Bool {
            try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { name in
                guard name.hasPrefix("flotilla"), let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else { return false }
                return data.range(of: Data(planted.utf8)) != nil
            }
        }
        #expect(try !leaks())
        let keyFile = dir.appendingPathComponent("secret.key").path
        #expect((try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int) == 0o600)
        let before = try String(contentsOfFile: keyFile, encoding: .utf8)
        let rotated = try store.rotateKey()
        #expect(rotated.credentials == 1)
        let after = try String(contentsOfFile: keyFile, encoding: .utf8)
        #expect(after != before && after.contains(rotated.keyID) && after.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 1)
        #expect(try SQLiteClusterStore(directory: dir).cluster(named: "prod")?.credentials.bearerToken == planted)
        #expect(try !leaks())
        // Another key file: the credentials cannot be opened, and the error says why without the secret.
        try FileManager.default.removeItem(atPath: keyFile)
        #expect { try SQLiteClusterStore(directory: dir).clusters() } throws: { "\($0)".contains("cannot be read") && !"\($0)".contains(planted) }
    }
}
