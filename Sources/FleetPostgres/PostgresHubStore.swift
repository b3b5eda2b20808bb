import FleetModel
import FleetStore
import Foundation
import Logging
import PostgresNIO

/// A hub's state in one PostgreSQL database, for one or several replicas: opens the connection pool, applies the
/// migrations (once, whoever starts first), checks that this replica's key opens the credentials the others sealed,
/// and makes the three stores on it.
public final class PostgresHubStore: Sendable {
    public let pool: PostgresPool
    public let clusters: PostgresClusterStore
    public let applications: PostgresApplicationStore
    public let auth: PostgresAuthStore
    public let leases: PostgresLeaseStore
    /// This replica's id (in heartbeats, leases and change notifications).
    public let replica: String

    /// - Parameters:
    ///   - keyFile: the key that seals cluster credentials; every replica must read the same one (it is created when
    ///     the database has no credentials yet and the file is missing).
    /// - idleInTransaction: seconds after which the server ends a session of this replica stopped inside a
    ///   transaction (its locks go with it); below the lease duration, so a paused replica never blocks a take-over.
    public init(url: PostgresURL, keyFile: String, replica: String, maxConnections: Int = 16, idleInTransaction: Double = 5, eventRetention: Int = 200_000,
                logger: Logger = Logger(label: "flotilla.postgres")) throws {
        pool = try PostgresPool(url: url, maxConnections: maxConnections, idleInTransaction: idleInTransaction, logger: logger)
        do {
            try PostgresSchema.migrate(pool)
            let keyring = try CredentialKeyring(path: keyFile)
            try Self.checkKey(pool, keyring, keyFile: keyFile)
            self.replica = replica
            clusters = PostgresClusterStore(pool: pool, keyring: keyring, origin: replica)
            applications = PostgresApplicationStore(pool: pool, origin: replica, eventRetention: eventRetention)
            auth = PostgresAuthStore(pool: pool)
            leases = PostgresLeaseStore(pool: pool)
        } catch {
            pool.close()
            throw error
        }
    }

    /// Names of the migrations applied to the database, in order.
    public func appliedMigrations() throws -> [String] { try PostgresSchema.applied(pool) }

    public func close() { pool.close() }

    /// A known value sealed with the first replica's key: a replica whose key cannot open it would write credentials
    /// the others cannot read, and read none of theirs, so it is refused at start with what to do.
    static let keyCheckPlaintext = Data("flotilla key check".utf8)

    static func checkKey(_ pool: PostgresPool, _ keyring: CredentialKeyring, keyFile: String) throws {
        try pool.transaction { db in
            try db.execute("LOCK TABLE key_check IN EXCLUSIVE MODE")
            if let row = try db.query("SELECT sealed FROM key_check WHERE id = 1").first {
                let sealed = try row.makeRandomAccess().get("sealed", as: Data.self)
                guard (try? keyring.open(sealed)) == keyCheckPlaintext else {
                    throw StoreError(message: "the key file \(keyFile) does not open this database's credentials: every replica must use the same key file (copy it from the first replica's data directory, or mount the same Secret)")
                }
            } else {
                try db.execute("INSERT INTO key_check (id, sealed) VALUES (1, \(try keyring.seal(keyCheckPlaintext)))")
            }
        }
    }
}
