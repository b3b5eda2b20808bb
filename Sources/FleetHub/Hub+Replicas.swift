import FleetAPI
import FleetModel
import FleetPostgres
import FleetReconcile
import Foundation

/// Several replicas on one PostgreSQL: leases decide who acts for which cluster and who generates; LISTEN/NOTIFY
/// brings the others' changes; an action for a cluster another replica holds is forwarded to it.
extension Hub {
    /// Wires the lease loop, the fencing check and the change feed (PostgreSQL only).
    func setUpReplication() throws {
        guard let postgres = context.postgres else { return }
        let shard = context.shard
        postgres.applications.setFence { cluster in
            let key = Shard.key(cluster: cluster)
            guard shard.isKnown(key) else { return .unchecked }   // not a registered cluster: nobody holds it
            return shard.token(for: key).map { .lease(key: key, token: $0) } ?? .refuse
        }
        postgres.applications.onFenced { [metrics = context.metrics, logger = context.logger] name in
            metrics.observeFencedWrite()
            logger.warning("a write of Application \(name) was refused: this replica no longer holds its cluster")
        }
        gitWatcher.onNewCommits { [weak self] urls in self?.announceCommits(urls) }
        let queue = DispatchQueue(label: "flotilla.remote-changes")
        // Handlers run on the listener's event loop: the work goes to a queue of its own.
        let on: @Sendable (Hub?, @escaping @Sendable (Hub) -> Void) -> Void = { hub, body in
            guard let hub else { return }
            queue.async { body(hub) }
        }
        let feed = PostgresChangeFeed(pool: postgres.pool, origin: shard.replica, handlers: [
            PostgresApplicationStore.channel: { [weak self] names in on(self) { $0.remoteApplicationsChanged(names) } },
            PostgresChangeFeed.registryChannel: { [weak self] _ in on(self) { $0.remoteRegistryChanged() } },
            PostgresChangeFeed.clusterChannel: { [weak self] names in on(self) { $0.remoteClusterStatesChanged(names) } },
            PostgresChangeFeed.requestChannel: { [weak self] lines in on(self) { $0.remoteRequests(lines) } },
            PostgresChangeFeed.gitChannel: { [weak self] urls in on(self) { $0.gitWatcher.refresh(only: Set(urls.map(GitWebhook.normalize)), announce: false) } },
        ], logger: context.logger, onResume: { [weak self] in
            // Notifications sent while the feed was down are lost: read everything again.
            on(self) { hub in
                hub.remoteRegistryChanged()
                hub.reconciler.resyncAll()
            }
        })
        replicas = ReplicaController(context: context, postgres: postgres, feed: feed) { [weak self] gained, lost in self?.leasesChanged(gained: gained, lost: lost) }
    }

    /// Tells the other replicas of new commits (each fetches the repositories and requeues what they changed).
    func announceCommits(_ urls: Set<String>) {
        guard let postgres = context.postgres else { return }
        do {
            try PostgresChangeFeed.send(PostgresChangeFeed.gitChannel, origin: context.shard.replica, names: urls.sorted(), pool: postgres.pool)
        } catch {
            logger.warning("cannot tell the other replicas of new commits: \(error)")
        }
    }

    /// Starts the change feed and takes the first leases (before anything acts); `ReplicaController.run` renews them.
    func startReplication() throws {
        guard let replicas else { return }
        try replicas.feed.start()
        replicas.roundNow()
    }

    /// Leases gained: the clusters' Applications and pending prunes are queued here (another replica changed them
    /// meanwhile: nothing remembered of them holds); the generation lease regenerates everything. Leases lost need
    /// nothing: every reconcile, prune, probe and placement checks the lease when it starts, and every status write
    /// carries its fencing token.
    func leasesChanged(gained: Set<String>, lost: Set<String>) {
        let clusters = Set(gained.filter { $0.hasPrefix("cluster/") }.map { String($0.dropFirst("cluster/".count)) })
        if !clusters.isEmpty {
            // A take-over queues what it can read; the resync covers the rest.
            let targets = (context.attempt(.storeRead, "read the Applications of clusters taken over", { try store.applicationTargets() }) ?? []).filter { $0.activeCluster.map(clusters.contains) ?? false }
            reconciler.memo.drop(targets.map(\.name))
            for target in targets where target.placement?.phase != .unplaced {
                reconciler.pool.add(.app(target.name), cluster: target.activeCluster ?? "")
            }
            // Pending prunes are read again at the next take-over or start.
            let prunes = context.attempt(.storeRead, "read the pending prunes of clusters taken over", { try store.pendingPrunes() }) ?? []
            for (application, cluster) in prunes where clusters.contains(cluster) {
                reconciler.schedulePrune(application, on: cluster)
            }
            // Cluster states are read again at the next fan-out.
            if let states = context.attempt(.storeRead, "read the cluster states", { try store.clusterStates() }) {
                for cluster in clusters { if let state = states[cluster] { connections.load(cluster, state) } }
            }
        }
        if gained.contains(Shard.generationKey) {
            appSets.regenerateAll(wait: false)
        }
    }

