import FleetModel

/// How hub replicas share the fleet: leases on keys (one per cluster, and one for the generation work), decided
/// as a pure state machine over what the database holds. No I/O and no clock of its own: a replica reads the
/// lease table and the replicas' heartbeats, asks `LeasePlanner.plan` what to do, and writes each action as a
/// compare-and-set on the lease's fencing token (`LeaseTable.perform` is the same rule in memory, for tests and
/// as the specification the database store follows).
///
/// Rules:
/// - each key is owned by the live replica that ranks highest for it (rendezvous hashing), so a replica joining or
///   leaving moves only the keys it ranks first for — about a fair share — and no others;
/// - a lease is held until it expires (`duration` after its last renewal, renewed every `renew`); a replica that
///   died loses its keys when their leases expire, never sooner;
/// - every change of holder increments the key's fencing token; a write for a key carries the token it was decided
///   under and is refused when the token moved (a replica paused past its lease cannot write after waking);
/// - a replica acts for a key only while its lease has more than `renew` seconds left (it stops before the lease
///   can be taken, not after);
/// - hand-over to a better-ranked replica is make-before-break: the new owner asks, the holder keeps serving until
///   it sees the request, then releases, and the new owner acquires.
public enum LeasePlanner {
    /// A replica's rank for a key: FNV-1a (64-bit) of both, stable across processes and machines.
    public static func rank(_ key: String, _ replica: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in replica.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ 0) &* 0x0000_0100_0000_01b3
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // FNV's low bits mix poorly for similar inputs: finish with a 64-bit avalanche (splitmix64).
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }

    /// The replica that should own `key` among `replicas` (highest rank; ties by name), or nil when there is none.
    public static func owner(of key: String, among replicas: [String]) -> String? {
        replicas.max { a, b in
            let (x, y) = (rank(key, a), rank(key, b))
            return x != y ? x < y : a > b
        }
    }

    /// Replicas whose last heartbeat is younger than the lease duration.
    public static func live(_ heartbeats: [String: Double], now: Double, settings: LeaseSettings) -> [String] {
        heartbeats.filter { now - $0.value < settings.duration }.map(\.key).sorted()
    }

    /// What `me` should write now for `keys`, given the leases and heartbeats as just read. `me` counts as live.
    public static func plan(me: String, keys: [String], leases: [String: Lease], heartbeats: [String: Double], now: Double,
                            settings: LeaseSettings) -> [LeaseAction] {
        let replicas = Array(Set(live(heartbeats, now: now, settings: settings) + [me])).sorted()
        var actions: [LeaseAction] = []
        for key in keys {
            let desired = owner(of: key, among: replicas)
            let lease = leases[key]
            guard let lease, lease.isHeld(at: now) else {
                // Free, released or lapsed: its owner takes it, with the next token.
                if desired == me { actions.append(.acquire(key: key, token: (lease?.token ?? 0) + 1)) }
                continue
            }
            if lease.holder == me {
                // Keep serving until the better-ranked replica has asked (it is up and ready), then let go.
                if desired != me, let wanted = lease.wantedBy, wanted == desired {
                    actions.append(.release(key: key, token: lease.token))
                } else {
                    actions.append(.renew(key: key, token: lease.token))
                }
            } else if desired == me && lease.wantedBy != me {
                actions.append(.request(key: key, token: lease.token))
            }
        }
        return actions
    }

    /// Whether `me` may act for `key` now: it holds the lease with more than one renewal interval left, so it stops
    /// before the lease could lapse and be taken — a replica paused past that point does nothing when it wakes
    /// until it has read the table again (and the token check refuses what it had decided before).
    public static func mayAct(me: String, key: String, leases: [String: Lease], now: Double, settings: LeaseSettings) -> Bool {
        guard let lease = leases[key], lease.holder == me else { return false }
        return lease.expiresAt - now > settings.renew
    }
}

/// The lease table in memory, with the database's compare-and-set rules: what the PostgreSQL store implements in
/// SQL (`UPDATE … WHERE key = $1 AND token = $2`), and what the tests run replicas against.
public struct LeaseTable: Sendable, Equatable {
    public private(set) var leases: [String: Lease] = [:]
    public private(set) var heartbeats: [String: Double] = [:]

    public init() {}

    public mutating func heartbeat(_ replica: String, at now: Double) { heartbeats[replica] = now }

    /// Applies one action of `replica`; returns whether the compare-and-set held.
    @discardableResult
    public mutating func perform(_ action: LeaseAction, by replica: String, now: Double, settings: LeaseSettings) -> Bool {
        switch action {
        case .acquire(let key, let token):
            let current = leases[key]
            guard current.map({ !$0.isHeld(at: now) && $0.token + 1 == token }) ?? (token == 1) else { return false }
            leases[key] = Lease(holder: replica, token: token, expiresAt: now + settings.duration)
        case .renew(let key, let token):
            guard var lease = leases[key], lease.holder == replica, lease.token == token, lease.isHeld(at: now) else { return false }
            lease.expiresAt = now + settings.duration
            leases[key] = lease
        case .release(let key, let token):
            guard var lease = leases[key], lease.holder == replica, lease.token == token else { return false }
            lease.holder = ""
            lease.expiresAt = now
            lease.wantedBy = nil
            leases[key] = lease
        case .request(let key, let token):
            guard var lease = leases[key], lease.token == token, lease.isHeld(at: now) else { return false }
            lease.wantedBy = replica
            leases[key] = lease
        }
        return true
    }

    /// Whether a write for `key` decided under `token` by `replica` is still allowed (the fencing check every
    /// write for a cluster carries).
    public func admits(key: String, token: Int64, by replica: String, now: Double) -> Bool {
        guard let lease = leases[key] else { return false }
        return lease.holder == replica && lease.token == token && lease.isHeld(at: now)
    }
}
