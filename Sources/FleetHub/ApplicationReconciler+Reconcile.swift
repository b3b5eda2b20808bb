import FleetKube
import FleetModel
import FleetPolicy
import FleetReconcile
import FleetStore
import FleetSync
import Foundation
import Logging

/// One reconcile of an Application, and one prune of what an Application left on a cluster. Both run on the
/// reconciler's workers.
extension ApplicationReconciler {
    func jittered(_ seconds: Double) -> Double { seconds * (1 + Double.random(in: 0..<0.1)) }

    /// Runs a store write; on an error, logs it with the Application and says to reconcile again in 5 s (nothing is
    /// dropped silently: the next reconcile writes what this one could not).
    func writeFailed(_ write: () throws -> Void, _ what: String, application name: String) -> WorkerPool<WorkKey>.Outcome? {
        do {
            try write()
            return nil
        } catch {
            context.logger.error("cannot write \(what); reconciled again in 5 s", metadata: ["application": "\(name)", "error": "\(error)"])
            return .init(requeueAfter: 5)
        }
    }

    /// The author and subject of the commit a sync applied: its first source's, when that source is a git
    /// repository (not a chart repository). Nil when it cannot be read (the history entry is written without it).
    func commitInfo(_ object: JSONValue, revisions: [String]) -> CommitInfo? {
        let sources = object.value(at: ["spec", "sources"])?.arrayValue ?? object.value(at: ["spec", "source"]).map { [$0] } ?? []
        guard let source = sources.first, source["chart"] == nil, let url = source["repoURL"]?.stringValue,
              let commit = revisions.first, commit.count == 40 else { return nil }
        return context.attempt(.git, "read commit \(commit.prefix(12)) of \(url)", metadata: ["repository": "\(url)"]) {
            try manifests.git.commitInfo(repoURL: url, commit: commit)
        } ?? nil
    }

    /// Seconds until a sync that has waited `waited` seconds on a wave (its resources becoming healthy, its hooks
    /// finishing) is looked at again.
    static func runningSyncInterval(waited: Double) -> Double { min(10, max(1, waited / 2)) }

    /// Ends `app`'s running sync as Failed because `by` asked (`terminate-op`): history, a Sync event, and the
    /// revisions kept so that automated sync does not start them again. Nil when no sync runs any more.
    func terminate(_ app: StoredApplication, by: String) -> WorkerPool<WorkKey>.Outcome? {
        guard let value = app.status.value(at: ["operationState", "progress"]),
              // A progress this version cannot read: there is no sync to terminate, say so (the caller gets nil).
              let progress = try? JSONCoding.decode(SyncProgress.self, from: value) else { return nil }
        let now = context.now()
        var status = ApplicationStatus(app.status)
        let waited = status.operationState?.message ?? ""
        status.operationState = .init(phase: .failed, message: "terminated by \(by) (\(waited)); nothing applied so far is undone",
                                      terminated: progress.revisions)
        status.reconciledAt = HubContext.timestamp(now)
        let revision = progress.revisions.joined(separator: ",")
        let history = SyncEntry(application: app.name, revision: revision, startedAt: HubContext.timestamp(Date(timeIntervalSince1970: progress.startedAt)),
                                finishedAt: HubContext.timestamp(now), result: "Failed", resources: .array([]), cluster: app.activeCluster,
                                commit: commitInfo(app.object, revisions: progress.revisions))
        let event = HubEvent(.sync, cluster: app.activeCluster, application: app.name,
                             message: "sync of \(app.name) at \(revision.prefix(12)) terminated by \(by) while \(waited)")
        do {
            try context.store.finishReconcile(app.name, status: status.json, history: history, event: event)
        } catch {
            context.logger.error("terminate-op: cannot record the end of the sync; tried again in 1 s", metadata: ["application": "\(app.name)", "error": "\(error)"])
            lock.withLock { terminations[app.name] = by }
            return .init(requeueAfter: 1)
        }
        context.logger.info("sync terminated", metadata: ["application": "\(app.name)", "by": "\(by)"])
        return .init(requeueAfter: jittered(context.config.resync))
    }

