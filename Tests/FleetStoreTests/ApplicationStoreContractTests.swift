import FleetModel
import FleetPostgres
import FleetStore
import FleetTesting
import Foundation
import Testing

/// The `ApplicationStore` contract, checked on every implementation: what the hub's controllers rely on.
private func stores() throws -> [(String, any ApplicationStore)] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-contract-\(UUID().uuidString)")
    var result: [(String, any ApplicationStore)] = [("sqlite", try SQLiteApplicationStore(directory: dir)), ("memory", InMemoryApplicationStore())]
    if let postgres = try testPostgresStore() {
        result.append(("postgres", postgres.applications))
    } else if TestRequirement.inCI {
        // In CI the contract is checked on PostgreSQL too, or the run fails.
        throw LocalPostgresError(message: "PostgreSQL could not start in CI: the store contract cannot be checked on it")
    }
    return result
}

/// A hub store on a new database of the test PostgreSQL server, or nil when PostgreSQL is not installed.
func testPostgresStore(replica: String = "r1") throws -> PostgresHubStore? {
    guard let server = TestPostgres.shared else { return nil }
    let url = try PostgresURL(parsing: try server.createDatabase())
    let key = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-key-\(UUID().uuidString)").path
    return try PostgresHubStore(url: url, keyFile: key, replica: replica, maxConnections: 4)
}

private func app(_ name: String, on cluster: String?, appSet: String = "web") -> StoredApplication {
    StoredApplication(name: name, appSet: appSet, cluster: cluster, object: .object([("metadata", .object([("name", .string(name))]))]))
}

private func placement(_ primary: String, on active: String?, phase: Placement.Phase = .failedOver, leave: String? = nil) -> Placement {
    Placement(primary: primary, active: active, phase: phase, reason: "test", since: "t", pruneAfterHealthy: leave)
}

@Test func generationPlansAreAllOrNothing() throws {
    for (kind, store) in try stores() {
        try store.apply(creating: [app("a", on: "c1"), app("b", on: "c2")], updating: [], deleting: [], appSet: "web", prune: true)
        #expect(try store.count() == 2, "\(kind)")
        // A name owned by another ApplicationSet refuses the whole plan.
        #expect(throws: (any Error).self, "\(kind)") {
            try store.apply(creating: [app("c", on: "c1", appSet: "other"), app("a", on: "c9", appSet: "other")], updating: [], deleting: [],
                            appSet: "other", prune: false)
        }
        #expect(try store.count() == 2 && store.application(named: "c") == nil, "\(kind)")
        // A deletion with prune leaves a pending prune of every cluster the Application ran on.
        #expect(try store.setPlacement("b", expected: nil, to: placement("c2", on: "c3")) == .written, "\(kind)")
        try store.apply(creating: [], updating: [], deleting: ["b"], appSet: "web", prune: true)
        #expect(Set(try store.pendingPrunes().map { "\($0.application)@\($0.cluster)" }) == ["b@c2", "b@c3"], "\(kind)")
        // Coming back drops the older pending prunes of its name.
        try store.apply(creating: [app("b", on: "c2")], updating: [], deleting: [], appSet: "web", prune: true)
        #expect(try store.pendingPrunes().isEmpty, "\(kind)")
        // A new primary ends a failover.
        #expect(try store.setPlacement("a", expected: nil, to: placement("c1", on: "c2")) == .written, "\(kind)")
        try store.apply(creating: [], updating: [app("a", on: "c5")], deleting: [], appSet: "web", prune: false)
        #expect(try store.application(named: "a")?.placement == nil && store.application(named: "a")?.cluster == "c5", "\(kind)")
        // Targets: every Application's primary and placement, by name.
        #expect(try store.setPlacement("b", expected: nil, to: placement("c2", on: "c4")) == .written, "\(kind)")
        try store.apply(creating: [app("0-none", on: nil)], updating: [], deleting: [], appSet: "web", prune: false)
        let targets = try store.applicationTargets()
        #expect(targets.map(\.name) == ["0-none", "a", "b"] && targets.map(\.activeCluster) == [nil, "c5", "c4"], "\(kind)")
        #expect(targets == (try store.applications()).map { ApplicationTarget(name: $0.name, cluster: $0.cluster, placement: $0.placement) }, "\(kind)")
    }
}

