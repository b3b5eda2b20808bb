import FleetAPI
import FleetDashboard
import FleetGenerators
import FleetModel
import FleetReconcile
import Foundation

/// The ApplicationSets' rollout strategies (Argo CD's `strategy: RollingSync`), as the reconciler asks for them:
/// parsed once and kept for a few seconds (another replica may change an ApplicationSet), forgotten when this hub
/// generates or deletes one. `lock` guards everything.
final class RolloutBook: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [String: (at: Date, rollout: RollingSync?, rollbackOnFailure: Bool)] = [:]
    private var lookup: (@Sendable (String) -> ApplicationSet?)?
    /// ApplicationSets whose rollout was announced halted (the event is recorded once per halt).
    private var halted: Set<String> = []
    /// Per ApplicationSet, the Applications a decision let sync and whose reconcile has not finished: counted as
    /// syncing by the next decisions (`maxUpdate`, and an earlier step never "done" while it is being changed).
    private var claims: [String: [String: String]] = [:]
    /// One lock per ApplicationSet: its rollout's decisions are taken one at a time, each on what the store
    /// holds then and the claims of the decisions before it — never two from the same snapshot.
    private var deciders: [String: NSLock] = [:]
    static let keep: TimeInterval = 10

    func setLookup(_ body: @escaping @Sendable (String) -> ApplicationSet?) { lock.withLock { lookup = body } }

    func forget(_ appSet: String) { _ = lock.withLock { cache.removeValue(forKey: appSet) } }

    static let rollbackAnnotation = "flotilla.io/rollback-on-failure"

    func rollout(of appSet: String, now: Date) -> RollingSync? { entry(of: appSet, now: now).rollout }

    /// Whether the ApplicationSet asks to roll a halted step back (`flotilla.io/rollback-on-failure: "true"`).
    func rollsBack(_ appSet: String, now: Date) -> Bool { entry(of: appSet, now: now).rollbackOnFailure }

    private func entry(of appSet: String, now: Date) -> (at: Date, rollout: RollingSync?, rollbackOnFailure: Bool) {
        if let kept = lock.withLock({ cache[appSet] }), now.timeIntervalSince(kept.at) < Self.keep { return kept }
        let set = lock.withLock { lookup }?(appSet)
        // A strategy that does not parse was refused when the ApplicationSet was generated.
        // try? is right here: a strategy that does not parse was refused when the ApplicationSet was generated.
        let rollout = (try? RollingSync.parse(set?.strategy)) ?? nil
        let rollback = set?.object.value(at: ["metadata", "annotations", Self.rollbackAnnotation])?.stringValue == "true"
        let entry = (now, rollout, rollback)
        lock.withLock { cache[appSet] = entry }
        return entry
    }

    /// Runs one decision of `appSet`'s rollout with the claims standing; `body` returns its answer and the
    /// Application it lets sync (claimed until `release`).
    func decide<T>(_ appSet: String, _ body: (_ claimed: [String: String]) throws -> (T, claim: (app: String, revision: String)?)) rethrows -> T {
        let decider = lock.withLock { () -> NSLock in
            if let d = deciders[appSet] { return d }
            let d = NSLock()
            deciders[appSet] = d
            return d
        }
        return try decider.withLock {
            let (answer, claim) = try body(lock.withLock { claims[appSet] ?? [:] })
            if let claim { lock.withLock { claims[appSet, default: [:]][claim.app] = claim.revision } }
            return answer
        }
    }

    /// The reconcile a decision let sync has finished (its status is written): its claim ends.
    func release(_ appSet: String, _ app: String) {
        lock.withLock { _ = claims[appSet]?.removeValue(forKey: app) }
    }

    /// Records whether `appSet`'s rollout is halted; true when it just became so (announce it).
    func noteHalted(_ appSet: String, _ isHalted: Bool) -> Bool {
        lock.withLock {
            if isHalted { return halted.insert(appSet).inserted }
            halted.remove(appSet)
            return false
        }
    }
}

extension Hub {
    /// The rollout of an ApplicationSet: its plan over the Applications it generated (`nil` plan: AllAtOnce).
    /// Shown for the revision most of its Applications compare with (the one a rollout is carrying out), so
    /// that the API says what the Applications' own decisions say.
    func rolloutPlan(of appSet: String) throws -> (RollingSync, RollingSync.Plan)? {
        guard let rollout = context.rollouts.rollout(of: appSet, now: context.now()) else { return nil }
        var counts: [String: Int] = [:]
        for app in try store.applications(appSet: appSet) {
            if let revision = app.status.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue { counts[revision, default: 0] += 1 }
        }
        let target = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        return (rollout, try ApplicationReconciler.plan(rollout, appSet: appSet, target: target, context: context))
    }
}

