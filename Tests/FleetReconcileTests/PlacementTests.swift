import FleetReconcile
import FleetModel
import Testing

private typealias C = PlacementCluster

/// A cluster is Unreachable only after the failure threshold, and Healthy again only after the recovery
/// threshold; a Suspect cluster that answers is Healthy at once.
@Test func probeThresholds() {
    var h = ClusterHealth()
    let policy = ProbePolicy(failureThreshold: 3, recoveryThreshold: 2)
    #expect(h.record(success: false, error: "refused", at: 1, policy: policy) == .suspect)
    #expect(h.record(success: true, at: 2, policy: policy) == .healthy)
    #expect(h.record(success: false, at: 3, policy: policy) == .suspect)
    #expect(h.record(success: false, at: 4, policy: policy) == nil)
    #expect(h.record(success: false, error: "timeout", at: 5, policy: policy) == .unreachable)
    #expect(h.since == 5 && h.lastError == "timeout")
    #expect(h.record(success: true, at: 6, policy: policy) == nil)
    #expect(h.record(success: false, at: 7, policy: policy) == nil)   // a flap resets the recovery count
    #expect(h.record(success: true, at: 8, policy: policy) == nil)
    #expect(h.record(success: true, at: 9, policy: policy) == .healthy)
    #expect(h.state == .healthy && h.since == 9)
}

/// The target walks the chain of secondaries past clusters that are down or cordoned, and a cycle ends.
@Test func failoverTargetFollowsTheChain() {
    var clusters: [String: C] = ["a": C(secondary: "b", state: .unreachable), "b": C(secondary: "c"), "c": C(secondary: "a")]
    #expect(PlacementPlanner.failoverTarget(for: "a", clusters: clusters) == "b")
    clusters["b"]!.state = .unreachable
    #expect(PlacementPlanner.failoverTarget(for: "a", clusters: clusters) == "c")
    clusters["c"]!.cordoned = true
    #expect(PlacementPlanner.failoverTarget(for: "a", clusters: clusters) == nil)
    #expect(PlacementPlanner.failoverTarget(for: "x", clusters: clusters) == nil)
}

@Test func failoverDecisions() {
    let policy = FailoverPolicy()
    var clusters: [String: C] = ["a": C(secondary: "b", state: .unreachable), "b": C(), "c": C(), "d": C()]
    let app = PlacementSubject(primary: "a")
    #expect(PlacementPlanner.decide(app, clusters: clusters, policy: policy, storm: false) == .move(to: "b", reason: "cluster a is unreachable", pruneAfterHealthy: nil))
    // Opt-out, hub-wide switch, storm guard: it stays.
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", failoverAllowed: false), clusters: clusters, policy: policy, storm: false) == .none)
    #expect(PlacementPlanner.decide(app, clusters: clusters, policy: FailoverPolicy(enabled: false), storm: false) == .none)
    #expect(PlacementPlanner.decide(app, clusters: clusters, policy: policy, storm: true) == .none)
    // No healthy secondary: Unplaced.
    clusters["b"]!.state = .unreachable
    #expect(PlacementPlanner.decide(app, clusters: clusters, policy: policy, storm: false) == .unplace(reason: "cluster a is unreachable; no healthy secondary"))
    // A drained primary answers: its copy is pruned once the secondary serves the app.
    clusters = ["a": C(secondary: "b", cordoned: true, drained: true), "b": C()]
    #expect(PlacementPlanner.decide(app, clusters: clusters, policy: policy, storm: false) == .move(to: "b", reason: "cluster a is drained", pruneAfterHealthy: "a"))
}

@Test func stormGuard() {
    var clusters: [String: C] = ["a": C(state: .unreachable), "b": C(), "c": C(), "d": C()]
    #expect(!PlacementPlanner.stormActive(clusters: clusters, policy: FailoverPolicy()))
    clusters["b"]!.state = .unreachable
    #expect(!PlacementPlanner.stormActive(clusters: clusters, policy: FailoverPolicy()))   // 50 % is not above 50 %
    clusters["c"]!.state = .unreachable
    #expect(PlacementPlanner.stormActive(clusters: clusters, policy: FailoverPolicy()))
}

@Test func failbackWaitsForHoldDownUnlessAsked() {
    let policy = FailoverPolicy(holdDown: 60)
    let placed = Placement(primary: "a", active: "b", phase: .failedOver, reason: "down", since: "")
    var clusters: [String: C] = ["a": C(secondary: "b", state: .healthy, stateAge: 10), "b": C()]
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed), clusters: clusters, policy: policy, storm: false) == .none)
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed, failbackRequested: true), clusters: clusters, policy: policy, storm: false) == .failBack)
    clusters["a"]!.stateAge = 61
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed), clusters: clusters, policy: policy, storm: false) == .failBack)
    // Manual failback waits for the operator.
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed, autoFailback: false), clusters: clusters, policy: policy, storm: false) == .none)
    // Cordoned primary: no failback.
    clusters["a"]!.cordoned = true
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed), clusters: clusters, policy: policy, storm: false) == .none)
}

@Test func secondaryFailsTooOrFailbackFails() {
    let policy = FailoverPolicy()
    let clusters: [String: C] = ["a": C(secondary: "b", state: .unreachable), "b": C(secondary: "c", state: .unreachable), "c": C()]
    let placed = Placement(primary: "a", active: "b", phase: .failedOver, reason: "down", since: "")
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: placed), clusters: clusters, policy: policy, storm: false)
            == .move(to: "c", reason: "cluster b failed too", pruneAfterHealthy: "b"))
    // Failing back to a that fails again: back to the secondary that kept its copy.
    let back = Placement(primary: "a", active: "a", phase: .failingBack, reason: "", since: "", pruneAfterHealthy: "c")
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: back), clusters: clusters, policy: policy, storm: false)
            == .move(to: "c", reason: "cluster a failed during failback", pruneAfterHealthy: nil))
    // Unplaced, primary back: cleared.
    let unplaced = Placement(primary: "a", active: nil, phase: .unplaced, reason: "", since: "")
    #expect(PlacementPlanner.decide(PlacementSubject(primary: "a", placement: unplaced), clusters: ["a": C()], policy: policy, storm: false) == .clear)
}
