import FleetConfig
import FleetKube
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation

/// Cluster health, failover to secondaries and failback, operator commands and the event log.
///
/// Every probe round (on `monitorQueue`, every `failover.probeInterval`) records each cluster's answer in
/// its `ClusterHealth`; state changes are written with an event. Then the placement of every Application
/// whose primary is down or drained, or that is not on its primary, is decided by `PlacementPlanner` and
/// changed in one transaction with its event (and, when a move completes, the prune it makes due).
extension Hub {
    public static let failoverAnnotation = "flotilla.io/failover"
    public static let failbackAnnotation = "flotilla.io/failback"

    var probePolicy: ProbePolicy {
        ProbePolicy(failureThreshold: config.failover.failureThreshold, recoveryThreshold: config.failover.recoveryThreshold)
    }

    var failoverPolicy: FailoverPolicy {
        FailoverPolicy(enabled: config.failover.enabled, maxFailoverPercent: config.failover.maxFailoverPercent,
                       holdDown: config.failover.holdDown, autoFailback: config.failover.failback == "auto")
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: - Probes

    private func probeClient(_ cluster: Cluster) -> KubeClient {
        lock.withLock {
            if let hit = probeClients[cluster.name], hit.0 == cluster { return hit.1 }
            let client = KubeClient(cluster: cluster, timeout: config.failover.probeTimeout)
            probeClients[cluster.name] = (cluster, client)
            return client
        }
    }

    /// One probe round: every cluster's `/readyz` at once, then placements.
    func probeClusters() {
        guard let clusters = try? clusterStore.clusters(), !lock.withLock({ stopped }) else { return }
        let clients = clusters.map(probeClient)
        let answers = ConcurrentRunner.map(clients, width: 32) { client -> String? in
            do { return try client.ready() ? nil : "/readyz answered: not ready" } catch { return "\(error)" }
        }
        let now = Self.now()
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
        let (changed, state) = lock.withLock { () -> (ClusterState?, ClusterOperationalState) in
            var state = clusterStates[cluster] ?? ClusterOperationalState(health: ClusterHealth(state: .healthy, since: now))
            let changed = state.health.record(success: error == nil, error: error, at: now, policy: probePolicy)
            clusterStates[cluster] = state
            return (changed, state)
        }
        if error == nil {
            if state.health.state == .healthy || state.health.consecutiveSuccesses == 1 { markAnswering(cluster) }
        } else if state.health.state == .unreachable {
            pool.block(cluster: cluster)
        }
        if changed == .unreachable {
            // Requests already waiting on the dead cluster end now instead of at their timeout, so the
            // Applications they hold can move.
            let dropped = lock.withLock { clients.removeValue(forKey: cluster) }
            dropped?.1.abortAll()
        }
        guard let changed else { return }
        let message = switch changed {
        case .healthy: "cluster \(cluster) is Healthy"
        case .suspect: "cluster \(cluster) is Suspect: \(error ?? "")"
        case .unreachable: "cluster \(cluster) is Unreachable after \(state.health.consecutiveFailures) failed probes: \(error ?? "")"
        }
        let event = HubEvent(type: "ClusterStateChanged", cluster: cluster, message: message)
        // The store announces the event once it is committed (Hub.init registers `announce`).
        do { try store.setClusterState(cluster, state, event: event) } catch { logger.error("cannot record the state of \(cluster): \(error)") }
    }

    // MARK: - Placement

    /// The planner's view of the registry.
    func placementClusters() -> [String: PlacementCluster] {
        let clusters = (try? clusterStore.clusters()) ?? []
        let states = lock.withLock { clusterStates }
        let now = Self.now()
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
        if let set = applicationSet(named: app.appSet),
           set.object.value(at: ["metadata", "annotations", Self.failoverAnnotation])?.stringValue == "false" { return false }
        return true
    }

    func autoFailback(_ app: StoredApplication) -> Bool {
        switch app.object.value(at: ["metadata", "annotations", Self.failbackAnnotation])?.stringValue {
        case "manual": return false
        case "auto": return true
        default: return config.failover.failback == "auto"
        }
    }

    /// Decides and changes placements. `failback` names primaries an operator asked to fail back to.
    /// Runs on `monitorQueue` (one decision round at a time).
    func evaluatePlacements(failback: Set<String> = []) {
        let clusters = placementClusters()
        let policy = failoverPolicy
        let storm = PlacementPlanner.stormActive(clusters: clusters, policy: policy)
        let alarm = lock.withLock { () -> Bool? in
            defer { stormAlarm = storm }
            return storm == stormAlarm ? nil : storm
        }
        if let alarm {
            let down = clusters.filter { $0.value.state == .unreachable }.map(\.key).sorted()
            event(alarm ? "FailoverHeld" : "FailoverResumed", cluster: nil, app: nil,
                  alarm ? "\(down.count) of \(clusters.count) clusters are Unreachable (\(down.joined(separator: ", "))), above maxFailoverPercent \(Int(policy.maxFailoverPercent)) %: no failover starts until fewer are down (a fault on the hub's side looks like this)"
                        : "fewer clusters are Unreachable: failover resumes")
        }
        let affected = Set(clusters.filter { $0.value.state == .unreachable || $0.value.drained }.map(\.key))
        var candidates = (try? store.placedApplications()) ?? []
        for cluster in affected.union(failback).sorted() {
            candidates += ((try? store.applications(cluster: cluster)) ?? []).filter { $0.placement == nil }
        }
        let registered = (try? clusterStore.clusters()) ?? []
        for app in candidates {
            guard let primary = app.cluster else { continue }
            // Failover may only move an Application where its project lets it deploy.
            let allowed = Set(registered.filter { placementProblem(app.object, on: $0) == nil }.map(\.name))
            let subject = PlacementSubject(primary: primary, placement: app.placement, failoverAllowed: failoverAllowed(app),
                                           autoFailback: autoFailback(app), failbackRequested: failback.contains(primary), allowedTargets: allowed)
            apply(PlacementPlanner.decide(subject, clusters: clusters, policy: policy, storm: storm), to: app)
        }
    }

    private func apply(_ action: PlacementAction, to app: StoredApplication) {
        guard let primary = app.cluster else { return }
        let since = Self.timestamp(Date())
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
            change(app, to: placement, prune: stale(keeping: target), event: HubEvent(type: "FailedOver", cluster: primary, application: app.name,
                                                       message: "\(app.name) moves from \(from) to \(target): \(reason)"))
        case .unplace(let reason):
            if app.placement?.phase == .unplaced { return }
            let placement = Placement(primary: primary, active: nil, phase: .unplaced, reason: reason, since: since)
            change(app, to: placement, event: HubEvent(type: "Unplaced", cluster: primary, application: app.name,
                                                       message: "\(app.name) is Unplaced: \(reason); nothing was deleted from \(primary)"))
        case .failBack:
            guard let current = app.placement, let secondary = current.active else { return }
            let placement = Placement(primary: primary, active: primary, phase: .failingBack, reason: "cluster \(primary) is Healthy again",
                                      since: since, pruneAfterHealthy: secondary)
            change(app, to: placement, prune: stale(keeping: secondary), event: HubEvent(type: "FailbackStarted", cluster: primary, application: app.name,
                                                       message: "\(app.name) syncs on \(primary) again; its copy on \(secondary) stays until it is Healthy there"))
        case .clear:
            change(app, to: nil, event: HubEvent(type: "Placed", cluster: primary, application: app.name, message: "\(app.name) is back on \(primary)"))
        }
    }

