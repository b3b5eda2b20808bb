import FleetConfig
import FleetKube
import FleetModel
import FleetReconcile
import FleetStore
import NIOConcurrencyHelpers
import Foundation
import Logging
import ServiceLifecycle

/// Cluster health, failover to secondaries and failback, and the operator commands on clusters.
///
/// Every probe round (on `queue`, every `failover.probeInterval`) records each cluster's answer in its
/// `ClusterHealth`; state changes are written with an event. Then the placement of every Application whose
/// primary is down or drained, or that is not on its primary, is decided by `PlacementPlanner` and changed
/// through the reconciler (compare-and-set, in one transaction with its event and the prunes it makes due).
///
/// Owns the monitor queue: probe rounds and placement decisions run there, one at a time, and the storm alarm is
/// only read and written there (checked by `dispatchPrecondition`).
final class FailoverController: Service, @unchecked Sendable {
    static let failoverAnnotation = "flotilla.io/failover"
    static let failbackAnnotation = "flotilla.io/failback"

    let context: HubContext
    let connections: ClusterConnections
    let reconciler: ApplicationReconciler
    let appSets: ApplicationSetController
    let projects: ProjectBook
    let events: EventLog
    /// Probe rounds and placement decisions run here, one at a time.
    let queue = DispatchQueue(label: "flotilla.hub.monitor")
    private let stopped = NIOLockedValueBox(false)
    /// When each cluster was last probed early because its watch failed (`watchLost`).
    private let earlyProbes = NIOLockedValueBox([String: Double]())
    /// Whether too many clusters are down for failover to start (owned by `queue`).
    private var stormAlarm = false

    init(context: HubContext, connections: ClusterConnections, reconciler: ApplicationReconciler, appSets: ApplicationSetController,
         projects: ProjectBook, events: EventLog) {
        self.context = context
        self.connections = connections
        self.reconciler = reconciler
        self.appSets = appSets
        self.projects = projects
        self.events = events
        connections.onWatchLost { [weak self] cluster in self?.watchLost(cluster) }
    }

    /// Reads every cluster's last known state (at start).
    func load() throws { connections.load(try context.store.clusterStates()) }

    /// Stops acting: probes and placement decisions queued now do nothing.
    func stop() { stopped.withLockedValue { $0 = true } }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    /// Once the hub has loaded: a probe round every `failover.probeInterval` on the hub's clock, until the shutdown.
    func run() async throws {
        defer { stop() }
        guard await context.loaded.wait() else { return }
        try await repeatEvery(context.config.failover.probeInterval, clock: context.clock, on: queue) { [weak self] in self?.probeClusters() }
    }

    var probePolicy: ProbePolicy {
        ProbePolicy(failureThreshold: context.config.failover.failureThreshold, recoveryThreshold: context.config.failover.recoveryThreshold)
    }

    var failoverPolicy: FailoverPolicy {
        FailoverPolicy(enabled: context.config.failover.enabled, maxFailoverPercent: context.config.failover.maxFailoverPercent,
                       holdDown: context.config.failover.holdDown, autoFailback: context.config.failover.failback == .auto)
    }

    /// A cluster's watch connection failed: probe it now rather than at the next round, at most once per probe
    /// interval and only while it is Healthy, so that detection starts sooner while the thresholds keep their
    /// meaning (Suspect and Unreachable still take the configured number of failed probes).
    func watchLost(_ cluster: String) {
        queue.async { [weak self] in
            guard let self, !self.isStopped else { return }
            let now = self.context.seconds
            let due = self.earlyProbes.withLockedValue { last -> Bool in
                if let at = last[cluster], now - at < self.context.config.failover.probeInterval { return false }
                last[cluster] = now
                return true
            }
            guard due, self.context.shard.holds(cluster: cluster), self.connections.state(cluster).health.state == .healthy,
                  // A cluster removed meanwhile is not probed; the next round probes the registry.
                  let found = self.context.attempt(.registryRead, "read cluster \(cluster) for an early probe", metadata: ["cluster": "\(cluster)"],
                                                   { try self.context.clusterStore.cluster(named: cluster) }) ?? nil else { return }
            let client = self.connections.probeClient(found)
            let problem: String?
            do { problem = try client.ready() ? nil : "/readyz answered: not ready" } catch { problem = "\(error)" }
            self.record(probeOf: cluster, error: problem, at: self.context.seconds)
            if problem != nil { self.evaluatePlacements() }
        }
    }

