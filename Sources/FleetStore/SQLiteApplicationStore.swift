import FleetModel
import Foundation
import GRDB


/// Applications and their sync history in the hub's SQLite database (same file and migrations as the
/// cluster registry). Every change is one transaction.
public final class SQLiteApplicationStore: ApplicationStore {
    /// Told of every event after its transaction committed, with its id and time.
    private let eventObserver = Observer<HubEvent>()

    /// `body` is called with every event written from now on, after its transaction committed.
    public func onEvent(_ body: @escaping @Sendable (HubEvent) -> Void) { eventObserver.set(body) }

    /// Told the names of Applications whose row changed (object, status, pin, placement) or went.
    private let changeObserver = Observer<[String]>()

    /// `body` is called with the names of Applications written from now on, after their transaction committed.
    public func onApplicationsChanged(_ body: @escaping @Sendable ([String]) -> Void) { changeObserver.set(body) }

    /// Names and change times of one page of Applications, without reading their objects.
    public func applicationVersions(appSet: String? = nil, cluster: String? = nil, after: String? = nil, limit: Int) throws -> [(name: String, updatedAt: String)] {
        let (sql, arguments) = Self.page("SELECT name, updated_at FROM application", appSet: appSet, cluster: cluster, after: after, limit: limit)
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { ($0["name"], $0["updated_at"]) }
        }
    }

    /// The Applications of `names` that exist, by name.
    public func applications(named names: [String]) throws -> [StoredApplication] {
        if names.isEmpty { return [] }
        return try pool.read { db in
            var result: [StoredApplication] = []
            for chunk in stride(from: 0, to: names.count, by: 500) {
                let part = Array(names[chunk..<min(names.count, chunk + 500)])
                let marks = part.map { _ in "?" }.joined(separator: ",")
                result += try Row.fetchAll(db, sql: "SELECT * FROM application WHERE name IN (\(marks)) ORDER BY name",
                                           arguments: StatementArguments(part)).map(Self.decode)
            }
            return result
        }
    }

    private let pool: DatabasePool
    /// Status writes and the ends of reconciles, committed together when they arrive together.
    private let group: GroupCommit

    /// Events kept: the log is append-only, and its oldest entries go once it holds more than this.
    public let eventRetention: Int

    public init(directory: URL, eventRetention: Int = 200_000) throws {
        pool = try SQLiteClusterStore.sharedPool(directory: directory)
        group = GroupCommit(pool: pool)
        self.eventRetention = max(1000, eventRetention)
    }

    /// On the database the cluster store opened (one connection pool for every store of a hub).
    public init(sharing clusters: SQLiteClusterStore, eventRetention: Int = 200_000) {
        pool = clusters.pool
        group = GroupCommit(pool: pool)
        self.eventRetention = max(1000, eventRetention)
    }

    /// Applications by name; `after` and `limit` read one page (names after `after`, at most `limit`).
    public func applications(appSet: String? = nil, cluster: String? = nil, after: String? = nil, limit: Int? = nil) throws -> [StoredApplication] {
        let (sql, arguments) = Self.page("SELECT * FROM application", appSet: appSet, cluster: cluster, after: after, limit: limit)
        return try pool.read { db in try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.decode) }
    }

    /// `select` with the filters of a list of Applications, ordered by name, one page of it when `limit` is set.
    private static func page(_ select: String, appSet: String?, cluster: String?, after: String?, limit: Int?) -> (String, StatementArguments) {
        var sql = select
        var conditions: [String] = [], arguments: [(any DatabaseValueConvertible)?] = []
        if let appSet { conditions.append("app_set = ?"); arguments.append(appSet) }
        if let cluster { conditions.append("cluster = ?"); arguments.append(cluster) }
        if let after { conditions.append("name > ?"); arguments.append(after) }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY name"
        if let limit { sql += " LIMIT ?"; arguments.append(max(1, limit)) }
        return (sql, StatementArguments(arguments))
    }

    public func application(named name: String) throws -> StoredApplication? {
        // Cached statements: the hot paths of a reconcile are compiled once per connection. One SELECT is atomic on
        // its own: no transaction around it (a read transaction costs a BEGIN and a COMMIT per call).
        try pool.unsafeRead { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM application WHERE name = ?"), arguments: [name]).map(Self.decode) }
    }

    public func applicationTargets() throws -> [ApplicationTarget] {
        try pool.unsafeRead { db in   // one SELECT: atomic without a transaction
            try Row.fetchAll(db, sql: "SELECT name, cluster, placement FROM application ORDER BY name").map {
                ApplicationTarget(name: $0["name"], cluster: $0["cluster"], placement: Placement(storedText: $0["placement"]))
            }
        }
    }

    /// Replaces an ApplicationSet's Applications as a generation plan says, in one transaction. An Application
    /// name owned by another ApplicationSet is refused (the whole plan is), naming both. With `prune`, each
    /// deleted Application that had a cluster leaves a pending prune in the same transaction, so a crash
    /// between the deletion and the prune loses nothing.
    public func apply(creating create: [StoredApplication], updating update: [StoredApplication], deleting delete: [String], appSet: String,
                      prune: Bool = false) throws {
        try pool.write { db in
            let now = Self.now()
            for app in create + update {
                if let owner = try String.fetchOne(db, sql: "SELECT app_set FROM application WHERE name = ?", arguments: [app.name]), owner != appSet {
                    throw StoreError(message: "Application \(app.name) is owned by ApplicationSet \(owner), not \(appSet)")
                }
            }
            for app in create {
                try db.execute(sql: """
                    INSERT INTO application (name, app_set, cluster, object, status, pinned_revision, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [app.name, appSet, app.cluster, app.object.serialized(pretty: false), app.status.serialized(pretty: false), app.pinnedRevision, now, now])
            }
            for app in update {
                // A new primary ends any failover: the Application starts over on it.
                try db.execute(sql: """
                    UPDATE application SET placement = CASE WHEN cluster IS ? THEN placement ELSE NULL END,
                    cluster = ?, object = ?, updated_at = ? WHERE name = ? AND app_set = ?
                    """, arguments: [app.cluster, app.cluster, app.object.serialized(pretty: false), now, app.name, appSet])
            }
            for name in delete {
                if prune, let row = try Row.fetchOne(db, sql: "SELECT cluster, placement FROM application WHERE name = ? AND app_set = ?", arguments: [name, appSet]) {
                    // Its primary, and wherever a failover put it.
                    var clusters: [String] = [row["cluster"] as String?].compactMap { $0 }
                    if let placement = Placement(storedText: row["placement"]) { clusters += [placement.active, placement.pruneAfterHealthy].compactMap { $0 } }
                    for cluster in Set(clusters) {
                        try db.execute(sql: "INSERT OR IGNORE INTO pending_prune (application, cluster, created_at) VALUES (?, ?, ?)", arguments: [name, cluster, now])
                    }
                }
                try db.execute(sql: "DELETE FROM application WHERE name = ? AND app_set = ?", arguments: [name, appSet])
            }
            // An Application that comes back must not lose its resources to an older pending prune.
            for app in create {
                try db.execute(sql: "DELETE FROM pending_prune WHERE application = ?", arguments: [app.name])
            }
        }
        changeObserver.publish((create + update).map(\.name) + delete)
    }

    /// Deleted Applications whose resources still wait to be pruned: (application, cluster).
    public func pendingPrunes() throws -> [(application: String, cluster: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT application, cluster FROM pending_prune ORDER BY created_at, application").map { ($0["application"], $0["cluster"]) }
        }
    }

    /// A pending prune finished.
    public func prunePerformed(application: String, cluster: String) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM pending_prune WHERE application = ? AND cluster = ?", arguments: [application, cluster])
        }
    }

    /// Number of Applications.
    public func count() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM application") ?? 0 }
    }

    // MARK: ApplicationSets added through the API

    /// ApplicationSets added through the API (files are read from disk, not stored), by name.
    public func applicationSets() throws -> [(name: String, object: JSONValue)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, object FROM application_set ORDER BY name").map { row in
                let name: String = row["name"]
                guard let object = try? JSONParser.parse(row["object"] as String) else {
                    throw StoreError(message: "ApplicationSet '\(name)': stored object is not valid JSON")
                }
                return (name, object)
            }
        }
    }

    public func saveApplicationSet(name: String, object: JSONValue) throws {
        try pool.write { db in
            let now = Self.now()
            try db.execute(sql: """
                INSERT INTO application_set (name, object, created_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET object = excluded.object, updated_at = excluded.updated_at
                """, arguments: [name, object.serialized(pretty: false), now, now])
        }
    }

    /// Deletes a stored ApplicationSet; returns whether it existed.
    @discardableResult
    public func deleteApplicationSet(name: String) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM application_set WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    public func setStatus(_ name: String, _ status: JSONValue) throws {
        try group.write { db in
            try db.cachedStatement(sql: "UPDATE application SET status = ?, updated_at = ? WHERE name = ?").execute(arguments: [status.serialized(pretty: false), Self.now(), name])
        }
        changeObserver.publish([name])
    }

    public func pin(_ name: String, revision: String?) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE application SET pinned_revision = ?, updated_at = ? WHERE name = ?", arguments: [revision, Self.now(), name])
        }
        changeObserver.publish([name])
    }

    /// Appends a sync record and keeps the newest `limit` (Argo CD's `revisionHistoryLimit`, default 10).
    @discardableResult
    public func recordSync(_ name: String, revision: String, startedAt: String, finishedAt: String, result: String,
                           resources: JSONValue, limit: Int = 10) throws -> Int {
        try pool.write { db in
            try Self.insertHistory(db, SyncEntry(application: name, revision: revision, startedAt: startedAt, finishedAt: finishedAt,
                                                 result: result, resources: resources, limit: limit))
        }
    }

    public typealias SyncEntry = FleetModel.SyncEntry

    private static func insertHistory(_ db: Database, _ e: SyncEntry) throws -> Int {
        let id = (try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(id) FROM sync_history WHERE application = ?"), arguments: [e.application]) ?? 0) + 1
        try db.cachedStatement(sql: """
            INSERT INTO sync_history (application, id, revision, started_at, finished_at, result, resources, cluster, subject, author)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [e.application, id, e.revision, e.startedAt, e.finishedAt, e.result, e.resources.serialized(pretty: false),
                                     e.cluster, e.commit?.subject, e.commit?.author])
        try db.cachedStatement(sql: "DELETE FROM sync_history WHERE application = ? AND id <= ?").execute(arguments: [e.application, id - max(1, e.limit)])
        return id
    }

    /// The end of a reconcile, in one transaction: its history entry, its `Sync` event and its new status (each
    /// optional). A crash leaves all of them or none. Returns false when the Application is gone.
    @discardableResult
    public func finishReconcile(_ name: String, status: JSONValue?, history: SyncEntry?, event: HubEvent?) throws -> Bool {
        let retention = eventRetention
        var written: HubEvent?
        let exists = try group.write { db -> Bool in
            written = nil
            guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM application WHERE name = ?"), arguments: [name]) != nil else { return false }
            if let history { _ = try Self.insertHistory(db, history) }
            if let event { written = try Self.insert(event, db: db, at: Self.now(), retention: retention) }
            if let status {
                try db.cachedStatement(sql: "UPDATE application SET status = ?, updated_at = ? WHERE name = ?").execute(arguments: [status.serialized(pretty: false), Self.now(), name])
            }
            return true
        }
        if status != nil { changeObserver.publish([name]) }
        if let written { eventObserver.publish(written) }
        return exists
    }

    public func history(_ name: String) throws -> [SyncRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sync_history WHERE application = ? ORDER BY id", arguments: [name]).map { row in
                SyncRecord(id: row["id"], revision: row["revision"], startedAt: row["started_at"], finishedAt: row["finished_at"],
                           result: row["result"], resources: (try? JSONParser.parse(row["resources"] as String)) ?? .array([]),
                           cluster: row["cluster"], subject: row["subject"], author: row["author"])
            }
        }
    }

    private static func decode(_ row: Row) throws -> StoredApplication {
        let name: String = row["name"]
        func json(_ column: String) throws -> JSONValue {
            do { return try JSONParser.parse(row[column] as String) } catch {
                throw StoreError(message: "Application '\(name)': stored \(column) is not valid JSON")
            }
        }
        return StoredApplication(name: name, appSet: row["app_set"], cluster: row["cluster"], object: try json("object"),
                                 status: try json("status"), pinnedRevision: row["pinned_revision"], placement: Placement(storedText: row["placement"]))
    }


    // MARK: Placement

    /// Applications that are not simply on their primary.
    public func placedApplications() throws -> [StoredApplication] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM application WHERE placement IS NOT NULL ORDER BY name").map(Self.decode) }
    }

    public typealias PlacementWrite = FleetModel.PlacementWrite

    /// Changes an Application's placement, in one transaction with the prune it makes due and an event.
    /// A pending prune of the cluster it now runs on is dropped (its objects are its own there again).
    /// Returns false when the Application is gone.
    @discardableResult
    public func setPlacement(_ name: String, _ placement: Placement?, prune: [String] = [], event: HubEvent? = nil) throws -> Bool {
        try writePlacement(name, placement, expected: nil, prune: prune, event: event) == .written
    }

    /// Compare-and-set: changes the placement only if it is still `expected` (nil: on its primary), reading and
    /// writing in one transaction, so the failover monitor and the reconcile workers cannot overwrite each
    /// other's decision with one made from a stale read.
    public func setPlacement(_ name: String, expected: Placement?, to placement: Placement?, prune: [String] = [],
                             event: HubEvent? = nil) throws -> PlacementWrite {
        try writePlacement(name, placement, expected: .some(expected), prune: prune, event: event)
    }

    private func writePlacement(_ name: String, _ placement: Placement?, expected: Placement??, prune: [String], event: HubEvent?) throws -> PlacementWrite {
        let retention = eventRetention
        var written: HubEvent?
        let outcome = try pool.write { db -> PlacementWrite in
            guard let row = try Row.fetchOne(db, sql: "SELECT cluster, placement FROM application WHERE name = ?", arguments: [name]) else { return .gone }
            let primary: String? = row["cluster"]
            if case .some(let wanted) = expected, Placement(storedText: row["placement"]) != wanted { return .conflict }
            let now = Self.now()
            try db.execute(sql: "UPDATE application SET placement = ?, updated_at = ? WHERE name = ?", arguments: [Placement.storedText(placement), now, name])
            if let active = placement.map(\.active) ?? primary {
                try db.execute(sql: "DELETE FROM pending_prune WHERE application = ? AND cluster = ?", arguments: [name, active])
            }
            for cluster in prune {
                try db.execute(sql: "INSERT OR IGNORE INTO pending_prune (application, cluster, created_at) VALUES (?, ?, ?)", arguments: [name, cluster, now])
            }
            if let event { written = try Self.insert(event, db: db, at: now, retention: retention) }
            return .written
        }
        guard outcome == .written else { return outcome }
        changeObserver.publish([name])
        if let written { eventObserver.publish(written) }
        return outcome
    }

    // MARK: Events

    /// Appends an event; returns it with its id and time.
    @discardableResult
    public func appendEvent(_ event: HubEvent) throws -> HubEvent {
        let retention = eventRetention
        let written = try pool.write { db in try Self.insert(event, db: db, at: Self.now(), retention: retention) }
        eventObserver.publish(written)
        return written
    }

    private static func insert(_ e: HubEvent, db: Database, at: String, retention: Int) throws -> HubEvent {
        let time = e.at.isEmpty ? at : e.at
        try db.cachedStatement(sql: "INSERT INTO event (at, type, cluster, application, message, data) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [time, e.type, e.cluster, e.application, e.message, e.data?.serialized(pretty: false)])
        // Trim in batches (every 1,000 events), not on every insert.
        let id = db.lastInsertedRowID
        if id % 1000 == 0 {
            try db.execute(sql: "DELETE FROM event WHERE id <= ?", arguments: [id - Int64(retention)])
        }
        var stored = e
        stored.id = Int(id)
        stored.at = time
        return stored
    }

    /// Events, oldest first: the newest `limit`, filtered by cluster and application, after id `after`.
    public func events(cluster: String? = nil, application: String? = nil, after: Int = 0, limit: Int = 1000) throws -> [HubEvent] {
        try pool.read { db in
            var sql = "SELECT * FROM event WHERE id > ?"
            var arguments: [(any DatabaseValueConvertible)?] = [after]
            if let cluster { sql += " AND cluster = ?"; arguments.append(cluster) }
            if let application { sql += " AND application = ?"; arguments.append(application) }
            sql += " ORDER BY id DESC LIMIT ?"
            arguments.append(max(1, limit))
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).reversed().map { row in
                HubEvent(id: row["id"], at: row["at"], type: row["type"], cluster: row["cluster"], application: row["application"], message: row["message"],
                         data: (row["data"] as String?).flatMap { try? JSONParser.parse($0) })
            }
        }
    }

    // MARK: Cluster state

    public func clusterStates() throws -> [String: ClusterOperationalState] {
        try pool.read { db in
            var result: [String: ClusterOperationalState] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM cluster_state") {
                let health = (row["health"] as String?).flatMap { try? JSONDecoder().decode(ClusterHealth.self, from: Data($0.utf8)) } ?? ClusterHealth()
                result[row["name"]] = ClusterOperationalState(health: health, cordoned: row["cordoned"], drained: row["drained"],
                                                              failbackRequested: row["failback_requested"])
            }
            return result
        }
    }

    /// Writes a cluster's state, with an event in the same transaction.
    public func setClusterState(_ name: String, _ state: ClusterOperationalState, event: HubEvent? = nil) throws {
        let health = String(decoding: try JSONEncoder().encode(state.health), as: UTF8.self)
        let retention = eventRetention
        var written: HubEvent?
        try pool.write { db in
            try db.execute(sql: """
                INSERT INTO cluster_state (name, health, cordoned, drained, failback_requested) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET health = excluded.health, cordoned = excluded.cordoned, drained = excluded.drained,
                failback_requested = excluded.failback_requested
                """, arguments: [name, health, state.cordoned, state.drained, state.failbackRequested])
            if let event { written = try Self.insert(event, db: db, at: Self.now(), retention: retention) }
        }
        if let written { eventObserver.publish(written) }
    }

    static func now() -> String { Timestamp.rfc3339() }
}

/// One observer of what the store wrote (events, changed Applications), called after the transaction committed.
/// `lock` guards `body`.
/// (Also used by the PostgreSQL store.)
public final class Observer<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var body: (@Sendable (Value) -> Void)?
    public init() {}
    public func set(_ body: @escaping @Sendable (Value) -> Void) { lock.withLock { self.body = body } }
    public func publish(_ value: Value) { lock.withLock { body }?(value) }

    /// A function from `Value` to `Result`, set once and read on every call. `lock` guards `body`.
    public final class Slot<Result>: @unchecked Sendable {
        private let lock = NSLock()
        private var body: (@Sendable (Value) -> Result)?
        public init() {}
        public func set(_ body: @escaping @Sendable (Value) -> Result) { lock.withLock { self.body = body } }
        public func get() -> (@Sendable (Value) -> Result)? { lock.withLock { body } }
    }
}
