import FleetConfig
import FleetGit
import FleetHub
import FleetModel
import FleetTesting
import Foundation
import Testing

private func repoCreds(url: String, password: String) -> String {
    """
    apiVersion: v1
    kind: Secret
    metadata: {name: acme-creds, namespace: argocd, labels: {argocd.argoproj.io/secret-type: repo-creds}}
    stringData: {url: '\(url)', username: bot, password: '\(password)'}
    """
}

/// Argo CD repository Secrets in force without a restart: a private repository that a wrong credential
/// template keeps out is read once the Secret's file is corrected (the Application names the repository
/// without `.git`; the template names its host), and no answer of the API carries the password.
@Test func repositorySecretsAreReadLive() async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-private-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    try GitRepositoryWriter(creatingAt: root.appendingPathComponent("private.git"))
        .commit(files: ["web/cm.yaml": Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private}\n".utf8)], message: "initial")
    let server = try GitHTTPServer(root: root, user: "bot", password: "right-pass-7")
    defer { server.stop() }
    let base = "http://127.0.0.1:\(server.port)"
    let secrets = root.appendingPathComponent("repo-secrets.yaml")
    try repoCreds(url: base + "/", password: "wrong-pass-3").write(to: secrets, atomically: true, encoding: .utf8)
    let app = """
    apiVersion: argoproj.io/v1alpha1
    kind: Application
    metadata: {name: private-web}
    spec:
      project: default
      source: {repoURL: '\(base)/private', targetRevision: HEAD, path: web}
      destination: {name: live, namespace: web}
      syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    """
    let fixture = try await InProcessHub(clusters: ["live": true], files: ["x/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"],
                                         appSet: app) { config in config.repositorySecrets = [secrets.path] }
    let hub = fixture.hub
    try await eventually("refused with the wrong password", timeout: 30) {
        (try hub.store.application(named: "private-web")?.status.serialized(pretty: false) ?? "").contains("ComparisonError")
    }
    try repoCreds(url: base + "/", password: "right-pass-7").write(to: secrets, atomically: true, encoding: .utf8)
    try await eventually("synced with the corrected Secret", timeout: 30) {
        hub.refreshRepositories()
        return try hub.store.application(named: "private-web")?.status.value(at: ["sync", "status"])?.stringValue == "Synced"
    }
    for path in ["/api/v1/applications/private-web", "/api/v1/events", "/api/v1/applications/private-web/history"] {
        let answer = try await fixture.call("GET", path)
        #expect(!answer.body.contains("right-pass-7") && !answer.body.contains("wrong-pass-3"), "\(path)")
    }
    // A Secret that stops parsing keeps the last good ones in force.
    try "apiVersion: v1\nkind: Secret\nmetadata: {name: broken, labels: {argocd.argoproj.io/secret-type: repository}}\nstringData: {username: x}\n"
        .write(to: secrets, atomically: true, encoding: .utf8)
    try await eventually("the broken file is said, once", timeout: 10) {
        try hub.store.events().filter { $0.type == "ConfigurationRejected" && $0.message.contains("repository Secrets") && $0.message.contains("Secret broken.url") }.count == 1
    }
    #expect(try !hub.store.events().contains { $0.message.contains("right-pass-7") })
    let compared = hub.lastReconciled("private-web") ?? ""
    hub.refreshRepositories()
    try hub.refresh("private-web")
    try await eventually("private-web compared again", timeout: 20) { (hub.lastReconciled("private-web") ?? "") > compared }
    #expect(try hub.store.application(named: "private-web")?.status.value(at: ["sync", "status"])?.stringValue == "Synced")
    await fixture.stop()
}