@Test func placementsAreCompareAndSet() throws {
    for (kind, store) in try stores() {
        let announced = Announced()
        store.onEvent { e in announced.add(e.type) }
        try store.apply(creating: [app("a", on: "c1")], updating: [], deleting: [], appSet: "web", prune: false)
        let moved = placement("c1", on: "c2")
        #expect(try store.setPlacement("a", expected: nil, to: moved, prune: [], event: HubEvent(.failedOver, message: "moved")) == .written, "\(kind)")
        // A decision made from the old placement is refused and writes nothing (no event either).
        #expect(try store.setPlacement("a", expected: nil, to: placement("c1", on: "c3"), prune: ["c1"], event: HubEvent(.failedOver, message: "stale")) == .conflict, "\(kind)")
        #expect(try store.application(named: "a")?.placement == moved && store.pendingPrunes().isEmpty, "\(kind)")
        // Back on the primary, the copy on the secondary is made due; a pending prune of the primary is dropped.
        #expect(try store.setPlacement("a", expected: moved, to: nil, prune: ["c2"], event: HubEvent(.failedBack, message: "back")) == .written, "\(kind)")
        #expect(try store.pendingPrunes().map(\.cluster) == ["c2"], "\(kind)")
        #expect(try store.setPlacement("gone", expected: nil, to: moved) == .gone, "\(kind)")
        #expect(announced.types == ["FailedOver", "FailedBack"], "\(kind)")
    }
}

@Test func aReconcileEndsInOneWrite() throws {
    for (kind, store) in try stores() {
        try store.apply(creating: [app("a", on: "c1")], updating: [], deleting: [], appSet: "web", prune: false)
        let before = try store.applicationVersions(limit: 10).first?.updatedAt
        for n in 1...4 {
            let entry = SyncEntry(application: "a", revision: "r\(n)", startedAt: "s", finishedAt: "f", result: "Succeeded", resources: .array([]), limit: 3)
            #expect(try store.finishReconcile("a", status: .object([("n", .int(n))]), history: entry, event: HubEvent(.sync, application: "a", message: "sync \(n)")), "\(kind)")
        }
        // The newest `limit` entries are kept, with growing ids; the status and every event are written.
        #expect(try store.history("a").map(\.revision) == ["r2", "r3", "r4"] && store.history("a").map(\.id) == [2, 3, 4], "\(kind)")
        #expect(try store.application(named: "a")?.status == .object([("n", .int(4))]), "\(kind)")
        #expect(try store.events(application: "a").map(\.message) == ["sync 1", "sync 2", "sync 3", "sync 4"], "\(kind)")
        // The change time never goes back (the SQLite store keeps it to the second, so it may stay the same within one).
        #expect(try (store.applicationVersions(limit: 10).first?.updatedAt ?? "") >= (before ?? ""), "\(kind)")
        // Gone: nothing is written.
        #expect(try !store.finishReconcile("gone", status: .null, history: nil, event: HubEvent(.sync, application: "gone", message: "x")), "\(kind)")
        #expect(try store.events(application: "gone").isEmpty, "\(kind)")
    }
}

@Test func eventsArePagedNewestLast() throws {
    for (kind, store) in try stores() {
        for i in 1...5 { try store.appendEvent(HubEvent(.audit, cluster: i % 2 == 0 ? "even" : "odd", message: "e\(i)")) }
        let all = try store.events()
        #expect(all.map(\.message) == ["e1", "e2", "e3", "e4", "e5"] && all.map(\.id) == all.map(\.id).sorted(), "\(kind)")
        #expect(try store.events(limit: 2).map(\.message) == ["e4", "e5"], "\(kind)")
        #expect(try store.events(after: all[2].id).map(\.message) == ["e4", "e5"], "\(kind)")
        #expect(try store.events(cluster: "even").map(\.message) == ["e2", "e4"], "\(kind)")
        try store.setClusterState("c1", ClusterOperationalState(cordoned: true), event: HubEvent(.cordoned, cluster: "c1", message: "cordoned"))
        #expect(try store.clusterStates()["c1"]?.cordoned == true && store.events(cluster: "c1").count == 1, "\(kind)")
    }
}

/// Event types a store announced (called from its writers' threads).
private final class Announced: @unchecked Sendable {
    // `lock` guards `list`.
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ type: String) { lock.withLock { list.append(type) } }
    var types: [String] { lock.withLock { list } }
}
