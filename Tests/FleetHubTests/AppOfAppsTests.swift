import FleetConfig
import FleetGit
import FleetHub
import FleetModel
import Foundation
import Testing

/// argocd-example-apps as its maintainers publish it (`../shared/conformance/argo-realworld/repos/`), every file.
private func exampleApps() throws -> [String: String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/conformance/argo-realworld/repos/argocd-example-apps")
    var files: [String: String] = [:]
    let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]), "argocd-example-apps is missing at \(root.path)")
    for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        files[String(url.path.dropFirst(root.path.count + 1))] = try String(contentsOf: url, encoding: .utf8)
    }
    #expect(files["apps/templates/applications.yaml"] != nil)
    return files
}

/// The parent: Argo CD's `apps` chart on the control plane, its children sent to the simulator and to this
/// repository (as a user of the example sets `config` for their own cluster and fork).
private func parent(server: String, path: String = "apps", name: String = "apps", helm: Bool = true) -> String {
    let parameters = """

            helm:
              parameters:
                - {name: config.spec.destination.server, value: '\(server)'}
                - {name: config.spec.source.repoURL, value: '\(InProcessHub.repoURL)'}
                - {name: config.spec.source.targetRevision, value: HEAD}
        """
    return """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: \(name), namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
    spec:
      project: default
      source:
        repoURL: '\(InProcessHub.repoURL)'
        targetRevision: HEAD
        path: \(path)\(helm ? parameters : "")
      destination: {server: https://kubernetes.default.svc, namespace: argocd}
      syncPolicy: {automated: {prune: true, selfHeal: true}}
    """
}

private let appsOfSets = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: from-parent, namespace: argocd}
spec:
  generators: [{list: {elements: [{app: guestbook}]}}]
  template:
    metadata: {name: 'set-{{app}}'}
    spec:
      project: default
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: '{{app}}'}
      destination: {name: live, namespace: set-guestbook}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
