import FleetConfig
import FleetGit
import FleetHub
import FleetKube
import Logging
import FleetModel
import Foundation
import Testing

/// Sources a team commits are hostile input too: a jsonnet file that imports the hub's own secrets, a chart
/// whose define includes itself, a chart that builds data 200,000 levels deep. Each Application gets a
/// ComparisonError naming the rule or limit, none of the secret appears anywhere the API answers, the hub
/// lives on, and another team's Application syncs; a restart with the hostile sources stored is no crash.
@Test func hostileSourcesCommittedByATeam() async throws {
    let secret = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-secret-\(UUID().uuidString)")
    try "hub-secret-0123456789".write(to: secret, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: secret) }
    let chart = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    let files: [String: String] = [
        "apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
        "apps/leak/main.jsonnet": "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'leak' }, data: { s: importstr '\(secret.path)' } }",
        "apps/loop/Chart.yaml": chart,
        "apps/loop/templates/cm.yaml": "{{- define \"loop\" }}{{ include \"loop\" . }}{{ end }}" + cm + "data: {a: {{ include \"loop\" . | quote }}}\n",
        "apps/deep/Chart.yaml": chart,
        "apps/deep/templates/cm.yaml": "{{- $x := dict }}{{ range until 200000 }}{{ $x = dict \"a\" $x }}{{ end }}" + cm + "data: {a: {{ toJson $x | quote }}}\n",
    ]
    // And five charts that serialize a list sharing itself (2^60 leaves): each runs to the step limit.
    var withBombs = files
    for i in 1...5 {
        withBombs["apps/bomb\(i)/Chart.yaml"] = chart
        withBombs["apps/bomb\(i)/templates/cm.yaml"] = "{{- $x := list 1 }}{{ range until 60 }}{{ $x = list $x $x }}{{ end }}" + cm + "data: {a: {{ toJson $x | quote }}}\n"
    }
    // A lower step limit than the default keeps the bombs' cost small beside the other tests running at once.
    let fixture = try await InProcessHub(clusters: ["a": true], files: withBombs, appSet: perCluster) { $0.limits.templateSteps = 1_000_000 }
    let hub = fixture.hub
    @Sendable func status(_ name: String) throws -> JSONValue { try hub.store.application(named: name)?.status ?? .null }
    @Sendable func condition(_ name: String) throws -> String {
        try status(name)["conditions"]?.arrayValue?.first { $0["type"] == "ComparisonError" }?["message"]?.stringValue ?? ""
    }
    try await eventually("web synced", timeout: 30) { try status("web-a").value(at: ["sync", "status"]) == "Synced" }
    try await eventually("every hostile source refused", timeout: 30) {
        try condition("leak-a").contains("outside the repository") && condition("loop-a").contains("maxDepth") && condition("deep-a").contains("maxDataDepth")
            && (1...5).allSatisfy { try condition("bomb\($0)-a").contains("maxSteps") }
    }
    // The secret appears in no answer of the API: statuses, diffs, events.
    for path in ["/api/v1/applications/leak-a", "/api/v1/applications/leak-a/diff", "/api/v1/events?limit=500"] {
        let answer = try await fixture.call("GET", path)
        #expect(!answer.body.contains("hub-secret"), "\(path): \(answer.body.prefix(300))")
    }
    #expect(try await fixture.call("GET", "/healthz", authorize: false).status == 200)

    // Another team's change still reaches its cluster while the hostile charts are retried.
    var changed = withBombs
    changed["apps/web/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {v: '2'}\n"
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    let next = try repo.commit(files: changed.mapValues { Data($0.utf8) }, message: "web v2").hex
    let pushed = Date()
    hub.refreshRepositories()
    try await eventually("web synced at the new commit", timeout: 30) {
        try status("web-a").value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue == next && status("web-a").value(at: ["sync", "status"]) == "Synced"
    }
    print("web's change synced \(String(format: "%.2f", Date().timeIntervalSince(pushed))) s after the push, beside five hostile charts")

    // A restart with the hostile sources stored reconciles them again without a crash.
    _ = try await ConcurrentRunner.blocking { [hub] in hub.stop(timeout: 5) }
    var config = hub.config
    config.concurrency = 4
    let again = try Hub(config: config, dataDir: fixture.dir.appendingPathComponent("data"), logger: .init(label: "test"))
    try await ConcurrentRunner.blocking { try again.start() }
    try await eventually("the restarted hub names the limits again", timeout: 30) {
        let s = try again.store.application(named: "loop-a")?.status ?? .null
        return s["conditions"]?.arrayValue?.contains { $0["type"] == "ComparisonError" && $0["message"]?.stringValue?.contains("maxDepth") == true } == true
    }
    _ = try await ConcurrentRunner.blocking { again.stop(timeout: 5) }
    await fixture.stop()
}

/// A preview of a repository the hub does not otherwise watch sees its latest commit, not the one first seen
/// (fetched at most every few seconds).
@Test func previewsOfUnwatchedRepositoriesSeeTheirLatestCommit() async throws {
    let otherURL = "https://git.example.com/acme/other.git"
    let otherDir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-other-\(UUID().uuidString).git")
    defer { try? FileManager.default.removeItem(at: otherDir) }
    let other = try GitRepositoryWriter(creatingAt: otherDir)
    _ = try other.commit(files: ["envs/one/cm.yaml": Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n".utf8)], message: "one")
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"],
                                         appSet: perCluster) { $0.repositories.append(.init(url: otherURL, fetchFrom: otherDir.path)) }
    defer { Task { await fixture.stop() } }
    let server = try #require(try fixture.hub.clusterStore.cluster(named: "a")?.server)
    let preview = """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: envs}
    spec:
      generators: [{git: {repoURL: '\(otherURL)', revision: HEAD, directories: [{path: 'envs/*'}]}}]
      template:
        metadata: {name: 'env-{{path.basename}}'}
        spec:
          project: default
          source: {repoURL: '\(otherURL)', targetRevision: HEAD, path: '{{path}}'}
          destination: {server: '\(server)', namespace: envs}
    """
    let first = try await fixture.call("POST", "/api/v1/applicationsets/preview", body: preview)
    #expect(first.status == 200 && first.body.contains("env-one") && !first.body.contains("env-two"), "\(first.body.prefix(300))")
    _ = try other.commit(files: ["envs/one/cm.yaml": Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n".utf8),
                                 "envs/two/cm.yaml": Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n".utf8)], message: "two")
    try await eventuallyAsync("the preview sees the new commit", timeout: 30) {
        let answer = await fixture.api.handle(APIRequest(method: "POST", path: "/api/v1/applicationsets/preview", query: [:],
                                                       headers: ["authorization": "Bearer \(fixture.hub.bootstrapToken ?? "")"], body: Array(preview.utf8)))
        return answer.status == 200 && answer.body.contains("env-two")
    }
}
