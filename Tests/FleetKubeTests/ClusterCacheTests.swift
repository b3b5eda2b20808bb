import FleetKube
import FleetModel
import FleetSim
import Foundation
import Synchronization
import Testing

private func object(_ name: String, app: String?, rv: String, data: String = "1") -> JSONValue {
    var meta: [(String, JSONValue)] = [("name", .string(name)), ("namespace", "default"), ("resourceVersion", .string(rv)),
                                       ("managedFields", .array([.object([("manager", "flotilla")]), .object([("manager", "kubectl-edit")])]))]
    if let app { meta.append(("annotations", .object([(Syncer.appAnnotation, .string(app))]))) }
    return .object([("apiVersion", "v1"), ("kind", "ConfigMap"), ("metadata", .object(meta)), ("data", .object([("k", .string(data))]))])
}

private func ref(_ name: String) -> ObjectRef { ObjectRef(group: "", kind: "ConfigMap", namespace: "default", name: name) }
private let cm = KubeClient.kindKey(group: "", kind: "ConfigMap")

/// The index: a list replaces a kind, events are news unless the object is already cached at that
/// resourceVersion (the hub's own write), inventories are per Application and refused for unsynced kinds.
@Test func cacheIndexFollowsListsAndEvents() {
    var index = CacheIndex()
    #expect(index.inventory(application: "a", kinds: [cm]) == nil, "a kind never listed is not served")
    let touched = index.replace(kind: cm, items: [(ref("x"), object("x", app: "a", rv: "5")), (ref("y"), object("y", app: "b", rv: "6"))], resourceVersion: "9")
    #expect(touched.isEmpty, "a kind's first list is not news")
    #expect(index.inventory(application: "a", kinds: [cm])?.keys.map(\.name) == ["x"])
    #expect(index.inventory(application: "a", kinds: [cm])?[ref("x")]?.value(at: ["metadata", "managedFields"])?.arrayValue?.count == 1,
            "Flotilla's own managedFields entry is dropped, other managers' kept")
    #expect(index.resourceVersion(cm) == "9")

    // The hub's own write, then its event: not news. Someone else's change: news.
    index.observeWrite(kind: cm, ref: ref("x"), .applied(object("x", app: "a", rv: "10", data: "2")))
    #expect(index.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "10", data: "2")) == nil)
    #expect(index.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "11", data: "drift")) == "a")
    // While Flotilla writes an object, its events (which may come before the write's answer) are not news.
    index.willWrite(ref("x"))
    #expect(index.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "11b", data: "drift")) == nil)
    index.observeWrite(kind: cm, ref: ref("x"), .failed)
    #expect(index.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "11", data: "drift")) == "a")
    #expect(index.inventory(application: "a", kinds: [cm])?[ref("x")]?["data"] == .object([("k", "drift")]))
    // An older write answer does not replace a newer cached object.
    index.observeWrite(kind: cm, ref: ref("x"), .applied(object("x", app: "a", rv: "10", data: "2")))
    #expect(index.inventory(application: "a", kinds: [cm])?[ref("x")]?["data"] == .object([("k", "drift")]))
    // An object moving to another Application leaves the first one's inventory.
    #expect(index.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "b", rv: "12")) == "b")
    #expect(index.inventory(application: "a", kinds: [cm]) == [:])
    #expect(index.apply(.deleted, kind: cm, ref: ref("y"), object: object("y", app: "b", rv: "13")) == "b")
    #expect(index.inventory(application: "b", kinds: [cm])?.keys.map(\.name) == ["x"])
    // A relist reports the Applications whose objects changed or went while nobody watched.
    #expect(index.replace(kind: cm, items: [], resourceVersion: "20") == ["b"])
    index.markUnsynced(cm)
    #expect(index.inventory(application: "b", kinds: [cm]) == nil)
    #expect(index.objectCount == 0)
}

