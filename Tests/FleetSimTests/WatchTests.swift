import FleetModel
@testable import FleetSim
import Foundation
import Testing

private func send(_ sim: SimCluster, _ method: String, _ path: String, query: [String: String] = [:], body: String = "",
                  contentType: String = "application/json") -> SimResponse {
    sim.handle(SimRequest(method: method, path: path, query: query, headers: ["content-type": contentType], body: Array(body.utf8)))
}

private func configMap(_ name: String, labels: String = #"{"team":"a"}"#, data: String = "1") -> String {
    #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)","labels":\#(labels)},"data":{"k":"\#(data)"}}"#
}

/// Reads watch events until `count` arrived or the stream ended (or 5 s passed).
private func events(_ answer: SimResponse, count: Int) async -> [(type: String, object: JSONValue)] {
    guard let stream = answer.events else { return [] }
    let collector = Task {
        var out: [(type: String, object: JSONValue)] = []
        for await line in stream {
            let event = (try? JSONParser.parse(line)) ?? .null
            out.append((event["type"]?.stringValue ?? "", event["object"] ?? .null))
            if out.count == count { break }
        }
        return out
    }
    let timeout = Task { try await Task.sleep(for: .seconds(5)); collector.cancel() }
    let result = await collector.value
    timeout.cancel()
    return result
}

private let configMaps = "/api/v1/namespaces/default/configmaps"

/// A watch without a resourceVersion starts with the current state (ADDED), then streams every change.
@Test func watchStreamsCurrentStateThenChanges() async {
    let sim = SimCluster(options: .init())
    #expect(send(sim, "POST", configMaps, body: configMap("a")).status == 201)
    let answer = send(sim, "GET", configMaps, query: ["watch": "true"])
    #expect(answer.status == 200 && answer.events != nil)
    #expect(send(sim, "PATCH", configMaps + "/a", body: #"{"data":{"k":"2"}}"#, contentType: "application/merge-patch+json").status == 200)
    #expect(send(sim, "POST", configMaps, body: configMap("b")).status == 201)
    #expect(send(sim, "DELETE", configMaps + "/a").status == 200)
    let seen = await events(answer, count: 4)
    #expect(seen.map(\.type) == ["ADDED", "MODIFIED", "ADDED", "DELETED"])
    #expect(seen.map { $0.object.value(at: ["metadata", "name"])?.stringValue ?? "" } == ["a", "a", "b", "a"])
    #expect(seen[1].object.value(at: ["data", "k"]) == "2")
    let versions = seen.compactMap { $0.object.value(at: ["metadata", "resourceVersion"])?.stringValue.flatMap(Int.init) }
    #expect(versions.count == 4 && versions == versions.sorted() && Set(versions).count == 4, "each change has a newer resourceVersion: \(versions)")
}

