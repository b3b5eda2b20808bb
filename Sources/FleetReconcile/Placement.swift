import FleetModel

/// What the placement planner knows of a cluster.
public struct PlacementCluster: Sendable, Equatable {
    public var secondary: String?
    public var state: ClusterState
    /// Seconds (the caller's clock) since the state last changed.
    public var stateAge: Double
    /// No new placements (an operator's cordon, or a drain).
    public var cordoned: Bool
    /// Drained: its Applications move to their secondaries even though it answers.
    public var drained: Bool

    public init(secondary: String? = nil, state: ClusterState = .healthy, stateAge: Double = .infinity, cordoned: Bool = false, drained: Bool = false) {
        self.secondary = secondary
        self.state = state
        self.stateAge = stateAge
        self.cordoned = cordoned
        self.drained = drained
    }
}

/// Failover policy of the hub.
public struct FailoverPolicy: Sendable, Equatable {
    public var enabled: Bool
    /// Above this share of Unreachable clusters, no new failover starts (a fault on the hub's side looks
    /// like every cluster failing at once).
    public var maxFailoverPercent: Double
    /// A recovered primary must stay Healthy this long before Applications fail back.
    public var holdDown: Double
    /// `auto` fails back on its own; `manual` waits for `flotilla cluster failback`.
    public var autoFailback: Bool

    public init(enabled: Bool = true, maxFailoverPercent: Double = 50, holdDown: Double = 60, autoFailback: Bool = true) {
        self.enabled = enabled
        self.maxFailoverPercent = maxFailoverPercent
        self.holdDown = holdDown
        self.autoFailback = autoFailback
    }
}

/// One Application as the planner sees it.
public struct PlacementSubject: Sendable, Equatable {
    public var primary: String
    public var placement: Placement?
    /// False when the Application or its ApplicationSet opts out (`flotilla.io/failover: "false"`).
    public var failoverAllowed: Bool
    /// `flotilla.io/failback: manual` on the Application, or the hub-wide default.
    public var autoFailback: Bool
    /// An operator asked for failback of its primary (`flotilla cluster failback`).
    public var failbackRequested: Bool
    /// Clusters its project lets it deploy to (nil: any).
    public var allowedTargets: Set<String>?

    public init(primary: String, placement: Placement? = nil, failoverAllowed: Bool = true, autoFailback: Bool = true, failbackRequested: Bool = false,
                allowedTargets: Set<String>? = nil) {
        self.allowedTargets = allowedTargets
        self.primary = primary
        self.placement = placement
        self.failoverAllowed = failoverAllowed
        self.autoFailback = autoFailback
        self.failbackRequested = failbackRequested
    }
}

/// The planner's decision for one Application.
public enum PlacementAction: Sendable, Equatable {
    case none
    /// Sync it on `to`; prune the copy on `pruneAfterHealthy` once Healthy there.
    case move(to: String, reason: String, pruneAfterHealthy: String?)
    /// No healthy cluster: mark it Unplaced (nothing is deleted).
    case unplace(reason: String)
    /// Sync it on its primary again; the secondary's copy goes once the primary is Healthy.
    case failBack
    /// Back on its primary with nothing to clean up (it was Unplaced, or never moved).
    case clear
}

/// Pure failover and failback rules.
public enum PlacementPlanner {
    /// The first cluster along `primary`'s chain of secondaries that is Healthy and accepts placements.
    /// Cycles cannot loop (each cluster is visited once).
    /// Clusters outside `allowed` (the Application's project destinations) are passed over.
    public static func failoverTarget(for primary: String, clusters: [String: PlacementCluster], allowed: Set<String>? = nil) -> String? {
        var seen: Set<String> = [primary]
        var next = clusters[primary]?.secondary
        while let name = next, seen.insert(name).inserted {
            guard let c = clusters[name] else { return nil }
            if c.state == .healthy && !c.cordoned && allowed?.contains(name) != false { return name }
            next = c.secondary
        }
        return nil
    }

    /// True when so many clusters are Unreachable that new failovers are held (the storm guard).
    public static func stormActive(clusters: [String: PlacementCluster], policy: FailoverPolicy) -> Bool {
        guard !clusters.isEmpty else { return false }
        let down = clusters.values.filter { $0.state == .unreachable }.count
        return Double(down) * 100 > policy.maxFailoverPercent * Double(clusters.count)
    }

    public static func decide(_ app: PlacementSubject, clusters: [String: PlacementCluster], policy: FailoverPolicy, storm: Bool) -> PlacementAction {
        guard let primary = clusters[app.primary] else { return .none }
        let primaryDown = primary.state == .unreachable
        let primaryUsable = primary.state == .healthy && !primary.drained && !primary.cordoned

        guard let placement = app.placement else {
            // On its primary.
            guard policy.enabled, app.failoverAllowed, primaryDown || primary.drained else { return .none }
            if primaryDown && storm { return .none }
            let reason = primary.drained ? "cluster \(app.primary) is drained" : "cluster \(app.primary) is unreachable"
            guard let target = failoverTarget(for: app.primary, clusters: clusters, allowed: app.allowedTargets) else { return .unplace(reason: reason + "; no healthy secondary") }
            // A drained primary still answers: its copy goes once the secondary serves the Application.
            return .move(to: target, reason: reason, pruneAfterHealthy: primary.drained ? app.primary : nil)
        }

        switch placement.phase {
        case .unplaced:
            if primaryUsable { return .clear }
            if let target = failoverTarget(for: app.primary, clusters: clusters, allowed: app.allowedTargets) {
                return .move(to: target, reason: placement.reason, pruneAfterHealthy: primary.drained ? app.primary : nil)
            }
            return .none
        case .failingBack:
            // The primary failed again before it was Healthy: back to a secondary, whose copy was kept.
            if !primaryUsable, let secondary = placement.pruneAfterHealthy ?? failoverTarget(for: app.primary, clusters: clusters, allowed: app.allowedTargets),
               clusters[secondary]?.state == .healthy {
                return .move(to: secondary, reason: "cluster \(app.primary) failed during failback", pruneAfterHealthy: nil)
            }
            return .none
        case .failedOver:
            let active = placement.active.flatMap { clusters[$0] }
            // An operator's failback goes at once; automatic failback waits out the hold-down, so a flapping
            // cluster does not bounce its Applications.
            if primaryUsable && (app.failbackRequested || (app.autoFailback && policy.autoFailback && primary.stateAge >= policy.holdDown)) {
                return .failBack
            }
            // The secondary failed too: further along the chain.
            if active == nil || active!.state == .unreachable || active!.drained {
                if let target = failoverTarget(for: app.primary, clusters: clusters, allowed: app.allowedTargets), target != placement.active {
                    // The copy on the failed secondary is pruned once the next one serves (it waits for that
                    // cluster to answer again).
                    return .move(to: target, reason: "cluster \(placement.active ?? "?") failed too", pruneAfterHealthy: placement.active)
                }
            }
            return .none
        }
    }
}
