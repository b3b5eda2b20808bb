import FleetConfig
import FleetGit
@testable import FleetHub
import FleetKube
import FleetModel
import FleetSync
import Foundation
import Testing

/// Two stamps of one live state and one of another: made by a real index, as the cache makes them.
private func stamps() -> (ClusterCache.Stamp, ClusterCache.Stamp) {
    let cache = ClusterCache(client: KubeClient(cluster: Cluster(name: "x", server: "https://127.0.0.1:1"), timeout: 1), onChange: { _ in })
    let other = ClusterCache(client: KubeClient(cluster: Cluster(name: "x", server: "https://127.0.0.1:1"), timeout: 1), onChange: { _ in })
    defer { cache.stop(); other.stop() }
    // No kinds asked: both caches answer, each with its own identity.
    return (cache.stamp(application: "a", kinds: [])!, other.stamp(application: "a", kinds: [])!)
}

/// When a remembered comparison may stand in for a new one: every input equal and the entry young enough.
@Test func memoHoldsOnlyForTheSameInputsWhileYoung() {
    let (s1, s2) = stamps()
    let base = ReconcileMemo.Fingerprint(cluster: "c", live: LiveStamp(kinds: ["/ConfigMap"], stamp: s1), revisions: 3, projects: 1, policies: 0)
    let entry = ReconcileMemo.Entry(fingerprint: base, comparedAt: 1000)
    let cases: [(String, ReconcileMemo.Fingerprint, Double, Bool)] = [
        ("same inputs", base, 1010, true),
        ("another cluster", .init(cluster: "d", live: base.live, revisions: 3, projects: 1, policies: 0), 1010, false),
        ("another cache (replaced after the cluster came back)", .init(cluster: "c", live: LiveStamp(kinds: ["/ConfigMap"], stamp: s2), revisions: 3, projects: 1, policies: 0), 1010, false),
        ("other kinds", .init(cluster: "c", live: LiveStamp(kinds: ["/ConfigMap", "apps/Deployment"], stamp: s1), revisions: 3, projects: 1, policies: 0), 1010, false),
        ("a new commit", .init(cluster: "c", live: base.live, revisions: 4, projects: 1, policies: 0), 1010, false),
        ("projects changed", .init(cluster: "c", live: base.live, revisions: 3, projects: 2, policies: 0), 1010, false),
        ("policies read again", .init(cluster: "c", live: base.live, revisions: 3, projects: 1, policies: 1), 1010, false),
        ("older than the longest age", base, 1000 + 600, false),
        ("just under it", base, 1000 + 599, true),
        ("a clock gone backwards", base, 990, false),
    ]
    for (what, current, now, holds) in cases {
        #expect(entry.holds(current, now: now, maxAge: 600) == holds, "\(what)")
    }
}

/// A comparison is remembered only when the writes to the Application since it was read are the reconcile's own.
@Test func memoRefusesAComparisonOthersWroteDuring() {
    let (s1, _) = stamps()
    let f = ReconcileMemo.Fingerprint(cluster: "c", live: LiveStamp(kinds: [], stamp: s1), revisions: 0, projects: 0, policies: 0)
    let memo = ReconcileMemo(maxAge: 600)
    memo.drop(["a"])   // a write before the read
    var seen = memo.writesSeen("a")
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 0)
    #expect(memo.entry("a") != nil, "a write before the read does not matter")

    seen = memo.writesSeen("a")
    memo.drop(["a"])   // the reconcile's own status write
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 1)
    #expect(memo.entry("a") != nil, "its own write does not refuse it")

    seen = memo.writesSeen("a")
    memo.drop(["a"])   // someone else's write while the comparison ran
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 0)
    #expect(memo.entry("a") == nil)

    seen = memo.writesSeen("a")
    memo.drop(["a"]); memo.drop(["a"])   // its own write and another
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 1)
    #expect(memo.entry("a") == nil)

    seen = memo.writesSeen("a")
    memo.drop(["b"])   // another Application's write
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 0)
    #expect(memo.entry("a") != nil)
    memo.drop(["a"])
    #expect(memo.entry("a") == nil, "a write drops the entry")
    memo.put("a", f, comparedAt: 0, seen: seen, ownWrites: 0)
    memo.forget("a")
    #expect(memo.entry("a") == nil && memo.writesSeen("a") == 0, "a deleted Application is forgotten")
}

