import FleetModel
import Foundation
import GRDB

/// Accounts and tokens in the hub's SQLite database. Every change is one transaction.
public final class SQLiteAuthStore: AuthStore {
    private let pool: DatabasePool
    /// Tokens and accounts as last read, for authentication on every request: emptied by every write of this
    /// store, and trusted for at most a second (another process may change the database).
    private let cache = AuthCache()

    public init(directory: URL) throws {
        pool = try SQLiteClusterStore.sharedPool(directory: directory)
    }

    /// On the database the cluster store opened (one connection pool for every store of a hub).
    public init(sharing clusters: SQLiteClusterStore) {
        pool = clusters.pool
    }

    public func accounts() throws -> [Account] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY name").map { Account(name: $0["name"], role: $0["role"], createdAt: $0["created_at"]) }
        }
    }

    public func account(named name: String) throws -> Account? {
        if let hit = cache.account(name) { return hit }
        let generation = cache.generation
        let found = try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM account WHERE name = ?", arguments: [name]).map { Account(name: $0["name"], role: $0["role"], createdAt: $0["created_at"]) }
        }
        cache.put(account: name, found, generation: generation)
        return found
    }

    /// Creates an account; false when the name exists.
    @discardableResult
    public func createAccount(_ name: String, role: String) throws -> Bool {
        try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [name]) != nil { return false }
            try db.execute(sql: "INSERT INTO account (name, role, created_at) VALUES (?, ?, ?)", arguments: [name, role, Timestamp.rfc3339()])
            return true
        }
    }

    /// Deletes an account and its tokens; false when there was none.
    @discardableResult
    public func deleteAccount(_ name: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM account WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    /// The first account and its token, in one transaction, only when there is no account yet.
    public func bootstrap(account: String, role: String, token: StoredToken) throws -> Bool {
        try write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") == 0 else { return false }
            let now = Timestamp.rfc3339()
            try db.execute(sql: "INSERT INTO account (name, role, created_at) VALUES (?, ?, ?)", arguments: [account, role, now])
            try Self.insert(token, db: db)
            return true
        }
    }

    public func addToken(_ token: StoredToken) throws {
        try write { db in try Self.insert(token, db: db) }
    }

    private static func insert(_ t: StoredToken, db: Database) throws {
        try db.execute(sql: """
            INSERT INTO token (id, account, hash, description, created_at, expires_at, revoked_at, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [t.id, t.account, t.hash, t.description, t.createdAt.isEmpty ? Timestamp.rfc3339() : t.createdAt, t.expiresAt, t.revokedAt,
                             t.parent])
    }

    public func token(id: String) throws -> StoredToken? {
        if let hit = cache.token(id) { return hit }
        let generation = cache.generation
        let found = try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(Self.decode) }
        cache.put(token: id, found, generation: generation)
        return found
    }

    public func tokens(account: String? = nil) throws -> [StoredToken] {
        try pool.read { db in
            if let account {
                return try Row.fetchAll(db, sql: "SELECT * FROM token WHERE account = ? ORDER BY created_at, id", arguments: [account]).map(Self.decode)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM token ORDER BY account, created_at, id").map(Self.decode)
        }
    }

    /// Revokes a token at once, with every token it created (and they created), in one transaction; false when
    /// there is no such token (or it was revoked already).
    @discardableResult
    public func revoke(id: String) throws -> Bool {
        try write { db in
            let now = Timestamp.rfc3339()
            try db.execute(sql: "UPDATE token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: """
                WITH RECURSIVE descendant(id) AS (
                    SELECT id FROM token WHERE parent = ?
                    UNION SELECT token.id FROM token JOIN descendant ON token.parent = descendant.id
                )
                UPDATE token SET revoked_at = ? WHERE id IN descendant AND revoked_at IS NULL
                """, arguments: [id, now])
            return true
        }
    }

    /// A write transaction; the cache is emptied once it has run (committed or not).
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        defer { cache.clear() }
        return try pool.write(body)
    }

    private static func decode(_ row: Row) -> StoredToken {
        StoredToken(id: row["id"], account: row["account"], hash: row["hash"], description: row["description"], createdAt: row["created_at"],
                    expiresAt: row["expires_at"], revokedAt: row["revoked_at"], parent: row["parent"])
    }
}

/// Cached lookups of `SQLiteAuthStore`, each trusted for `ttl` seconds. `lock` guards the dictionaries.
public final class AuthCache: @unchecked Sendable {
    public init() {}
    private let lock = NSLock()
    private var tokens: [String: (StoredToken?, UInt64)] = [:]
    private var accounts: [String: (Account?, UInt64)] = [:]
    private let ttl: UInt64 = 1_000_000_000
    /// Bumped by every write: a read that began before a write does not put what it read.
    private var writes = 0

    public var generation: Int { lock.withLock { writes } }

    private var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    public func token(_ id: String) -> StoredToken?? {
        lock.withLock { tokens[id].flatMap { now - $0.1 < ttl ? .some($0.0) : nil } }
    }

    public func account(_ name: String) -> Account?? {
        lock.withLock { accounts[name].flatMap { now - $0.1 < ttl ? .some($0.0) : nil } }
    }

    public func put(token id: String, _ value: StoredToken?, generation: Int) {
        lock.withLock {
            guard generation == writes else { return }
            if tokens.count > 10_000 { tokens.removeAll() }   // unknown ids from guessing must not grow it without end
            tokens[id] = (value, now)
        }
    }

    public func put(account name: String, _ value: Account?, generation: Int) {
        lock.withLock {
            guard generation == writes else { return }
            if accounts.count > 10_000 { accounts.removeAll() }
            accounts[name] = (value, now)
        }
    }

    public func clear() {
        lock.withLock {
            writes += 1
            tokens.removeAll()
            accounts.removeAll()
        }
    }
}
