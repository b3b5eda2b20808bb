import FleetDashboard
import FleetModel
import Testing

private func e(_ name: String, _ appSet: String = "web", cluster: String? = "eu", active: String? = nil, sync: SyncStatus = .synced,
               health: HealthStatus = .healthy, labels: [String: String] = [:], project: String = "default") -> BoardEntry {
    BoardEntry(name: name, appSet: appSet, cluster: cluster, activeCluster: active, project: project, labels: labels, sync: sync, health: health)
}

private let sample = Board([
    e("web-eu"), e("web-us", cluster: "us", sync: .outOfSync), e("api-eu", "api", health: .degraded, labels: ["team": "pay"]),
    e("api-us", "api", cluster: "us", labels: ["team": "pay"]), e("db-eu", "db", active: "dr", health: .progressing, labels: ["team": "data"]),
])

@Test(arguments: [
    // filter, after, limit → names, next, total, before
    (BoardFilter(), nil as String?, 2, ["api-eu", "api-us"], "api-us" as String?, 5, 0),
    (BoardFilter(), "api-us", 2, ["db-eu", "web-eu"], "web-eu", 5, 2),
    (BoardFilter(), "web-eu", 2, ["web-us"], nil, 5, 4),
    (BoardFilter(search: "EU"), nil, 10, ["api-eu", "db-eu", "web-eu"], nil, 3, 0),
    (BoardFilter(appSet: "api"), nil, 10, ["api-eu", "api-us"], nil, 2, 0),
    (BoardFilter(cluster: "dr"), nil, 10, ["db-eu"], nil, 1, 0),
    (BoardFilter(cluster: "eu"), nil, 10, ["api-eu", "db-eu", "web-eu"], nil, 3, 0),
    (BoardFilter(sync: "OutOfSync"), nil, 10, ["web-us"], nil, 1, 0),
    (BoardFilter(health: "Degraded"), nil, 10, ["api-eu"], nil, 1, 0),
    (BoardFilter(selector: try! LabelSelector(parsing: "team=pay")), nil, 10, ["api-eu", "api-us"], nil, 2, 0),
    (BoardFilter(selector: try! LabelSelector(parsing: "team")), "api-us", 1, ["db-eu"], nil, 3, 2),
])
func boardPages(filter: BoardFilter, after: String?, limit: Int, names: [String], next: String?, total: Int, before: Int) {
    let page = sample.page(filter, after: after, limit: limit)
    #expect(page.items.map(\.name) == names)
    #expect(page.next == next)
    #expect(page.total == total)
    #expect(page.before == before)
}

@Test func boardVisibilityHidesEntriesFromPagesAndCounts() {
    let visible: @Sendable (BoardEntry) -> Bool = { $0.appSet != "api" }
    let page = sample.page(BoardFilter(), after: nil, limit: 10, visible: visible)
    #expect(page.items.map(\.name) == ["db-eu", "web-eu", "web-us"])
    #expect(page.total == 3)
    #expect(sample.countsByCluster(visible: visible)["us"]?.total == 1)
}

@Test func boardKeepsNamesSortedThroughChanges() {
    var board = Board([e("b"), e("d")])
    board.put(e("c"))
    board.put(e("a"))
    board.put(e("c", sync: .outOfSync))   // an update keeps one entry
    board.remove("d")
    board.remove("zz")                     // absent: nothing happens
    #expect(board.names == ["a", "b", "c"])
    #expect(board["c"]?.sync == .outOfSync)
    #expect(board["zz"] == nil)
    #expect(board.count == 3)
    // Byte order, as the API pages: upper case before lower case.
    board.put(e("B"))
    #expect(board.names == ["B", "a", "b", "c"])
}

@Test func countsAndMovedApplications() {
    let counts = sample.countsByCluster()
    #expect(counts["eu"]?.total == 2)                       // web-eu, api-eu; db-eu runs on dr now
    #expect(counts["eu"]?.degraded == 1)
    #expect(counts["eu"]?.tone == .bad)
    #expect(counts["us"]?.outOfSync == 1)
    #expect(counts["us"]?.tone == .warning)
    #expect(counts["dr"]?.progressing == 1)
    #expect(sample.moved() == ["eu": ["dr": 1]])
}

