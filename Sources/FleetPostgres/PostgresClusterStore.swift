import FleetModel
import FleetStore
import Foundation
import PostgresNIO

/// The cluster registry in PostgreSQL: the same contract as `SQLiteClusterStore`. Credentials are sealed with the
/// hub's key before they reach the database (every replica reads the same key file); an update locks the table
/// against other writers (readers go on), reads the whole registry, validates the result and writes what differs.
public final class PostgresClusterStore: ClusterStore {
    let pool: PostgresPool
    let keyring: CredentialKeyring
    let origin: String

    public init(pool: PostgresPool, keyring: CredentialKeyring, origin: String) {
        self.pool = pool
        self.keyring = keyring
        self.origin = origin
    }

    public func clusters() throws -> [Cluster] {
        try pool.withConnection { db in try fetchAll(db) }
    }

    public func cluster(named name: String) throws -> Cluster? {
        try pool.withConnection { db in try db.query("SELECT * FROM cluster WHERE name = \(name)").first.map(decode) }
    }

    public func update<T: Sendable>(_ body: (inout ClusterRegistry) throws -> T) throws -> (T, ClusterChanges) {
        try pool.transaction { db in
            try db.execute("LOCK TABLE cluster IN EXCLUSIVE MODE")
            let before = ClusterRegistry(try fetchAll(db))
            var after = before
            let result = try body(&after)
            try after.validate()
            let changes = after.changes(from: before)
            let now = Timestamp.rfc3339()
            for name in changes.deleted {
                try db.execute("DELETE FROM cluster WHERE name = \(name)")
            }
            for name in changes.created {
                let c = after[name]!
                try db.execute("""
                    INSERT INTO cluster (name, server, labels, annotations, secondary, credentials, created_at, updated_at, project, namespaces,
                                         cluster_resources)
                    VALUES (\(c.name), \(c.server), \(try Self.json(c.labels)), \(try Self.json(c.annotations)), \(c.secondary),
                            \(try sealed(c.credentials)), \(now), \(now), \(c.project), \(try c.namespaces.map(Self.json)), \(c.clusterResources))
                    """)
            }
            for name in changes.updated {
                let c = after[name]!
                try db.execute("""
                    UPDATE cluster SET server = \(c.server), labels = \(try Self.json(c.labels)), annotations = \(try Self.json(c.annotations)),
                        secondary = \(c.secondary), credentials = \(try sealed(c.credentials)), updated_at = \(now), project = \(c.project),
                        namespaces = \(try c.namespaces.map(Self.json)), cluster_resources = \(c.clusterResources)
                    WHERE name = \(c.name)
                    """)
            }
            let changed = changes.created + changes.updated + changes.deleted
            try PostgresChangeFeed.send(PostgresChangeFeed.registryChannel, origin: origin, names: changed, on: db)
            return (result, changes)
        }
    }

    private func sealed(_ credentials: ClusterCredentials) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try keyring.seal(try encoder.encode(credentials))
    }

    private func fetchAll(_ db: PostgresPool.Connection) throws -> [Cluster] {
        try db.query("SELECT * FROM cluster ORDER BY name").map(decode)
    }

    private func decode(_ row: PostgresRow) throws -> Cluster {
        let r = row.makeRandomAccess()
        let name = try r.text("name")
        func map(_ column: String) throws -> [String: String] {
            do { return try JSONDecoder().decode([String: String].self, from: Data(try r.text(column).utf8)) } catch {
                throw StoreError(message: "cluster '\(name)': stored \(column) are not valid JSON")
            }
        }
        let credentials: ClusterCredentials
        do {
            credentials = try JSONDecoder().decode(ClusterCredentials.self, from: try keyring.open(try r.get("credentials", as: Data.self)))
        } catch {
            throw StoreError(message: "cluster '\(name)': stored credentials cannot be read (is every replica's key file the same?)")
        }
        var namespaces: [String]?
        if let text = try r.optionalText("namespaces") {
            do { namespaces = try JSONDecoder().decode([String].self, from: Data(text.utf8)) } catch {
                throw StoreError(message: "cluster '\(name)': stored namespaces are not valid JSON")
            }
        }
        return Cluster(name: name, server: try r.text("server"), labels: try map("labels"), annotations: try map("annotations"),
                       secondary: try r.optionalText("secondary"), credentials: credentials, project: try r.optionalText("project"),
                       namespaces: namespaces, clusterResources: try r.get("cluster_resources", as: Bool.self))
    }

    static func json(_ list: [String]) throws -> String { String(decoding: try JSONEncoder().encode(list), as: UTF8.self) }

    static func json(_ map: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(map), as: UTF8.self)
    }
}

