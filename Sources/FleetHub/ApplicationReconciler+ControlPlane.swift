import FleetAuth
import FleetDiff
import FleetGenerators
import FleetKube
import FleetManifests
import FleetModel
import FleetReconcile
import FleetSync
import Foundation

/// App-of-apps on the hub's own control plane (no cluster registered at `controlPlane.server`): the
/// Application's render is made of Applications, ApplicationSets and AppProjects, and syncing it means storing
/// them as the hub's own definitions, owned by it — created, replaced and pruned with its sync policy — never
/// applying them to a cluster. Its resources are those definitions; its health the worst of its children's.
extension ApplicationReconciler {
    func reconcileOnControlPlane(_ app: StoredApplication, plane: ControlPlane, request: ManualSync?) -> WorkerPool<WorkKey>.Outcome {
        let started = context.now()
        var result = ReconcileResult()
        do {
            let rendered = try renderForControlPlane(app.object, pinnedRevision: app.pinnedRevision)
            result.revisions = rendered.revisions
            let others = rendered.objects.filter { ControlPlane.kind(of: $0) == nil }
                .map { "\($0["kind"]?.stringValue ?? "?") \($0.value(at: ["metadata", "name"])?.stringValue ?? "?")" }
            if !others.isEmpty {
                throw ManifestError("\(others.count) object\(others.count == 1 ? " is" : "s are") rendered for the control plane (\(plane.server)), which is the hub "
                    + "alone here (no cluster is registered at that server): it takes Applications, ApplicationSets and AppProjects, and "
                    + others.prefix(5).joined(separator: ", ") + (others.count > 5 ? " and \(others.count - 5) more" : "")
                    + " need a cluster — register one at \(plane.server), or send them to another destination")
            }
            let outcome = try syncChildren(of: app, objects: rendered.objects, request: request, mayApply: true)
            if outcome.operation != nil { result.syncStartedAt = started.timeIntervalSince1970 }
            result.operation = outcome.operation
            result.failure = outcome.failures.isEmpty ? nil : .syncError
            result.message = outcome.failures.isEmpty ? (outcome.operation != nil ? "successfully synced (\(outcome.count) definitions)" : "")
                : outcome.failures.joined(separator: "; ")
            result.resources = outcome.resources
            result.warnings += outcome.warnings
            result.syncStatus = outcome.inSync ? .synced : .outOfSync
            result.health = HealthRules.aggregate(outcome.healths)
            result.desiredCount = outcome.count
        } catch {
            result.syncStatus = .unknown
            result.operation = request != nil ? .failed : nil
            result.failure = .comparisonError
            result.message = "ComparisonError: \(error)"
        }
        return finishOnControlPlane(app, result: result, plane: plane, request: request, started: started)
    }

    /// The definitions a sync on a registered control-plane cluster set aside, taken by the hub and folded into
    /// the Application's result: listed with its resources, in its sync status and health, its operation failed
    /// when one could not be written.
    func mergeChildren(of app: StoredApplication, into result: inout ReconcileResult, request: ManualSync?, mayApply: Bool) {
        do {
            let outcome = try syncChildren(of: app, objects: result.diverted, request: request, mayApply: mayApply)
            result.resources += outcome.resources
            result.warnings += outcome.warnings
            result.desiredCount += outcome.count
            if !outcome.inSync && result.syncStatus == .synced { result.syncStatus = .outOfSync }
            if !outcome.healths.isEmpty { result.health = HealthRules.aggregate([result.health] + outcome.healths) }
            switch outcome.operation {
            case .failed?:
                result.operation = .failed
                result.failure = result.failure ?? .syncError
                result.message = ([result.message] + outcome.failures).filter { !$0.isEmpty }.joined(separator: "; ")
            case .succeeded?:
                if result.operation == nil {
                    result.operation = .succeeded
                    result.message = "successfully synced (\(outcome.count) definitions)"
                }
            default:
                break
            }
        } catch {
            result.syncStatus = .unknown
            result.failure = .comparisonError
            result.message = "ComparisonError: \(error)"
        }
    }

