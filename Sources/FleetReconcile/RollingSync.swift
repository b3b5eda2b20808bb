import FleetModel

/// Argo CD's ApplicationSet `strategy: RollingSync`, read unchanged: the generated Applications are grouped into
/// steps by label selectors; a step's Applications sync only once every Application of the steps before it is
/// Synced and Healthy, at most `maxUpdate` of them at a time. Pure: the hub asks it, for one Application, whether
/// it may apply now.
public struct RollingSync: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var selector: LabelSelector
        /// How the step was written, for messages (`env In (dev)`).
        public var text: String
        public var maxUpdate: MaxUpdate
    }

    /// `maxUpdate`: a number, or a percentage of the step's Applications (rounded down, at least 1 unless 0%).
    public enum MaxUpdate: Sendable, Equatable {
        case count(Int)
        case percent(Int)

        public func limit(of size: Int) -> Int {
            switch self {
            case .count(let n): return n
            case .percent(let p): return p == 0 ? 0 : max(1, size * p / 100)
            }
        }
    }

    public var steps: [Step]

    /// The strategy of an ApplicationSet's `spec.strategy`: nil for none or `AllAtOnce`; a problem naming the field
    /// for what cannot be read (never ignored).
    public static func parse(_ strategy: JSONValue?) throws -> RollingSync? {
        guard let strategy, strategy != .null else { return nil }
        let type = strategy["type"]?.stringValue ?? "AllAtOnce"
        switch type {
        case "AllAtOnce": return nil
        case "RollingSync": break
        default: throw InputError(field: "spec.strategy.type", message: "'\(type)' is not a strategy (AllAtOnce or RollingSync)")
        }
        var steps: [Step] = []
        var problems: [FieldProblem] = []
        let written = strategy.value(at: ["rollingSync", "steps"])?.arrayValue ?? []
        if written.isEmpty { problems.append(FieldProblem(field: "spec.strategy.rollingSync.steps", message: "RollingSync needs at least one step")) }
        for (i, step) in written.enumerated() {
            let field = "spec.strategy.rollingSync.steps[\(i)]"
            var maxUpdate = MaxUpdate.percent(100)
            if let m = step["maxUpdate"] {
                if let n = m.intValue, n >= 0 {
                    maxUpdate = .count(n)
                } else if let text = m.stringValue, text.hasSuffix("%"), let p = Int(text.dropLast()), (0...100).contains(p) {
                    maxUpdate = .percent(p)
                } else if let text = m.stringValue, let n = Int(text), n >= 0 {
                    maxUpdate = .count(n)
                } else {
                    problems.append(FieldProblem(field: "\(field).maxUpdate", message: "must be a non-negative number or a percentage (25%)"))
                }
            }
            do {
                // Steps select by matchExpressions only, as in Argo CD.
                let selector = try LabelSelector(json: .object([("matchExpressions", step["matchExpressions"] ?? .array([]))]), field: field)
                steps.append(Step(selector: selector, text: selector.isEmpty ? "everything" : selector.description, maxUpdate: maxUpdate))
            } catch let error as InputError {
                problems += error.problems
            }
        }
        if !problems.isEmpty { throw InputError(problems) }
        return RollingSync(steps: steps)
    }

    /// What the planner needs of one Application.
    public struct App: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var sync: SyncStatus
        public var health: HealthStatus
        /// A sync of it is running now.
        public var syncing: Bool
        /// The revision it last synced.
        public var revision: String?
        /// The revision its health was assessed at after its last sync finished (`ApplicationStatus.Health.revision`);
        /// nil right after a sync, when the health it shows is not a fact about that revision yet.
        public var healthRevision: String?

        /// `healthRevision` defaults to `revision`: a health known to be assessed after the sync.
        public init(name: String, labels: [String: String], sync: SyncStatus, health: HealthStatus, syncing: Bool = false, revision: String? = nil,
                    healthRevision: String?? = .none) {
            self.name = name
            self.labels = labels
            self.sync = sync
            self.health = health
            self.syncing = syncing
            self.revision = revision
            self.healthRevision = healthRevision ?? revision
        }

        /// Its health was assessed at the revision it runs, after the sync that brought it there.
        var assessed: Bool { healthRevision == revision }
        /// Synced, and Healthy by an assessment taken after its sync (at `target`, when the rollout's revision is
        /// known): never a Healthy left over from the revision before.
        func done(at target: String?) -> Bool {
            !syncing && sync == .synced && health == .healthy && assessed && (target == nil || revision == target)
        }
        /// Updating: its sync runs, or it synced and its health is not known Healthy yet.
        var updating: Bool { syncing || (sync == .synced && (health == .progressing || (health == .healthy && !assessed))) }
    }

    /// Where one Application stands in the rollout (Argo CD's names).
    public enum Status: String, Sendable {
        /// Its step has not come yet (or the rollout is halted, or its step is full).
        case waiting = "Waiting"
        /// It may sync now.
        case pending = "Pending"
        /// It is syncing, or synced and not yet healthy.
        case progressing = "Progressing"
        case healthy = "Healthy"
    }

    public struct Plan: Sendable, Equatable {
        /// Each step's Applications, by name, in step order.
        public var steps: [[String]]
        /// Applications no step selects: never synced by the rollout.
        public var excluded: [String]
        public var status: [String: Status]
        /// The first step not yet complete (nil: all complete).
        public var activeStep: Int?
        /// A Degraded Application of the active step (or an earlier one): the steps after it wait until it is fixed.
        public var haltedBy: [String]

        public var isHalted: Bool { !haltedBy.isEmpty }

        /// Whether `name` may apply now, and if not, why.
        public func decision(for name: String, rollout: RollingSync) -> (mayApply: Bool, reason: String?) {
            if excluded.contains(name) { return (false, "it matches no step of the RollingSync strategy: sync it by hand") }
            guard let status = status[name] else { return (false, "it is not part of the rollout yet") }
            switch status {
            case .pending, .progressing, .healthy: return (true, nil)
            case .waiting:
                let mine = steps.firstIndex { $0.contains(name) } ?? 0
                if isHalted, let active = activeStep {
                    return (false, "the rollout is halted at step \(active + 1): \(haltedBy.prefix(3).joined(separator: ", ")) \(haltedBy.count == 1 ? "is" : "are") Degraded")
                }
                if let active = activeStep, mine > active {
                    return (false, "step \(mine + 1) (\(rollout.steps[mine].text)) waits for step \(active + 1) (\(rollout.steps[active].text)) to be Synced and Healthy")
                }
                return (false, "step \(mine + 1) updates at most \(rollout.steps[mine].maxUpdate.limit(of: steps[mine].count)) at a time")
            }
        }
    }

    /// The rollout's plan over an ApplicationSet's Applications. With `target` (the revision an Application is
    /// about to apply), a step counts as done only when its Applications run that revision: a new commit starts
    /// from the first step again, whatever the steps ran before.
    public func plan(_ apps: [App], target: String? = nil) -> Plan {
        var groups = Array(repeating: [App](), count: steps.count)
        var excluded: [String] = []
        for app in apps.sorted(by: { $0.name < $1.name }) {
            if let i = steps.firstIndex(where: { $0.selector.matches(app.labels) }) { groups[i].append(app) } else { excluded.append(app.name) }
        }
        var status: [String: Status] = [:]
        let active = groups.firstIndex { !$0.allSatisfy { $0.done(at: target) } }
        var halted: [String] = []
        for (i, group) in groups.enumerated() where active.map({ i <= $0 }) ?? true {
            halted += group.filter { $0.health == .degraded || ($0.health == .missing && $0.sync == .synced) }.map(\.name)
        }
        for (i, group) in groups.enumerated() {
            var started = group.filter(\.updating).count
            let limit = steps[i].maxUpdate.limit(of: group.count)
            for app in group {
                if app.done(at: target) { status[app.name] = .healthy; continue }
                // Updating at the target: it goes on. Updating at another revision (still settling from the one
                // before) gives it no right to apply the target: it takes its turn like any other.
                if app.updating && (target == nil || app.revision == target) { status[app.name] = .progressing; continue }
                // The active step's Applications may sync even when one of them is Degraded: that is how a fix
                // rolls out. The steps after it wait (the rollout is halted).
                guard let active, i == active, started < limit else {
                    // Before the active step, or the whole rollout complete: an Application that drifted may
                    // sync again (self-heal); after it, it waits.
                    if active == nil || i < active! { status[app.name] = .pending } else { status[app.name] = .waiting }
                    continue
                }
                status[app.name] = .pending
                started += 1
            }
        }
        return Plan(steps: groups.map { $0.map(\.name) }, excluded: excluded, status: status, activeStep: active, haltedBy: halted)
    }
}
