import FleetModel

/// What a generation does to the stored Applications of one ApplicationSet, under its
/// `syncPolicy.applicationsSync`:
///
/// | policy | create | update | delete |
/// | --- | --- | --- | --- |
/// | `sync` (default) | yes | yes | yes |
/// | `create-only` | yes | no | no |
/// | `create-update` | yes | yes | no |
/// | `create-delete` | yes | no | yes |
///
/// Deleting an Application prunes its resources unless `preserveResourcesOnDeletion` is set. A failed
/// generation produces no plan: nothing is created, changed or deleted.
public struct ApplicationsSyncPlan: Sendable {
    public var create: [Application] = []
    public var update: [Application] = []
    public var unchanged: [String] = []
    /// Names to delete, sorted.
    public var delete: [String] = []
    /// Names kept although the generator no longer produces them (a policy without delete).
    public var retained: [String] = []
    /// Whether deleted Applications' resources are pruned from their clusters.
    public var pruneOnDelete: Bool

    /// - Parameters:
    ///   - existing: the ApplicationSet's stored Applications by name (their objects as last generated).
    ///   - generated: this generation's Applications.
    ///   - skipped: names of Applications this generation rendered but skipped (a failed check): existing ones by
    ///     these names are kept as they are, never deleted because their new render was refused.
    public init(existing: [String: JSONValue], generated: [Application], policy: String, preserveResourcesOnDeletion: Bool,
                skipped: Set<String> = []) {
        let (mayUpdate, mayDelete): (Bool, Bool)
        switch policy {
        case "create-only": (mayUpdate, mayDelete) = (false, false)
        case "create-update": (mayUpdate, mayDelete) = (true, false)
        case "create-delete": (mayUpdate, mayDelete) = (false, true)
        default: (mayUpdate, mayDelete) = (true, true)
        }
        pruneOnDelete = !preserveResourcesOnDeletion
        var names = Set<String>()
        for app in generated {
            names.insert(app.name)
            guard let old = existing[app.name] else { create.append(app); continue }
            if old == app.object || !mayUpdate { unchanged.append(app.name) } else { update.append(app) }
        }
        let gone = existing.keys.filter { !names.contains($0) && !skipped.contains($0) }.sorted()
        if mayDelete { delete = gone } else { retained = gone }
        retained += existing.keys.filter { !names.contains($0) && skipped.contains($0) }.sorted()
    }

    public var isEmpty: Bool { create.isEmpty && update.isEmpty && delete.isEmpty }
}
