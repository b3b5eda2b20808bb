import FleetModel
import FleetStore
import Foundation
import PostgresNIO

/// Applications, their history, placements, pending prunes, events and cluster states in PostgreSQL: the same
/// contract as `SQLiteApplicationStore` (`Tests/FleetStoreTests/ApplicationStoreContractTests.swift` runs the same
/// checks on both). Every change is one transaction; a read that decides a write locks its row (`FOR UPDATE`), so
/// replicas writing at once cannot overwrite each other's decisions.
///
/// Each write also sends the names it changed on the `flotilla_applications` channel (delivered at commit): the
/// other replicas' `PostgresChangeFeed` tells their observers, so their caches and schedulers follow.
public final class PostgresApplicationStore: ApplicationStore {
    /// The channel every replica listens on for changed Applications.
    public static let channel = "flotilla_applications"

    let pool: PostgresPool
    /// This replica's id, sent with each change so that it ignores its own notifications.
    public let origin: String
    public let eventRetention: Int
    private let eventObserver = Observer<HubEvent>()
    let changeObserver = Observer<[String]>()

    public init(pool: PostgresPool, origin: String, eventRetention: Int = 200_000) {
        self.pool = pool
        self.origin = origin
        self.eventRetention = max(1000, eventRetention)
    }

    /// What a reconcile's write of an Application on `cluster` must prove: nothing, or the lease `key` at `token`
    /// (held by this replica and unexpired on the database's clock), or nothing can prove it (not held).
    public enum FenceDecision: Sendable, Equatable {
        case unchecked
        case lease(key: String, token: Int64)
        case refuse
    }

    private let fence = Observer<String>.Slot<FenceDecision>()
    private let fencedObserver = Observer<String>()

    /// Status writes and reconcile endings check the lease of the Application's active cluster with `decide`
    /// (replicas); without it nothing is checked (one replica).
    public func setFence(_ decide: @escaping @Sendable (String) -> FenceDecision) { fence.set(decide) }

    /// `body` is called with the Application of every write the fencing check refused.
    public func onFenced(_ body: @escaping @Sendable (String) -> Void) { fencedObserver.set(body) }

    /// Within a write's transaction, with the Application's row locked: refuses the write when the writer's lease
    /// of its active cluster has moved on. Returns false when the Application is gone.
    private func checkFence(_ name: String, _ db: PostgresPool.Connection) throws -> Bool {
        guard let row = try db.query("SELECT cluster, placement FROM application WHERE name = \(name) FOR UPDATE").first else { return false }
        guard let decide = fence.get() else { return true }
        let r = row.makeRandomAccess()
        let primary = try r.optionalText("cluster")
        guard let cluster = Placement(storedText: try r.optionalText("placement"))?.active ?? primary else { return true }
        let admitted: Bool
        switch decide(cluster) {
        case .unchecked: admitted = true
        case .refuse: admitted = false
        case .lease(let key, let token): admitted = try PostgresLeaseStore.admits(db, key: key, token: token, replica: origin)
        }
        if !admitted {
            var error = StoreError(message: "write of Application \(name) refused: this replica (\(origin)) no longer holds the lease of cluster \(cluster)")
            error.fenced = true
            throw error
        }
        return true
    }

    /// Counts a refused write (in its own transaction: the refused one rolled back) and tells the observer.
    private func fenced(_ name: String) {
        _ = try? pool.withConnection { db in
            try db.execute("INSERT INTO fenced_write (replica, count) VALUES (\(origin), 1) ON CONFLICT (replica) DO UPDATE SET count = fenced_write.count + 1")
        }
        fencedObserver.publish(name)
    }

    public func onEvent(_ body: @escaping @Sendable (HubEvent) -> Void) { eventObserver.set(body) }
    public func onApplicationsChanged(_ body: @escaping @Sendable ([String]) -> Void) { changeObserver.set(body) }

    // MARK: Reads

    public func applications(appSet: String?, cluster: String?, after: String?, limit: Int?) throws -> [StoredApplication] {
        let query = Self.page("SELECT * FROM application", appSet: appSet, cluster: cluster, after: after, limit: limit)
        return try pool.withConnection { db in try db.query(query).map(Self.decode) }
    }

