import FleetModel
import FleetStore
import Foundation
import PostgresNIO

/// The hub's tables in PostgreSQL: the SQLite store's tables (same names, same columns, same meaning) and the
/// replicas' own (heartbeats, leases, forwarded actions). Migrations are applied once, in order, under an advisory
/// lock, so replicas starting together do not race; a shipped migration is never edited: add a new one.
enum PostgresSchema {
    /// The advisory lock key held while migrating ("flotilla" in ASCII).
    static let migrationLock: Int64 = 0x666C_6F74_696C_6C61

    static let migrations: [(name: String, sql: String)] = [
        ("v1-hub", """
            CREATE TABLE cluster (
                name              TEXT COLLATE "C" PRIMARY KEY,
                server            TEXT NOT NULL,
                labels            TEXT NOT NULL DEFAULT '{}',
                annotations       TEXT NOT NULL DEFAULT '{}',
                secondary         TEXT,
                credentials       BYTEA NOT NULL,
                created_at        TEXT NOT NULL,
                updated_at        TEXT NOT NULL,
                project           TEXT,
                namespaces        TEXT,
                cluster_resources BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE TABLE application (
                name            TEXT COLLATE "C" PRIMARY KEY,
                app_set         TEXT NOT NULL,
                cluster         TEXT,
                object          TEXT NOT NULL,
                status          TEXT NOT NULL DEFAULT '{}',
                pinned_revision TEXT,
                created_at      TEXT NOT NULL,
                updated_at      TEXT NOT NULL,
                placement       TEXT
            );
            CREATE INDEX application_app_set ON application (app_set);
            CREATE INDEX application_cluster ON application (cluster);
            CREATE TABLE sync_history (
                application TEXT NOT NULL REFERENCES application (name) ON DELETE CASCADE,
                id          INTEGER NOT NULL,
                revision    TEXT NOT NULL,
                started_at  TEXT NOT NULL,
                finished_at TEXT NOT NULL,
                result      TEXT NOT NULL,
                resources   TEXT NOT NULL DEFAULT '[]',
                PRIMARY KEY (application, id)
            );
            CREATE TABLE application_set (
                name       TEXT COLLATE "C" PRIMARY KEY,
                object     TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE TABLE pending_prune (
                application TEXT COLLATE "C" NOT NULL,
                cluster     TEXT NOT NULL,
                created_at  TEXT NOT NULL,
                PRIMARY KEY (application, cluster)
            );
            CREATE TABLE cluster_state (
                name               TEXT COLLATE "C" PRIMARY KEY,
                health             TEXT NOT NULL,
                cordoned           BOOLEAN NOT NULL DEFAULT FALSE,
                drained            BOOLEAN NOT NULL DEFAULT FALSE,
                failback_requested BOOLEAN NOT NULL DEFAULT FALSE
            );
            CREATE TABLE event (
                id          BIGSERIAL PRIMARY KEY,
                at          TEXT NOT NULL,
                type        TEXT NOT NULL,
                cluster     TEXT,
                application TEXT,
                message     TEXT NOT NULL
            );
            CREATE INDEX event_cluster ON event (cluster, id);
            CREATE INDEX event_application ON event (application, id);
            CREATE TABLE account (
                name       TEXT COLLATE "C" PRIMARY KEY,
                role       TEXT NOT NULL,
                created_at TEXT NOT NULL
            );
            CREATE TABLE token (
                id          TEXT COLLATE "C" PRIMARY KEY,
                account     TEXT NOT NULL REFERENCES account (name) ON DELETE CASCADE,
                hash        TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                created_at  TEXT NOT NULL,
                expires_at  TEXT,
                revoked_at  TEXT,
                parent      TEXT
            );
            CREATE TABLE key_check (
                id     INTEGER PRIMARY KEY CHECK (id = 1),
                sealed BYTEA NOT NULL
            );
            """),
        ("v2-replicas", """
            CREATE TABLE replica (
                id           TEXT COLLATE "C" PRIMARY KEY,
                address      TEXT NOT NULL DEFAULT '',
                started_at   DOUBLE PRECISION NOT NULL,
                heartbeat_at DOUBLE PRECISION NOT NULL,
                version      TEXT NOT NULL DEFAULT ''
            );
            CREATE TABLE lease (
                key        TEXT COLLATE "C" PRIMARY KEY,
                holder     TEXT NOT NULL DEFAULT '',
                token      BIGINT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                wanted_by  TEXT,
                changed_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE fenced_write (
                replica TEXT PRIMARY KEY,
                count   BIGINT NOT NULL DEFAULT 0
            );
            """),
        ("v3-history-origin", """
            ALTER TABLE sync_history ADD COLUMN cluster TEXT, ADD COLUMN subject TEXT, ADD COLUMN author TEXT;
            """),
        ("v4-event-data", """
            ALTER TABLE event ADD COLUMN data TEXT;
            """),
    ]

    /// Applies the migrations this database has not had yet; returns the names applied now.
    @discardableResult
    static func migrate(_ pool: PostgresPool) throws -> [String] {
        try pool.transaction { db in
            try db.execute("SELECT pg_advisory_xact_lock(\(migrationLock))")
            try db.script("CREATE TABLE IF NOT EXISTS flotilla_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = Set(try db.query("SELECT name FROM flotilla_migration").map { try $0.decode(String.self) })
            var now: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                try db.script(migration.sql)
                try db.execute("INSERT INTO flotilla_migration (name) VALUES (\(migration.name))")
                now.append(migration.name)
            }
            return now
        }
    }

    /// Names of the migrations applied to this database, in order.
    static func applied(_ pool: PostgresPool) throws -> [String] {
        try pool.withConnection { db in
            try db.query("SELECT name FROM flotilla_migration ORDER BY applied_at, name").map { try $0.decode(String.self) }
        }
    }
}

/// Reading columns by name (`row.makeRandomAccess()` once per row).
extension PostgresRandomAccessRow {
    func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        do { return try self[column].decode(T.self) } catch {
            throw StoreError(message: "PostgreSQL: column \(column) cannot be read as \(T.self)")
        }
    }

    func text(_ column: String) throws -> String { try get(column, as: String.self) }
    func optionalText(_ column: String) throws -> String? { try get(column, as: String?.self) }
}
