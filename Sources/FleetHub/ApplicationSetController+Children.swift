import FleetGenerators
import FleetModel
import Foundation

/// App-of-apps: the Applications and ApplicationSets an Application renders for the control plane are stored
/// as definitions of their own, each marked with its parent (`flotilla.io/parent-application`), and generated
/// as any other.
extension ApplicationSetController {
    static func parent(of set: ApplicationSet) -> String? {
        set.object.value(at: ["metadata", "annotations", ControlPlane.parentAnnotation])?.stringValue
    }

    /// The definitions `parent` made.
    func children(of parent: String) -> [ApplicationSet] { all().filter { Self.parent(of: $0) == parent } }

    /// The owner keys above the Application `name`: its own owner's key first, then its parent's, and so on (at
    /// most 64 levels).
    func lineage(of name: String) -> [String] {
        var keys: [String] = []
        var current = name
        for _ in 0..<64 {
            // Unreadable: the chain ends here (a cycle through it is then found at the next level's sync).
            guard let app = context.attempt(.storeRead, "read Application \(current) for its lineage", { try context.store.application(named: current) }) ?? nil,
                  !keys.contains(app.appSet) else { break }
            keys.append(app.appSet)
            guard let definition = named(app.appSet), let parent = Self.parent(of: definition) else { break }
            current = parent
        }
        return keys
    }

    /// Creates or replaces a definition `parent` rendered. One defined elsewhere (a file, the API, another
    /// parent) is not taken over: refused by name.
    func putChild(_ set: ApplicationSet, parent: String) throws -> ApplicationsSyncPlan {
        if let existing = named(set.name), Self.parent(of: existing) != parent {
            let by = file(of: set.name).map { "in \($0)" } ?? Self.parent(of: existing).map { "by Application \($0)" } ?? "through the API"
            throw HubError(.conflict, "\(set.title) is defined \(by): Application \(parent) does not take it over")
        }
        return try put(set)
    }
}
