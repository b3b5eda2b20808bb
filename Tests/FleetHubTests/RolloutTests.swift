import FleetConfig
import FleetGit
import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

private let rollingAppSet = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators:
    - matrix:
        generators:
          - git: {repoURL: 'https://git.example.com/acme/apps.git', revision: HEAD, directories: [{path: 'apps/*'}]}
          - clusters: {}
  strategy:
    type: RollingSync
    rollingSync:
      steps:
        - matchExpressions: [{key: env, operator: In, values: [dev]}]
        - matchExpressions: [{key: env, operator: In, values: [staging]}]
        - matchExpressions: [{key: env, operator: In, values: [prod]}]
  template:
    metadata: {name: '{{path.basename}}-{{name}}', labels: {env: '{{name}}'}}
    spec:
      project: default
      source: {repoURL: 'https://git.example.com/acme/apps.git', targetRevision: HEAD, path: '{{path}}'}
      destination: {server: '{{server}}', namespace: '{{path.basename}}'}
      syncPolicy: {automated: {prune: true, selfHeal: true}, syncOptions: [CreateNamespace=true]}
"""

private func web(_ image: String) -> [String: String] {
    ["apps/web/deploy.yaml": """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: web, image: '\(image)'}]}
    """]
}

/// RollingSync over dev → staging → prod: the first revision reaches each step only after the one before is Synced
/// and Healthy; a revision that makes dev Degraded halts the rollout (an event, the API says Halted) and never
/// reaches staging; the fix rolls out to every step.
@Test func rollingSyncStepsThroughEnvironments() async throws {
    let fixture = try await InProcessHub(clusters: ["dev": true, "staging": true, "prod": true], files: web("registry.example.com/web:1"),
                                         appSet: rollingAppSet, failImage: "broken")
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func status(_ name: String) throws -> JSONValue { try hub.store.application(named: name)?.status ?? .null }
    @Sendable func at(_ name: String) throws -> (sync: String, health: String, revision: String) {
        let s = try status(name)
        return (s.value(at: ["sync", "status"])?.stringValue ?? "", s.value(at: ["health", "status"])?.stringValue ?? "",
                s.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue ?? "")
    }
    let apps = ["web-dev", "web-staging", "web-prod"]
    try await eventually("every step Synced and Healthy", timeout: 30) { try apps.allSatisfy { try at($0).sync == "Synced" && at($0).health == "Healthy" } }
    // Each step's first sync started after the step before it finished.
    let firsts = try apps.map { try #require(hub.store.history($0).first) }
    #expect(firsts[0].finishedAt <= firsts[1].startedAt && firsts[1].finishedAt <= firsts[2].startedAt, "\(firsts.map { ($0.startedAt, $0.finishedAt) })")
    let good = try at("web-staging").revision

    // A revision that breaks the workload: dev turns Degraded, the rollout halts, staging and prod stay on the good one.
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    let broken = try repo.commit(files: web("registry.example.com/web:2-broken").mapValues { Data($0.utf8) }, message: "broken").hex
    hub.refreshRepositories()
    try await eventually("web-dev Degraded at the broken revision", timeout: 30) { try at("web-dev").health == "Degraded" && at("web-dev").revision == broken }
    // Once staging has been compared at the broken revision (its condition says the rollout halted), it never
    // applied it, nor prod: still one sync each.
    try await eventually("web-staging waiting on the halted rollout") {
        try status("web-staging")["conditions"]?.arrayValue?.contains { $0["type"] == "RolloutWaiting" && $0["message"]?.stringValue?.contains("halted at step 1: web-dev is Degraded") == true } == true
    }
    let stagingSyncs = try hub.store.history("web-staging").map(\.revision), prodSyncs = try hub.store.history("web-prod").map(\.revision)
    #expect(stagingSyncs == [good] && prodSyncs == [good], "staging \(stagingSyncs), prod \(prodSyncs), good \(good), broken \(broken)")
    try await eventually("web-staging still waiting on the halted rollout") {
        try status("web-staging")["conditions"]?.arrayValue?.contains { $0["type"] == "RolloutWaiting" && $0["message"]?.stringValue?.contains("halted at step 1: web-dev is Degraded") == true } == true
    }
    let rollout = try JSONParser.parse(try await fixture.call("GET", "/api/v1/applicationsets/web/rollout").body)
    #expect(rollout["phase"] == "Halted" && rollout["haltedBy"] == .array(["web-dev"]) && rollout["activeStep"] == .int(1), "\(rollout.serialized())")
    #expect(rollout["steps"]?.arrayValue?.map { $0["applications"]?.arrayValue?.first?["status"]?.stringValue ?? "" } == ["Pending", "Waiting", "Waiting"],
            "\(rollout.serialized())")
    let halted = try hub.store.events(cluster: nil, application: nil, after: 0, limit: 500).filter { $0.type == "RolloutHalted" }
    #expect(halted.count == 1 && halted.first?.message.contains("web-dev") == true)

    // The fix rolls out through every step.
    let fixed = try repo.commit(files: web("registry.example.com/web:3").mapValues { Data($0.utf8) }, message: "fixed").hex
    hub.refreshRepositories()
    try await eventually("the fix everywhere", timeout: 30) {
        try apps.allSatisfy { try at($0).revision == fixed && at($0).health == "Healthy" && at($0).sync == "Synced" }
    }
    // Complete once each step's health was assessed after its sync.
    try await eventuallyAsync("the rollout Complete") {
        let complete = try JSONParser.parse(await fixture.api.handle(APIRequest(method: "GET", path: "/api/v1/applicationsets/web/rollout", query: [:],
                                                                             headers: ["authorization": "Bearer \(hub.bootstrapToken ?? "")"], body: [])).body)
        return complete["phase"] == "Complete"
    }
}

/// A strategy Flotilla cannot carry out is refused, never ignored.
@Test func unknownStrategiesAreRefused() async throws {
    let fixture = try await InProcessHub(clusters: ["dev": true], files: web("registry.example.com/web:1"), appSet: rollingAppSet)
    defer { Task { await fixture.stop() } }
    let canary = rollingAppSet.replacingOccurrences(of: "name: web}", with: "name: canary}").replacingOccurrences(of: "type: RollingSync", with: "type: Canary")
    let answer = try await fixture.call("POST", "/api/v1/applicationsets", body: canary)
    #expect(answer.status == 422 && answer.body.contains("spec.strategy.type"), "\(answer.body)")
    #expect(try await fixture.call("GET", "/api/v1/applicationsets/canary").status == 404)
    // A setting not carried out is named on the ApplicationSet; its Applications are generated.
    let reverse = rollingAppSet.replacingOccurrences(of: "name: web}", with: "name: rev}").replacingOccurrences(of: "name: '{{path.basename}}-{{name}}'", with: "name: 'rev-{{name}}'")
        .replacingOccurrences(of: "    type: RollingSync", with: "    type: RollingSync\n    deletionOrder: Reverse")
    let applied = try await fixture.call("POST", "/api/v1/applicationsets", body: reverse)
    #expect(applied.status == 200 && applied.body.contains("deletionOrder: Reverse is not carried out") && applied.body.contains("rev-dev"), "\(applied.body)")
}

/// With `flotilla.io/rollback-on-failure: "true"`, the Degraded Application of a halted step is pinned back to its
/// last good revision and is Healthy again; the later steps never see the bad revision.
@Test func rollbackOnFailurePinsTheLastGoodRevision() async throws {
    let appSet = rollingAppSet.replacingOccurrences(of: "metadata: {name: web}", with: "metadata: {name: web, annotations: {flotilla.io/rollback-on-failure: 'true'}}")
    let fixture = try await InProcessHub(clusters: ["dev": true, "staging": true], files: web("registry.example.com/web:1"), appSet: appSet, failImage: "broken")
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func app(_ name: String) throws -> StoredApplication? { try hub.store.application(named: name) }
    try await eventually("both steps Healthy", timeout: 30) {
        try ["web-dev", "web-staging"].allSatisfy { try app($0)?.status.value(at: ["health", "status"]) == "Healthy" && app($0)?.status.value(at: ["sync", "status"]) == "Synced" }
    }
    let good = try #require(try hub.store.history("web-dev").last?.revision)
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    _ = try repo.commit(files: web("registry.example.com/web:2-broken").mapValues { Data($0.utf8) }, message: "broken")
    hub.refreshRepositories()
    try await eventually("web-dev pinned back to the good revision and Healthy", timeout: 30) {
        try app("web-dev")?.pinnedRevision == good && app("web-dev")?.status.value(at: ["health", "status"]) == "Healthy"
    }
    let events = try hub.store.events(cluster: nil, application: "web-dev", after: 0, limit: 200).map(\.message)
    #expect(events.contains { $0.contains("rolled back to \(good.prefix(12))") && $0.contains("rollback-on-failure") }, "\(events)")
    #expect(try hub.store.history("web-staging").map(\.revision) == [good])
}

private let promotionFile = """
apiVersion: flotilla.io/v1
kind: Promotion
metadata: {name: web}
spec:
  applicationSet: web
  stages:
    - {name: dev, selector: {matchLabels: {env: dev}}}
    - {name: staging, selector: {matchLabels: {env: staging}}}
    - {name: prod, selector: {matchLabels: {env: prod}}, approval: required, approvers: [alice]}
