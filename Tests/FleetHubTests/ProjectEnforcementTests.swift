import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

private func waitForCondition(_ fixture: InProcessHub, _ app: String, _ type: String) async throws -> JSONValue? {
    let deadline = Date().addingTimeInterval(15)
    while Date() < deadline {
        let status = try await ConcurrentRunner.blocking { [hub = fixture.hub] in try hub.store.application(named: app)?.status }
        if let condition = status?["conditions"]?.arrayValue?.first(where: { $0["type"]?.stringValue == type }) { return condition }
        try await Task.sleep(for: .milliseconds(100))
    }
    return nil
}

/// An Application whose project forbids a kind it holds, a destination or (during a deny window) any sync is
/// not applied, with a condition naming the rule.
@Test func projectRulesStopSyncs() async throws {
    let projects = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-projects-\(UUID().uuidString).yaml")
    try """
    apiVersion: argoproj.io/v1alpha1
    kind: AppProject
    metadata: {name: strict}
    spec:
      sourceRepos: ['https://git.example.com/*']
      destinations: [{name: a, namespace: '*'}]
      clusterResourceWhitelist: []
      namespaceResourceBlacklist: [{group: '', kind: Secret}]
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AppProject
    metadata: {name: frozen}
    spec:
      sourceRepos: ['*']
      destinations: [{server: '*', namespace: '*'}]
      syncWindows: [{kind: deny, schedule: '* * * * *', duration: 1h, applications: ['*']}]
    """.write(to: projects, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: projects) }
    let set = perCluster.replacingOccurrences(of: "project: default", with: "project: '{{ path.basename }}'")
        .replacingOccurrences(of: "syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}", with: "syncPolicy: {automated: {prune: true}}")
    let fixture = try await InProcessHub(clusters: ["a": true, "b": true], files: [
        "apps/strict/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n",
        "apps/frozen/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "apps/nosuch/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\n",
    ], appSet: set) { config in config.projects = [projects.path] }

    // A project that does not exist: its Applications are skipped at generation (as Argo CD's ApplicationSet
    // controller does), named on the ApplicationSet; never created and then refused.
    #expect(try fixture.hub.store.application(named: "nosuch-a") == nil)
    let info = try JSONParser.parse((try await fixture.call("GET", "/api/v1/applicationsets/apps")).body)
    let skipped = info["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(skipped.contains { $0.contains("Application nosuch-a: app is not allowed in project \"nosuch\", or the project does not exist") }, "\(info.serialized())")

    let kind = try await waitForCondition(fixture, "strict-a", "ProjectViolation")
    #expect(kind?["message"]?.stringValue?.contains("forbids kind Secret (namespaceResourceBlacklist)") == true, "\(String(describing: kind))")
    let destination = try await waitForCondition(fixture, "strict-b", "ProjectViolation")
    #expect(destination?["message"]?.stringValue?.contains("does not allow destination b") == true, "\(String(describing: destination))")
    let window = try await waitForCondition(fixture, "frozen-a", "SyncWindow")
    #expect(window?["message"]?.stringValue?.contains("deny sync window") == true)
    // Nothing was applied.
    let applied = try await ConcurrentRunner.blocking { [hub = fixture.hub] () -> [JSONValue?] in
        let client = KubeClient(cluster: try hub.clusterStore.cluster(named: "a")!, timeout: 5)
        return [try client.get(try client.resource(apiVersion: "v1", kind: "Secret"), namespace: "strict", name: "s"),
                try client.get(try client.resource(apiVersion: "v1", kind: "ConfigMap"), namespace: "frozen", name: "c")]
    }
    #expect(applied.allSatisfy { $0 == nil })
    let listed = try JSONParser.parse((try await fixture.call("GET", "/api/v1/projects")).body)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
    #expect(listed == ["frozen", "strict"])
    // A projects file that stops parsing keeps its projects, said once as a ConfigurationRejected event.
    let good = try String(contentsOf: projects, encoding: .utf8)
    try good.replacingOccurrences(of: "kind: deny", with: "kind: sometimes").write(to: projects, atomically: true, encoding: .utf8)
    try await eventually("the bad projects file is said", timeout: 10) {
        try fixture.hub.store.events().filter { $0.type == "ConfigurationRejected" && $0.message.contains("syncWindows") }.count == 1
    }
    // (That it is said once however many rounds read it again is asserted on a manual clock: theHubsLoopsRunOnItsClock.)
    let kept = try JSONParser.parse((try await fixture.call("GET", "/api/v1/projects")).body)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
    #expect(kept == ["frozen", "strict"])
    await fixture.stop()
}
