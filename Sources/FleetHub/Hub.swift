import FleetAuth
import FleetConfig
import FleetGenerators
import FleetGit
import FleetKube
import FleetManifests
import FleetModel
import FleetPostgres
import FleetReconcile
import FleetServing
import FleetStore
import FleetSync
import FleetTemplate
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The hub: controllers over one `HubContext`, each owning its state, wired together here.
///
/// - `ApplicationSetController` — ApplicationSet files and the API → generation → store (the generation queue);
///   also the clusters files, projects and `in-cluster` it watches.
/// - `GitWatcher` — polls and webhooks; regenerates and queues on new commits (on the generation queue).
/// - `ApplicationReconciler` — the worker pool running `AppSyncer`, manual syncs, retries, prunes.
/// - `FailoverController` — probes, cluster health, placements, operator commands (the monitor queue).
/// - `EventLog` — the event log's announcements and notifications.
///
/// All blocking work (git, SQLite, HTTP to clusters) runs on Dispatch queues, never on Swift's cooperative pool.
/// Each controller's periodic work runs inside its service's `run()` on the hub's clock; `serve` runs them in the
/// server's `ServiceGroup`, `start` and `stop` in one of their own (tools and tests).
public final class Hub: @unchecked Sendable {
    /// A `ServiceGroup` that `start` runs, the task running it, and the signal that it ended.
    struct RunningGroup: Sendable {
        let group: ServiceGroup
        let task: Task<Void, Never>
        let ended: DispatchSemaphore
    }

    public let context: HubContext
    /// RBAC of the API (`auth.policy` plus the built-in roles).
    public let policy: RBACPolicy
    /// The admin token minted on the first start (no account existed): shown once, never stored.
    public internal(set) var bootstrapToken: String?
    /// Failed authentications per client address.
    let authFailures = AuthFailures()

    let events: EventLog
    let connections: ClusterConnections
    let projects: ProjectBook
    let repositories: HubRepositories
    let reconciler: ApplicationReconciler
    let appSets: ApplicationSetController
    let gitWatcher: GitWatcher
    let failover: FailoverController

    private let ready = NIOLockedValueBox(false)
    /// The services `start` runs, until `stop`.
    private let running = NIOLockedValueBox<RunningGroup?>(nil)
    /// Where the services `start` runs execute: a serial queue of their own, never Swift's cooperative pool (`stop`
    /// waits for them synchronously, possibly on a thread of that pool) nor the global one (blocked work there must
    /// not stop the loops).
    private let executor = QueueTaskExecutor(label: "flotilla.hub.services", concurrent: false)
    /// Replicas on PostgreSQL: the lease loop and the change feed (nil on SQLite). Set once, in `init`.
    var replicas: ReplicaController?

    public var config: HubConfiguration { context.config }
    public var clusterStore: any ClusterStore { context.clusterStore }
    public var store: any ApplicationStore { context.store }
    public var authStore: any AuthStore { context.authStore }
    public var metrics: HubMetrics { context.metrics }
    var summaries: SummaryCache { context.summaries }
    var logger: Logger { context.logger }
    /// The hub's logger, for tools that run a hub in their own process (benchmarks).
    public var benchLogger: Logger { context.logger }

    /// The flotilla binary, when this process is one (it evaluates jsonnet in a child of itself); nil in a
    /// process that embeds the hub without the CLI (tests), which evaluates in-process.
    public static let jsonnetExecutable: String? = {
        // try? is right here: not the flotilla binary: jsonnet runs in-process.
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              URL(fileURLWithPath: path).lastPathComponent == "flotilla" else { return nil }
        return path
    }()

    /// A hub on the configured database in `dataDir`. `clock` is the hub's time (loops, cluster health ages,
    /// hold-down, timestamps); tests pass a manual one.
    public convenience init(config: HubConfiguration, dataDir: URL, logger: Logger, kubectl: String = "kubectl", drainTimeout: Double = 30,
                            clock: any HubClock = SystemClock()) throws {
        try self.init(context: try HubContext(config: config, dataDir: dataDir, logger: logger, clock: clock), dataDir: dataDir,
                      kubectl: kubectl, drainTimeout: drainTimeout)
    }