    func reconcile(_ name: String) -> WorkerPool<WorkKey>.Outcome {
        let resync = context.config.resync
        let store = context.store
        if unchangedSinceLastComparison(name) {
            context.reconciledAt.withLockedValue { $0[name] = HubContext.timestamp(context.now()) }
            context.metrics.observeSkippedReconcile()
            return .init(requeueAfter: jittered(resync))
        }
        // What the comparison depends on, read before it: a change meanwhile keeps it from being remembered.
        let writesSeen = memo.writesSeen(name), revisionsSeen = revisions.generation, projectsSeen = projects.generation
        let policiesSeen = context.policyGeneration
        let app: StoredApplication
        do {
            // Deleted meanwhile: nothing to do.
            guard let found = try store.application(named: name) else { return .init() }
            app = found
        } catch {
            // A store that cannot be read now: tried again soon, never dropped from the resync cycle.
            context.logger.error("reconcile: cannot read the Application from the store; retried in 5 s", metadata: ["application": "\(name)", "error": "\(error)"])
            return .init(requeueAfter: 5)
        }
        if app.placement?.phase == .unplaced { return .init() }   // queued again when it is placed
        // A parent of Applications on the hub's own control plane (no cluster there): the generation holder keeps it.
        if app.activeCluster == context.config.controlPlane.name,
           let clusters = context.attempt(.registryRead, "read the registry for a control-plane Application", { try context.clusterStore.clusters() }),
           let plane = context.hubOnlyControlPlane(clusters) {
            guard context.shard.holdsGeneration else { return .init() }
            let request = lock.withLock { manual.removeValue(forKey: name) }
            return reconcileOnControlPlane(app, plane: plane, request: request)
        }
        // Another replica holds its cluster: it is queued again here if this replica takes the cluster over.
        if !context.shard.holds(cluster: app.activeCluster) { return .init() }
        let request = lock.withLock { manual.removeValue(forKey: name) }
        if let by = lock.withLock({ terminations.removeValue(forKey: name) }), let terminated = terminate(app, by: by) { return terminated }
        // try? is right here: a destination that is not registered (or has no client) is the InvalidDestination condition below.
        guard let cluster = app.activeCluster, let client = try? connections.client(for: cluster) else {
            var status = ApplicationStatus(app.status)
            status.conditions = [.init(.invalidDestination, "destination is not a registered cluster")]
            if let failed = writeFailed({ try store.setStatus(name, status.json) }, "the InvalidDestination status", application: name) { return failed }
            return .init(requeueAfter: jittered(resync))
        }
        // The project's rules: sources and destination refuse the sync; a closed sync window only compares.
        if let problem = projects.placementProblem(app.object, on: client.cluster) {
            var status = ApplicationStatus(app.status)
            status.conditions = [.init(.projectViolation, problem)]
            status.sync = .init(status: .unknown)
            if let failed = writeFailed({ try store.setStatus(name, status.json) }, "the ProjectViolation status", application: name) { return failed }
            context.metrics.record(app: name, status: status)
            return .init(requeueAfter: jittered(resync))
        }
        let project = projects.project(of: app.object)
        let windowProblem = project?.syncWindowProblem(application: name, namespace: app.object.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "default",
                                                       cluster: cluster, manual: request != nil)
        let started = context.now()
        // A sync that waits on its waves goes on from where the last reconcile (on this hub or before a restart)
        // left it.
        // A progress this version cannot read starts the sync afresh (applying again is safe).
        let running: SyncProgress? = app.status.value(at: ["operationState", "progress"]).flatMap { try? JSONCoding.decode(SyncProgress.self, from: $0) }
        // A sync the last run of the hub began but did not finish (it was killed mid-apply): its outcome is recorded now.
        let interrupted = ApplicationStatus.operationPhase(of: app.status) == .running && running == nil
        let startedAt = HubContext.timestamp(started)
        // What the policies said, kept in the status for the compliance report.
        let policyResult = Box<ApplicationStatus.PolicyResult?>(nil)
        var syncer = syncer(client)
        // Native here (no placement, or back on its primary): an object a failed-over copy took on this cluster
        // first (both created it on an empty cluster) is taken back; the copy is then covered by this Application.
        if app.placement == nil || app.placement?.phase == .failingBack && app.placement?.primary == cluster {
            syncer.mayTakeOver = { [store] owner in
                // try? is right here: an owner that cannot be read is not known to yield, so its objects stay its own.
                guard let other = try? store.application(named: owner), let placement = other.placement else { return false }
                return placement.phase == .failedOver && placement.active == cluster && placement.primary != cluster
            }
        }
        // App-of-apps where the control plane is a registered cluster (the hub in a pod): Argo CD's own kinds it
        // renders are the hub's definitions, never objects on the cluster.
        let divertsToHub = context.config.controlPlane.isDestination(app.object)
        if divertsToHub { syncer.divert = { ControlPlane.kind(of: $0) != nil } }
        var result = syncer.reconcile(
            app.object, force: request != nil && windowProblem == nil, pinnedRevision: app.pinnedRevision, dryRun: windowProblem != nil,
            objectProblem: { [cluster = client.cluster] group, kind, namespace in
                if let problem = project?.resourceProblem(group: group, kind: kind, namespaced: namespace != nil) { return problem }
                return cluster.scopeProblem(group: group, kind: kind, namespace: namespace)
            },
            policyCheck: context.policies.isEmpty ? nil : { [policies = context.policies, labels = client.cluster.labels] objects in
                let target = PolicyTarget(project: Hub.projectName(app), clusterLabels: labels,
                                          namespace: app.object.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "default")
                let outcome = PolicyEngine.evaluate(policies, objects: objects, target: target)
                policyResult.set(ApplicationStatus.PolicyResult(checked: outcome.checked, failing: Set(outcome.violations.map(\.object)).count,
                                                                violating: outcome.violatingObjects.map { .init(policy: $0.policy, objects: $0.objects) },
                                                                findings: outcome.violations.prefix(20).map { "\($0.policy)/\($0.rule.rawValue): \($0.object) \($0.field)" }))
                return PolicyVerdict(denied: outcome.denied.isEmpty ? nil : PolicyOutcome.summary(outcome.denied),
                                     warnings: outcome.warnings.isEmpty ? "" : PolicyOutcome.summary(outcome.warnings))
            },
            // Its ApplicationSet's rollout (RollingSync): a later step only compares until the earlier ones run
            // the same revision, Synced and Healthy. A revision whose sync was terminated is not synced again
            // automatically.
            holdBack: { [manual = request != nil] revisions in
                if !manual, let stopped = app.status.value(at: ["operationState", "terminated"])?.arrayValue?.compactMap(\.stringValue), stopped == revisions {
                    return (.syncTerminated, "the sync of \(revisions.first?.prefix(12) ?? "this revision") was terminated: automated sync does not start it again (sync by hand, or push a new revision)")
                }
                // A promotion's later stage applies only what was promoted to it (its pin), even by hand.
                return (self.promotionWait(app) ?? self.rolloutWait(app, manual: manual, revisions: revisions)).map { (.rolloutWaiting, $0) }
            },
            willApply: { [store] revisions in
                // Written before the cluster changes: a hub killed from here on finds it on its next start.
                var running = ApplicationStatus(app.status)
                let target = String(revisions.first?.prefix(12) ?? "?")
                running.operationState = .init(phase: .running, message: "syncing to " + target, startedAt: startedAt)
                // Not written: a hub killed during this sync will not know it began (the sync itself goes on).
                _ = self.writeFailed({ try store.setStatus(name, running.json) }, "the Running status before a sync", application: name)
            },
            resume: running)
        // A sync its rollout let start is counted as running until its status is written.
        defer { context.rollouts.release(app.appSet, name) }
        let finished = context.now()
        context.metrics.observeReconcile(seconds: finished.timeIntervalSince(started), operation: result.operation?.rawValue)
        if result.clusterUnreachable {
            hold(cluster, error: result.message)
            if let request { lock.withLock { manual[name] = request } }
            return .init(requeueAfter: 0.5)
        }
        if divertsToHub { mergeChildren(of: app, into: &result, request: request, mayApply: windowProblem == nil && result.failure == nil) }
        var status = result.status
        // A terminated sync's revisions stay marked while git holds them and nothing else ran.
        if result.operation == nil, let stopped = app.status.value(at: ["operationState", "terminated"])?.arrayValue?.compactMap(\.stringValue),
           stopped == result.revisions {
            status.operationState = ApplicationStatus(app.status).operationState
        }
        let syncStarted = result.syncStartedAt.map { Date(timeIntervalSince1970: $0) } ?? started
        // The operation's start, as Argo CD's operationState.startedAt: a sync that waited on its waves (across
        // reconciles, or a restart) began when its first wave was applied.
        if result.operation != nil {
            status.operationState?.startedAt = HubContext.timestamp(syncStarted)
        }
        // The hooks of the last sync stay shown until the next sync runs (as Argo CD's operationState does).
        if result.operation == nil, result.hooks.isEmpty, let previous = app.status["hooks"], previous != .null {
            // Only shown: hooks this version cannot read are left out of the status, nothing else depends on them.
            status.hooks = try? JSONCoding.decode([ApplicationStatus.Hook].self, from: previous)
        }
        status.reconciledAt = HubContext.timestamp(finished)
        status.cluster = cluster
        status.policy = policyResult.get()
        var conditions: [ApplicationStatus.Condition] = []
        if let windowProblem { conditions.append(.init(.syncWindow, windowProblem + ": compared only, nothing applied")) }
        switch result.failure {
        case .comparisonError?: conditions.append(.init(.comparisonError, String(result.message.dropFirst(result.message.hasPrefix("ComparisonError: ") ? "ComparisonError: ".count : 0))))
        case .projectViolation?: conditions.append(.init(.projectViolation, String(result.message.dropFirst("ProjectViolation: ".count))))
        case .policyViolation?: conditions.append(.init(.policyViolation, String(result.message.dropFirst("PolicyViolation: ".count))))
        case .clusterUnreadable?, .syncError?, nil:
            if result.operation == .failed { conditions.append(.init(.syncError, result.message)) }
        }
        if let pin = app.pinnedRevision {
            status.pinnedRevision = pin
            conditions.append(.init(.pinned, "pinned to \(pin) by a rollback: automated sync stays on this revision until `flotilla app unpin \(name)`"))
        }
        for warning in result.warnings { conditions.append(.init(warning.type, warning.message)) }
        let covered = placementAfterReconcile(app, on: cluster, result: result, status: &status, conditions: &conditions)
        status.conditions = conditions
        var history: SyncEntry?
        if let operation = result.operation?.rawValue, result.operation != .running, result.syncStatus != .unknown || result.operation == .failed {
            let limit = app.object.value(at: ["spec", "revisionHistoryLimit"]).flatMap { if case .int(let n) = $0 { return n } else { return nil } } ?? 10
            let resources = JSONCoding.value(result.resources.filter { $0.action != .none }.map { r in
                SyncRecord.Resource(kind: r.ref.kind, namespace: r.ref.namespace, name: r.ref.name, action: r.action.rawValue, message: r.message)
            })
            history = .init(application: name, revision: result.revisions.joined(separator: ","), startedAt: HubContext.timestamp(syncStarted),
                            finishedAt: HubContext.timestamp(finished), result: operation, resources: resources, limit: limit,
                            cluster: cluster, commit: commitInfo(app.object, revisions: result.revisions))
        }
        var event: HubEvent?
        if (result.operation != nil && result.operation != .running) || request != nil || interrupted {
            // The audit log: who (automation or the account that asked), what, when, the outcome.
            let idle: String = interrupted ? "found applied (the sync was interrupted by a stop of the hub)" : "nothing to apply, already Synced"
            let operation: String = result.operation?.rawValue ?? idle
            let changed = result.resources.filter { $0.action != .none && $0.action != .unchanged }
            let counts: String = Dictionary(grouping: changed, by: \.action).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            let who: String = request.map { "manual sync by \($0.by)" } ?? "automated sync"
            let revision = String(result.revisions.first?.prefix(12) ?? "?")
            var message = "\(who) of \(name) on \(cluster) at \(revision): \(operation)"
            if !counts.isEmpty { message += " (\(counts))" }
            if result.operation == .failed { message += ": " + String(result.message.prefix(300)) }
            event = HubEvent(.sync, cluster: cluster, application: name, message: message)
        }
        // A resync that found nothing new writes nothing: only the time of the reconcile changes, and that
        // is kept in memory (the API shows the newer of the two). History, event and status go in one transaction:
        // a crash keeps all of them or none.
        // The status is coded once: compared with the stored one (with the stored time) and written as it is.
        let json = status.json
        var unchanged = json
        unchanged.set("reconciledAt", app.status["reconciledAt"] ?? .null)
        context.reconciledAt.withLockedValue { $0[name] = status.reconciledAt }
        let statusChanged = unchanged != app.status || result.operation != nil || interrupted
        if statusChanged || history != nil || event != nil,
           let failed = writeFailed({ try store.finishReconcile(name, status: statusChanged ? json : nil, history: history, event: event) },
                                    "the reconcile's status, history and event", application: name) {
            context.rollouts.release(app.appSet, name)
            return failed
        }
        context.metrics.record(app: name, status: status)
        // The status is written: a claim this reconcile's rollout decision made ends before others look again.
        context.rollouts.release(app.appSet, name)
        // Done (Healthy by an assessment after the sync) at a revision it was not done at before — just synced,
        // or found already running a new commit that did not change it: the rollout's next Applications look again.
        if let done = Self.doneRevision(json), done != Self.doneRevision(app.status) {
            advanceRollout(after: app)
        }
        if !divertsToHub, let live = result.liveStamp, request == nil, windowProblem == nil, !result.warnings.contains(where: { $0.type == .rolloutWaiting }), project?.syncWindows.isEmpty ?? true, !interrupted,
           result.health.status != .progressing, app.placement?.pruneAfterHealthy == nil, Self.comparisonIsRepeatable(app.object) {
            memo.put(name, .init(cluster: cluster, live: live, revisions: revisionsSeen, projects: projectsSeen, policies: policiesSeen),
                     comparedAt: started.timeIntervalSinceReferenceDate, seen: writesSeen, ownWrites: statusChanged ? 1 : 0)
        }

        // A sync waiting on a wave: looked at again soon, holding no worker meanwhile — every second at first,
        // less often the longer the wave takes (half the wait so far, at most 10 s).
        if result.operation == .running {
            let waited = result.progress.map { Date().timeIntervalSince1970 - $0.stepStartedAt } ?? 0
            return .init(requeueAfter: Self.runningSyncInterval(waited: waited))
        }
        let automated = app.object.value(at: ["spec", "syncPolicy", "automated"]) != nil
        if result.operation == .failed && !covered && (automated || request != nil) {
            let attempt = lock.withLock { () -> Int in attempts[name, default: 0] += 1; return attempts[name]! }
            // A retry block that does not parse was refused when the Application was generated; default here.
            let policy = (try? RetryPolicy(retry: app.object.value(at: ["spec", "syncPolicy", "retry"]))) ?? .default
            if let delay = policy.delay(beforeRetry: attempt) { return .init(requeueAfter: delay) }
        } else {
            lock.withLock { _ = attempts.removeValue(forKey: name) }
        }
        // Just synced and not yet Synced and Healthy, or workloads still progressing: look again soon (0.1 s,
        // doubling) rather than after a full resync period, so health is reported as soon as it settles. A sync
        // that left everything Synced and Healthy has nothing left to settle.
        // A health that gates something (a rollout step, a promotion, a move) is assessed again right after a
        // sync: the sync's own answers may still carry the status of the revision before.
        let settled = result.syncStatus == .synced && result.health.status == .healthy && !healthGatesSomething(app)
        if (result.operation == .succeeded && !settled) || result.health.status == .progressing {
            let n = lock.withLock { () -> Int in
                defer { progressChecks[name, default: 0] += 1 }
                return progressChecks[name, default: 0]
            }
            return .init(requeueAfter: min(0.1 * Double(1 << min(n, 12)), jittered(resync)))
        }
        lock.withLock { _ = progressChecks.removeValue(forKey: name) }
        return .init(requeueAfter: jittered(resync))
    }

