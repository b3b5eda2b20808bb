import FleetModel
@testable import FleetSim
import Foundation
import Testing

/// A protobuf writer for the tests: length-delimited fields and varints.
private func varint(_ v: UInt64) -> [UInt8] {
    var out: [UInt8] = [], v = v
    while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
    return out + [UInt8(v)]
}
private func field(_ n: Int, _ bytes: [UInt8]) -> [UInt8] { varint(UInt64(n << 3 | 2)) + varint(UInt64(bytes.count)) + bytes }
private func field(_ n: Int, _ s: String) -> [UInt8] { field(n, Array(s.utf8)) }
private func number(_ n: Int, _ v: UInt64) -> [UInt8] { varint(UInt64(n << 3)) + varint(v) }
private func entry(_ n: Int, _ k: String, _ v: String) -> [UInt8] { field(n, field(1, k) + field(2, v)) }
private func envelope(_ apiVersion: String, _ kind: String, _ raw: [UInt8]) -> [UInt8] {
    KubeProtobuf.magic + field(1, field(1, apiVersion) + field(2, kind)) + field(2, raw) + field(3, "") + field(4, "")
}

/// As kubectl sends them: every non-pointer field written, empty or not (gogo), Go's zero time as year 1.
private let meta = field(1, "settings") + field(2, "") + field(3, "demo") + field(4, "") + field(5, "") + field(6, "") + number(7, 0)
    + field(8, number(1, UInt64(bitPattern: -62_135_596_800)) + number(2, 0)) + entry(11, "app", "web") + entry(11, "tier", "front")

@Test func configMapFromProtobuf() throws {
    let raw = field(1, meta) + entry(2, "color", "blue") + entry(2, "size", "2") + field(3, field(1, "logo") + field(2, [0xff, 0x00]))
    let object = try KubeProtobuf.decode(envelope("v1", "ConfigMap", raw))
    #expect(object["apiVersion"] == "v1" && object["kind"] == "ConfigMap")
    #expect(object["metadata"] == .object([("name", "settings"), ("namespace", "demo"), ("labels", .object([("app", "web"), ("tier", "front")]))]),
            "empty strings, zero numbers and the zero time are dropped as JSON's omitempty drops them")
    #expect(object["data"] == .object([("color", "blue"), ("size", "2")]))
    #expect(object["binaryData"] == .object([("logo", "/wA=")]), "bytes are base64 in JSON")
}

@Test func pointerFieldsKeepTheirZero() throws {
    let raw = field(1, field(1, "robot")) + number(4, 0)
    let object = try KubeProtobuf.decode(envelope("v1", "ServiceAccount", raw))
    #expect(object["automountServiceAccountToken"] == .bool(false), "false was set, not left out")
}

