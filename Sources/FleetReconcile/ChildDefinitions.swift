import FleetModel

/// App-of-apps: what an Application's render for the control plane asks of the hub's definitions (the
/// Applications and ApplicationSets it owns), against those it owns now. Pure: the hub carries it out.
public struct ChildDefinitionsPlan: Sendable, Equatable {
    /// Keys (`Application/NAME` or an ApplicationSet's name) to create, to replace, and to delete.
    public var create: [String] = []
    public var update: [String] = []
    public var prune: [String] = []
    /// Keys whose stored definition is already the rendered one.
    public var unchanged: [String] = []

    public var inSync: Bool { create.isEmpty && update.isEmpty && prune.isEmpty }

    public init(desired: [(key: String, object: JSONValue)], existing: [(key: String, object: JSONValue)]) {
        let now = Dictionary(existing.map { ($0.key, $0.object) }, uniquingKeysWith: { a, _ in a })
        var wanted = Set<String>()
        for (key, object) in desired where wanted.insert(key).inserted {
            switch now[key] {
            case nil: create.append(key)
            case let stored? where stored == object: unchanged.append(key)
            case _?: update.append(key)
            }
        }
        prune = existing.map(\.key).filter { !wanted.contains($0) }.sorted()
    }

    /// Problems of the rendered definitions before anything is planned: one key rendered twice, and a cycle —
    /// a child that is its parent or one of the parent's ancestors (`lineage`: the parent's key first, then its
    /// parent's, …).
    public static func problems(desired: [String], lineage: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for key in desired {
            if !seen.insert(key).inserted { out.append("\(title(key)) is rendered twice") }
            if let at = lineage.firstIndex(of: key) {
                out.append(at == 0 ? "\(title(key)) renders itself: a cycle" : "\(title(key)) is an ancestor of this Application: a cycle (\(lineage.prefix(at + 1).map(title).joined(separator: " ← ")))")
            }
        }
        return out
    }

    public static func title(_ key: String) -> String {
        key.hasPrefix("Application/") ? key : "ApplicationSet/" + key
    }
}