    /// Whether the Application's last comparison found nothing to do and nothing it depended on changed since
    /// (see `ReconcileMemo`); never for a manual sync.
    func unchangedSinceLastComparison(_ name: String) -> Bool {
        guard let entry = memo.entry(name), lock.withLock({ manual[name] == nil }) else { return false }
        let seen = entry.fingerprint
        // try? is right here: no client: the memo does not hold and the reconcile runs.
        guard let client = try? connections.client(for: seen.cluster),
              let stamp = client.cache?.stamp(application: name, kinds: seen.live.kinds) else { return false }
        let now = ReconcileMemo.Fingerprint(cluster: seen.cluster, live: LiveStamp(kinds: seen.live.kinds, stamp: stamp),
                                            revisions: revisions.generation, projects: projects.generation, policies: context.policyGeneration)
        return entry.holds(now, now: context.now().timeIntervalSinceReferenceDate, maxAge: memo.maxAge)
    }

    /// Whether rendering the Application's sources again gives the same manifests while their git revisions
    /// resolve to the same commits: sources from git only (a chart repository's index and remote value files can
    /// change without a commit).
    static func comparisonIsRepeatable(_ app: JSONValue) -> Bool {
        HubContext.sources(of: app).allSatisfy { source in
            guard source["chart"] == nil else { return false }
            let files = source.value(at: ["helm", "valueFiles"])?.arrayValue?.compactMap(\.stringValue) ?? []
            return !files.contains { $0.contains("://") }
        }
    }

