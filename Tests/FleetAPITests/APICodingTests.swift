import FleetAPI
import FleetModel
import Testing

/// Answers keep their documented shape: fields in declaration order, absent optionals as null, JSON kept whole.
@Test func answersKeepOrderNullsAndJSON() throws {
    let object: JSONValue = .object([("spec", .object([("zeta", 1), ("alpha", "x")])), ("metadata", .object([("name", "web")]))])
    let set = ApplicationSetInfo(name: "web", source: "api", applications: 2, generatedAt: nil, error: nil, problems: ["skipped"], object: object)
    let json = try APIJSON.encode(set)
    #expect(json.serialized(pretty: false) == #"{"name":"web","source":"api","applications":2,"generatedAt":null,"error":null,"problems":["skipped"],"object":{"spec":{"zeta":1,"alpha":"x"},"metadata":{"name":"web"}}}"#)
    // In lists the object is left out.
    let listed = try APIJSON.encode(ApplicationSetInfo(name: "web", source: "api", applications: 2, generatedAt: "t", error: nil, problems: []))
    #expect(listed["object"] == nil && listed["generatedAt"] == "t")
    // Back again, the JSON inside keeps its order.
    let decoded = try APIJSON.decode(ApplicationSetInfo.self, from: json)
    #expect(decoded.object == object && decoded.generatedAt == nil && decoded.problems == ["skipped"])
}

@Test func flattenedAnswersRoundTrip() throws {
    let cluster = Cluster(name: "prod-eu", server: "https://10.0.0.1:6443", labels: ["env": "prod", "cloud": "aws"])
    let status = ClusterStatusInfo(state: "Unreachable", stateSince: "t0", lastError: "refused", cordoned: false, drained: false, reachable: false,
                                   unreachableSince: "t1")
    let json = try APIJSON.encode(HubCluster(cluster: ClusterInfo(cluster), status: status))
    // Registration first, status on the same level; labels sorted.
    let keys = json.objectValue?.map(\.0) ?? []
    #expect(keys.prefix(2) == ["name", "server"] && keys.suffix(7) == ["state", "stateSince", "lastError", "cordoned", "drained", "reachable", "unreachableSince"])
    #expect(json["labels"]?.objectValue?.map(\.0) == ["cloud", "env"])
    #expect(json["secondary"] == .null)
    let back = try APIJSON.decode(HubCluster.self, from: json)
    #expect(back.cluster.labels.values == cluster.labels && back.status.unreachableSince == "t1" && !back.status.reachable)
}

@Test func pagesOmitContinueOnTheLastPage() throws {
    let last = try APIJSON.encode(ListPage(items: [AccountInfo(name: "a", role: "role:admin", createdAt: nil)]))
    #expect(last.serialized(pretty: false) == #"{"items":[{"name":"a","role":"role:admin","createdAt":null}]}"#)
    let more = try APIJSON.encode(ListPage(items: [CanI(allowed: true)], continue: "b64"))
    #expect(more["continue"] == "b64")
}

/// A request or answer that does not fit says which field.
@Test func decodingErrorsNameTheField() throws {
    let table: [(String, String)] = [
        (#"{"id": "three"}"#, "id: expected Int"),
        (#"{}"#, "id: required field is missing"),
        (#"[1]"#, "expected an object"),
    ]
    for (body, message) in table {
        let json = try JSONParser.parse(body)
        #expect(throws: (any Error).self, "\(body)") { try APIJSON.decode(RollbackRequest.self, from: json) }
        do { _ = try APIJSON.decode(RollbackRequest.self, from: json) } catch { #expect("\(error)".contains(message), "\(body): \(error)") }
    }
}

@Test func nestedErrorsCarryTheirPath() throws {
    let json = try JSONParser.parse(#"{"items": [{"id": 1, "at": "t", "type": "Sync", "cluster": null, "application": null, "message": "ok"}, {"id": "x"}]}"#)
    do {
        _ = try APIJSON.decode(Items<HubEvent>.self, from: json)
        Issue.record("expected an error")
    } catch {
        #expect("\(error)".hasPrefix("items[1].id"), "\(error)")
    }
}

/// Queued answers say `pinnedRevision` only for a rollback (the pin) and an unpin (null).
@Test func queuedAnswers() throws {
    #expect(try APIJSON.encode(Queued(application: "a")).serialized(pretty: false) == #"{"application":"a","queued":true}"#)
    #expect(try APIJSON.encode(Queued(application: "a", pinnedRevision: nil)).serialized(pretty: false) == #"{"application":"a","pinnedRevision":null,"queued":true}"#)
    #expect(try APIJSON.encode(Queued(application: "a", pinnedRevision: "abc")).serialized(pretty: false) == #"{"application":"a","pinnedRevision":"abc","queued":true}"#)
}

/// A stored status reads back field by field: one field an older hub wrote differently does not lose the others.
@Test func statusReadsBackFieldByField() throws {
    var status = ApplicationStatus(sync: .init(status: .synced, revisions: ["abc"]), health: .init(status: .healthy),
                                   operationState: .init(phase: .succeeded, message: "ok"))
    status.conditions = [.init(.pinned, "pinned to abc")]
    status.cluster = "prod-eu"
    let json = status.json
    // Only what is set is written, in a fixed order.
    #expect(json.objectValue?.map(\.0) == ["sync", "health", "operationState", "cluster", "conditions"])
    #expect(ApplicationStatus(json) == status)
    var odd = json
    odd.set("health", "Healthy")          // not an object
    odd.set("unknownField", 1)
    let back = ApplicationStatus(odd)
    #expect(back.health == nil && back.sync == status.sync && back.conditions == status.conditions && back.cluster == "prod-eu")
}

/// Statuses are typed values stored as Argo CD's words: the JSON is unchanged, an empty phase is "no operation",
/// and a word this version does not know reads as Unknown instead of losing the field.
@Test func typedStatusesKeepArgoCDsWords() throws {
    let status = ApplicationStatus(sync: .init(status: .outOfSync), health: .init(status: .degraded, message: "crash"),
                                   operationState: .init(phase: nil, message: "compared"))
    let json = status.json
    #expect(json.value(at: ["sync", "status"]) == "OutOfSync")
    #expect(json.value(at: ["health", "status"]) == "Degraded")
    #expect(json.value(at: ["operationState", "phase"]) == "")
    #expect(ApplicationStatus(json).operationState?.phase == nil)
    var newer = json
    newer.set("sync", .object([("status", "Drifting"), ("revisions", .array([]))]))
    newer.set("conditions", .array([.object([("type", "FutureCondition"), ("message", "m")])]))
    let read = ApplicationStatus(newer)
    #expect(read.sync?.status == .unknown && read.health?.status == .degraded)
    #expect(read.conditions?.first?.type == .unknown && read.conditions?.first?.message == "m")
    #expect(ApplicationStatus.syncStatus(of: json) == .outOfSync && ApplicationStatus.healthStatus(of: json) == .degraded)
    #expect(ApplicationStatus.operationPhase(of: json) == nil)
}