extension ApplicationReconciler {
    /// The rollout's plan over `appSet`'s Applications, from the store: each one's sync, its revision, and its
    /// health only as assessed after its last sync (`ApplicationStatus.Health.revision`). `claimed` Applications
    /// count as syncing.
    static func plan(_ rollout: RollingSync, appSet: String, target: String? = nil, context: HubContext,
                     claimed: [String: String] = [:]) throws -> RollingSync.Plan {
        let apps = try context.store.applications(appSet: appSet).map { stored -> RollingSync.App in
            let s = stored.status
            var labels: [String: String] = [:]
            for (k, v) in stored.object.value(at: ["metadata", "labels"])?.objectValue ?? [] { labels[k] = v.stringValue }
            let healthRevision = s.value(at: ["health", "revision"])?.stringValue?.split(separator: ",").first.map(String.init)
            return RollingSync.App(name: stored.name, labels: labels, sync: ApplicationStatus.syncStatus(of: s), health: ApplicationStatus.healthStatus(of: s),
                                   syncing: ApplicationStatus.operationPhase(of: s) == .running || claimed[stored.name] != nil,
                                   revision: s.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue, healthRevision: .some(healthRevision))
        }
        return rollout.plan(apps, target: target)
    }

    /// Why `app` may not apply `revisions` now under its ApplicationSet's rollout (nil: it may, or there is no
    /// rollout). A manual sync is not held (as in Argo CD). Decided under the ApplicationSet's rollout lock, on
    /// the store as it is now and the syncs other decisions let start; a sync it lets start is claimed until
    /// its reconcile ends (`RolloutBook.release`).
    func rolloutWait(_ app: StoredApplication, manual: Bool, revisions: [String]) -> String? {
        guard !manual, let rollout = context.rollouts.rollout(of: app.appSet, now: context.now()) else { return nil }
        let target = revisions.first
        // Already running the target, Synced and assessed Healthy since: nothing for the rollout to hold (a
        // drift it finds is healed, as in every step before the active one).
        if Self.isDone(app.status), app.status.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue == target { return nil }
        let decided: (plan: RollingSync.Plan, reason: String?)? = context.rollouts.decide(app.appSet) { claimed in
            var others = claimed
            others.removeValue(forKey: app.name)
            // An unreadable store holds the sync back ("the rollout's state could not be read").
            guard let plan = context.attempt(.storeRead, "read the rollout of \(app.appSet)", metadata: ["applicationset": "\(app.appSet)", "application": "\(app.name)"],
                                             { try Self.plan(rollout, appSet: app.appSet, target: target, context: context, claimed: others) }) else {
                return (nil, nil)
            }
            let (mayApply, reason) = plan.decision(for: app.name, rollout: rollout)
            let claim = mayApply && plan.status[app.name] != .healthy ? (app.name, target ?? "") : nil
            return ((plan, mayApply ? nil : reason), claim)
        }
        guard let (plan, reason) = decided else { return "the rollout's state could not be read" }
        if context.rollouts.noteHalted(app.appSet, plan.isHalted) {
            events.record(.rolloutHalted, application: app.name,
                          "ApplicationSet \(app.appSet)'s rollout is halted at step \((plan.activeStep ?? 0) + 1): \(plan.haltedBy.joined(separator: ", ")) "
                              + "\(plan.haltedBy.count == 1 ? "is" : "are") Degraded; later steps wait until it is fixed in git (or synced by hand)")
            // The waiting Applications say why they wait now, not at their next resync.
            requeueRollout(app.appSet, except: app.name)
            if context.rollouts.rollsBack(app.appSet, now: context.now()) {
                for name in plan.haltedBy { rollBackToLastGood(name, appSet: app.appSet) }
            }
        }
        return reason
    }

