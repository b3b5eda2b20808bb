import FleetModel

/// What the dashboard shows of one Application: enough to filter, page and colour it without reading the store.
public struct BoardEntry: Sendable, Equatable {
    public var name: String
    public var appSet: String
    /// The cluster it was generated for (its destination).
    public var cluster: String?
    /// Where it runs now, when a failover moved it.
    public var activeCluster: String?
    public var project: String
    public var labels: [String: String]
    public var sync: SyncStatus
    public var health: HealthStatus
    public var revision: String?
    public var operation: OperationPhase?
    /// The name in lower case, for searches.
    public let searchKey: String

    public init(name: String, appSet: String, cluster: String?, activeCluster: String? = nil, project: String = "default",
                labels: [String: String] = [:], sync: SyncStatus = .unknown, health: HealthStatus = .unknown, revision: String? = nil,
                operation: OperationPhase? = nil) {
        self.name = name
        self.appSet = appSet
        self.cluster = cluster
        self.activeCluster = activeCluster
        self.project = project
        self.labels = labels
        self.sync = sync
        self.health = health
        self.revision = revision
        self.operation = operation
        searchKey = name.lowercased()
    }

    /// The cluster it runs on now.
    public var runningOn: String? { activeCluster ?? cluster }
    /// Moved by a failover: it runs elsewhere than its destination.
    public var isMoved: Bool { activeCluster != nil && activeCluster != cluster }
    public var tone: Tone { Tone.of(sync: sync, health: health) }
}

/// Which Applications a list shows. Empty fields match everything.
public struct BoardFilter: Sendable, Equatable {
    /// Part of the name, any case.
    public var search: String
    public var appSet: String?
    /// The cluster it runs on or was generated for.
    public var cluster: String?
    public var sync: String?
    public var health: String?
    public var selector: LabelSelector

    public init(search: String = "", appSet: String? = nil, cluster: String? = nil, sync: String? = nil, health: String? = nil,
                selector: LabelSelector = .everything) {
        self.search = search
        self.appSet = appSet
        self.cluster = cluster
        self.sync = sync
        self.health = health
        self.selector = selector
    }

    public func matches(_ e: BoardEntry) -> Bool { compiled()(e) }

