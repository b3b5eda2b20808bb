import FleetConfig
import FleetGit
import FleetKube
import FleetManifests
import FleetModel
import FleetReconcile
import FleetStore
import FleetTemplate
import Foundation
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Where the hub reads git and renders manifests: mirrors in the data directory, credentials and `fetchFrom`
/// of `repositories:`, the revision book, and the manifest loader that reads through it.
struct HubRepositories: Sendable {
    let gitCache: GitMirrorCache
    let git: any GitSource
    let manifests: ManifestLoader
    /// The commit each (repository, revision) resolved to at the last fetch: reconciles use it instead of
    /// opening the repository, so every reconcile between two fetches sees the same commit.
    let revisions = RevisionBook()
    let freshness = RemoteFreshness()
    /// Where each repository URL is fetched from (itself unless `fetchFrom` says otherwise), normalized.
    let fetchLocations: [String: String]
    let credentials: [String: GitCredentials]
    /// Argo CD repository Secrets (`repositorySecrets:`), read again when their files change; the hub's own
    /// `repositories:` win over them.
    let secrets = LiveRepositorySecrets()
    private(set) var charts: ChartRepositories!

    init(config: HubConfiguration, dataDir: URL, kubectl: String, jsonnet: any JsonnetEvaluator,
         isStopping: @escaping @Sendable () -> Bool = { false }) throws {
        gitCache = GitMirrorCache(root: dataDir.appendingPathComponent("git"))
        var locations: [String: String] = [:], creds: [String: GitCredentials] = [:]
        for repo in config.repositories {
            // Matched as Argo CD matches repoURLs: `https://host/org/repo/` and `…/repo.git` are one repository.
            let key = GitURL.matchKey(repo.url)
            if let from = repo.fetchFrom { locations[key] = from }
            if let password = repo.password { creds[key] = GitCredentials(username: repo.username ?? "git", password: password) }
        }
        fetchLocations = locations
        credentials = creds
        let exact = creds
        // A repository's credentials go to URLs within it, compared parsed (scheme, host, port, whole path
        // segments), never to a URL with user information of its own.
        let byPrefix = config.repositories.filter { $0.password != nil }.compactMap { repo in RepositoryURL(repo.url).map { (base: $0, repo: repo) } }
            .sorted { $0.base.path.count > $1.base.path.count }
        let live = secrets
        let mirror = MirrorGitSource(cache: gitCache, fetchOnResolve: false) { url in
            if let hit = exact[GitURL.matchKey(url)] { return hit }
            guard let parsed = RepositoryURL(url), !parsed.hasUserInfo else { return nil }
            return byPrefix.first { parsed.isWithin($0.base) }.map { GitCredentials(username: $0.repo.username ?? "git", password: $0.repo.password!) }
                ?? live.git(url)
        }
        var overrides: [String: any GitSource] = [:]
        for repo in config.repositories {
            if let from = repo.fetchFrom { overrides[repo.url] = AliasGitSource(path: from, inner: mirror) }
        }
        git = overrides.isEmpty ? mirror : RoutingGitSource(overrides: overrides, fallback: mirror)
        var limits = ManifestLoader.Limits()
        limits.subprocessTimeout = config.limits.subprocessTimeout
        limits.maxObjectBytes = config.limits.manifestBytes
        limits.remoteHosts = config.limits.kustomizeRemoteHosts
        // Charts render under the same limits as ApplicationSet templates, with Helm's 1,000 nested includes,
        // a deadline of limits.renderTimeout and a stop when the hub stops.
        limits.template = TemplateLimits(maxSteps: config.limits.templateSteps, maxOutputBytes: config.limits.templateOutputBytes,
                                         maxValueBytes: config.limits.templateOutputBytes, maxDepth: ManifestLoader.Limits().template.maxDepth,
                                         maxDataDepth: config.limits.templateDataDepth, isCancelled: isStopping)
        limits.renderTimeout = config.limits.renderTimeout
        // Work copies live in the data directory (0700), and what a killed hub left there is removed now.
        let work = dataDir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // try? is right here: the directory was created 0700 just above; this tightens an older one.
        try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: work.path)
        ManifestLoader.cleanWorkDirectory(work)
        limits.workDirectory = work
        // Chart repositories take their credentials from `repositories:` (by URL prefix); archives are kept by digest.
        let charts = ChartRepositories(credentials: config.repositories.map { .init(urlPrefix: $0.url, username: $0.username, password: $0.password) },
                                       cacheDirectory: dataDir.appendingPathComponent("charts"), timeout: config.limits.fetchTimeout)
        charts.remoteValueFiles = .configuredRepositories
        charts.allowedHosts = config.limits.chartRepositoryHosts
        self.charts = charts
        manifests = ManifestLoader(git: KnownRevisionsSource(inner: git, book: revisions), kubectl: kubectl, cache: ManifestCache(), limits: limits,
                                   jsonnet: jsonnet, charts: charts)
    }

    func location(_ url: String) -> String { fetchLocations[GitURL.matchKey(url)] ?? url }

    /// Before an ApplicationSet sent through the API (a preview) reads `url`: a repository the watcher does not
    /// follow is fetched, at most every `RemoteFreshness.interval` seconds, so a preview sees its latest commit
    /// rather than the one first seen. A failed fetch leaves the mirror as it was (the read then says why).
    func freshen(_ url: String) {
        guard !revisions.follows(url: url), freshness.due(GitMirrorCache.normalize(url)) else { return }
        // try? is right here: a failed fetch leaves the mirror as it was; the read that follows says why.
        _ = try? gitCache.fetch(location(url), credentials: credentials(url))
    }
    func credentials(_ url: String) -> GitCredentials? { credentials[GitURL.matchKey(url)] ?? secrets.git(url) }

    /// Puts Argo CD repository Secrets in force (git credentials, and Helm repositories for charts).
    func setSecrets(_ book: RepositoryCredentialBook) {
        secrets.set(book)
        charts.setAdded(book.secrets.filter { $0.type == .helm }.map { .init(urlPrefix: $0.url, username: $0.username, password: $0.password) })
    }
}

