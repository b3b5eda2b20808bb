import FleetModel
import FleetStore
import Foundation
import Testing

private func app(_ name: String, _ appSet: String = "team-apps", rev: String = "1") -> StoredApplication {
    StoredApplication(name: name, appSet: appSet, cluster: "prod-eu",
                      object: .object([("metadata", .object([("name", .string(name))])), ("spec", .object([("rev", .string(rev))]))]))
}

/// Applications round-trip; a plan creates, updates and deletes in one transaction; status and pins persist.
@Test func applicationsRoundTrip() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a"), app("b")], updating: [], deleting: [], appSet: "team-apps")
        try store.apply(creating: [app("c")], updating: [app("a", rev: "2")], deleting: ["b"], appSet: "team-apps")
        let all = try store.applications(appSet: "team-apps")
        #expect(all.map(\.name) == ["a", "c"])
        #expect(all[0].object.value(at: ["spec", "rev"]) == "2")
        try store.setStatus("a", .object([("sync", "Synced"), ("health", "Healthy")]))
        try store.pin("a", revision: "abc123")
        let reopened = try SQLiteApplicationStore(directory: dir)
        let a = try #require(try reopened.application(named: "a"))
        #expect(a.status["health"] == "Healthy" && a.pinnedRevision == "abc123")
        #expect(try reopened.applications(cluster: "prod-eu").count == 2)
        #expect(try SQLiteClusterStore(directory: dir).appliedMigrations() == ["v1-clusters", "v2-applications", "v3-hub"])
    }
}

/// A name owned by another ApplicationSet refuses the whole plan: nothing changes.
@Test func ownershipConflictChangesNothing() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("shared", "first")], updating: [], deleting: [], appSet: "first")
        #expect { try store.apply(creating: [app("new", "second"), app("shared", "second")], updating: [], deleting: [], appSet: "second") } throws: {
            "\($0)".contains("Application shared is owned by ApplicationSet first, not second")
        }
        #expect(try store.applications().map(\.name) == ["shared"])
    }
}

/// Sync history keeps the newest `limit` records and goes with its Application.
@Test func syncHistory() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a")], updating: [], deleting: [], appSet: "team-apps")
        for i in 1...5 {
            try store.recordSync("a", revision: "rev\(i)", startedAt: "t\(i)", finishedAt: "t\(i)", result: "Succeeded", resources: .array([]), limit: 3)
        }
        #expect(try store.history("a").map(\.revision) == ["rev3", "rev4", "rev5"])
        #expect(try store.history("a").map(\.id) == [3, 4, 5])
        try store.apply(creating: [], updating: [], deleting: ["a"], appSet: "team-apps")
        #expect(try store.history("a").isEmpty)
    }
}

/// Deleting with prune leaves a pending prune in the same transaction; an Application that comes back
/// cancels it; ApplicationSets added through the API persist.
@Test func pendingPrunesAndStoredApplicationSets() throws {
    try withTemporaryDirectory { dir in
        let store = try SQLiteApplicationStore(directory: dir)
        try store.apply(creating: [app("a"), app("b")], updating: [], deleting: [], appSet: "team-apps")
        try store.apply(creating: [], updating: [], deleting: ["a", "b"], appSet: "team-apps", prune: true)
        #expect(try store.pendingPrunes().map(\.application).sorted() == ["a", "b"])
        try store.apply(creating: [app("b")], updating: [], deleting: [], appSet: "team-apps")
        let reopened = try SQLiteApplicationStore(directory: dir)
        #expect(try reopened.pendingPrunes().map { "\($0.application)@\($0.cluster)" } == ["a@prod-eu"])
        try reopened.prunePerformed(application: "a", cluster: "prod-eu")
        #expect(try reopened.pendingPrunes().isEmpty)
        #expect(try reopened.count() == 1)

        try store.saveApplicationSet(name: "web", object: .object([("kind", "ApplicationSet")]))
        try store.saveApplicationSet(name: "web", object: .object([("kind", "ApplicationSet"), ("v", "2")]))
        #expect(try reopened.applicationSets().map(\.name) == ["web"])
        #expect(try reopened.applicationSets().first?.object["v"] == "2")
        #expect(try store.deleteApplicationSet(name: "web"))
        #expect(try !store.deleteApplicationSet(name: "web"))
    }
}
