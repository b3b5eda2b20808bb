import FleetKube
import FleetManifests
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Reconciles Applications and prunes what deleted or moved ones left: a `WorkerPool` (global and per-cluster
/// limits, round robin across clusters, manual syncs first) running `AppSyncer`. After a reconcile, an
/// Application is due again after the resync period (with jitter), after its retry backoff when an automated
/// sync failed, or soon (0.1 s, doubling) while it progresses.
///
/// Owns the pool, the manual sync requests, retry attempts and progress checks (under `lock`). A cluster whose
/// work is held in `ClusterConnections` is blocked in the pool: its work holds no worker.
///
/// As a `Service`, on shutdown it stops taking work and gives running reconciles `drainTimeout` seconds.
public final class ApplicationReconciler: Service, @unchecked Sendable {
    public typealias WorkKey = ReconcileWork

    /// What a manual sync asked for.
    struct ManualSync {
        var prune: Bool
        /// Who asked (the account, for the audit log).
        var by: String = "api"
    }

    let context: HubContext
    let connections: ClusterConnections
    let projects: ProjectBook
    let manifests: ManifestLoader
    let events: EventLog
    let revisions: RevisionBook
    /// Seconds running reconciles get at shutdown (`Hub.stop(timeout:)` sets it for its own stop).
    var drainTimeout: Double { drain.withLockedValue { $0.timeout } }
    /// The drain timeout, and whether the last drain finished in time.
    let drain: NIOLockedValueBox<(timeout: Double, finished: Bool)>
    /// Comparisons that found nothing to do, and what they depended on: a resync that would repeat one is
    /// skipped. The full comparison still runs at least every tenth resync period.
    let memo: ReconcileMemo
    /// The hub's definitions, for Applications that render Applications and ApplicationSets for the control
    /// plane (set once when the hub is built, before any reconcile).
    nonisolated(unsafe) weak var definitions: ApplicationSetController?
    private(set) var pool: WorkerPool<WorkKey>!

    // `lock` guards everything below.
    let lock = NSLock()
    var manual: [String: ManualSync] = [:]
    /// Running syncs an account asked to stop (`terminate-op`), and who asked.
    var terminations: [String: String] = [:]
    var attempts: [String: Int] = [:]
    var progressChecks: [String: Int] = [:]

    init(context: HubContext, connections: ClusterConnections, projects: ProjectBook, manifests: ManifestLoader, events: EventLog,
         revisions: RevisionBook, drainTimeout: Double = 30) {
        self.context = context
        self.revisions = revisions
        memo = ReconcileMemo(maxAge: 10 * context.config.resync)
        self.connections = connections
        self.projects = projects
        self.manifests = manifests
        self.events = events
        drain = NIOLockedValueBox((drainTimeout, true))
        pool = WorkerPool<WorkKey>(concurrency: context.config.concurrency, perCluster: context.config.perCluster) { [unowned self] item in
            switch item.key {
            case .app(let name): return self.reconcile(name)
            case .prune(let app, let cluster): return self.prune(app: app, cluster: cluster)
            }
        }
        // A change on a cluster (drift, a workload turning healthy, an object deleted) queues its Application now;
        // the resync period is only a safety net.
        connections.onObjectChange { [unowned self] cluster, application in
            self.pool.add(.app(application), cluster: cluster)
        }
        // A write to an Application's row (object, status, pin, placement) ends what its last comparison proved.
        context.store.onApplicationsChanged { [summaries = context.summaries, memo, board = context.board] names in
            summaries.drop(names)
            memo.drop(names)
            board.touch(names)
        }
    }

    public func run() async throws {
        await untilShutdown()
        context.logger.info("stopping: waiting up to \(Int(drainTimeout)) s for running syncs")
        let timeout = drainTimeout
        let drained = await shutdownWork("drain") { [self] in stop(timeout: timeout) }
        drain.withLockedValue { $0.finished = drained }
        if !drained { context.logger.warning("some syncs were still running; they resume on the next start") }
    }

    /// Queues every pending prune and every Application (at start).
    func load() throws {
        let store = context.store
        for (name, state) in connections.allStates() where state.health.state == .unreachable {
            connections.hold(name, error: "Unreachable when the hub stopped")
            pool.block(cluster: name)
        }
        for (application, cluster) in try store.pendingPrunes() { schedulePrune(application, on: cluster) }
        let apps = try store.applications()
        context.board.fill(apps)
        for app in apps {
            context.metrics.record(app: app.name, status: app.status)
            enqueue(app)
        }
    }

    /// Stops taking work and waits up to `timeout` seconds for running reconciles. Returns whether they all
    /// finished in time; unfinished work is re-derived on the next start.
    func stop(timeout: Double) -> Bool { pool.shutdown(timeout: timeout) }

    // MARK: - The queue

    /// Queues an Application on the cluster it runs on now (its primary, or where a failover put it).
    /// An Unplaced Application has nowhere to go and is not queued.
    func enqueue(_ app: StoredApplication, priority: SchedulerState<WorkKey>.Priority = .normal) {
        if app.placement?.phase == .unplaced { return }
        pool.add(.app(app.name), cluster: app.activeCluster ?? "", priority: priority)
    }

    func schedulePrune(_ application: String, on cluster: String) {
        pool.add(.prune(app: application, cluster: cluster), cluster: cluster)
    }

    /// An Application was deleted: it leaves the queue, and (with `prune`) every cluster it ran on is pruned.
    func deleted(_ app: StoredApplication, prune: Bool) {
        deleted(app.name)
        guard prune else { return }
        for cluster in Set([app.cluster, app.placement?.active, app.placement?.pruneAfterHealthy].compactMap { $0 }) {
            schedulePrune(app.name, on: cluster)
        }
    }

    func deleted(_ name: String) {
        pool.remove(.app(name))
        memo.forget(name)
        context.forget(application: name)
    }

    /// Work for `cluster` waits (it does not answer); the first time, say so.
    func hold(_ cluster: String, error: String) {
        if connections.hold(cluster, error: error) {
            context.logger.warning("cluster \(cluster) does not answer: its work waits until a probe succeeds (\(error))")
        }
        pool.block(cluster: cluster)
    }

    /// A probe answered: work held for the cluster runs again.
    func release(_ cluster: String) {
        if connections.release(cluster) { context.logger.info("cluster \(cluster) answers again") }
        pool.unblock(cluster: cluster)
    }

    var queueMetrics: (queued: Int, running: Int, completed: Int) {
        let m = pool.metrics
        return (m.queued, m.running, m.completed)
    }

    // MARK: - Commands

    /// Queues every Application for a reconcile now (a full resync).
    func resyncAll() {
        // Unreadable, nothing is queued now; each Application's own resync timer is not affected.
        for target in context.attempt(.storeRead, "read the Applications to resync", { try context.store.applicationTargets() }) ?? [] where target.placement?.phase != .unplaced {
            pool.add(.app(target.name), cluster: target.activeCluster ?? "")
        }
    }

    /// Queues a manual sync: first in line, applied even without `automated`, pruning when asked.
    func sync(_ name: String, prune: Bool = true, by: String = "api") throws {
        guard let app = try context.store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        lock.withLock { manual[name] = ManualSync(prune: prune, by: by) }
        enqueue(app, priority: .high)
    }

    /// Stops the Application's running sync (Argo CD's `terminate-op`): its next reconcile ends it as Failed
    /// instead of going on. Nothing is undone on the cluster.
    func terminate(_ name: String, by: String) throws {
        guard let app = try context.store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        guard ApplicationStatus.operationPhase(of: app.status) == .running else {
            throw HubError(.conflict, "Application '\(name)' has no running sync to terminate")
        }
        lock.withLock { terminations[name] = by }
        enqueue(app, priority: .high)
    }

    /// Pins the Application to the revision of history entry `id` and syncs it there. The pin holds, even
    /// under automated sync, until `unpin`.
    func rollback(_ name: String, to id: Int) throws -> String {
        let store = context.store
        guard try store.application(named: name) != nil else { throw HubError(.notFound, "Application '\(name)' not found") }
        guard let entry = try store.history(name).first(where: { $0.id == id }) else {
            throw HubError(.notFound, "Application '\(name)' has no history entry \(id) (see `flotilla app history \(name)`)")
        }
        let revision = entry.revision.split(separator: ",").first.map(String.init) ?? entry.revision
        try store.pin(name, revision: revision)
        try sync(name)
        context.logger.info("Application \(name) rolled back to \(revision) (history \(id)); pinned until unpinned")
        return revision
    }

    func unpin(_ name: String) throws {
        guard try context.store.application(named: name) != nil else { throw HubError(.notFound, "Application '\(name)' not found") }
        try context.store.pin(name, revision: nil)
        try sync(name)
    }

    /// Compares without applying: per-resource diffs against live state.
    func diff(_ name: String) throws -> ReconcileResult {
        guard let app = try context.store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        guard let cluster = app.cluster else { throw HubError(.conflict, "Application '\(name)' has no registered destination cluster") }
        return syncer(try connections.client(for: cluster))
            .reconcile(app.object, pinnedRevision: app.pinnedRevision, dryRun: true, includeDiff: true)
    }

    /// Diff of an Application that is not stored (a preview), against its cluster's live state.
    func preview(_ object: JSONValue, isCancelled: (@Sendable () -> Bool)? = nil) -> ReconcileResult {
        // Unreadable, the preview says "no registered destination" below.
        let clusters = context.attempt(.registryRead, "read the registry for a preview", { try context.clusterStore.clusters() }) ?? []
        // try? is right here: a preview: an unreachable destination is reported in the answer, not thrown.
        guard let cluster = HubContext.cluster(of: object, in: clusters), let client = try? connections.client(for: cluster) else {
            var r = ReconcileResult()
            r.message = "destination is not a registered cluster"
            return r
        }
        var syncer = syncer(client)
        syncer.isCancelled = isCancelled
        return syncer.reconcile(object, dryRun: true, includeDiff: true)
    }

    /// A syncer for one cluster, with the hub's configured health checks.
    func syncer(_ client: KubeClient) -> AppSyncer {
        var syncer = AppSyncer(client: client, manifests: manifests)
        syncer.healthChecks = context.healthChecks
        return syncer
    }

    // MARK: - Placement changes

    /// Writes a placement with its event in one transaction (compare-and-set against `app.placement`, the
    /// placement the decision was made from), then requeues the Application where it runs now and queues the
    /// prunes. When another path changed the placement meanwhile, nothing is written and the Application is
    /// looked at again.
    func change(_ app: StoredApplication, to placement: Placement?, prune: [String] = [], event: HubEvent) {
        switch PlacementWriter(context: context).write(app, to: placement, prune: prune, event: event) {
        case .written:
            pool.remove(.app(app.name))
            var moved = app
            moved.placement = placement
            enqueue(moved, priority: .high)
            for cluster in prune { schedulePrune(app.name, on: cluster) }
        case .conflict(let fresh):
            context.logger.debug("placement of \(app.name) changed meanwhile; \(event.type) not applied, looked at again")
            if let fresh { enqueue(fresh, priority: .high) }
        case .gone, .failed:
            return
        }
    }
}
