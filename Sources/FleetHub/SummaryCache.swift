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
        let summary: JSONValue
        let labels: [String: String]
        let project: String
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
        return Entry(updatedAt: updatedAt, summary: summary, labels: labels, project: Hub.projectName(app))
    }
}
