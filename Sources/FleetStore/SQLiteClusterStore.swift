import FleetModel
import Foundation
import GRDB

/// The cluster registry in SQLite, in WAL mode, with schema migrations.
///
/// ```swift
/// let store = try SQLiteClusterStore(directory: dataDir)
/// try store.update { $0.upsert(Cluster(name: "dev-eu", server: "http://127.0.0.1:7101")) }
/// ```
///
/// Every change goes through ``update(_:)``: one write transaction that reads the registry, applies the
/// change, validates the whole result and writes only the rows that differ.
public final class SQLiteClusterStore: ClusterStore {
    /// The database file name inside the data directory.
    public static let fileName = "flotilla.sqlite"

    /// The connection pool, shared with the other stores of the same database (`sharing:`).
    let pool: DatabasePool
    public let path: String
    /// Encrypts credentials at rest (`secret.key` next to the database).
    let keyring: CredentialKeyring

    /// Opens (creating if needed) the store in `directory`, which is created with 0700 permissions:
    /// the database holds cluster credentials.
    public convenience init(directory: URL) throws {
        let fm = FileManager.default
        do {
            if !fm.fileExists(atPath: directory.path) {
                try fm.createDirectory(at: directory, withIntermediateDirectories: true,
                                       attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw StoreError(message: "cannot create data directory \(directory.path): \(error.localizedDescription)")
        }
        let path = directory.appendingPathComponent(Self.fileName).path
        // A data directory that has the hub's key but no database lost its database: starting afresh would
        // forget every cluster, Application, account and token without a word.
        if !fm.fileExists(atPath: path) && fm.fileExists(atPath: directory.appendingPathComponent("secret.key").path) {
            throw StoreError(message: "the store \(path) is missing but \(directory.path) holds a hub's key: restore the database from a backup, or start with --init to create a new, empty store")
        }
        try self.init(path: path)
    }

    /// Paths checked by `checkIntegrity` in this process (a check reads the whole database once).
    private static let checked = NSLockedSet()

    /// Refuses a damaged or emptied database with a message that says what to do; checks each path once per process.
    static func checkIntegrity(path: String) throws {
        guard FileManager.default.fileExists(atPath: path), !checked.contains(path) else { return }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size == 0 {
            throw StoreError(message: "the store \(path) is empty (0 bytes): it was truncated or damaged. Restore it from a backup, or start with --init to set it aside and create a new, empty store")
        }
        var config = Configuration()
        config.readonly = true
        let problems: [String]
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            problems = try queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            try queue.close()
        } catch {
            throw StoreError(message: "the store \(path) cannot be read as a database: it is damaged. Restore it from a backup, or start with --init to set it aside and create a new, empty store")
        }
        guard problems == ["ok"] else {
            throw StoreError(message: "the store \(path) is damaged (integrity check: \(problems.prefix(3).joined(separator: "; "))). Restore it from a backup, or start with --init to set it aside and create a new, empty store")
        }
        checked.insert(path)
    }

    /// Why the store in `directory` cannot be opened (damaged, emptied, or missing beside its key), or nil.
    public static func problem(directory: URL) -> String? {
        let path = directory.appendingPathComponent(fileName).path
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) && fm.fileExists(atPath: directory.appendingPathComponent("secret.key").path) { return "missing" }
        do { try checkIntegrity(path: path) } catch { return "\(error)" }
        return nil
    }

