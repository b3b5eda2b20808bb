import FleetConfig
import FleetGenerators
import FleetGit
import FleetModel
import FleetReconcile
import FleetStore
import Foundation
import ServiceLifecycle

/// Keeps the stored Applications equal to what the ApplicationSets generate: ApplicationSets from files and from
/// the API → generation → one transaction per ApplicationSet (deletions with their pending prunes) → the
/// Applications created, changed or moved are queued on the reconciler.
///
/// Owns the generation queue: every generation (and every git fetch, see `GitWatcher`) runs there, one at a
/// time; `regenerate` checks that it does. Owns the ApplicationSets read from files and each ApplicationSet's
/// status (under `lock`).
public final class ApplicationSetController: Service, @unchecked Sendable {
    public struct Status: Sendable {
        public var generatedAt: Date?
        public var applications: Int = 0
        public var error: String?
        /// Applications skipped at the last generation, each with its reason (Argo CD's ErrorOccurred).
        public var problems: [String] = []
    }

    struct FileAppSet {
        let appSet: ApplicationSet
        let file: String
    }

    let context: HubContext
    let repositories: HubRepositories
    let reconciler: ApplicationReconciler
    let events: EventLog
    let connections: ClusterConnections
    let projects: ProjectBook
    /// Generations and git fetches run here, one at a time.
    let queue = DispatchQueue(label: "flotilla.hub.generation")

    // `lock` guards everything below.
    let lock = NSLock()
    var fileAppSets: [String: FileAppSet] = [:]
    private var statuses: [String: Status] = [:]
    /// Watched file → its text when last read (ApplicationSet files and clusters files).
    var fileTexts: [String: String] = [:]
    /// Watched file → the text last refused (said once).
    var rejectedTexts: [String: String] = [:]
    /// The service-account credentials last registered for `in-cluster` (checked again every few seconds).
    var inClusterCredentials: ClusterCredentials?

    init(context: HubContext, repositories: HubRepositories, reconciler: ApplicationReconciler, events: EventLog,
         connections: ClusterConnections, projects: ProjectBook) {
        self.context = context
        self.repositories = repositories
        self.reconciler = reconciler
        self.events = events
        self.connections = connections
        self.projects = projects
    }

    public func run() async throws { try await watchLoop() }

    // MARK: - ApplicationSets

    /// Every ApplicationSet the hub serves: from files, and added through the API. Files win on a name clash.
    func all() -> [ApplicationSet] {
        var byName: [String: ApplicationSet] = [:]
        // A read for lookups (rollouts, failover annotations); the generation path reads with errors.
        let stored = context.attempt(.storeRead, "read the ApplicationSets", { try context.store.applicationSets() }) ?? []
        for (name, object) in stored {
            // try? is right here: stored sets were validated when written; one this version cannot read is left out of lookups.
            if let set = try? ApplicationSet(object) { byName[name] = set }
        }
        for (name, file) in lock.withLock({ fileAppSets }) { byName[name] = file.appSet }
        return byName.keys.sorted().map { byName[$0]! }
    }

    func named(_ name: String) -> ApplicationSet? { all().first { $0.name == name } }

    func file(of name: String) -> String? { lock.withLock { fileAppSets[name]?.file } }

    func status(of name: String) -> Status? { lock.withLock { statuses[name] } }

    /// Adds or replaces an ApplicationSet through the API, and generates it before returning the plan applied.
    func put(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil) throws -> ApplicationsSyncPlan {
        if let file = file(of: appSet.name) {
            throw HubError(.conflict, "\(appSet.title) is defined in \(file): change the file instead")
        }
        return try queue.sync { () throws -> ApplicationsSyncPlan in
            // Generate first: an ApplicationSet that cannot generate is refused and nothing is stored.
            let (plan, apps, problems) = try self.plan(appSet, isCancelled: isCancelled, fromAPI: true)
            // An Application written directly is one object: refused whole (its project, destination, name), never
            // stored and reported as created.
            if appSet.standalone, let problem = problems.first {
                throw HubError(problem.reason == .ownedElsewhere ? .conflict : .invalid, problem.message)
            }
            try context.store.saveApplicationSet(name: appSet.name, object: appSet.object)
            try self.commit(plan, of: appSet, generated: apps.count, problems: problems)
            return plan
        }
    }

