import FleetModel
import FleetTesting
import Foundation
import Testing

/// Teams add a directory and get it on the matching clusters only; a manifest change is re-synced; deleting the
/// directory deletes the Applications and prunes their resources; a cluster's new label brings the apps over;
/// a forged webhook changes nothing.
@Test func hubFollowsGitAndLabels() throws {
    let hub = try HubFixture(clusters: ["dev": ["env": "dev"], "prod-a": ["env": "prod"], "prod-b": ["env": "prod"]],
                             files: ["apps/web/web.yaml": deployment("web"), "apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")])
    defer { hub.stop() }
    try hub.waitHealthy(["web-prod-a", "web-prod-b"])
    #expect(try hub.get("dev", "apps/v1", "Deployment", namespace: "web", name: "web") == nil)

    // A new directory: Applications on the prod clusters only, objects in each.
    try hub.commit(["apps/api/api.yaml": deployment("api")])
    try hub.waitHealthy(["web-prod-a", "web-prod-b", "api-prod-a", "api-prod-b"])
    for cluster in ["prod-a", "prod-b"] {
        let api = try #require(try hub.get(cluster, "apps/v1", "Deployment", namespace: "api", name: "api"))
        #expect(api.value(at: ["metadata", "annotations", "flotilla.io/application"])?.stringValue == "api-\(cluster)")
    }
    #expect(try hub.get("dev", "apps/v1", "Deployment", namespace: "api", name: "api") == nil)

    // A changed manifest is applied.
    try hub.commit(["apps/web/config.yaml": configMap("web-config", "2")])
    try hub.waitFor("config 2 on both clusters") {
        try ["prod-a", "prod-b"].allSatisfy { try hub.get($0, "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "2" }
    }
    let history = try hub.api("GET", "/api/v1/applications/web-prod-a/history")["items"]?.arrayValue ?? []
    #expect(history.count >= 2 && history.last?["result"] == "Succeeded")
    // Each entry says where it ran and which commit it applied, by whom.
    #expect(history.last?["cluster"] == "prod-a" && history.last?["subject"] == "change", "\(history.last ?? .null)")
    #expect(history.last?["author"] == "Flotilla <flotilla@example.invalid>")
    let table = try CLI.runProcess(CLI.binary, ["app", "history", "web-prod-a", "--server", hub.url], environment: hub.env)
    #expect(table.stdout.contains("CLUSTER") && table.stdout.contains("prod-a") && table.stdout.contains("Flotilla <flotilla@example.invalid>"), "\(table.stdout)")

    // A forged webhook is refused.
    let forged = try hub.raw("POST", "/api/v1/webhook/git", body: #"{"repository": {"clone_url": "\#(HubFixture.repoURL)"}}"#,
                             headers: ["X-Hub-Signature-256": "sha256=" + String(repeating: "0", count: 64)])
    #expect(forged.status == 401)

    // Deleting the directory deletes its Applications and prunes their objects.
    try hub.commit(["apps/api/api.yaml": nil])
    try hub.waitFor("api pruned") {
        try hub.applications()["api-prod-a"] == nil && hub.get("prod-a", "apps/v1", "Deployment", namespace: "api", name: "api") == nil
            && hub.get("prod-b", "apps/v1", "Deployment", namespace: "api", name: "api") == nil
    }

    // dev becomes prod: the apps follow the selector.
    let labelled = try hub.api("POST", "/api/v1/clusters/dev/labels", body: #"{"set": {"env": "prod"}}"#, expect: 200)
    #expect(labelled.value(at: ["labels", "env"]) == "prod")
    try hub.waitHealthy(["web-prod-a", "web-prod-b", "web-dev"])
    #expect(try hub.get("dev", "apps/v1", "Deployment", namespace: "web", name: "web") != nil)

    let metrics = try hub.raw("GET", "/metrics").text
    #expect(metrics.contains("flotilla_applications{sync_status=\"Synced\",health_status=\"Healthy\"} 3"), "\(metrics)")
    #expect(metrics.contains("flotilla_cluster_reachable{cluster=\"dev\"} 1"))
    #expect(metrics.contains("flotilla_webhooks_total{code=\"401\"} 1"))
}

/// Drift made with kubectl is healed under selfHeal and only reported without automation; a broken manifest
/// makes its Application fail with a clear condition while the others sync.
@Test func driftAndBrokenManifests() throws {
    let hub = try HubFixture(clusters: ["prod": ["env": "prod"], "staging": ["env": "staging"]],
                             files: ["apps/web/config.yaml": configMap("web-config", "git")],
                             appSets: [directoryAppSet(name: "healing", env: "prod"),
                                       directoryAppSet(name: "manual", env: "staging", automated: nil)])
    defer { hub.stop() }
    try hub.waitFor("prod synced, staging reported") {
        let apps = try hub.applications()
        return apps["web-prod"]?["health"] == "Healthy" && apps["web-staging"]?["sync"] == "OutOfSync"
    }
    #expect(try hub.get("staging", "v1", "ConfigMap", namespace: "web", name: "web-config") == nil, "manual policy applies nothing")

    // kubectl changes the live object on prod: the next resync puts git's value back.
    let cache = hub.cli.workDir.appendingPathComponent("kube")
    let patch = try runKubectl(hub.sims["prod"]!.server, ["-n", "web", "patch", "configmap", "web-config", "-p", #"{"data":{"value":"drifted"}}"#], cache: cache)
    #expect(patch.status == 0, "\(patch.stderr)")
    try hub.waitFor("drift healed") {
        try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "git"
    }

    // A manual sync applies the staging app; drift there is then only reported.
    let sync = try CLI.runProcess(CLI.binary, ["app", "sync", "web-staging", "--server", hub.url, "--wait", "20"], environment: hub.env)
    #expect(sync.status == 0, "\(sync.stdout)\(sync.stderr)")
    _ = try runKubectl(hub.sims["staging"]!.server, ["-n", "web", "patch", "configmap", "web-config", "-p", #"{"data":{"value":"drifted"}}"#], cache: cache)
    try hub.waitFor("drift reported") { try hub.applications()["web-staging"]?["sync"] == "OutOfSync" }
    #expect(try hub.get("staging", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "drifted")
    let diff = try CLI.runProcess(CLI.binary, ["app", "diff", "web-staging", "--server", hub.url], environment: hub.env)
    #expect(diff.status == 1 && diff.stdout.contains("-  value: drifted") && diff.stdout.contains("+  value: git"), "\(diff.stdout)")

    // A broken manifest: that Application fails with a condition; the other keeps syncing.
    try hub.commit(["apps/broken/bad.yaml": "kind: ConfigMap\nmetadata: {name: [unclosed\n", "apps/web/config.yaml": configMap("web-config", "v2")])
    try hub.waitFor("broken app reported, web synced") {
        let apps = try hub.applications()
        let condition = apps["broken-prod"]?["conditions"]?.arrayValue?.first
        let web = try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"])
        return condition?["type"] == "ComparisonError" && (condition?["message"]?.stringValue ?? "").contains("bad.yaml") && web == "v2"
    }
}

/// A rollback pins the Application to an older revision even under automated sync; unpin follows git again.
/// The hub keeps everything across SIGTERM and across kill -9.
@Test func rollbackPinAndRestarts() throws {
    let hub = try HubFixture(clusters: ["prod": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")])
    defer { hub.stop() }
    try hub.waitHealthy(["web-prod"])
    try hub.commit(["apps/web/config.yaml": configMap("web-config", "2")])
    try hub.waitFor("v2") { try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "2" }
    let first = try #require(try hub.api("GET", "/api/v1/applications/web-prod/history")["items"]?.arrayValue?.first)
    let id = try #require(first["id"].flatMap { if case .int(let i) = $0 { return i } else { return nil } })

    let rollback = try CLI.runProcess(CLI.binary, ["app", "rollback", "web-prod", "\(id)", "--server", hub.url], environment: hub.env)
    #expect(rollback.status == 0 && rollback.stdout.contains("pinned to"), "\(rollback.stderr)")
    try hub.waitFor("rolled back to 1") { try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "1" }
    Thread.sleep(forTimeInterval: 1.5)   // resyncs happen (1 s) and must keep the pin
    let pinned = try hub.api("GET", "/api/v1/applications/web-prod")
    #expect(pinned["pinnedRevision"]?.stringValue != nil && pinned["conditions"]?.arrayValue?.contains { $0["type"] == "Pinned" } == true)
    #expect(try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "1")

    // SIGTERM: clean exit; the restarted hub still has the pin and the history.
    #expect(hub.stopHub() == 0)
    try hub.startHub()
    #expect(try hub.api("GET", "/api/v1/applications/web-prod")["pinnedRevision"]?.stringValue != nil)
    try CLI.runProcess(CLI.binary, ["app", "unpin", "web-prod", "--server", hub.url], environment: hub.env)
    try hub.waitFor("back on 2") { try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "2" }

    // kill -9 right after a commit; the restarted hub converges with the same Applications, once each.
    try hub.commit(["apps/api/config.yaml": configMap("api-config", "1")])
    Thread.sleep(forTimeInterval: 0.2)
    hub.stopHub(signal: SIGKILL)
    try hub.startHub()
    try hub.waitHealthy(["web-prod", "api-prod"])
    #expect(try hub.get("prod", "v1", "ConfigMap", namespace: "api", name: "api-config") != nil)
    let list = try hub.api("GET", "/api/v1/applications")["items"]?.arrayValue ?? []
    #expect(list.count == 2)
}

/// The API: previews change nothing and show diffs; ApplicationSets added through the API generate at once and
/// their deletion prunes; errors are clear.
@Test func applicationSetAPI() throws {
    let hub = try HubFixture(clusters: ["prod": ["env": "prod"]], files: ["apps/web/config.yaml": configMap("web-config", "1"),
                                                                          "extra/cache/config.yaml": configMap("cache-config", "1")],
                             appSets: [directoryAppSet(name: "apps", env: "prod")])
    defer { hub.stop() }
    try hub.waitHealthy(["web-prod"])
    let extra = directoryAppSet(name: "extra", env: "prod", path: "extra/*")

    // Preview: one Application to create, with the object it would add; nothing is created.
    let preview = try hub.api("POST", "/api/v1/applicationsets/preview", body: extra, expect: 200)
    let item = try #require(preview["items"]?.arrayValue?.first?["applications"]?.arrayValue?.first)
    #expect(item["name"] == "cache-prod" && item["change"] == "create")
    // The CLI's table says the same; a source that does not render is said in the table and fails the command.
    let file = hub.cli.write("extra.yaml", extra)
    let shown = try CLI.runProcess(CLI.binary, ["appset", "preview", "-f", file, "--server", hub.url], environment: hub.env)
    #expect(shown.status == 0 && shown.stdout.contains("+ cache-prod (create, cluster prod, OutOfSync)"), "\(shown.stdout) \(shown.stderr)")
    let missing = hub.cli.write("missing.yaml", directoryAppSet(name: "extra", env: "prod", path: "extra/*")
        .replacingOccurrences(of: "path: '{{path}}'", with: "path: 'nowhere/{{path.basename}}'"))
    let broken = try CLI.runProcess(CLI.binary, ["appset", "preview", "-f", missing, "--server", hub.url], environment: hub.env)
    #expect(broken.status == 1 && broken.stdout.contains("+ cache-prod (create, cluster prod, Unknown)"), "\(broken.stdout) \(broken.stderr)")
    #expect(broken.stdout.contains("  ! ") && broken.stderr.contains("1 Application's source does not render"), "\(broken.stdout) \(broken.stderr)")
    #expect(item["resources"]?.arrayValue?.first?["diff"]?.stringValue?.contains("+  value: \"1\"") == true, "\(item)")
    #expect(try hub.applications()["cache-prod"] == nil)

    // Apply, then delete: created at once, then deleted and pruned.
    let cli = try CLI.runProcess(CLI.binary, ["appset", "apply", "-f", hub.cli.write("extra.yaml", extra), "--server", hub.url], environment: hub.env)
    #expect(cli.status == 0 && cli.stdout.contains("applicationset/extra applied: 1 created"), "\(cli.stdout)\(cli.stderr)")
    try hub.waitHealthy(["web-prod", "cache-prod"])
    // A file's ApplicationSet cannot be changed through the API.
    let clash = try hub.raw("POST", "/api/v1/applicationsets", body: directoryAppSet(name: "apps", env: "dev"))
    #expect(clash.status == 409 && clash.text.contains("appsets/set-0.yaml"))
    try hub.api("DELETE", "/api/v1/applicationsets/extra", expect: 200)
    try hub.waitFor("cache pruned") {
        try hub.applications()["cache-prod"] == nil && hub.get("prod", "v1", "ConfigMap", namespace: "cache", name: "cache-config") == nil
    }

    // Errors name the problem and change nothing.
    let invalid = try hub.raw("POST", "/api/v1/applicationsets", body: "kind: ApplicationSet\nmetadata: {name: bad}\nspec: {generators: [{nope: {}}], template: {spec: {project: default}}}\n")
    #expect(invalid.status == 422 && invalid.text.contains("nope"), "\(invalid.text)")
    #expect(try hub.raw("GET", "/api/v1/applications/missing").status == 404)
    #expect(try hub.raw("DELETE", "/api/v1/applications").status == 405)
    #expect(try hub.raw("POST", "/api/v1/applications/web-prod/rollback", body: "{}").status == 400)
    #expect(try hub.api("GET", "/api/v1/applicationsets")["items"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["apps"])

    // The cluster commands through the API; credentials never come back.
    func flotilla(_ args: [String]) throws -> CLI.Result {
        try CLI.runProcess(CLI.binary, args, environment: ["FLOTILLA_SERVER": hub.url, "FLOTILLA_TOKEN_FILE": hub.tokenFile, "FLOTILLA_DATA_DIR": hub.cli.workDir.appendingPathComponent("unused").path])
    }
    let token = hub.cli.write("edge.token", "planted-secret-token\n")
    let add = try flotilla(["cluster", "add", "edge", "--server", "https://10.9.9.9:6443", "--label", "env=edge", "--token-file", token])
    #expect(add.status == 0, "\(add.stderr)")
    #expect(try flotilla(["cluster", "add", "edge", "--server", "https://10.9.9.9:6443"]).stderr.contains("already exists"))
    let label = try flotilla(["cluster", "label", "edge", "tier=gold"])
    #expect(label.status == 0, "\(label.stderr)")
    let list = try flotilla(["cluster", "list", "-l", "tier=gold", "-o", "json"])
    #expect(list.stdout.contains("\"edge\"") && list.stdout.contains("\"token\""), "\(list.stdout)")
    #expect(!list.stdout.contains("planted-secret-token") && !hub.log.contains("planted-secret-token"))
    let table = try flotilla(["cluster", "list"])
    #expect(table.stdout.contains("STATE") && table.stdout.contains("prod "), "\(table.stdout)")
    // Every list command offers -o table|json|yaml; token lists never show a token's secret.
    let tokens = try flotilla(["token", "list", "-o", "json"])
    #expect(tokens.status == 0 && tokens.stdout.contains("\"account\"") && tokens.stdout.hasPrefix("["), "\(tokens.stdout)\(tokens.stderr)")
    #expect(!tokens.stdout.contains("flt_"), "\(tokens.stdout)")
    let accounts = try flotilla(["account", "list", "-o", "yaml"])
    #expect(accounts.status == 0 && accounts.stdout.contains("name: admin"), "\(accounts.stdout)\(accounts.stderr)")
    // The planted token is nowhere: not in any API answer, not in the log, not in any file of the data dir
    // (credentials are encrypted at rest).
    for path in ["/api/v1/clusters", "/api/v1/clusters/edge", "/api/v1/events", "/metrics", "/api/v1/applications", "/api/v1/applicationsets"] {
        let answer = try hub.raw("GET", path)
        #expect(answer.status == 200 && !answer.text.contains("planted-secret-token"), "\(path)")
    }
    var files = 0
    if let walker = FileManager.default.enumerator(atPath: hub.cli.dataDir.path) {
        for case let relative as String in walker {
            guard let data = FileManager.default.contents(atPath: hub.cli.dataDir.appendingPathComponent(relative).path) else { continue }
            files += 1
            #expect(data.range(of: Data("planted-secret-token".utf8)) == nil, "\(relative) holds the planted token")
        }
    }
    #expect(files > 3)
    #expect(!hub.log.contains("planted-secret-token"))
    #expect(try flotilla(["cluster", "rm", "edge"]).status == 0)
    #expect(try flotilla(["cluster", "get", "edge"]).stderr.contains("404"))
    #expect(!FileManager.default.fileExists(atPath: hub.cli.workDir.appendingPathComponent("unused").path), "nothing went to a local store")
}

/// With the resync period at 180 s, drift is seen through the clusters' watches: healed within 2 s under
/// automated sync with selfHeal, and shown OutOfSync within a second under a manual policy.
@Test func driftSeenThroughWatchesWithLongResync() throws {
    let hub = try HubFixture(clusters: ["prod": ["env": "prod"], "staging": ["env": "staging"]],
                             files: ["apps/web/config.yaml": configMap("web-config", "git")],
                             appSets: [directoryAppSet(name: "healing", env: "prod"),
                                       directoryAppSet(name: "manual", env: "staging", automated: nil)], resync: "180s")
    defer { hub.stop() }
    try hub.waitFor("prod synced") { try hub.applications()["web-prod"]?["health"] == "Healthy" }
    let sync = try CLI.runProcess(CLI.binary, ["app", "sync", "web-staging", "--server", hub.url, "--wait", "20"], environment: hub.env)
    #expect(sync.status == 0, "\(sync.stdout)\(sync.stderr)")
    try hub.waitFor("staging synced") { try hub.applications()["web-staging"]?["sync"] == "Synced" }

    let cache = hub.cli.workDir.appendingPathComponent("kube")
    let patch = try runKubectl(hub.sims["prod"]!.server, ["-n", "web", "patch", "configmap", "web-config", "-p", #"{"data":{"value":"drifted"}}"#], cache: cache)
    #expect(patch.status == 0, "\(patch.stderr)")
    let drifted = Date()
    try hub.waitFor("drift healed", timeout: 10) {
        try hub.get("prod", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "git"
    }
    #expect(Date().timeIntervalSince(drifted) < 2, "healed in \(Date().timeIntervalSince(drifted)) s")

    _ = try runKubectl(hub.sims["staging"]!.server, ["-n", "web", "patch", "configmap", "web-config", "-p", #"{"data":{"value":"drifted"}}"#], cache: cache)
    let reported = Date()
    try hub.waitFor("drift reported", timeout: 10) { try hub.applications()["web-staging"]?["sync"] == "OutOfSync" }
    #expect(Date().timeIntervalSince(reported) < 1, "reported in \(Date().timeIntervalSince(reported)) s")
    #expect(try hub.get("staging", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "drifted")
}

/// A frozen cluster (SIGSTOP: its connections, watches included, stay open and silent) does not slow the others:
/// a commit reaches the live cluster at once; the frozen one catches up once it answers again.
@Test func frozenClusterDoesNotSlowTheOthers() throws {
    let hub = try HubFixture(clusters: ["live": ["env": "prod"], "frozen": ["env": "prod"]],
                             files: ["apps/web/config.yaml": configMap("web-config", "v1")],
                             appSets: [directoryAppSet(name: "web", env: "prod")], resync: "180s")
    defer { hub.stop() }
    try hub.waitFor("both synced") {
        let apps = try hub.applications()
        return apps["web-live"]?["health"] == "Healthy" && apps["web-frozen"]?["health"] == "Healthy"
    }
    hub.freeze("frozen")
    let committed = Date()
    try hub.commit(["apps/web/config.yaml": configMap("web-config", "v2")])
    try hub.waitFor("live cluster updated", timeout: 10) {
        try hub.get("live", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "v2"
    }
    #expect(Date().timeIntervalSince(committed) < 3, "the live cluster got the commit in \(Date().timeIntervalSince(committed)) s")
    hub.thaw("frozen")
    try hub.waitFor("frozen cluster caught up", timeout: 60) {
        try hub.get("frozen", "v1", "ConfigMap", namespace: "web", name: "web-config")?.value(at: ["data", "value"]) == "v2"
    }
}

/// `kill -9` while a sync waits on a wave: the restarted `flotilla serve` resumes that operation at that wave —
/// one sync in the history, begun before the kill, whose second wave is applied after the restart.
@Test func aKilledHubResumesTheWaveItWaitedOn() throws {
    // Workloads become ready 20 s after they are applied: the kill and restart happen well inside that.
    let hub = try HubFixture(clusters: ["prod": ["env": "prod"]], files: FleetFixtures.twoWaveApp("apps/slow"),
                             appSets: [directoryAppSet(name: "apps", env: "prod")], resync: "60s", simArguments: ["--ready-after", "20s"])
    defer { hub.stop() }
    @Sendable func status() throws -> JSONValue { try hub.api("GET", "/api/v1/applications/slow-prod")["status"] ?? .null }
    try hub.waitFor("the sync waits on wave 0", timeout: 30) {
        try status().value(at: ["operationState", "phase"]) == "Running" && status().value(at: ["operationState", "progress"]) != nil
    }
    let started = try status().value(at: ["operationState", "startedAt"])?.stringValue
    #expect(try hub.get("prod", "v1", "ConfigMap", namespace: "slow", name: "after") == nil)

    hub.stopHub(signal: SIGKILL)
    try hub.startHub()
    try hub.waitFor("the resumed sync finished", timeout: 60) {
        let s = try status()
        return s.value(at: ["sync", "status"]) == "Synced" && s.value(at: ["health", "status"]) == "Healthy"
            && s.value(at: ["operationState", "phase"]) == "Succeeded"
    }
    let final = try status()
    let finalHistory = try hub.api("GET", "/api/v1/applications/slow-prod/history")
    #expect(final.value(at: ["operationState", "startedAt"])?.stringValue == started,
            "the operation begun before the kill ended: \(final.serialized(pretty: false)) \(finalHistory.serialized(pretty: false))")
    #expect(try hub.get("prod", "v1", "ConfigMap", namespace: "slow", name: "after") != nil)
    let history = try #require(try hub.api("GET", "/api/v1/applications/slow-prod/history")["items"]?.arrayValue)
    #expect(history.count == 1, "\(history)")
    #expect(history.first?["result"] == "Succeeded")
}

/// `apply`, `diff` and `get --cluster` with a hub named go through the hub's proxy: the hub's credentials for the
/// cluster, the caller's token and RBAC (`proxy` on the cluster), an audit event per write; nothing touches a local
/// store. A cluster the hub does not know and an account without `proxy` are refused, naming why.
@Test func clusterCommandsGoThroughTheHubsProxy() throws {
    let hub = try HubFixture(clusters: ["dev": ["env": "dev"]], files: ["apps/web/config.yaml": configMap("web-config", "1")], appSets: [])
    defer { hub.stop() }
    let unused = hub.cli.workDir.appendingPathComponent("unused").path
    func flotilla(_ args: [String], tokenFile: String? = nil) throws -> CLI.Result {
        try CLI.runProcess(CLI.binary, args, environment: ["FLOTILLA_SERVER": hub.url, "FLOTILLA_TOKEN_FILE": tokenFile ?? hub.tokenFile,
                                                           "FLOTILLA_DATA_DIR": "", "HOME": unused])
    }
    let dir = hub.cli.workDir.appendingPathComponent("manifests")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try configMap("settings", "blue").write(to: dir.appendingPathComponent("settings.yaml"), atomically: true, encoding: .utf8)

    let applied = try flotilla(["apply", "--cluster", "dev", "-f", dir.path, "-n", "demo", "--create-namespace", "--app", "demo"])
    #expect(applied.status == 0 && applied.stdout.contains("ConfigMap demo/settings created"), "\(applied.stdout)\(applied.stderr)")
    #expect(try hub.get("dev", "v1", "ConfigMap", namespace: "demo", name: "settings")?.value(at: ["data", "value"]) == "blue")

    let same = try flotilla(["diff", "--cluster", "dev", "-f", dir.path, "-n", "demo", "--app", "demo"])
    #expect(same.status == 0 && same.stderr.contains("Synced"), "\(same.stdout)\(same.stderr)")
    try configMap("settings", "green").write(to: dir.appendingPathComponent("settings.yaml"), atomically: true, encoding: .utf8)
    let changed = try flotilla(["diff", "--cluster", "dev", "-f", dir.path, "-n", "demo", "--app", "demo"])
    #expect(changed.status == 1 && changed.stdout.contains("-  value: blue") && changed.stdout.contains("+  value: green"), "\(changed.stdout)\(changed.stderr)")

    let listed = try flotilla(["get", "--cluster", "dev", "cm", "-n", "demo"])
    #expect(listed.status == 0 && listed.stdout.contains("settings"), "\(listed.stdout)\(listed.stderr)")

    // Refusals: a cluster the hub does not know; a read-only account (no `proxy`); a watch.
    let unknown = try flotilla(["get", "--cluster", "nowhere", "cm"])
    #expect(unknown.status != 0 && unknown.stderr.contains("cluster 'nowhere' is not registered"), "\(unknown.stderr)")
    try hub.api("POST", "/api/v1/accounts", body: #"{"name": "viewer", "role": "role:readonly"}"#, expect: 201)
    let minted = try hub.api("POST", "/api/v1/accounts/viewer/tokens", expect: 201)
    let viewerToken = hub.cli.write("viewer.token", (minted["token"]?.stringValue ?? "") + "\n")
    let refused = try flotilla(["get", "--cluster", "dev", "cm", "-n", "demo"], tokenFile: viewerToken)
    #expect(refused.status != 0 && refused.stderr.contains("Forbidden"), "\(refused.stderr)")
    #expect(try hub.raw("GET", "/api/v1/clusters/dev/proxy/api/v1/configmaps?watch=true").status == 400)
    #expect(try hub.raw("GET", "/api/v1/clusters/dev/proxy/metrics").status == 404)

    // Writes are audited with the account; the hub's token never reaches the cluster (the simulator logs none).
    let events = try hub.api("GET", "/api/v1/events")["items"]?.arrayValue ?? []
    #expect(events.contains { ($0["message"]?.stringValue ?? "").contains("admin PATCH /api/v1/clusters/dev/proxy/api/v1/namespaces/demo/configmaps/settings") },
            "\(events.map { $0["message"] ?? .null })")
    #expect(!FileManager.default.fileExists(atPath: unused), "nothing went to a local store")
}
