/// The set of registered clusters as one value, so that every rule that spans clusters (unique names,
/// existing secondaries, no cycles of secondaries) is checked on the whole set before anything is stored.
public struct ClusterRegistry: Sendable, Hashable {
    public private(set) var byName: [String: Cluster]

    public init(_ clusters: some Sequence<Cluster> = []) {
        var byName: [String: Cluster] = [:]
        for c in clusters { byName[c.name] = c }
        self.byName = byName
    }

    /// Clusters sorted by name: the order every listing and generator uses.
    public var clusters: [Cluster] { byName.values.sorted { $0.name < $1.name } }
    public var names: [String] { byName.keys.sorted() }
    public var count: Int { byName.count }

    public subscript(name: String) -> Cluster? { byName[name] }

    public mutating func upsert(_ cluster: Cluster) {
        byName[cluster.name] = cluster
    }

    @discardableResult
    public mutating func remove(_ name: String) -> Cluster? {
        byName.removeValue(forKey: name)
    }

    /// Clusters whose `secondary` is `name`.
    public func dependents(of name: String) -> [String] {
        byName.values.filter { $0.secondary == name }.map(\.name).sorted()
    }

    /// Every problem in the registry: each cluster's own, then secondaries that are missing or form a cycle.
    public func problems() -> [FieldProblem] {
        var problems: [FieldProblem] = []
        for cluster in clusters {
            problems += cluster.problems(field: "clusters.\(cluster.name)")
            if let secondary = cluster.secondary, secondary != cluster.name, byName[secondary] == nil {
                let dependents = dependents(of: secondary).count
                let hint = dependents > 0 ? " (register it first, or remove the secondary)" : ""
                problems.append(.init(field: "clusters.\(cluster.name).secondary",
                                      message: "secondary cluster '\(secondary)' is not registered\(hint)"))
            }
        }
        problems += cycleProblems()
        problems += duplicateServerProblems()
        return problems
    }

    /// A cluster is one API server: two names for the same server URL would let one take the other's
    /// Applications (a destination by server matches either). Both names are given.
    private func duplicateServerProblems() -> [FieldProblem] {
        var byServer: [String: [String]] = [:]
        for cluster in clusters { byServer[Self.serverKey(cluster.server), default: []].append(cluster.name) }
        return byServer.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }.map { names in
            FieldProblem(field: "clusters.\(names[1]).server",
                         message: "clusters \(names.map { "'\($0)'" }.joined(separator: " and ")) have the same server URL: a cluster is registered once")
        }
    }

    /// A server URL compared as Argo CD compares it: scheme and host in lower case, no trailing slash.
    static func serverKey(_ server: String) -> String {
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        guard let schemeEnd = text.range(of: "://") else { return text.lowercased() }
        let afterScheme = text[schemeEnd.upperBound...]
        let hostEnd = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        return text[..<hostEnd].lowercased() + text[hostEnd...]
    }

    /// Throws every problem at once, or returns quietly when the registry is valid.
    public func validate() throws {
        let problems = problems()
        if !problems.isEmpty { throw InputError(problems) }
    }

    /// Failover follows secondaries; a cycle would send applications back to the failed cluster.
    private func cycleProblems() -> [FieldProblem] {
        var state: [String: Int] = [:]  // 1 = on the current path, 2 = done
        var problems: [FieldProblem] = []
        for start in names where state[start] == nil {
            var path: [String] = []
            var current: String? = start
            while let name = current, byName[name] != nil {
                if state[name] == 2 { break }
                if state[name] == 1 {
                    let cycle = Array(path[path.firstIndex(of: name)!...]) + [name]
                    if cycle.count > 2 {  // a self-reference is reported by the cluster itself
                        let first = cycle.dropLast().min()!
                        problems.append(.init(field: "clusters.\(first).secondary",
                                              message: "secondaries form a cycle: \(cycle.joined(separator: " -> "))"))
                    }
                    break
                }
                state[name] = 1
                path.append(name)
                current = byName[name]!.secondary
            }
            for name in path { state[name] = 2 }
        }
        return problems
    }

    /// What changes between `old` and this registry, by cluster name.
    public func changes(from old: ClusterRegistry) -> ClusterChanges {
        var changes = ClusterChanges()
        for c in clusters {
            if let before = old[c.name] {
                if before == c { changes.unchanged.append(c.name) } else { changes.updated.append(c.name) }
            } else {
                changes.created.append(c.name)
            }
        }
        changes.deleted = old.names.filter { byName[$0] == nil }
        return changes
    }
}

/// Names of clusters created, updated, unchanged and deleted by one registry update, each sorted.
public struct ClusterChanges: Sendable, Hashable {
    public var created: [String] = []
    public var updated: [String] = []
    public var unchanged: [String] = []
    public var deleted: [String] = []

    public init() {}

    public var isEmpty: Bool { created.isEmpty && updated.isEmpty && deleted.isEmpty }
}