/// The repository Secrets in force, read by every fetch.
final class LiveRepositorySecrets: @unchecked Sendable {
    private let lock = NSLock()
    private var book = RepositoryCredentialBook()

    func set(_ new: RepositoryCredentialBook) { lock.withLock { book = new } }
    var current: RepositoryCredentialBook { lock.withLock { book } }

    /// Git credentials for `url` from a `repository` Secret or the longest `repo-creds` template.
    func git(_ url: String) -> GitCredentials? {
        guard let secret = current.match(url), secret.type == .git, let password = secret.password else { return nil }
        return GitCredentials(username: secret.username ?? "git", password: password)
    }
}

/// Watches the repositories ApplicationSets and Applications read: polls them every `git.pollInterval`, fetches
/// at once on a verified push webhook, and on a new commit regenerates the ApplicationSets that read the
/// repository and queues first the Applications whose source directory changed.
///
/// Runs on the generation queue of the `ApplicationSetController` (one fetch or generation at a time).
final class GitWatcher: Service, @unchecked Sendable {
    private let context: HubContext
    private let repositories: HubRepositories
    private let appSets: ApplicationSetController
    private let reconciler: ApplicationReconciler
    private let newCommits = NIOLockedValueBox<(@Sendable (Set<String>) -> Void)?>(nil)

    init(context: HubContext, repositories: HubRepositories, appSets: ApplicationSetController, reconciler: ApplicationReconciler) {
        self.context = context
        self.repositories = repositories
        self.appSets = appSets
        self.reconciler = reconciler
    }

    /// Fetches every watched repository once (no reaction: nothing was generated from older commits yet).
    func load() { appSets.queue.sync { poll(initial: true) } }

    /// Once the hub has loaded: polls every `git.pollInterval` on the hub's clock, until the shutdown.
    func run() async throws {
        guard await context.loaded.wait() else { return }
        try await repeatEvery(context.config.gitPollInterval, clock: context.clock, on: appSets.queue) { [weak self] in
            // Replicas: the holder of the generation lease polls (a webhook or a refresh fetches on the replica it reaches).
            guard let self, self.context.shard.holdsGeneration else { return }
            self.poll(initial: false)
        }
    }

