import FleetModel
import Foundation

/// `ApplicationStore` in memory, for tests of what sits on the store: the same contract as the SQLite store
/// (`ApplicationStoreContractTests` runs the same checks on both), one lock standing in for a transaction.
public final class InMemoryApplicationStore: ApplicationStore, @unchecked Sendable {
    private struct Row {
        var app: StoredApplication
        var updatedAt: String
    }

    // `lock` guards everything below.
    private let lock = NSLock()
    private var rows: [String: Row] = [:]
    private var appSets: [String: JSONValue] = [:]
    private var prunes: [(application: String, cluster: String)] = []
    private var histories: [String: [SyncRecord]] = [:]
    private var log: [HubEvent] = []
    private var nextEvent = 1
    private var states: [String: ClusterOperationalState] = [:]
    private var eventBody: (@Sendable (HubEvent) -> Void)?
    private var changeBody: (@Sendable ([String]) -> Void)?
    private var tick = 0
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func onEvent(_ body: @escaping @Sendable (HubEvent) -> Void) { lock.withLock { eventBody = body } }
    public func onApplicationsChanged(_ body: @escaping @Sendable ([String]) -> Void) { lock.withLock { changeBody = body } }

    private func changed(_ names: [String]) { lock.withLock { changeBody }?(names) }
    private func announce(_ event: HubEvent?) { if let event { lock.withLock { eventBody }?(event) } }

    /// A version that grows with every write (the SQLite store uses the time; here two writes in one millisecond differ).
    private func version() -> String {
        tick += 1
        return Timestamp.rfc3339(now(), milliseconds: true) + String(format: "#%08d", tick)
    }

    private func page(appSet: String?, cluster: String?, after: String?, limit: Int?) -> [Row] {
        var result = rows.values.filter { ($0.app.appSet == appSet || appSet == nil) && ($0.app.cluster == cluster || cluster == nil) }
            .filter { after == nil || $0.app.name > after! }.sorted { $0.app.name < $1.app.name }
        if let limit { result = Array(result.prefix(limit)) }
        return result
    }

    public func applications(appSet: String?, cluster: String?, after: String?, limit: Int?) throws -> [StoredApplication] {
        lock.withLock { page(appSet: appSet, cluster: cluster, after: after, limit: limit).map(\.app) }
    }

    public func applicationVersions(appSet: String?, cluster: String?, after: String?, limit: Int) throws -> [(name: String, updatedAt: String)] {
        lock.withLock { page(appSet: appSet, cluster: cluster, after: after, limit: limit).map { ($0.app.name, $0.updatedAt) } }
    }

    public func applications(named names: [String]) throws -> [StoredApplication] {
        lock.withLock { Set(names).compactMap { rows[$0]?.app }.sorted { $0.name < $1.name } }
    }

    public func application(named name: String) throws -> StoredApplication? { lock.withLock { rows[name]?.app } }

    public func applicationTargets() throws -> [ApplicationTarget] {
        lock.withLock { rows.values.map { ApplicationTarget(name: $0.app.name, cluster: $0.app.cluster, placement: $0.app.placement) }.sorted { $0.name < $1.name } }
    }

    public func count() throws -> Int { lock.withLock { rows.count } }

    public func apply(creating create: [StoredApplication], updating update: [StoredApplication], deleting delete: [String], appSet: String,
                      prune: Bool) throws {
        try lock.withLock {
            for app in create + update {
                if let owner = rows[app.name]?.app.appSet, owner != appSet {
                    throw InputError([FieldProblem(field: "", message: "Application \(app.name) is owned by ApplicationSet \(owner), not \(appSet)")])
                }
            }
            for app in create {
                var stored = app
                stored.appSet = appSet
                stored.placement = nil
                rows[app.name] = Row(app: stored, updatedAt: version())
            }
            for app in update {
                guard var row = rows[app.name], row.app.appSet == appSet else { continue }
                // A new primary ends any failover: the Application starts over on it.
                if row.app.cluster != app.cluster { row.app.placement = nil }
                row.app.cluster = app.cluster
                row.app.object = app.object
                row.updatedAt = version()
                rows[app.name] = row
            }
            for name in delete {
                guard let row = rows[name], row.app.appSet == appSet else { continue }
                if prune {
                    let clusters = [row.app.cluster, row.app.placement?.active, row.app.placement?.pruneAfterHealthy].compactMap { $0 }
                    for cluster in Set(clusters).sorted() where !prunes.contains(where: { $0 == (name, cluster) }) { prunes.append((name, cluster)) }
                }
                rows[name] = nil
            }
            // An Application that comes back must not lose its resources to an older pending prune.
            let created = Set(create.map(\.name))
            prunes.removeAll { created.contains($0.application) }
        }
        changed((create + update).map(\.name) + delete)
    }