    /// A hub over a context of the caller's (its stores and clock); `dataDir` keeps repository checkouts and caches.
    public init(context: HubContext, dataDir: URL, kubectl: String = "kubectl", drainTimeout: Double = 30) throws {
        let config = context.config
        let logger = context.logger
        self.context = context
        policy = try RBACPolicy.parse(config.auth.policy, defaultRole: config.auth.defaultRole, source: "auth.policy")
        // Jsonnet runs in a child process (this binary's `jsonnet-eval`), stopped after limits.subprocessTimeout.
        let jsonnet: any JsonnetEvaluator = Self.jsonnetExecutable.map { SubprocessJsonnet(executable: $0) } ?? InProcessJsonnet()
        repositories = try HubRepositories(config: config, dataDir: dataDir, kubectl: kubectl, jsonnet: jsonnet,
                                           isStopping: { [context] in context.isStopping })
        repositories.setSecrets(context.repositorySecrets)
        // Every committed event (failover, sync, audit, cluster state) is logged and sent to the notifications.
        events = EventLog(context: context)
        connections = ClusterConnections(context: context)
        projects = ProjectBook(logger: logger, enforced: !config.projects.isEmpty)
        reconciler = ApplicationReconciler(context: context, connections: connections, projects: projects, manifests: repositories.manifests,
                                           events: events, revisions: repositories.revisions, drainTimeout: drainTimeout)
        appSets = ApplicationSetController(context: context, repositories: repositories, reconciler: reconciler, events: events,
                                           connections: connections, projects: projects)
        reconciler.definitions = appSets
        context.rollouts.setLookup { [appSets] name in appSets.named(name) }
        gitWatcher = GitWatcher(context: context, repositories: repositories, appSets: appSets, reconciler: reconciler)
        failover = FailoverController(context: context, connections: connections, reconciler: reconciler, appSets: appSets,
                                      projects: projects, events: events)
        try bootstrapAdmin()
        try setUpReplication()
    }

    // MARK: - Start and stop

    /// Loads clusters files and ApplicationSets, fetches repositories, generates everything, queues every
    /// Application and pending prune, then opens the gate the services' loops wait at (file watch, git poll,
    /// probes, leases). `serve` calls it once the API listens; `start` before it runs the services.
    func load() throws {
        try startReplication()
        try appSets.load()
        try failover.load()
        try reconciler.load()
        gitWatcher.load()
        appSets.regenerateAll(wait: true)
        // The dashboard's board reads what generation changed now, in the background, not on the first page.
        // A warm-up; the first page reads the board again and reports its errors.
        DispatchQueue.global(qos: .utility).async { [context] in _ = context.attempt(.storeRead, "read the dashboard's board") { try context.board.read(context.store) { _, _ in } } }
        context.loaded.open()
    }

