import FleetModel
import FleetPostgres
import FleetStore
import FleetTesting
import Foundation
import Testing

/// `flotilla store migrate` copies every table of a SQLite hub into an empty PostgreSQL database, verified table by
/// table; the copy reads back the same (sealed credentials open with the same key); a non-empty target is refused
/// and changes nothing; the password never shows.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func storeMigrateCopiesEveryTable() throws {
    let server = try #require(TestPostgres.shared, "PostgreSQL could not start (see above)")
    let cli = CLI()
    defer { cli.cleanup() }
    let dir = cli.dataDir
    let clusters = try SQLiteClusterStore(directory: dir)
    try clusters.update { registry in
        registry.upsert(Cluster(name: "eu", server: "https://10.0.0.1:6443", labels: ["env": "prod"], secondary: "us",
                                credentials: ClusterCredentials(bearerToken: "planted-secret-token")))
        registry.upsert(Cluster(name: "us", server: "https://10.0.0.2:6443", clusterResources: true))
    }
    let apps = SQLiteApplicationStore(sharing: clusters)
    try apps.apply(creating: [StoredApplication(name: "web-eu", appSet: "web", cluster: "eu", object: .object([("spec", .object([]))]))],
                   updating: [], deleting: [], appSet: "web", prune: false)
    _ = try apps.finishReconcile("web-eu", status: .object([("sync", .object([("status", .string("Synced"))]))]),
                                 history: SyncEntry(application: "web-eu", revision: "abc", startedAt: "t0", finishedAt: "t1", result: "Succeeded", resources: .array([])),
                                 event: HubEvent(.sync, cluster: "eu", application: "web-eu", message: "synced"))
    _ = try apps.setPlacement("web-eu", expected: nil, to: Placement(primary: "eu", active: "us", phase: .failedOver, reason: "test", since: "t2"),
                              prune: ["eu"], event: HubEvent(.failedOver, cluster: "eu", application: "web-eu", message: "moved"))
    try apps.setClusterState("eu", ClusterOperationalState(health: ClusterHealth(state: .unreachable, since: 5), cordoned: true))
    try apps.saveApplicationSet(name: "api-set", object: .object([("kind", .string("ApplicationSet"))]))
    let auth = SQLiteAuthStore(sharing: clusters)
    _ = try auth.bootstrap(account: "admin", role: "role:admin",
                           token: StoredToken(id: "t1", account: "admin", hash: "h1", description: "first", createdAt: "", expiresAt: nil, revokedAt: nil))

    let database = try server.createDatabase()
    let withPassword = database.replacingOccurrences(of: "flotilla@", with: "flotilla:hunter2@")
    let urlFile = cli.write("pg-url", withPassword)
    let first = try cli.run(["store", "migrate", "--from", "sqlite:" + dir.path, "--to-file", urlFile])
    #expect(first.status == 0, "\(first.stdout) \(first.stderr)")
    for table in SQLiteClusterStore.stateTables { #expect(first.stdout.contains(table), "\(table) in \(first.stdout)") }
    #expect(!first.stdout.contains("MISMATCH") && first.stdout.contains("copied") && !(first.stdout + first.stderr).contains("hunter2"))

    let copy = try PostgresHubStore(url: try PostgresURL(parsing: database), keyFile: dir.appendingPathComponent("secret.key").path, replica: "check")
    defer { copy.close() }
    #expect(try copy.clusters.clusters() == clusters.clusters())
    #expect(try copy.applications.application(named: "web-eu") == apps.application(named: "web-eu"))
    #expect(try copy.applications.history("web-eu") == apps.history("web-eu"))
    #expect(try copy.applications.events().map(\.message) == apps.events().map(\.message))
    #expect(try copy.applications.pendingPrunes().map(\.cluster) == ["eu"])
    #expect(try copy.applications.clusterStates() == apps.clusterStates())
    #expect(try copy.applications.applicationSets().map(\.name) == ["api-set"])
    #expect(try copy.auth.tokens() == auth.tokens() && copy.auth.accounts() == auth.accounts())
    // New events continue after the copied ones.
    let next = try copy.applications.appendEvent(HubEvent(.sync, message: "after the copy"))
    #expect(next.id > (try apps.events().map(\.id).max() ?? 0))

    let again = try cli.run(["store", "migrate", "--from", dir.path, "--to-file", urlFile])
    #expect(again.status != 0 && again.stderr.contains("already holds") && !again.stderr.contains("hunter2"), "\(again.stderr)")
    #expect(try copy.applications.events().count == apps.events().count + 1)
    let bad = try cli.run(["store", "migrate", "--from", dir.path, "--to", "mysql://x@y/z"])
    #expect(bad.status != 0 && bad.stderr.contains("postgres://"), "\(bad.stderr)")
}
