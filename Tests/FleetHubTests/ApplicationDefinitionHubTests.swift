import FleetConfig
import FleetHub
import FleetModel
import Foundation
import Testing

/// An Argo CD Application as a person writes it, on the simulated cluster `live`.
private func application(_ name: String, path: String, project: String = "default", finalizer: Bool = true) -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata:
      name: \(name)
      namespace: argocd
    \(finalizer ? "  finalizers: [resources-finalizer.argocd.argoproj.io]" : "")
    spec:
      project: \(project)
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: \(path)}
      destination: {name: live, namespace: \(name)}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    """
}

private let generated = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: gen}
spec:
  generators: [{list: {elements: [{app: made}]}}]
  template:
    metadata: {name: '{{app}}'}
    spec:
      project: default
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: apps/a}
      destination: {name: live, namespace: made}
"""

private func configMap(_ fixture: InProcessHub, namespace: String, name: String) async throws -> Int {
    try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/\(namespace)/configmaps/\(name)").status
}

private func synced(_ fixture: InProcessHub, _ name: String) async throws {
    try await eventually("\(name) synced", timeout: 20) {
        try fixture.hub.store.application(named: name)?.status.value(at: ["sync", "status"])?.stringValue == "Synced"
    }
}

/// Applications written directly — in the watched files beside ApplicationSets, and through the API — are
/// synced as generated ones are; each is its own owner; deleting one cascades only with Argo CD's finalizer;
/// what the hub refuses (an unknown project, a name another owner generates, a file's Application through the
/// API) is refused whole with its reason, nothing stored.
@Test func applicationsWrittenDirectly() async throws {
    let files = ["apps/a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                 "apps/b/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"]
    let projects = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-projects-\(UUID().uuidString).yaml")
    try "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: team}\nspec:\n  sourceRepos: ['*']\n  destinations: [{server: '*', namespace: '*'}]\n"
        .write(to: projects, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: projects) }
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: generated + "\n---\n" + application("web", path: "apps/a")) { config in
        config.projects = [projects.path]
    }
    let hub = fixture.hub
    // From the file, beside the ApplicationSet.
    try await synced(fixture, "web")
    #expect(try await configMap(fixture, namespace: "web", name: "a") == 200)
    let web = try await fixture.call("GET", "/api/v1/applications/web")
    #expect(web.body.contains("\"owner\":\"Application/web\"") && web.body.contains("\"appSet\":\"\""), "\(web.body)")
    let sets = try await fixture.call("GET", "/api/v1/applicationsets")
    #expect(sets.body.contains("\"gen\"") && !sets.body.contains("web"), "\(sets.body)")
    let fromFile = try await fixture.call("DELETE", "/api/v1/applications/web")
    #expect(fromFile.status == 409 && fromFile.body.contains("remove it from the file instead"), "\(fromFile.body)")

    // Through the API: created, then the same again is unchanged.
    let created = try await fixture.call("POST", "/api/v1/applications", body: application("api-app", path: "apps/b"))
    #expect(created.status == 200 && created.body.contains("\"created\":[\"api-app\"]"), "\(created.body)")
    try await synced(fixture, "api-app")
    #expect(try await configMap(fixture, namespace: "api-app", name: "b") == 200)
    let again = try await fixture.call("POST", "/api/v1/applications", body: application("api-app", path: "apps/b"))
    #expect(again.status == 200 && again.body.contains("\"created\":[]") && again.body.contains("\"updated\":[]"), "\(again.body)")
    // Argo CD's refresh annotation: a refresh now, and the annotation not kept (the definition is unchanged).
    let compared = hub.lastReconciled("api-app") ?? ""
    let refreshed = try await fixture.call("POST", "/api/v1/applications", body: application("api-app", path: "apps/b")
        .replacingOccurrences(of: "  namespace: argocd\n", with: "  namespace: argocd\n  annotations: {argocd.argoproj.io/refresh: hard}\n"))
    #expect(refreshed.status == 200 && refreshed.body.contains("\"updated\":[]"), "\(refreshed.body)")
    #expect(hub.applicationDefinition(named: "api-app")?.object.value(at: ["metadata", "annotations"]) == nil)
    try await eventually("compared again", timeout: 20) { (hub.lastReconciled("api-app") ?? "") > compared }

    // Deleted with the finalizer: its objects go too.
    #expect(try await fixture.call("DELETE", "/api/v1/applications/api-app").status == 200)
    try await eventually("api-app's ConfigMap pruned", timeout: 20) {
        try hub.store.application(named: "api-app") == nil && hub.store.pendingPrunes().isEmpty
    }
    #expect(try await configMap(fixture, namespace: "api-app", name: "b") == 404)

    // Without it: the Application goes, its objects stay (Argo CD's non-cascading delete).
    _ = try await fixture.call("POST", "/api/v1/applications", body: application("kept", path: "apps/b", finalizer: false))
    try await synced(fixture, "kept")
    #expect(try await fixture.call("DELETE", "/api/v1/applications/kept").status == 200)
    #expect(try hub.store.application(named: "kept") == nil)
    // Nothing will remove its objects: no prune was recorded with the delete (prunes are recorded in the same
    // transaction), and the ConfigMap is there.
    #expect(try hub.store.pendingPrunes().allSatisfy { $0.application != "kept" })
    #expect(try await configMap(fixture, namespace: "kept", name: "b") == 200)

    // Refused whole: an unknown project (never reported as created), a name an ApplicationSet generates,
    // an ApplicationSet sent as an Application.
    let before = try hub.store.count()
    let noProject = try await fixture.call("POST", "/api/v1/applications", body: application("lost", path: "apps/b", project: "nope"))
    #expect(noProject.status == 422 && noProject.body.contains("nope"), "\(noProject.body)")
    try await eventually("gen generated") { try hub.store.application(named: "made") != nil }
    let clash = try await fixture.call("POST", "/api/v1/applications", body: application("made", path: "apps/b"))
    #expect(clash.status == 409 && clash.body.contains("ApplicationSet gen"), "\(clash.body)")
    #expect(try await fixture.call("DELETE", "/api/v1/applications/made").status == 409)
    #expect(try await fixture.call("POST", "/api/v1/applications", body: generated).status == 400)
    #expect(try hub.store.count() == before)
    #expect(try hub.store.application(named: "lost") == nil)

    // A watched file that stops parsing keeps its definitions and says why, with the file and line.
    let file = fixture.dir.appendingPathComponent("appsets/set.yaml")
    let good = try String(contentsOf: file, encoding: .utf8)
    try good.replacingOccurrences(of: "  syncPolicy: {automated", with: "  syncPolcy: {automated").write(to: file, atomically: true, encoding: .utf8)
    try await eventually("the bad file is said", timeout: 10) {
        try hub.store.events().contains { $0.type == "ConfigurationRejected" && $0.message.contains("set.yaml") && $0.message.contains("syncPolcy") }
    }
    #expect(try hub.store.application(named: "web") != nil, "the file's Application stays")
    await fixture.stop()
}