@Test func gridByApplicationSetAndByLabel() {
    let grid = sample.grid(rows: .appSet)
    #expect(grid.columns == ["dr", "eu", "us"])
    #expect(grid.rows.map(\.name) == ["api", "db", "web"])
    #expect(grid.rows[0].cells.map(\.total) == [0, 1, 1])
    #expect(grid.rows[0].cells[1].tone == .bad)
    let byTeam = sample.grid(rows: .label("team"), maxRows: 2, maxColumns: 2)
    #expect(byTeam.rows.map(\.name) == ["(no team)", "data"])
    #expect(byTeam.hiddenRows == 1 && byTeam.hiddenColumns == 1)
    #expect(GridRows(query: "label:team") == .label("team"))
    #expect(GridRows(query: "appset") == .appSet)
    #expect(GridRows(query: "label:") == nil && GridRows(query: "team") == nil)
}

@Test(arguments: [
    ("Synced", "Healthy", Tone.good), ("OutOfSync", "Healthy", .warning), ("Synced", "Progressing", .progressing),
    ("Synced", "Degraded", .bad), ("OutOfSync", "Missing", .bad), ("Unknown", "Unknown", .unknown), ("Synced", "Suspended", .muted),
])
func applicationTones(sync: String, health: String, tone: Tone) {
    #expect(Tone.of(sync: SyncStatus(text: sync), health: HealthStatus(text: health)) == tone)
}

@Test(arguments: [
    ("Healthy", false, 0, TileState.healthy), ("Suspect", false, 0, .suspect), ("Unreachable", false, 0, .unreachable),
    ("Unreachable", false, 3, .failedOver), ("Healthy", true, 0, .cordoned), ("Unreachable", true, 0, .unreachable),
    ("Healthy", false, 2, .healthy),
])
func tileStates(state: String, cordoned: Bool, moved: Int, expected: TileState) {
    #expect(TileState.of(state: state, cordoned: cordoned, movedAway: moved) == expected)
}

@Test(arguments: [("CAFÉ", ["café-eu"]), ("é-e", ["café-eu"]), ("-EU", ["café-eu", "web-eu"]), ("", ["café-eu", "web-eu", "x"]), ("zz", [])])
func searchesIgnoreCaseBeyondASCII(search: String, names: [String]) {
    let board = Board([e("café-eu"), e("web-eu"), e("x")])
    #expect(board.page(BoardFilter(search: search), after: nil, limit: 10).items.map(\.name) == names)
}

/// A cluster that answers again while its Applications are still away says so, and when they come back.
@Test func recoveredTilesCountDownTheHoldDown() {
    let counts = StatusCounts()
    let waiting = Tile(ClusterCard(name: "eu", labels: [:], secondary: "dr", state: "Healthy", cordoned: false, failbackIn: 42), counts: counts, movedTo: ["dr": 3])
    #expect(waiting.state == .healthy && waiting.movedText == "moved to dr (3) · Healthy, failback in 42 s")
    let byHand = Tile(ClusterCard(name: "eu", labels: [:], secondary: "dr", state: "Healthy", cordoned: false, failbackIn: nil), counts: counts, movedTo: ["dr": 3])
    #expect(byHand.movedText.contains("failback by hand (flotilla cluster failback eu)"))
    let down = Tile(ClusterCard(name: "eu", labels: [:], secondary: "dr", state: "Unreachable", cordoned: false, failbackIn: 42), counts: counts, movedTo: ["dr": 3])
    #expect(down.state == .failedOver && down.movedText == "moved to dr (3)")
    #expect(waiting != Tile(ClusterCard(name: "eu", labels: [:], secondary: "dr", state: "Healthy", cordoned: false, failbackIn: 41), counts: counts, movedTo: ["dr": 3]),
            "the countdown is a change the live stream sends")
}