    /// What syncing an Application's rendered control-plane definitions did, or found.
    struct ChildrenOutcome {
        var resources: [ReconcileResult.Resource] = []
        var inSync = true
        var healths: [Health] = []
        /// Set when definitions were written (or writing them failed).
        var operation: OperationPhase?
        var failures: [String] = []
        var warnings: [(type: ConditionType, message: String)] = []
        /// Definitions rendered.
        var count = 0
    }

    /// Takes the Applications, ApplicationSets and AppProjects `app` rendered for the control plane as the hub's
    /// own, owned by it: compared with those it owns now, and — under automated sync or a sync by hand, when
    /// `mayApply` — created, replaced and (with prune) deleted. Throws what makes the comparison impossible: a
    /// definition that does not read, a cycle, one rendered twice.
    func syncChildren(of app: StoredApplication, objects: [JSONValue], request: ManualSync?, mayApply: Bool) throws -> ChildrenOutcome {
        guard let definitions else { throw HubError(.unavailable, "the hub's definitions are not ready") }
        let name = app.name
        var desired: [(key: String, object: JSONValue)] = []
        var sets: [String: ApplicationSet] = [:]
        var renderedProjects: [Project] = []
        for object in objects {
            let kind = object["kind"]?.stringValue ?? "?", objectName = object.value(at: ["metadata", "name"])?.stringValue ?? "?"
            switch ControlPlane.kind(of: object) {
            case nil:
                continue
            case .appProject?:
                do { renderedProjects.append(try Project(object: object, file: "AppProject \(objectName)")) } catch {
                    throw ManifestError("AppProject \(objectName) rendered by \(name): \(error)")
                }
            case .application?, .applicationSet?:
                var child = object
                child.remove("status")
                child.set(path: ["metadata", "annotations", ControlPlane.parentAnnotation], .string(name))
                let set: ApplicationSet
                do { set = try ApplicationSet(child, file: "\(kind) \(objectName) rendered by \(name)") } catch {
                    throw ManifestError("\(error)")
                }
                desired.append((set.name, set.object))
                sets[set.name] = set
            }
        }
        let problems = ChildDefinitionsPlan.problems(desired: desired.map(\.key), lineage: definitions.lineage(of: name))
        if !problems.isEmpty { throw ManifestError(problems.joined(separator: "; ")) }

        var outcome = ChildrenOutcome()
        outcome.count = desired.count + renderedProjects.count
        renderedProjects.sort { $0.name < $1.name }
        let existing = definitions.children(of: name)
        if desired.isEmpty && renderedProjects.isEmpty && existing.isEmpty && projects.rendered(by: name).isEmpty { return outcome }
        let plan = ChildDefinitionsPlan(desired: desired, existing: existing.map { ($0.name, $0.object) })
        let projectsInSync = projects.rendered(by: name) == renderedProjects
        let automated = app.object.value(at: ["spec", "syncPolicy", "automated"])
        let mayPrune = request?.prune ?? (automated?["prune"]?.boolValue ?? false)
        var actions: [String: (ResourceAction, String)] = [:]
        // As for objects: automated sync never deletes every child of a render that came out empty.
        let wipes = request == nil && desired.isEmpty && renderedProjects.isEmpty && !existing.isEmpty
            && !(automated?["allowEmpty"]?.boolValue ?? false)
        if wipes {
            outcome.warnings.append((type: .syncError, message: "automated sync would delete every child Application (the sources render nothing): "
                + "not done without syncPolicy.automated.allowEmpty: true, as Argo CD; a sync by hand does it"))
        }
        let applying = mayApply && (automated != nil || request != nil) && !(plan.inSync && projectsInSync) && !wipes
        if applying {
            // Projects first: the children that name them are checked against them.
            for clash in projects.setRendered(renderedProjects, parent: name) {
                outcome.failures.append("AppProject \(clash) is defined elsewhere: not taken over")
            }
            for key in plan.create + plan.update {
                do {
                    _ = try definitions.putChild(sets[key]!, parent: name)
                    actions[key] = (plan.create.contains(key) ? .created : .configured, "")
                } catch {
                    actions[key] = (.failed, "\(error)")
                    outcome.failures.append("\(ChildDefinitionsPlan.title(key)): \(error)")
                }
            }
            if mayPrune {
                for key in plan.prune {
                    do {
                        try definitions.delete(key)
                        actions[key] = (.pruned, "")
                    } catch {
                        actions[key] = (.failed, "\(error)")
                        outcome.failures.append("\(ChildDefinitionsPlan.title(key)): \(error)")
                    }
                }
            }
            outcome.operation = outcome.failures.isEmpty ? .succeeded : .failed
        }
        // What holds now.
        let after = applying ? ChildDefinitionsPlan(desired: desired, existing: definitions.children(of: name).map { ($0.name, $0.object) }) : plan
        let afterProjects = projects.rendered(by: name) == renderedProjects
        for (key, object) in desired {
            let inSync = after.unchanged.contains(key)
            let health = childHealth(key, definitions: definitions)
            outcome.healths.append(health)
            let action = actions[key] ?? (.none, "")
            outcome.resources.append(.init(ref: Self.ref(object, key: key), inSync: inSync, health: health, action: action.0,
                                           message: action.1.isEmpty ? (inSync ? "" : "differs from the hub's definition") : action.1))
        }
        for key in after.prune {
            let message = actions[key]?.1 ?? (mayPrune ? "" : "requires pruning")
            outcome.resources.append(.init(ref: Self.ref(nil, key: key), inSync: false, health: Health(.unknown), action: actions[key]?.0 ?? .none,
                                           message: message.isEmpty ? "requires pruning" : message))
        }
        for project in renderedProjects {
            outcome.resources.append(.init(ref: ObjectRef(group: "argoproj.io", kind: "AppProject", namespace: nil, name: project.name), inSync: afterProjects,
                                           health: Health(.healthy), action: .none, message: afterProjects ? "" : "differs from the hub's project"))
        }
        outcome.inSync = after.inSync && afterProjects
        return outcome
    }

