import FleetAuth
import FleetConfig
import FleetGenerators
import FleetGit
import FleetKube
import FleetManifests
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import FleetTemplate
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The hub's engine: keeps the stored Applications equal to what the ApplicationSets generate, and every
/// Application's cluster equal to git.
///
/// - Generation runs on one serial queue, per ApplicationSet, when an ApplicationSet, a cluster or a watched
///   repository changes. Its plan is written in one transaction (deletions with their pending prunes).
/// - Reconciles run on a `WorkerPool` (global and per-cluster limits, round robin across clusters, manual
///   syncs first). After a reconcile, an Application is due again after the resync period (with jitter), or
///   after its retry backoff when an automated sync failed.
/// - A cluster that cannot be reached is blocked in the pool (its work holds no worker) and probed with
///   backoff until it answers.
/// - All blocking work (git, SQLite, HTTP to clusters) runs on Dispatch queues, never on Swift's cooperative pool.
public final class Hub: @unchecked Sendable {
    public enum WorkKey: Hashable, Sendable {
        case app(String)
        case prune(app: String, cluster: String)
    }

    public let config: HubConfiguration
    public let clusterStore: SQLiteClusterStore
    public let store: SQLiteApplicationStore
    public let authStore: SQLiteAuthStore
    /// RBAC of the API (`auth.policy` plus the built-in roles).
    public let policy: RBACPolicy
    /// The admin token minted on the first start (no account existed): shown once, never stored.
    public internal(set) var bootstrapToken: String?
    /// Failed authentications per client address.
    var authFailures: [String: FailureLimiter] = [:]
    public let metrics = HubMetrics()
    /// Decoded summaries of Applications for the list route.
    let summaries = SummaryCache()
    let logger: Logger
    let gitCache: GitMirrorCache
    let git: any GitSource
    let manifests: ManifestLoader
    /// The commit each (repository, revision) resolved to at the last fetch: reconciles use it instead of
    /// opening the repository, so every reconcile between two fetches sees the same commit.
    let revisions = RevisionBook()
    /// Where each repository URL is fetched from (itself unless `fetchFrom` says otherwise), normalized.
    private let fetchLocations: [String: String]
    private let credentials: [String: GitCredentials]
    private(set) var pool: WorkerPool<WorkKey>!

    private let generationQueue = DispatchQueue(label: "flotilla.hub.generation")
    private let gitQueue = DispatchQueue(label: "flotilla.hub.git")
    /// Cluster probes and placement decisions run here, one round at a time.
    let monitorQueue = DispatchQueue(label: "flotilla.hub.monitor")
    let notifyQueue = DispatchQueue(label: "flotilla.hub.notify")

    /// When each Application was last reconciled (its stored status keeps the last time it changed). A lock of
    /// its own: every list of Applications reads it, while reconciles write it.
    let reconciledAt = NIOLockedValueBox<[String: String]>([:])

    // `lock` guards everything below.
    let lock = NSLock()
    private var fileAppSets: [String: FileAppSet] = [:]
    private var appSetStatus: [String: ApplicationSetStatus] = [:]
    private var manual: [String: ManualSync] = [:]
    private var attempts: [String: Int] = [:]
    private var progressChecks: [String: Int] = [:]
    var clients: [String: (Cluster, KubeClient)] = [:]
    private var unreachable: [String: Unreachable] = [:]
    private var fileTexts: [String: String] = [:]         // watched file → last text
    /// Probe state and operator flags of each cluster (persisted on every change of state).
    var clusterStates: [String: ClusterOperationalState] = [:]
    var probeClients: [String: (Cluster, KubeClient)] = [:]
    var stormAlarm = false
    var projects: [String: Project] = [:]
    /// The service-account credentials last registered for `in-cluster` (checked again every few seconds).
    var inClusterCredentials: ClusterCredentials?

    private var timers: [any DispatchSourceTimer] = []
    var stopped = false
    private var ready = false
    /// Set when a graceful shutdown begins (read by every render's cancellation check).
    private let stopping = NIOLockedValueBox(false)

    struct FileAppSet {
        let appSet: ApplicationSet
        let file: String
    }

    /// What a manual sync asked for.
    struct ManualSync {
        var prune: Bool
        /// Who asked (the account, for the audit log).
        var by: String = "api"
    }

    struct Unreachable {
        var since: Date
        var error: String
    }

    public struct ApplicationSetStatus: Sendable {
        public var generatedAt: Date?
        public var applications: Int = 0
        public var error: String?
        /// Applications skipped at the last generation, each with its reason (Argo CD's ErrorOccurred).
        public var problems: [String] = []
    }

    /// The flotilla binary, when this process is one (it evaluates jsonnet in a child of itself); nil in a
    /// process that embeds the hub without the CLI (tests), which evaluates in-process.
    public static let jsonnetExecutable: String? = {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              URL(fileURLWithPath: path).lastPathComponent == "flotilla" else { return nil }
        return path
    }()