    /// Repositories the hub watches: those ApplicationSets and Applications read.
    func watchedRepositories() -> Set<String> {
        var urls = Set<String>()
        for set in appSets.all() { urls.formUnion(set.repositoryURLs) }
        // An unreadable store means no new repositories this round, read again at the next poll.
        for app in context.attempt(.storeRead, "read the Applications for the repositories to watch", { try context.store.applications() }) ?? [] {
            // A `chart:` source names a chart repository, not a git repository: its index is read when rendering.
            for source in HubContext.sources(of: app.object) where source["chart"] == nil || source["path"] != nil {
                if let url = source["repoURL"]?.stringValue { urls.insert(url) }
            }
        }
        return urls
    }

    /// A verified push: fetch the repositories it names now. Returns the watched repositories it concerned.
    func handlePush(_ hook: GitWebhook) -> [String] {
        let concerned = watchedRepositories().filter(hook.concerns).sorted()
        if !concerned.isEmpty {
            let only = Set(concerned.map(GitWebhook.normalize))
            appSets.queue.async { self.poll(initial: false, only: only) }
        }
        return concerned
    }

    /// Fetches now every watched repository (or only `only`), waiting for the result. `announce`: tell the other
    /// replicas of new commits found (not when they told this one).
    func refresh(only: Set<String>? = nil, announce: Bool = true) {
        appSets.queue.sync { poll(initial: false, only: only, announce: announce) }
    }

    /// The same without waiting (an API request's refresh): the fetch runs on the generation queue, then `then`.
    func refreshLater(only: Set<String>, then: @escaping @Sendable () -> Void) {
        appSets.queue.async { [self] in
            poll(initial: false, only: only, announce: true)
            then()
        }
    }

    /// Called with the repositories in which a poll found new commits (replicas: sent to the others).
    func onNewCommits(_ body: @escaping @Sendable (Set<String>) -> Void) { newCommits.withLockedValue { $0 = body } }

    /// Fetches every watched repository (or only `only`), and reacts to new commits.
    private func poll(initial: Bool, only: Set<String>? = nil, announce: Bool = true) {
        dispatchPrecondition(condition: .onQueue(appSets.queue))
        var urls = watchedRepositories()
        if let only { urls = urls.filter { url in only.contains(GitWebhook.normalize(url)) } }
        var changed: [(url: String, old: [String: String])] = []
        // The next poll reads again.
        let applications = context.attempt(.storeRead, "read the Applications for the revisions they use", { try context.store.applications() }) ?? []
        for url in urls.sorted() {
            let start = Date()
            do {
                _ = try repositories.gitCache.fetch(repositories.location(url), credentials: repositories.credentials(url))
                context.metrics.observeFetch(seconds: Date().timeIntervalSince(start), ok: true)
            } catch {
                context.metrics.observeFetch(seconds: Date().timeIntervalSince(start), ok: false)
                context.logger.warning("fetch \(GitURL.redacted(url)): \(error)")
                continue
            }
            var old: [String: String] = [:]
            var moved = false
            for revision in Self.revisionsUsed(of: url, by: applications) {
                // try? is right here: a revision that does not resolve is reported by the reconcile that reads it.
                guard let commit = try? repositories.git.resolve(repoURL: url, revision: revision) else { continue }
                let before = repositories.revisions.record(url: url, revision: revision, commit: commit)
                if let before, before != commit { moved = true; old[revision] = before }
            }
            if moved { changed.append((url, old)) }
        }
        guard !initial, !changed.isEmpty else { return }
        let urlsChanged = Set(changed.map(\.url))
        context.logger.info("new commits in \(urlsChanged.map(GitURL.redacted).sorted().joined(separator: ", "))")
        if announce { newCommits.withLockedValue { $0 }?(urlsChanged) }
        // Replicas: the holder of the generation lease regenerates (told by the others when they found the commits).
        for set in appSets.all() where context.shard.holdsGeneration && !set.repositoryURLs.filter(urlsChanged.contains).isEmpty {
            appSets.regenerate(set)
        }
        // Applications whose source directory changed go first; the others keep their turn (their next
        // resync compares them at the new commit anyway).
        var opened: [String: GitRepository] = [:]
        func repository(_ url: String) -> GitRepository? {
            if let hit = opened[url] { return hit }
            // Without the mirror, every Application of the repository is queued (changed is assumed).
            let repo = context.attempt(.git, "open the mirror of \(url)", metadata: ["repository": "\(url)"]) {
                try repositories.gitCache.open(repositories.location(url), credentials: repositories.credentials(url))
            }
            opened[url] = repo
            return repo
        }
        // Applications under a rollout are all looked at now, changed or not: the rollout's next step waits
        // until each of the earlier ones is known to run the new commit.
        let rolledOut = Set(appSets.all().filter { context.rollouts.rollout(of: $0.name, now: context.now()) != nil }.map(\.name))
        var queued = 0
        // Queueing only: unqueued Applications are compared at their resync.
        for app in context.attempt(.storeRead, "read the Applications to queue after a new commit", { try context.store.applications() }) ?? [] {
            let changedSource = HubContext.sources(of: app.object).contains { source in
                guard let url = source["repoURL"]?.stringValue, let entry = changed.first(where: { $0.url == url }) else { return false }
                let revision = source["targetRevision"]?.stringValue ?? "HEAD"
                guard let old = entry.old[revision] else { return false }
                let new = repositories.revisions.commit(url: url, revision: revision)
                return Self.sourceChanged(repository(url), path: source["path"]?.stringValue ?? "", old: old, new: new)
            }
            if changedSource {
                reconciler.enqueue(app, priority: .high)
                queued += 1
            } else if rolledOut.contains(app.appSet),
                      HubContext.sources(of: app.object).contains(where: { $0["repoURL"]?.stringValue.map(urlsChanged.contains) ?? false }) {
                reconciler.enqueue(app)
                queued += 1
            }
        }
        context.logger.debug("\(queued) Applications queued for the new commits")
    }

