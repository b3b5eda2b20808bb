import FleetModel
import FleetStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A small pool of PostgreSQL connections for callers that block: the store ports are synchronous and the hub
/// calls them from Dispatch threads (never from Swift's cooperative pool or an event loop), so each call waits on
/// a future of PostgresNIO's connection. Connections are opened on demand up to `maxConnections` and reused; a
/// broken one is dropped and replaced on the next call.
///
/// Errors are `StoreError`s that name the server's message and SQLSTATE, never bound values or the password.
public final class PostgresPool: @unchecked Sendable {
    /// One connection lent to a caller. Not to be kept beyond the call that lent it.
    public struct Connection {
        let connection: PostgresConnection
        let logger: Logger

        /// Runs one statement and returns its rows.
        @discardableResult
        public func query(_ query: PostgresQuery) throws -> [PostgresRow] {
            do { return try connection.query(query, logger: logger).wait().rows } catch { throw PostgresPool.storeError(error) }
        }

        /// Runs one statement and returns how many rows it changed.
        @discardableResult
        public func execute(_ query: PostgresQuery) throws -> Int {
            do {
                let result = try connection.query(query, logger: logger).wait()
                return result.metadata.rows ?? 0
            } catch { throw PostgresPool.storeError(error) }
        }

        /// Runs statements separated by semicolons, without parameters, one after the other (migrations, BEGIN,
        /// COMMIT). The statements must not hold a semicolon inside a literal.
        public func script(_ sql: String) throws {
            for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                try execute(PostgresQuery(unsafeSQL: statement))
            }
        }
    }

    public let url: PostgresURL
    public let maxConnections: Int
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    /// Guards `idle`, `open`, `nextID` and `closed`.
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false

    /// Opens one connection at once, so that a wrong URL, password or database fails here with a clear message.
    public init(url: PostgresURL, maxConnections: Int = 16, idleInTransaction: Double = 5, lockTimeout: Double = 10,
                logger: Logger = Logger(label: "flotilla.postgres")) throws {
        self.url = url
        self.maxConnections = max(1, maxConnections)
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var tls = PostgresConnection.Configuration.TLS.disable
        switch url.tls {
        case .disable: break
        case .require:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .none
            tls = .require(try NIOSSLContext(configuration: config))
        case .verifyFull:
            tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                            database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        // A process stopped inside a transaction (SIGSTOP, a long GC pause, a frozen VM) must not hold its row locks
        // until it wakes: the server ends its session after `idleInTransaction` seconds, which rolls the
        // transaction back and frees the locks (the process finds its connection closed when it wakes). A lock
        // wait ends in an error after `lockTimeout` instead of hanging a caller.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(Int(idleInTransaction * 1000))"),
            ("lock_timeout", "\(Int(lockTimeout * 1000))"),
            ("application_name", "flotilla"),
        ]
        self.configuration = configuration
        do {
            let first = try connect()
            condition.withLock {
                open = 1
                idle = [first]
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    deinit { close() }

    /// Closes every connection; later calls fail.
    public func close() {
        let connections = condition.withLock { () -> [PostgresConnection]? in
            guard !closed else { return nil }
            closed = true
            defer { idle = [] }
            return idle
        }
        guard let connections else { return }
        for connection in connections { let closing: EventLoopFuture<Void> = connection.close(); try? closing.wait() }
        try? group.syncShutdownGracefully()
    }

    /// A connection of its own, outside the pool (a listener's), closed by the caller.
    func dedicatedConnection() throws -> PostgresConnection { try connect() }

    /// Whether `close()` was called.
    var isClosed: Bool { condition.withLock { closed } }

    private func connect() throws -> PostgresConnection {
        let id = condition.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch {
            throw StoreError(message: "cannot connect to PostgreSQL at \(url.redacted): \(Self.reason(error))")
        }
    }

    /// Lends a connection to `body` (waiting for one when all are in use).
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try borrow()
        var broken = false
        defer { giveBack(connection, broken: broken || connection.isClosed) }
        do {
            return try body(Connection(connection: connection, logger: logger))
        } catch let error as StoreError where error.connectionLost {
            broken = true
            throw error
        }
    }

    /// Runs `body` in a transaction (READ COMMITTED; `body` takes the row locks its reads decide on): committed
    /// when it returns, rolled back when it throws. A serialization failure or a deadlock runs it again (up to five
    /// times), so `body` must start from its inputs each time.
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try withConnection { connection in
                    try connection.script("BEGIN")
                    do {
                        let result = try body(connection)
                        try connection.script("COMMIT")
                        return result
                    } catch {
                        if !connection.connection.isClosed { try? connection.script("ROLLBACK") }
                        throw error
                    }
                }
            } catch let error as StoreError where error.retryable && attempt < 5 {
                continue
            }
        }
    }

    private func borrow() throws -> PostgresConnection {
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw StoreError(message: "the PostgreSQL store is closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                if connection.isClosed {
                    condition.withLock { open -= 1 }
                    condition.lock()
                    continue
                }
                return connection
            }
            if open < maxConnections {
                open += 1
                condition.unlock()
                do { return try connect() } catch {
                    condition.withLock {
                        open -= 1
                        condition.signal()
                    }
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func giveBack(_ connection: PostgresConnection, broken: Bool) {
        condition.withLock {
            if broken || closed {
                open -= 1
            } else {
                idle.append(connection)
            }
            condition.signal()
        }
        if broken || condition.withLock({ closed }) { closeQuietly(connection) }
    }

    /// A `StoreError` for an error of PostgresNIO: the server's message and SQLSTATE, or what broke the connection.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        var result = StoreError(message: "PostgreSQL: \(reason(error))")
        if let psql = error as? PSQLError {
            let state = psql.serverInfo?[.sqlState]
            result.sqlState = state
            result.connectionLost = psql.code != .server
        }
        return result
    }

    static func reason(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let info = psql.serverInfo {
            var text = info[.message] ?? "server error"
            if let detail = info[.detail] { text += " (\(detail))" }
            if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
            return text
        }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }
}

extension StoreError {
    /// A serialization failure or a deadlock: the transaction may simply be run again.
    var retryable: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// A unique key was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}

/// Starts closing a connection without waiting.
func closeQuietly(_ connection: PostgresConnection) {
    let closing: EventLoopFuture<Void> = connection.close()
    _ = closing
}
