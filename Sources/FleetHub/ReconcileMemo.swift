import FleetSync
import Foundation

/// What each Application's last comparison depended on, when it found nothing to do: the cluster, its live
/// objects as the cluster's cache stamps them, the commits of the watched revisions, the projects. A reconcile
/// whose fingerprint still holds would compare the same inputs and come out the same, so it is skipped: a resync
/// of an unchanged Application is a fingerprint comparison, not a render, an inventory and a diff.
///
/// Anything that could change the outcome breaks the fingerprint or drops the entry: a write to the Application's
/// row (object, status, pin, placement — the store reports each, as for `SummaryCache`), an event on one of its
/// objects, a kind listed again or a watch lost, the cache replaced, a new commit of any watched revision, a
/// change of projects or policies. Entries are only made for what cannot change otherwise (see `ApplicationReconciler`), and
/// an entry older than `maxAge` seconds is not used: the full comparison runs again at least that often.
///
/// A comparison is remembered only if nobody but the reconcile that made it wrote the Application meanwhile.
/// `lock` guards everything.
final class ReconcileMemo: @unchecked Sendable {
    struct Fingerprint: Sendable, Equatable {
        let cluster: String
        let live: LiveStamp
        let revisions: UInt64
        let projects: UInt64
        /// Bumped when the policy files are read again: a comparison made under other policies does not hold.
        let policies: UInt64
    }

    struct Entry: Sendable {
        let fingerprint: Fingerprint
        /// When the comparison was made (seconds on the hub's monotonic clock).
        let comparedAt: Double

        /// Whether a reconcile at `now` that finds `current` may skip the comparison.
        func holds(_ current: Fingerprint, now: Double, maxAge: Double) -> Bool {
            current == fingerprint && now - comparedAt < maxAge && now >= comparedAt
        }
    }

    let maxAge: Double
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Writes reported per Application: a comparison is remembered only when the writes since it read the
    /// Application are its own.
    private var writes: [String: UInt64] = [:]

    init(maxAge: Double) { self.maxAge = maxAge }

    /// Read before the Application is: passed to `put`.
    func writesSeen(_ name: String) -> UInt64 { lock.withLock { writes[name] ?? 0 } }

    func entry(_ name: String) -> Entry? { lock.withLock { entries[name] } }

    /// Records a comparison that found nothing to do, made from the Application as it was when `seen` was read,
    /// unless someone else than the reconcile itself (which wrote `ownWrites` times) wrote it since.
    func put(_ name: String, _ fingerprint: Fingerprint, comparedAt: Double, seen: UInt64, ownWrites: UInt64) {
        lock.withLock {
            guard (writes[name] ?? 0) == seen &+ ownWrites else { return }
            entries[name] = Entry(fingerprint: fingerprint, comparedAt: comparedAt)
        }
    }

    /// The store wrote these Applications (or deleted them).
    func drop(_ names: [String]) {
        lock.withLock {
            for name in names {
                entries.removeValue(forKey: name)
                writes[name, default: 0] &+= 1
            }
        }
    }

    /// The Application is gone.
    func forget(_ name: String) {
        lock.withLock {
            entries.removeValue(forKey: name)
            writes.removeValue(forKey: name)
        }
    }

    var count: Int { lock.withLock { entries.count } }
}