    /// The Applications and ApplicationSets this parent made are deleted with it when it cascades (Argo CD deletes
    /// a parent's resources, and so its child Applications, by its finalizer); its AppProjects go too.
    func pruneControlPlane(parent: String) -> WorkerPool<WorkKey>.Outcome {
        guard deleteChildren(of: parent) else { return .init(requeueAfter: 5) }
        if let failed = writeFailed({ try context.store.prunePerformed(application: parent, cluster: context.config.controlPlane.name) },
                                    "the end of a prune", application: parent) { return failed }
        return .init()
    }

    /// Deletes what `parent` made, unless it was created again meanwhile. False when one could not be deleted.
    func deleteChildren(of parent: String) -> Bool {
        guard let definitions else { return false }
        // Created again meanwhile: the children are its own again.
        let back = context.attempt(.storeRead, "read Application \(parent) before its prune", { try context.store.application(named: parent) }) ?? nil
        guard back == nil else { return true }
        var done = true
        for child in definitions.children(of: parent) {
            do { try definitions.delete(child.name) } catch {
                context.logger.error("cannot delete a child of \(parent); tried again in 5 s", metadata: ["child": "\(child.name)", "error": "\(error)"])
                done = false
            }
        }
        projects.setRendered([], parent: parent)
        return done
    }

    /// Each source rendered at its commit, as a sync renders it (the control plane has no cluster to ask for its
    /// version and APIs).
    private func renderForControlPlane(_ object: JSONValue, pinnedRevision: String?) throws -> (revisions: [String], objects: [JSONValue]) {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let namespace = object.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "argocd"
        let sources = HubContext.sources(of: object)
        if sources.isEmpty { throw ManifestError("the Application has no source") }
        var context = RenderContext(applicationName: name, namespace: namespace, references: RenderContext.references(in: sources))
        context.isCancelled = { [hub = self.context] in hub.isStopping }
        var revisions: [String] = [], objects: [JSONValue] = []
        for source in sources {
            guard let rendered = try manifests.load(source: source, revision: pinnedRevision, context: context) else { continue }
            revisions.append(rendered.commit)
            objects += rendered.objects
        }
        return (revisions, objects)
    }

    private func childHealth(_ key: String, definitions: ApplicationSetController) -> Health {
        if key.hasPrefix(ApplicationSet.standalonePrefix) {
            let child = String(key.dropFirst(ApplicationSet.standalonePrefix.count))
            guard let app = context.attempt(.storeRead, "read Application \(child) for its parent's health", { try context.store.application(named: child) }) ?? nil else {
                return Health(.missing, "not created")
            }
            let status = ApplicationStatus(app.status)
            return Health(status.health?.status ?? .unknown, status.health?.message ?? "")
        }
        guard let status = definitions.status(of: key) else { return Health(.progressing, "not generated yet") }
        return status.error.map { Health(.degraded, $0) } ?? Health(.healthy)
    }