"""

private func status(_ hub: Hub, _ name: String) throws -> JSONValue? { try hub.store.application(named: name)?.status }

/// App-of-apps on the hub: the example `apps` chart deployed as a parent Application on the control plane
/// creates its 14 children as the hub's own Applications (never applied to a cluster), each synced to the
/// simulator; a child removed from values.yaml and committed is deleted with its objects (its finalizer);
/// an app-of-appsets parent creates its ApplicationSet and that set's Application; a parent that renders itself
/// is a cycle, named; deleting the parent deletes its children.
@Test func appOfAppsOnTheHub() async throws {
    var files = try exampleApps()
    files["hub-sets/set.yaml"] = appsOfSets
    files["loop/self.yaml"] = parent(server: "https://kubernetes.default.svc", path: "loop", name: "loop", helm: false)
    // Projects enforced: the one `default` project Argo CD always has, allowing everything.
    let projects = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-projects-\(UUID().uuidString).yaml")
    try """
    apiVersion: argoproj.io/v1alpha1
    kind: AppProject
    metadata: {name: default}
    spec:
      sourceRepos: ['*']
      destinations: [{server: '*', namespace: '*'}]
      clusterResourceWhitelist: [{group: '*', kind: '*'}]
    """.write(to: projects, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: projects) }
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: "") { config in
        config.resync = 5
        config.projects = [projects.path]
    }
    let hub = fixture.hub
    let server = "http://127.0.0.1:\(fixture.running.ports["live"]!)"

    let created = try await fixture.call("POST", "/api/v1/applications", body: parent(server: server))
    #expect(created.status == 200, "\(created.body)")
    let values = files["apps/values.yaml"]!
    let children = values.split(separator: "\n").filter { $0.hasPrefix("  - name: ") }.map { "example." + $0.dropFirst("  - name: ".count) }
    #expect(children.count == 14)
    try await eventually("the 14 children on the hub", timeout: 30) {
        Set(try hub.store.applications().map(\.name)).isSuperset(of: children)
    }
    for child in children {
        let stored = try #require(try hub.store.application(named: child))
        #expect(stored.appSet == "Application/\(child)")
        #expect(stored.cluster == "live", "\(child) goes to the simulator")
        #expect(hub.applicationDefinition(named: child)?.object.value(at: ["metadata", "annotations", ControlPlane.parentAnnotation])?.stringValue == "apps")
    }
    // Plain, kustomize, Helm and jsonnet children sync on the simulator.
    for child in ["example.guestbook", "example.kustomize-guestbook", "example.helm-guestbook", "example.jsonnet-guestbook"] {
        try await eventually("\(child) synced", timeout: 60) { try status(hub, child)?.value(at: ["sync", "status"])?.stringValue == "Synced" }
    }
    try await eventually("the parent lists its children, in sync", timeout: 30) {
        let s = try status(hub, "apps")
        return s?.value(at: ["sync", "status"])?.stringValue == "Synced" && s?["resources"]?.arrayValue?.count == 14
    }
    #expect(try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/guestbook/services/guestbook-ui").status == 200)
    // The children are the hub's definitions, never objects sent to a cluster.
    let parentStatus = try #require(try status(hub, "apps"))
    #expect(parentStatus["resources"]?.arrayValue?.allSatisfy { $0["kind"]?.stringValue == "Application" && $0["group"]?.stringValue == "argoproj.io" } == true)
    #expect(parentStatus["cluster"]?.stringValue == "in-cluster" && !parentStatus.serialized(pretty: false).contains("UnknownKind"))
    #expect(try hub.store.history("apps").last?.result == "Succeeded")
    // A plugin the hub does not run is that child's error, not the parent's silence.
    try await eventually("the plugin child says why", timeout: 30) {
        (try status(hub, "example.plugin-nix")?.serialized(pretty: false) ?? "").contains("ComparisonError")
    }

    // guestbook leaves values.yaml: its Application goes, and its objects with it.
    files["apps/values.yaml"] = values.replacingOccurrences(of: "  - name: guestbook\n", with: "")
    try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git")).commit(files: files.mapValues { Data($0.utf8) }, message: "drop guestbook")
    hub.refreshRepositories()
    try await eventually("example.guestbook deleted", timeout: 30) { try hub.store.application(named: "example.guestbook") == nil }
    try await eventuallyAsync("guestbook's objects pruned", timeout: 30) {
        try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/guestbook/services/guestbook-ui").status == 404
    }
    #expect(try hub.store.application(named: "example.kustomize-guestbook") != nil, "its siblings stay")

    // App-of-appsets: the parent's ApplicationSet is the hub's, and generates on the simulator.
    _ = try await fixture.call("POST", "/api/v1/applications", body: parent(server: server, path: "hub-sets", name: "sets", helm: false))
    try await eventually("the set's Application synced", timeout: 60) {
        try status(hub, "set-guestbook")?.value(at: ["sync", "status"])?.stringValue == "Synced"
    }
    #expect(hub.applicationSet(named: "from-parent") != nil)
    // Its file leaves the repository: the set goes, and its Application with it.
    files.removeValue(forKey: "hub-sets/set.yaml")
    files["hub-sets/README.md"] = "nothing here\n"
    files["hub-sets/lost.yaml"] = """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: lost-child, namespace: argocd}
    spec:
      project: nowhere
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: guestbook}
      destination: {name: live, namespace: lost}
    """
    try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git")).commit(files: files.mapValues { Data($0.utf8) }, message: "sets out")
    hub.refreshRepositories()
    try await eventually("the set and its Application gone", timeout: 30) {
        try hub.applicationSet(named: "from-parent") == nil && hub.store.application(named: "set-guestbook") == nil
    }
    // A child naming a project that does not exist: refused by name on the parent, nothing created.
    try await eventually("the unknown project named on the parent", timeout: 30) {
        (try status(hub, "sets")?.serialized(pretty: false) ?? "").contains("nowhere")
    }
    #expect(try hub.store.application(named: "lost-child") == nil)

    // A parent that renders itself: a cycle, named, nothing created.
    _ = try await fixture.call("POST", "/api/v1/applications", body: parent(server: server, path: "loop", name: "loop", helm: false))
    try await eventually("the cycle is named", timeout: 30) { (try status(hub, "loop")?.serialized(pretty: false) ?? "").contains("renders itself: a cycle") }

    // Deleting the parent (with its finalizer) deletes its children.
    #expect(try await fixture.call("DELETE", "/api/v1/applications/apps").status == 200)
    try await eventually("the children deleted with their parent", timeout: 30) {
        try hub.store.applications().allSatisfy { !$0.name.hasPrefix("example.") }
    }
    await fixture.stop()
}

/// The hub in a pod: the control plane is a registered cluster (here the simulator `live`, named as the control
/// plane). A parent there applies its ordinary objects to that cluster and hands its Applications to the hub,
/// never to the cluster; deleting it deletes both.
@Test func appOfAppsOnARegisteredControlPlane() async throws {
    let child = """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: child-b, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
    spec:
      project: default
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: apps/b}
      destination: {name: live, namespace: child-b}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    """
    let root = """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: root, namespace: argocd, finalizers: [resources-finalizer.argocd.argoproj.io]}
    spec:
      project: default
      source: {repoURL: '\(InProcessHub.repoURL)', targetRevision: HEAD, path: parent}
      destination: {name: live, namespace: platform}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    """
    let files = ["parent/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent-cm}\n", "parent/child.yaml": child,
                 "apps/b/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: root) { config in
        config.controlPlane = ControlPlane(server: "https://kubernetes.default.svc", name: "live")
    }
    let hub = fixture.hub
    try await eventually("the child synced", timeout: 30) {
        try hub.store.application(named: "child-b")?.status.value(at: ["sync", "status"])?.stringValue == "Synced"
    }
    #expect(try hub.store.application(named: "child-b")?.appSet == "Application/child-b")
    #expect(hub.applicationDefinition(named: "child-b")?.object.value(at: ["metadata", "annotations", ControlPlane.parentAnnotation])?.stringValue == "root")
    try await eventually("the parent lists both, in sync", timeout: 30) {
        let status = try hub.store.application(named: "root")?.status
        let kinds = Set(status?["resources"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? [])
        return status?.value(at: ["sync", "status"])?.stringValue == "Synced" && kinds == ["ConfigMap", "Application"]
    }
    #expect(try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/platform/configmaps/parent-cm").status == 200)
    #expect(try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/child-b/configmaps/b").status == 200)

    // The parent leaves its file, with its finalizer: its child and its objects go.
    try "".write(to: fixture.dir.appendingPathComponent("appsets/set.yaml"), atomically: true, encoding: .utf8)
    try await eventually("the child deleted with its parent", timeout: 30) { try hub.store.application(named: "child-b") == nil }
    try await eventuallyAsync("the parent's object pruned", timeout: 30) {
        try await fixture.call("GET", "/api/v1/clusters/live/proxy/api/v1/namespaces/platform/configmaps/parent-cm").status == 404
    }
    await fixture.stop()
}