    /// Writes a placement with its event in one transaction, then requeues the Application where it runs now.
    /// Compare-and-set against `app.placement`, the placement the decision was made from: when another path
    /// changed it meanwhile, nothing is written and the Application is looked at again.
    private func change(_ app: StoredApplication, to placement: Placement?, prune: [String] = [], event: HubEvent) {
        do {
            switch try store.setPlacement(app.name, expected: app.placement, to: placement, prune: prune, event: event) {
            case .written: break
            case .gone: return
            case .conflict:
                logger.debug("placement of \(app.name) changed meanwhile; \(event.type) not applied, looked at again")
                if let fresh = try store.application(named: app.name) { enqueue(fresh, priority: .high) }
                return
            }
        } catch {
            logger.error("cannot change the placement of \(app.name): \(error)")
            return
        }
        let target: String? = placement == nil ? app.cluster : placement!.active
        if target != app.activeCluster {
            // The status described the cluster it left: until the first reconcile where it runs now, say so.
            var status = app.status
            status.set("sync", .object([("status", .string("Unknown")), ("revisions", .array([]))]))
            status.set("health", .object([("status", .string(target == nil ? "Missing" : "Progressing")),
                                          ("message", .string(target.map { "placed on \($0); syncing there" } ?? "Unplaced"))]))
            status.set("cluster", target.map(JSONValue.string) ?? .null)
            status.set("placement", Self.placementJSON(placement))
            try? store.setStatus(app.name, status)
            metrics.record(app: app.name, status: status)
        }
        pool.remove(.app(app.name))
        var moved = app
        moved.placement = placement
        enqueue(moved, priority: .high)
        for cluster in prune { pool.add(.prune(app: app.name, cluster: cluster), cluster: cluster) }
    }

