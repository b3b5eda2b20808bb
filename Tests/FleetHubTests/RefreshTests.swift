import FleetConfig
@testable import FleetHub
import FleetModel
import Foundation
import Testing

/// `POST …/refresh` answers at once: the git fetch waits its turn on the generation queue, never on the API's
/// thread. Here the queue is held by other work; the refresh still returns, and its compare runs once the queue
/// frees.
@Test func refreshDoesNotWaitForTheGenerationQueue() async throws {
    let fixture = try await InProcessHub(clusters: ["a": true], files: ["apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"],
                                         appSet: perCluster)
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    try await eventually("web-a synced") { try hub.store.application(named: "web-a")?.status.value(at: ["sync", "status"]) == "Synced" }
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }
    let release = DispatchSemaphore(value: 0), releasedByTimeout = Flag()
    hub.appSets.queue.async { release.wait() }   // a long generation holds the queue
    // Should the refresh wait for the queue, it is freed after 20 s so that the test ends, and fails.
    DispatchQueue.global().asyncAfter(deadline: .now() + 20) {
        releasedByTimeout.set()
        release.signal()
    }
    let before = hub.lastReconciled("web-a") ?? ""
    let answer = try await fixture.call("POST", "/api/v1/applications/web-a/refresh")
    #expect(answer.status == 202, "\(answer.body)")
    #expect(!releasedByTimeout.isSet, "the refresh waited for the generation queue")
    release.signal()
    try await eventually("the refresh compared web-a once the queue was free") { (hub.lastReconciled("web-a") ?? "") > before }
}

/// Requests between replicas are typed records sent as JSON: every kind reads back as sent, names with tabs or
/// newlines included, and a line this version cannot read is refused (dropped by the receiver, logged).
@Test func replicaRequestsRoundTrip() {
    let requests: [ReplicaRequest] = [
        .sync(application: "web-eu", prune: true, by: "alice\tadmin"), .sync(application: "api", prune: false, by: "api"),
        .terminate(application: "web\neu", by: "bob"), .refresh(application: "web-eu"),
    ]
    for request in requests {
        #expect(!request.encoded.contains("\n"), "one line: \(request.encoded)")
        #expect(ReplicaRequest(encoded: request.encoded) == request)
    }
    #expect(ReplicaRequest(encoded: "sync\tweb-eu\ttrue\talice") == nil)
    #expect(ReplicaRequest(encoded: #"{"rollback":{"application":"x"}}"#) == nil)
}
