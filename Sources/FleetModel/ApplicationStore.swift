/// The port through which the hub reads and changes Applications, their history, placements, pending prunes, the
/// event log and cluster states. Every change is one transaction: what it writes together (a deletion and its pending
/// prunes, a placement and its event, a status with its history entry and event) is all kept or all lost.
///
/// Implementations: SQLite (`FleetStore.SQLiteApplicationStore`), in memory (`FleetTesting.InMemoryApplicationStore`,
/// for tests); a PostgreSQL one for several hub replicas follows the same contract
/// (`Tests/FleetStoreTests/ApplicationStoreContractTests.swift` runs the same checks on each).
public protocol ApplicationStore: Sendable {
    /// `body` is called with every event written from now on, after its transaction committed (with its id and time).
    func onEvent(_ body: @escaping @Sendable (HubEvent) -> Void)
    /// `body` is called with the names of Applications written (object, status, pin, placement) or deleted from now on.
    func onApplicationsChanged(_ body: @escaping @Sendable ([String]) -> Void)

    /// Applications by name; `after` and `limit` read one page (names after `after`, at most `limit`).
    func applications(appSet: String?, cluster: String?, after: String?, limit: Int?) throws -> [StoredApplication]
    /// Names and change times of one page of Applications, without reading their objects.
    func applicationVersions(appSet: String?, cluster: String?, after: String?, limit: Int) throws -> [(name: String, updatedAt: String)]
    /// The Applications of `names` that exist, by name.
    func applications(named names: [String]) throws -> [StoredApplication]
    func application(named name: String) throws -> StoredApplication?
    /// Every Application's name, primary and placement, by name (without decoding objects: a full resync's list).
    func applicationTargets() throws -> [ApplicationTarget]
    func count() throws -> Int

    /// Replaces an ApplicationSet's Applications as a generation plan says. A name owned by another ApplicationSet is
    /// refused (the whole plan is). With `prune`, each deleted Application leaves a pending prune of every cluster it
    /// ran on; a created one drops older pending prunes of its name. An update that changes the primary clears the
    /// placement.
    func apply(creating create: [StoredApplication], updating update: [StoredApplication], deleting delete: [String], appSet: String,
               prune: Bool) throws
    /// Pending prunes (application, cluster), oldest first.
    func pendingPrunes() throws -> [(application: String, cluster: String)]
    func prunePerformed(application: String, cluster: String) throws

    /// ApplicationSets added through the API, by name.
    func applicationSets() throws -> [(name: String, object: JSONValue)]
    func saveApplicationSet(name: String, object: JSONValue) throws
    /// Returns whether it existed.
    @discardableResult func deleteApplicationSet(name: String) throws -> Bool

    func setStatus(_ name: String, _ status: JSONValue) throws
    func pin(_ name: String, revision: String?) throws
    /// The end of a reconcile: its history entry, its event and its new status (each optional), together.
    /// Returns false when the Application is gone (nothing written).
    @discardableResult func finishReconcile(_ name: String, status: JSONValue?, history: SyncEntry?, event: HubEvent?) throws -> Bool
    /// An Application's syncs, oldest first (the newest `limit` of each entry's kept).
    func history(_ name: String) throws -> [SyncRecord]

    /// Applications that are not simply on their primary.
    func placedApplications() throws -> [StoredApplication]
    /// Compare-and-set of a placement (nil `expected`: on its primary), with the prunes it makes due and its event.
    /// A pending prune of the cluster it now runs on is dropped.
    func setPlacement(_ name: String, expected: Placement?, to placement: Placement?, prune: [String], event: HubEvent?) throws -> PlacementWrite

    /// Appends an event; returns it with its id and time.
    @discardableResult func appendEvent(_ event: HubEvent) throws -> HubEvent
    /// Events, oldest first: the newest `limit` after id `after`, filtered by cluster and application.
    func events(cluster: String?, application: String?, after: Int, limit: Int) throws -> [HubEvent]

    func clusterStates() throws -> [String: ClusterOperationalState]
    /// Writes a cluster's state, with its event.
    func setClusterState(_ name: String, _ state: ClusterOperationalState, event: HubEvent?) throws
}

extension ApplicationStore {
    public func applications(appSet: String? = nil, cluster: String? = nil, after: String? = nil, limit: Int? = nil) throws -> [StoredApplication] {
        try applications(appSet: appSet, cluster: cluster, after: after, limit: limit)
    }

    public func applicationVersions(appSet: String? = nil, cluster: String? = nil, after: String? = nil, limit: Int) throws -> [(name: String, updatedAt: String)] {
        try applicationVersions(appSet: appSet, cluster: cluster, after: after, limit: limit)
    }

    public func apply(creating create: [StoredApplication], updating update: [StoredApplication], deleting delete: [String], appSet: String) throws {
        try apply(creating: create, updating: update, deleting: delete, appSet: appSet, prune: false)
    }

    public func setPlacement(_ name: String, expected: Placement?, to placement: Placement?) throws -> PlacementWrite {
        try setPlacement(name, expected: expected, to: placement, prune: [], event: nil)
    }

    public func setPlacement(_ name: String, expected: Placement?, to placement: Placement?, event: HubEvent?) throws -> PlacementWrite {
        try setPlacement(name, expected: expected, to: placement, prune: [], event: event)
    }

    public func events(cluster: String? = nil, application: String? = nil, after: Int = 0, limit: Int = 1000) throws -> [HubEvent] {
        try events(cluster: cluster, application: application, after: after, limit: limit)
    }

    public func setClusterState(_ name: String, _ state: ClusterOperationalState) throws { try setClusterState(name, state, event: nil) }
}

/// A sync to record in an Application's history; the newest `limit` entries are kept.
public struct SyncEntry: Sendable {
    public var application: String
    public var revision: String
    public var startedAt: String
    public var finishedAt: String
    public var result: String
    public var resources: JSONValue
    public var limit: Int
    /// The cluster it ran on.
    public var cluster: String?
    /// The commit's author and subject, when the source is a git repository the hub reads.
    public var commit: CommitInfo?

    public init(application: String, revision: String, startedAt: String, finishedAt: String, result: String, resources: JSONValue, limit: Int = 10,
                cluster: String? = nil, commit: CommitInfo? = nil) {
        self.cluster = cluster
        self.commit = commit
        self.application = application
        self.revision = revision
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.result = result
        self.resources = resources
        self.limit = limit
    }
}

/// What a placement write did.
public enum PlacementWrite: Sendable, Equatable {
    case written
    /// The Application is gone.
    case gone
    /// Its placement is no longer the one expected (another writer changed it first): nothing was written.
    case conflict
}