    /// After a reconcile on `cluster`: records the placement in the status, detects a sibling that already
    /// serves the objects there, and completes a move once the Application is Healthy where it runs now
    /// (pruning the copy it left, never before). Returns whether the Application is covered by a sibling.
    func placementAfterReconcile(_ app: StoredApplication, on cluster: String, result: ReconcileResult,
                                 status: inout JSONValue, conditions: inout [JSONValue]) -> Bool {
        guard var placement = app.placement else { return false }
        let owners = Set(result.foreignOwners.values)
        let covered = placement.phase == .failedOver && result.desiredCount > 0 && result.foreignOwners.count == result.desiredCount && owners.count == 1
        if covered, let sibling = owners.first {
            conditions.removeAll { $0["type"]?.stringValue == "SyncError" }
            conditions.append(Self.condition("CoveredBy", "on \(cluster) the same objects belong to Application \(sibling), which serves them; they are left to it"))
            if placement.coveredBy != sibling {
                let before = placement
                placement.coveredBy = sibling
                _ = try? store.setPlacement(app.name, expected: before, to: placement, event: HubEvent(type: "Covered", cluster: cluster, application: app.name,
                                                                                                      message: "\(app.name) on \(cluster) is covered by \(sibling)"))
            }
        } else if placement.phase == .failedOver && !result.foreignOwners.isEmpty {
            conditions.append(Self.condition("OwnershipClash", "on \(cluster) some objects belong to other Applications (\(owners.sorted().joined(separator: ", "))): they are not overwritten"))
        }
        status.set("placement", Self.placementJSON(placement))
        if placement.pruneAfterHealthy != nil && app.object.value(at: ["spec", "syncPolicy", "automated"]) == nil {
            conditions.append(Self.condition("MoveWaiting", "automated sync is off: sync it on \(cluster) (`flotilla app sync \(app.name)`); its copy on \(placement.pruneAfterHealthy!) stays until it is Synced and Healthy there"))
        }
        let healthy = result.health.status == .healthy && (result.syncStatus == .synced || covered)
        guard healthy, let leftover = placement.pruneAfterHealthy else { return covered }
        // Only if nothing changed the placement while this reconcile ran.
        guard let fresh = (try? store.application(named: app.name)) ?? nil, fresh.placement == placement else { return covered }
        switch placement.phase {
        case .failingBack:
            change(fresh, to: nil, prune: [leftover], event: HubEvent(type: "FailedBack", cluster: placement.primary, application: app.name,
                                                                     message: "\(app.name) is Healthy on \(placement.primary) again; its copy on \(leftover) is pruned"))
            status.set("placement", .null)
        case .failedOver:
            placement.pruneAfterHealthy = nil
            change(fresh, to: placement, prune: [leftover], event: HubEvent(type: "MoveCompleted", cluster: cluster, application: app.name,
                                                                           message: "\(app.name) is Healthy on \(cluster); its copy on \(leftover) is pruned"))
        case .unplaced:
            break
        }
        return covered
    }

    public static func placementJSON(_ p: Placement?) -> JSONValue {
        guard let p else { return .null }
        return .object([
            ("primary", .string(p.primary)), ("active", p.active.map(JSONValue.string) ?? .null), ("phase", .string(p.phase.rawValue)),
            ("reason", .string(p.reason)), ("since", .string(p.since)),
            ("pruneAfterHealthy", p.pruneAfterHealthy.map(JSONValue.string) ?? .null), ("coveredBy", p.coveredBy.map(JSONValue.string) ?? .null),
        ])
    }

    // MARK: - Operator commands

    public func clusterState(_ name: String) -> ClusterOperationalState {
        lock.withLock { clusterStates[name] } ?? ClusterOperationalState()
    }

    private func requireCluster(_ name: String) throws {
        guard try clusterStore.cluster(named: name) != nil else { throw HubError(404, "cluster '\(name)' not found") }
    }

    private func setFlags(_ name: String, type: String, message: String, _ change: (inout ClusterOperationalState) -> Void) throws {
        try requireCluster(name)
        let state = lock.withLock { () -> ClusterOperationalState in
            var s = clusterStates[name] ?? ClusterOperationalState(health: ClusterHealth(state: .healthy, since: Self.now()))
            change(&s)
            clusterStates[name] = s
            return s
        }
        let event = HubEvent(type: type, cluster: name, message: message)
        try store.setClusterState(name, state, event: event)
    }

