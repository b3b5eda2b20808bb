import FleetKube
import FleetModel
import FleetStore
import Foundation

/// The hub's side of each cluster: its API clients (one for reconciles, one with the probe timeout), its probe
/// state and operator flags, and whether work for it is held because it does not answer.
///
/// The one source of truth for "this cluster does not answer": work is held when a reconcile or a prune could
/// not reach it or when its probes made it Unreachable, and released only by a probe that answers. The reconcile
/// pool's blocked clusters follow this record (the caller blocks or unblocks on the change it returns).
final class ClusterConnections: @unchecked Sendable {
    struct Held: Sendable {
        var since: Date
        var error: String
    }

    private let context: HubContext
    // `lock` guards everything below.
    private let lock = NSLock()
    private var clients: [String: (Cluster, KubeClient)] = [:]
    private var probeClients: [String: (Cluster, KubeClient)] = [:]
    private var states: [String: ClusterOperationalState] = [:]
    private var held: [String: Held] = [:]
    private var objectChanged: (@Sendable (_ cluster: String, _ application: String) -> Void)?
    private var watchLost: (@Sendable (_ cluster: String) -> Void)?

    /// Called with a cluster whose watch connection failed (a second signal besides probes).
    func onWatchLost(_ handler: @escaping @Sendable (_ cluster: String) -> Void) {
        lock.withLock { watchLost = handler }
    }

    /// Called with the cluster and Application of every change a cluster's cache sees (not the hub's own
    /// writes); runs on the watch thread.
    func onObjectChange(_ handler: @escaping @Sendable (_ cluster: String, _ application: String) -> Void) {
        lock.withLock { objectChanged = handler }
    }

    init(context: HubContext) {
        self.context = context
    }

    /// The client reconciles use for `name` (registered clusters only).
    func client(for name: String) throws -> KubeClient {
        if let hit = lock.withLock({ clients[name] }) { return hit.1 }
        guard let cluster = try context.clusterStore.cluster(named: name) else { throw HubError(.notFound, "cluster '\(name)' is not registered") }
        let client = KubeClient(cluster: cluster, timeout: 30, execPlugins: context.config.execPlugins)
        if context.shard.replicated {
            client.mayWrite = { [shard = context.shard, metrics = context.metrics] in
                if shard.mayWrite(cluster: name) { return true }
                metrics.observeFencedWrite()
                return false
            }
        }
        if context.config.watch, state(name).health.state == .healthy {
            client.cache = makeCache(client, cluster: name)
        }
        let winner = lock.withLock { () -> KubeClient in
            if let other = clients[name] { return other.1 }
            clients[name] = (cluster, client)
            return client
        }
        if winner !== client { client.cache?.stop() }
        return winner
    }

    /// The client probes use: the probe timeout, its own connections.
    func probeClient(_ cluster: Cluster) -> KubeClient {
        lock.withLock {
            if let hit = probeClients[cluster.name], hit.0 == cluster { return hit.1 }
            let client = KubeClient(cluster: cluster, timeout: context.config.failover.probeTimeout, execPlugins: context.config.execPlugins)
            probeClients[cluster.name] = (cluster, client)
            return client
        }
    }

    /// Stops the cluster's cache and takes it off its client: inventories read the API server.
    func suspendCache(of cluster: String) {
        let client = lock.withLock { clients[cluster]?.1 }
        guard let cache = client?.cache else { return }
        client?.cache = nil
        cache.stop()
    }

    /// Gives the cluster's client a new cache (listed again as inventories ask for kinds) after `suspendCache`.
    func resumeCache(of cluster: String) {
        guard context.config.watch, let client = lock.withLock({ clients[cluster]?.1 }), client.cache == nil else { return }
        client.cache = makeCache(client, cluster: cluster)
    }

    private func makeCache(_ client: KubeClient, cluster name: String) -> ClusterCache {
        let (changed, lost) = lock.withLock { (objectChanged, watchLost) }
        return ClusterCache(client: client, onChange: { application in changed?(name, application) }, onConnectionLost: { lost?(name) })
    }

    /// Objects each cluster's cache holds (clusters with a client and a cache).
    func cachedObjects() -> [String: Int] {
        let caches = lock.withLock { clients.compactMapValues { $0.1.cache } }
        return caches.mapValues(\.objectCount)
    }

    /// Drops clients of clusters removed or changed in the registry (`current`), and what is held for removed ones.
    func registryChanged(_ current: [String: Cluster]) {
        let dropped = lock.withLock { () -> [KubeClient] in
            let gone = clients.filter { current[$0.key] != $0.value.0 }.map(\.value.1)
            clients = clients.filter { current[$0.key] == $0.value.0 }
            held = held.filter { current[$0.key] != nil }
            return gone
        }
        for client in dropped { client.cache?.stop() }
    }

    /// Requests already waiting on a dead cluster end now instead of at their timeout.
    func abortRequests(to cluster: String) {
        let dropped = lock.withLock { clients.removeValue(forKey: cluster) }
        dropped?.1.abortAll()
    }

    // MARK: - Held work

    /// Work for `cluster` is held: it did not answer. Returns true when it was not held before.
    @discardableResult
    func hold(_ cluster: String, error: String) -> Bool {
        lock.withLock {
            if held[cluster] != nil { return false }
            held[cluster] = Held(since: context.now(), error: error)
            return true
        }
    }

    /// A probe answered: work for `cluster` runs again. Returns true when it was held.
    @discardableResult
    func release(_ cluster: String) -> Bool {
        lock.withLock { held.removeValue(forKey: cluster) != nil }
    }

    /// Clusters whose work is held, with the time and the error.
    func heldClusters() -> [String: Held] { lock.withLock { held } }

    // MARK: - Probe state and operator flags

    func state(_ name: String) -> ClusterOperationalState { lock.withLock { states[name] } ?? ClusterOperationalState() }

    func allStates() -> [String: ClusterOperationalState] { lock.withLock { states } }

    /// Replaces every state (loaded from the store at start).
    func load(_ loaded: [String: ClusterOperationalState]) { lock.withLock { states = loaded } }

    /// Replaces one cluster's state (written by another replica).
    func load(_ name: String, _ state: ClusterOperationalState) { lock.withLock { states[name] = state } }

    /// Changes one cluster's state under the lock (a new one starts Healthy now); returns what `change` returns and
    /// the new state.
    func update<T>(_ name: String, _ change: (inout ClusterOperationalState) -> T) -> (T, ClusterOperationalState) {
        let now = context.seconds
        return lock.withLock {
            var state = states[name] ?? ClusterOperationalState(health: ClusterHealth(state: .healthy, since: now))
            let result = change(&state)
            states[name] = state
            return (result, state)
        }
    }
}
