import FleetModel
import FleetPostgres
import FleetReconcile
import FleetStore
import FleetTesting
import PostgresNIO
import Foundation
import Testing

private let planted = "planted-token-9c1e"

private func clusters() -> [Cluster] {
    [
        Cluster(name: "prod-eu", server: "https://10.0.0.1:6443", labels: ["env": "prod"], annotations: ["owner": "platform"], secondary: "prod-us",
                credentials: ClusterCredentials(bearerToken: planted, insecureSkipTLSVerify: true), project: "web", namespaces: ["a", "b"],
                clusterResources: true),
        Cluster(name: "prod-us", server: "https://10.0.0.2:6443", labels: ["env": "prod", "region": "us"]),
    ]
}

/// Clusters round-trip with every field; credentials are sealed in the database (the token is not in it); a rejected
/// update writes nothing; a second replica with the same key reads them, one with another key is refused at start.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func postgresClusterRegistry() throws {
    let server = try #require(TestPostgres.shared, "PostgreSQL could not start (see above)")
    let url = try PostgresURL(parsing: try server.createDatabase())
    let key = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-key-\(UUID().uuidString)").path
    let store = try PostgresHubStore(url: url, keyFile: key, replica: "r1", maxConnections: 2)
    defer { store.close() }
    #expect(try store.appliedMigrations() == ["v1-hub", "v2-replicas", "v3-history-origin", "v4-event-data"])
    let changes = try store.clusters.update { registry in for c in clusters() { registry.upsert(c) } }
    #expect(changes.created == ["prod-eu", "prod-us"])
    #expect(try store.clusters.clusters() == clusters())
    let raw = try store.pool.withConnection { db in
        try db.query("SELECT encode(credentials, 'escape') AS c FROM cluster").map { try $0.decode(String.self) }.joined()
    }
    #expect(!raw.contains(planted))

    #expect(throws: InputError.self) {
        try store.clusters.update { registry in
            registry.upsert(Cluster(name: "new", server: "https://10.0.0.3:6443"))
            registry.upsert(Cluster(name: "bad", server: "not a url"))
        }
    }
    #expect(try store.clusters.clusters().map(\.name) == ["prod-eu", "prod-us"])

    let second = try PostgresHubStore(url: url, keyFile: key, replica: "r2", maxConnections: 2)
    #expect(try second.clusters.cluster(named: "prod-eu") == clusters()[0])
    second.close()
    let otherKey = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-key-\(UUID().uuidString)").path
    #expect { _ = try PostgresHubStore(url: url, keyFile: otherKey, replica: "r3") } throws: { error in
        "\(error)".contains("does not open this database's credentials") && "\(error)".contains(otherKey)
    }
}

/// Accounts and tokens: bootstrap only once, revocation reaches every descendant, lookups see other replicas' writes.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func postgresAuthStore() throws {
    let store = try #require(try testPostgresStore(), "PostgreSQL could not start (see above)")
    defer { store.close() }
    let token = { (id: String, parent: String?) in
        StoredToken(id: id, account: "admin", hash: "h-\(id)", description: "", createdAt: "", expiresAt: nil, revokedAt: nil, parent: parent)
    }
    #expect(try store.auth.bootstrap(account: "admin", role: "role:admin", token: token("t1", nil)))
    #expect(try !store.auth.bootstrap(account: "other", role: "role:admin", token: token("t9", nil)))
    #expect(try store.auth.createAccount("viewer", role: "role:readonly"))
    #expect(try !store.auth.createAccount("viewer", role: "role:admin"))
    try store.auth.addToken(token("t2", "t1"))
    try store.auth.addToken(token("t3", "t2"))
    try store.auth.addToken(token("t4", nil))
    #expect(try store.auth.revoke(id: "t1"))
    #expect(try !store.auth.revoke(id: "t1"))
    #expect(try store.auth.tokens(account: "admin").filter { $0.revokedAt != nil }.map(\.id).sorted() == ["t1", "t2", "t3"])
    #expect(try store.auth.accounts().map(\.name) == ["admin", "viewer"])
    #expect(try store.auth.deleteAccount("admin"))
    #expect(try store.auth.tokens().isEmpty && store.auth.account(named: "admin") == nil)
}

