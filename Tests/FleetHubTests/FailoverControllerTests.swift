import FleetConfig
@testable import FleetHub
import FleetModel
import FleetTesting
import Foundation
import Logging
import Testing

/// The failover controller on its own: probe outcomes are fed in, time moves only on a manual clock, and no
/// cluster is contacted for the decisions (the clusters are ports nothing listens on).
private struct FailoverWorld {
    let dir: URL
    let hub: Hub
    let clock = ManualClock()

    init(holdDown: Double = 60) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-failover-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let clusters = FleetFixtures.clustersYAML([.init(name: "a", port: 1, secondary: "b"), .init(name: "b", port: 2), .init(name: "c", port: 3)])
        let file = dir.appendingPathComponent("clusters.yaml")
        try clusters.write(to: file, atomically: true, encoding: .utf8)
        var config = HubConfiguration()
        config.failover.holdDown = holdDown
        config.failover.failureThreshold = 3
        config.failover.recoveryThreshold = 2
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        hub = try Hub(config: config, dataDir: dir.appendingPathComponent("data"), logger: logger, clock: clock)
        try hub.applyClustersFile(file.path)
        let object: JSONValue = .object([("metadata", .object([("name", "web-a")])),
                                         ("spec", .object([("destination", .object([("name", "a"), ("namespace", "web")]))]))])
        try hub.store.apply(creating: [StoredApplication(name: "web-a", appSet: "web", cluster: "a", object: object)], updating: [], deleting: [],
                            appSet: "web", prune: false)
    }

    func probe(_ cluster: String, ok: Bool, times: Int = 1) {
        for _ in 0..<times { hub.failover.record(probeOf: cluster, error: ok ? nil : "connection refused", at: clock.seconds) }
    }

    func evaluate() { hub.failover.queue.sync { hub.failover.evaluatePlacements() } }

    var placement: Placement? { (try? hub.store.application(named: "web-a"))??.placement }

    func eventTypes() throws -> [String] { try hub.store.events().map(\.type) }

    func stop() {
        _ = hub.stop(timeout: 5)
        try? FileManager.default.removeItem(at: dir)
    }
}

@Test func probesFailoverAndFailbackAfterTheHoldDown() throws {
    let world = try FailoverWorld(holdDown: 60)
    defer { world.stop() }

    // Two failed probes: Suspect, nothing moves.
    world.probe("a", ok: false, times: 2)
    #expect(world.hub.clusterState("a").health.state == .suspect)
    world.evaluate()
    #expect(world.placement == nil)

    // The third: Unreachable, its work is held (one record for "does not answer"), and the Application moves.
    world.probe("a", ok: false)
    #expect(world.hub.clusterState("a").health.state == .unreachable)
    #expect(world.hub.unreachableClusters()["a"] != nil)
    world.evaluate()
    let moved = try #require(world.placement)
    // The copy on the dead primary is kept: it is pruned only once the primary answers and the Application is back.
    #expect(moved.phase == .failedOver && moved.active == "b" && moved.primary == "a" && moved.pruneAfterHealthy == nil)
    #expect(try world.eventTypes().contains("FailedOver"))

    // Back after two answered probes: Healthy, work released, but the hold-down keeps the Application on b.
    world.probe("a", ok: true, times: 2)
    #expect(world.hub.clusterState("a").health.state == .healthy)
    #expect(world.hub.unreachableClusters()["a"] == nil)
    world.clock.advance(by: 59)
    world.evaluate()
    #expect(world.placement?.phase == .failedOver)

    // Past the hold-down: fail back, the copy on b kept until the Application is Healthy on a.
    world.clock.advance(by: 2)
    world.evaluate()
    let back = try #require(world.placement)
    #expect(back.phase == .failingBack && back.active == "a" && back.pruneAfterHealthy == "b")
    #expect(try world.eventTypes().contains("FailbackStarted"))
}

@Test func aStormHoldsFailoverUntilFewerClustersAreDown() throws {
    let world = try FailoverWorld()
    defer { world.stop() }
    // Two of three clusters down: above maxFailoverPercent (50 %), nothing moves and the hold is announced once.
    world.probe("a", ok: false, times: 3)
    world.probe("c", ok: false, times: 3)
    world.evaluate()
    world.evaluate()
    #expect(world.placement == nil)
    #expect(try world.eventTypes().filter { $0 == "FailoverHeld" }.count == 1)
    // One comes back: failover resumes and the Application on a moves.
    world.probe("c", ok: true, times: 2)
    world.evaluate()
    #expect(try world.eventTypes().contains("FailoverResumed"))
    #expect(world.placement?.active == "b")
}

