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
/// change of projects. Entries are only made for what cannot change otherwise (see `ApplicationReconciler`), and
/// an entry older than `maxAge` seconds is not used: the full comparison runs again at least that often.
///
/// An entry read before a drop is never put after it (the `SummaryCache` rule). `lock` guards everything.
final class ReconcileMemo: @unchecked Sendable {
    struct Fingerprint: Sendable, Equatable {
        let cluster: String
        let live: LiveStamp
        let revisions: UInt64
        let projects: UInt64
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
    private var dropped: [String: Int] = [:]
    private var clock = 0
    /// Marks before this tick were forgotten: a put read before it is refused.
    private var floor = 0

    init(maxAge: Double) { self.maxAge = maxAge }

    /// Read before the Application is: passed to `put`.
    var tick: Int { lock.withLock { clock } }

    func entry(_ name: String) -> Entry? { lock.withLock { entries[name] } }

    /// Records a comparison that found nothing to do, unless the Application was written since `readAt`.
    func put(_ name: String, _ fingerprint: Fingerprint, comparedAt: Double, readAt: Int) {
        lock.withLock {
            // A drop after the read made `clock` pass `readAt`.
            if readAt < floor { return }
            if let when = dropped[name], when > readAt { return }
            entries[name] = Entry(fingerprint: fingerprint, comparedAt: comparedAt)
        }
    }

    func drop(_ names: [String]) {
        lock.withLock {
            clock += 1
            for name in names {
                entries.removeValue(forKey: name)
                dropped[name] = clock
            }
            // The marks only matter for reconciles in flight; when forgotten, those are refused.
            if dropped.count > 100_000 {
                dropped.removeAll(keepingCapacity: true)
                floor = clock
            }
        }
    }

    var count: Int { lock.withLock { entries.count } }
}