    public func applicationVersions(appSet: String?, cluster: String?, after: String?, limit: Int) throws -> [(name: String, updatedAt: String)] {
        let query = Self.page("SELECT name, updated_at FROM application", appSet: appSet, cluster: cluster, after: after, limit: limit)
        return try pool.withConnection { db in
            try db.query(query).map { row in
                let r = row.makeRandomAccess()
                return (try r.text("name"), try r.text("updated_at"))
            }
        }
    }

    private static func page(_ select: String, appSet: String?, cluster: String?, after: String?, limit: Int?) -> PostgresQuery {
        var sql = select
        var binds = PostgresBindings()
        var conditions: [String] = []
        if let appSet { binds.append(appSet); conditions.append("app_set = $\(binds.count)") }
        if let cluster { binds.append(cluster); conditions.append("cluster = $\(binds.count)") }
        if let after { binds.append(after); conditions.append("name > $\(binds.count)") }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY name"
        if let limit { binds.append(max(1, limit)); sql += " LIMIT $\(binds.count)" }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    public func applications(named names: [String]) throws -> [StoredApplication] {
        if names.isEmpty { return [] }
        return try pool.withConnection { db in
            try db.query("SELECT * FROM application WHERE name = ANY(\(names)) ORDER BY name").map(Self.decode)
        }
    }

    public func application(named name: String) throws -> StoredApplication? {
        try pool.withConnection { db in try db.query("SELECT * FROM application WHERE name = \(name)").first.map(Self.decode) }
    }

    public func applicationTargets() throws -> [ApplicationTarget] {
        try pool.withConnection { db in
            try db.query("SELECT name, cluster, placement FROM application ORDER BY name").map { row in
                let r = row.makeRandomAccess()
                return ApplicationTarget(name: try r.text("name"), cluster: try r.optionalText("cluster"), placement: Placement(storedText: try r.optionalText("placement")))
            }
        }
    }

    public func count() throws -> Int {
        try pool.withConnection { db in try db.query("SELECT COUNT(*) AS n FROM application").first?.makeRandomAccess().get("n", as: Int.self) ?? 0 }
    }

    // MARK: Generation

    public func apply(creating create: [StoredApplication], updating update: [StoredApplication], deleting delete: [String], appSet: String,
                      prune: Bool) throws {
        let changed = (create + update).map(\.name) + delete
        try pool.transaction { db in
            let now = Timestamp.rfc3339()
            let names = (create + update).map(\.name)
            if !names.isEmpty {
                for row in try db.query("SELECT name, app_set FROM application WHERE name = ANY(\(names)) FOR UPDATE") {
                    let r = row.makeRandomAccess()
                    let owner = try r.text("app_set")
                    if owner != appSet { throw StoreError(message: "Application \(try r.text("name")) is owned by ApplicationSet \(owner), not \(appSet)") }
                }
            }
            for app in create {
                do {
                    try db.execute("""
                        INSERT INTO application (name, app_set, cluster, object, status, pinned_revision, created_at, updated_at)
                        VALUES (\(app.name), \(appSet), \(app.cluster), \(app.object.serialized(pretty: false)), \(app.status.serialized(pretty: false)),
                                \(app.pinnedRevision), \(now), \(now))
                        """)
                } catch let error as StoreError where error.isUniqueViolation {
                    throw StoreError(message: "Application \(app.name) exists (created by another ApplicationSet or replica meanwhile)")
                }
            }
            for app in update {
                // A new primary ends any failover: the Application starts over on it.
                try db.execute("""
                    UPDATE application SET placement = CASE WHEN cluster IS NOT DISTINCT FROM \(app.cluster) THEN placement ELSE NULL END,
                    cluster = \(app.cluster), object = \(app.object.serialized(pretty: false)), updated_at = \(now)
                    WHERE name = \(app.name) AND app_set = \(appSet)
                    """)
            }
            for name in delete {
                if prune, let row = try db.query("SELECT cluster, placement FROM application WHERE name = \(name) AND app_set = \(appSet) FOR UPDATE").first {
                    let r = row.makeRandomAccess()
                    var clusters: [String] = [try r.optionalText("cluster")].compactMap { $0 }
                    if let placement = Placement(storedText: try r.optionalText("placement")) { clusters += [placement.active, placement.pruneAfterHealthy].compactMap { $0 } }
                    for cluster in Set(clusters) {
                        try db.execute("INSERT INTO pending_prune (application, cluster, created_at) VALUES (\(name), \(cluster), \(now)) ON CONFLICT DO NOTHING")
                    }
                }
                try db.execute("DELETE FROM application WHERE name = \(name) AND app_set = \(appSet)")
            }
            // An Application that comes back must not lose its resources to an older pending prune.
            let created = create.map(\.name)
            if !created.isEmpty { try db.execute("DELETE FROM pending_prune WHERE application = ANY(\(created))") }
            try notify(changed, db)
        }
        changeObserver.publish(changed)
    }

    public func pendingPrunes() throws -> [(application: String, cluster: String)] {
        try pool.withConnection { db in
            try db.query("SELECT application, cluster FROM pending_prune ORDER BY created_at, application").map { row in
                let r = row.makeRandomAccess()
                return (try r.text("application"), try r.text("cluster"))
            }
        }
    }

    public func prunePerformed(application: String, cluster: String) throws {
        try pool.withConnection { db in _ = try db.execute("DELETE FROM pending_prune WHERE application = \(application) AND cluster = \(cluster)") }
    }

    // MARK: ApplicationSets

    public func applicationSets() throws -> [(name: String, object: JSONValue)] {
        try pool.withConnection { db in
            try db.query("SELECT name, object FROM application_set ORDER BY name").map { row in
                let r = row.makeRandomAccess()
                let name = try r.text("name")
                guard let object = try? JSONParser.parse(try r.text("object")) else {
                    throw StoreError(message: "ApplicationSet '\(name)': stored object is not valid JSON")
                }
                return (name, object)
            }
        }
    }

    public func saveApplicationSet(name: String, object: JSONValue) throws {
        let now = Timestamp.rfc3339()
        try pool.withConnection { db in
            _ = try db.execute("""
                INSERT INTO application_set (name, object, created_at, updated_at) VALUES (\(name), \(object.serialized(pretty: false)), \(now), \(now))
                ON CONFLICT (name) DO UPDATE SET object = excluded.object, updated_at = excluded.updated_at
                """)
        }
    }

    @discardableResult
    public func deleteApplicationSet(name: String) throws -> Bool {
        try pool.withConnection { db in try db.execute("DELETE FROM application_set WHERE name = \(name)") > 0 }
    }

    // MARK: Status, pins, history

    public func setStatus(_ name: String, _ status: JSONValue) throws {
        try fencing(name) { db in
            guard try checkFence(name, db) else { return }
            try db.execute("UPDATE application SET status = \(status.serialized(pretty: false)), updated_at = \(Timestamp.rfc3339()) WHERE name = \(name)")
            try notify([name], db)
        }
        changeObserver.publish([name])
    }

    public func pin(_ name: String, revision: String?) throws {
        try pool.transaction { db in
            try db.execute("UPDATE application SET pinned_revision = \(revision), updated_at = \(Timestamp.rfc3339()) WHERE name = \(name)")
            try notify([name], db)
        }
        changeObserver.publish([name])
    }

    @discardableResult
    public func finishReconcile(_ name: String, status: JSONValue?, history: SyncEntry?, event: HubEvent?) throws -> Bool {
        var written: HubEvent?
        let exists = try fencing(name) { db -> Bool in
            written = nil
            guard try checkFence(name, db) else { return false }
            if let history { try Self.insertHistory(db, history) }
            if let event { written = try insert(event, db) }
            if let status {
                try db.execute("UPDATE application SET status = \(status.serialized(pretty: false)), updated_at = \(Timestamp.rfc3339()) WHERE name = \(name)")
                try notify([name], db)
            }
            return true
        }
        if exists && status != nil { changeObserver.publish([name]) }
        if let written { eventObserver.publish(written) }
        return exists
    }

    /// A transaction whose fencing refusal is counted.
    private func fencing<T>(_ name: String, _ body: (PostgresPool.Connection) throws -> T) throws -> T {
        do { return try pool.transaction(body) } catch let error as StoreError where error.fenced {
            fenced(name)
            throw error
        }
    }

    /// The caller holds the Application's row lock, so the next id is its own.
    private static func insertHistory(_ db: PostgresPool.Connection, _ e: SyncEntry) throws {
        let last = try db.query("SELECT COALESCE(MAX(id), 0) AS id FROM sync_history WHERE application = \(e.application)").first?
            .makeRandomAccess().get("id", as: Int.self) ?? 0
        let id = last + 1
        try db.execute("""
            INSERT INTO sync_history (application, id, revision, started_at, finished_at, result, resources, cluster, subject, author)
            VALUES (\(e.application), \(id), \(e.revision), \(e.startedAt), \(e.finishedAt), \(e.result), \(e.resources.serialized(pretty: false)),
                    \(e.cluster), \(e.commit?.subject), \(e.commit?.author))
            """)
        try db.execute("DELETE FROM sync_history WHERE application = \(e.application) AND id <= \(id - max(1, e.limit))")
    }

    public func history(_ name: String) throws -> [SyncRecord] {
        try pool.withConnection { db in
            try db.query("SELECT * FROM sync_history WHERE application = \(name) ORDER BY id").map { row in
                let r = row.makeRandomAccess()
                return SyncRecord(id: try r.get("id", as: Int.self), revision: try r.text("revision"), startedAt: try r.text("started_at"),
                                  finishedAt: try r.text("finished_at"), result: try r.text("result"),
                                  resources: (try? JSONParser.parse(try r.text("resources"))) ?? .array([]),
                                  cluster: try r.get("cluster", as: String?.self), subject: try r.get("subject", as: String?.self),
                                  author: try r.get("author", as: String?.self))
            }
        }
    }

    // MARK: Placement

    public func placedApplications() throws -> [StoredApplication] {
        try pool.withConnection { db in
            try db.query("SELECT * FROM application WHERE placement IS NOT NULL ORDER BY name").map(Self.decode)
        }
    }

    public func setPlacement(_ name: String, expected: Placement?, to placement: Placement?, prune: [String], event: HubEvent?) throws -> PlacementWrite {
        var written: HubEvent?
        let outcome = try pool.transaction { db -> PlacementWrite in
            written = nil
            guard let row = try db.query("SELECT cluster, placement FROM application WHERE name = \(name) FOR UPDATE").first else { return .gone }
            let r = row.makeRandomAccess()
            let primary = try r.optionalText("cluster")
            if Placement(storedText: try r.optionalText("placement")) != expected { return .conflict }
            let now = Timestamp.rfc3339()
            try db.execute("UPDATE application SET placement = \(Placement.storedText(placement)), updated_at = \(now) WHERE name = \(name)")
            if let active = placement.map(\.active) ?? primary {
                try db.execute("DELETE FROM pending_prune WHERE application = \(name) AND cluster = \(active)")
            }
            for cluster in prune {
                try db.execute("INSERT INTO pending_prune (application, cluster, created_at) VALUES (\(name), \(cluster), \(now)) ON CONFLICT DO NOTHING")
            }
            if let event { written = try insert(event, db) }
            try notify([name], db)
            return .written
        }
        guard outcome == .written else { return outcome }
        changeObserver.publish([name])
        if let written { eventObserver.publish(written) }
        return outcome
    }

    // MARK: Events

    @discardableResult
    public func appendEvent(_ event: HubEvent) throws -> HubEvent {
        let written = try pool.withConnection { db in try insert(event, db) }
        eventObserver.publish(written)
        return written
    }

    private func insert(_ e: HubEvent, _ db: PostgresPool.Connection) throws -> HubEvent {
        let time = e.at.isEmpty ? Timestamp.rfc3339() : e.at
        guard let row = try db.query("""
            INSERT INTO event (at, type, cluster, application, message, data)
            VALUES (\(time), \(e.type), \(e.cluster), \(e.application), \(e.message), \(e.data?.serialized(pretty: false)))
            RETURNING id
            """).first else { throw StoreError(message: "PostgreSQL: an event insert returned no id") }
        let id = try row.makeRandomAccess().get("id", as: Int64.self)
        // Trim in batches (every 1,000 events), not on every insert.
        if id % 1000 == 0 { try db.execute("DELETE FROM event WHERE id <= \(id - Int64(eventRetention))") }
        var stored = e
        stored.id = Int(id)
        stored.at = time
        return stored
    }

    public func events(cluster: String?, application: String?, after: Int, limit: Int) throws -> [HubEvent] {
        var binds = PostgresBindings()
        binds.append(Int64(after))
        var sql = "SELECT * FROM event WHERE id > $1"
        if let cluster { binds.append(cluster); sql += " AND cluster = $\(binds.count)" }
        if let application { binds.append(application); sql += " AND application = $\(binds.count)" }
        binds.append(max(1, limit))
        sql += " ORDER BY id DESC LIMIT $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try pool.withConnection { db in
            try db.query(query).reversed().map { row in
                let r = row.makeRandomAccess()
                return HubEvent(id: Int(try r.get("id", as: Int64.self)), at: try r.text("at"), type: try r.text("type"), cluster: try r.optionalText("cluster"),
                                application: try r.optionalText("application"), message: try r.text("message"),
                                data: try r.optionalText("data").flatMap { try? JSONParser.parse($0) })
            }
        }
    }