/// An Application on a cluster that stopped answering, with nowhere to go (it opts out of failover): its sync and
/// health are Unknown with a ComparisonError naming the cluster — never the Synced and Healthy of before.
@Test func applicationsOnAnUnreachableClusterAreUnknown() throws {
    let world = try FailoverWorld()
    defer { world.stop() }
    let object: JSONValue = .object([("metadata", .object([("name", "api-c"), ("annotations", .object([("flotilla.io/failover", "false")]))])),
                                     ("spec", .object([("destination", .object([("name", "c"), ("namespace", "api")]))]))])
    try world.hub.store.apply(creating: [StoredApplication(name: "api-c", appSet: "api", cluster: "c", object: object)], updating: [], deleting: [],
                              appSet: "api", prune: false)
    let synced = ApplicationStatus(sync: .init(status: .synced, revisions: ["abc"]), health: .init(status: .healthy))
    try world.hub.store.setStatus("api-c", synced.json)
    world.probe("c", ok: false, times: 2)
    #expect(ApplicationStatus(try #require(try world.hub.store.application(named: "api-c")).status) == synced, "Suspect changes nothing")
    world.probe("c", ok: false)
    let status = ApplicationStatus(try #require(try world.hub.store.application(named: "api-c")).status)
    #expect(status.sync?.status == .unknown && status.sync?.revisions == ["abc"])
    #expect(status.health?.status == .unknown)
    let condition = try #require(status.conditions?.first { $0.type == .comparisonError })
    #expect(condition.message.hasPrefix("cluster c is Unreachable: connection refused"), "\(condition.message)")
    // Applications elsewhere keep their status.
    #expect(ApplicationStatus(try #require(try world.hub.store.application(named: "web-a")).status).sync == nil)
}

/// How each event is logged: what needs a person is a warning, the audit trail is detail.
@Test func eventSeverity() {
    let table: [(HubEvent, HubEventType.Severity)] = [
        (HubEvent(.failedOver, message: "x"), .warning),
        (HubEvent(.clusterStateChanged, message: "cluster a is Unreachable after 3 failed probes: refused"), .warning),
        (HubEvent(.clusterStateChanged, message: "cluster a is Suspect: refused"), .warning),
        (HubEvent(.clusterStateChanged, message: "cluster a is Healthy"), .info),
        // The typed payload decides, whatever the message says.
        (HubEvent(.clusterStateChanged, message: "a: Healthy", payload: ClusterStateChange(state: .suspect)), .warning),
        (HubEvent(.clusterStateChanged, message: "recovered", payload: ClusterStateChange(state: .healthy)), .info),
        (HubEvent(.failedBack, message: "x"), .info),
        (HubEvent(.audit, message: "x"), .detail),
        (HubEvent(.sync, message: "x"), .detail),
        (HubEvent(type: "SomethingNewer", message: "x"), .info),
    ]
    for (event, severity) in table { #expect(event.severity == severity, "\(event.type): \(event.message)") }
}

/// `?cluster=` lists Applications where they run: during a failover, under the cluster they moved to, not the
/// one they left.
@Test func applicationsAreListedWhereTheyRun() async throws {
    let world = try FailoverWorld(holdDown: 60)
    defer { world.stop() }
    let api = HubAPI(hub: world.hub)
    func names(_ cluster: String) async throws -> [String] {
        let answer = await api.handle(APIRequest(method: "GET", path: "/api/v1/applications", query: ["cluster": cluster],
                                           headers: ["authorization": "Bearer \(world.hub.bootstrapToken ?? "")"], body: []))
        return try JSONParser.parse(answer.body)["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }
    #expect(try await names("a") == ["web-a"])
    #expect(try await names("b").isEmpty)
    world.probe("a", ok: false, times: 3)
    world.evaluate()
    #expect(world.placement?.active == "b")
    #expect(try await names("b") == ["web-a"], "listed under the cluster it moved to")
    #expect(try await names("a").isEmpty, "not under the one it left")
}
