import FleetModel
import FleetReconcile
import FleetStore
import Foundation
import Testing

private func app(_ name: String, _ appSet: String = "team-apps", rev: String = "1") -> StoredApplication {
    StoredApplication(name: name, appSet: appSet, cluster: "prod-eu",
                      object: .object([("metadata", .object([("name", .string(name))])), ("spec", .object([("rev", .string(rev))]))]))
}

/// Applications round-trip; a plan creates, updates and deletes in one transaction; status and pins persist.
@Test func applicationsRoundTrip() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a"), app("b")], updating: [], deleting: [], appSet: "team-apps")
        try store.apply(creating: [app("c")], updating: [app("a", rev: "2")], deleting: ["b"], appSet: "team-apps")
        let all = try store.applications(appSet: "team-apps")
        #expect(all.map(\.name) == ["a", "c"])
        #expect(all[0].object.value(at: ["spec", "rev"]) == "2")
        try store.setStatus("a", .object([("sync", "Synced"), ("health", "Healthy")]))
        try store.pin("a", revision: "abc123")
        let reopened = try SQLiteApplicationStore(directory: dir)
        let a = try #require(try reopened.application(named: "a"))
        #expect(a.status["health"] == "Healthy" && a.pinnedRevision == "abc123")
        #expect(try reopened.applications(cluster: "prod-eu").count == 2)
        #expect(try SQLiteClusterStore(directory: dir).appliedMigrations() == ["v1-clusters", "v2-applications", "v3-hub", "v4-failover", "v5-auth", "v6-token-parent", "v7-cluster-scope", "v8-history-origin", "v9-event-data"])
    }
}

/// A name owned by another ApplicationSet refuses the whole plan: nothing changes.
@Test func ownershipConflictChangesNothing() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("shared", "first")], updating: [], deleting: [], appSet: "first")
        #expect { try store.apply(creating: [app("new", "second"), app("shared", "second")], updating: [], deleting: [], appSet: "second") } throws: {
            "\($0)".contains("Application shared is owned by ApplicationSet first, not second")
        }
        #expect(try store.applications().map(\.name) == ["shared"])
    }
}

/// Sync history keeps the newest `limit` records and goes with its Application.
@Test func syncHistory() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a")], updating: [], deleting: [], appSet: "team-apps")
        for i in 1...5 {
            try store.recordSync("a", revision: "rev\(i)", startedAt: "t\(i)", finishedAt: "t\(i)", result: "Succeeded", resources: .array([]), limit: 3)
        }
        #expect(try store.history("a").map(\.revision) == ["rev3", "rev4", "rev5"])
        #expect(try store.history("a").map(\.id) == [3, 4, 5])
        try store.apply(creating: [], updating: [], deleting: ["a"], appSet: "team-apps")
        #expect(try store.history("a").isEmpty)
    }
}

/// Deleting with prune leaves a pending prune in the same transaction; an Application that comes back
/// cancels it; ApplicationSets added through the API persist.
@Test func pendingPrunesAndStoredApplicationSets() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a"), app("b")], updating: [], deleting: [], appSet: "team-apps")
        try store.apply(creating: [], updating: [], deleting: ["a", "b"], appSet: "team-apps", prune: true)
        #expect(try store.pendingPrunes().map(\.application).sorted() == ["a", "b"])
        try store.apply(creating: [app("b")], updating: [], deleting: [], appSet: "team-apps")
        let reopened = try SQLiteApplicationStore(directory: dir)
        #expect(try reopened.pendingPrunes().map { "\($0.application)@\($0.cluster)" } == ["a@prod-eu"])
        try reopened.prunePerformed(application: "a", cluster: "prod-eu")
        #expect(try reopened.pendingPrunes().isEmpty)
        #expect(try reopened.count() == 1)

        try store.saveApplicationSet(name: "web", object: .object([("kind", "ApplicationSet")]))
        try store.saveApplicationSet(name: "web", object: .object([("kind", "ApplicationSet"), ("v", "2")]))
        #expect(try reopened.applicationSets().map(\.name) == ["web"])
        #expect(try reopened.applicationSets().first?.object["v"] == "2")
        #expect(try store.deleteApplicationSet(name: "web"))
        #expect(try !store.deleteApplicationSet(name: "web"))
    }
}

/// A placement change is one transaction with its event and the prune it makes due; the cluster it moves to
/// loses any pending prune; deleting a failed-over Application leaves prunes on every cluster it touched.
@Test func placementsEventsAndPrunes() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a"), app("b")], updating: [], deleting: [], appSet: "team-apps")
        let moved = Placement(primary: "prod-eu", active: "dr-eu", phase: .failedOver, reason: "down", since: "t")
        #expect(try store.setPlacement("a", moved, event: HubEvent(type: "FailedOver", cluster: "prod-eu", application: "a", message: "a moves")))
        #expect(try store.setPlacement("missing", moved) == false)
        let a = try #require(try store.application(named: "a"))
        #expect(a.placement == moved && a.activeCluster == "dr-eu")
        #expect(try store.placedApplications().map(\.name) == ["a"])

        // Failback completes: back on the primary, the secondary's copy due for pruning.
        #expect(try store.setPlacement("a", nil, prune: ["dr-eu"], event: HubEvent(type: "FailedBack", cluster: "prod-eu", application: "a", message: "back")))
        #expect(try store.pendingPrunes().map { "\($0.application)@\($0.cluster)" } == ["a@dr-eu"])
        // Moving onto a cluster drops the pending prune there: its objects are its own again.
        _ = try store.setPlacement("a", moved)
        #expect(try store.pendingPrunes().isEmpty)

        // Deleting it prunes the primary and the secondary.
        try store.apply(creating: [], updating: [], deleting: ["a"], appSet: "team-apps", prune: true)
        #expect(Set(try store.pendingPrunes().map(\.cluster)) == ["prod-eu", "dr-eu"])

        let events = try store.events()
        #expect(events.map(\.type) == ["FailedOver", "FailedBack"])
        #expect(try store.events(application: "a", after: events[0].id).map(\.type) == ["FailedBack"])
        #expect(try store.events(cluster: "other").isEmpty)

        // A new primary from generation ends the failover.
        _ = try store.setPlacement("b", moved)
        var b = app("b")
        b.cluster = "prod-us"
        try store.apply(creating: [], updating: [b], deleting: [], appSet: "team-apps")
        #expect(try store.application(named: "b")?.placement == nil)
    }
}