/// The lease table in PostgreSQL follows the in-memory rule (`LeaseTable.perform`) action by action, on the
/// database's clock; the fencing check admits only the holder at its token.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func postgresLeasesFollowTheRule() throws {
    let store = try #require(try testPostgresStore(), "PostgreSQL could not start (see above)")
    defer { store.close() }
    let settings = LeaseSettings(renew: 0.2, duration: 1)
    let leases = store.leases
    let steps: [(LeaseAction, String, Bool)] = [
        (.acquire(key: "cluster/a", token: 1), "r1", true),
        (.acquire(key: "cluster/a", token: 1), "r2", false),   // held
        (.acquire(key: "cluster/a", token: 2), "r2", false),   // held, not lapsed
        (.renew(key: "cluster/a", token: 1), "r2", false),     // not its lease
        (.renew(key: "cluster/a", token: 1), "r1", true),
        (.request(key: "cluster/a", token: 1), "r2", true),
        (.release(key: "cluster/a", token: 2), "r1", false),   // wrong token
        (.release(key: "cluster/a", token: 1), "r1", true),
        (.acquire(key: "cluster/a", token: 2), "r2", true),
        (.renew(key: "cluster/a", token: 1), "r1", false),     // an old token renews nothing
    ]
    for (index, (action, replica, held)) in steps.enumerated() {
        #expect(try leases.perform(action, by: replica, settings: settings) == held, "step \(index): \(action) by \(replica)")
    }
    var snapshot = try leases.snapshot()
    #expect(snapshot.leases["cluster/a"]?.holder == "r2" && snapshot.leases["cluster/a"]?.token == 2)
    let admitted = { (replica: String, token: Int64) in
        try store.pool.withConnection { db in try PostgresLeaseStore.admits(db, key: "cluster/a", token: token, replica: replica) }
    }
    #expect(try admitted("r2", 2) && !admitted("r1", 1) && !admitted("r2", 1))
    // Unrenewed, it lapses on the database's clock and can be taken with the next token.
    Thread.sleep(forTimeInterval: 1.1)
    #expect(try !admitted("r2", 2))
    #expect(try leases.perform(.acquire(key: "cluster/a", token: 3), by: "r1", settings: settings))
    try leases.heartbeat("r1", address: "http://127.0.0.1:1", version: "test")
    snapshot = try leases.snapshot()
    #expect(snapshot.heartbeats.keys.sorted() == ["r1"] && snapshot.addresses["r1"] == "http://127.0.0.1:1")
    #expect(abs(snapshot.heartbeats["r1"]! - Date().timeIntervalSince1970) < 5)
    try leases.leave("r1")
    snapshot = try leases.snapshot()
    #expect(snapshot.heartbeats.isEmpty && snapshot.leases["cluster/a"]?.holder == "")
}

/// A write through one replica reaches the other's observers through LISTEN/NOTIFY; a replica ignores its own.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func postgresChangesFanOut() throws {
    let server = try #require(TestPostgres.shared, "PostgreSQL could not start (see above)")
    let url = try PostgresURL(parsing: try server.createDatabase())
    let key = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-key-\(UUID().uuidString)").path
    let one = try PostgresHubStore(url: url, keyFile: key, replica: "r1", maxConnections: 2)
    let two = try PostgresHubStore(url: url, keyFile: key, replica: "r2", maxConnections: 2)
    defer {
        one.close()
        two.close()
    }
    let seen = Seen()
    let feed = PostgresChangeFeed(pool: two.pool, origin: "r2", handlers: [
        PostgresApplicationStore.channel: { names in seen.add(names.map { "app:" + $0 }) },
        PostgresChangeFeed.registryChannel: { names in seen.add(names.map { "cluster:" + $0 }) },
    ], logger: .init(label: "test"))
    try feed.start()
    defer { feed.stop() }
    let app = StoredApplication(name: "web-a", appSet: "web", cluster: "c1", object: .object([]))
    try one.applications.apply(creating: [app], updating: [], deleting: [], appSet: "web", prune: false)
    try one.applications.setStatus("web-a", .object([("sync", .string("Synced"))]))
    try one.clusters.update { $0.upsert(Cluster(name: "c1", server: "https://10.0.0.9:6443")) }
    try two.applications.setStatus("web-a", .object([]))   // its own: not announced back to it
    let deadline = Date().addingTimeInterval(10)
    while seen.all.count < 3 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    Thread.sleep(forTimeInterval: 0.2)
    #expect(seen.all == ["app:web-a", "app:web-a", "cluster:c1"])
    // A long list is split into payloads PostgreSQL accepts, and read back whole.
    let names = (0..<2000).map { "application-with-a-long-name-\($0)" }
    let payloads = PostgresChangeFeed.payloads(origin: "r1", names: names)
    #expect(payloads.count > 1 && payloads.allSatisfy { $0.utf8.count < 8000 })
    #expect(payloads.flatMap { PostgresChangeFeed.parse($0).names } == names)
}

/// Bad URLs are refused naming what is wrong, never the password; a server that is not there is named, redacted.
@Test func postgresURLs() throws {
    let good = try PostgresURL(parsing: "postgres://flotilla:s%40cret@db.example:6543/hub?sslmode=verify-full")
    #expect(good == PostgresURL(host: "db.example", port: 6543, user: "flotilla", password: "s@cret", database: "hub", tls: .verifyFull))
    #expect(good.redacted == "postgres://flotilla:***@db.example:6543/hub?sslmode=verify-full")
    let bad: [(String, String)] = [
        ("mysql://u@h/db", "scheme"),
        ("postgres://u:pw@h", "names no database"),
        ("postgres://h/db", "no user"),
        ("postgres://u:pw@h/db?sslmode=prefer", "sslmode 'prefer'"),
        ("postgres://u:pw@h/db?target_session_attrs=any", "target_session_attrs"),
    ]
    for (text, expected) in bad {
        #expect { _ = try PostgresURL(parsing: text) } throws: { error in "\(error)".contains(expected) && !"\(error)".contains("pw") }
    }
    let port = freeLoopbackPort()
    let key = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-key-\(UUID().uuidString)").path
    #expect {
        _ = try PostgresHubStore(url: PostgresURL(parsing: "postgres://u:hunter2@127.0.0.1:\(port)/db"), keyFile: key, replica: "r1")
    } throws: { error in
        "\(error)".contains("cannot connect to PostgreSQL at postgres://u:***@127.0.0.1:\(port)/db") && !"\(error)".contains("hunter2")
    }
}

private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ new: [String]) { lock.withLock { items += new } }
    var all: [String] { lock.withLock { items } }
}