    /// No new placements on the cluster; what runs there stays.
    public func cordon(_ name: String) throws {
        try setFlags(name, type: "Cordoned", message: "cluster \(name) is cordoned: no Application moves onto it") { $0.cordoned = true }
    }

    /// Accepts placements again; drained Applications fail back (auto) after the move is safe.
    public func uncordon(_ name: String) throws {
        try setFlags(name, type: "Uncordoned", message: "cluster \(name) is uncordoned") { $0.cordoned = false; $0.drained = false }
        monitorQueue.sync { evaluatePlacements() }
    }

    /// Planned maintenance: every Application that may fail over moves to its secondary now; its copy on the
    /// drained cluster is pruned once the secondary serves it.
    public func drain(_ name: String) throws {
        try setFlags(name, type: "Drained", message: "cluster \(name) is drained: its Applications move to their secondaries") {
            $0.cordoned = true
            $0.drained = true
        }
        monitorQueue.sync { evaluatePlacements() }
    }

    /// Fails back now every Application whose primary is `name` (for `failback: manual`, or to skip the
    /// hold-down). The cluster must be Healthy and not cordoned.
    public func failback(_ name: String) throws -> Int {
        try requireCluster(name)
        let state = clusterState(name)
        guard state.health.state == .healthy else { throw HubError(409, "cluster \(name) is \(state.health.state.rawValue): failback needs it Healthy") }
        guard !state.cordoned else { throw HubError(409, "cluster \(name) is cordoned: uncordon it first") }
        let waiting = ((try? store.placedApplications()) ?? []).filter { $0.cluster == name && $0.placement?.phase == .failedOver }.count
        monitorQueue.sync { evaluatePlacements(failback: [name]) }
        return waiting
    }

    // MARK: - Events

    /// Appends an event to the log, logs it and notifies the configured webhooks.
    func event(_ type: String, cluster: String?, app: String?, _ message: String) {
        let e = HubEvent(type: type, cluster: cluster, application: app, message: message)
        do { try store.appendEvent(e) } catch { logger.error("cannot record event \(type): \(error)") }
    }

    /// Logs an event the store committed (with its id), and sends it to the notification webhooks that take
    /// its type. Every event goes through here: the store calls it after each transaction that wrote one.
    func announce(_ e: HubEvent) {
        let warning = ["FailedOver", "Unplaced", "FailoverHeld", "ApplicationSetProblems"].contains(e.type) || (e.type == "ClusterStateChanged" && !e.message.hasSuffix("Healthy"))
        if warning { logger.warning("\(e.type): \(e.message)") } else if e.type == "Audit" || e.type == "Sync" {
            logger.debug("\(e.type): \(e.message)")
        } else {
            logger.info("\(e.type): \(e.message)")
        }
        guard !config.notifications.isEmpty else { return }
        let body = Self.eventJSON(e, at: e.at.isEmpty ? Self.timestamp(Date()) : e.at)
        for (index, target) in config.notifications.enumerated() where target.events.isEmpty || target.events.contains(e.type) {
            notifyQueue.async { [logger] in
                let payload: JSONValue = target.format == "slack"
                    ? .object([("text", .string("*\(e.type)* \(e.message)"))])
                    : body
                guard let url = URLComponents(string: target.url), let scheme = url.scheme, let host = url.host else { return }
                let server = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
                let path = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?\($0)" } ?? "")
                let transport = HTTPTransport(server: server, credentials: .none, timeout: 5)
                do {
                    let response = try transport.request("POST", path, body: Array(payload.serialized(pretty: false).utf8), contentType: "application/json")
                    if !(200..<300).contains(response.status) { logger.warning("notification \(index + 1) answered \(response.status)") }
                } catch {
                    // The URL may hold a token (Slack webhooks do): it is not logged.
                    logger.warning("notification \(index + 1) could not be sent")
                }
            }
        }
    }

    public static func eventJSON(_ e: HubEvent, at: String? = nil) -> JSONValue {
        .object([
            ("id", .int(e.id)), ("at", .string(at ?? e.at)), ("type", .string(e.type)),
            ("cluster", e.cluster.map(JSONValue.string) ?? .null), ("application", e.application.map(JSONValue.string) ?? .null),
            ("message", .string(e.message)),
        ])
    }
}