    /// Whether `text`'s UTF-8 holds `bytes` (a byte search: no Unicode machinery per row).
    static func contains(_ text: String, _ bytes: [UInt8]) -> Bool {
        var text = text
        return text.withUTF8 { hay in
            let n = bytes.count
            guard n > 0 else { return true }
            guard hay.count >= n else { return false }
            let first = bytes[0]
            var i = 0
            while i <= hay.count - n {
                if hay[i] == first {
                    var j = 1
                    while j < n && hay[i + j] == bytes[j] { j += 1 }
                    if j == n { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// The filter as one function, its search lowered once.
    func compiled() -> (BoardEntry) -> Bool {
        let search = Array(self.search.lowercased().utf8), appSet = self.appSet, cluster = self.cluster, sync = self.sync, health = self.health
        let selector = self.selector
        return { e in
            if let appSet, e.appSet != appSet { return false }
            if let cluster, e.cluster != cluster && e.activeCluster != cluster { return false }
            if let sync, e.sync.rawValue != sync { return false }
            if let health, e.health.rawValue != health { return false }
            if !search.isEmpty && !Self.contains(e.searchKey, search) { return false }
            if !selector.isEmpty && !selector.matches(e.labels) { return false }
            return true
        }
    }
}

/// Counts of Applications by status, and the worst tone among them.
public struct StatusCounts: Sendable, Equatable {
    public var total = 0
    public var synced = 0
    public var outOfSync = 0
    public var healthy = 0
    public var progressing = 0
    public var degraded = 0
    public var missing = 0
    public var worst: Tone = .good

    public init() {}

    public mutating func add(_ e: BoardEntry) {
        total += 1
        if e.sync == .synced { synced += 1 } else if e.sync == .outOfSync { outOfSync += 1 }
        switch e.health {
        case .healthy: healthy += 1
        case .progressing: progressing += 1
        case .degraded: degraded += 1
        case .missing: missing += 1
        case .suspended, .unknown: break
        }
        worst = max(worst, e.tone)
    }

    /// `total == 0` has no tone of its own.
    public var tone: Tone { total == 0 ? .unknown : worst }
}

/// Which Applications a viewer may see (RBAC): nil for all of them.
public typealias Visibility = (@Sendable (BoardEntry) -> Bool)?

/// Every Application the dashboard knows, kept sorted by name in one array (pages scan it in order without
/// hashing; lookups are binary searches). Pure; the hub keeps one behind a lock and feeds it the store's changes.
public struct Board: Sendable {
    /// Sorted by name, in byte order (as the API pages).
    public private(set) var rows: [BoardEntry] = []

    public init(_ list: [BoardEntry] = []) {
        var byName: [String: BoardEntry] = [:]
        for e in list { byName[e.name] = e }
        rows = byName.values.sorted { Self.before($0.name, $1.name) }
    }

    public var count: Int { rows.count }
    public var names: [String] { rows.map(\.name) }

    static func before(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The index of the first entry whose name comes after `name`.
    func position(after name: String) -> Int {
        var low = 0, high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if Self.before(name, rows[mid].name) { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The index of `name`, if present.
    func index(of name: String) -> Int? {
        let at = position(after: name) - 1
        return at >= 0 && rows[at].name == name ? at : nil
    }

    public subscript(name: String) -> BoardEntry? { index(of: name).map { rows[$0] } }

    public mutating func put(_ e: BoardEntry) {
        if let at = index(of: e.name) { rows[at] = e } else { rows.insert(e, at: position(after: e.name)) }
    }

    public mutating func remove(_ name: String) {
        if let at = index(of: name) { rows.remove(at: at) }
    }

    /// One page: up to `limit` matching entries after `after` in name order, the name to continue after when more
    /// follow, how many match in all and how many of them come before the page.
    public func page(_ filter: BoardFilter, after: String?, limit: Int, visible: Visibility = nil)
        -> (items: [BoardEntry], next: String?, total: Int, before: Int) {
        var items: [BoardEntry] = []
        var total = 0, before = 0
        var next: String?
        let start = after.map(position(after:)) ?? 0
        let matcher = filter.compiled()
        // Those before the page are counted too, so the total does not change from page to page.
        for i in rows.indices {
            let e = rows[i]
            guard matcher(e), visible?(e) ?? true else { continue }
            total += 1
            if i < start {
                before += 1
            } else if items.count < limit {
                items.append(e)
            } else if next == nil {
                next = items.last?.name
            }
        }
        return (items, next, total, before)
    }

    /// Counts per cluster an Application runs on, of those visible.
    public func countsByCluster(visible: Visibility = nil) -> [String: StatusCounts] {
        var out: [String: StatusCounts] = [:]
        for e in rows where visible?(e) ?? true {
            guard let c = e.runningOn else { continue }
            out[c, default: StatusCounts()].add(e)
        }
        return out
    }

    /// Applications moved off each cluster by a failover: destination → (where they run now → how many).
    public func moved(visible: Visibility = nil) -> [String: [String: Int]] {
        var out: [String: [String: Int]] = [:]
        for e in rows where e.isMoved && visible?(e) ?? true {
            guard let from = e.cluster, let to = e.activeCluster else { continue }
            out[from, default: [:]][to, default: 0] += 1
        }
        return out
    }

    /// The grid: rows (ApplicationSets, or the values of a label) × the clusters Applications run on; each cell the
    /// counts of its Applications. Rows and columns sorted by name; at most `maxRows` × `maxColumns`, the rest counted.
    public func grid(rows by: GridRows, maxRows: Int = 60, maxColumns: Int = 60, visible: Visibility = nil) -> Grid {
        var cells: [String: [String: StatusCounts]] = [:]
        var columns: Set<String> = []
        // Consecutive entries mostly share their row (names sort by ApplicationSet prefix): the last row's cells
        // are kept at hand, saving a hash per entry.
        var currentRow: String?
        var current: [String: StatusCounts] = [:]
        for e in rows where visible?(e) ?? true {
            let row: String
            switch by {
            case .appSet: row = e.appSet
            case .label(let key): row = e.labels[key] ?? "(no \(key))"
            }
            if row != currentRow {
                if let currentRow { cells[currentRow] = current }
                current = cells[row] ?? [:]
                currentRow = row
            }
            let column = e.runningOn ?? "(unplaced)"
            if current[column] == nil { columns.insert(column) }
            current[column, default: StatusCounts()].add(e)
        }
        if let currentRow { cells[currentRow] = current }
        let allRows = cells.keys.sorted(by: Self.before), allColumns = columns.sorted(by: Self.before)
        let shownColumns = Array(allColumns.prefix(maxColumns))
        let shownRows = allRows.prefix(maxRows).map { row in
            Grid.Row(name: row, cells: shownColumns.map { cells[row]?[$0] ?? StatusCounts() })
        }
        return Grid(columns: shownColumns, rows: shownRows, hiddenRows: allRows.count - shownRows.count,
                    hiddenColumns: allColumns.count - shownColumns.count)
    }
}

/// What a grid's rows are.
public enum GridRows: Sendable, Equatable {
    case appSet
    case label(String)

    /// `appset` or `label:KEY`, as the page's query names it; nil for anything else.
    public init?(query: String) {
        if query == "appset" { self = .appSet; return }
        guard query.hasPrefix("label:"), query.count > 6 else { return nil }
        self = .label(String(query.dropFirst(6)))
    }

    public var query: String {
        switch self {
        case .appSet: "appset"
        case .label(let key): "label:\(key)"
        }
    }
}

public struct Grid: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var name: String
        public var cells: [StatusCounts]
    }

    public var columns: [String]
    public var rows: [Row]
    public var hiddenRows: Int
    public var hiddenColumns: Int
}
