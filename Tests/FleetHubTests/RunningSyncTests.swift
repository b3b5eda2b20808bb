import FleetConfig
import FleetGit
import FleetHub
import FleetKube
import FleetModel
import FleetTesting
import Foundation
import Logging
import Testing

/// `apps/NAME/`: a Deployment in wave 0 and a ConfigMap in wave 1 (`FleetFixtures.twoWaveApp`).
private func slowApp(_ name: String) -> [String: String] { FleetFixtures.twoWaveApp("apps/\(name)") }

/// Syncs that wait on a wave hold no worker: with 2 reconcile workers, 10 Applications (5 directories on 2 live
/// clusters) whose first wave waits on a Deployment that does not become ready (Running, "waiting for Sync wave 0")
/// leave the workers free — every other Application syncs, and a dead cluster's Applications still fail over.
@Test func waitingSyncsHoldNoWorker() async throws {
    var files: [String: String] = ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"]
    for i in 1...5 { files.merge(slowApp("slow\(i)")) { _, new in new } }
    // Workloads take an hour to become ready: every slow Application waits on its wave 0.
    let fixture = try await InProcessHub(clusters: ["a": true, "b": true, "x": false], files: files, appSet: perCluster, readyAfter: 3600,
                                         secondaries: ["x": "b"]) { config in
        config.concurrency = 2
        config.perCluster = 2
        // x refuses connections at once; a and b, slow to answer on a loaded machine, must not look down.
        config.failover.probeInterval = 1
        config.failover.probeTimeout = 10
        config.failover.failureThreshold = 3
    }
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func status(_ name: String) throws -> JSONValue { try hub.store.application(named: name)?.status ?? .null }
    try await eventually("the slow Applications wait on their first wave, Running", timeout: 90) {
        try (1...5).allSatisfy { try status("slow\($0)-a").value(at: ["operationState", "phase"]) == "Running" }
    }
    let message = try status("slow1-a").value(at: ["operationState", "message"])?.stringValue ?? ""
    #expect(message.contains("waiting for Sync wave 0"), "\(message)")
    // Bounds for a loaded machine; a sync that held its worker would hold it for the wave timeout (300 s).
    try await eventually("web synced on a and b beside them", timeout: 120) {
        try ["web-a", "web-b"].allSatisfy { try status($0).value(at: ["sync", "status"]) == "Synced" && status($0).value(at: ["health", "status"]) == "Healthy" }
    }
    for name in ["web-a", "web-b"] where try status(name).value(at: ["sync", "status"]) != "Synced" {
        Issue.record("\(name): \(try status(name).serialized(pretty: false).prefix(600)); clusters: \(hub.unreachableClusters())")
    }
    try await eventually("x's Applications moved to b", timeout: 120) {
        try hub.store.application(named: "web-x")?.placement?.active == "b"
    }
    // The slow ones are still Running, never applied their second wave.
    #expect(try status("slow3-a").value(at: ["operationState", "phase"]) == "Running")
    let client = KubeClient(cluster: try #require(try hub.clusterStore.cluster(named: "a")), timeout: 5)
    let configMaps = try #require(try client.discover().first { $0.kind == "ConfigMap" && $0.group.isEmpty })
    #expect(try client.get(configMaps, namespace: "slow3", name: "after") == nil)
}

/// A hub stopped while a sync waits on a wave (as a kill would leave it: the sync Running in the store) goes on
/// with that sync after its restart, from that wave: wave 0 is not applied again, and wave 1 follows once wave 0
/// is healthy.
@Test func aRestartedHubResumesTheRunningSync() async throws {
    let files = slowApp("slow")
    // The Deployment is ready 20 s after it is applied: the restart happens well inside that.
    let fixture = try await InProcessHub(clusters: ["a": true], files: files, appSet: perCluster, readyAfter: 20)
    let hub = fixture.hub
    @Sendable func phase(_ h: Hub) throws -> String { try h.store.application(named: "slow-a")?.status.value(at: ["operationState", "phase"])?.stringValue ?? "" }
    try await eventually("the sync waits on wave 0", timeout: 20) {
        try phase(hub) == "Running" && hub.store.application(named: "slow-a")?.status.value(at: ["operationState", "progress"]) != nil
    }
    let progress = try #require(try hub.store.application(named: "slow-a")?.status.value(at: ["operationState", "progress"]))
    #expect(progress["step"] == .int(0), "\(progress.serialized())")
    _ = try await ConcurrentRunner.blocking { [hub] in hub.stop(timeout: 5) }
    #expect(try phase(hub) == "Running")

    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let again = try Hub(config: hub.config, dataDir: fixture.dir.appendingPathComponent("data"), logger: logger)
    try await ConcurrentRunner.blocking { try again.start() }
    try await eventually("the resumed sync finished", timeout: 60) {
        try again.store.application(named: "slow-a")?.status.value(at: ["sync", "status"]) == "Synced"
            && again.store.application(named: "slow-a")?.status.value(at: ["health", "status"]) == "Healthy"
    }
    // One sync in the history, begun before the restart; wave 1 applied after it.
    let history = try again.store.history("slow-a")
    #expect(history.count == 1 && history.first?.result == "Succeeded", "\(history)")
    let applied = history.first.map { String(describing: $0.resources) } ?? ""
    #expect(applied.contains("after"), "\(applied)")
    _ = try await ConcurrentRunner.blocking { again.stop(timeout: 5) }
    await fixture.stop()
}

/// `terminate-op` stops a sync that waits on a wave: Failed, in the history and the event log, and automated
/// sync does not start that revision again (a condition says why) until someone syncs by hand.
@Test func terminateOpStopsAWaitingSync() async throws {
    let files = slowApp("slow")
    let fixture = try await InProcessHub(clusters: ["a": true], files: files, appSet: perCluster, readyAfter: 3600)
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func status() throws -> JSONValue { try hub.store.application(named: "slow-a")?.status ?? .null }
    try await eventually("the sync waits on wave 0", timeout: 20) { try status().value(at: ["operationState", "progress"]) != nil }
    let stop = try await fixture.call("POST", "/api/v1/applications/slow-a/terminate-op")
    #expect(stop.status == 202, "\(stop.body)")
    try await eventually("the sync ended, terminated", timeout: 20) {
        try status().value(at: ["operationState", "phase"]) == "Failed"
            && status().value(at: ["operationState", "message"])?.stringValue?.contains("terminated by admin") == true
    }
    #expect(try hub.store.history("slow-a").map(\.result) == ["Failed"])
    let events = try hub.store.events(cluster: nil, application: "slow-a", after: 0, limit: 50).map(\.message)
    #expect(events.contains { $0.contains("terminated by admin") }, "\(events)")
    // Automated sync leaves the terminated revision alone, and says so.
    _ = try await fixture.call("POST", "/api/v1/applications/slow-a/refresh")
    try await eventually("the condition says why nothing runs", timeout: 20) {
        try status()["conditions"]?.arrayValue?.contains { $0["type"] == "SyncTerminated" } == true
    }
    #expect(try status().value(at: ["operationState", "phase"]) != "Running")
    #expect(try await fixture.call("POST", "/api/v1/applications/slow-a/terminate-op").status == 409)
    // A manual sync starts it again.
    #expect(try await fixture.call("POST", "/api/v1/applications/slow-a/sync", body: "{}").status == 202)
    try await eventually("a manual sync runs again", timeout: 20) { try status().value(at: ["operationState", "phase"]) == "Running" }
}