    private static func ref(_ object: JSONValue?, key: String) -> ObjectRef {
        let standalone = key.hasPrefix(ApplicationSet.standalonePrefix)
        return ObjectRef(group: "argoproj.io", kind: standalone ? "Application" : "ApplicationSet",
                         namespace: object?.value(at: ["metadata", "namespace"])?.stringValue,
                         name: standalone ? String(key.dropFirst(ApplicationSet.standalonePrefix.count)) : key)
    }

    /// The status, history entry and event of a control-plane reconcile, in one transaction; looked at again soon
    /// while its children settle.
    private func finishOnControlPlane(_ app: StoredApplication, result: ReconcileResult, plane: ControlPlane, request: ManualSync?,
                                      started: Date) -> WorkerPool<WorkKey>.Outcome {
        let name = app.name
        let finished = context.now()
        var status = result.status
        status.reconciledAt = HubContext.timestamp(finished)
        status.cluster = plane.name
        var conditions: [ApplicationStatus.Condition] = []
        switch result.failure {
        case .comparisonError?: conditions.append(.init(.comparisonError, String(result.message.dropFirst("ComparisonError: ".count))))
        case .syncError?: conditions.append(.init(.syncError, result.message))
        default: break
        }
        for warning in result.warnings { conditions.append(.init(warning.type, warning.message)) }
        status.conditions = conditions
        if result.operation != nil { status.operationState?.startedAt = HubContext.timestamp(started) }
        var history: SyncEntry?
        var event: HubEvent?
        if let operation = result.operation {
            let resources = JSONCoding.value(result.resources.filter { $0.action != .none }.map { r in
                SyncRecord.Resource(kind: r.ref.kind, namespace: r.ref.namespace, name: r.ref.name, action: r.action.rawValue, message: r.message)
            })
            history = .init(application: name, revision: result.revisions.joined(separator: ","), startedAt: HubContext.timestamp(started),
                            finishedAt: HubContext.timestamp(finished), result: operation.rawValue, resources: resources, cluster: plane.name,
                            commit: commitInfo(app.object, revisions: result.revisions))
            let who = request.map { "manual sync by \($0.by)" } ?? "automated sync"
            let changed = result.resources.filter { $0.action != .none && $0.action != .unchanged }
            let counts = Dictionary(grouping: changed, by: \.action).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            var message = "\(who) of \(name) on the control plane at \(result.revisions.first?.prefix(12) ?? "?"): \(operation.rawValue)"
            if !counts.isEmpty { message += " (\(counts))" }
            if operation == .failed { message += ": " + String(result.message.prefix(300)) }
            event = HubEvent(.sync, cluster: plane.name, application: name, message: message)
        }
        let json = status.json
        var unchanged = json
        unchanged.set("reconciledAt", app.status["reconciledAt"] ?? .null)
        context.reconciledAt.withLockedValue { $0[name] = status.reconciledAt }
        let statusChanged = unchanged != app.status || result.operation != nil
        if statusChanged || history != nil || event != nil,
           let failed = writeFailed({ try context.store.finishReconcile(name, status: statusChanged ? json : nil, history: history, event: event) },
                                    "the reconcile's status, history and event", application: name) {
            return failed
        }
        context.metrics.record(app: name, status: status)
        // Children settle on their own reconciles: the parent looks again soon (0.5 s, doubling up to the resync
        // period) until they are Synced and Healthy.
        let settled = result.operation == nil && result.syncStatus == .synced && result.health.status == .healthy
        if settled || result.failure == .comparisonError {
            lock.withLock { _ = progressChecks.removeValue(forKey: name) }
            return .init(requeueAfter: jittered(context.config.resync))
        }
        let n = lock.withLock { () -> Int in
            defer { progressChecks[name, default: 0] += 1 }
            return progressChecks[name, default: 0]
        }
        return .init(requeueAfter: min(0.5 * Double(1 << min(n, 12)), jittered(context.config.resync)))
    }
}