    /// Applications another replica wrote: what is cached of them goes, and they are queued (they run only if this
    /// replica holds their cluster); deleted ones leave the queue.
    func remoteApplicationsChanged(_ names: [String]) {
        summaries.drop(names)
        reconciler.memo.drop(names)
        context.board.touch(names)
        // What cannot be read now is read at the next change or resync.
        let found = context.attempt(.storeRead, "read \(names.count) Applications another replica changed", { try store.applications(named: names) }) ?? []
        let present = Set(found.map(\.name))
        for app in found {
            context.metrics.record(app: app.name, status: app.status)
            if context.shard.holds(cluster: app.activeCluster) { reconciler.enqueue(app) }
        }
        for name in names where !present.contains(name) { reconciler.deleted(name) }
    }

    /// The cluster registry changed through another replica.
    func remoteRegistryChanged() {
        // Read again at the next change.
        let current = Dictionary((context.attempt(.registryRead, "read the registry another replica changed", { try clusterStore.clusters() }) ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        connections.registryChanged(current)
        if context.shard.holdsGeneration { appSets.regenerateAll(wait: false) }
    }

    /// Cluster states written by another replica (its probes, a cordon or drain through its API): read them, and
    /// decide placements for the clusters this replica holds.
    func remoteClusterStatesChanged(_ names: [String]) {
        // Read again at the next change.
        guard let states = context.attempt(.storeRead, "read the cluster states another replica changed", { try store.clusterStates() }) else { return }
        for name in names { if let state = states[name] { connections.load(name, state) } }
        failover.queue.async { [failover] in failover.evaluatePlacements() }
    }

    /// Requests forwarded by other replicas (`ReplicaRequest`), acted on by the holder of the Application's cluster.
    func remoteRequests(_ lines: [String]) {
        for line in lines {
            guard let request = ReplicaRequest(encoded: line) else {
                logger.warning("a forwarded request this replica cannot read was dropped", metadata: ["request": "\(line.prefix(200))"])
                continue
            }
            let name = request.application
            // A forwarded request for an Application gone meanwhile (or unreadable) is dropped.
            guard let app = context.attempt(.storeRead, "read Application \(name) for a forwarded request", { try store.application(named: name) }) ?? nil,
                  context.shard.holds(cluster: app.activeCluster) else { continue }
            switch request {
            case .sync(_, let prune, let by):
                logger.info("sync forwarded by another replica", metadata: ["application": "\(name)", "by": "\(by)"])
                // The asking replica answered 202 already: a failure here is logged.
                do { try reconciler.sync(name, prune: prune, by: by) } catch {
                    logger.warning("forwarded sync failed", metadata: ["application": "\(name)", "error": "\(error)"])
                }
            case .terminate(_, let by):
                logger.info("terminate-op forwarded by another replica", metadata: ["application": "\(name)", "by": "\(by)"])
                do { try reconciler.terminate(name, by: by) } catch {
                    logger.warning("forwarded terminate-op failed", metadata: ["application": "\(name)", "error": "\(error)"])
                }
            case .refresh:
                reconciler.memo.drop([app.name])
                reconciler.enqueue(app, priority: .high)
            }
        }
    }

    /// Whether `app` runs on a cluster another replica holds (its commands go there).
    func heldElsewhere(_ app: StoredApplication) -> Bool { context.shard.replicated && !context.shard.holds(cluster: app.activeCluster) }

    /// Sends a request to the replica holding the Application's cluster.
    func forward(_ request: ReplicaRequest) throws {
        guard let postgres = context.postgres else { return }
        try PostgresChangeFeed.send(PostgresChangeFeed.requestChannel, origin: context.shard.replica, names: [request.encoded], pool: postgres.pool)
    }

    /// A manual sync: run here when this replica holds the Application's cluster, else forwarded to the replica
    /// that does (through the database).
    func syncAnywhere(_ name: String, prune: Bool, by: String) throws {
        guard context.shard.replicated else { return try reconciler.sync(name, prune: prune, by: by) }
        guard let app = try store.application(named: name) else { throw HubError(.notFound, "Application '\(name)' not found") }
        if !heldElsewhere(app) { return try reconciler.sync(name, prune: prune, by: by) }
        logger.info("sync of \(name) forwarded to the replica holding cluster \(app.activeCluster ?? "?")")
        try forward(.sync(application: name, prune: prune, by: by))
    }
}

extension Hub {
    /// Every replica with a heartbeat, its lag and the leases it holds (one replica on SQLite: this one, holding all).
    public func replicaList() throws -> [ReplicaInfo] {
        guard let postgres = context.postgres else {
            return [ReplicaInfo(name: ProcessInfo.processInfo.hostName, address: config.listen, heartbeatAge: 0, live: true,
                                leases: ["*"], isSelf: true)]
        }
        let snapshot = try postgres.leases.snapshot()
        let duration = config.lease.duration
        var leases: [String: [String]] = [:]
        for (key, lease) in snapshot.leases where lease.isHeld(at: snapshot.now) { leases[lease.holder, default: []].append(key) }
        let names = Set(snapshot.heartbeats.keys).union(leases.keys)
        return names.sorted().map { name in
            let age = snapshot.heartbeats[name].map { max(0, snapshot.now - $0) } ?? .infinity
            return ReplicaInfo(name: name, address: snapshot.addresses[name] ?? "", heartbeatAge: age.isFinite ? (age * 1000).rounded() / 1000 : -1,
                               live: age < duration, leases: (leases[name] ?? []).sorted(), isSelf: name == context.shard.replica)
        }
    }
}
