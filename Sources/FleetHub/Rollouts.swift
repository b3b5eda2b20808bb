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
        let rollout = (try? RollingSync.parse(set?.strategy)) ?? nil
        let rollback = set?.object.value(at: ["metadata", "annotations", Self.rollbackAnnotation])?.stringValue == "true"
        let entry = (now, rollout, rollback)
        lock.withLock { cache[appSet] = entry }
        return entry
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
    func rolloutPlan(of appSet: String) throws -> (RollingSync, RollingSync.Plan)? {
        guard let rollout = context.rollouts.rollout(of: appSet, now: context.now()) else { return nil }
        return (rollout, try ApplicationReconciler.plan(rollout, appSet: appSet, context: context))
    }
}

extension ApplicationReconciler {
    /// The rollout's plan over `appSet`'s Applications, from the dashboard's board (no store read).
    static func plan(_ rollout: RollingSync, appSet: String, target: String? = nil, context: HubContext) throws -> RollingSync.Plan {
        let apps = try context.board.read(context.store) { board, _ in
            board.rows.filter { $0.appSet == appSet }.map {
                RollingSync.App(name: $0.name, labels: $0.labels, sync: $0.sync, health: $0.health, syncing: $0.operation == "Running", revision: $0.revision)
            }
        }
        return rollout.plan(apps, target: target)
    }

    /// Why `app` may not apply `revisions` now under its ApplicationSet's rollout (nil: it may, or there is no
    /// rollout). A manual sync is not held (as in Argo CD).
    func rolloutWait(_ app: StoredApplication, manual: Bool, revisions: [String]) -> String? {
        guard !manual, let rollout = context.rollouts.rollout(of: app.appSet, now: context.now()) else { return nil }
        guard let plan = try? Self.plan(rollout, appSet: app.appSet, target: revisions.first, context: context) else { return "the rollout's state could not be read" }
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
        let (mayApply, reason) = plan.decision(for: app.name, rollout: rollout)
        return mayApply ? nil : reason
    }

    /// Pins a Degraded Application of a halted rollout to the last revision it synced successfully before the
    /// failing one (`flotilla.io/rollback-on-failure`). It stays pinned until unpinned, after the fix.
    func rollBackToLastGood(_ name: String, appSet: String) {
        guard let app = (try? context.store.application(named: name)) ?? nil, app.pinnedRevision == nil,
              let history = try? context.store.history(name) else { return }
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

    /// After `app` became Synced and Healthy: the next Applications of its rollout are looked at now, not at their
    /// next resync.
    func advanceRollout(after app: StoredApplication) {
        guard context.rollouts.rollout(of: app.appSet, now: context.now()) != nil else { return }
        requeueRollout(app.appSet, except: app.name)
    }

    /// Queues the Applications of `appSet` that are not Synced and Healthy.
    func requeueRollout(_ appSet: String, except name: String) {
        let waiting = (try? context.board.read(context.store) { board, _ in
            board.rows.filter { $0.appSet == appSet && !($0.sync == "Synced" && $0.health == "Healthy") }.map { ($0.name, $0.runningOn ?? "") }
        }) ?? []
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