/// Stamps: equal while nothing of the Application changed; any change of one of its objects (its own writes
/// included, an object joining or leaving it), a relist or a lost sync makes them differ; none for an unsynced kind.
@Test func cacheIndexStampsChangeWithTheApplicationsObjects() {
    var index = CacheIndex()
    #expect(index.stamp(application: "a", kinds: [cm]) == nil, "a kind never listed gives no stamp")
    _ = index.replace(kind: cm, items: [(ref("x"), object("x", app: "a", rv: "5")), (ref("y"), object("y", app: "b", rv: "6"))], resourceVersion: "9")
    let a0 = index.stamp(application: "a", kinds: [cm]), b0 = index.stamp(application: "b", kinds: [cm])
    #expect(a0 != nil && a0 == index.stamp(application: "a", kinds: [cm]), "no change, same stamp")

    // Each step: what happens, then which of a's and b's stamps must have moved.
    var a = a0, b = b0
    let steps: [(String, (inout CacheIndex) -> Void, Bool, Bool)] = [
        ("an event already cached (same resourceVersion)", { _ = $0.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "5")) }, false, false),
        ("a bookmark", { $0.bookmark(kind: cm, resourceVersion: "10") }, false, false),
        ("drift on a's object", { _ = $0.apply(.modified, kind: cm, ref: ref("x"), object: object("x", app: "a", rv: "11", data: "drift")) }, true, false),
        ("a's own write", { $0.observeWrite(kind: cm, ref: ref("x"), .applied(object("x", app: "a", rv: "12"))) }, true, false),
        ("a write that failed", { $0.observeWrite(kind: cm, ref: ref("x"), .failed) }, false, false),
        ("b's object joins a", { _ = $0.apply(.modified, kind: cm, ref: ref("y"), object: object("y", app: "a", rv: "13")) }, true, true),
        ("an unmanaged object's event", { _ = $0.apply(.added, kind: cm, ref: ref("z"), object: object("z", app: nil, rv: "14")) }, false, false),
        ("a's object deleted", { _ = $0.apply(.deleted, kind: cm, ref: ref("y"), object: object("y", app: "a", rv: "15")) }, true, false),
        ("a relist, even an identical one", { _ = $0.replace(kind: cm, items: [(ref("x"), object("x", app: "a", rv: "12"))], resourceVersion: "16") }, true, true),
    ]
    for (what, change, aMoves, bMoves) in steps {
        change(&index)
        let a1 = index.stamp(application: "a", kinds: [cm]), b1 = index.stamp(application: "b", kinds: [cm])
        #expect((a1 != a) == aMoves, "a after \(what)")
        #expect((b1 != b) == bMoves, "b after \(what)")
        a = a1; b = b1
    }
    index.markUnsynced(cm)
    #expect(index.stamp(application: "a", kinds: [cm]) == nil, "a watch lost: no stamp until listed again")
    _ = index.replace(kind: cm, items: [(ref("x"), object("x", app: "a", rv: "12"))], resourceVersion: "17")
    #expect(index.stamp(application: "a", kinds: [cm]) != a, "listed again: not the stamp from before")
}

/// Against a simulated cluster: inventories come from memory (they answer with the server gone), a change made
/// by someone else reports its Application within a second while the hub's own applies do not, and a stopped
/// cache serves nothing.
@Test func clusterCacheServesInventoriesAndReportsDrift() async throws {
    let sim = try await SimHarness(readyAfter: 0)
    let client = sim.client()
    let changed = Mutex<[String]>([])
    let cache = ClusterCache(client: client) { app in changed.withLock { $0.append(app) } }
    client.cache = cache
    let syncer = Syncer(client: client, application: "shop")
    let applied = try syncer.sync([configMap("settings", namespace: "default", data: ["color": "blue"])])
    #expect(applied.created.count == 1)
    #expect(try syncer.inventory().keys.map(\.name) == ["settings"])
    #expect(cache.syncedKinds.contains(cm) && cache.objectCount == 1)
    // A second apply of the same content and the cache's own view of it: nothing reported.
    _ = try syncer.sync([configMap("settings", namespace: "default", data: ["color": "blue"])])
    try await Task.sleep(for: .milliseconds(300))
    #expect(changed.withLock { $0 }.isEmpty, "the hub's own writes are not news: \(changed.withLock { $0 })")

    // Drift made by another client (a plain merge patch) is reported, and the cache holds the drifted object.
    let patched = sim.cluster.handle(SimRequest(method: "PATCH", path: "/api/v1/namespaces/default/configmaps/settings", query: [:],
                                                headers: ["content-type": "application/merge-patch+json"], body: Array(#"{"data":{"color":"red"}}"#.utf8)))
    #expect(patched.status == 200)
    let deadline = Date().addingTimeInterval(1)
    while changed.withLock({ $0.isEmpty }) && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    #expect(changed.withLock { $0 } == ["shop"])
    let before = sim.cluster.requestCount
    #expect(try syncer.inventory()[ref("settings")]?.value(at: ["data", "color"]) == "red")
    #expect(sim.cluster.requestCount == before, "the inventory is read from memory")

    // With the server gone, the watch fails and the cache stops answering (stale is not served as truth).
    await sim.stop()
    let gone = Date().addingTimeInterval(3)
    while cache.inventory(application: "shop", kinds: [cm]) != nil && Date() < gone { try await Task.sleep(for: .milliseconds(20)) }
    #expect(cache.inventory(application: "shop", kinds: [cm]) == nil)
    #expect(throws: KubeError.self) { try syncer.inventory() }
    cache.stop()
}
