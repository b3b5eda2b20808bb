import FleetKube
import FleetModel
import FleetPostgres
import FleetReconcile
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What this replica may act for: every cluster and the generation work when it runs alone (SQLite), the keys whose
/// leases it holds when it is one of several (PostgreSQL). Read on every reconcile, probe and generation.
///
/// A lease is trusted until one renewal interval before it lapses, measured on this process's monotonic clock from
/// the moment the lease table was read (the database's clock decides expiry; the replicas' wall clocks may
/// disagree). The monotonic clock runs on while a process is stopped, so a replica paused past that point holds
/// nothing when it wakes, before it has read the table again.
public final class Shard: @unchecked Sendable {
    /// The key of the generation lease (ApplicationSets, git watching, file watching).
    public static let generationKey = "generation"
    /// The lease key of a cluster.
    public static func key(cluster: String) -> String { "cluster/" + cluster }

    public let replica: String
    public let replicated: Bool
    let settings: LeaseSettings
    /// Guards `held`.
    private let lock = NSLock()
    /// Held keys: the token and the monotonic deadline (ns) until which the replica may act.
    private var held: [String: (token: Int64, until: UInt64)] = [:]
    /// Every key of the lease table as last read.
    private var known: Set<String> = []
    /// Held keys another replica asked for: no new work starts for them; work in flight finishes (its writes still
    /// carry the token) until the lease is released at the next round.
    private var draining: Set<String> = []

    /// One replica on its own: holds everything.
    init() {
        replica = ""
        replicated = false
        settings = LeaseSettings()
    }

    init(replica: String, settings: LeaseSettings) {
        self.replica = replica
        replicated = true
        self.settings = settings
    }

    static var monotonic: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Whether this replica may act for `cluster` now (reconcile, prune, probe, fail over). An Application without
    /// a cluster (an unknown destination) is anyone's: its status says so.
    public func holds(cluster: String?) -> Bool {
        guard replicated, let cluster else { return true }
        let key = Self.key(cluster: cluster)
        return token(for: key) != nil && !lock.withLock { draining.contains(key) }
    }

    /// Whether work already running for `cluster` may still change it (its lease is held, possibly being handed over).
    public func mayWrite(cluster: String) -> Bool { !replicated || token(for: Self.key(cluster: cluster)) != nil }

    /// Whether this replica runs the generation work (ApplicationSets, git, files).
    public var holdsGeneration: Bool { !replicated || token(for: Self.generationKey) != nil }

    /// The fencing token of a key held now, or nil.
    public func token(for key: String) -> Int64? {
        let now = Self.monotonic
        return lock.withLock { held[key].flatMap { $0.until > now ? $0.token : nil } }
    }

    /// Whether the lease table had `key` when last read (a registered cluster has one once a replica took it).
    public func isKnown(_ key: String) -> Bool { lock.withLock { known.contains(key) } }

    /// Keys held now.
    public var heldKeys: [String] {
        let now = Self.monotonic
        return lock.withLock { held.filter { $0.value.until > now }.map(\.key).sorted() }
    }

    /// Replaces what is held from a lease table read at `readAt` (monotonic ns) whose clock said `now`; returns the
    /// keys gained and lost since the last update.
    func update(leases: [String: Lease], now: Double, readAt: UInt64) -> (gained: Set<String>, lost: Set<String>) {
        var next: [String: (token: Int64, until: UInt64)] = [:]
        for (key, lease) in leases where lease.holder == replica && LeasePlanner.mayAct(me: replica, key: key, leases: leases, now: now, settings: settings) {
            let margin = lease.expiresAt - now - settings.renew
            next[key] = (lease.token, readAt + UInt64(max(0, margin) * 1e9))
        }
        let current = Self.monotonic
        return lock.withLock {
            let before = Set(held.filter { $0.value.until > current }.keys)
            held = next
            known = Set(leases.keys)
            draining = Set(next.keys.filter { key in leases[key]?.wantedBy.map { $0 != replica } ?? false })
            let after = Set(next.keys)
            return (after.subtracting(before), before.subtracting(after))
        }
    }

    /// Drops every lease (a replica leaving, or one whose lease table cannot be read: it must stop acting).
    func dropAll() -> Set<String> {
        lock.withLock {
            defer {
                held = [:]
                draining = []
            }
            return Set(held.keys)
        }
    }

    /// Keys being handed over since the last read.
    var drainingKeys: Set<String> { lock.withLock { draining } }
}