"""

/// A commit reaches dev only; staging runs what is promoted to it; prod needs an approval by an approver, which is
/// recorded; a later commit stays in dev until promoted.
@Test func promotionWithApproval() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-promotions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try promotionFile.write(to: dir.appendingPathComponent("web.yaml"), atomically: true, encoding: .utf8)
    let allAtOnce = rollingAppSet.replacingOccurrences(of: "type: RollingSync", with: "type: AllAtOnce")
    let fixture = try await InProcessHub(clusters: ["dev": true, "staging": true, "prod": true], files: web("registry.example.com/web:1"),
                                         appSet: allAtOnce) { config in
        config.promotions = [dir.path]
        // Deployers may sync prod's Application only; stagers staging's only.
        config.auth.policy = """
            p, role:deployer, applications, sync, default/web-prod, allow
            p, role:deployer, applicationsets, get, *, allow
            p, role:stager, applications, sync, default/web-staging, allow
            p, role:stager, applicationsets, get, *, allow
            """
    }
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func revision(_ name: String) throws -> String? { try hub.store.history(name).max { $0.id < $1.id }?.revision }
    /// Synced, and Healthy as assessed after the sync (what the promotion's gate trusts).
    @Sendable func healthy(_ name: String) throws -> Bool {
        let s = try hub.store.application(named: name)?.status ?? .null
        return s.value(at: ["sync", "status"]) == "Synced" && s.value(at: ["health", "status"]) == "Healthy"
            && s.value(at: ["health", "revision"]) != nil && s.value(at: ["health", "revision"]) == s.value(at: ["sync", "revisions"])?.arrayValue?.first
    }
    try await eventually("dev synced", timeout: 20) { try healthy("web-dev") }
    let v1 = try #require(try revision("web-dev"))
    // Once staging has been compared (its condition names the promotion it waits for), nothing ran there or in prod.
    try await eventually("web-staging waits for a promotion") {
        let waiting = try hub.store.application(named: "web-staging")?.status["conditions"]?.arrayValue ?? []
        return waiting.contains { $0["type"] == "RolloutWaiting" && $0["message"]?.stringValue?.contains("flotilla promote web --to staging") == true }
    }
    #expect(try revision("web-staging") == nil && revision("web-prod") == nil, "later stages wait for a promotion")

    // Promote to staging (no gate beyond health).
    let promoted = try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "staging"}"#)
    #expect(promoted.status == 202, "\(promoted.body)")
    try await eventually("staging runs v1", timeout: 20) { try healthy("web-staging") && revision("web-staging") == v1 }

    // prod needs alice's approval: refused without it, refused from another account, recorded from alice.
    let early = try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "prod"}"#)
    #expect(early.status == 409 && early.body.contains("needs an approval by alice"), "\(early.body)")
    try hub.createAccount("alice", role: "role:readonly")
    try hub.createAccount("bob", role: "role:readonly")
    let alice = try hub.createToken(account: "alice", seconds: nil, description: "").token
    let bob = try hub.createToken(account: "bob", seconds: nil, description: "").token
    let refused = try await fixture.call("POST", "/api/v1/promotions/web/approve", body: #"{"stage": "prod"}"#, headers: ["authorization": "Bearer \(bob)"])
    #expect(refused.status == 403, "\(refused.body)")
    let approved = try await fixture.call("POST", "/api/v1/promotions/web/approve", body: #"{"stage": "prod"}"#, headers: ["authorization": "Bearer \(alice)"])
    #expect(approved.status == 200 && approved.body.contains(v1), "\(approved.body)")
    let record = try hub.store.events(cluster: nil, application: "promotion/web/prod", after: 0, limit: 10)
    #expect(record.contains { $0.type == "PromotionApproved" && $0.message.contains("by alice") })
    // alice may approve but not promote (read-only); the admin promotes.
    #expect(try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "prod"}"#, headers: ["authorization": "Bearer \(alice)"]).status == 403)
    // Promoting needs sync on the stage's own Applications, not on the whole fleet: a stager may not promote
    // to prod; a deployer, who may sync prod's Application only, may.
    try hub.createAccount("stager", role: "role:stager")
    try hub.createAccount("deployer", role: "role:deployer")
    let stager = try hub.createToken(account: "stager", seconds: nil, description: "").token
    let deployer = try hub.createToken(account: "deployer", seconds: nil, description: "").token
    #expect(try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "prod"}"#, headers: ["authorization": "Bearer \(stager)"]).status == 403)
    let byDeployer = try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "prod"}"#, headers: ["authorization": "Bearer \(deployer)"])
    #expect(byDeployer.status == 202, "\(byDeployer.body)")
    try await eventually("prod runs v1", timeout: 20) { try healthy("web-prod") && revision("web-prod") == v1 }

    // A new commit reaches dev; staging and prod keep v1 until promoted.
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    let v2 = try repo.commit(files: web("registry.example.com/web:2").mapValues { Data($0.utf8) }, message: "v2").hex
    hub.refreshRepositories()
    try await eventually("dev runs v2", timeout: 20) { try revision("web-dev") == v2 && healthy("web-dev") }
    // Staging and prod reconciled after dev ran v2 (they compared the new commit), and kept v1.
    let devDone = try #require(hub.lastReconciled("web-dev"))
    for name in ["web-staging", "web-prod"] { try hub.refresh(name) }
    try await eventually("staging and prod compared after dev ran v2", timeout: 20) {
        ["web-staging", "web-prod"].allSatisfy { (hub.lastReconciled($0) ?? "") > devDone }
    }
    #expect(try revision("web-staging") == v1 && revision("web-prod") == v1)
    let status = try JSONParser.parse(try await fixture.call("GET", "/api/v1/promotions/web").body)
    let stages = status["stages"]?.arrayValue ?? []
    #expect(stages.map { $0["revision"]?.stringValue ?? "" } == [v2, v1, v1], "\(status.serialized())")
    #expect(stages[1]["blockedBy"] == .null, "staging may be promoted to v2 now")
    #expect(stages[2]["blockedBy"] == .null, "prod runs what staging runs, approved")
    // Promoting v2 to staging makes prod's gate ask for a new approval.
    #expect(try await fixture.call("POST", "/api/v1/promotions/web/promote", body: #"{"stage": "staging"}"#).status == 202)
    try await eventually("staging runs v2", timeout: 20) { try revision("web-staging") == v2 && healthy("web-staging") }
    let next = try JSONParser.parse(try await fixture.call("GET", "/api/v1/promotions/web").body)
    #expect(next["stages"]?.arrayValue?.last?["blockedBy"]?.stringValue?.contains("needs an approval by alice") == true, "\(next.serialized())")
}

/// A stage marked `auto` is promoted by the hub as soon as its gate opens: each commit proven in dev moves on.
@Test func automaticPromotion() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-promotions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try """
    kind: Promotion
    metadata: {name: web}
    spec:
      applicationSet: web
      stages:
        - {name: dev, selector: {matchLabels: {env: dev}}}
        - {name: staging, selector: {matchLabels: {env: staging}}, auto: true}
    """.write(to: dir.appendingPathComponent("web.yaml"), atomically: true, encoding: .utf8)
    let allAtOnce = rollingAppSet.replacingOccurrences(of: "type: RollingSync", with: "type: AllAtOnce")
    let fixture = try await InProcessHub(clusters: ["dev": true, "staging": true], files: web("registry.example.com/web:1"), appSet: allAtOnce) {
        $0.promotions = [dir.path]
    }
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func revision(_ name: String) throws -> String? { try hub.store.history(name).max { $0.id < $1.id }?.revision }
    try await eventually("dev synced", timeout: 20) { try revision("web-dev") != nil }
    let v1 = try revision("web-dev")
    try await eventually("staging promoted automatically", timeout: 20) { try revision("web-staging") == v1 }
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    let v2 = try repo.commit(files: web("registry.example.com/web:2").mapValues { Data($0.utf8) }, message: "v2").hex
    hub.refreshRepositories()
    try await eventually("v2 in dev, then staging", timeout: 20) { try revision("web-dev") == v2 && revision("web-staging") == v2 }
    let promoted = try hub.store.events(cluster: nil, application: "promotion/web/staging", after: 0, limit: 10).filter { $0.type == "Promoted" }
    #expect(promoted.count == 2 && promoted.allSatisfy { $0.message.hasPrefix("the hub promoted") })
}

/// The rollout's gate decides on facts that cannot be stale: with workloads that take a second to become
/// ready (as `flotilla sim` by default) and a revision whose Deployment never does, prod never applies the
/// revision dev has not run Synced and Healthy — not while prod itself still settles on the revision before,
/// not for a millisecond. Runs twice (B pushed while prod settles, and once all is Healthy);
/// `FLOTILLA_STRESS=N` runs it N times in a row.
@Test func laterStepsNeverApplyARevisionTheEarlierStepHasNotRunHealthy() async throws {
    let appSet = rollingAppSet.replacingOccurrences(of: "        - matchExpressions: [{key: env, operator: In, values: [staging]}]\n", with: "")
    let runs = Int(ProcessInfo.processInfo.environment["FLOTILLA_STRESS"] ?? "") ?? 2
    for run in 1...max(1, runs) {
        let fixture = try await InProcessHub(clusters: ["dev": true, "prod": true], files: web("registry.example.com/web:1"),
                                             appSet: appSet, failImage: "broken", readyAfter: 1)
        let hub = fixture.hub
        @Sendable func at(_ name: String) throws -> (sync: String, health: String, revision: String) {
            let s = try hub.store.application(named: name)?.status ?? .null
            return (s.value(at: ["sync", "status"])?.stringValue ?? "", s.value(at: ["health", "status"])?.stringValue ?? "",
                    s.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue ?? "")
        }
        // Odd runs push B the moment prod has synced A (its Deployment still becoming ready, as when a commit
        // lands during a rollout); even runs once both are Synced and Healthy.
        if run % 2 == 1 {
            try await eventually("prod synced (run \(run))", timeout: 30) { try !hub.store.history("web-prod").isEmpty }
        } else {
            try await eventually("both Synced and Healthy (run \(run))", timeout: 30) {
                try ["web-dev", "web-prod"].allSatisfy { try at($0).sync == "Synced" && at($0).health == "Healthy" }
            }
        }
        let good = try #require(try hub.store.history("web-prod").first?.revision)
        let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
        let broken = try repo.commit(files: web("registry.example.com/web:2-broken").mapValues { Data($0.utf8) }, message: "broken").hex
        hub.refreshRepositories()
        try await eventually("web-dev Degraded at the broken revision (run \(run))", timeout: 30) {
            try at("web-dev").health == "Degraded" && at("web-dev").revision == broken
        }
        // Prod decided after dev was seen Degraded (it reconciled since): it must not have applied the broken revision.
        let devSeen = try #require(hub.lastReconciled("web-dev"))
        try hub.refresh("web-prod")
        try await eventually("prod compared after dev turned Degraded (run \(run))", timeout: 30) { (hub.lastReconciled("web-prod") ?? "") > devSeen }
        let prodSyncs = try hub.store.history("web-prod").map(\.revision)
        #expect(prodSyncs == [good], "run \(run): prod synced \(prodSyncs), dev's broken revision is \(broken)")
        let rollout = try JSONParser.parse(try await fixture.call("GET", "/api/v1/applicationsets/web/rollout").body)
        #expect(rollout["phase"] == "Halted", "run \(run): \(rollout.serialized())")
        await fixture.stop()
    }
}

/// A commit that changes one directory rolls out at once: the other Applications of the earlier step are
/// compared at the new commit right away (not at their resync, here 10 minutes away), so the next step starts
/// as soon as the changed Application is Synced and Healthy where it runs first.
@Test func aCommitToOneDirectoryRollsOutAtOnce() async throws {
    let appSet = rollingAppSet.replacingOccurrences(of: "        - matchExpressions: [{key: env, operator: In, values: [staging]}]\n", with: "")
    var files = web("registry.example.com/web:1")
    files["apps/api/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {v: '1'}\n"
    let fixture = try await InProcessHub(clusters: ["dev": true, "prod": true], files: files, appSet: appSet) { $0.resync = 600 }
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func done(_ name: String, at revision: String? = nil) throws -> Bool {
        let s = try hub.store.application(named: name)?.status ?? .null
        return s.value(at: ["sync", "status"]) == "Synced" && s.value(at: ["health", "status"]) == "Healthy"
            && (revision == nil || s.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue == revision)
    }
    try await eventually("the first rollout", timeout: 30) { try ["web-dev", "api-dev", "web-prod", "api-prod"].allSatisfy { try done($0) } }
    var next = files
    next["apps/api/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\ndata: {v: '2'}\n"
    let repo = try GitRepositoryWriter(creatingAt: fixture.dir.appendingPathComponent("repo.git"))
    let commit = try repo.commit(files: next.mapValues { Data($0.utf8) }, message: "api v2").hex
    hub.refreshRepositories()
    try await eventually("api v2 in prod, long before any resync", timeout: 30) { try done("api-prod", at: commit) }
    let rollout = try JSONParser.parse(try await fixture.call("GET", "/api/v1/applicationsets/web/rollout").body)
    #expect(rollout["phase"] == "Complete" || rollout["phase"] == "Progressing", "\(rollout.serialized())")
}
