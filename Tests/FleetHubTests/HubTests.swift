import FleetConfig
import FleetGit
import FleetHub
import FleetKube
import FleetModel
import FleetSim
import FleetTesting
import Foundation
import Logging
import Testing

/// A hub in this process with in-process simulators and a libgit2-written repository.
final class InProcessHub: @unchecked Sendable {
    let dir: URL
    let hub: Hub
    let api: HubAPI
    let running: SimServer.Running
    static let repoURL = "https://git.example.com/acme/apps.git"

    init(clusters: [String: Bool], files: [String: String], appSet: String, failImage: String? = nil, readyAfter: Double = 0,
         secondaries: [String: String] = [:], configure: (inout HubConfiguration) -> Void = { _ in }) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let live = clusters.filter(\.value).keys.sorted()
        running = try await SimServer(listeners: live.map { .init(host: "127.0.0.1", port: 0, cluster: SimCluster(options: .init(name: $0, readyAfter: readyAfter, failImage: failImage))) },
                                      logLevel: .critical).start()
        // A dead cluster: a port nothing listens on.
        let ports = running.ports
        // Dead clusters: ports nothing listens on, one each (a server URL names one cluster).
        let yaml = FleetFixtures.clustersYAML(clusters.keys.sorted().enumerated().map { i, name in
            .init(name: name, port: ports[name] ?? 1 + i, secondary: secondaries[name])
        })
        try yaml.write(to: dir.appendingPathComponent("clusters.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("appsets"), withIntermediateDirectories: true)
        try appSet.write(to: dir.appendingPathComponent("appsets/set.yaml"), atomically: true, encoding: .utf8)
        let repo = dir.appendingPathComponent("repo.git")
        try GitRepositoryWriter(creatingAt: repo).commit(files: files.mapValues { Data($0.utf8) }, message: "initial")
        var config = HubConfiguration()
        config.clusters = [dir.appendingPathComponent("clusters.yaml").path]
        config.applicationSets = [dir.appendingPathComponent("appsets").path]
        config.repositories = [.init(url: Self.repoURL, fetchFrom: repo.path)]
        config.concurrency = 4
        config.perCluster = 2
        config.resync = 60
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        hub = try Hub(config: config, dataDir: dir.appendingPathComponent("data"), logger: logger)
        api = HubAPI(hub: hub)
        try await ConcurrentRunner.blocking { [hub] in try hub.start() }
    }

    /// A request as the admin (unless `headers` has its own `authorization`, or `authorize` is false: none).
    func call(_ method: String, _ path: String, body: String = "", headers: [String: String] = [:], authorize: Bool = true) async throws -> APIResponse {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        var headers = headers
        if authorize, headers["authorization"] == nil, let token = hub.bootstrapToken { headers["authorization"] = "Bearer \(token)" }
        let request = APIRequest(method: method, path: parts[0], query: SimServer.parseQuery(parts.count > 1 ? parts[1] : nil), headers: headers,
                                 body: Array(body.utf8))
        return await api.handle(request)
    }

    func stop() async {
        _ = try? await ConcurrentRunner.blocking { [hub] in hub.stop(timeout: 5) }
        await running.stop()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Waits until `check` holds (polled every 0.1 s, off the cooperative pool), or records that it timed out.
func eventually(_ what: String, timeout: Double = 15, _ check: @escaping @Sendable () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await ConcurrentRunner.blocking(check) { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting for \(what)")
}

/// The same for a check that calls the hub's API (async).
func eventuallyAsync(_ what: String, timeout: Double = 15, _ check: @escaping @Sendable () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await check() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting for \(what)")
}

let perCluster = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps}
spec:
  generators:
    - matrix:
        generators:
          - git: {repoURL: 'https://git.example.com/acme/apps.git', revision: HEAD, directories: [{path: 'apps/*'}]}
          - clusters: {}
  template:
    metadata: {name: '{{path.basename}}-{{name}}'}
    spec:
      project: default
      source: {repoURL: 'https://git.example.com/acme/apps.git', targetRevision: HEAD, path: '{{path}}'}
      destination: {server: '{{server}}', namespace: '{{path.basename}}'}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
"""

/// A dead cluster does not hold the workers: with 4 workers and 2 per cluster, the live cluster's 6
/// Applications all sync while the dead one's wait; the dead cluster is blocked and shown unreachable.
@Test func unreachableClusterFailsFast() async throws {
    var files: [String: String] = [:]
    for i in 1...6 { files["apps/a\(i)/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\(i)}\n" }
    let fixture = try await InProcessHub(clusters: ["live": true, "dead": false], files: files, appSet: perCluster)
    let start = Date()
    var synced = 0
    while Date().timeIntervalSince(start) < 15 {
        synced = try await ConcurrentRunner.blocking { [hub = fixture.hub] in
            try hub.store.applications(cluster: "live").filter { $0.status.value(at: ["sync", "status"]) == "Synced" }.count
        }
        if synced == 6 { break }
        try await Task.sleep(for: .milliseconds(100))
    }
    #expect(synced == 6)
    #expect(Date().timeIntervalSince(start) < 10)
    #expect(fixture.hub.unreachableClusters()["dead"] != nil)
    let clusters = try await fixture.call("GET", "/api/v1/clusters")
    #expect(clusters.body.contains("\"reachable\":false") && clusters.body.contains("\"lastError\""), "\(clusters.body)")
    let metrics = try await fixture.call("GET", "/metrics")
    #expect(metrics.body.contains("flotilla_cluster_reachable{cluster=\"dead\"} 0"))
    #expect(metrics.body.contains("flotilla_cluster_reachable{cluster=\"live\"} 1"))
    await fixture.stop()
}

/// Bad requests get a clear 4xx and change nothing.
@Test func badRequestsAreRefused() async throws {
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"],
                                         appSet: perCluster)
    let before = try fixture.hub.store.count()
    #expect(try await fixture.call("POST", "/api/v1/webhook/git", body: "{}").status == 404, "webhook disabled without a secret")
    #expect(try await fixture.call("POST", "/api/v1/applications/a-live/rollback", body: "{not json").status == 400)
    #expect(try await fixture.call("POST", "/api/v1/applications/a-live/rollback", body: "{\"id\": 99}").status == 404)
    let big = try await fixture.call("POST", "/api/v1/applicationsets", body: String(repeating: "x", count: HubAPI.maxBody + 1))
    #expect(big.status == 413)
    let badCluster = try await fixture.call("POST", "/api/v1/clusters", body: "name: Bad_Name\nserver: ftp://x\n")
    #expect(badCluster.status == 422 && badCluster.body.contains("Bad_Name"), "\(badCluster.body)")
    let badSelector = try await fixture.call("GET", "/api/v1/applications?selector=a%20in%20(")
    #expect(badSelector.status == 400)
    #expect(try await fixture.call("PATCH", "/api/v1/clusters").status == 405)
    #expect(try fixture.hub.store.count() == before)
    #expect(try fixture.hub.clusterStore.clusters().map(\.name) == ["live"])
    await fixture.stop()
}
