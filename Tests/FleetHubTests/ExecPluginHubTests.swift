import FleetHub
import FleetKube
import FleetModel
import FleetSim
import Foundation
import Testing

/// A cluster behind a credential plugin (an Argo CD cluster Secret with `execProviderConfig`, as GKE's and
/// AKS's are registered): the hub runs the plugin its operator allowed, syncs with the token it prints, runs it
/// again once the token expires — and refuses a Secret or an API body naming any other command.
@Test func aClusterBehindACredentialPluginIsSynced() async throws {
    let sims = try await SimServer(listeners: [.init(host: "127.0.0.1", port: 0, cluster: SimCluster(options: .init(name: "gke", token: "gke-token", readyAfter: 0)))],
                                   logLevel: .critical).start()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-exec-hub-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    // The plugin: counts its runs; its token is good for 15 s (renewed 10 s before expiry: every 5 s).
    let plugin = dir.appendingPathComponent("gke-auth-plugin").path
    try """
    #!/bin/sh
    echo run >> "\(dir.path)/runs.txt"
    printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"gke-token","expirationTimestamp":"%s"}}' "$(date -u -d '+15 seconds' +%Y-%m-%dT%H:%M:%SZ)"
    """.write(toFile: plugin, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: plugin)
    @Sendable func runs() -> Int { ((try? String(contentsOfFile: dir.path + "/runs.txt", encoding: .utf8)) ?? "").split(separator: "\n").count }
    func secret(_ name: String, port: Int, command: String) -> String {
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: \(name), labels: {argocd.argoproj.io/secret-type: cluster, env: gke}}
        stringData:
          name: \(name)
          server: http://127.0.0.1:\(port)
          config: '{"execProviderConfig":{"command":"\(command)","apiVersion":"client.authentication.k8s.io/v1beta1"}}'
        """
    }
    let secrets = dir.appendingPathComponent("cluster-secrets.yaml")
    try secret("gke", port: sims.ports["gke"]!, command: "gke-auth-plugin").write(to: secrets, atomically: true, encoding: .utf8)
    let fixture = try await InProcessHub(clusters: [:], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"],
                                         appSet: perCluster) { config in
        config.clusters.append(secrets.path)
        config.execPlugins = ExecPluginPolicy(allowed: [plugin], timeout: 5)
    }
    @Sendable func sync() throws -> JSONValue? { try fixture.hub.store.application(named: "web-gke")?.status.value(at: ["sync", "status"]) }
    try await eventually("web-gke Synced through the plugin's token", timeout: 30) { try sync() == "Synced" }
    let first = runs()
    #expect(first >= 1)
    // The token expires: the next request runs the plugin again, and the Application stays in sync.
    try await Task.sleep(for: .seconds(6))   // wall time is the subject: the plugin's token is due for renewal
    #expect(try await fixture.call("POST", "/api/v1/applications/web-gke/sync").status == 202)
    try await eventually("the plugin run again after its token expired", timeout: 30) { runs() > first }
    try await eventually("still Synced", timeout: 30) { try sync() == "Synced" }

    // Another command, by API body or by Secret file: refused naming it, nothing registered.
    let refused = try await fixture.call("POST", "/api/v1/clusters", body: secret("evil", port: 1, command: "/bin/sh"))
    #expect(refused.status == 422 && refused.body.contains("credential plugin '/bin/sh' is not allowed"), "\(refused.body)")
    #expect(try fixture.hub.clusterStore.clusters().map(\.name) == ["gke"])
    await fixture.stop()
    await sims.stop()
}