/// Resuming from a resourceVersion replays exactly the later changes; one older than the history kept is a
/// 410 Expired ERROR event, as kube-apiserver sends after compaction.
@Test func watchResumesFromAResourceVersionOrExpires() async {
    let sim = SimCluster(options: .init(watchHistory: 3))
    let created = send(sim, "POST", configMaps, body: configMap("a"))
    let rv = try! JSONParser.parse(created.body).value(at: ["metadata", "resourceVersion"])!.stringValue!
    for i in 2...3 { _ = send(sim, "PATCH", configMaps + "/a", body: #"{"data":{"k":"\#(i)"}}"#, contentType: "application/merge-patch+json") }
    let resumed = await events(send(sim, "GET", configMaps, query: ["watch": "1", "resourceVersion": rv]), count: 2)
    #expect(resumed.map(\.type) == ["MODIFIED", "MODIFIED"] && resumed.last?.object.value(at: ["data", "k"]) == "3")

    for i in 4...6 { _ = send(sim, "PATCH", configMaps + "/a", body: #"{"data":{"k":"\#(i)"}}"#, contentType: "application/merge-patch+json") }
    let expired = await events(send(sim, "GET", configMaps, query: ["watch": "true", "resourceVersion": rv]), count: 2)
    #expect(expired.count == 1 && expired[0].type == "ERROR")
    #expect(expired.first?.object["code"] == 410 && expired.first?.object["reason"] == "Expired")
    #expect(expired.first?.object["message"]?.stringValue?.hasPrefix("too old resource version: \(rv) (") == true)
}

/// Label selectors move objects in and out of a watch's view: a change that makes an object match is ADDED,
/// one that makes it stop matching is DELETED; field selectors pick one object.
@Test func watchSelectors() async {
    let sim = SimCluster(options: .init())
    let answer = send(sim, "GET", configMaps, query: ["watch": "true", "labelSelector": "team=a"])
    let byName = send(sim, "GET", configMaps, query: ["watch": "true", "fieldSelector": "metadata.name=b"])
    _ = send(sim, "POST", configMaps, body: configMap("a", labels: #"{"team":"b"}"#))
    _ = send(sim, "POST", configMaps, body: configMap("b"))
    _ = send(sim, "PATCH", configMaps + "/a", body: #"{"metadata":{"labels":{"team":"a"}}}"#, contentType: "application/merge-patch+json")
    _ = send(sim, "PATCH", configMaps + "/b", body: #"{"metadata":{"labels":{"team":"c"}}}"#, contentType: "application/merge-patch+json")
    let seen = await events(answer, count: 3)
    #expect(seen.map { "\($0.type) \($0.object.value(at: ["metadata", "name"])?.stringValue ?? "")" } == ["ADDED b", "ADDED a", "DELETED b"])
    let one = await events(byName, count: 2)
    #expect(one.map { "\($0.type) \($0.object.value(at: ["metadata", "name"])?.stringValue ?? "")" } == ["ADDED b", "MODIFIED b"])
}

/// A workload turning ready is a change of its own, so `kubectl wait` and `rollout status` see it on their watch.
@Test func workloadReadinessIsAWatchEvent() async {
    let sim = SimCluster(options: .init(readyAfter: 0.2))
    let deployment = #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}"#
    let answer = send(sim, "GET", "/apis/apps/v1/namespaces/default/deployments", query: ["watch": "true", "resourceVersion": "0"])
    #expect(send(sim, "POST", "/apis/apps/v1/namespaces/default/deployments", body: deployment).status == 201)
    let seen = await events(answer, count: 2)
    #expect(seen.map(\.type) == ["ADDED", "MODIFIED"])
    #expect(seen.first?.object.value(at: ["status", "availableReplicas"]) == 0)
    #expect(seen.last?.object.value(at: ["status", "availableReplicas"]) == 2)
    #expect(seen.first?.object.value(at: ["metadata", "resourceVersion"]) != seen.last?.object.value(at: ["metadata", "resourceVersion"]))
}

/// `timeoutSeconds` ends the watch (with a last BOOKMARK when bookmarks are allowed); an ended watch is forgotten.
@Test func watchTimeoutAndBookmarks() async throws {
    let sim = SimCluster(options: .init(bookmarkInterval: 0.1))
    let answer = send(sim, "GET", configMaps, query: ["watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": "1", "resourceVersion": "0"])
    let seen = await events(answer, count: 100)
    #expect(seen.count >= 3 && seen.allSatisfy { $0.type == "BOOKMARK" }, "\(seen.map(\.type))")
    #expect(seen.last?.object["kind"] == "ConfigMap" && seen.last?.object.value(at: ["metadata", "resourceVersion"])?.stringValue != nil)
    try await Task.sleep(for: .milliseconds(100))
    #expect(sim.watchCount == 0)
}

/// The start of a watch from its parameters, and the refusals kube-apiserver gives.
@Test(arguments: [
    ([:], "currentState(endBookmark: false)"),
    (["resourceVersion": "0"], "currentState(endBookmark: false)"),
    (["resourceVersion": "42"], "after(42)"),
    (["sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"], "currentState(endBookmark: true)"),
    (["sendInitialEvents": "false"], "now"),
    (["sendInitialEvents": "false", "resourceVersion": "7"], "after(7)"),
    (["resourceVersion": "x"], "resourceVersion: Invalid value: \"x\": must be an integer"),
    (["resourceVersion": "7", "resourceVersionMatch": "Exact"], "resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\""),
    (["sendInitialEvents": "true"], "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    (["sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"], "allowWatchBookmarks: Required value: sendInitialEvents requires allowWatchBookmarks"),
    (["resourceVersion": "3", "resourceVersionMatch": "NotOlderThan"], "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
] as [([String: String], String)])
func watchStart(query: [String: String], expected: String) {
    do {
        let start = try WatchStart.parse(query)
        #expect("\(start)" == expected)
    } catch {
        #expect(error.message == expected)
    }
}

/// sendInitialEvents: the current state, then a BOOKMARK marking the end of the initial events.
@Test func watchListSendsInitialEventsThenABookmark() async {
    let sim = SimCluster(options: .init())
    _ = send(sim, "POST", configMaps, body: configMap("a"))
    let answer = send(sim, "GET", configMaps, query: ["watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"])
    let seen = await events(answer, count: 2)
    #expect(seen.map(\.type) == ["ADDED", "BOOKMARK"])
    #expect(seen.last?.object.value(at: ["metadata", "annotations", "k8s.io/initial-events-end"]) == "true")
    #expect(send(sim, "GET", configMaps, query: ["watch": "true", "resourceVersionMatch": "Bogus"]).status == 422)
}
