import FleetConfig
import FleetGenerators
import FleetModel
import FleetStore
import Foundation

/// The files the hub watches: ApplicationSet files and directories, clusters files, AppProject files, and the
/// pod's service account (`in-cluster`). A change to any of them regenerates what depends on it.
extension ApplicationSetController {
    /// Reads every watched file once (at start): clusters files (errors stop the start), in-cluster, projects,
    /// ApplicationSet files (errors are logged and the file skipped).
    func load() throws {
        for file in context.config.clusters { try applyClustersFile(file) }
        registerInCluster()
        loadProjects()
        reloadApplicationSetFiles(initial: true)
    }

    /// Checks the watched files every 2 s (at most every `git.pollInterval`) on the hub's clock, once the hub has
    /// loaded, until the shutdown.
    func watchLoop() async throws {
        guard await context.loaded.wait() else { return }
        try await repeatEvery(min(2, context.config.gitPollInterval), clock: context.clock, on: queue) { [weak self] in self?.watchFiles() }
    }

    /// Registers the clusters a clusters file lists (the file is the source of truth for those names).
    func applyClustersFile(_ file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw HubError(.notFound, "clusters file '\(file)' cannot be read") }
        let text = String(decoding: data, as: UTF8.self)
        lock.withLock { fileTexts[file] = text }
        let entries = try ClustersFile.parse(text, file: file)
        try context.checkExecPlugins(entries)
        let changes = try context.clusterStore.update { registry in
            for entry in entries { registry.upsert(entry.cluster) }
        }
        if !changes.isEmpty { context.logger.info("clusters from \(file): \(changes.created.count) created, \(changes.updated.count) updated") }
    }

    /// Where the hub runs in a pod: registers `in-cluster` (https://kubernetes.default.svc) with the pod's
    /// service account, as Argo CD always has it, unless a cluster is registered at that server already; an
    /// `in-cluster` it registered itself gets the rotated token. `FLOTILLA_IN_CLUSTER=false` turns this off.
    func registerInCluster(serviceAccountDirectory: String? = nil) {
        guard ProcessInfo.processInfo.environment["FLOTILLA_IN_CLUSTER"] != "false" else { return }
        let directory = serviceAccountDirectory ?? InCluster.defaultDirectory
        guard let local = InCluster.cluster(directory: directory) else { return }
        if lock.withLock({ inClusterCredentials }) == local.credentials { return }
        do {
            let changes = try context.clusterStore.update { registry in
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
            if !changes.created.isEmpty { context.logger.info("registered in-cluster (\(Cluster.inClusterServer)) with the pod's service account") }
            if !changes.isEmpty { clustersChanged() }
        } catch {
            context.logger.error("cannot register in-cluster: \(error)")
        }
    }

    /// After any change to the registry: every ApplicationSet is generated again (selectors may match other
    /// clusters now), and clients of changed clusters are dropped.
    func clustersChanged() {
        // Compared only to name what changed; the apply below reads and fails loudly.
        let current = Dictionary((context.attempt(.registryRead, "read the registry before a change of the clusters files", { try context.clusterStore.clusters() }) ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        connections.registryChanged(current)
        regenerateAll(wait: false)
    }

    /// Reads the ApplicationSet files and directories of the configuration; applies what changed.
    /// A file that does not parse, or that exists but cannot be read (a directory that cannot be listed), keeps its
    /// previous ApplicationSets and reports the error: only a file that is gone removes its ApplicationSets (and
    /// their Applications).
    func reloadApplicationSetFiles(initial: Bool) {
        var found: [String: FileAppSet] = [:]
        var failedFiles: Set<String> = []
        let listing = HubContext.yamlFileList(context.config.definitionPaths)
        for directory in listing.unlisted {
            context.logger.error("ApplicationSet directory \(directory) cannot be listed: its ApplicationSets are kept as they were")
            context.metrics.observeError(.file)
        }
        for file in listing.files {
            guard let data = FileManager.default.contents(atPath: file) else {
                if FileManager.default.fileExists(atPath: file) {
                    failedFiles.insert(file)
                    // Remembered as seen (with a text no file has), so that its removal later is noticed.
                    lock.withLock { fileTexts[file] = "\u{0}unreadable" }
                    context.logger.error("ApplicationSet file \(file) cannot be read: its ApplicationSets are kept as they were")
                    context.metrics.observeError(.file)
                }
                continue
            }
            let text = String(decoding: data, as: UTF8.self)
            lock.withLock { fileTexts[file] = text }
            do {
                for set in try ApplicationSet.parse(text, file: file) {
                    if let other = found[set.name] {
                        context.logger.error("ApplicationSet \(set.name) is defined twice: \(other.file) and \(file); the first is used")
                        continue
                    }
                    found[set.name] = FileAppSet(appSet: set, file: file)
                }
            } catch {
                failedFiles.insert(file)
                rejected(file, text: text, "its ApplicationSets and Applications are kept as they were: \(error)")
            }
        }
        let previous = lock.withLock { fileAppSets }
        // Keep the ApplicationSets of files that failed to parse or to be read, as they were.
        func unlisted(_ file: String) -> Bool {
            listing.unlisted.contains { file.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
        }
        for (name, old) in previous where (failedFiles.contains(old.file) || unlisted(old.file)) && found[name] == nil { found[name] = old }
        lock.withLock { fileAppSets = found }
        if initial { return }
        for (name, old) in previous where found[name] == nil {
            do { try removeApplications(of: old.appSet) } catch { context.logger.error("removing ApplicationSet \(name): \(error)") }
            forgetStatus(of: name)
        }
        for (_, new) in found where previous[new.appSet.name].map({ $0.appSet.object != new.appSet.object }) ?? true {
            regenerate(new.appSet)
        }
    }

    /// Loads the project files; a project directory that cannot be listed now changes nothing.
    func loadProjects() {
        let listing = HubContext.yamlFileList(context.config.projects)
        guard listing.unlisted.isEmpty else {
            context.logger.error("project directory \(listing.unlisted.joined(separator: ", ")) cannot be listed: the projects are kept as they were")
            context.metrics.observeError(.file)
            return
        }
        for failure in projects.load(files: listing.files) {
            context.metrics.observeError(.file)
            rejected(failure.file, text: failure.text, "its projects are kept as they were: \(failure.error)")
        }
    }

    /// Polls watched files (ApplicationSets, clusters files, projects, the service account) for changes.
    private func watchFiles() {
        dispatchPrecondition(condition: .onQueue(queue))
        // Every replica reconciles, so every replica reads the policies: new ones apply to every Application,
        // each compared (and checked) again.
        if context.reloadPoliciesAndPromotions() { reconciler.resyncAll() }
        // Every replica fetches and renders, so every replica reads the repository Secrets; Applications that
        // could not read a repository compare again with them.
        if let secrets = context.reloadRepositorySecrets() {
            repositories.setSecrets(secrets)
            reconciler.resyncAll()
        }
        guard context.shard.holdsGeneration else { return }   // the replica holding the generation lease watches
        let config = context.config
        if !config.projects.isEmpty { loadProjects() }
        registerInCluster()
        let known = lock.withLock { fileTexts }
        let listing = HubContext.yamlFileList(config.definitionPaths)
        // A directory that cannot be listed now changes nothing: its files are kept as they were.
        let current = Set(listing.files).union(known.keys.filter { file in listing.unlisted.contains { file.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") } })
        var appSetsChanged = Set(known.keys).intersection(current).count != current.count
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
                rejected(file, text: text, "its clusters are kept as they were: \(error)")
            }
        }
    }

    /// A watched file that does not parse, said once per text as a `ConfigurationRejected` event.
    func rejected(_ file: String, text: String, _ message: String) {
        let new = lock.withLock { () -> Bool in
            defer { rejectedTexts[file] = text }
            return rejectedTexts[file] != text
        }
        if new {
            context.logger.error("\(file) not applied; \(message)")
            events.record(.configurationRejected, "\(file) not applied; \(message)")
        }
    }
}