    /// Loads the hub (`load`), then runs its services in a `ServiceGroup` of its own, in the background (tools and
    /// tests; `serve` runs them in the server's group). `stop` ends them.
    public func start() throws {
        try load()
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        let ended = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: executor) { [logger] in
            defer { ended.signal() }
            do { try await group.run() } catch { logger.error("the hub's services ended: \(error)") }
        }
        running.withLockedValue { $0 = RunningGroup(group: group, task: task, ended: ended) }
    }

    /// Stops the services `start` runs (in reverse order: file watch and git polling first, then probes, then the
    /// reconciles drain for up to `timeout` seconds, the event log last) and waits for them. Returns whether the
    /// running reconciles finished in time. Unfinished work is re-derived on the next start.
    @discardableResult
    public func stop(timeout: Double) -> Bool {
        reconciler.drain.withLockedValue { $0.timeout = timeout }
        guard let run = running.withLockedValue({ running in defer { running = nil }; return running }) else {
            // Never started: only what was queued by hand runs.
            failover.stop()
            return reconciler.stop(timeout: timeout)
        }
        Task(executorPreference: executor) { await run.group.triggerGracefulShutdown() }
        run.ended.wait()
        return reconciler.drain.withLockedValue { $0.finished }
    }

    /// The controllers and loops as services, in start order: a `ServiceGroup` stops them in reverse (file watching
    /// and git polling first, then probes, then the reconciles drain, the event log last). Their loops wait until
    /// the hub has loaded and run on the hub's clock.
    public var services: [any Service] {
        var loops: [any Service] = []
        // Promotion stages marked `auto` are promoted as soon as their gate opens.
        // (Promotion files are read again when they change: the check runs whenever promotions are configured.)
        if !config.promotions.isEmpty {
            loops.append(PeriodicService("promotions", every: 2, context: context) { [weak self] in self?.autoPromote() })
        }
        // With policies, a compliance snapshot a day (checked hourly; the first once the fleet had time to sync).
        if !config.policies.isEmpty {
            loops.append(PeriodicService("compliance", every: 3600, context: context) { [weak self] in self?.recordComplianceSnapshot() })
        }
        return [events] + (replicas.map { [$0] } ?? []) + [reconciler, failover, gitWatcher, appSets] + loops
    }

    /// A graceful shutdown started: previews, diffs and generations stop at their next checkpoint.
    public func beginStopping() { context.beginStopping() }

    /// The template limits of one generation or preview (see `HubContext.renderLimits`).
    public func renderLimits(isCancelled: (@Sendable () -> Bool)? = nil) -> TemplateLimits { context.renderLimits(isCancelled: isCancelled) }

    /// Loaded and serving (for `/readyz`).
    public var isReady: Bool { ready.withLockedValue { $0 } && !context.isStopping }
    func markReady() { ready.withLockedValue { $0 = true } }

    // MARK: - Clusters

    public func applyClustersFile(_ file: String) throws { try appSets.applyClustersFile(file) }
    public func registerInCluster(serviceAccountDirectory: String? = nil) { appSets.registerInCluster(serviceAccountDirectory: serviceAccountDirectory) }
    public func clustersChanged() { appSets.clustersChanged() }
    func client(for name: String) throws -> KubeClient { try connections.client(for: name) }

    /// Clusters whose work is held because they do not answer, with the time and the error.
    public func unreachableClusters() -> [String: (since: Date, error: String)] {
        connections.heldClusters().mapValues { ($0.since, $0.error) }
    }

    public func clusterState(_ name: String) -> ClusterOperationalState { connections.state(name) }
    /// Objects held by each cluster's watch-fed cache.
    public func cachedObjects() -> [String: Int] { connections.cachedObjects() }
    public func cordon(_ name: String) throws { try failover.cordon(name) }
    public func uncordon(_ name: String) throws { try failover.uncordon(name) }
    public func drain(_ name: String) throws { try failover.drain(name) }
    public func failback(_ name: String) throws -> Int { try failover.failback(name) }

    // MARK: - ApplicationSets

    /// The ApplicationSets the hub serves (not the Applications written directly: `applicationDefinitions`).
    public func applicationSets() -> [ApplicationSet] { appSets.all().filter { !$0.standalone } }
    public func applicationSet(named name: String) -> ApplicationSet? { appSets.named(name).flatMap { $0.standalone ? nil : $0 } }
    /// The Applications written directly (files, API), each as its own owner.
    public func applicationDefinitions() -> [ApplicationSet] { appSets.all().filter(\.standalone) }
    /// The definition of the Application `name` when it was written directly.
    public func applicationDefinition(named name: String) -> ApplicationSet? { appSets.named(ApplicationSet.standaloneKey(name)) }
    public func applicationSetFile(_ name: String) -> String? { appSets.file(of: name) }
    public func status(ofApplicationSet name: String) -> ApplicationSetController.Status? { appSets.status(of: name) }

    /// Argo CD's annotation asking for a refresh of an Application (`normal` or `hard`).
    static let refreshAnnotation = "argocd.argoproj.io/refresh"

    public func putApplicationSet(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil) throws -> ApplicationsSyncPlan {
        // An Application sent with Argo CD's refresh annotation: stored without it (Argo CD's controller removes
        // it too) and refreshed — its repositories fetched and compared — at once.
        guard appSet.standalone, appSet.object.value(at: ["metadata", "annotations", Self.refreshAnnotation]) != nil else {
            return try appSets.put(appSet, isCancelled: isCancelled)
        }
        var object = appSet.object
        var meta = object["metadata"] ?? .object([])
        var annotations = meta["annotations"] ?? .object([])
        annotations.remove(Self.refreshAnnotation)
        if annotations.objectValue?.isEmpty ?? true { meta.remove("annotations") } else { meta.set("annotations", annotations) }
        object.set("metadata", meta)
        let plan = try appSets.put(try ApplicationSet(object, file: appSet.file), isCancelled: isCancelled)
        try refresh(appSet.objectName)
        return plan
    }

    public func deleteApplicationSet(_ name: String) throws { try appSets.delete(name) }
    public func regenerateAll(wait: Bool) { appSets.regenerateAll(wait: wait) }

    public func plan(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil,
                     fromAPI: Bool = false) throws -> (ApplicationsSyncPlan, [Application], [ApplicationProblem]) {
        try appSets.plan(appSet, isCancelled: isCancelled, fromAPI: fromAPI)
    }

    public func project(of app: JSONValue) -> Project? { projects.project(of: app) }
    public func projectList() -> [Project] { projects.list() }

    // MARK: - Git

    public func handlePush(_ hook: GitWebhook) -> [String] { gitWatcher.handlePush(hook) }

    /// Fetches now every repository the hub watches (the `refresh` of the API), waiting for the result.
    public func refreshRepositories() { gitWatcher.refresh() }

    // MARK: - Applications

    public func resyncAll() { reconciler.resyncAll() }
    public func sync(_ name: String, prune: Bool = true, by: String = "api") throws { try syncAnywhere(name, prune: prune, by: by) }

    /// Stops the Application's running sync (Argo CD's `terminate-op`), on the replica that runs it.
    public func terminateOperation(_ name: String, by: String = "api") throws {
        guard let app = try store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        guard ApplicationStatus.operationPhase(of: app.status) == .running else {
            throw HubError(.conflict, "Application '\(name)' has no running sync to terminate")
        }
        if heldElsewhere(app) { return try forward(.terminate(application: name, by: by)) }
        try reconciler.terminate(name, by: by)
    }

    /// Compares again now (after fetching its repositories), without forcing a sync.
    /// Fetches the Application's repositories and compares it again, as Argo CD's hard refresh. Returns at once:
    /// the fetch waits its turn on the generation queue (never on an API thread), then the compare is queued.
    public func refresh(_ name: String) throws {
        guard let app = try store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        if heldElsewhere(app) { return try forward(.refresh(application: name)) }   // the replica that runs it fetches
        let urls = Set(HubContext.sources(of: app.object).compactMap { $0["repoURL"]?.stringValue }.map(GitWebhook.normalize))
        gitWatcher.refreshLater(only: urls) { [reconciler] in
            reconciler.memo.drop([name])
            reconciler.enqueue(app, priority: .high)
        }
    }

    public func rollback(_ name: String, to id: Int) throws -> String { try reconciler.rollback(name, to: id) }
    public func unpin(_ name: String) throws { try reconciler.unpin(name) }
    public func diff(_ name: String) throws -> ReconcileResult { try reconciler.diff(name) }
    public func preview(_ app: Application, isCancelled: (@Sendable () -> Bool)? = nil) -> ReconcileResult {
        reconciler.preview(app.object, isCancelled: isCancelled)
    }

    /// The time of the Application's last reconcile, newer than its stored status when nothing changed since.
    public func lastReconciled(_ name: String) -> String? { context.reconciledAt.withLockedValue { $0[name] } }

    public var queueMetrics: (queued: Int, running: Int, completed: Int) { reconciler.queueMetrics }
}