    func prune(app: String, cluster: String) -> WorkerPool<WorkKey>.Outcome {
        // A parent on the hub's own control plane leaves definitions, not objects.
        if cluster == context.config.controlPlane.name,
           let clusters = context.attempt(.registryRead, "read the registry for a control-plane prune", { try context.clusterStore.clusters() }),
           context.hubOnlyControlPlane(clusters) != nil {
            return context.shard.holdsGeneration ? pruneControlPlane(parent: app) : .init()
        }
        if !context.shard.holds(cluster: cluster) { return .init() }   // the cluster's holder prunes it
        // The Application came back on this cluster: its resources are its own again.
        // Unreadable, the prune goes on: it removes only what the Application left there.
        let meta: Logger.Metadata = ["application": "\(app)", "cluster": "\(cluster)"]
        if let current = context.attempt(.storeRead, "read Application \(app) before its prune", metadata: meta, { try context.store.application(named: app) }) ?? nil,
           current.activeCluster == cluster {
            // A prune record not cleared is cleared at the next start or prune round (pruning again is a no-op).
            _ = context.attempt(.storeWrite, "clear the prune record of \(app) on \(cluster)", metadata: meta) { try context.store.prunePerformed(application: app, cluster: cluster) }
            return .init()
        }
        // The control plane as a registered cluster: what the Application made of Argo CD's kinds is the hub's.
        let plane = context.config.controlPlane
        if let registered = context.attempt(.registryRead, "read cluster \(cluster) before a prune", metadata: meta, { try context.clusterStore.cluster(named: cluster) }) ?? nil,
           registered.name == plane.name || registered.server == Cluster.normalizeServer(plane.server), !deleteChildren(of: app) {
            return .init(requeueAfter: 5)
        }
        // try? is right here: a cluster gone from the registry has nothing left to prune.
        guard let client = try? connections.client(for: cluster) else {
            // The cluster is gone from the registry. A record not cleared is cleared at the next prune round.
            _ = context.attempt(.storeWrite, "clear the prune record of \(app) on \(cluster)", metadata: meta) { try context.store.prunePerformed(application: app, cluster: cluster) }
            return .init()
        }
        do {
            // Objects that say `Delete=false` stay (a volume claim whose data outlives the Application).
            let syncer = Syncer(client: client, application: app)
            let owned = try syncer.inventory()
            let result = try syncer.prune(owned.keys.filter { !SyncOptions.of(object: owned[$0]).contains("Delete=false") })
            if !result.failed.isEmpty { throw HubError(.internalError, result.failed.map { "\($0.0): \($0.1)" }.joined(separator: "; ")) }
            try context.store.prunePerformed(application: app, cluster: cluster)
            context.logger.info("pruned \(result.pruned.count) resources of Application \(app) from \(cluster)")
            // The event is for Applications that still exist; unreadable means no event.
            if context.attempt(.storeRead, "read Application \(app) after its prune", metadata: meta, { try context.store.application(named: app) }) ?? nil != nil {
                events.record(.pruned, cluster: cluster, application: app, "\(result.pruned.count) resources of \(app) pruned from \(cluster)")
            }
            return .init()
        } catch {
            if let kube = error as? KubeError, [.unreachable, .timeout, .tls].contains(kube.code) { hold(cluster, error: "\(kube)") }
            context.logger.warning("prune of \(app) on \(cluster): \(error)")
            return .init(requeueAfter: 5)
        }
    }