    /// One probe round: every cluster's `/readyz` at once, then placements.
    func probeClusters() {
        // No probe round without the registry; the next tick tries again.
        guard var clusters = context.attempt(.registryRead, "read the registry for a probe round", { try context.clusterStore.clusters() }), !isStopped else { return }
        // Replicas: each probes the clusters it holds; the others' states arrive through the database.
        clusters = clusters.filter { context.shard.holds(cluster: $0.name) }
        let clients = clusters.map(connections.probeClient)
        let answers = ConcurrentRunner.map(clients, width: 32) { client -> String? in
            do { return try client.ready() ? nil : "/readyz answered: not ready" } catch { return "\(error)" }
        }
        let now = context.seconds
        for (cluster, answer) in zip(clusters, answers) {
            let error: String? = switch answer {
            case .success(let e): e
            case .failure(let e): "\(e)"
            }
            record(probeOf: cluster.name, error: error, at: now)
        }
        evaluatePlacements()
    }

    /// Records one probe outcome; a change of state is written with its event.
    func record(probeOf cluster: String, error: String?, at now: Double) {
        let policy = probePolicy
        let (changed, state) = connections.update(cluster) { state in
            state.health.record(success: error == nil, error: error, at: now, policy: policy)
        }
        if error == nil {
            if state.health.state == .healthy || state.health.consecutiveSuccesses == 1 { reconciler.release(cluster) }
        } else if state.health.state == .unreachable {
            reconciler.hold(cluster, error: error ?? "Unreachable")
        }
        if changed == .unreachable {
            // Requests already waiting on the dead cluster end now instead of at their timeout, so the
            // Applications they hold can move.
            connections.abortRequests(to: cluster)
        }
        // A cluster that stops answering probes may have stopped sending watch events too (a frozen API server
        // keeps its connections open and silent): its cache is not served as truth until it answers again.
        if changed == .suspect || changed == .unreachable { connections.suspendCache(of: cluster) }
        if changed == .healthy { connections.resumeCache(of: cluster) }
        guard let changed else { return }
        let message = switch changed {
        case .healthy: "cluster \(cluster) is Healthy"
        case .suspect: "cluster \(cluster) is Suspect: \(error ?? "")"
        case .unreachable: "cluster \(cluster) is Unreachable after \(state.health.consecutiveFailures) failed probes: \(error ?? "")"
        }
        let event = HubEvent(.clusterStateChanged, cluster: cluster, message: message, payload: ClusterStateChange(state: changed))
        // The store announces the event once it is committed (Hub.init registers `announce`).
        do { try context.store.setClusterState(cluster, state, event: event) } catch { context.logger.error("cannot record the state of \(cluster): \(error)") }
        if changed == .unreachable { markUnknown(on: cluster, because: error ?? "no answer") }
        // Answering again: what runs there is compared now (the Unknown above is replaced at once, not at the resync).
        if changed == .healthy, context.shard.holds(cluster: cluster) {
            let targets = context.attempt(.storeRead, "read the Applications of \(cluster), which answers again", metadata: ["cluster": "\(cluster)"],
                                          { try context.store.applicationTargets() }) ?? []
            for target in targets where target.activeCluster == cluster { reconciler.pool.add(.app(target.name), cluster: cluster) }
        }
    }

    /// The Applications running on a cluster that stopped answering: what runs there cannot be compared, so
    /// their sync and health are Unknown with a ComparisonError naming the cluster (as Argo CD shows them), never
    /// the Synced and Healthy of before. Those that fail over get their new place's status from the move; the
    /// others keep this until a reconcile on the cluster, once it answers, writes what it finds.
    func markUnknown(on cluster: String, because error: String) {
        guard context.shard.holds(cluster: cluster) else { return }
        let targets = context.attempt(.storeRead, "read the Applications on unreachable cluster \(cluster)", metadata: ["cluster": "\(cluster)"],
                                      { try context.store.applicationTargets() }) ?? []
        for target in targets where target.activeCluster == cluster {
            let meta: Logger.Metadata = ["application": "\(target.name)", "cluster": "\(cluster)"]
            guard let app = context.attempt(.storeRead, "read Application \(target.name)", metadata: meta, { try context.store.application(named: target.name) }) ?? nil,
                  app.activeCluster == cluster else { continue }
            var status = ApplicationStatus(app.status)
            status.sync = .init(status: .unknown, revisions: status.sync?.revisions ?? [])
            status.health = .init(status: .unknown, message: "cluster \(cluster) is Unreachable")
            var conditions = (status.conditions ?? []).filter { $0.type != .comparisonError }
            conditions.append(.init(.comparisonError, "cluster \(cluster) is Unreachable: \(error)"))
            status.conditions = conditions
            if context.attempt(.storeWrite, "write the Unknown status of \(target.name)", metadata: meta, { try context.store.setStatus(target.name, status.json) }) != nil {
                context.metrics.record(app: target.name, status: status)
            }
        }
    }