    public func pendingPrunes() throws -> [(application: String, cluster: String)] { lock.withLock { prunes } }

    public func prunePerformed(application: String, cluster: String) throws {
        lock.withLock { prunes.removeAll { $0 == (application, cluster) } }
    }

    public func applicationSets() throws -> [(name: String, object: JSONValue)] {
        lock.withLock { appSets.keys.sorted().map { ($0, appSets[$0]!) } }
    }

    public func saveApplicationSet(name: String, object: JSONValue) throws { lock.withLock { appSets[name] = object } }

    @discardableResult
    public func deleteApplicationSet(name: String) throws -> Bool { lock.withLock { appSets.removeValue(forKey: name) != nil } }

    private func update(_ name: String, _ change: (inout StoredApplication) -> Void) -> Bool {
        guard var row = rows[name] else { return false }
        change(&row.app)
        row.updatedAt = version()
        rows[name] = row
        return true
    }

    public func setStatus(_ name: String, _ status: JSONValue) throws {
        _ = lock.withLock { update(name) { $0.status = status } }
        changed([name])
    }

    public func pin(_ name: String, revision: String?) throws {
        _ = lock.withLock { update(name) { $0.pinnedRevision = revision } }
        changed([name])
    }

    private func record(_ e: HubEvent) -> HubEvent {
        var stored = e
        stored.id = nextEvent
        nextEvent += 1
        if stored.at.isEmpty { stored.at = Timestamp.rfc3339(now(), milliseconds: false) }
        log.append(stored)
        return stored
    }

    @discardableResult
    public func finishReconcile(_ name: String, status: JSONValue?, history: SyncEntry?, event: HubEvent?) throws -> Bool {
        let (exists, written) = lock.withLock { () -> (Bool, HubEvent?) in
            guard rows[name] != nil else { return (false, nil) }
            if let h = history {
                var list = histories[name] ?? []
                list.append(SyncRecord(id: (list.last?.id ?? 0) + 1, revision: h.revision, startedAt: h.startedAt, finishedAt: h.finishedAt,
                                       result: h.result, resources: h.resources, cluster: h.cluster, subject: h.commit?.subject, author: h.commit?.author))
                histories[name] = Array(list.suffix(max(1, h.limit)))
            }
            let written = event.map(record)
            if let status { _ = update(name) { $0.status = status } }
            return (true, written)
        }
        if status != nil && exists { changed([name]) }
        announce(written)
        return exists
    }

    public func history(_ name: String) throws -> [SyncRecord] { lock.withLock { histories[name] ?? [] } }

    public func placedApplications() throws -> [StoredApplication] {
        lock.withLock { rows.values.map(\.app).filter { $0.placement != nil }.sorted { $0.name < $1.name } }
    }

    public func setPlacement(_ name: String, expected: Placement?, to placement: Placement?, prune: [String], event: HubEvent?) throws -> PlacementWrite {
        let (outcome, written) = lock.withLock { () -> (PlacementWrite, HubEvent?) in
            guard let row = rows[name] else { return (.gone, nil) }
            guard row.app.placement == expected else { return (.conflict, nil) }
            _ = update(name) { $0.placement = placement }
            if let active = placement.map(\.active) ?? row.app.cluster { prunes.removeAll { $0 == (name, active) } }
            for cluster in prune where !prunes.contains(where: { $0 == (name, cluster) }) { prunes.append((name, cluster)) }
            return (.written, event.map(record))
        }
        if outcome == .written { changed([name]) }
        announce(written)
        return outcome
    }

    @discardableResult
    public func appendEvent(_ event: HubEvent) throws -> HubEvent {
        let written = lock.withLock { record(event) }
        announce(written)
        return written
    }

    public func events(cluster: String?, application: String?, after: Int, limit: Int) throws -> [HubEvent] {
        lock.withLock {
            Array(log.filter { $0.id > after && (cluster == nil || $0.cluster == cluster) && (application == nil || $0.application == application) }
                .suffix(max(1, limit)))
        }
    }

    public func clusterStates() throws -> [String: ClusterOperationalState] { lock.withLock { states } }

    public func setClusterState(_ name: String, _ state: ClusterOperationalState, event: HubEvent?) throws {
        let written = lock.withLock { () -> HubEvent? in
            states[name] = state
            return event.map(record)
        }
        announce(written)
    }
}
