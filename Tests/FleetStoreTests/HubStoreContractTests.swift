import FleetModel
import FleetStore
import FleetTesting
import Foundation
import Testing

/// The cluster registry's and the account store's contracts, on SQLite and on the in-memory stores hub tests use:
/// the in-memory ones must behave as the database does, or hub tests on them prove nothing.
private func registries() throws -> [(String, any ClusterStore)] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-registry-\(UUID().uuidString)")
    return [("sqlite", try SQLiteClusterStore(directory: dir)), ("memory", InMemoryClusterStore())]
}

private func authStores() throws -> [(String, any AuthStore)] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-auth-\(UUID().uuidString)")
    return [("sqlite", SQLiteAuthStore(sharing: try SQLiteClusterStore(directory: dir))), ("memory", InMemoryAuthStore())]
}

@Test func clusterStoresKeepOneContract() throws {
    for (kind, store) in try registries() {
        var changes = try store.update { registry in
            registry.upsert(Cluster(name: "a", server: "https://a.example.com", secondary: "b"))
            registry.upsert(Cluster(name: "b", server: "https://b.example.com", labels: ["env": "prod"]))
        }
        #expect(changes.created == ["a", "b"], "\(kind)")
        #expect(try store.clusters().map(\.name) == ["a", "b"], "\(kind)")
        #expect(try store.cluster(named: "b")?.labels == ["env": "prod"], "\(kind)")

        // An invalid result (a secondary that does not exist) writes nothing, and says why.
        #expect(throws: InputError.self, "\(kind)") {
            try store.update { registry in
                registry.upsert(Cluster(name: "c", server: "https://c.example.com"))
                registry.upsert(Cluster(name: "a", server: "https://a.example.com", secondary: "gone"))
            }
        }
        #expect(try store.clusters().map(\.name) == ["a", "b"] && store.cluster(named: "a")?.secondary == "b", "\(kind)")

        // A body that throws writes nothing either.
        struct Refused: Error {}
        #expect(throws: Refused.self, "\(kind)") {
            try store.update { registry in
                _ = registry.remove("b")
                throw Refused()
            }
        }
        #expect(try store.cluster(named: "b") != nil, "\(kind)")

        changes = try store.update { registry in
            registry.upsert(Cluster(name: "a", server: "https://a.example.com"))
            _ = registry.remove("b")
        }
        #expect(changes.updated == ["a"] && changes.deleted == ["b"], "\(kind)")
        #expect(try store.clusters().map(\.name) == ["a"], "\(kind)")
    }
}

@Test func authStoresKeepOneContract() throws {
    func token(_ id: String, _ account: String, parent: String? = nil) -> StoredToken {
        StoredToken(id: id, account: account, hash: "h-\(id)", description: "", createdAt: "", expiresAt: nil, revokedAt: nil, parent: parent)
    }
    for (kind, store) in try authStores() {
        #expect(try store.bootstrap(account: "admin", role: "role:admin", token: token("t1", "admin")), "\(kind)")
        #expect(try !store.bootstrap(account: "other", role: "role:admin", token: token("t9", "other")), "\(kind): only the first")
        #expect(try store.createAccount("ci", role: "role:readonly"), "\(kind)")
        #expect(try !store.createAccount("ci", role: "role:admin"), "\(kind): a name is taken once")
        #expect(try store.accounts().map(\.name) == ["admin", "ci"], "\(kind)")
        #expect(try store.token(id: "t1")?.createdAt.isEmpty == false, "\(kind): a creation time is given")

        // Revoking a token revokes the tokens it made, and theirs; not the others.
        try store.addToken(token("t2", "admin", parent: "t1"))
        try store.addToken(token("t3", "admin", parent: "t2"))
        try store.addToken(token("t4", "admin"))
        try store.addToken(token("c1", "ci"))
        #expect(try store.revoke(id: "t1"), "\(kind)")
        #expect(try !store.revoke(id: "t1"), "\(kind): revoked once")
        #expect(try ["t1", "t2", "t3"].allSatisfy { try store.token(id: $0)?.revokedAt != nil }, "\(kind)")
        #expect(try store.token(id: "t4")?.revokedAt == nil, "\(kind)")
        #expect(try store.tokens(account: "admin").map(\.id).sorted() == ["t1", "t2", "t3", "t4"], "\(kind)")

        // An account goes with its tokens.
        #expect(try store.deleteAccount("ci"), "\(kind)")
        #expect(try !store.deleteAccount("ci"), "\(kind)")
        #expect(try store.token(id: "c1") == nil && store.tokens().allSatisfy { $0.account == "admin" }, "\(kind)")
    }
}
