import FleetConfig
import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

private let listSet = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps}
spec:
  generators:
    - list:
        elements:
          - {app: a, cluster: live}
          - {app: b, cluster: live}
          - {app: c, cluster: ghost}
  template:
    metadata: {name: '{{app}}'}
    spec:
      project: default
      source: {repoURL: 'https://git.example.com/acme/apps.git', targetRevision: HEAD, path: 'apps/{{app}}'}
      destination: {name: '{{cluster}}', namespace: '{{app}}'}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
"""

/// As Argo CD: an Application the hub cannot place is skipped and reported on its ApplicationSet (API, event);
/// the others are created, and an existing one whose new render fails is kept, not deleted.
@Test func partialSuccessInTheHub() async throws {
    let files = ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                 "apps/b/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
                 "apps/c/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: listSet)
    let hub = fixture.hub
    #expect(try hub.store.applications(appSet: "apps").map(\.name).sorted() == ["a", "b"])
    #expect(hub.status(ofApplicationSet: "apps")?.problems.first?.contains("cluster 'ghost' is not registered") == true)
    let listed = try await fixture.call("GET", "/api/v1/applicationsets/apps")
    #expect(listed.body.contains("\"problems\":[") && listed.body.contains("ghost"), "\(listed.body)")
    #expect(try hub.store.events().contains { $0.type == "ApplicationSetProblems" && $0.message.contains("ghost") })

    // b's destination becomes unknown: b stays, with both problems shown.
    try listSet.replacingOccurrences(of: "{app: b, cluster: live}", with: "{app: b, cluster: ghost}")
        .write(to: fixture.dir.appendingPathComponent("appsets/set.yaml"), atomically: true, encoding: .utf8)
    try await eventually("two problems") { hub.status(ofApplicationSet: "apps")?.problems.count == 2 }
    #expect(try hub.store.applications(appSet: "apps").map(\.name).sorted() == ["a", "b"], "b is kept while its render is refused")
    await fixture.stop()
}

/// A hub in a pod registers in-cluster with the pod's service account and follows its rotated token; a
/// cluster already registered at https://kubernetes.default.svc is left alone.
@Test func inClusterIsRegisteredInAPod() async throws {
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"],
                                         appSet: perCluster)
    let sa = fixture.dir.appendingPathComponent("serviceaccount")
    try FileManager.default.createDirectory(at: sa, withIntermediateDirectories: true)
    try "first-token".write(to: sa.appendingPathComponent("token"), atomically: true, encoding: .utf8)
    let hub = fixture.hub
    try await ConcurrentRunner.blocking { hub.registerInCluster(serviceAccountDirectory: sa.path) }
    let local = try #require(try hub.clusterStore.cluster(named: "in-cluster"))
    #expect(local.server == "https://kubernetes.default.svc" && local.credentials.bearerToken == "first-token")
    try "rotated-token".write(to: sa.appendingPathComponent("token"), atomically: true, encoding: .utf8)
    try await ConcurrentRunner.blocking { hub.registerInCluster(serviceAccountDirectory: sa.path) }
    #expect(try hub.clusterStore.cluster(named: "in-cluster")?.credentials.bearerToken == "rotated-token")
    // The API shows no token.
    let answer = try await fixture.call("GET", "/api/v1/clusters/in-cluster")
    #expect(answer.status == 200 && !answer.body.contains("rotated-token"))
    await fixture.stop()
}

/// A cluster registered with `namespaces` takes objects only in those namespaces: the sync of another
/// namespace fails with Argo CD's words and applies nothing.
@Test func namespaceScopedClusterRefusesOtherNamespaces() async throws {
    let files = ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                 "apps/b/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"]
    let set = perCluster.replacingOccurrences(of: "syncOptions: [CreateNamespace=true]", with: "syncOptions: []")
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: set) { config in config.resync = 1 }
    let hub = fixture.hub
    let port = fixture.running.ports["live"]!
    try "clusters:\n  - {name: live, server: 'http://127.0.0.1:\(port)', labels: {env: prod}, namespaces: [b]}\n"
        .write(to: fixture.dir.appendingPathComponent("clusters.yaml"), atomically: true, encoding: .utf8)
    try await eventually("live is namespace-scoped") { try hub.clusterStore.cluster(named: "live")?.namespaces == ["b"] }
    try await eventually("a-live refused", timeout: 20) {
        (try hub.store.application(named: "a-live")?.status.serialized(pretty: false) ?? "").contains("namespace a is not managed")
    }
    await fixture.stop()
}

/// A source the hub cannot render is a ComparisonError on its Application, never Synced/Healthy with nothing
/// deployed; its siblings sync, a Helm chart among them (rendered natively, the release named after the app).
@Test func unrenderableSourcesAreNeverSynced() async throws {
    let files = ["apps/plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                 "apps/chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
                 "apps/chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n",
                 "apps/broken/Chart.yaml": "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
                 "apps/broken/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ required \"image.tag is required\" .Values.image }}}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: perCluster)
    let hub = fixture.hub
    try await eventually("plain-live synced") {
        try hub.store.application(named: "plain-live")?.status.value(at: ["sync", "status"])?.stringValue == "Synced"
    }
    try await eventually("chart-live synced") {
        let status = try hub.store.application(named: "chart-live")?.status
        return status?.value(at: ["sync", "status"])?.stringValue == "Synced"
            && status?["resources"]?.arrayValue?.contains { $0["name"]?.stringValue == "chart-live" && $0["kind"]?.stringValue == "ConfigMap" } == true
    }
    try await eventually("broken-live refused") {
        (try hub.store.application(named: "broken-live")?.status.serialized(pretty: false) ?? "").contains("image.tag is required")
    }
    let status = try #require(try hub.store.application(named: "broken-live")?.status)
    #expect(status.value(at: ["sync", "status"])?.stringValue != "Synced")
    #expect(status.value(at: ["health", "status"])?.stringValue != "Healthy")
    #expect(status.serialized(pretty: false).contains("ComparisonError"))
    await fixture.stop()
}

/// The hub runs hooks in their phase and reports them apart from the resources; a `Skip` hook is never applied,
/// a hook type no phase runs is named in a condition.
@Test func hooksRunAndAreReported() async throws {
    let files = ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
                 "apps/web/skip.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped, annotations: {argocd.argoproj.io/hook: Skip}}\n",
                 "apps/web/test.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tested, annotations: {helm.sh/hook: test}}\n",
                 "apps/web/pre.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pre, annotations: {argocd.argoproj.io/hook: PreSync}}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: perCluster)
    let hub = fixture.hub
    try await eventually("the hook ran") {
        let status = try hub.store.application(named: "web-live")?.status
        return status?["hooks"]?.arrayValue?.contains { $0["name"]?.stringValue == "pre" && $0["phase"]?.stringValue == "PreSync" && $0["status"]?.stringValue == "Succeeded" } == true
    }
    let status = try #require(try hub.store.application(named: "web-live")?.status)
    #expect(status["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["web"])
    #expect(status.serialized(pretty: false).contains("SyncHooksNotRun") && status.serialized(pretty: false).contains("tested (test)"), "\(status.serialized())")
    let (skipped, pre) = try await ConcurrentRunner.blocking { () -> (JSONValue?, JSONValue?) in
        let client = KubeClient(cluster: try hub.clusterStore.cluster(named: "live")!, timeout: 5)
        let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
        return (try client.get(cm, namespace: "web", name: "skipped"), try client.get(cm, namespace: "web", name: "pre"))
    }
    #expect(skipped == nil, "a Skip hook is not applied")
    #expect(pre?.value(at: ["metadata", "annotations", "flotilla.io/hook-of"])?.stringValue == "web-live")
    await fixture.stop()
}

/// When an Application is deleted, its objects are pruned — except one that says `Delete=false`
/// (`argocd.argoproj.io/sync-options`), left in place as Argo CD leaves it.
@Test func objectsThatSayDeleteFalseOutliveTheirApplication() async throws {
    let files = ["apps/data/claim.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, annotations: {argocd.argoproj.io/sync-options: Delete=false}}\n",
                 "apps/data/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: drop}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: perCluster)
    let hub = fixture.hub
    @Sendable func live(_ name: String) throws -> JSONValue? {
        let client = KubeClient(cluster: try hub.clusterStore.cluster(named: "live")!, timeout: 5)
        return try client.get(try client.resource(apiVersion: "v1", kind: "ConfigMap"), namespace: "data", name: name)
    }
    try await eventually("both objects applied", timeout: 20) { try live("keep") != nil && live("drop") != nil }
    // The ApplicationSet's file goes: its Application is deleted, and its objects pruned.
    try FileManager.default.removeItem(at: fixture.dir.appendingPathComponent("appsets/set.yaml"))
    try await eventually("the Application's objects pruned", timeout: 30) { try live("drop") == nil }
    #expect(try await ConcurrentRunner.blocking { try live("keep") } != nil, "the Delete=false object stays")
    await fixture.stop()
}