    // MARK: - Placement

    /// The planner's view of the registry.
    func placementClusters() throws -> [String: PlacementCluster] {
        let clusters = try context.clusterStore.clusters()
        let states = connections.allStates()
        let now = context.seconds
        var result: [String: PlacementCluster] = [:]
        for c in clusters {
            let s = states[c.name] ?? ClusterOperationalState()
            result[c.name] = PlacementCluster(secondary: c.secondary, state: s.health.state, stateAge: now - s.health.since,
                                              cordoned: s.cordoned || s.drained, drained: s.drained)
        }
        return result
    }

    func failoverAllowed(_ app: StoredApplication) -> Bool {
        if app.object.value(at: ["metadata", "annotations", Self.failoverAnnotation])?.stringValue == "false" { return false }
        if let set = appSets.named(app.appSet),
           set.object.value(at: ["metadata", "annotations", Self.failoverAnnotation])?.stringValue == "false" { return false }
        return true
    }

    func autoFailback(_ app: StoredApplication) -> Bool {
        switch app.object.value(at: ["metadata", "annotations", Self.failbackAnnotation])?.stringValue {
        case "manual": return false
        case "auto": return true
        default: return context.config.failover.failback == .auto
        }
    }

    /// Decides and changes placements. `failback` names primaries an operator asked to fail back to.
    /// Runs on `monitorQueue` (one decision round at a time).
    func evaluatePlacements(failback: Set<String> = []) {
        // What the round decides from: read whole, or no decision this round (a store that cannot be read must
        // not look like a fleet without Applications). The next probe round tries again.
        let clusters: [String: PlacementCluster]
        var candidates: [StoredApplication] = []
        let registered: [Cluster]
        do {
            clusters = try placementClusters()
            registered = try context.clusterStore.clusters()
            candidates = try context.store.placedApplications()
            let affected = Set(clusters.filter { $0.value.state == .unreachable || $0.value.drained }.map(\.key))
            for cluster in affected.union(failback).sorted() {
                candidates += try context.store.applications(cluster: cluster).filter { $0.placement == nil }
            }
        } catch {
            context.logger.error("failover: cannot read the store; no placement decided this round (tried again at the next probe)",
                                 metadata: ["error": "\(error)"])
            return
        }
        let policy = failoverPolicy
        let storm = PlacementPlanner.stormActive(clusters: clusters, policy: policy)
        dispatchPrecondition(condition: .onQueue(queue))
        let alarm: Bool? = storm == stormAlarm ? nil : storm
        stormAlarm = storm
        // Replicas: the storm is the fleet's, announced once, by the holder of the generation lease.
        if let alarm, context.shard.holdsGeneration {
            let down = clusters.filter { $0.value.state == .unreachable }.map(\.key).sorted()
            events.record(alarm ? .failoverHeld : .failoverResumed,
                          alarm ? "\(down.count) of \(clusters.count) clusters are Unreachable (\(down.joined(separator: ", "))), above maxFailoverPercent \(Int(policy.maxFailoverPercent)) %: no failover starts until fewer are down (a fault on the hub's side looks like this)"
                        : "fewer clusters are Unreachable: failover resumes")
        }
        for app in candidates {
            // The holder of an Application's primary cluster decides where it runs.
            guard let primary = app.cluster, context.shard.holds(cluster: primary) else { continue }
            // Failover may only move an Application where its project lets it deploy.
            let allowed = Set(registered.filter { projects.placementProblem(app.object, on: $0) == nil }.map(\.name))
            let subject = PlacementSubject(primary: primary, placement: app.placement, failoverAllowed: failoverAllowed(app),
                                           autoFailback: autoFailback(app), failbackRequested: failback.contains(primary), allowedTargets: allowed)
            apply(PlacementPlanner.decide(subject, clusters: clusters, policy: policy, storm: storm), to: app)
        }
    }