    /// Moves a damaged database (and its journal) aside, as `NAME.damaged-TIMESTAMP`, so that the next open creates a
    /// new store. Nothing is deleted. Returns the new name, or nil when there was nothing to move.
    public static func setAside(directory: URL) throws -> String? {
        let fm = FileManager.default
        let path = directory.appendingPathComponent(fileName).path
        let stamp = Timestamp.rfc3339().replacingOccurrences(of: ":", with: "")
        var moved: String?
        for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: path + suffix) {
            let target = path + suffix + ".damaged-" + stamp
            try fm.moveItem(atPath: path + suffix, toPath: target)
            if suffix.isEmpty { moved = target }
        }
        if moved == nil, fm.fileExists(atPath: directory.appendingPathComponent("secret.key").path) {
            // A lost database: its key is kept aside too, the new store gets a new one.
            let target = directory.appendingPathComponent("secret.key.previous-" + stamp).path
            try fm.moveItem(atPath: directory.appendingPathComponent("secret.key").path, toPath: target)
            moved = target
        }
        return moved
    }

    public init(path: String) throws {
        try Self.checkIntegrity(path: path)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.label = "flotilla"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw StoreError(message: "cannot open the store at \(path): \(error.message ?? error.description)")
        }
        self.path = path
        keyring = try CredentialKeyring(path: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("secret.key").path)
        try sealPlaintextCredentials()
        // The database holds credentials: owner-only, like the directory.
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + suffix)
        }
    }

    /// A connection pool on the database in `directory`, for the stores that share its file (applications,
    /// accounts). Opening the cluster store first creates the directory, sets permissions and migrates.
    static func sharedPool(directory: URL) throws -> DatabasePool {
        let clusters = try SQLiteClusterStore(directory: directory)
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        return try DatabasePool(path: clusters.path, configuration: config)
    }

    /// Schema history. A shipped migration is never edited: add a new one. Names and SQL are literal.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-clusters") { db in
            try db.execute(sql: """
                CREATE TABLE cluster (
                    name        TEXT PRIMARY KEY NOT NULL,
                    server      TEXT NOT NULL,
                    labels      TEXT NOT NULL DEFAULT '{}',
                    annotations TEXT NOT NULL DEFAULT '{}',
                    secondary   TEXT,
                    credentials BLOB NOT NULL,
                    created_at  TEXT NOT NULL,
                    updated_at  TEXT NOT NULL
                ) STRICT;
                """)
        }
        migrator.registerMigration("v2-applications") { db in
            try db.execute(sql: """
                CREATE TABLE application (
                    name            TEXT PRIMARY KEY NOT NULL,
                    app_set         TEXT NOT NULL,
                    cluster         TEXT,
                    object          TEXT NOT NULL,
                    status          TEXT NOT NULL DEFAULT '{}',
                    pinned_revision TEXT,
                    created_at      TEXT NOT NULL,
                    updated_at      TEXT NOT NULL
                ) STRICT;
                CREATE INDEX application_app_set ON application(app_set);
                CREATE INDEX application_cluster ON application(cluster);
                CREATE TABLE sync_history (
                    application TEXT NOT NULL REFERENCES application(name) ON DELETE CASCADE,
                    id          INTEGER NOT NULL,
                    revision    TEXT NOT NULL,
                    started_at  TEXT NOT NULL,
                    finished_at TEXT NOT NULL,
                    result      TEXT NOT NULL,
                    resources   TEXT NOT NULL DEFAULT '[]',
                    PRIMARY KEY (application, id)
                ) STRICT;
                """)
        }
        migrator.registerMigration("v3-hub") { db in
            try db.execute(sql: """
                CREATE TABLE application_set (
                    name        TEXT PRIMARY KEY NOT NULL,
                    object      TEXT NOT NULL,
                    created_at  TEXT NOT NULL,
                    updated_at  TEXT NOT NULL
                ) STRICT;
                CREATE TABLE pending_prune (
                    application TEXT NOT NULL,
                    cluster     TEXT NOT NULL,
                    created_at  TEXT NOT NULL,
                    PRIMARY KEY (application, cluster)
                ) STRICT;
                """)
        }
        migrator.registerMigration("v4-failover") { db in
            try db.execute(sql: """
                ALTER TABLE application ADD COLUMN placement TEXT;
                CREATE TABLE cluster_state (
                    name               TEXT PRIMARY KEY NOT NULL,
                    health             TEXT NOT NULL,
                    cordoned           INTEGER NOT NULL DEFAULT 0,
                    drained            INTEGER NOT NULL DEFAULT 0,
                    failback_requested INTEGER NOT NULL DEFAULT 0
                ) STRICT;
                CREATE TABLE event (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    at          TEXT NOT NULL,
                    type        TEXT NOT NULL,
                    cluster     TEXT,
                    application TEXT,
                    message     TEXT NOT NULL
                ) STRICT;
                CREATE INDEX event_cluster ON event (cluster, id);
                CREATE INDEX event_application ON event (application, id);
                """)
        }
        migrator.registerMigration("v5-auth") { db in
            try db.execute(sql: """
                CREATE TABLE account (
                    name        TEXT PRIMARY KEY NOT NULL,
                    role        TEXT NOT NULL,
                    created_at  TEXT NOT NULL
                ) STRICT;
                CREATE TABLE token (
                    id          TEXT PRIMARY KEY NOT NULL,
                    account     TEXT NOT NULL REFERENCES account(name) ON DELETE CASCADE,
                    hash        TEXT NOT NULL,
                    description TEXT NOT NULL DEFAULT '',
                    created_at  TEXT NOT NULL,
                    expires_at  TEXT,
                    revoked_at  TEXT
                ) STRICT;
                """)
        }
        migrator.registerMigration("v6-token-parent") { db in
            // The token that created a token of its own account: revoking it revokes its descendants.
            try db.execute(sql: "ALTER TABLE token ADD COLUMN parent TEXT")
        }
        migrator.registerMigration("v7-cluster-scope") { db in
            // Argo CD's cluster fields: project, namespaces (JSON list; NULL means every namespace) and
            // clusterResources.
            try db.execute(sql: "ALTER TABLE cluster ADD COLUMN project TEXT")
            try db.execute(sql: "ALTER TABLE cluster ADD COLUMN namespaces TEXT")
            try db.execute(sql: "ALTER TABLE cluster ADD COLUMN cluster_resources INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v8-history-origin") { db in
            // Where a sync ran and the commit it applied (its subject and author).
            try db.execute(sql: "ALTER TABLE sync_history ADD COLUMN cluster TEXT")
            try db.execute(sql: "ALTER TABLE sync_history ADD COLUMN subject TEXT")
            try db.execute(sql: "ALTER TABLE sync_history ADD COLUMN author TEXT")
        }
        migrator.registerMigration("v9-event-data") { db in
            // An event's typed payload (JSON): what decisions read instead of the message.
            try db.execute(sql: "ALTER TABLE event ADD COLUMN data TEXT")
        }
        return migrator
    }

    /// Names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// The journal mode in force (`wal`).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func clusters() throws -> [Cluster] {
        let keyring = self.keyring
        return try pool.read { db in try Self.fetchAll(db, keyring) }
    }

    public func cluster(named name: String) throws -> Cluster? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM cluster WHERE name = ?", arguments: [name]).map { try Self.decode($0, keyring) }
        }
    }

    public func update<T: Sendable>(_ body: (inout ClusterRegistry) throws -> T) throws -> (T, ClusterChanges) {
        try pool.write { db in
            let before = ClusterRegistry(try Self.fetchAll(db, keyring))
            var after = before
            let result = try body(&after)
            try after.validate()
            let changes = after.changes(from: before)
            let now = Timestamp.rfc3339()
            for name in changes.deleted {
                try db.execute(sql: "DELETE FROM cluster WHERE name = ?", arguments: [name])
            }
            for name in changes.created {
                let c = after[name]!
                try db.execute(sql: """
                    INSERT INTO cluster (name, server, labels, annotations, secondary, credentials, created_at, updated_at,
                                         project, namespaces, cluster_resources)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [c.name, c.server, try Self.json(c.labels), try Self.json(c.annotations),
                                     c.secondary, try keyring.seal(try Self.encodeCredentials(c.credentials)), now, now,
                                     c.project, try c.namespaces.map(Self.json), c.clusterResources ? 1 : 0])
            }
            for name in changes.updated {
                let c = after[name]!
                try db.execute(sql: """
                    UPDATE cluster SET server = ?, labels = ?, annotations = ?, secondary = ?, credentials = ?, updated_at = ?,
                                       project = ?, namespaces = ?, cluster_resources = ?
                    WHERE name = ?
                    """, arguments: [c.server, try Self.json(c.labels), try Self.json(c.annotations),
                                     c.secondary, try keyring.seal(try Self.encodeCredentials(c.credentials)), now,
                                     c.project, try c.namespaces.map(Self.json), c.clusterResources ? 1 : 0, c.name])
            }
            return (result, changes)
        }
    }

    private static func fetchAll(_ db: Database, _ keyring: CredentialKeyring) throws -> [Cluster] {
        try Row.fetchAll(db, sql: "SELECT * FROM cluster ORDER BY name").map { try decode($0, keyring) }
    }

    /// Encrypts credentials stored in plaintext by a version before encryption at rest.
    private func sealPlaintextCredentials() throws {
        let keyring = self.keyring
        try pool.write { db in
            for row in try Row.fetchAll(db, sql: "SELECT name, credentials FROM cluster") {
                let data: Data = row["credentials"]
                if CredentialKeyring.isSealed(data) { continue }
                try db.execute(sql: "UPDATE cluster SET credentials = ? WHERE name = ?", arguments: [try keyring.seal(data), row["name"] as String])
            }
        }
    }

    /// A new encryption key: every credential is sealed again with it in one transaction, then the old keys
    /// are dropped from the key file. A crash at any point leaves a key file that opens every value.
    /// Returns the new key's id and the number of credentials sealed again.
    public func rotateKey() throws -> (keyID: String, credentials: Int) {
        let next = try keyring.rotatedAndSaved()
        let old = keyring
        let count = try pool.write { db -> Int in
            var n = 0
            for row in try Row.fetchAll(db, sql: "SELECT name, credentials FROM cluster") {
                let plain = try old.open(row["credentials"])
                try db.execute(sql: "UPDATE cluster SET credentials = ? WHERE name = ?", arguments: [try next.seal(plain), row["name"] as String])
                n += 1
            }
            return n
        }
        try next.dropOldKeys()
        return (next.currentKeyID, count)
    }

    private static func decode(_ row: Row, _ keyring: CredentialKeyring) throws -> Cluster {
        let name: String = row["name"]
        func map(_ column: String) throws -> [String: String] {
            let text: String = row[column]
            do {
                return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
            } catch {
                throw StoreError(message: "cluster '\(name)': stored \(column) are not valid JSON")
            }
        }
        let credentialData: Data = row["credentials"]
        let credentials: ClusterCredentials
        do {
            credentials = try JSONDecoder().decode(ClusterCredentials.self, from: try keyring.open(credentialData))
        } catch {
            throw StoreError(message: "cluster '\(name)': stored credentials cannot be read")
        }
        var namespaces: [String]?
        if let text = row["namespaces"] as String? {
            do { namespaces = try JSONDecoder().decode([String].self, from: Data(text.utf8)) } catch {
                throw StoreError(message: "cluster '\(name)': stored namespaces are not valid JSON")
            }
        }
        return Cluster(name: name, server: row["server"], labels: try map("labels"),
                       annotations: try map("annotations"), secondary: row["secondary"], credentials: credentials,
                       project: row["project"], namespaces: namespaces, clusterResources: (row["cluster_resources"] as Int? ?? 0) != 0)
    }

    private static func json(_ list: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(list), as: UTF8.self)
    }

    private static func json(_ map: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(map), as: UTF8.self)
    }

    private static func encodeCredentials(_ credentials: ClusterCredentials) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(credentials)
    }
}

/// The store could not be opened or read. The message names the path or the cluster, never a credential.
/// A set of strings behind a lock.
final class NSLockedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var items: Set<String> = []
    func contains(_ item: String) -> Bool { lock.withLock { items.contains(item) } }
    func insert(_ item: String) { _ = lock.withLock { items.insert(item) } }
}

/// One value of a stored row, for copying a store to another database.
public enum StoredValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// A canonical text of the value (checksums compare two databases with it): booleans are integers 0 and 1.
    public var canonical: String {
        switch self {
        case .null: "∅"
        case .integer(let i): "i\(i)"
        case .real(let d): "r\(d)"
        case .text(let s): "t\(s.utf8.count):\(s)"
        case .blob(let b): "b" + b.base64EncodedString()
        }
    }
}

/// A table's rows as stored.
public struct StoredTable: Sendable {
    public var name: String
    public var columns: [String]
    public var rows: [[StoredValue]]
}

extension SQLiteClusterStore {
    /// The tables a hub's state lives in, in an order that respects their references.
    public static let stateTables = ["cluster", "account", "token", "application", "sync_history", "application_set", "pending_prune",
                                     "cluster_state", "event"]

    /// Every row of the hub's tables, ordered by primary key, in one read transaction (a consistent copy).
    public func exportTables() throws -> [StoredTable] {
        try pool.read { db in
            try Self.stateTables.map { table in
                let columns = try db.columns(in: table).map(\.name)
                let keys = try db.primaryKey(table).columns.joined(separator: ", ")
                let rows = try Row.fetchAll(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY \(keys)").map { row in
                    columns.map { column -> StoredValue in
                        let value: DatabaseValue = row[column]
                        switch value.storage {
                        case .null: return .null
                        case .int64(let i): return .integer(i)
                        case .double(let d): return .real(d)
                        case .string(let s): return .text(s)
                        case .blob(let b): return .blob(b)
                        }
                    }
                }
                return StoredTable(name: table, columns: columns, rows: rows)
            }
        }
    }
}
