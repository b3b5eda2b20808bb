import FleetModel
import FleetReconcile
import Testing

private func strategy(_ steps: String) -> JSONValue {
    try! JSONParser.parse(#"{"type": "RollingSync", "rollingSync": {"steps": \#(steps)}}"#)
}

private let envSteps = strategy(#"""
[{"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]},
 {"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging"]}], "maxUpdate": 1},
 {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}], "maxUpdate": "50%"}]
"""#)

private func app(_ name: String, _ env: String?, _ sync: SyncStatus = .outOfSync, _ health: HealthStatus = .healthy, syncing: Bool = false) -> RollingSync.App {
    RollingSync.App(name: name, labels: env.map { ["env": $0] } ?? [:], sync: sync, health: health, syncing: syncing)
}

@Test func rollingSyncParses() throws {
    #expect(try RollingSync.parse(nil) == nil)
    #expect(try RollingSync.parse(try JSONParser.parse(#"{"type": "AllAtOnce"}"#)) == nil)
    let r = try #require(try RollingSync.parse(envSteps))
    #expect(r.steps.count == 3)
    #expect(r.steps[1].maxUpdate == .count(1) && r.steps[2].maxUpdate == .percent(50) && r.steps[0].maxUpdate == .percent(100))
    #expect(r.steps[0].text == "env in (dev)")
    #expect(RollingSync.MaxUpdate.percent(50).limit(of: 3) == 1 && RollingSync.MaxUpdate.percent(50).limit(of: 4) == 2)
    #expect(RollingSync.MaxUpdate.percent(0).limit(of: 4) == 0 && RollingSync.MaxUpdate.percent(10).limit(of: 3) == 1)
}

@Test(arguments: [
    (#"{"type": "Canary"}"#, "spec.strategy.type"),
    (#"{"type": "RollingSync", "rollingSync": {"steps": []}}"#, "spec.strategy.rollingSync.steps"),
    (#"{"type": "RollingSync", "rollingSync": {"steps": [{"maxUpdate": "lots"}]}}"#, "spec.strategy.rollingSync.steps[0].maxUpdate"),
    (#"{"type": "RollingSync", "rollingSync": {"steps": [{"maxUpdate": "120%"}]}}"#, "spec.strategy.rollingSync.steps[0].maxUpdate"),
    (#"{"type": "RollingSync", "rollingSync": {"steps": [{"matchExpressions": [{"key": "env", "operator": "Near", "values": ["x"]}]}]}}"#, "spec.strategy.rollingSync.steps[0].matchExpressions"),
])
func badStrategiesNameTheField(text: String, field: String) {
    do {
        _ = try RollingSync.parse(try JSONParser.parse(text))
        Issue.record("accepted \(text)")
    } catch let error as InputError {
        #expect(error.problems.contains { $0.field.hasPrefix(field) }, "\(error)")
    } catch {
        Issue.record("\(error)")
    }
}

@Test func stepsAdvanceOnlyWhenTheEarlierAreSyncedAndHealthy() throws {
    let r = try #require(try RollingSync.parse(envSteps))
    // A new revision: everything OutOfSync. Only dev may sync.
    var plan = r.plan([app("a-dev", "dev"), app("a-stg1", "staging"), app("a-stg2", "staging"), app("a-prod1", "prod"), app("a-prod2", "prod"), app("a-x", nil)])
    #expect(plan.activeStep == 0)
    #expect(plan.status["a-dev"] == .pending && plan.status["a-stg1"] == .waiting && plan.status["a-prod1"] == .waiting)
    #expect(plan.excluded == ["a-x"])
    #expect(plan.decision(for: "a-dev", rollout: r).mayApply)
    let wait = plan.decision(for: "a-stg1", rollout: r)
    #expect(!wait.mayApply && wait.reason?.contains("step 2 (env in (staging)) waits for step 1 (env in (dev))") == true, "\(wait)")
    #expect(plan.decision(for: "a-x", rollout: r).reason?.contains("matches no step") == true)
    // dev synced but still Progressing: staging still waits.
    plan = r.plan([app("a-dev", "dev", .synced, .progressing), app("a-stg1", "staging"), app("a-stg2", "staging")])
    #expect(plan.status["a-dev"] == .progressing && plan.status["a-stg1"] == .waiting)
    // dev healthy: staging, one at a time (maxUpdate 1).
    plan = r.plan([app("a-dev", "dev", .synced), app("a-stg1", "staging"), app("a-stg2", "staging"), app("a-prod1", "prod")])
    #expect(plan.activeStep == 1 && plan.status["a-stg1"] == .pending && plan.status["a-stg2"] == .waiting && plan.status["a-prod1"] == .waiting)
    #expect(plan.decision(for: "a-stg2", rollout: r).reason?.contains("at most 1 at a time") == true)
    plan = r.plan([app("a-dev", "dev", .synced), app("a-stg1", "staging", syncing: true), app("a-stg2", "staging")])
    #expect(plan.status["a-stg1"] == .progressing && plan.status["a-stg2"] == .waiting)
    // Everything done: complete; a drifted app anywhere may heal.
    plan = r.plan([app("a-dev", "dev", .synced), app("a-stg1", "staging", .synced), app("a-prod1", "prod", .outOfSync)])
    #expect(plan.activeStep == 2 && plan.status["a-prod1"] == .pending)
    plan = r.plan([app("a-dev", "dev", .synced), app("a-prod1", "prod", .synced)])
    #expect(plan.activeStep == nil && plan.status.values.allSatisfy { $0 == .healthy })
}

@Test func aDegradedApplicationHaltsTheRollout() throws {
    let r = try #require(try RollingSync.parse(envSteps))
    let plan = r.plan([app("a-dev", "dev", .synced, .degraded), app("b-dev", "dev"), app("a-stg1", "staging")])
    #expect(plan.isHalted && plan.haltedBy == ["a-dev"])
    // Its own step goes on (a fix rolls out that way); the later ones wait.
    #expect(plan.status["b-dev"] == .pending && plan.status["a-stg1"] == .waiting)
    #expect(plan.decision(for: "a-stg1", rollout: r).reason?.contains("halted at step 1: a-dev is Degraded") == true)
    // A Degraded Application of a later step does not halt the steps before it.
    let later = r.plan([app("a-dev", "dev"), app("a-stg1", "staging", .synced, .degraded)])
    #expect(!later.isHalted && later.status["a-dev"] == .pending)
}

/// The race of a RollingSync over dev then prod, decided on facts: dev's status right after its sync of B says
/// Synced and Healthy at B, but that health came from the sync's own answers (not assessed since: the
/// Deployment's status may still be revision A's). Prod must wait until a health assessed after the sync says
/// Healthy at B; a health assessed at A never counts for B.
@Test(arguments: [
    // dev's health: (revision it runs, revision its health was assessed at) → may prod apply B?
    ("B", "B", true),        // assessed after the sync of B: prod may go
    ("B", nil, false),       // just synced B; the Healthy is the sync's own answer: prod waits
    ("B", "A", false),       // a health from revision A: never counts for B
    ("A", "A", false),       // dev still runs A
])
func laterStepsWaitForAHealthAssessedAfterTheSync(devRevision: String, devHealthRevision: String?, prodMayApply: Bool) throws {
    let rollout = try #require(try RollingSync.parse(strategy(#"[{"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}]"#)))
    let dev = RollingSync.App(name: "web-d1", labels: ["env": "dev"], sync: .synced, health: .healthy, revision: devRevision,
                              healthRevision: .some(devHealthRevision))
    let prod = RollingSync.App(name: "web-p1", labels: ["env": "prod"], sync: .outOfSync, health: .healthy, revision: "A")
    let plan = rollout.plan([dev, prod], target: "B")
    #expect(plan.decision(for: "web-p1", rollout: rollout).mayApply == prodMayApply, "\(plan)")
    // Dev, not yet known Healthy at B, is updating (not Waiting, not Healthy) in what the API shows.
    if devRevision == "B" && devHealthRevision != "B" { #expect(plan.status["web-d1"] == .progressing) }
}

/// An Application another decision let sync (claimed, its status not written yet) counts as syncing: it takes
/// its place of the step's `maxUpdate`, and its step is not done.
@Test func aClaimedSyncTakesAPlaceOfTheStep() throws {
    let rollout = try #require(try RollingSync.parse(strategy(#"[{"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}], "maxUpdate": 1}, {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}]"#)))
    let d1 = RollingSync.App(name: "d1", labels: ["env": "dev"], sync: .synced, health: .healthy, revision: "A")
    let d2 = RollingSync.App(name: "d2", labels: ["env": "dev"], sync: .synced, health: .healthy, revision: "B")
    let p1 = RollingSync.App(name: "p1", labels: ["env": "prod"], sync: .outOfSync, health: .healthy, revision: "A")
    #expect(rollout.plan([d1, d2, p1], target: "B").status["d1"] == .pending)
    var claimed = d2
    claimed.syncing = true
    let plan = rollout.plan([d1, claimed, p1], target: "B")
    #expect(plan.status["d2"] == .progressing && plan.status["d1"] == .waiting, "\(plan)")
    #expect(!plan.decision(for: "p1", rollout: rollout).mayApply)
}

/// An Application still settling from the revision before (synced A, Progressing, or Healthy not yet assessed)
/// when B arrives has no right to apply B: its step waits for the earlier ones like any other.
@Test(arguments: [(HealthStatus.progressing, "A" as String?), (HealthStatus.healthy, nil as String?)])
func settlingAtTheRevisionBeforeGivesNoRightToTheNext(prodHealth: HealthStatus, prodHealthRevision: String?) throws {
    let rollout = try #require(try RollingSync.parse(strategy(#"[{"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}, {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}]"#)))
    let dev = RollingSync.App(name: "web-d1", labels: ["env": "dev"], sync: .outOfSync, health: .healthy, revision: "A")
    let prod = RollingSync.App(name: "web-p1", labels: ["env": "prod"], sync: .synced, health: prodHealth, revision: "A",
                               healthRevision: .some(prodHealthRevision))
    let plan = rollout.plan([dev, prod], target: "B")
    #expect(!plan.decision(for: "web-p1", rollout: rollout).mayApply, "\(plan)")
    #expect(plan.status["web-p1"] == .waiting)
    // At A itself (no new revision), it goes on settling.
    #expect(rollout.plan([dev, prod], target: "A").decision(for: "web-p1", rollout: rollout).mayApply)
}