    /// Deletes an ApplicationSet added through the API, with its Applications (resources pruned unless
    /// `preserveResourcesOnDeletion`).
    func delete(_ name: String) throws {
        let title = name.hasPrefix(ApplicationSet.standalonePrefix) ? "Application '\(name.dropFirst(ApplicationSet.standalonePrefix.count))'" : "ApplicationSet '\(name)'"
        if let file = file(of: name) {
            throw HubError(.conflict, "\(title) is defined in \(file): remove it from the file instead")
        }
        guard let appSet = named(name) else { throw HubError(.notFound, "\(title) not found") }
        try queue.sync {
            try self.removeApplications(of: appSet)
            try context.store.deleteApplicationSet(name: name)
            context.rollouts.forget(name)
            _ = lock.withLock { statuses.removeValue(forKey: name) }
        }
    }

    func removeApplications(of appSet: ApplicationSet) throws {
        let existing = try context.store.applications(appSet: appSet.name)
        let prune = !appSet.preserveResourcesOnDeletion
        try context.store.apply(creating: [], updating: [], deleting: existing.map(\.name), appSet: appSet.name, prune: prune)
        for app in existing { reconciler.deleted(app, prune: prune) }
        context.logger.info("\(appSet.title) removed with \(existing.count) Applications")
    }

    func forgetStatus(of name: String) { _ = lock.withLock { statuses.removeValue(forKey: name) } }

    /// Generates every ApplicationSet again.
    func regenerateAll(wait: Bool) {
        let work: @Sendable () -> Void = { [self] in
            guard context.shard.holdsGeneration else { return }   // the replica holding the generation lease generates
            for set in all() { regenerate(set) }
        }
        if wait { queue.sync(execute: work) } else { queue.async(execute: work) }
    }

    /// Generates one ApplicationSet and applies the plan. Runs on the generation queue.
    func regenerate(_ appSet: ApplicationSet) {
        dispatchPrecondition(condition: .onQueue(queue))
        do {
            let (plan, apps, problems) = try plan(appSet)
            try commit(plan, of: appSet, generated: apps.count, problems: problems)
        } catch {
            lock.withLock {
                var status = statuses[appSet.name] ?? Status()
                status.error = "\(error)"
                statuses[appSet.name] = status
            }
            context.logger.error("ApplicationSet \(appSet.name): \(error)")
        }
    }