    public init(config: HubConfiguration, dataDir: URL, logger: Logger, kubectl: String = "kubectl") throws {
        self.config = config
        self.logger = logger
        clusterStore = try SQLiteClusterStore(directory: dataDir)
        store = try SQLiteApplicationStore(directory: dataDir)
        authStore = try SQLiteAuthStore(directory: dataDir)
        policy = try RBACPolicy.parse(config.auth.policy, defaultRole: config.auth.defaultRole, source: "auth.policy")
        gitCache = GitMirrorCache(root: dataDir.appendingPathComponent("git"))
        var locations: [String: String] = [:], creds: [String: GitCredentials] = [:]
        for repo in config.repositories {
            let key = GitMirrorCache.normalize(repo.url)
            if let from = repo.fetchFrom { locations[key] = from }
            if let password = repo.password { creds[key] = GitCredentials(username: repo.username ?? "git", password: password) }
        }
        fetchLocations = locations
        credentials = creds
        let exactCredentials = creds
        let byPrefix = config.repositories.filter { $0.password != nil }
        let mirror = MirrorGitSource(cache: gitCache, fetchOnResolve: false) { url in
            let n = GitMirrorCache.normalize(url)
            if let exact = exactCredentials[n] { return exact }
            return byPrefix.first { n.hasPrefix(GitMirrorCache.normalize($0.url)) }.map { GitCredentials(username: $0.username ?? "git", password: $0.password!) }
        }
        var overrides: [String: any GitSource] = [:]
        for repo in config.repositories {
            if let from = repo.fetchFrom { overrides[repo.url] = AliasGitSource(path: from, inner: mirror) }
        }
        git = overrides.isEmpty ? mirror : RoutingGitSource(overrides: overrides, fallback: mirror)
        var renderLimits = ManifestLoader.Limits()
        renderLimits.subprocessTimeout = config.limits.subprocessTimeout
        renderLimits.maxObjectBytes = config.limits.manifestBytes
        renderLimits.remoteHosts = config.limits.kustomizeRemoteHosts
        // Work copies live in the data directory (0700), and what a killed hub left there is removed now.
        let work = dataDir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: work.path)
        ManifestLoader.cleanWorkDirectory(work)
        renderLimits.workDirectory = work
        // Jsonnet runs in a child process (this binary's `jsonnet-eval`), stopped after limits.subprocessTimeout.
        let jsonnet: any JsonnetEvaluator = Self.jsonnetExecutable.map { SubprocessJsonnet(executable: $0) } ?? InProcessJsonnet()
        // Chart repositories take their credentials from `repositories:` (by URL prefix); archives are kept by digest.
        let charts = ChartRepositories(credentials: config.repositories.map { .init(urlPrefix: $0.url, username: $0.username, password: $0.password) },
                                       cacheDirectory: dataDir.appendingPathComponent("charts"))
        charts.remoteValueFiles = .configuredRepositories
        manifests = ManifestLoader(git: KnownRevisionsSource(inner: git, book: revisions), kubectl: kubectl, cache: ManifestCache(), limits: renderLimits,
                                   jsonnet: jsonnet, charts: charts)
        pool = WorkerPool<WorkKey>(concurrency: config.concurrency, perCluster: config.perCluster) { [unowned self] item in
            self.work(item)
        }
        // Every committed event (failover, sync, audit, cluster state) is logged and sent to the notifications.
        store.onEvent { [unowned self] event in self.announce(event) }
        store.onApplicationsChanged { [summaries] names in summaries.drop(names) }
        try bootstrapAdmin()
    }

    // MARK: - Start and stop

    /// Loads clusters files and ApplicationSets, fetches repositories, generates everything, queues every
    /// Application and pending prune, and starts the timers (git poll, file watch).
    public func start() throws {
        for file in config.clusters { try applyClustersFile(file) }
        registerInCluster()
        loadProjects()
        let states = try store.clusterStates()
        lock.withLock { clusterStates = states }
        for (name, state) in states where state.health.state == .unreachable { pool.block(cluster: name) }
        reloadApplicationSetFiles(initial: true)
        for (application, cluster) in try store.pendingPrunes() {
            pool.add(.prune(app: application, cluster: cluster), cluster: cluster)
        }
        for app in try store.applications() {
            metrics.record(app: app.name, status: app.status)
            enqueue(app)
        }
        generationQueue.sync { self.pollRepositories(initial: true) }
        regenerateAll(wait: true)
        schedule(every: config.gitPollInterval) { [weak self] in self?.pollRepositories(initial: false) }
        schedule(every: min(2, config.gitPollInterval)) { [weak self] in self?.watchFiles() }
        schedule(every: config.failover.probeInterval, on: monitorQueue) { [weak self] in self?.probeClusters() }
    }

    private func schedule(every seconds: Double, on queue: DispatchQueue? = nil, _ body: @escaping @Sendable () -> Void) {
        let timer = DispatchSource.makeTimerSource(queue: queue ?? generationQueue)
        timer.schedule(deadline: .now() + seconds, repeating: seconds, leeway: .milliseconds(100))
        timer.setEventHandler(handler: body)
        lock.withLock { timers.append(timer) }
        timer.resume()
    }

    /// Stops intake (timers, new work) and waits up to `timeout` seconds for running reconciles.
    /// Returns whether everything finished in time. Unfinished work is re-derived on the next start.
    @discardableResult
    public func stop(timeout: Double) -> Bool {
        let t = lock.withLock { () -> [any DispatchSourceTimer] in
            stopped = true
            defer { timers = [] }
            return timers
        }
        t.forEach { $0.cancel() }
        return pool.shutdown(timeout: timeout)
    }

    /// The hub's logger, for tools that run a hub in their own process (benchmarks).
    public var benchLogger: Logger { logger }

    /// A graceful shutdown started: previews, diffs and generations stop at their next checkpoint.
    public func beginStopping() { stopping.withLockedValue { $0 = true } }

    /// The template limits of one generation or preview: the configured bounds, the render timeout from now,
    /// and cancellation when the hub stops or `isCancelled` says so (the client left).
    public func renderLimits(isCancelled: (@Sendable () -> Bool)? = nil) -> TemplateLimits {
        let stopping = self.stopping
        return TemplateLimits(maxSteps: config.limits.templateSteps, maxOutputBytes: config.limits.templateOutputBytes,
                              maxValueBytes: config.limits.templateOutputBytes,
                              deadline: .now + .milliseconds(Int(config.limits.renderTimeout * 1000)),
                              isCancelled: { stopping.withLockedValue { $0 } || (isCancelled?() ?? false) })
    }

    /// Loaded and serving (for `/readyz`).
    public var isReady: Bool { lock.withLock { ready && !stopped } && !stopping.withLockedValue { $0 } }
    func markReady() { lock.withLock { ready = true } }

    // MARK: - Clusters

    /// Registers the clusters a clusters file lists (the file is the source of truth for those names).
    public func applyClustersFile(_ file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw HubError(404, "clusters file '\(file)' cannot be read") }
        let text = String(decoding: data, as: UTF8.self)
        lock.withLock { fileTexts[file] = text }
        let entries = try ClustersFile.parse(text, file: file)
        let changes = try clusterStore.update { registry in
            for entry in entries { registry.upsert(entry.cluster) }
        }
        if !changes.isEmpty { logger.info("clusters from \(file): \(changes.created.count) created, \(changes.updated.count) updated") }
    }

    /// Where the hub runs in a pod: registers `in-cluster` (https://kubernetes.default.svc) with the pod's
    /// service account, as Argo CD always has it, unless a cluster is registered at that server already; an
    /// `in-cluster` it registered itself gets the rotated token. `FLOTILLA_IN_CLUSTER=false` turns this off.
    public func registerInCluster(serviceAccountDirectory: String? = nil) {
        guard ProcessInfo.processInfo.environment["FLOTILLA_IN_CLUSTER"] != "false" else { return }
        let directory = serviceAccountDirectory ?? InCluster.defaultDirectory
        guard let local = InCluster.cluster(directory: directory) else { return }
        if lock.withLock({ inClusterCredentials }) == local.credentials { return }
        do {
            let changes = try clusterStore.update { registry in
                if let existing = registry.clusters.first(where: { $0.server == Cluster.inClusterServer }) {
                    // Only the one the hub registered itself follows the service account.
                    guard existing.annotations[InCluster.annotation] == "auto", existing.credentials != local.credentials else { return }
                    var updated = existing
                    updated.credentials = local.credentials
                    registry.upsert(updated)
                } else if registry[local.name] == nil {
                    registry.upsert(local)
                }
            }
            lock.withLock { inClusterCredentials = local.credentials }
            if !changes.created.isEmpty { logger.info("registered in-cluster (\(Cluster.inClusterServer)) with the pod's service account") }
            if !changes.isEmpty { clustersChanged() }
        } catch {
            logger.error("cannot register in-cluster: \(error)")
        }
    }

    /// After any change to the registry: every ApplicationSet is generated again (selectors may match other
    /// clusters now), and clients of changed clusters are dropped.
    public func clustersChanged() {
        let current = Dictionary(((try? clusterStore.clusters()) ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        lock.withLock {
            clients = clients.filter { current[$0.key] == $0.value.0 }
            unreachable = unreachable.filter { current[$0.key] != nil }
        }
        regenerateAll(wait: false)
    }

    func client(for name: String) throws -> KubeClient {
        if let hit = lock.withLock({ clients[name] }) { return hit.1 }
        guard let cluster = try clusterStore.cluster(named: name) else { throw HubError(404, "cluster '\(name)' is not registered") }
        let client = KubeClient(cluster: cluster, timeout: 30)
        lock.withLock { clients[name] = (cluster, client) }
        return client
    }

    /// Clusters currently failing to answer, with the time and the error.
    public func unreachableClusters() -> [String: (since: Date, error: String)] {
        lock.withLock { unreachable.mapValues { ($0.since, $0.error) } }
    }

    private func markUnreachable(_ cluster: String, error: String) {
        let first = lock.withLock { () -> Bool in
            if unreachable[cluster] != nil { return false }
            unreachable[cluster] = Unreachable(since: Date(), error: error)
            return true
        }
        guard first else { return }
        logger.warning("cluster \(cluster) does not answer: its work waits until a probe succeeds (\(error))")
        pool.block(cluster: cluster)
    }

    /// A probe answered: work held for the cluster runs again.
    func markAnswering(_ cluster: String) {
        let was = lock.withLock { unreachable.removeValue(forKey: cluster) != nil }
        if was { logger.info("cluster \(cluster) answers again") }
        pool.unblock(cluster: cluster)
    }

    /// Queues an Application on the cluster it runs on now (its primary, or where a failover put it).
    /// An Unplaced Application has nowhere to go and is not queued.
    func enqueue(_ app: StoredApplication, priority: SchedulerState<WorkKey>.Priority = .normal) {
        if app.placement?.phase == .unplaced { return }
        pool.add(.app(app.name), cluster: app.activeCluster ?? "", priority: priority)
    }

    // MARK: - ApplicationSets

    /// Every ApplicationSet the hub serves: from files, and added through the API. Files win on a name clash.
    public func applicationSets() -> [ApplicationSet] {
        var byName: [String: ApplicationSet] = [:]
        for (name, object) in (try? store.applicationSets()) ?? [] {
            if let set = try? ApplicationSet(object) { byName[name] = set }
        }
        for (name, file) in lock.withLock({ fileAppSets }) { byName[name] = file.appSet }
        return byName.keys.sorted().map { byName[$0]! }
    }

    public func applicationSet(named name: String) -> ApplicationSet? {
        applicationSets().first { $0.name == name }
    }

    public func applicationSetFile(_ name: String) -> String? { lock.withLock { fileAppSets[name]?.file } }

    public func status(ofApplicationSet name: String) -> ApplicationSetStatus? { lock.withLock { appSetStatus[name] } }

    /// Adds or replaces an ApplicationSet through the API, and generates it before returning.
    /// Returns the plan that was applied.
    public func putApplicationSet(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil) throws -> ApplicationsSyncPlan {
        if let file = applicationSetFile(appSet.name) {
            throw HubError(409, "ApplicationSet '\(appSet.name)' is defined in \(file): change the file instead")
        }
        let plan = try generationQueue.sync { () throws -> ApplicationsSyncPlan in
            // Generate first: an ApplicationSet that cannot generate is refused and nothing is stored.
            let (plan, apps, problems) = try self.plan(appSet, isCancelled: isCancelled, fromAPI: true)
            try store.saveApplicationSet(name: appSet.name, object: appSet.object)
            try self.commit(plan, of: appSet, generated: apps.count, problems: problems)
            return plan
        }
        return plan
    }

    /// Deletes an ApplicationSet added through the API, with its Applications (resources pruned unless
    /// `preserveResourcesOnDeletion`).
    public func deleteApplicationSet(_ name: String) throws {
        if let file = applicationSetFile(name) {
            throw HubError(409, "ApplicationSet '\(name)' is defined in \(file): remove it from the file instead")
        }
        guard let appSet = applicationSet(named: name) else { throw HubError(404, "ApplicationSet '\(name)' not found") }
        try generationQueue.sync {
            try self.removeApplications(of: appSet)
            try store.deleteApplicationSet(name: name)
            _ = lock.withLock { appSetStatus.removeValue(forKey: name) }
        }
    }

    private func removeApplications(of appSet: ApplicationSet) throws {
        let existing = try store.applications(appSet: appSet.name)
        let prune = !appSet.preserveResourcesOnDeletion
        try store.apply(creating: [], updating: [], deleting: existing.map(\.name), appSet: appSet.name, prune: prune)
        for app in existing {
            pool.remove(.app(app.name))
            metrics.forget(app: app.name)
            reconciledAt.withLockedValue { _ = $0.removeValue(forKey: app.name) }
            if prune {
                for cluster in Set([app.cluster, app.placement?.active, app.placement?.pruneAfterHealthy].compactMap { $0 }) {
                    pool.add(.prune(app: app.name, cluster: cluster), cluster: cluster)
                }
            }
        }
        logger.info("ApplicationSet \(appSet.name) removed with \(existing.count) Applications")
    }

    /// Reads the ApplicationSet files and directories of the configuration; applies what changed.
    /// A file that does not parse keeps its previous ApplicationSets and reports the error.
    func reloadApplicationSetFiles(initial: Bool) {
        var found: [String: FileAppSet] = [:]
        var failedFiles: Set<String> = []
        for file in Self.yamlFiles(config.applicationSets) {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            lock.withLock { fileTexts[file] = text }
            do {
                for set in try ApplicationSet.parse(text, file: file) {
                    if let other = found[set.name] {
                        logger.error("ApplicationSet \(set.name) is defined twice: \(other.file) and \(file); the first is used")
                        continue
                    }
                    found[set.name] = FileAppSet(appSet: set, file: file)
                }
            } catch {
                failedFiles.insert(file)
                logger.error("\(error)")
            }
        }
        let previous = lock.withLock { fileAppSets }
        // Keep the ApplicationSets of files that failed to parse, as they were.
        for (name, old) in previous where failedFiles.contains(old.file) && found[name] == nil { found[name] = old }
        lock.withLock { fileAppSets = found }
        if initial { return }
        for (name, old) in previous where found[name] == nil {
            do { try removeApplications(of: old.appSet) } catch { logger.error("removing ApplicationSet \(name): \(error)") }
            _ = lock.withLock { appSetStatus.removeValue(forKey: name) }
        }
        for (name, new) in found where previous[name].map({ $0.appSet.object != new.appSet.object }) ?? true {
            regenerate(new.appSet)
        }
    }

    static func yamlFiles(_ paths: [String]) -> [String] {
        var files: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue { files.append(path); continue }
            let names = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
            for name in names where (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !name.hasPrefix(".") {
                files.append(path.hasSuffix("/") ? path + name : path + "/" + name)
            }
        }
        return files
    }

    /// Polls watched files (ApplicationSets, clusters files) for changes.
    private func watchFiles() {
        if !config.projects.isEmpty { loadProjects() }
        registerInCluster()
        let known = lock.withLock { fileTexts }
        let current = Set(Self.yamlFiles(config.applicationSets))
        var appSetsChanged = Set(known.keys).intersection(Self.yamlFiles(config.applicationSets)).count != current.count
        for file in current {
            let text = FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
            if text != known[file] { appSetsChanged = true }
        }
        for file in known.keys where !current.contains(file) && !config.clusters.contains(file) { appSetsChanged = true }
        if appSetsChanged {
            lock.withLock { for file in known.keys where !config.clusters.contains(file) { fileTexts.removeValue(forKey: file) } }
            reloadApplicationSetFiles(initial: false)
        }
        for file in config.clusters {
            let text = FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
            guard let text, text != known[file] else { continue }
            do {
                try applyClustersFile(file)
                clustersChanged()
            } catch {
                lock.withLock { fileTexts[file] = text }
                logger.error("\(error)")
            }
        }
    }

    /// Generates every ApplicationSet again.
    public func regenerateAll(wait: Bool) {
        let work: @Sendable () -> Void = { [self] in for set in applicationSets() { regenerate(set) } }
        if wait { generationQueue.sync(execute: work) } else { generationQueue.async(execute: work) }
    }

    /// Generates one ApplicationSet and applies the plan. Must run on the generation queue.
    func regenerate(_ appSet: ApplicationSet) {
        do {
            let (plan, apps, problems) = try plan(appSet)
            try commit(plan, of: appSet, generated: apps.count, problems: problems)
        } catch {
            lock.withLock {
                var status = appSetStatus[appSet.name] ?? ApplicationSetStatus()
                status.error = "\(error)"
                appSetStatus[appSet.name] = status
            }
            logger.error("ApplicationSet \(appSet.name): \(error)")
        }
    }

    /// What generating `appSet` now would do to the stored Applications.
    /// `fromAPI`: the ApplicationSet came through the API (or a preview): it may not name repositories on the
    /// hub's filesystem that the configuration does not list.
    /// Applications that fail a check are skipped (`problems`), as Argo CD skips them: the others are planned,
    /// and an existing Application whose new render was skipped is kept as it is.
    public func plan(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil,
                     fromAPI: Bool = false) throws -> (ApplicationsSyncPlan, [Application], [ApplicationProblem]) {
        let apiGit = APIGitSource(inner: git, configured: Set(config.repositories.map { GitMirrorCache.normalize($0.url) }))
        let context = GeneratorContext(clusters: try clusterStore.clusters(), git: fromAPI ? apiGit : git,
                                       templateLimits: renderLimits(isCancelled: isCancelled),
                                       maxApplications: config.limits.applicationsPerApplicationSet)
        let (generated, outcome) = try Generation.outcome(for: appSet, context: context)
        var problems = outcome.problems
        var apps: [Application] = []
        apps.reserveCapacity(generated.count)
        for app in generated {
            if let owner = try store.application(named: app.name), owner.appSet != appSet.name {
                problems.append(ApplicationProblem(reason: .ownedElsewhere, application: app.name,
                                                   message: "Application \(app.name) is owned by ApplicationSet \(owner.appSet), not \(appSet.name)"))
                continue
            }
            apps.append(app)
        }
        if fromAPI {
            for app in apps {
                let spec = app.object["spec"] ?? .object([])
                let sources = spec["sources"]?.arrayValue ?? spec["source"].map { [$0] } ?? []
                for source in sources {
                    if let url = source["repoURL"]?.stringValue, let problem = apiGit.problem(url) {
                        throw HubError(422, "Application \(app.name): \(problem)")
                    }
                }
            }
        }
        var existing: [String: JSONValue] = [:]
        for app in try store.applications(appSet: appSet.name) { existing[app.name] = app.object }
        let skipped = Set(problems.map(\.application).filter { !$0.isEmpty })
        return (ApplicationsSyncPlan(existing: existing, generated: apps, policy: appSet.applicationsSync,
                                     preserveResourcesOnDeletion: appSet.preserveResourcesOnDeletion, skipped: skipped), apps, problems)
    }

    private func commit(_ plan: ApplicationsSyncPlan, of appSet: ApplicationSet, generated: Int, problems: [ApplicationProblem]) throws {
        let clusters = try clusterStore.clusters()
        func stored(_ app: Application) -> StoredApplication {
            StoredApplication(name: app.name, appSet: appSet.name, cluster: Self.cluster(of: app.object, in: clusters), object: app.object)
        }
        let previous = Dictionary(try store.applications(appSet: appSet.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if !plan.isEmpty {
            try store.apply(creating: plan.create.map(stored), updating: plan.update.map(stored), deleting: plan.delete,
                            appSet: appSet.name, prune: plan.pruneOnDelete)
        }
        let messages = problems.map(\.message)
        let before = lock.withLock { () -> [String] in
            let old = appSetStatus[appSet.name]?.problems ?? []
            appSetStatus[appSet.name] = ApplicationSetStatus(generatedAt: Date(), applications: generated, error: nil, problems: messages)
            return old
        }
        // A new set of problems is an event (and a notification); the same problems again are not.
        if messages != before && !messages.isEmpty {
            let summary = messages.count == 1 ? messages[0] : "\(messages.count) Applications skipped: " + messages.prefix(3).joined(separator: "; ")
            event("ApplicationSetProblems", cluster: nil, app: nil, "ApplicationSet \(appSet.name): \(summary)")
        }
        for app in plan.create + plan.update {
            let cluster = Self.cluster(of: app.object, in: clusters) ?? ""
            // A moved Application leaves its old cluster: prune it there.
            if let old = previous[app.name]?.cluster, old != cluster, plan.pruneOnDelete {
                pool.add(.prune(app: app.name, cluster: old), cluster: old)
            }
            if let now = try? store.application(named: app.name) { enqueue(now) }
        }
        for name in plan.delete {
            pool.remove(.app(name))
            metrics.forget(app: name)
            reconciledAt.withLockedValue { _ = $0.removeValue(forKey: name) }
            if plan.pruneOnDelete, let old = previous[name] {
                for cluster in Set([old.cluster, old.placement?.active, old.placement?.pruneAfterHealthy].compactMap { $0 }) {
                    pool.add(.prune(app: name, cluster: cluster), cluster: cluster)
                }
            }
        }
        if !plan.isEmpty {
            logger.info("ApplicationSet \(appSet.name): \(plan.create.count) created, \(plan.update.count) updated, \(plan.delete.count) deleted")
        }
    }

    /// The registered cluster an Application deploys to (by destination name, else server).
    static func cluster(of object: JSONValue, in clusters: [Cluster]) -> String? {
        if let name = object.value(at: ["spec", "destination", "name"])?.stringValue, clusters.contains(where: { $0.name == name }) { return name }
        if let server = object.value(at: ["spec", "destination", "server"])?.stringValue.map(Cluster.normalizeServer) {
            return clusters.first { $0.server == server }?.name
        }
        return nil
    }

    // MARK: - Git

    /// Repositories the hub watches: those ApplicationSets and Applications read.
    func watchedRepositories() -> Set<String> {
        var urls = Set<String>()
        for set in applicationSets() { urls.formUnion(set.repositoryURLs) }
        for app in (try? store.applications()) ?? [] {
            // A `chart:` source names a chart repository, not a git repository: its index is read when rendering.
            for source in Self.sources(of: app.object) where source["chart"] == nil || source["path"] != nil {
                if let url = source["repoURL"]?.stringValue { urls.insert(url) }
            }
        }
        return urls
    }

    static func sources(of object: JSONValue) -> [JSONValue] {
        let spec = object["spec"] ?? .object([])
        return spec["sources"]?.arrayValue ?? spec["source"].map { [$0] } ?? []
    }

    /// Fetches every watched repository (or only `only`), and reacts to new commits.
    /// Must run on the generation queue.
    func pollRepositories(initial: Bool, only: Set<String>? = nil) {
        var urls = watchedRepositories()
        if let only { urls = urls.filter { url in only.contains(GitWebhook.normalize(url)) } }
        var changed: [(url: String, old: [String: String])] = []
        for url in urls.sorted() {
            let location = fetchLocations[GitMirrorCache.normalize(url)] ?? url
            let start = Date()
            do {
                _ = try gitCache.fetch(location, credentials: credentials[GitMirrorCache.normalize(url)])
                metrics.observeFetch(seconds: Date().timeIntervalSince(start), ok: true)
            } catch {
                metrics.observeFetch(seconds: Date().timeIntervalSince(start), ok: false)
                logger.warning("fetch \(GitURL.redacted(url)): \(error)")
                continue
            }
            var old: [String: String] = [:]
            var moved = false
            for revision in revisionsUsed(of: url) {
                guard let commit = try? git.resolve(repoURL: url, revision: revision) else { continue }
                let before = revisions.record(url: url, revision: revision, commit: commit)
                if let before, before != commit { moved = true; old[revision] = before }
            }
            if moved { changed.append((url, old)) }
        }
        guard !initial, !changed.isEmpty else { return }
        let urlsChanged = Set(changed.map(\.url))
        logger.info("new commits in \(urlsChanged.map(GitURL.redacted).sorted().joined(separator: ", "))")
        for set in applicationSets() where !set.repositoryURLs.filter(urlsChanged.contains).isEmpty {
            regenerate(set)
        }
        // Applications whose source directory changed go first; the others keep their turn (their next
        // resync compares them at the new commit anyway).
        var repositories: [String: GitRepository] = [:]
        func repository(_ url: String) -> GitRepository? {
            if let hit = repositories[url] { return hit }
            let location = fetchLocations[GitMirrorCache.normalize(url)] ?? url
            let repo = try? gitCache.open(location, credentials: credentials[GitMirrorCache.normalize(url)])
            repositories[url] = repo
            return repo
        }
        var queued = 0
        for app in (try? store.applications()) ?? [] {
            let changedSource = Self.sources(of: app.object).contains { source in
                guard let url = source["repoURL"]?.stringValue, let entry = changed.first(where: { $0.url == url }) else { return false }
                let revision = source["targetRevision"]?.stringValue ?? "HEAD"
                guard let old = entry.old[revision] else { return false }
                let new = revisions.commit(url: url, revision: revision)
                return Self.sourceChanged(repository(url), path: source["path"]?.stringValue ?? "", old: old, new: new)
            }
            if changedSource {
                enqueue(app, priority: .high)
                queued += 1
            }
        }
        logger.debug("\(queued) Applications queued for the new commits")
    }

    /// Whether the source at `path` may differ between two commits: its directory's object id changed, or it
    /// is a kustomization (which may read files outside its directory), or it cannot be told.
    static func sourceChanged(_ repo: GitRepository?, path: String, old: String, new: String?) -> Bool {
        guard let repo, let new, let a = CommitID(old), let b = CommitID(new) else { return true }
        for name in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            if (try? repo.objectID(of: path + "/" + name, at: b)) != nil { return true }
        }
        guard let before = try? repo.objectID(of: path, at: a), let after = try? repo.objectID(of: path, at: b) else { return true }
        return before != after
    }

    private func revisionsUsed(of url: String) -> Set<String> {
        var revisions: Set<String> = ["HEAD"]
        for app in (try? store.applications()) ?? [] {
            for source in Self.sources(of: app.object) where source["repoURL"]?.stringValue == url {
                revisions.insert(source["targetRevision"]?.stringValue ?? "HEAD")
            }
        }
        return revisions
    }

    /// A verified push: fetch the repositories it names now. Returns the watched repositories it concerned.
    public func handlePush(_ hook: GitWebhook) -> [String] {
        let concerned = watchedRepositories().filter(hook.concerns).sorted()
        if !concerned.isEmpty {
            let only = Set(concerned.map(GitWebhook.normalize))
            generationQueue.async { self.pollRepositories(initial: false, only: only) }
        }
        return concerned
    }

    /// Fetches now every repository the hub watches (the `refresh` of the API), waiting for the result.
    public func refreshRepositories() {
        generationQueue.sync { self.pollRepositories(initial: false) }
    }

    // MARK: - Applications

    /// Queues every Application for a reconcile now (a full resync).
    public func resyncAll() {
        for app in (try? store.applications()) ?? [] { enqueue(app) }
    }

    /// Queues a manual sync: first in line, applied even without `automated`, pruning when asked.
    public func sync(_ name: String, prune: Bool = true, by: String = "api") throws {
        guard let app = try store.application(named: name) else { throw HubError(404, "Application '\(name)' not found") }
        lock.withLock { manual[name] = ManualSync(prune: prune, by: by) }
        enqueue(app, priority: .high)
    }

    /// Compares again now (after fetching its repositories), without forcing a sync.
    public func refresh(_ name: String) throws {
        guard let app = try store.application(named: name) else { throw HubError(404, "Application '\(name)' not found") }
        let repos = Set(Self.sources(of: app.object).compactMap { $0["repoURL"]?.stringValue }.map(GitWebhook.normalize))
        generationQueue.sync { self.pollRepositories(initial: false, only: repos) }
        enqueue(app, priority: .high)
    }

    /// Pins the Application to the revision of history entry `id` and syncs it there. The pin holds, even
    /// under automated sync, until `unpin`.
    public func rollback(_ name: String, to id: Int) throws -> String {
        guard try store.application(named: name) != nil else { throw HubError(404, "Application '\(name)' not found") }
        guard let entry = try store.history(name).first(where: { $0.id == id }) else {
            throw HubError(404, "Application '\(name)' has no history entry \(id) (see `flotilla app history \(name)`)")
        }
        let revision = entry.revision.split(separator: ",").first.map(String.init) ?? entry.revision
        try store.pin(name, revision: revision)
        try sync(name)
        logger.info("Application \(name) rolled back to \(revision) (history \(id)); pinned until unpinned")
        return revision
    }

    public func unpin(_ name: String) throws {
        guard try store.application(named: name) != nil else { throw HubError(404, "Application '\(name)' not found") }
        try store.pin(name, revision: nil)
        try sync(name)
    }

    /// Compares without applying: per-resource diffs against live state.
    public func diff(_ name: String) throws -> ReconcileResult {
        guard let app = try store.application(named: name) else { throw HubError(404, "Application '\(name)' not found") }
        guard let cluster = app.cluster else { throw HubError(409, "Application '\(name)' has no registered destination cluster") }
        return AppSyncer(client: try client(for: cluster), manifests: manifests)
            .reconcile(app.object, pinnedRevision: app.pinnedRevision, dryRun: true, includeDiff: true)
    }

    /// Diff of an Application that is not stored (a preview), against its cluster's live state.
    public func preview(_ app: Application) -> ReconcileResult {
        let clusters = (try? clusterStore.clusters()) ?? []
        guard let cluster = Self.cluster(of: app.object, in: clusters), let client = try? client(for: cluster) else {
            var r = ReconcileResult()
            r.message = "destination is not a registered cluster"
            return r
        }
        return AppSyncer(client: client, manifests: manifests).reconcile(app.object, dryRun: true, includeDiff: true)
    }

    // MARK: - Work

    private func work(_ item: WorkerPool<WorkKey>.Item) -> WorkerPool<WorkKey>.Outcome {
        switch item.key {
        case .app(let name): return reconcile(name)
        case .prune(let app, let cluster): return prune(app: app, cluster: cluster)
        }
    }

    private func jittered(_ seconds: Double) -> Double { seconds * (1 + Double.random(in: 0..<0.1)) }

    private func reconcile(_ name: String) -> WorkerPool<WorkKey>.Outcome {
        let resync = config.resync
        guard let app = (try? store.application(named: name)) ?? nil else { return .init() }
        if app.placement?.phase == .unplaced { return .init() }   // queued again when it is placed
        let request = lock.withLock { manual.removeValue(forKey: name) }
        guard let cluster = app.activeCluster, let client = try? client(for: cluster) else {
            var status = app.status
            status.set("conditions", .array([Self.condition("InvalidDestination", "destination is not a registered cluster")]))
            try? store.setStatus(name, status)
            return .init(requeueAfter: jittered(resync))
        }
        // The project's rules: sources and destination refuse the sync; a closed sync window only compares.
        if let problem = placementProblem(app.object, on: client.cluster) {
            var status = app.status
            status.set("conditions", .array([Self.condition("ProjectViolation", problem)]))
            status.set("sync", .object([("status", .string("Unknown")), ("revisions", .array([]))]))
            try? store.setStatus(name, status)
            metrics.record(app: name, status: status)
            return .init(requeueAfter: jittered(resync))
        }
        let project = project(of: app.object)
        let windowProblem = project?.syncWindowProblem(application: name, namespace: app.object.value(at: ["spec", "destination", "namespace"])?.stringValue ?? "default",
                                                       cluster: cluster, manual: request != nil)
        let started = Date()
        // A sync the last run of the hub began but did not finish (it was killed): its outcome is recorded now.
        let interrupted = app.status.value(at: ["operationState", "phase"])?.stringValue == "Running"
        let startedAt = Self.timestamp(started)
        let result = AppSyncer(client: client, manifests: manifests).reconcile(
            app.object, force: request != nil && windowProblem == nil, pinnedRevision: app.pinnedRevision, dryRun: windowProblem != nil,
            objectProblem: { [cluster = client.cluster] group, kind, namespace in
                if let problem = project?.resourceProblem(group: group, kind: kind, namespaced: namespace != nil) { return problem }
                return cluster.scopeProblem(group: group, kind: kind, namespace: namespace)
            },
            willApply: { [store] revisions in
                // Written before the cluster changes: a hub killed from here on finds it on its next start.
                var running = app.status
                let target = String(revisions.first?.prefix(12) ?? "?")
                let state: [(String, JSONValue)] = [("phase", .string("Running")), ("message", .string("syncing to " + target)),
                                                    ("startedAt", .string(startedAt))]
                running.set("operationState", .object(state))
                try? store.setStatus(name, running)
            })
        let finished = Date()
        metrics.observeReconcile(seconds: finished.timeIntervalSince(started), operation: result.operation?.rawValue)
        if result.clusterUnreachable {
            markUnreachable(cluster, error: result.message)
            if let request { lock.withLock { manual[name] = request } }
            return .init(requeueAfter: 0.5)
        }
        var status = result.status
        // The hooks of the last sync stay shown until the next sync runs (as Argo CD's operationState does).
        if result.operation == nil, result.hooks.isEmpty, let previous = app.status["hooks"] { status.set("hooks", previous) }
        status.set("reconciledAt", .string(Self.timestamp(finished)))
        status.set("cluster", .string(cluster))
        var conditions: [JSONValue] = []
        if let windowProblem { conditions.append(Self.condition("SyncWindow", windowProblem + ": compared only, nothing applied")) }
        switch result.failure {
        case .comparisonError?: conditions.append(Self.condition("ComparisonError", result.message))
        case .projectViolation?: conditions.append(Self.condition("ProjectViolation", String(result.message.dropFirst("ProjectViolation: ".count))))
        case .clusterUnreadable?, .syncError?, nil:
            if result.operation == .failed { conditions.append(Self.condition("SyncError", result.message)) }
        }
        if let pin = app.pinnedRevision {
            status.set("pinnedRevision", .string(pin))
            conditions.append(Self.condition("Pinned", "pinned to \(pin) by a rollback: automated sync stays on this revision until `flotilla app unpin \(name)`"))
        }
        for warning in result.warnings { conditions.append(Self.condition(warning.type, warning.message)) }
        let covered = placementAfterReconcile(app, on: cluster, result: result, status: &status, conditions: &conditions)
        status.set("conditions", .array(conditions))
        var history: SQLiteApplicationStore.SyncEntry?
        if let operation = result.operation?.rawValue, result.syncStatus != .unknown || result.operation == .failed {
            let limit = app.object.value(at: ["spec", "revisionHistoryLimit"]).flatMap { if case .int(let n) = $0 { return n } else { return nil } } ?? 10
            let resources = JSONValue.array(result.resources.filter { $0.action != .none }.map { r in
                .object([("kind", .string(r.ref.kind)), ("namespace", r.ref.namespace.map(JSONValue.string) ?? .null), ("name", .string(r.ref.name)),
                         ("action", .string(r.action.rawValue)), ("message", .string(r.message))])
            })
            history = .init(application: name, revision: result.revisions.joined(separator: ","), startedAt: Self.timestamp(started),
                            finishedAt: Self.timestamp(finished), result: operation, resources: resources, limit: limit)
        }
        var event: HubEvent?
        if result.operation != nil || request != nil || interrupted {
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
            event = HubEvent(type: "Sync", cluster: cluster, application: name, message: message)
        }
        // A resync that found nothing new writes nothing: only the time of the reconcile changes, and that
        // is kept in memory (the API shows the newer of the two). History, event and status go in one transaction:
        // a crash keeps all of them or none.
        var unchangedStatus = status
        unchangedStatus.set("reconciledAt", app.status["reconciledAt"] ?? .null)
        reconciledAt.withLockedValue { $0[name] = status["reconciledAt"]?.stringValue }
        let statusChanged = unchangedStatus != app.status || result.operation != nil || interrupted
        if statusChanged || history != nil || event != nil {
            _ = try? store.finishReconcile(name, status: statusChanged ? status : nil, history: history, event: event)
        }
        metrics.record(app: name, status: status)

        let automated = app.object.value(at: ["spec", "syncPolicy", "automated"]) != nil
        if result.operation == .failed && !covered && (automated || request != nil) {
            let attempt = lock.withLock { () -> Int in attempts[name, default: 0] += 1; return attempts[name]! }
            let policy = (try? RetryPolicy(retry: app.object.value(at: ["spec", "syncPolicy", "retry"]))) ?? .default
            if let delay = policy.delay(beforeRetry: attempt) { return .init(requeueAfter: delay) }
        } else {
            lock.withLock { _ = attempts.removeValue(forKey: name) }
        }
        // Just synced, or workloads still progressing: look again soon (0.1 s, doubling) rather than after a
        // full resync period, so health is reported as soon as it settles.
        if result.operation == .succeeded || result.health.status == .progressing {
            let n = lock.withLock { () -> Int in
                defer { progressChecks[name, default: 0] += 1 }
                return progressChecks[name, default: 0]
            }
            return .init(requeueAfter: min(0.1 * Double(1 << min(n, 12)), jittered(resync)))
        }
        lock.withLock { _ = progressChecks.removeValue(forKey: name) }
        return .init(requeueAfter: jittered(resync))
    }

    private func prune(app: String, cluster: String) -> WorkerPool<WorkKey>.Outcome {
        // The Application came back on this cluster: its resources are its own again.
        if let current = (try? store.application(named: app)) ?? nil, current.activeCluster == cluster {
            try? store.prunePerformed(application: app, cluster: cluster)
            return .init()
        }
        guard let client = try? client(for: cluster) else {
            try? store.prunePerformed(application: app, cluster: cluster)   // the cluster is gone from the registry
            return .init()
        }
        do {
            let result = try Syncer(client: client, application: app).prune(keeping: [])
            if !result.failed.isEmpty { throw HubError(500, result.failed.map { "\($0.0): \($0.1)" }.joined(separator: "; ")) }
            try store.prunePerformed(application: app, cluster: cluster)
            logger.info("pruned \(result.pruned.count) resources of Application \(app) from \(cluster)")
            if (try? store.application(named: app)) ?? nil != nil {
                event("Pruned", cluster: cluster, app: app, "\(result.pruned.count) resources of \(app) pruned from \(cluster)")
            }
            return .init()
        } catch {
            if let kube = error as? KubeError, [.unreachable, .timeout, .tls].contains(kube.code) { markUnreachable(cluster, error: "\(kube)") }
            logger.warning("prune of \(app) on \(cluster): \(error)")
            return .init(requeueAfter: 5)
        }
    }

    static func condition(_ type: String, _ message: String) -> JSONValue {
        .object([("type", .string(type)), ("message", .string(message))])
    }

    static func timestamp(_ date: Date) -> String { Timestamp.rfc3339(date, milliseconds: true) }
}

/// An error with the HTTP status the API answers with.
public struct HubError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { message }
}

/// The commit each (repository URL, revision) resolved to at the last fetch.
final class RevisionBook: @unchecked Sendable {
    // `lock` guards `commits`.
    private let lock = NSLock()
    private var commits: [String: String] = [:]

    func commit(url: String, revision: String) -> String? { lock.withLock { commits[url + "\u{0}" + revision] } }

    /// Records a resolution; returns the previous commit.
    func record(url: String, revision: String, commit: String) -> String? {
        lock.withLock { commits.updateValue(commit, forKey: url + "\u{0}" + revision) }
    }
}

/// Answers `resolve` from the revision book when it knows the revision; everything else goes to `inner`.
struct KnownRevisionsSource: GitSource {
    let inner: any GitSource
    let book: RevisionBook

    func resolve(repoURL: String, revision: String) throws -> String {
        if let known = book.commit(url: repoURL, revision: revision) { return known }
        return try inner.resolve(repoURL: repoURL, revision: revision)
    }

    func tree(repoURL: String, commit: String) throws -> RepoTree { try inner.tree(repoURL: repoURL, commit: commit) }

    func readFile(repoURL: String, commit: String, path: String) throws -> Data {
        try inner.readFile(repoURL: repoURL, commit: commit, path: path)
    }
}

extension Hub {
    /// The time of the Application's last reconcile, newer than its stored status when nothing changed since.
    public func lastReconciled(_ name: String) -> String? { reconciledAt.withLockedValue { $0[name] } }
}