    /// After a reconcile on `cluster`: records the placement in the status, detects a sibling that already
    /// serves the objects there, and completes a move once the Application is Healthy where it runs now
    /// (pruning the copy it left, never before). Returns whether the Application is covered by a sibling.
    func placementAfterReconcile(_ app: StoredApplication, on cluster: String, result: ReconcileResult,
                                 status: inout ApplicationStatus, conditions: inout [ApplicationStatus.Condition]) -> Bool {
        guard var placement = app.placement else { return false }
        let owners = Set(result.foreignOwners.values)
        let covered = placement.phase == .failedOver && result.desiredCount > 0 && result.foreignOwners.count == result.desiredCount && owners.count == 1
        if covered, let sibling = owners.first {
            conditions.removeAll { $0.type == .syncError }
            conditions.append(.init(.coveredBy, "on \(cluster) the same objects belong to Application \(sibling), which serves them; they are left to it"))
            if placement.coveredBy != sibling {
                let before = placement
                placement.coveredBy = sibling
                // A compare-and-set that lost to another decision (false) leaves that decision in place.
                _ = context.attempt(.storeWrite, "record that \(app.name) is covered by \(sibling)", metadata: ["application": "\(app.name)", "cluster": "\(cluster)"]) {
                    try context.store.setPlacement(app.name, expected: before, to: placement, event: HubEvent(.covered, cluster: cluster, application: app.name,
                                                                                                         message: "\(app.name) on \(cluster) is covered by \(sibling)"))
                }
            }
        } else if placement.phase == .failedOver && !result.foreignOwners.isEmpty {
            conditions.append(.init(.ownershipClash, "on \(cluster) some objects belong to other Applications (\(owners.sorted().joined(separator: ", "))): they are not overwritten"))
        }
        status.placement = placement
        if placement.pruneAfterHealthy != nil && app.object.value(at: ["spec", "syncPolicy", "automated"]) == nil {
            conditions.append(.init(.moveWaiting, "automated sync is off: sync it on \(cluster) (`flotilla app sync \(app.name)`); its copy on \(placement.pruneAfterHealthy!) stays until it is Synced and Healthy there"))
        }
        // Healthy as assessed after the sync, never by the sync's own answers (which may carry the status
        // of the revision before): a move completes on a reconcile that applied nothing.
        let healthy = result.health.status == .healthy && result.operation == nil && (result.syncStatus == .synced || covered)
        guard healthy, let leftover = placement.pruneAfterHealthy else { return covered }
        // Only if nothing changed the placement while this reconcile ran.
        // Unreadable, the move completes at the next reconcile instead of now.
        guard let fresh = context.attempt(.storeRead, "read Application \(app.name) to complete its move", metadata: ["application": "\(app.name)"],
                                          { try context.store.application(named: app.name) }) ?? nil,
              fresh.placement == placement else { return covered }
        switch placement.phase {
        case .failingBack:
            change(fresh, to: nil, prune: [leftover], event: HubEvent(.failedBack, cluster: placement.primary, application: app.name,
                                                                     message: "\(app.name) is Healthy on \(placement.primary) again; its copy on \(leftover) is pruned"))
            status.placement = nil
        case .failedOver:
            placement.pruneAfterHealthy = nil
            change(fresh, to: placement, prune: [leftover], event: HubEvent(.moveCompleted, cluster: cluster, application: app.name,
                                                                           message: "\(app.name) is Healthy on \(cluster); its copy on \(leftover) is pruned"))
        case .unplaced:
            break
        }
        return covered
    }
}
