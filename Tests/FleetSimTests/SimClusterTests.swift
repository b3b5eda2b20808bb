import FleetModel
import FleetSim
import Testing

private func request(_ sim: SimCluster, _ method: String, _ path: String, query: [String: String] = [:], body: String = "",
                     contentType: String = "application/json", token: String? = nil) -> (Int, JSONValue) {
    var headers = ["content-type": contentType]
    if let token { headers["authorization"] = "Bearer \(token)" }
    let r = sim.handle(SimRequest(method: method, path: path, query: query, headers: headers, body: Array(body.utf8)))
    return (r.status, (try? JSONParser.parse(r.body)) ?? .string(r.body))
}

private let cm = #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"team":"a"}},"data":{"k":"v"}}"#

/// Create, get, conflicts on update, merge and JSON patches, delete: the Kubernetes status codes.
@Test func objectLifecycle() {
    let sim = SimCluster(options: .init())
    #expect(request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: cm).0 == 201)
    #expect(request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: cm).1["reason"] == "AlreadyExists")
    let (code, object) = request(sim, "GET", "/api/v1/namespaces/default/configmaps/c")
    #expect(code == 200 && object.value(at: ["metadata", "namespace"]) == "default" && object.value(at: ["metadata", "uid"]) != nil)

    var stale = object
    stale.set("data", .object([("k", "x")]))
    #expect(request(sim, "PATCH", "/api/v1/namespaces/default/configmaps/c", body: #"{"data":{"k":"merged"}}"#, contentType: "application/merge-patch+json").0 == 200)
    let (conflict, status) = request(sim, "PUT", "/api/v1/namespaces/default/configmaps/c", body: stale.serialized())
    #expect(conflict == 409 && status["reason"] == "Conflict")
    let (_, patched) = request(sim, "PATCH", "/api/v1/namespaces/default/configmaps/c", body: #"[{"op":"add","path":"/data/extra","value":"1"}]"#, contentType: "application/json-patch+json")
    #expect(patched["data"] == .object([("k", "merged"), ("extra", "1")]))
    #expect(request(sim, "DELETE", "/api/v1/namespaces/default/configmaps/c").0 == 200)
    #expect(request(sim, "GET", "/api/v1/namespaces/default/configmaps/c").1["reason"] == "NotFound")
}

/// Server-side apply creates, is a no-op when nothing changes (same resourceVersion), and needs a field manager.
@Test func serverSideApply() {
    let sim = SimCluster(options: .init())
    let path = "/api/v1/namespaces/default/configmaps/c"
    let (created, first) = request(sim, "PATCH", path, query: ["fieldManager": "t"], body: cm, contentType: "application/apply-patch+yaml")
    #expect(created == 201)
    let (_, second) = request(sim, "PATCH", path, query: ["fieldManager": "t"], body: cm, contentType: "application/apply-patch+yaml")
    #expect(second.value(at: ["metadata", "resourceVersion"]) == first.value(at: ["metadata", "resourceVersion"]))
    #expect(second.value(at: ["metadata", "managedFields"])?.arrayValue?.first?["manager"] == "t")
    #expect(request(sim, "PATCH", path, body: cm, contentType: "application/apply-patch+yaml").0 == 422)
}

/// Bad objects get Kubernetes Status errors: missing kind, invalid name, missing namespace, unknown kind.
@Test func validationErrors() {
    let sim = SimCluster(options: .init())
    // Without apiVersion and kind, a create takes them from the URL (as kube-apiserver does); a wrong kind is refused.
    let (created, untyped) = request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: #"{"metadata":{"name":"x"}}"#)
    #expect(created == 201 && untyped["kind"] == "ConfigMap" && untyped["apiVersion"] == "v1")
    #expect(request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: #"{"kind":"Secret","metadata":{"name":"y"}}"#).1["message"]?.stringValue?.contains("does not match the expected kind") == true)
    // Server-side apply still needs them.
    #expect(request(sim, "PATCH", "/api/v1/namespaces/default/configmaps/z", query: ["fieldManager": "t"], body: #"{"metadata":{"name":"z"}}"#,
                    contentType: "application/apply-patch+yaml").1["message"]?.stringValue?.contains("Kind") == true)
    let (invalid, status) = request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#)
    #expect(invalid == 422 && status.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == "metadata.name")
    #expect(request(sim, "POST", "/api/v1/namespaces/ghost/configmaps", body: cm).1["message"] == "namespaces \"ghost\" not found")
    #expect(request(sim, "GET", "/apis/example.com/v1/widgets").0 == 404)
    #expect(request(sim, "GET", "/api/v1/namespaces/default/nosuch").0 == 404)
}

