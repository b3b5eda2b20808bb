/// A store's failure, whichever database is behind it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The SQLSTATE of a PostgreSQL error (e.g. `40001` serialization failure, `23505` unique violation).
    public var sqlState: String?
    /// The connection to the database broke (the statement may or may not have run).
    public var connectionLost = false
    /// Refused by the fencing check: the writer no longer holds the lease of the Application's cluster.
    public var fenced = false
    public init(message: String) { self.message = message }
    public var description: String { message }
}
