import FleetModel
import FleetStore
import Foundation

/// What a list of Applications needs of each one, decoded once per change: the summary the API answers, the
/// labels selectors match and the project RBAC checks. Entries carry the row's `updated_at`; the store tells the
/// hub of every change it writes (`onApplicationsChanged`), which drops the entries; an entry read before a
/// change is never put after it. `lock` guards everything.
final class SummaryCache: @unchecked Sendable {
    struct Entry {
        let updatedAt: String
        let labels: [String: String]
        let project: String
        /// Where it runs: its placement's active cluster during a failover, else its own.
        let runningOn: String?
        let sync: String
        let health: String
        /// The summary as compact JSON, cut around the value of `reconciledAt` (which changes with every
        /// reconcile without a write): `head` ends with `"reconciledAt":`, `tail` is the rest.
        let head: [UInt8]
        let tail: [UInt8]
        let storedReconciledAt: String?
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// When each name was last dropped (in `clock` ticks): a read that began before cannot put its entry.
    private var dropped: [String: Int] = [:]
    private var clock = 0
    let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    var tick: Int { lock.withLock { clock } }

    func get(_ name: String, updatedAt: String) -> Entry? {
        lock.withLock { entries[name].flatMap { $0.updatedAt == updatedAt ? $0 : nil } }
    }

    func put(_ name: String, _ entry: Entry, readAt: Int) {
        lock.withLock {
            if let when = dropped[name], when >= readAt { return }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[name] = entry
        }
    }

    func drop(_ names: [String]) {
        lock.withLock {
            clock += 1
            for name in names {
                entries.removeValue(forKey: name)
                dropped[name] = clock
            }
            // The marks only matter for reads in flight: forget them when there are many.
            if dropped.count > 4 * capacity { dropped.removeAll(keepingCapacity: true) }
        }
    }

    static func entry(_ app: StoredApplication, updatedAt: String, summary: JSONValue) -> Entry {
        var labels: [String: String] = [:]
        for (k, v) in app.object.value(at: ["metadata", "labels"])?.objectValue ?? [] { labels[k] = v.stringValue }
        var blank = summary
        blank.set("reconciledAt", .null)
        let bytes = Array(blank.serialized(pretty: false).utf8)
        // `,"reconciledAt":null` occurs once: inside a string value, quotes are escaped.
        let marker = Array(#","reconciledAt":"#.utf8)
        var head = bytes, tail: [UInt8] = []
        if let at = bytes.firstRange(of: marker) {
            head = Array(bytes[..<at.upperBound])
            tail = Array(bytes[(at.upperBound + 4)...])   // after `null`
        }
        return Entry(updatedAt: updatedAt, labels: labels, project: Hub.projectName(app), runningOn: app.activeCluster,
                     sync: summary["sync"]?.stringValue ?? "", health: summary["health"]?.stringValue ?? "",
                     head: head, tail: tail, storedReconciledAt: summary["reconciledAt"]?.stringValue)
    }

    /// The entry's summary as compact JSON, with `reconciledAt`.
    func write(_ entry: Entry, reconciledAt: String?, into out: inout [UInt8]) {
        out.append(contentsOf: entry.head)
        if entry.tail.isEmpty { return }   // no marker (cannot happen with Hub summaries)
        if let at = reconciledAt ?? entry.storedReconciledAt {
            out.append(contentsOf: JSONValue.string(at).serialized(pretty: false).utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: entry.tail)
    }
}
