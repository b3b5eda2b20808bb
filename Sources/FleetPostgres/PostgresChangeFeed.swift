import FleetModel
import FleetStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Change fan-out between replicas with PostgreSQL's `LISTEN`/`NOTIFY`: every write of a store sends what it changed
/// on a channel (delivered when its transaction commits, never for one rolled back); each replica listens on one
/// connection of its own and hands other replicas' changes to its observers, so a manual sync, a new commit or a
/// cordon made through any replica's API reaches the replica that acts on it at once.
///
/// A payload is the writing replica's id and the changed names, one per line. When the listening connection breaks,
/// notifications sent meanwhile are lost: on reconnecting, `onResume` is called so that the replica re-reads
/// everything (a resync), then listening goes on.
public final class PostgresChangeFeed: @unchecked Sendable {
    /// Cluster registry changes (names of clusters created, updated or deleted).
    public static let registryChannel = "flotilla_registry"
    /// Cluster operational state changes (cordon, drain, health).
    public static let clusterChannel = "flotilla_cluster_state"
    /// Repositories with new commits (found by one replica's poll or webhook): the others fetch them now.
    public static let gitChannel = "flotilla_git"
    /// Replica-to-replica requests (a refresh or sync forwarded to the owner): payload origin, then the request.
    public static let requestChannel = "flotilla_requests"

    /// PostgreSQL refuses payloads of 8,000 bytes or more.
    static let payloadLimit = 7_000

    /// `origin` then `names`, one per line, split so that each payload stays under the limit.
    public static func payloads(origin: String, names: [String]) -> [String] {
        var result: [String] = []
        var current = origin
        var count = 0
        for name in names {
            if count > 0 && current.utf8.count + name.utf8.count + 1 > payloadLimit {
                result.append(current)
                current = origin
                count = 0
            }
            current += "\n" + name
            count += 1
        }
        if count > 0 { result.append(current) }
        return result
    }

    /// Sends `names` from `origin` on `channel` within `db`'s transaction (delivered when it commits; nothing when
    /// `names` is empty).
    public static func send(_ channel: String, origin: String, names: [String], on db: PostgresPool.Connection) throws {
        for payload in payloads(origin: origin, names: names) { try db.execute("SELECT pg_notify(\(channel), \(payload))") }
    }

    /// Sends on its own connection, outside any transaction.
    public static func send(_ channel: String, origin: String, names: [String], pool: PostgresPool) throws {
        try pool.withConnection { db in try send(channel, origin: origin, names: names, on: db) }
    }

    /// The origin and names of a payload.
    public static func parse(_ payload: String) -> (origin: String, names: [String]) {
        var lines = payload.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let origin = lines.isEmpty ? "" : lines.removeFirst()
        return (origin, lines.filter { !$0.isEmpty })
    }

    private let pool: PostgresPool
    private let origin: String
    private let handlers: [String: @Sendable ([String]) -> Void]
    private let onResume: @Sendable () -> Void
    private let logger: Logger
    /// Guards `connection`, `stopped` and `received`.
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var stopped = false
    private var received = 0

    /// `handlers` by channel: called (on the listener's event loop: they must not block) with the names another
    /// replica changed.
    public init(pool: PostgresPool, origin: String, handlers: [String: @Sendable ([String]) -> Void], logger: Logger,
                onResume: @escaping @Sendable () -> Void = {}) {
        self.pool = pool
        self.origin = origin
        self.handlers = handlers
        self.onResume = onResume
        self.logger = logger
    }

    /// Notifications from other replicas handled so far.
    public var receivedCount: Int { lock.withLock { received } }

    /// Starts listening on a thread of its own; returns once the first `LISTEN` is in force (or failed).
    public func start() throws {
        try listen()
        let thread = Thread { [self] in self.run() }
        thread.name = "flotilla-pg-listen"
        thread.start()
    }

    public func stop() {
        let connection = lock.withLock { () -> PostgresConnection? in
            stopped = true
            return self.connection
        }
        connection.map(closeQuietly)
    }

    private func listen() throws {
        let connection = try pool.dedicatedConnection()
        let origin = self.origin
        for (channel, handler) in handlers {
            connection.addListener(channel: channel) { [weak self] _, message in
                let (from, names) = Self.parse(message.payload)
                guard from != origin else { return }
                self?.lock.withLock { self?.received += 1 }
                handler(names)
            }
            do { _ = try connection.query(PostgresQuery(unsafeSQL: "LISTEN \(channel)"), logger: logger).wait() } catch {
                closeQuietly(connection)
                throw PostgresPool.storeError(error)
            }
        }
        let stale = lock.withLock { () -> Bool in
            if stopped { return true }
            self.connection = connection
            return false
        }
        if stale { closeQuietly(connection) }
    }

    /// Waits for the connection to close; reconnects (and resumes) until stopped.
    private func run() {
        while true {
            let current = lock.withLock { stopped ? nil : connection }
            guard let current else { return }
            try? current.closeFuture.wait()
            if lock.withLock({ stopped }) || pool.isClosed { return }
            logger.warning("the PostgreSQL change feed lost its connection: reconnecting")
            while !lock.withLock({ stopped }) && !pool.isClosed {
                do {
                    try listen()
                    onResume()
                    break
                } catch {
                    Thread.sleep(forTimeInterval: 1)
                }
            }
        }
    }
}