    private func apply(_ action: PlacementAction, to app: StoredApplication) {
        guard let primary = app.cluster else { return }
        let since = HubContext.timestamp(context.now())
        // A copy left on a secondary that no longer serves (it failed too) can go at once: only the serving
        // copy waits for its successor to be Healthy. The primary's copy is never pruned here.
        func stale(keeping keep: String?) -> [String] {
            guard let left = app.placement?.pruneAfterHealthy, left != primary, left != keep else { return [] }
            return [left]
        }
        switch action {
        case .none:
            return
        case .move(let target, let reason, let pruneAfter):
            let placement = Placement(primary: primary, active: target, phase: .failedOver, reason: reason, since: since, pruneAfterHealthy: pruneAfter)
            let from = app.activeCluster ?? primary
            reconciler.change(app, to: placement, prune: stale(keeping: target), event: HubEvent(.failedOver, cluster: primary, application: app.name,
                                                       message: "\(app.name) moves from \(from) to \(target): \(reason)"))
        case .unplace(let reason):
            if app.placement?.phase == .unplaced { return }
            let placement = Placement(primary: primary, active: nil, phase: .unplaced, reason: reason, since: since)
            reconciler.change(app, to: placement, event: HubEvent(.unplaced, cluster: primary, application: app.name,
                                                       message: "\(app.name) is Unplaced: \(reason); nothing was deleted from \(primary)"))
        case .failBack:
            guard let current = app.placement, let secondary = current.active else { return }
            let placement = Placement(primary: primary, active: primary, phase: .failingBack, reason: "cluster \(primary) is Healthy again",
                                      since: since, pruneAfterHealthy: secondary)
            reconciler.change(app, to: placement, prune: stale(keeping: secondary), event: HubEvent(.failbackStarted, cluster: primary, application: app.name,
                                                       message: "\(app.name) syncs on \(primary) again; its copy on \(secondary) stays until it is Healthy there"))
        case .clear:
            reconciler.change(app, to: nil, event: HubEvent(.placed, cluster: primary, application: app.name, message: "\(app.name) is back on \(primary)"))
        }
    }

    // MARK: - Operator commands

    func clusterState(_ name: String) -> ClusterOperationalState { connections.state(name) }

    func requireCluster(_ name: String) throws {
        guard try context.clusterStore.cluster(named: name) != nil else { throw HubError(.notFound, "cluster '\(name)' not found") }
    }

    private func setFlags(_ name: String, type: HubEventType, message: String, _ change: (inout ClusterOperationalState) -> Void) throws {
        try requireCluster(name)
        let (_, state) = connections.update(name, change)
        try context.store.setClusterState(name, state, event: HubEvent(type, cluster: name, message: message))
    }

    /// No new placements on the cluster; what runs there stays.
    func cordon(_ name: String) throws {
        try setFlags(name, type: .cordoned, message: "cluster \(name) is cordoned: no Application moves onto it") { $0.cordoned = true }
    }

    /// Accepts placements again; drained Applications fail back (auto) after the move is safe.
    func uncordon(_ name: String) throws {
        try setFlags(name, type: .uncordoned, message: "cluster \(name) is uncordoned") { $0.cordoned = false; $0.drained = false }
        queue.sync { evaluatePlacements() }
    }

    /// Planned maintenance: every Application that may fail over moves to its secondary now; its copy on the
    /// drained cluster is pruned once the secondary serves it.
    func drain(_ name: String) throws {
        try setFlags(name, type: .drained, message: "cluster \(name) is drained: its Applications move to their secondaries") {
            $0.cordoned = true
            $0.drained = true
        }
        queue.sync { evaluatePlacements() }
    }

    /// Fails back now every Application whose primary is `name` (for `failback: manual`, or to skip the
    /// hold-down). The cluster must be Healthy and not cordoned.
    func failback(_ name: String) throws -> Int {
        try requireCluster(name)
        let state = clusterState(name)
        guard state.health.state == .healthy else { throw HubError(.conflict, "cluster \(name) is \(state.health.state.rawValue): failback needs it Healthy") }
        guard !state.cordoned else { throw HubError(.conflict, "cluster \(name) is cordoned: uncordon it first") }
        // A count for a log line only.
        let waiting = (context.attempt(.storeRead, "count the Applications failed over from \(name)", { try context.store.placedApplications() }) ?? []).filter { $0.cluster == name && $0.placement?.phase == .failedOver }.count
        queue.sync { evaluatePlacements(failback: [name]) }
        return waiting
    }
}
