import FleetModel
import Foundation
import Testing

/// A small Argo CD as `kubectl -n argocd get applications,applicationsets,appprojects,secrets,configmaps -o yaml`
/// prints it: a cluster Secret, a repository credential template, a project, RBAC, an account, an Application in
/// that project and an ApplicationSet, plus a Secret that is neither.
private func argoDump(clusterServer: String) -> String {
    let b64 = { (s: String) in Data(s.utf8).base64EncodedString() }
    return """
    apiVersion: v1
    kind: List
    items:
    - apiVersion: argoproj.io/v1alpha1
      kind: Application
      metadata:
        name: guest
        namespace: argocd
        uid: 5d0c9b52-2d2c-4a4f-9a55-1c2a6a1f0e11
        resourceVersion: "81234"
        finalizers: [resources-finalizer.argocd.argoproj.io]
      spec:
        project: team
        source: {repoURL: '\(HubFixture.repoURL)', targetRevision: HEAD, path: apps/a}
        destination: {name: east, namespace: guest}
        syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
      status:
        sync: {status: Synced}
        health: {status: Healthy}
    - apiVersion: argoproj.io/v1alpha1
      kind: ApplicationSet
      metadata: {name: fleet, namespace: argocd, generation: 3}
      spec:
        generators: [{list: {elements: [{app: a}]}}]
        template:
          metadata: {name: 'fleet-{{app}}'}
          spec:
            project: default
            source: {repoURL: '\(HubFixture.repoURL)', targetRevision: HEAD, path: 'apps/{{app}}'}
            destination: {name: east, namespace: 'fleet-{{app}}'}
            syncPolicy: {automated: {prune: true}, syncOptions: [CreateNamespace=true]}
    - apiVersion: argoproj.io/v1alpha1
      kind: AppProject
      metadata: {name: team, namespace: argocd}
      spec:
        sourceRepos: ['*']
        destinations: [{server: '*', namespace: '*'}]
        clusterResourceWhitelist: [{group: '*', kind: '*'}]
    - apiVersion: argoproj.io/v1alpha1
      kind: AppProject
      metadata: {name: platform, namespace: argocd}
      spec:
        sourceRepos: ['https://git.example.com/*']
        destinations: [{name: east, namespace: 'platform-*'}]
    - apiVersion: v1
      kind: Secret
      metadata:
        name: cluster-east
        namespace: argocd
        labels: {argocd.argoproj.io/secret-type: cluster}
      data:
        name: \(b64("east"))
        server: \(b64(clusterServer))
        config: \(b64("{}"))
    - apiVersion: v1
      kind: Secret
      metadata:
        name: acme-creds
        namespace: argocd
        labels: {argocd.argoproj.io/secret-type: repo-creds}
      data:
        url: \(b64("https://git.example.com/acme"))
        username: \(b64("ci"))
        password: \(b64("imported-repo-pass-5"))
    - apiVersion: v1
      kind: Secret
      metadata: {name: argocd-secret, namespace: argocd}
      data: {server.secretkey: \(b64("x"))}
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: argocd-rbac-cm, namespace: argocd}
      data:
        policy.csv: |
          p, role:dev, applications, get, */*, allow
          g, alice, role:dev
        policy.default: role:readonly
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: argocd-cm, namespace: argocd}
      data:
        accounts.alice: apiKey, login
    """
}

/// `flotilla import argocd`: a dry run changes nothing and names what cannot come over; --apply reaches
/// Synced/Healthy on the simulator with no edit to the export; a second import changes nothing; secrets are never
/// printed.
@Test func importArgoCD() throws {
    let files = ["apps/a/cm.yaml": configMap("a", "one")]
    let outDir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-import-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: outDir) }
    // The hub watches the files the import writes (empty until then).
    for name in ["projects.yaml", "repository-secrets.yaml"] { FileManager.default.createFile(atPath: outDir.appendingPathComponent(name).path, contents: Data()) }
    let east = try SimProcess(arguments: ["--name", "east"])
    defer { _ = east.stop() }
    let hub = try HubFixture(clusters: ["live": [:]], files: files, appSets: [], extraConfig: """
        projects: ['\(outDir.appendingPathComponent("projects.yaml").path)']
        repositorySecrets: ['\(outDir.appendingPathComponent("repository-secrets.yaml").path)']
        """)
    defer { hub.stop() }
    let dump = hub.cli.write("argocd.yaml", argoDump(clusterServer: east.server))
    func flotilla(_ args: [String]) throws -> CLI.Result {
        try CLI.runProcess(CLI.binary, args, environment: ["FLOTILLA_SERVER": hub.url, "FLOTILLA_TOKEN_FILE": hub.tokenFile])
    }

    let dry = try flotilla(["import", "argocd", "-f", dump, "--out", outDir.path])
    #expect(dry.status == 0, "\(dry.stderr)")
    #expect(dry.stdout.contains("cluster/east register") && dry.stdout.contains("application/guest apply") && dry.stdout.contains("applicationset/fleet apply"))
    #expect(dry.stderr.contains("account alice") && dry.stderr.contains("Secret argocd-secret"), "\(dry.stderr)")
    #expect(try hub.raw("GET", "/api/v1/clusters/east").status == 404, "a dry run registers nothing")

    let applied = try flotilla(["import", "argocd", "-f", dump, "--out", outDir.path, "--apply"])
    #expect(applied.status == 0, "\(applied.stdout)\n\(applied.stderr)")
    #expect(applied.stdout.contains("cluster/east created") && applied.stdout.contains("application/guest applied"), "\(applied.stdout)")
    try hub.waitHealthy(["guest", "fleet-a"], timeout: 40)
    let written = try String(contentsOf: outDir.appendingPathComponent("repository-secrets.yaml"), encoding: .utf8)
    #expect(written.contains("acme-creds"))
    let projects = try String(contentsOf: outDir.appendingPathComponent("projects.yaml"), encoding: .utf8)
    #expect(projects.contains("name: team") && projects.contains("name: platform"))
    let mode = try FileManager.default.attributesOfItem(atPath: outDir.appendingPathComponent("repository-secrets.yaml").path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try String(contentsOf: outDir.appendingPathComponent("policy.csv"), encoding: .utf8).contains("g, alice, role:dev"))
    #expect(!(applied.stdout + applied.stderr + dry.stdout + dry.stderr).contains("imported-repo-pass-5"))

    // Again: nothing changes.
    let again = try flotilla(["import", "argocd", "-f", dump, "--out", outDir.path, "--apply"])
    #expect(again.status == 0, "\(again.stderr)")
    for line in again.stdout.split(separator: "\n") where line.hasPrefix("cluster/") || line.hasPrefix("application") || line.hasPrefix("appproject") {
        #expect(line.contains("unchanged"), "\(line)")
    }
}
