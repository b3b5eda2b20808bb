/// The port through which everything reads and changes the cluster registry.
///
/// Implementations: SQLite (`FleetStore.SQLiteClusterStore`); a PostgreSQL one for several hub replicas
/// follows the same contract.
public protocol ClusterStore: Sendable {
    /// All clusters, sorted by name.
    func clusters() throws -> [Cluster]

    /// One cluster, or nil.
    func cluster(named name: String) throws -> Cluster?

    /// Reads the registry, lets `body` change it, validates the result as a whole and writes the changes,
    /// all in one transaction. If `body` throws or the result is invalid, nothing is written.
    /// Returns what changed together with `body`'s own result.
    func update<T: Sendable>(_ body: (inout ClusterRegistry) throws -> T) throws -> (T, ClusterChanges)
}

extension ClusterStore {
    /// Convenience for updates whose body returns nothing.
    @discardableResult
    public func update(_ body: (inout ClusterRegistry) throws -> Void) throws -> ClusterChanges {
        try update { (registry: inout ClusterRegistry) -> Bool in
            try body(&registry)
            return true
        }.1
    }
}