/// Cluster probe state and operator flags survive a reopen.
@Test func clusterStatePersists() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        var health = ClusterHealth(state: .healthy, since: 1)
        for t in 2...4 { health.record(success: false, error: "refused", at: Double(t), policy: ProbePolicy()) }
        try store.setClusterState("prod-eu", ClusterOperationalState(health: health, cordoned: true),
                                  event: HubEvent(type: "ClusterStateChanged", cluster: "prod-eu", message: "down"))
        let states = try SQLiteApplicationStore(directory: dir).clusterStates()
        #expect(states["prod-eu"]?.health.state == .unreachable && states["prod-eu"]?.health.since == 4)
        #expect(states["prod-eu"]?.cordoned == true && states["prod-eu"]?.health.lastError == "refused")
        #expect(try store.events(cluster: "prod-eu").count == 1)
    }
}

/// The event log keeps its newest entries: past the retention, the oldest go (in batches).
@Test func eventRetention() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir, eventRetention: 1000)
        for i in 1...3000 { try store.appendEvent(HubEvent(type: "Audit", message: "event \(i)")) }
        let kept = try store.events(limit: 10_000)
        #expect(kept.count >= 1000 && kept.count < 2000, "\(kept.count)")
        #expect(kept.last?.message == "event 3000" && kept.first!.id > 1000)
    }
}

/// Placement writes are compare-and-set: a decision made from a placement that changed meanwhile writes
/// nothing (no placement, no prune, no event).
@Test func placementCompareAndSet() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a")], updating: [], deleting: [], appSet: "team-apps")
        let moved = Placement(primary: "prod-eu", active: "dr-eu", phase: .failedOver, reason: "down", since: "t", pruneAfterHealthy: "prod-eu")
        #expect(try store.setPlacement("a", expected: nil, to: moved, event: HubEvent(type: "FailedOver", cluster: "prod-eu", application: "a", message: "m")) == .written)
        // A second writer that still believes the Application is on its primary loses.
        let other = Placement(primary: "prod-eu", active: nil, phase: .unplaced, reason: "r", since: "t")
        #expect(try store.setPlacement("a", expected: nil, to: other, prune: ["dr-eu"], event: HubEvent(type: "Unplaced", cluster: "prod-eu", application: "a", message: "m")) == .conflict)
        #expect(try store.application(named: "a")?.placement == moved)
        #expect(try store.pendingPrunes().isEmpty)
        #expect(try store.events(cluster: "prod-eu").map(\.type) == ["FailedOver"])
        #expect(try store.setPlacement("gone", expected: nil, to: moved) == .gone)
    }
}

/// The failover monitor and a reconcile worker decide from the same read and write at once: exactly one wins,
/// whichever order the threads run in.
@Test func placementRaceHasOneWinner() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: (0..<50).map { app("app-\($0)") }, updating: [], deleting: [], appSet: "team-apps")
        let start = Placement(primary: "prod-eu", active: "dr-eu", phase: .failedOver, reason: "down", since: "t", pruneAfterHealthy: "prod-eu")
        for i in 0..<50 { _ = try store.setPlacement("app-\(i)", start) }
        // Monitor: fail back (the primary is healthy again). Worker: complete the move (healthy on dr-eu).
        let failBack = Placement(primary: "prod-eu", active: "prod-eu", phase: .failingBack, reason: "healthy", since: "t2", pruneAfterHealthy: "dr-eu")
        let completed = Placement(primary: "prod-eu", active: "dr-eu", phase: .failedOver, reason: "down", since: "t")
        let wins = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: 100) { k in
            let name = "app-\(k / 2)"
            let target = k % 2 == 0 ? failBack : completed
            if (try? store.setPlacement(name, expected: start, to: target)) == .written { wins.add() }
        }
        #expect(wins.value == 50)
        for i in 0..<50 {
            let p = try store.application(named: "app-\(i)")?.placement
            #expect(p == failBack || p == completed)
        }
    }
}

final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}

/// An event's typed payload is stored and read back with it (decisions read it, never the message).
@Test func eventPayloadsAreKept() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-events-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = SQLiteApplicationStore(sharing: try SQLiteClusterStore(directory: dir))
    try store.appendEvent(HubEvent(.promotionApproved, application: "promotion/web/prod", message: "approved abc by alice",
                                   payload: PromotionApproval(revision: "abc", by: "alice")))
    try store.appendEvent(HubEvent(.audit, message: "no payload"))
    let events = try store.events()
    #expect(events.first?.payload(PromotionApproval.self) == PromotionApproval(revision: "abc", by: "alice"))
    #expect(events.last?.data == nil && events.last?.payload(PromotionApproval.self) == nil)
}
