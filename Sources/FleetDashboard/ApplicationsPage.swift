import FleetModel

/// What the Applications page was asked for: the grid's rows, the list's filter and page.
public struct ApplicationsQuery: Sendable {
    public var rows: GridRows = .appSet
    public var filter = BoardFilter()
    /// The selector as typed (the filter holds it parsed).
    public var selectorText = ""
    public var after: String?
    public var limit = 50

    public init() {}

    /// The page's query string with `after` as given (nil: the first page).
    func href(after: String?) -> String {
        "/ui/applications" + query([("rows", rows == .appSet ? nil : rows.query), ("q", filter.search), ("appSet", filter.appSet),
                                    ("cluster", filter.cluster), ("sync", filter.sync), ("health", filter.health),
                                    ("selector", selectorText), ("after", after)])
    }
}

/// One Application as a row of the list, and what its live update carries.
public struct ApplicationRow: Sendable, Equatable {
    public var entry: BoardEntry

    public init(_ entry: BoardEntry) { self.entry = entry }

    public var live: JSONValue {
        let e = entry
        return .object([("name", .string(e.name)), ("sync", .string(e.sync.rawValue)), ("syncTone", .string(Tone.of(sync: e.sync).cssClass)),
                        ("health", .string(e.health.rawValue)), ("healthTone", .string(Tone.of(health: e.health).cssClass)),
                        ("running", .string(Self.running(e))), ("revision", .string(Self.short(e.revision))),
                        ("operation", .string(e.operation?.rawValue ?? ""))])
    }

    /// `eu-1`, or `eu-2 (moved from eu-1)` after a failover.
    static func running(_ e: BoardEntry) -> String {
        guard let on = e.runningOn else { return "(not placed)" }
        return e.isMoved ? "\(on) (moved from \(e.cluster ?? "?"))" : on
    }

    static func short(_ revision: String?) -> String {
        guard let revision else { return "" }
        return revision.count == 40 && revision.allSatisfy(\.isHexDigit) ? String(revision.prefix(10)) : revision
    }
}

extension Renderer {
    public static let syncValues = ["Synced", "OutOfSync", "Unknown"]
    public static let healthValues = ["Healthy", "Progressing", "Degraded", "Missing", "Suspended", "Unknown"]

    /// The page; `grid` is `board.grid(rows: q.rows, visible: visible)` (the hub keeps it between changes).
    public func applications(board: Board, grid: Grid, request q: ApplicationsQuery, problem: String?, viewer: Viewer, visible: Visibility) -> String {
        struct Column { let name, href: String }
        struct Cell { let tone, label, title, href: String, hasApps: Bool }
        struct Row { let name: String, cells: [Cell] }
        struct GridView { let columns: [Column], rows: [Row], hidden: String? }
        struct Item { let name, href, appSet, running, sync, syncTone, health, healthTone, revision: String }
        struct FilterView { let search, appSet, cluster, selector: String }
        struct View {
            let chrome: Chrome, rows: String, gridTitle: String, grid: GridView?, filter: FilterView, syncOptions: [Option], healthOptions: [Option]
            let problem: String?, range: String, items: [Item], first: String?, next: String?
        }
        let rowKey: (String) -> (String, String?) = { name in
            switch q.rows {
            case .appSet: ("appSet", name)
            case .label(let key): ("selector", name.hasPrefix("(no ") ? "!\(key)" : "\(key)=\(name)")
            }
        }
        let gridView = grid.rows.isEmpty ? nil : GridView(
            columns: grid.columns.map { Column(name: $0, href: "/ui/applications" + query([("cluster", $0)])) },
            rows: grid.rows.map { row in
                Row(name: row.name, cells: zip(grid.columns, row.cells).map { column, c in
                    let (key, value) = rowKey(row.name)
                    return Cell(tone: c.tone.cssClass, label: "\(c.synced)/\(c.total)",
                                title: "\(c.total) on \(column): \(c.synced) Synced, \(c.healthy) Healthy, \(c.outOfSync) OutOfSync, \(c.degraded) Degraded",
                                href: "/ui/applications" + query([(key, value), ("cluster", column)]), hasApps: c.total > 0)
                })
            },
            hidden: grid.hiddenRows + grid.hiddenColumns == 0 ? nil
                : "\(grid.hiddenRows) more rows and \(grid.hiddenColumns) more clusters are not shown: filter the list below.")
        let page = board.page(q.filter, after: q.after, limit: q.limit, visible: visible)
        let range = page.total == 0 ? "No Application matches." : "\(page.before + 1)–\(page.before + page.items.count) of \(page.total)"
        let items = page.items.map { e in
            Item(name: e.name, href: applicationPath(e.name), appSet: e.appSet, running: ApplicationRow.running(e), sync: e.sync.rawValue,
                 syncTone: Tone.of(sync: e.sync).cssClass, health: e.health.rawValue, healthTone: Tone.of(health: e.health).cssClass,
                 revision: ApplicationRow.short(e.revision))
        }
        let live = "/ui/live" + query([("apps", page.items.map(\.name).joined(separator: ","))])
        let view = View(chrome: Chrome(.applications, title: "Applications", viewer: viewer, live: live), rows: q.rows.query,
                        gridTitle: q.rows == .appSet ? "ApplicationSet" : q.rows.query.replacingOccurrences(of: "label:", with: ""),
                        grid: gridView,
                        filter: FilterView(search: q.filter.search, appSet: q.filter.appSet ?? "", cluster: q.filter.cluster ?? "", selector: q.selectorText),
                        syncOptions: Option.list(Self.syncValues, selected: q.filter.sync, any: "any"),
                        healthOptions: Option.list(Self.healthValues, selected: q.filter.health, any: "any"),
                        problem: problem, range: range, items: items, first: q.after == nil ? nil : q.href(after: nil),
                        next: page.next.map { q.href(after: $0) })
        return render("applications", view)
    }

}
