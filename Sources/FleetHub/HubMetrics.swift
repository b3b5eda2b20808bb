import FleetModel
import Foundation

/// Counters and gauges of the hub, rendered in the Prometheus text format (version 0.0.4).
public final class HubMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    // `lock` guards everything below.
    private let lock = NSLock()
    private var appStatus: [String: (sync: String, health: String)] = [:]
    private var syncCounts: [String: Int] = [:]
    private var healthCounts: [String: Int] = [:]
    private var reconciles: [String: Int] = [:]
    private var skipped = 0
    private var leasesHeld = 0
    private var leasesAcquired = 0
    private var fenced = 0
    private var bucketCounts = [Int](repeating: 0, count: buckets.count)
    private var durationSum = 0.0
    private var durationCount = 0
    private var fetches: [String: Int] = [:]
    private var fetchSeconds = 0.0
    private var webhooks: [String: Int] = [:]
    private var errors: [HubErrorSite: Int] = [:]

    public init() {}

    /// An error the hub logged and went on past (`HubContext.attempt`).
    func observeError(_ site: HubErrorSite) { lock.withLock { errors[site, default: 0] += 1 } }

    /// Errors counted at `site` so far.
    public func errorCount(_ site: HubErrorSite) -> Int { lock.withLock { errors[site] ?? 0 } }

    func record(app: String, status: JSONValue) {
        record(app: app, sync: status.value(at: ["sync", "status"])?.stringValue ?? "Unknown", health: status.value(at: ["health", "status"])?.stringValue ?? "Unknown")
    }

    func record(app: String, status: ApplicationStatus) {
        record(app: app, sync: (status.sync?.status ?? .unknown).rawValue, health: (status.health?.status ?? .unknown).rawValue)
    }

    private func record(app: String, sync: String, health: String) {
        lock.withLock {
            if let old = appStatus.updateValue((sync, health), forKey: app) { uncount(old) }
            syncCounts[sync, default: 0] += 1
            healthCounts[health, default: 0] += 1
        }
    }

    func forget(app: String) {
        lock.withLock {
            if let old = appStatus.removeValue(forKey: app) { uncount(old) }
        }
    }

    // Called with `lock` held.
    private func uncount(_ old: (sync: String, health: String)) {
        syncCounts[old.sync, default: 0] -= 1
        if syncCounts[old.sync] == 0 { syncCounts.removeValue(forKey: old.sync) }
        healthCounts[old.health, default: 0] -= 1
        if healthCounts[old.health] == 0 { healthCounts.removeValue(forKey: old.health) }
    }

    /// A reconcile skipped: nothing its last comparison depended on had changed.
    func observeSkippedReconcile() { lock.withLock { skipped += 1 } }

    /// Leases this replica holds now (clusters and the generation).
    func setLeasesHeld(_ count: Int) { lock.withLock { leasesHeld = count } }
    /// A lease taken over (from nobody, a lapsed holder, or a hand-over).
    func observeLeaseAcquired() { lock.withLock { leasesAcquired += 1 } }
    /// A write refused because this replica's lease had moved on.
    func observeFencedWrite() { lock.withLock { fenced += 1 } }

    func observeReconcile(seconds: Double, operation: String?) {
        lock.withLock {
            reconciles[operation ?? "None", default: 0] += 1
            durationSum += seconds
            durationCount += 1
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { bucketCounts[i] += 1 }
        }
    }

    func observeFetch(seconds: Double, ok: Bool) {
        lock.withLock {
            fetches[ok ? "success" : "failure", default: 0] += 1
            fetchSeconds += seconds
        }
    }

    func observeWebhook(status: Int) { lock.withLock { webhooks[String(status), default: 0] += 1 } }

    /// Applications by sync and health status.
    public func applicationCounts() -> [String: [String: Int]] {
        lock.withLock { ["sync": syncCounts, "health": healthCounts] }
    }

    /// The exposition; `queue` and `clusters` are sampled by the caller.
    func render(queued: Int, running: Int, completed: Int, clusters: [(name: String, reachable: Bool)],
                states: [(name: String, state: String, cordoned: Bool)] = [], placements: [String: Int] = [:],
                cached: [String: Int] = [:]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func label(_ v: String) -> String { v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        lock.withLock {
            family("flotilla_applications", "gauge", "Applications by sync and health status.")
            var pairs: [String: Int] = [:]
            for (sync, health) in appStatus.values { pairs["sync_status=\"\(label(sync))\",health_status=\"\(label(health))\"", default: 0] += 1 }
            for key in pairs.keys.sorted() { out += "flotilla_applications{\(key)} \(pairs[key]!)\n" }
            family("flotilla_reconciles_total", "counter", "Reconciles by sync operation result (None: nothing to apply).")
            for key in reconciles.keys.sorted() { out += "flotilla_reconciles_total{operation=\"\(key)\"} \(reconciles[key]!)\n" }
            family("flotilla_reconciles_skipped_total", "counter", "Reconciles skipped: nothing their last comparison depended on had changed.")
            out += "flotilla_reconciles_skipped_total \(skipped)\n"
            family("flotilla_leases_held", "gauge", "Leases this replica holds (clusters and the generation work).")
            out += "flotilla_leases_held \(leasesHeld)\n"
            family("flotilla_lease_acquisitions_total", "counter", "Leases this replica took (free, lapsed or handed over).")
            out += "flotilla_lease_acquisitions_total \(leasesAcquired)\n"
            family("flotilla_fenced_writes_total", "counter", "Writes refused because this replica no longer held the cluster's lease.")
            out += "flotilla_fenced_writes_total \(fenced)\n"
            family("flotilla_reconcile_duration_seconds", "histogram", "Duration of one reconcile (render, diff, apply, health).")
            for (i, bound) in Self.buckets.enumerated() { out += "flotilla_reconcile_duration_seconds_bucket{le=\"\(bound)\"} \(bucketCounts[i])\n" }
            out += "flotilla_reconcile_duration_seconds_bucket{le=\"+Inf\"} \(durationCount)\n"
            out += "flotilla_reconcile_duration_seconds_sum \(durationSum)\nflotilla_reconcile_duration_seconds_count \(durationCount)\n"
            family("flotilla_git_fetches_total", "counter", "Repository fetches by result.")
            for key in fetches.keys.sorted() { out += "flotilla_git_fetches_total{result=\"\(key)\"} \(fetches[key]!)\n" }
            family("flotilla_git_fetch_seconds_total", "counter", "Time spent fetching repositories.")
            out += "flotilla_git_fetch_seconds_total \(fetchSeconds)\n"
            family("flotilla_webhooks_total", "counter", "Git webhook deliveries by HTTP status answered.")
            for key in webhooks.keys.sorted() { out += "flotilla_webhooks_total{code=\"\(key)\"} \(webhooks[key]!)\n" }
            family("flotilla_hub_errors_total", "counter", "Errors the hub logged and went on past, by where they happened (store reads and writes, events, git, clusters).")
            for site in HubErrorSite.allCases { out += "flotilla_hub_errors_total{site=\"\(site.rawValue)\"} \(errors[site] ?? 0)\n" }
        }
        family("flotilla_reconcile_queue_depth", "gauge", "Reconciles waiting (including those due later).")
        out += "flotilla_reconcile_queue_depth \(queued)\n"
        family("flotilla_reconcile_in_flight", "gauge", "Reconciles running now.")
        out += "flotilla_reconcile_in_flight \(running)\n"
        family("flotilla_reconciles_completed_total", "counter", "Reconciles and prunes finished.")
        out += "flotilla_reconciles_completed_total \(completed)\n"
        family("flotilla_cluster_reachable", "gauge", "1 when the hub reaches the cluster's API server, 0 while it does not.")
        for c in clusters { out += "flotilla_cluster_reachable{cluster=\"\(label(c.name))\"} \(c.reachable ? 1 : 0)\n" }
        family("flotilla_cluster_state", "gauge", "1 for the cluster's probe state (Healthy, Suspect, Unreachable), 0 for the others.")
        for c in states {
            for s in ["Healthy", "Suspect", "Unreachable"] { out += "flotilla_cluster_state{cluster=\"\(label(c.name))\",state=\"\(s)\"} \(c.state == s ? 1 : 0)\n" }
        }
        family("flotilla_cluster_cordoned", "gauge", "1 while the cluster is cordoned or drained.")
        for c in states { out += "flotilla_cluster_cordoned{cluster=\"\(label(c.name))\"} \(c.cordoned ? 1 : 0)\n" }
        family("flotilla_applications_placed", "gauge", "Applications not on their primary cluster, by phase (FailedOver, FailingBack, Unplaced).")
        for phase in ["FailedOver", "FailingBack", "Unplaced"] { out += "flotilla_applications_placed{phase=\"\(phase)\"} \(placements[phase] ?? 0)\n" }
        family("flotilla_cache_objects", "gauge", "Managed objects held in memory by the cluster's watch-fed cache.")
        for name in cached.keys.sorted() { out += "flotilla_cache_objects{cluster=\"\(label(name))\"} \(cached[name]!)\n" }
        return out
    }
}

extension Hub {
    /// `/metrics` in the Prometheus text format.
    public func prometheus() -> String {
        let m = queueMetrics
        let down = unreachableClusters()
        // The next scrape reads again.
        let registered = context.attempt(.registryRead, "read the registry for /metrics", { try clusterStore.clusters() }) ?? []
        let clusters = registered.map { ($0.name, down[$0.name] == nil) }
        let states = registered.map { c in
            let s = clusterState(c.name)
            return (c.name, s.health.state.rawValue, s.cordoned || s.drained)
        }
        var placements: [String: Int] = [:]
        let placed = context.attempt(.storeRead, "read the placements for /metrics", { try store.placedApplications() }) ?? []
        for app in placed { placements[app.placement!.phase.rawValue, default: 0] += 1 }
        return metrics.render(queued: m.queued, running: m.running, completed: m.completed, clusters: clusters, states: states, placements: placements,
                              cached: cachedObjects())
    }
}