/// End to end: once synced and healthy, a resync skips the comparison of unchanged Applications; drift seen by
/// the watch, a new commit and a refresh still reach them, and what git says is what runs.
@Test func resyncOfUnchangedApplicationsIsSkippedAndChangesStillArrive() async throws {
    let files = ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {v: '1'}\n",
                 "apps/api/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {v: '1'}\n"]
    let fixture = try await InProcessHub(clusters: ["live": true], files: files, appSet: perCluster) { config in
        config.resync = 3600
    }
    let hub = fixture.hub
    let reconciler = hub.reconciler
    try await eventually("both synced and healthy") {
        try hub.store.applications().allSatisfy { $0.status.value(at: ["health", "status"]) == "Healthy" }
    }
    // A sync is not remembered (it changed the cluster); a comparison after it that finds nothing to do is (one
    // that ran while the sync's own events were still arriving may not be: resync until both are remembered).
    @Sendable func resyncUntilRemembered() throws -> Bool {
        if reconciler.memo.entry("web-live") != nil && reconciler.memo.entry("api-live") != nil { return true }
        if reconciler.queueMetrics.running == 0 { hub.resyncAll() }
        Thread.sleep(forTimeInterval: 0.5)   // lets the resync just asked for run before the next look
        return false
    }
    try await eventually("both remembered", timeout: 60, resyncUntilRemembered)
    @Sendable func counter(_ prefix: String) async throws -> Int {
        let metrics = try await fixture.call("GET", "/metrics").body
        return metrics.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }
    func skipped() async throws -> Int { try await counter("flotilla_reconciles_skipped_total ") }
    let before = try await skipped(), comparedBefore = try await counter("flotilla_reconciles_total{")
    hub.resyncAll()
    var after = before
    for _ in 0..<300 where after < before + 2 {
        try await Task.sleep(for: .milliseconds(100))
        after = try await skipped()
    }
    let comparedMeanwhile = try await counter("flotilla_reconciles_total{") - comparedBefore
    #expect(after == before + 2 && comparedMeanwhile == 0, "the resync skipped both and compared none")

    // Drift: someone else changes web's ConfigMap; the watch brings it back to git's value.
    let client = KubeClient(cluster: try hub.clusterStore.cluster(named: "live")!, timeout: 5)
    let cm = try client.resource(apiVersion: "v1", kind: "ConfigMap")
    _ = try await ConcurrentRunner.blocking {
        try client.apply(try JSONParser.parse(#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "web"}, "data": {"v": "drift"}}"#),
                         fieldManager: "kubectl-edit")
    }
    try await eventually("drift healed", timeout: 30) { try client.get(cm, namespace: "web", name: "web")?.value(at: ["data", "v"]) == "1" }

    // A new commit changes api's ConfigMap: it is applied (the commit breaks every fingerprint).
    var changed = files
    changed["apps/api/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {v: '2'}\n"
    try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git")).commit(files: changed.mapValues { Data($0.utf8) }, message: "v2")
    hub.refreshRepositories()
    try await eventually("the commit applied", timeout: 30) { try client.get(cm, namespace: "api", name: "api")?.value(at: ["data", "v"]) == "2" }

    // Once compared again, a resync skips again; a refresh compares.
    try await eventually("remembered again", timeout: 60, resyncUntilRemembered)
    let settled = try await skipped(), compared = try await counter("flotilla_reconciles_total{")
    try hub.refresh("web-live")
    try await eventuallyAsync("the refresh compared") { try await counter("flotilla_reconciles_total{") > compared }
    #expect(try await skipped() == settled, "a refresh compares")
    await fixture.stop()
}
