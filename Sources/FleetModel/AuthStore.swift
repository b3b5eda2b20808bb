/// An account of the hub's API.
public struct Account: Sendable, Equatable {
    public init(name: String, role: String, createdAt: String) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    public var name: String
    /// The role it has besides what `policy.csv` gives it, e.g. `role:admin`, `role:readonly`.
    public var role: String
    public var createdAt: String
}

/// A token as stored: never the secret, only its SHA-256.
public struct StoredToken: Sendable, Equatable {
    public var id: String
    public var account: String
    public var hash: String
    public var description: String
    public var createdAt: String
    public var expiresAt: String?
    public var revokedAt: String?
    /// The token of the same account that created this one, if any.
    public var parent: String?

    public init(id: String, account: String, hash: String, description: String, createdAt: String, expiresAt: String?, revokedAt: String?,
                parent: String? = nil) {
        self.parent = parent
        self.id = id
        self.account = account
        self.hash = hash
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// The port through which the hub reads and changes accounts and API tokens. Every change is one transaction.
///
/// Implementations: SQLite (`SQLiteAuthStore`), PostgreSQL (`FleetPostgres.PostgresAuthStore`).
public protocol AuthStore: Sendable {
    func accounts() throws -> [Account]
    func account(named name: String) throws -> Account?
    /// Creates an account; false when the name exists.
    @discardableResult func createAccount(_ name: String, role: String) throws -> Bool
    /// Deletes an account and its tokens; false when there was none.
    @discardableResult func deleteAccount(_ name: String) throws -> Bool
    /// The first account and its token, in one transaction, only when there is no account yet.
    func bootstrap(account: String, role: String, token: StoredToken) throws -> Bool
    func addToken(_ token: StoredToken) throws
    func token(id: String) throws -> StoredToken?
    /// Tokens of one account (or all), by account, creation time and id.
    func tokens(account: String?) throws -> [StoredToken]
    /// Revokes a token and every token it created (and they created), in one transaction; false when there is no
    /// such token or it was revoked already.
    @discardableResult func revoke(id: String) throws -> Bool
}

extension AuthStore {
    public func tokens() throws -> [StoredToken] { try tokens(account: nil) }
}
