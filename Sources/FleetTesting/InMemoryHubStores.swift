import FleetModel
import Foundation

/// The cluster registry in memory, with the SQLite store's contract: one update validates the whole result and
/// writes nothing when it is invalid or its body throws.
public final class InMemoryClusterStore: ClusterStore, @unchecked Sendable {
    // `lock` guards `registry`.
    private let lock = NSLock()
    private var registry = ClusterRegistry()

    public init(_ clusters: [Cluster] = []) { registry = ClusterRegistry(clusters) }

    public func clusters() throws -> [Cluster] { lock.withLock { registry.clusters } }

    public func cluster(named name: String) throws -> Cluster? { lock.withLock { registry[name] } }

    public func update<T: Sendable>(_ body: (inout ClusterRegistry) throws -> T) throws -> (T, ClusterChanges) {
        try lock.withLock {
            var after = registry
            let result = try body(&after)
            try after.validate()
            let changes = after.changes(from: registry)
            registry = after
            return (result, changes)
        }
    }
}

/// Accounts and tokens in memory, with the SQLite store's contract (a deleted account takes its tokens; a revoked
/// token takes every token it created).
public final class InMemoryAuthStore: AuthStore, @unchecked Sendable {
    // `lock` guards everything below.
    private let lock = NSLock()
    private var accountsByName: [String: Account] = [:]
    private var tokensByID: [String: StoredToken] = [:]

    public init() {}

    public func accounts() throws -> [Account] { lock.withLock { accountsByName.values.sorted { $0.name < $1.name } } }

    public func account(named name: String) throws -> Account? { lock.withLock { accountsByName[name] } }

    public func createAccount(_ name: String, role: String) throws -> Bool {
        lock.withLock {
            guard accountsByName[name] == nil else { return false }
            accountsByName[name] = Account(name: name, role: role, createdAt: Timestamp.rfc3339())
            return true
        }
    }

    public func deleteAccount(_ name: String) throws -> Bool {
        lock.withLock {
            guard accountsByName.removeValue(forKey: name) != nil else { return false }
            tokensByID = tokensByID.filter { $0.value.account != name }
            return true
        }
    }

    public func bootstrap(account: String, role: String, token: StoredToken) throws -> Bool {
        lock.withLock {
            guard accountsByName.isEmpty else { return false }
            accountsByName[account] = Account(name: account, role: role, createdAt: Timestamp.rfc3339())
            insert(token)
            return true
        }
    }

    public func addToken(_ token: StoredToken) throws { lock.withLock { insert(token) } }

    private func insert(_ token: StoredToken) {
        var stored = token
        if stored.createdAt.isEmpty { stored.createdAt = Timestamp.rfc3339() }
        tokensByID[stored.id] = stored
    }

    public func token(id: String) throws -> StoredToken? { lock.withLock { tokensByID[id] } }

    public func tokens(account: String?) throws -> [StoredToken] {
        lock.withLock {
            tokensByID.values.filter { account == nil || $0.account == account }
                .sorted { ($0.account, $0.createdAt, $0.id) < ($1.account, $1.createdAt, $1.id) }
        }
    }

    public func revoke(id: String) throws -> Bool {
        lock.withLock {
            guard let token = tokensByID[id], token.revokedAt == nil else { return false }
            let now = Timestamp.rfc3339()
            tokensByID[id]?.revokedAt = now
            var revoking = [id]
            while let next = revoking.popLast() {
                for child in tokensByID.values where child.parent == next && child.revokedAt == nil {
                    tokensByID[child.id]?.revokedAt = now
                    revoking.append(child.id)
                }
            }
            return true
        }
    }
}