/// The lease loop of one replica on PostgreSQL: every `lease.renew` it heartbeats, reads the lease table, asks
/// `LeasePlanner` what to write (acquire, renew, request, release) for the generation key and every registered
/// cluster, writes it as compare-and-set, reads the table again and tells the hub what it gained and lost.
/// On a graceful stop it releases its leases and its heartbeat, so the others take over at their next round.
final class ReplicaController: Service, @unchecked Sendable {
    let context: HubContext
    let postgres: PostgresHubStore
    let shard: Shard
    let queue = DispatchQueue(label: "flotilla.replicas")
    /// Called on `queue` with the keys gained and lost.
    private let onChange: @Sendable (_ gained: Set<String>, _ lost: Set<String>) -> Void
    private let stopped = NIOLockedValueBox(false)
    private let failing = NIOLockedValueBox(false)

    /// The change feed (LISTEN/NOTIFY): started when the hub loads, stopped with the leases.
    let feed: PostgresChangeFeed

    init(context: HubContext, postgres: PostgresHubStore, feed: PostgresChangeFeed,
         onChange: @escaping @Sendable (Set<String>, Set<String>) -> Void) {
        self.context = context
        self.postgres = postgres
        self.feed = feed
        shard = context.shard
        self.onChange = onChange
    }

    var address: String { context.config.replicaAddress ?? ((context.config.tlsCert == nil ? "http://" : "https://") + context.config.listen) }

    /// One round now, on the lease queue (at start, before anything acts).
    func roundNow() { queue.sync { round() } }

    /// A round every `lease.renew` on the hub's clock (the first was taken when the hub loaded), until the shutdown.
    func run() async throws {
        var failure: (any Error)?
        if await context.loaded.wait() {
            do {
                try await repeatEvery(shard.settings.renew, clock: context.clock, on: queue) { [weak self] in self?.round() }
            } catch {
                failure = error
            }
        }
        // The leases are released however the loop ended. Releasing them is a database write: off the cooperative
        // pool; stop logs what it could not release.
        await shutdownWork("leases") { [self] in stop() }
        if let failure { throw failure }
    }

    /// Stops renewing; releases every lease and the heartbeat so that other replicas take over at once, and stops
    /// the change feed.
    func stop() {
        guard !stopped.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
        queue.sync {
            let lost = shard.dropAll()
            if !lost.isEmpty { onChange([], lost) }
            do { try postgres.leases.leave(shard.replica) } catch { context.logger.warning("cannot release this replica's leases: \(error)") }
        }
        feed.stop()
    }

    /// Heartbeat, plan, write, read back. A round that cannot reach the database drops every lease: a replica that
    /// cannot renew must stop acting before its leases can lapse and be taken.
    func round() {
        guard !stopped.withLockedValue({ $0 }) else { return }
        let settings = shard.settings
        let me = shard.replica
        do {
            try postgres.leases.heartbeat(me, address: address, version: "0.1.0")
            let keys = [Shard.generationKey] + (try context.clusterStore.clusters()).map { Shard.key(cluster: $0.name) }
            let before = try postgres.leases.snapshot()
            // A hand-over waits one round: the key stops taking new work when the request is first seen, and is
            // released at the next round, so that reconciles in flight can finish and write their results.
            let draining = shard.drainingKeys
            let actions = LeasePlanner.plan(me: me, keys: keys, leases: before.leases, heartbeats: before.heartbeats, now: before.now, settings: settings)
                .map { action -> LeaseAction in
                    if case .release(let key, let token) = action, !draining.contains(key) { return .renew(key: key, token: token) }
                    return action
                }
            for action in actions {
                if try postgres.leases.perform(action, by: me, settings: settings), case .acquire = action { context.metrics.observeLeaseAcquired() }
            }
            let readAt = Shard.monotonic
            let after = try postgres.leases.snapshot()
            let (gained, lost) = shard.update(leases: after.leases, now: after.now, readAt: readAt)
            context.metrics.setLeasesHeld(shard.heldKeys.count)
            if failing.withLockedValue({ let was = $0; $0 = false; return was }) { context.logger.info("the lease table answers again") }
            if !gained.isEmpty || !lost.isEmpty {
                context.logger.info("leases: gained \(gained.sorted().joined(separator: ", ")), lost \(lost.sorted().joined(separator: ", "))")
                onChange(gained, lost)
            }
        } catch {
            if !failing.withLockedValue({ let was = $0; $0 = true; return was }) {
                context.logger.error("cannot renew leases (\(error)): this replica stops acting until the database answers")
            }
            let lost = shard.dropAll()
            context.metrics.setLeasesHeld(0)
            if !lost.isEmpty { onChange([], lost) }
        }
    }
}
