import FleetAPI
import FleetDashboard
import FleetModel
import Foundation

/// The dashboard's `Board`, kept current: filled once from the store (at start, or on the first page), then told
/// of every changed Application (this hub's writes and other replicas'). Changed names are only marked; they are
/// read in one batch when a page or the live stream next looks, so writes pay nothing. `lock` guards everything.
final class LiveBoard: @unchecked Sendable {
    private let lock = NSLock()
    /// Held while changes are read from the store and applied: a reader that comes meanwhile waits for them
    /// rather than seeing the board from before them. Taken before `lock`, never inside it.
    private let refreshing = NSLock()
    private var board = Board()
    private var loaded = false
    private var dirty: Set<String> = []
    /// Bumped on every change: the live stream compares it to know whether to look again.
    private var changes = 0
    /// Bumped whenever the board's content changes: the version aggregates are kept for.
    private var applied = 0
    /// Aggregates over the whole board (the grid, counts per cluster) for viewers who see every Application, by
    /// what they are and the version they were computed at: pages between two changes share them.
    private var aggregates: [String: (version: Int, value: any Sendable)] = [:]

    var version: Int { lock.withLock { changes } }

    static func entry(_ app: StoredApplication) -> BoardEntry {
        let s = app.status
        var labels: [String: String] = [:]
        for (k, v) in app.object.value(at: ["metadata", "labels"])?.objectValue ?? [] { labels[k] = v.stringValue }
        return BoardEntry(name: app.name, appSet: app.appSet, cluster: app.cluster, activeCluster: app.placement == nil ? nil : app.activeCluster,
                          project: Hub.projectName(app), labels: labels, sync: ApplicationStatus.syncStatus(of: s), health: ApplicationStatus.healthStatus(of: s),
                          revision: s.value(at: ["sync", "revisions"])?.arrayValue?.first?.stringValue ?? s.value(at: ["sync", "revision"])?.stringValue,
                          operation: ApplicationStatus.operationPhase(of: s))
    }

    /// Every Application, read at start.
    func fill(_ apps: [StoredApplication]) { fill(apps.map(Self.entry)) }

    private func fill(_ entries: [BoardEntry]) {
        lock.withLock {
            // Changes marked while the store was read are read again on the next look.
            board = Board(entries)
            loaded = true
            changes += 1
            applied += 1
        }
    }

    /// Applications whose rows changed (or were deleted).
    func touch(_ names: [String]) {
        guard !names.isEmpty else { return }
        lock.withLock {
            dirty.formUnion(names)
            changes += 1
        }
    }

    /// An aggregate of the board: computed by `make` once per version when `shared` (the viewer sees every
    /// Application, so every such viewer gets the same), else each time.
    func aggregate<T: Sendable>(_ key: String, board: Board, version: Int, shared: Bool, _ make: (Board) -> T) -> T {
        if shared, let kept = lock.withLock({ aggregates[key] }), kept.version == version, let value = kept.value as? T { return value }
        let value = make(board)
        if shared { lock.withLock { aggregates[key] = (version, value) } }
        return value
    }

    /// Runs `body` on the current board and its version, after reading what changed since the last look.
    func read<T>(_ store: any ApplicationStore, _ body: (Board, Int) throws -> T) throws -> T {
        try refreshing.withLock { try refresh(store) }
        // A copy (shared until the next change): pages scan it without holding the lock writers take.
        let (snapshot, version) = lock.withLock { (board, applied) }
        return try body(snapshot, version)
    }

    private func refresh(_ store: any ApplicationStore) throws {
        let (needsLoad, names) = lock.withLock { () -> (Bool, [String]) in
            let names = Array(dirty)
            dirty.removeAll(keepingCapacity: true)
            // Most of the board changed (a first generation, a new commit everywhere): one scan reads it faster
            // than lookups by name.
            return (!loaded || names.count > max(1000, board.count / 4), names)
        }
        do {
            if needsLoad {
                // In pages: only one page of decoded Applications is held at a time, not every one.
                var entries: [BoardEntry] = []
                var after: String?
                while true {
                    let page = try store.applications(appSet: nil, cluster: nil, after: after, limit: 2000)
                    entries += page.map(Self.entry)
                    guard page.count == 2000, let last = page.last?.name else { break }
                    after = last
                }
                fill(entries)
            } else if !names.isEmpty {
                let found = try store.applications(named: names).map(Self.entry)
                lock.withLock {
                    let present = Set(found.map(\.name))
                    for e in found { board.put(e) }
                    for name in names where !present.contains(name) { board.remove(name) }
                    applied += 1
                }
            }
        } catch {
            // Read again on the next look.
            touch(names)
            throw error
        }
    }
}
