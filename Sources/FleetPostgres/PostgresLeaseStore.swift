import FleetModel
import FleetStore
import Foundation
import PostgresNIO

/// The replicas' heartbeats and leases in PostgreSQL, on the database's clock (replicas' clocks may disagree; the
/// database's is the one they share). Each `LeaseAction` is one compare-and-set on the lease's fencing token, the
/// rule `LeaseTable.perform` states in memory.
public final class PostgresLeaseStore: Sendable {
    let pool: PostgresPool

    init(pool: PostgresPool) { self.pool = pool }

    /// What a replica reads each round: every lease, every heartbeat, and the database's time (seconds since 1970).
    public struct Snapshot: Sendable {
        public var leases: [String: Lease]
        public var heartbeats: [String: Double]
        public var addresses: [String: String]
        public var now: Double
    }

    /// Records `replica`'s heartbeat (and where its API answers); returns the database's time.
    @discardableResult
    public func heartbeat(_ replica: String, address: String, version: String) throws -> Double {
        try pool.withConnection { db in
            let row = try db.query("""
                INSERT INTO replica (id, address, started_at, heartbeat_at, version)
                VALUES (\(replica), \(address), extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp()), \(version))
                ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at, version = excluded.version
                RETURNING heartbeat_at
                """).first
            return try row?.makeRandomAccess().get("heartbeat_at", as: Double.self) ?? 0
        }
    }

    /// A replica that stops gracefully removes its heartbeat and releases its leases, so others take them at once.
    public func leave(_ replica: String) throws {
        try pool.transaction { db in
            try db.execute("""
                UPDATE lease SET holder = '', wanted_by = NULL, expires_at = extract(epoch FROM clock_timestamp()),
                changed_at = extract(epoch FROM clock_timestamp()) WHERE holder = \(replica)
                """)
            try db.execute("DELETE FROM replica WHERE id = \(replica)")
        }
    }

    public func snapshot() throws -> Snapshot {
        try pool.withConnection { db in
            let now = try db.query("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").first?.makeRandomAccess().get("now", as: Double.self) ?? 0
            var leases: [String: Lease] = [:]
            for row in try db.query("SELECT key, holder, token, expires_at, wanted_by FROM lease") {
                let r = row.makeRandomAccess()
                leases[try r.text("key")] = Lease(holder: try r.text("holder"), token: try r.get("token", as: Int64.self),
                                                  expiresAt: try r.get("expires_at", as: Double.self), wantedBy: try r.optionalText("wanted_by"))
            }
            var heartbeats: [String: Double] = [:], addresses: [String: String] = [:]
            for row in try db.query("SELECT id, address, heartbeat_at FROM replica") {
                let r = row.makeRandomAccess()
                let id = try r.text("id")
                heartbeats[id] = try r.get("heartbeat_at", as: Double.self)
                addresses[id] = try r.text("address")
            }
            return Snapshot(leases: leases, heartbeats: heartbeats, addresses: addresses, now: now)
        }
    }

    /// Applies one action of `replica` as a compare-and-set; returns whether it held.
    @discardableResult
    public func perform(_ action: LeaseAction, by replica: String, settings: LeaseSettings) throws -> Bool {
        let now = "extract(epoch FROM clock_timestamp())"
        let query: PostgresQuery
        switch action {
        case .acquire(let key, let token):
            if token == 1 {
                query = PostgresQuery(unsafeSQL: """
                    INSERT INTO lease (key, holder, token, expires_at, changed_at) VALUES ($1, $2, 1, \(now) + $3, \(now))
                    ON CONFLICT (key) DO NOTHING
                    """, binds: Self.binds(key, replica, settings.duration))
            } else {
                query = PostgresQuery(unsafeSQL: """
                    UPDATE lease SET holder = $2, token = $4, expires_at = \(now) + $3, wanted_by = NULL, changed_at = \(now)
                    WHERE key = $1 AND token = $4 - 1 AND (holder = '' OR expires_at <= \(now))
                    """, binds: Self.binds(key, replica, settings.duration, token))
            }
        case .renew(let key, let token):
            query = PostgresQuery(unsafeSQL: """
                UPDATE lease SET expires_at = \(now) + $3 WHERE key = $1 AND holder = $2 AND token = $4 AND expires_at > \(now)
                """, binds: Self.binds(key, replica, settings.duration, token))
        case .release(let key, let token):
            query = PostgresQuery(unsafeSQL: """
                UPDATE lease SET holder = '', wanted_by = NULL, expires_at = \(now), changed_at = \(now)
                WHERE key = $1 AND holder = $2 AND token = $3
                """, binds: Self.binds(key, replica, token))
        case .request(let key, let token):
            query = PostgresQuery(unsafeSQL: """
                UPDATE lease SET wanted_by = $2 WHERE key = $1 AND token = $3 AND holder <> '' AND expires_at > \(now)
                """, binds: Self.binds(key, replica, token))
        }
        return try pool.withConnection { db in try db.execute(query) > 0 }
    }

    /// The fencing check of a write for `key`: within the caller's transaction, the lease must still be `replica`'s
    /// at `token` and unexpired on the database's clock. A plain read, no lock: a writer paused here must not keep
    /// the lease row from being taken over (a lease moves only after the holder's margin has passed, and a session
    /// paused inside its transaction is ended by the server, rolling the write back).
    public static func admits(_ db: PostgresPool.Connection, key: String, token: Int64, replica: String) throws -> Bool {
        let held = try !db.query("""
            SELECT 1 FROM lease WHERE key = \(key) AND holder = \(replica) AND token = \(token) AND expires_at > extract(epoch FROM clock_timestamp())
            """).isEmpty
        return held
    }

    /// Counts a write refused by the fencing check (in its own transaction: the refused one rolls back).
    public func countFenced(_ replica: String) throws {
        try pool.withConnection { db in
            _ = try db.execute("INSERT INTO fenced_write (replica, count) VALUES (\(replica), 1) ON CONFLICT (replica) DO UPDATE SET count = fenced_write.count + 1")
        }
    }

    /// Fenced writes per replica.
    public func fencedWrites() throws -> [String: Int] {
        try pool.withConnection { db in
            var result: [String: Int] = [:]
            for row in try db.query("SELECT replica, count FROM fenced_write") {
                let r = row.makeRandomAccess()
                result[try r.text("replica")] = Int(try r.get("count", as: Int64.self))
            }
            return result
        }
    }

    private static func binds(_ key: String, _ replica: String, _ value: Double, _ token: Int64? = nil) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(key)
        binds.append(replica)
        binds.append(value)
        if let token { binds.append(token) }
        return binds
    }

    private static func binds(_ key: String, _ replica: String, _ token: Int64) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(key)
        binds.append(replica)
        binds.append(token)
        return binds
    }
}