    /// What generating `appSet` now would do to the stored Applications.
    /// `fromAPI`: the ApplicationSet came through the API (or a preview): it may not name repositories on the
    /// hub's filesystem that the configuration does not list.
    /// Applications that fail a check are skipped (`problems`), as Argo CD skips them: the others are planned,
    /// and an existing Application whose new render was skipped is kept as it is.
    func plan(_ appSet: ApplicationSet, isCancelled: (@Sendable () -> Bool)? = nil,
              fromAPI: Bool = false) throws -> (ApplicationsSyncPlan, [Application], [ApplicationProblem]) {
        let store = context.store
        // A strategy the hub cannot carry out is refused, never ignored.
        _ = try RollingSync.parse(appSet.strategy)
        let apiGit = APIGitSource(inner: repositories.git, configured: Set(context.config.repositories.map { GitURL.matchKey($0.url) }),
                                  beforeResolve: { [repositories] url in repositories.freshen(url) })
        let generatorContext = GeneratorContext(clusters: try context.clusterStore.clusters(), git: fromAPI ? apiGit : repositories.git,
                                                templateLimits: context.renderLimits(isCancelled: isCancelled),
                                                maxApplications: context.config.limits.applicationsPerApplicationSet,
                                                controlPlane: context.hubOnlyControlPlane(try context.clusterStore.clusters()))
        let (generated, outcome) = try Generation.outcome(for: appSet, context: generatorContext)
        var problems = outcome.problems
        if let order = appSet.strategy?["deletionOrder"]?.stringValue, order != "AllAtOnce" {
            problems.append(ApplicationProblem(reason: .unsupportedSetting, application: "",
                                               message: "spec.strategy.deletionOrder: \(order) is not carried out: deleting this ApplicationSet deletes its Applications together"))
        }
        var apps: [Application] = []
        apps.reserveCapacity(generated.count)
        for app in generated {
            if let owner = try store.application(named: app.name), owner.appSet != appSet.name {
                problems.append(ApplicationProblem(reason: .ownedElsewhere, application: app.name,
                                                   message: "Application \(app.name) is owned by \(ApplicationSet.ownerTitle(owner.appSet)), not \(ApplicationSet.ownerTitle(appSet.name))"))
                continue
            }
            // As Argo CD's ApplicationSet controller: an Application whose project does not exist is not created.
            if projects.project(of: app.object) == nil {
                let project = app.object.value(at: ["spec", "project"])?.stringValue ?? "default"
                problems.append(ApplicationProblem(reason: .unknownProject, application: app.name,
                                                   message: "Application \(app.name): app is not allowed in project \"\(project)\", or the project does not exist"))
                continue
            }
            apps.append(app)
        }
        if fromAPI {
            for app in apps {
                for source in HubContext.sources(of: app.object) {
                    if let url = source["repoURL"]?.stringValue, let problem = apiGit.problem(url) {
                        throw HubError(.invalid, "Application \(app.name): \(problem)")
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
        context.rollouts.forget(appSet.name)
        let store = context.store
        let clusters = try context.clusterStore.clusters()
        let plane = context.hubOnlyControlPlane(clusters)
        func stored(_ app: Application) -> StoredApplication {
            StoredApplication(name: app.name, appSet: appSet.name, cluster: HubContext.cluster(of: app.object, in: clusters, controlPlane: plane), object: app.object)
        }
        let previous = Dictionary(try store.applications(appSet: appSet.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if !plan.isEmpty {
            try store.apply(creating: plan.create.map(stored), updating: plan.update.map(stored), deleting: plan.delete,
                            appSet: appSet.name, prune: plan.pruneOnDelete)
        }
        let messages = problems.map(\.message)
        let before = lock.withLock { () -> [String] in
            let old = statuses[appSet.name]?.problems ?? []
            statuses[appSet.name] = Status(generatedAt: context.now(), applications: generated, error: nil, problems: messages)
            return old
        }
        // A new set of problems is an event (and a notification); the same problems again are not.
        if messages != before && !messages.isEmpty {
            let summary = messages.count == 1 ? messages[0] : "\(messages.count) Applications skipped: " + messages.prefix(3).joined(separator: "; ")
            events.record(.applicationSetProblems, "\(appSet.title): \(summary)")
        }
        for app in plan.create + plan.update {
            let cluster = HubContext.cluster(of: app.object, in: clusters, controlPlane: plane) ?? ""
            // A moved Application leaves its old cluster: prune it there.
            if let old = previous[app.name]?.cluster, old != cluster, plan.pruneOnDelete {
                reconciler.schedulePrune(app.name, on: old)
            }
            // Queues what was just written; one gone meanwhile needs no reconcile, one unreadable waits for its resync.
            if let now = context.attempt(.storeRead, "read Application \(app.name) to queue it", { try store.application(named: app.name) }) ?? nil { reconciler.enqueue(now) }
        }
        for name in plan.delete {
            if let old = previous[name] { reconciler.deleted(old, prune: plan.pruneOnDelete) } else { reconciler.deleted(name) }
        }
        if !plan.isEmpty {
            context.logger.info("\(appSet.title): \(plan.create.count) created, \(plan.update.count) updated, \(plan.delete.count) deleted")
        }
    }
}