    /// Whether the source at `path` may differ between two commits: its directory's object id changed, or it
    /// is a kustomization (which may read files outside its directory), or it cannot be told.
    static func sourceChanged(_ repo: GitRepository?, path: String, old: String, new: String?) -> Bool {
        guard let repo, let new, let a = CommitID(old), let b = CommitID(new) else { return true }
        for name in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            // try? is right here: absent is the answer sought.
            if (try? repo.objectID(of: path + "/" + name, at: b)) != nil { return true }
        }
        // try? is right here: cannot tell: assume it changed.
        guard let before = try? repo.objectID(of: path, at: a), let after = try? repo.objectID(of: path, at: b) else { return true }
        return before != after
    }

    private static func revisionsUsed(of url: String, by applications: [StoredApplication]) -> Set<String> {
        var revisions: Set<String> = ["HEAD"]
        for app in applications {
            for source in HubContext.sources(of: app.object) where source["repoURL"]?.stringValue == url {
                revisions.insert(source["targetRevision"]?.stringValue ?? "HEAD")
            }
        }
        return revisions
    }
}

/// When each repository not followed by the watcher was last fetched for a preview.
final class RemoteFreshness: @unchecked Sendable {
    static let interval: TimeInterval = 10
    // `lock` guards `fetched`.
    private let lock = NSLock()
    private var fetched: [String: Date] = [:]

    /// Whether `url` is due for a fetch now (and records that it is being fetched).
    func due(_ url: String, now: Date = Date()) -> Bool {
        lock.withLock {
            if let last = fetched[url], now.timeIntervalSince(last) < Self.interval { return false }
            if fetched.count > 10_000 { fetched = fetched.filter { now.timeIntervalSince($0.value) < Self.interval } }
            fetched[url] = now
            return true
        }
    }
}

/// The commit each (repository URL, revision) resolved to at the last fetch.
final class RevisionBook: @unchecked Sendable {
    // `lock` guards `commits` and `changes`.
    private let lock = NSLock()
    private var commits: [String: String] = [:]
    private var changes: UInt64 = 0

    func commit(url: String, revision: String) -> String? { lock.withLock { commits[url + "\u{0}" + revision] } }

    /// Whether the watcher follows `url` (some revision of it was recorded).
    func follows(url: String) -> Bool {
        let prefix = url + "\u{0}"
        return lock.withLock { commits.keys.contains { $0.hasPrefix(prefix) } }
    }

    /// Bumped whenever a recorded revision moves to another commit (or is first recorded).
    var generation: UInt64 { lock.withLock { changes } }

    /// Records a resolution; returns the previous commit.
    func record(url: String, revision: String, commit: String) -> String? {
        lock.withLock {
            let before = commits.updateValue(commit, forKey: url + "\u{0}" + revision)
            if before != commit { changes &+= 1 }
            return before
        }
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

    func commitInfo(repoURL: String, commit: String) throws -> CommitInfo? { try inner.commitInfo(repoURL: repoURL, commit: commit) }
}