/// Accounts and tokens in PostgreSQL: the same contract as `SQLiteAuthStore`, with the same one-second cache of
/// lookups (emptied by this replica's writes; another replica's revocation is seen within the second).
public final class PostgresAuthStore: AuthStore {
    let pool: PostgresPool
    private let cache = AuthCache()

    public init(pool: PostgresPool) { self.pool = pool }

    public func accounts() throws -> [Account] {
        try pool.withConnection { db in try db.query("SELECT * FROM account ORDER BY name").map(Self.account) }
    }

    public func account(named name: String) throws -> Account? {
        if let hit = cache.account(name) { return hit }
        let generation = cache.generation
        let found = try pool.withConnection { db in try db.query("SELECT * FROM account WHERE name = \(name)").first.map(Self.account) }
        cache.put(account: name, found, generation: generation)
        return found
    }

    @discardableResult
    public func createAccount(_ name: String, role: String) throws -> Bool {
        try write { db in
            try db.execute("INSERT INTO account (name, role, created_at) VALUES (\(name), \(role), \(Timestamp.rfc3339())) ON CONFLICT DO NOTHING") > 0
        }
    }

    @discardableResult
    public func deleteAccount(_ name: String) throws -> Bool {
        try write { db in try db.execute("DELETE FROM account WHERE name = \(name)") > 0 }
    }

    public func bootstrap(account: String, role: String, token: StoredToken) throws -> Bool {
        try write { db in
            try db.execute("LOCK TABLE account IN EXCLUSIVE MODE")
            let count = try db.query("SELECT COUNT(*) AS n FROM account").first?.makeRandomAccess().get("n", as: Int.self) ?? 0
            guard count == 0 else { return false }
            try db.execute("INSERT INTO account (name, role, created_at) VALUES (\(account), \(role), \(Timestamp.rfc3339()))")
            try Self.insert(token, db)
            return true
        }
    }

    public func addToken(_ token: StoredToken) throws {
        try write { db in try Self.insert(token, db) }
    }

    private static func insert(_ t: StoredToken, _ db: PostgresPool.Connection) throws {
        try db.execute("""
            INSERT INTO token (id, account, hash, description, created_at, expires_at, revoked_at, parent)
            VALUES (\(t.id), \(t.account), \(t.hash), \(t.description), \(t.createdAt.isEmpty ? Timestamp.rfc3339() : t.createdAt), \(t.expiresAt),
                    \(t.revokedAt), \(t.parent))
            """)
    }

    public func token(id: String) throws -> StoredToken? {
        if let hit = cache.token(id) { return hit }
        let generation = cache.generation
        let found = try pool.withConnection { db in try db.query("SELECT * FROM token WHERE id = \(id)").first.map(Self.token) }
        cache.put(token: id, found, generation: generation)
        return found
    }

    public func tokens(account: String?) throws -> [StoredToken] {
        try pool.withConnection { db in
            if let account {
                return try db.query("SELECT * FROM token WHERE account = \(account) ORDER BY created_at, id").map(Self.token)
            }
            return try db.query("SELECT * FROM token ORDER BY account, created_at, id").map(Self.token)
        }
    }

    @discardableResult
    public func revoke(id: String) throws -> Bool {
        try write { db in
            let now = Timestamp.rfc3339()
            guard try db.execute("UPDATE token SET revoked_at = \(now) WHERE id = \(id) AND revoked_at IS NULL") > 0 else { return false }
            try db.execute("""
                WITH RECURSIVE descendant(id) AS (
                    SELECT id FROM token WHERE parent = \(id)
                    UNION SELECT token.id FROM token JOIN descendant ON token.parent = descendant.id
                )
                UPDATE token SET revoked_at = \(now) WHERE id IN (SELECT id FROM descendant) AND revoked_at IS NULL
                """)
            return true
        }
    }

    private func write<T>(_ body: (PostgresPool.Connection) throws -> T) throws -> T {
        defer { cache.clear() }
        return try pool.transaction(body)
    }

    private static func account(_ row: PostgresRow) throws -> Account {
        let r = row.makeRandomAccess()
        return Account(name: try r.text("name"), role: try r.text("role"), createdAt: try r.text("created_at"))
    }

    private static func token(_ row: PostgresRow) throws -> StoredToken {
        let r = row.makeRandomAccess()
        return StoredToken(id: try r.text("id"), account: try r.text("account"), hash: try r.text("hash"), description: try r.text("description"),
                           createdAt: try r.text("created_at"), expiresAt: try r.optionalText("expires_at"), revokedAt: try r.optionalText("revoked_at"),
                           parent: try r.optionalText("parent"))
    }
}