    // MARK: Cluster states

    public func clusterStates() throws -> [String: ClusterOperationalState] {
        try pool.withConnection { db in
            var result: [String: ClusterOperationalState] = [:]
            for row in try db.query("SELECT * FROM cluster_state") {
                let r = row.makeRandomAccess()
                let health = (try? JSONDecoder().decode(ClusterHealth.self, from: Data(try r.text("health").utf8))) ?? ClusterHealth()
                result[try r.text("name")] = ClusterOperationalState(health: health, cordoned: try r.get("cordoned", as: Bool.self),
                                                                     drained: try r.get("drained", as: Bool.self),
                                                                     failbackRequested: try r.get("failback_requested", as: Bool.self))
            }
            return result
        }
    }

    public func setClusterState(_ name: String, _ state: ClusterOperationalState, event: HubEvent?) throws {
        let health = String(decoding: try JSONEncoder().encode(state.health), as: UTF8.self)
        var written: HubEvent?
        try pool.transaction { db in
            written = nil
            try db.execute("""
                INSERT INTO cluster_state (name, health, cordoned, drained, failback_requested)
                VALUES (\(name), \(health), \(state.cordoned), \(state.drained), \(state.failbackRequested))
                ON CONFLICT (name) DO UPDATE SET health = excluded.health, cordoned = excluded.cordoned, drained = excluded.drained,
                failback_requested = excluded.failback_requested
                """)
            if let event { written = try insert(event, db) }
            try PostgresChangeFeed.send(PostgresChangeFeed.clusterChannel, origin: origin, names: [name], on: db)
        }
        if let written { eventObserver.publish(written) }
    }

    // MARK: Coding

    /// Sends the changed names to the other replicas, at commit (payloads stay under PostgreSQL's 8,000 bytes).
    private func notify(_ names: [String], _ db: PostgresPool.Connection) throws {
        try PostgresChangeFeed.send(Self.channel, origin: origin, names: names, on: db)
    }

    private static func decode(_ row: PostgresRow) throws -> StoredApplication {
        let r = row.makeRandomAccess()
        let name = try r.text("name")
        func json(_ column: String) throws -> JSONValue {
            do { return try JSONParser.parse(try r.text(column)) } catch {
                throw StoreError(message: "Application '\(name)': stored \(column) is not valid JSON")
            }
        }
        return StoredApplication(name: name, appSet: try r.text("app_set"), cluster: try r.optionalText("cluster"), object: try json("object"),
                                 status: try json("status"), pinnedRevision: try r.optionalText("pinned_revision"),
                                 placement: Placement(storedText: try r.optionalText("placement")))
    }

}