/// Label and field selectors on lists, across namespaces.
@Test func selectors() {
    let sim = SimCluster(options: .init())
    _ = request(sim, "POST", "/api/v1/namespaces", body: #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}"#)
    _ = request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: cm)
    _ = request(sim, "POST", "/api/v1/namespaces/b/configmaps", body: cm.replacingOccurrences(of: #""team":"a""#, with: #""team":"b""#))
    func names(_ query: [String: String], _ path: String = "/api/v1/configmaps") -> [String] {
        request(sim, "GET", path, query: query).1["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "namespace"])?.stringValue } ?? []
    }
    #expect(names([:]) == ["b", "default"])
    #expect(names(["labelSelector": "team=a"]) == ["default"])
    #expect(names(["labelSelector": "team in (a,b),!missing"]) == ["b", "default"])
    #expect(names(["fieldSelector": "metadata.namespace=b"]) == ["b"])
    #expect(names([:], "/api/v1/namespaces/b/configmaps") == ["b"])
    #expect(request(sim, "GET", "/api/v1/configmaps", query: ["labelSelector": "team in ("]).0 == 400)
}

/// With a token set, requests without it get 401; health endpoints stay open.
@Test func tokenRequired() {
    let sim = SimCluster(options: .init(token: "t0k"))
    #expect(request(sim, "GET", "/api/v1/namespaces").0 == 401)
    #expect(request(sim, "GET", "/api/v1/namespaces", token: "wrong").0 == 401)
    #expect(request(sim, "GET", "/api/v1/namespaces", token: "t0k").0 == 200)
    #expect(request(sim, "GET", "/readyz").0 == 200)
}

/// Deleting a namespace deletes what it holds; a CRD's kind is served until the CRD is deleted.
@Test func cascadesAndCRDs() {
    let sim = SimCluster(options: .init())
    _ = request(sim, "POST", "/api/v1/namespaces", body: #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"gone"}}"#)
    _ = request(sim, "POST", "/api/v1/namespaces/gone/configmaps", body: cm)
    _ = request(sim, "DELETE", "/api/v1/namespaces/gone")
    #expect(request(sim, "GET", "/api/v1/configmaps").1["items"]?.arrayValue?.isEmpty == true)

    let crd = #"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Cluster","names":{"kind":"Widget","plural":"widgets"},"versions":[{"name":"v1","served":true}]}}"#
    #expect(request(sim, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: crd).0 == 201)
    #expect(request(sim, "POST", "/apis/example.com/v1/widgets", body: #"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}"#).0 == 201)
    #expect(request(sim, "GET", "/apis").1["groups"]?.arrayValue?.contains { $0["name"] == "example.com" } == true)
    _ = request(sim, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    #expect(request(sim, "GET", "/apis/example.com/v1/widgets").0 == 404)
}

/// Server-side apply removes fields a manager stops applying, but keeps fields another manager applied.
@Test func applyRemovesFieldsNoLongerApplied() {
    let sim = SimCluster(options: .init())
    let path = "/api/v1/namespaces/default/configmaps/c"
    func apply(_ manager: String, _ body: String) -> JSONValue {
        request(sim, "PATCH", path, query: ["fieldManager": manager], body: body, contentType: "application/apply-patch+yaml").1
    }
    _ = apply("a", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"x":"1","y":"2"}},"data":{"k1":"v","k2":"v"}}"#)
    _ = apply("b", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k2":"v","k3":"v"}}"#)
    let after = apply("a", #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"x":"1"}},"data":{"k1":"v"}}"#)
    #expect(after.value(at: ["metadata", "labels"]) == .object([("x", "1")]), "label y, applied only by a, is gone")
    #expect(after["data"] == .object([("k1", "v"), ("k2", "v"), ("k3", "v")]), "k2 stays: manager b applies it too")
}

/// Lists in chunks: `limit` returns a `continue` token and `remainingItemCount`; a token from before a later write
/// is 410 Expired (the simulator keeps no history); a token that is not one is 400.
@Test func listsInChunks() {
    let sim = SimCluster(options: .init())
    for i in 0..<5 {
        #expect(request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: #"{"metadata":{"name":"cm-\#(i)"}}"#).0 == 201)
    }
    var names: [String] = []
    var token: String?
    var pages = 0
    repeat {
        var query = ["limit": "2"]
        if let token { query["continue"] = token }
        let (code, page) = request(sim, "GET", "/api/v1/namespaces/default/configmaps", query: query)
        #expect(code == 200)
        names += page["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? []
        token = page.value(at: ["metadata", "continue"])?.stringValue
        if token != nil { #expect(page.value(at: ["metadata", "remainingItemCount"]) == .int(5 - names.count)) }
        pages += 1
    } while token != nil && pages < 10
    #expect(names == (0..<5).map { "cm-\($0)" } && pages == 3)
    let (_, first) = request(sim, "GET", "/api/v1/namespaces/default/configmaps", query: ["limit": "2"])
    let stale = first.value(at: ["metadata", "continue"])?.stringValue ?? ""
    #expect(request(sim, "POST", "/api/v1/namespaces/default/configmaps", body: #"{"metadata":{"name":"late"}}"#).0 == 201)
    let (expired, status) = request(sim, "GET", "/api/v1/namespaces/default/configmaps", query: ["limit": "2", "continue": stale])
    #expect(expired == 410 && status["reason"] == "Expired")
    #expect(request(sim, "GET", "/api/v1/namespaces/default/configmaps", query: ["continue": "not-a-token"]).0 == 400)
}