/// A Deployment as a Go client sends it: resource quantities (messages holding their string), IntOrString as a
/// number or a name, a pointer replica count of 0 kept, the status read past.
@Test func deploymentFromProtobuf() throws {
    let quantity = { (q: String) in field(1, q) }
    let container = field(1, "app") + field(2, "nginx:1.27") + field(3, "/bin/sh") + field(3, "-c")
        + field(6, field(1, "http") + number(3, 8080) + field(4, "TCP"))
        + field(7, field(1, "MODE") + field(2, "prod"))
        + field(8, field(1, field(1, "cpu") + field(2, quantity("500m"))) + field(2, field(1, "memory") + field(2, quantity("64Mi"))))
    let template = field(1, field(11, field(1, "app") + field(2, "web"))) + field(2, field(2, container) + field(3, "Always"))
    let strategy = field(1, "RollingUpdate") + field(2, field(1, number(1, 1) + field(3, "25%")) + field(2, number(1, 0) + number(2, 2)))
    let spec = number(1, 0) + field(2, entry(1, "app", "web")) + field(3, template) + field(4, strategy)
    let raw = field(1, field(1, "web")) + field(2, spec) + field(3, number(1, 7) + number(2, 3))
    let object = try KubeProtobuf.decode(envelope("apps/v1", "Deployment", raw))
    #expect(object["status"] == nil, "the status of a create is not read")
    #expect(object.value(at: ["spec", "replicas"]) == .int(0), "a pointer's zero is kept")
    #expect(object.value(at: ["spec", "selector"]) == .object([("matchLabels", .object([("app", "web")]))]))
    #expect(object.value(at: ["spec", "strategy"]) == .object([("type", "RollingUpdate"),
                                                              ("rollingUpdate", .object([("maxUnavailable", "25%"), ("maxSurge", .int(2))]))]))
    let c = try #require(object.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first)
    #expect(c["command"] == .array(["/bin/sh", "-c"]))
    #expect(c["ports"] == .array([.object([("name", "http"), ("containerPort", .int(8080)), ("protocol", "TCP")])]))
    #expect(c["env"] == .array([.object([("name", "MODE"), ("value", "prod")])]))
    #expect(c["resources"] == .object([("limits", .object([("cpu", "500m")])), ("requests", .object([("memory", "64Mi")]))]))
    #expect(object.value(at: ["spec", "template", "spec", "restartPolicy"]) == "Always")
}

@Test(arguments: [
    (Array("{\"a\":1}".utf8), KubeProtobuf.Failure.malformed("the body does not start with the k8s protobuf prefix")),
    (KubeProtobuf.magic + [0x0a, 0x05, 0x01], .malformed("field 1 is longer than the message")),
    (envelope("batch/v1", "Job", []), .unsupportedKind("batch/v1/Job")),
    (envelope("v1", "ConfigMap", field(9, "x")), .malformed("ConfigMap has no field 9 the simulator knows")),
    // Deep inside a Deployment (a container's securityContext): named by its message, never dropped.
    (envelope("apps/v1", "Deployment", field(2, field(3, field(2, field(2, field(1, "app") + field(15, [])))))),
     .malformed("Container has no field 15 the simulator knows")),
    (envelope("v1", "Service", field(2, field(1, field(4, number(1, 7))))), .malformed("ServicePort.targetPort: IntOrString type 7 is neither 0 (int) nor 1 (string)")),
    (KubeProtobuf.magic + field(1, field(1, "v1") + field(2, "ConfigMap")) + field(3, "gzip"), .malformed("content encoding 'gzip' is not supported")),
] as [([UInt8], KubeProtobuf.Failure)])
func protobufRefusals(body: [UInt8], expected: KubeProtobuf.Failure) {
    #expect(throws: expected) { try KubeProtobuf.decode(body) }
}

/// Through the simulator: a create in protobuf is stored and answered in JSON; a kind it cannot read is 415.
@Test func simulatorCreatesFromProtobuf() throws {
    let sim = SimCluster(options: .init())
    let headers = ["content-type": "application/vnd.kubernetes.protobuf", "accept": "application/vnd.kubernetes.protobuf, */*"]
    _ = sim.handle(SimRequest(method: "POST", path: "/api/v1/namespaces", query: [:], headers: ["content-type": "application/json"],
                              body: Array(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}"#.utf8)))
    let created = sim.handle(SimRequest(method: "POST", path: "/api/v1/namespaces/demo/configmaps", query: [:], headers: headers,
                                        body: envelope("v1", "ConfigMap", field(1, meta) + entry(2, "color", "blue"))))
    #expect(created.status == 201 && created.contentType == "application/json")
    #expect(try JSONParser.parse(created.body).value(at: ["data", "color"]) == "blue")
    let refused = sim.handle(SimRequest(method: "POST", path: "/apis/batch/v1/namespaces/demo/jobs", query: [:], headers: headers,
                                        body: envelope("batch/v1", "Job", field(1, field(1, "web")))))
    #expect(refused.status == 415 && refused.body.contains("send batch/v1/Job as JSON"))
}