    /// Pins a Degraded Application of a halted rollout to the last revision it synced successfully before the
    /// failing one (`flotilla.io/rollback-on-failure`). It stays pinned until unpinned, after the fix.
    func rollBackToLastGood(_ name: String, appSet: String) {
        // No rollback without the Application and its history; the halt stays and is shown.
        guard let app = context.attempt(.storeRead, "read Application \(name) to roll it back", { try context.store.application(named: name) }) ?? nil,
              app.pinnedRevision == nil,
              let history = context.attempt(.storeRead, "read the history of \(name) to roll it back", { try context.store.history(name) }) else { return }
        let failing = app.status.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue
        guard let good = history.sorted(by: { $0.id > $1.id }).first(where: { $0.result == "Succeeded" && $0.revision.split(separator: ",").first.map(String.init) != failing }) else {
            events.record(.rolloutHalted, application: name, "\(name) has no earlier successful revision to roll back to: it stays as it is")
            return
        }
        do {
            let revision = try rollback(name, to: good.id)
            events.record(.rolloutHalted, application: name,
                          "\(name) rolled back to \(revision.prefix(12)) (history \(good.id)) by ApplicationSet \(appSet)'s rollback-on-failure; pinned until `flotilla app unpin \(name)`")
        } catch {
            context.logger.error("rollback of \(name) after a halted rollout: \(error)")
        }
    }

    /// Synced, and Healthy by an assessment taken after its last sync, at the revision it runs.
    static func isDone(_ status: JSONValue) -> Bool { doneRevision(status) != nil }

    /// The revisions at which the status is done (Synced, Healthy by an assessment after its sync), or nil.
    static func doneRevision(_ status: JSONValue) -> String? {
        guard ApplicationStatus.syncStatus(of: status) == .synced, ApplicationStatus.healthStatus(of: status) == .healthy,
              let assessed = status.value(at: ["health", "revision"])?.stringValue else { return nil }
        return assessed == (status.value(at: ["sync", "revisions"])?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",") ? assessed : nil
    }

    /// Whether `app`'s health after a sync gates something (its rollout, its promotion, its move): then a sync
    /// is followed at once by a reconcile that assesses it.
    func healthGatesSomething(_ app: StoredApplication) -> Bool {
        app.placement?.pruneAfterHealthy != nil || context.rollouts.rollout(of: app.appSet, now: context.now()) != nil
            || context.promotions.contains { $0.applicationSet == app.appSet }
    }

    /// After `app` became Synced and Healthy: the next Applications of its rollout are looked at now, not at their
    /// next resync.
    func advanceRollout(after app: StoredApplication) {
        guard context.rollouts.rollout(of: app.appSet, now: context.now()) != nil else { return }
        requeueRollout(app.appSet, except: app.name)
    }

    /// Queues the Applications of `appSet` that are not Synced and Healthy (as the board shows them; a queued
    /// one that may not sync yet only compares).
    func requeueRollout(_ appSet: String, except name: String) {
        // Requeueing early only; the waiting Applications look again at their resync.
        let waiting = context.attempt(.storeRead, "read the rollout of \(appSet) to queue its next step", metadata: ["applicationset": "\(appSet)"]) {
            try context.board.read(context.store) { board, _ in
                board.rows.filter { $0.appSet == appSet && !($0.sync == .synced && $0.health == .healthy) }.map { ($0.name, $0.runningOn ?? "") }
            }
        } ?? []
        for (other, cluster) in waiting where other != name { pool.add(.app(other), cluster: cluster) }
    }
}

extension HubAPI {
    func rollout(_ name: String) throws -> APIResponse {
        guard hub.applicationSet(named: name) != nil else { throw HubError(.notFound, "ApplicationSet '\(name)' not found") }
        guard let (rollout, plan) = try hub.rolloutPlan(of: name) else {
            return .json(RolloutInfo(name: name, strategy: "AllAtOnce", activeStep: nil, phase: "Complete", haltedBy: [], steps: [], excluded: []))
        }
        let steps = zip(rollout.steps, plan.steps).enumerated().map { i, pair in
            let (step, names) = pair
            let max: String = switch step.maxUpdate {
            case .count(let n): "\(n)"
            case .percent(let p): "\(p)%"
            }
            return RolloutInfo.Step(step: i + 1, selector: step.text, maxUpdate: max,
                                    applications: names.map { RolloutInfo.Member(name: $0, status: plan.status[$0]?.rawValue ?? "Waiting") })
        }
        let phase = plan.isHalted ? "Halted" : plan.activeStep == nil ? "Complete" : "Progressing"
        return .json(RolloutInfo(name: name, strategy: "RollingSync", activeStep: plan.activeStep.map { $0 + 1 }, phase: phase, haltedBy: plan.haltedBy,
                                 steps: steps, excluded: plan.excluded))
    }
}
