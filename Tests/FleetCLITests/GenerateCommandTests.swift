import Foundation
import Testing

private let root = CLI.packageRoot
private let examples = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("generators").path))?
    .filter { $0.hasSuffix(".yaml") }.sorted() ?? []
private let appsRepo = "https://github.com/acme/fleet-apps.git=\(root.appendingPathComponent("fleet/apps").path)"

/// Each example ApplicationSet previews against the example fleet exactly as its golden file says.
/// Set FLOTILLA_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
@Test(arguments: examples)
func exampleMatchesGolden(_ example: String) throws {
    #expect(!examples.isEmpty)
    let cli = CLI()
    defer { cli.cleanup() }
    let r = try cli.run(["generate", "-f", root.appendingPathComponent("generators/\(example)").path,
                         "--clusters", root.appendingPathComponent("fleet/clusters.yaml").path, "--repo", appsRepo, "-o", "json"])
    #expect(r.status == 0, "\(r.stderr)")
    let golden = root.appendingPathComponent("generators/golden/\(example.replacingOccurrences(of: ".yaml", with: ".json"))")
    if ProcessInfo.processInfo.environment["FLOTILLA_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
        try r.stdout.write(to: golden, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: golden, encoding: .utf8)
    #expect(r.stdout == expected, "output differs from \(golden.lastPathComponent)")
}

/// All examples together preview cleanly (no name owned by two ApplicationSets), and --render reads manifests,
/// kustomize directories included.
@Test func allExamplesTogetherWithRender() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let r = try cli.run(["generate", "-f", root.appendingPathComponent("generators").path,
                         "--clusters", root.appendingPathComponent("fleet/clusters.yaml").path, "--repo", appsRepo, "-o", "json", "--render"])
    #expect(r.status == 0, "\(r.stderr)")
    let apps = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    #expect(apps.count > 20)
    let web = apps.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "search-web-prod-eu" }
    let manifests = web?["manifests"] as? [[String: Any]]
    #expect((manifests?.first?["metadata"] as? [String: Any])?["labels"] as? [String: String] == ["app": "search-web", "team": "search"])
    // source.kustomize.replicas from the templatePatch is applied (prod-eu overrides the count to 6).
    func replicas(_ name: String) -> Int? {
        let app = apps.first { ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        let deployment = (app?["manifests"] as? [[String: Any]])?.first { $0["kind"] as? String == "Deployment" }
        return (deployment?["spec"] as? [String: Any])?["replicas"] as? Int
    }
    #expect(replicas("payments-api-prod-eu") == 6)
    #expect(replicas("payments-api-prod-us") == 2)
}

/// Problems go to stderr with exit status 1, valid Applications to stdout; clusters come from the registry by default.
@Test func generateErrorsAndRegistry() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let dup = cli.write("dup.yaml", """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: dup}
    spec:
      generators:
        - clusters: {}
      template:
        metadata: {name: same}
        spec:
          project: default
          source: {repoURL: 'https://x/y.git', path: a}
          destination: {server: '{{server}}', namespace: default}
    """)
    try cli.run(["cluster", "apply", "-f", root.appendingPathComponent("fleet/clusters.yaml").path])
    // As Argo CD does: every Application named `same` is skipped (its problems are keyed by name), each
    // duplicate named with its reason; nothing valid is left, so stdout stays empty and the problems are the error.
    let r = try cli.run(["generate", "-f", dup, "-o", "json"])
    #expect(r.status == 1)
    #expect(r.stdout.isEmpty, "\(r.stdout)")
    #expect(r.stderr.contains("7 problems") && r.stderr.contains("ApplicationSet dup: contains applications with duplicate name: same (from clusters (cluster dev-eu) and from clusters (cluster dev-us))"), "\(r.stderr)")

    let unreachable = cli.write("git.yaml", """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: remote}
    spec:
      generators:
        - git: {repoURL: 'http://127.0.0.1:1/none.git', revision: main, directories: [{path: '*'}]}
      template:
        metadata: {name: '{{path.basename}}'}
        spec: {project: default, destination: {server: 'http://127.0.0.1:7101'}}
    """)
    let u = try cli.run(["generate", "-f", unreachable])
    #expect(u.status != 0 && u.stdout.isEmpty)
    #expect(u.stderr.contains("ApplicationSet remote: spec.generators[0].git: repository http://127.0.0.1:1/none.git is unreachable"), "\(u.stderr)")

    let notAppSet = cli.write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    let n = try cli.run(["generate", "-f", notAppSet])
    #expect(n.status != 0 && n.stderr.contains("kind: expected kind: ApplicationSet or Application, found ConfigMap"))
}

/// A local git repository stands in for a remote URL and is read at the requested revision.
@Test func generateFromLocalGitRepository() throws {
    let cli = CLI()
    defer { cli.cleanup() }
    let repoDir = cli.workDir.appendingPathComponent("apps.git")
    let writer = try GitRepositoryWriterHelper.make(at: repoDir, files: ["teams/a/web/x.yaml": "a: 1", "teams/b/api/x.yaml": "b: 1"])
    _ = writer
    let appset = cli.write("teams.yaml", """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: teams}
    spec:
      generators:
        - git: {repoURL: 'https://git.example.com/apps.git', revision: main, directories: [{path: 'teams/*/*'}]}
      template:
        metadata: {name: '{{path[1]}}-{{path.basename}}'}
        spec:
          project: default
          source: {repoURL: 'https://git.example.com/apps.git', targetRevision: main, path: '{{path}}'}
          destination: {server: 'http://127.0.0.1:7101', namespace: '{{path[1]}}'}
    """)
    let clusters = cli.write("c.yaml", "clusters:\n  - {name: dev, server: 'http://127.0.0.1:7101'}\n")
    let r = try cli.run(["generate", "-f", appset, "--clusters", clusters, "--repo", "https://git.example.com/apps.git=\(repoDir.path)", "-o", "yaml"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("name: a-web") && r.stdout.contains("name: b-api"))
}
