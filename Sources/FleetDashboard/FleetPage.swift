import FleetModel

/// A cluster as the Fleet page needs it.
public struct ClusterCard: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var secondary: String?
    /// The probe state: `Healthy`, `Suspect`, `Unreachable`.
    public var state: String
    public var cordoned: Bool
    /// Healthy again with Applications still moved away: the seconds left of the hold-down before they come
    /// back (0: due now), or nil when failback is by hand.
    public var failbackIn: Int?

    public init(name: String, labels: [String: String], secondary: String?, state: String, cordoned: Bool, failbackIn: Int? = nil) {
        self.name = name
        self.labels = labels
        self.secondary = secondary
        self.state = state
        self.cordoned = cordoned
        self.failbackIn = failbackIn
    }
}

/// One tile of the Fleet page, and what its live update carries.
public struct Tile: Sendable, Equatable {
    public var name: String
    public var state: TileState
    public var counts: StatusCounts
    /// Where its Applications moved, when a failover moved them (`cluster → count`).
    public var movedTo: [(String, Int)]
    public var secondary: String?
    /// Healthy again while its Applications are still away: when they come back (`ClusterCard.failbackIn`).
    public var failbackIn: Int?
    /// Healthy again, Applications still away, and failback is by hand.
    public var failbackByHand: Bool

    public static func == (a: Tile, b: Tile) -> Bool {
        a.name == b.name && a.state == b.state && a.counts == b.counts && a.secondary == b.secondary
            && a.movedTo.map(\.0) == b.movedTo.map(\.0) && a.movedTo.map(\.1) == b.movedTo.map(\.1)
            && a.failbackIn == b.failbackIn && a.failbackByHand == b.failbackByHand
    }

    public init(_ card: ClusterCard, counts: StatusCounts, movedTo: [String: Int]) {
        name = card.name
        self.counts = counts
        self.movedTo = movedTo.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        secondary = card.secondary
        let moved = movedTo.values.reduce(0, +)
        state = TileState.of(state: card.state, cordoned: card.cordoned, movedAway: moved)
        let recovered = card.state == "Healthy" && !card.cordoned && moved > 0
        failbackIn = recovered ? card.failbackIn : nil
        failbackByHand = recovered && card.failbackIn == nil
    }

    /// `12 apps · 11 Synced · 1 OutOfSync · 1 Degraded`
    public var countsText: String {
        var parts = ["\(counts.total) app\(counts.total == 1 ? "" : "s")"]
        if counts.synced > 0 { parts.append("\(counts.synced) Synced") }
        if counts.outOfSync > 0 { parts.append("\(counts.outOfSync) OutOfSync") }
        if counts.progressing > 0 { parts.append("\(counts.progressing) Progressing") }
        if counts.degraded > 0 { parts.append("\(counts.degraded) Degraded") }
        if counts.missing > 0 { parts.append("\(counts.missing) Missing") }
        return parts.joined(separator: " · ")
    }

    /// `moved to eu-2 (4)`, empty when nothing moved.
    public var movedText: String {
        guard !movedTo.isEmpty else { return "" }
        var text = "moved to " + movedTo.map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
        if let failbackIn { text += failbackIn > 0 ? " · Healthy, failback in \(failbackIn) s" : " · Healthy, failing back" }
        if failbackByHand { text += " · Healthy, failback by hand (flotilla cluster failback \(name))" }
        return text
    }

    /// The tile's tone: its cluster's state. Its Applications' worst status colours the counts line.
    public var tone: Tone { state.tone }
    public var countsTone: Tone { counts.total == 0 ? .unknown : counts.worst }

    /// What the live stream sends of it.
    public var live: JSONValue {
        .object([("name", .string(name)), ("state", .string(state.rawValue)), ("tone", .string(tone.cssClass)),
                 ("counts", .string(countsText)), ("countsTone", .string(countsTone.cssClass)), ("moved", .string(movedText))])
    }
}

/// The Fleet page's clusters grouped by the value of a label.
public enum FleetLayout {
    /// Tiles grouped by `label`'s value (groups sorted; clusters without the label last, as `(no LABEL)`).
    public static func groups(_ tiles: [Tile], cards: [ClusterCard], by label: String) -> [(name: String, tiles: [Tile])] {
        let labels = Dictionary(cards.map { ($0.name, $0.labels) }, uniquingKeysWith: { a, _ in a })
        var groups: [String: [Tile]] = [:]
        var missing: [Tile] = []
        for tile in tiles {
            if let value = labels[tile.name]?[label] { groups[value, default: []].append(tile) } else { missing.append(tile) }
        }
        var out = groups.keys.sorted().map { ($0, groups[$0]!.sorted { $0.name < $1.name }) }
        if !missing.isEmpty { out.append(("(no \(label))", missing.sorted { $0.name < $1.name })) }
        return out
    }

    /// The label keys the clusters have, for the group-by choice.
    public static func labelKeys(_ cards: [ClusterCard]) -> [String] { Array(Set(cards.flatMap(\.labels.keys))).sorted() }
}

extension Renderer {
    /// The page; `counts` and `moved` are the board's `countsByCluster` and `moved` for the viewer.
    public func fleet(cards: [ClusterCard], counts: [String: StatusCounts], moved: [String: [String: Int]], groupBy: String, selector: String,
                      problem: String?, viewer: Viewer) -> String {
        struct TileView { let name, state, tone, counts, countsTone, moved, href: String, secondary: String? }
        struct GroupView { let index: Int, label: String, count: Int, tiles: [TileView] }
        struct StateCount { let label: String, count: Int, tone: String }
        struct View {
            let chrome: Chrome, groupBy: String, selector: String, problem: String?, labelKeys: [String], clusterCount: Int, appCount: Int
            let states: [StateCount], groups: [GroupView]
            /// Each tile state's tone, in order (`Healthy=tone-good,…`): the live script recounts the summary with it.
            let stateTones: String
        }
        let tiles = Self.tiles(cards: cards, counts: counts, moved: moved)
        let groups = FleetLayout.groups(tiles, cards: cards, by: groupBy).enumerated().map { index, group in
            GroupView(index: index, label: "\(groupBy)=\(group.name)", count: group.tiles.count, tiles: group.tiles.map { t in
                TileView(name: t.name, state: t.state.rawValue, tone: t.tone.cssClass, counts: t.countsText, countsTone: t.countsTone.cssClass, moved: t.movedText,
                         href: "/ui/applications" + query([("cluster", t.name)]), secondary: t.secondary)
            })
        }
        let states = TileState.allCases.compactMap { state -> StateCount? in
            let n = tiles.filter { $0.state == state }.count
            return n == 0 ? nil : StateCount(label: state.rawValue, count: n, tone: state.tone.cssClass)
        }
        let view = View(chrome: Chrome(.fleet, title: "Fleet", viewer: viewer, live: "/ui/live?clusters=1"), groupBy: groupBy, selector: selector,
                        problem: problem, labelKeys: FleetLayout.labelKeys(cards), clusterCount: cards.count,
                        appCount: tiles.reduce(0) { $0 + $1.counts.total }, states: states, groups: groups,
                        stateTones: TileState.allCases.map { "\($0.rawValue)=\($0.tone.cssClass)" }.joined(separator: ","))
        return render("fleet", view)
    }

    /// The tiles of `cards`, with the counts of their Applications and where failovers moved them.
    public static func tiles(cards: [ClusterCard], counts: [String: StatusCounts], moved: [String: [String: Int]]) -> [Tile] {
        cards.map { Tile($0, counts: counts[$0.name] ?? StatusCounts(), movedTo: moved[$0.name] ?? [:]) }
    }
}
