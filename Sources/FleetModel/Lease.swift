/// The timing of leases (see `LeasePlanner`).
public struct LeaseSettings: Sendable, Equatable {
    /// Seconds between renewals (and between a replica's heartbeats). Default 2.
    public var renew: Double
    /// Seconds a lease or a heartbeat stays valid without renewal. Default 10.
    public var duration: Double

    public init(renew: Double = 2, duration: Double = 10) {
        self.renew = renew
        self.duration = max(duration, 2 * renew)
    }
}

/// One key's lease as stored.
public struct Lease: Sendable, Equatable {
    /// The replica holding it; empty when released.
    public var holder: String
    /// Fencing token: incremented at every change of holder.
    public var token: Int64
    /// When it lapses without renewal (seconds, on the clock the replicas share: the database's).
    public var expiresAt: Double
    /// A better-ranked replica asked for it: the holder releases at its next renewal.
    public var wantedBy: String?

    public init(holder: String, token: Int64, expiresAt: Double, wantedBy: String? = nil) {
        self.holder = holder
        self.token = token
        self.expiresAt = expiresAt
        self.wantedBy = wantedBy
    }

    public func isHeld(at now: Double) -> Bool { !holder.isEmpty && expiresAt > now }
}

/// What a replica writes, each a compare-and-set on the lease's token as read.
public enum LeaseAction: Sendable, Equatable {
    /// Take a free, released or lapsed lease: holder = me, token = `token`, expiring `duration` from now.
    case acquire(key: String, token: Int64)
    /// Extend a lease held at `token`.
    case renew(key: String, token: Int64)
    /// Give a lease held at `token` up (to the replica that asked for it).
    case release(key: String, token: Int64)
    /// Ask the holder of a lease at `token` to hand it over.
    case request(key: String, token: Int64)
}
