import FleetKube
import FleetModel
import FleetTesting
import Foundation
import Testing

/// Three `flotilla serve` replicas on one PostgreSQL and four simulated clusters: the leases spread the clusters
/// over the replicas (each holds some, one holds the generation); every Application is synced; a replica killed
/// with SIGKILL has its clusters taken over within a lease duration, and a change committed afterwards reaches
/// every cluster, the dead replica's included. Any replica answers for the whole fleet, and a manual sync sent to
/// a replica that does not hold the cluster is forwarded to the one that does.
@Test(.enabled(if: TestRequirement.runs(TestPostgres.shared != nil), "PostgreSQL's server programs (initdb, pg_ctl) are not installed"))
func threeReplicasShareTheFleetAndSurviveOneDeath() throws {
    let postgres = try #require(TestPostgres.shared, "PostgreSQL could not start (see above)")
    let database = try postgres.createDatabase()
    let clusters = ["c1", "c2", "c3", "c4"]
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-replicas-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }
    let hub = try HubFixture(
        clusters: Dictionary(uniqueKeysWithValues: clusters.map { ($0, ["env": "prod"]) }),
        files: ["apps/web/config.yaml": configMap("web-config", "1"), "apps/api/config.yaml": configMap("api-config", "1")],
        appSets: [directoryAppSet(name: "apps", env: "prod")], resync: "5s", secondaries: ["c1": "c2", "c3": "c4"],
        extraConfig: """
        failover: {probeInterval: 200ms, probeTimeout: 300ms, failureThreshold: 2, recoveryThreshold: 2, holdDown: 1s, maxFailoverPercent: 70}
        store: {postgres: {url: '\(database)', keyFile: '\(work.appendingPathComponent("secret.key").path)'}}
        replica: {name: r1}
        lease: {renew: 500ms, duration: 3s}
        """)
    var others: [String: (process: Process, port: Int)] = [:]
    defer {
        if ProcessInfo.processInfo.environment["FLOTILLA_TEST_LOGS"] != nil {
            for name in ["r2", "r3"] { print("--- \(name) ---\n" + ((try? String(contentsOf: work.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? "")) }
        }
        for (_, replica) in others where replica.process.isRunning {
            kill(replica.process.processIdentifier, SIGKILL)
            replica.process.waitUntilExit()
        }
        hub.stop()
    }
    for name in ["r2", "r3"] {
        let dataDir = work.appendingPathComponent(name).path
        others[name] = try hub.launchServe(environment: ["FLOTILLA_REPLICA": name, "FLOTILLA_DATA_DIR": dataDir],
                                           log: work.appendingPathComponent("\(name).log"))
    }
    let apps = Set(clusters.flatMap { ["web-\($0)", "api-\($0)"] })
    try hub.waitHealthy(apps, timeout: 40)

    // The leases spread: every replica live, each cluster held by exactly one, every replica holding some.
    func replicas() throws -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: (try hub.api("GET", "/api/v1/replicas")["items"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0) })
    }
    func leases(_ r: [String: JSONValue]) -> [String: [String]] { r.mapValues { ($0["leases"]?.arrayValue ?? []).compactMap(\.stringValue) } }
    try hub.waitFor("leases spread over three replicas", timeout: 30) {
        let held = leases(try replicas())
        let all = held.values.flatMap { $0 }
        return held.count == 3 && held.values.allSatisfy { !$0.isEmpty } && all.count == clusters.count + 1 && Set(all).count == all.count
    }
    let before = leases(try replicas())
    #expect(try replicas().values.allSatisfy { $0["live"] == true })

    // Any replica answers for the whole fleet.
    let r2 = others["r2"]!
    let transport = HTTPTransport(server: "http://127.0.0.1:\(r2.port)", credentials: ClusterCredentials(bearerToken: hub.token), timeout: 10)
    let listed = try JSONParser.parse(try transport.request("GET", "/api/v1/applications").text)
    #expect(Set((listed["items"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }) == apps)

    // A manual sync through r1 of an Application whose cluster another replica holds is forwarded and runs there.
    let foreign = try #require(clusters.first { !(before["r1"] ?? []).contains("cluster/" + $0) })
    func manualSyncs() throws -> Int {
        (try hub.api("GET", "/api/v1/events?application=web-\(foreign)")["items"]?.arrayValue ?? [])
            .filter { $0["message"]?.stringValue?.contains("manual sync by admin") == true }.count
    }
    let syncsBefore = try manualSyncs()
    try hub.api("POST", "/api/v1/applications/web-\(foreign)/sync", body: "{}", expect: 202)
    try hub.waitFor("forwarded sync of web-\(foreign) ran", timeout: 15) { try manualSyncs() == syncsBefore + 1 }
    #expect(hub.log.contains("sync of web-\(foreign) forwarded to the replica holding cluster \(foreign)"))

    // Kill the replica holding the most clusters (never r1, whose API the test reads).
    let victim = try #require(["r2", "r3"].max { (before[$0] ?? []).count < (before[$1] ?? []).count })
    let orphaned = (before[victim] ?? []).filter { $0.hasPrefix("cluster/") }.map { String($0.dropFirst("cluster/".count)) }
    #expect(!orphaned.isEmpty)
    kill(others[victim]!.process.processIdentifier, SIGKILL)
    others[victim]!.process.waitUntilExit()
    let killedAt = Date()
    try hub.waitFor("\(victim)'s clusters taken over", timeout: 20) {
        let held = leases(try replicas())
        let all = held.filter { $0.key != victim }.values.flatMap { $0 }
        return (held[victim] ?? []).isEmpty && all.count == clusters.count + 1
    }
    let takeover = Date().timeIntervalSince(killedAt)
    #expect(takeover < 3 + 2 + 1, "taken over in \(takeover) s with a 3 s lease")

    // A change committed now reaches every cluster, the dead replica's included.
    try hub.commit(["apps/web/config.yaml": configMap("web-config", "2")])
    try hub.waitFor("web-config 2 on every cluster", timeout: 30) {
        try clusters.allSatisfy { try hub.get($0, "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "2" }
    }
    try hub.waitHealthy(apps, timeout: 30)
    // The dead replica's heartbeat ages; the survivors are live.
    let after = try replicas()
    #expect(after[victim]?["live"] == false || after[victim] == nil)
    #expect(after.filter { $0.key != victim }.values.allSatisfy { $0["live"] == true })
    let metrics = try hub.raw("GET", "/metrics").text
    #expect(metrics.contains("flotilla_leases_held"), "\(metrics.prefix(200))")
    // Failover still works on the survivors: c1 stops answering; whichever replica holds it marks it Unreachable and
    // moves its Applications to c2, where c2's holder syncs them; c1 comes back and they fail back.
    hub.freeze("c1")
    try hub.waitFor("web-c1 served on c2", timeout: 30) {
        let a = try hub.api("GET", "/api/v1/applications/web-c1")
        return a["activeCluster"] == "c2" && a.value(at: ["status", "cluster"]) == "c2" && a["health"] == "Healthy"
    }
    // c2 runs its own web-c2 with the same objects: web-c1 is covered there, the sibling's objects untouched.
    #expect(try hub.api("GET", "/api/v1/applications/web-c1")["placement"]?["coveredBy"] == "web-c2")
    #expect(try hub.owned("c2", "v1", "ConfigMap", namespace: "web", by: "web-c2") == ["web-config"])
    hub.thaw("c1")
    try hub.waitFor("web-c1 back on c1", timeout: 30) {
        let a = try hub.api("GET", "/api/v1/applications/web-c1")
        return a["placement"]?.isNull == true && a.value(at: ["status", "cluster"]) == "c1" && a["health"] == "Healthy"
    }
    #expect(try hub.owned("c1", "v1", "ConfigMap", namespace: "web", by: "web-c1") == ["web-config"])
    #expect(try hub.owned("c2", "v1", "ConfigMap", namespace: "web", by: "web-c2") == ["web-config"])
    // `flotilla replicas` shows it too.
    let cli = try CLI.runProcess(CLI.binary, ["replicas", "--server", hub.url], environment: hub.env)
    #expect(cli.stdout.contains("REPLICA") && cli.stdout.contains("r1 *"), "\(cli.stdout) \(cli.stderr)")
}
