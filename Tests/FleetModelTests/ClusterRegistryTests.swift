import FleetModel
import Foundation
import Testing

private func cluster(_ name: String, secondary: String? = nil, labels: [String: String] = [:]) -> Cluster {
    Cluster(name: name, server: "https://\(name).example.com:6443", labels: labels, secondary: secondary)
}

/// Server URLs: https, or http for simulators; never credentials in the URL.
@Test(arguments: [
    ("https://10.0.0.1:6443", nil),
    ("http://127.0.0.1:7101", nil),
    ("https://kubernetes.default.svc", nil),
    ("", "must not be empty"),
    ("ftp://host", "must use https"),
    ("10.0.0.1:6443", "has no scheme; write it as https://10.0.0.1:6443"),
    ("https://", "has no host"),
    ("https://user:hunter2@host", "must not contain credentials"),
    ("https://host:6443/?x=1", "must not have a query"),
] as [(String, String?)])
func serverURL(_ server: String, _ expected: String?) {
    let problem = Cluster.serverProblem(server)
    if let expected {
        #expect(problem?.contains(expected) == true, "got \(problem ?? "nil")")
        #expect(problem?.contains("hunter2") != true)
    } else {
        #expect(problem == nil)
    }
}

/// A chain of secondaries is valid.
@Test func chainIsValid() throws {
    let registry = ClusterRegistry([cluster("a", secondary: "b"), cluster("b", secondary: "c"), cluster("c")])
    try registry.validate()
    #expect(registry.names == ["a", "b", "c"])
    #expect(registry.dependents(of: "b") == ["a"])
}

struct RegistryCase: Sendable, CustomTestStringConvertible {
    let name: String
    let clusters: [Cluster]
    let expected: [String]  // each must appear in the problems
    var testDescription: String { name }
}

/// Registry-wide rules: the secondary must exist, must not be the cluster itself, and must not loop.
@Test(arguments: [
    RegistryCase(name: "missing secondary", clusters: [cluster("a", secondary: "ghost")],
                 expected: ["clusters.a.secondary: secondary cluster 'ghost' is not registered"]),
    RegistryCase(name: "self", clusters: [cluster("a", secondary: "a")],
                 expected: ["clusters.a.secondary: cluster 'a' cannot be its own secondary"]),
    RegistryCase(name: "two-cycle", clusters: [cluster("a", secondary: "b"), cluster("b", secondary: "a")],
                 expected: ["secondaries form a cycle: a -> b -> a"]),
    RegistryCase(name: "three-cycle reached from a tail",
                 clusters: [cluster("t", secondary: "x"), cluster("x", secondary: "y"), cluster("y", secondary: "z"), cluster("z", secondary: "x")],
                 expected: ["clusters.x.secondary: secondaries form a cycle: x -> y -> z -> x"]),
    RegistryCase(name: "bad label", clusters: [cluster("a", labels: ["env": "prod!"])],
                 expected: ["clusters.a.labels.env: value 'prod!'"]),
])
func registryProblems(_ c: RegistryCase) {
    let problems = ClusterRegistry(c.clusters).problems().map(\.description)
    for expected in c.expected {
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
    }
    #expect(throws: InputError.self) { try ClusterRegistry(c.clusters).validate() }
}

/// A cycle is reported once, not once per member.
@Test func cycleReportedOnce() {
    let problems = ClusterRegistry([cluster("a", secondary: "b"), cluster("b", secondary: "c"), cluster("c", secondary: "a")]).problems()
    #expect(problems.count == 1)
}

/// Changes between two registries are classified by name.
@Test func changesBetweenRegistries() {
    let old = ClusterRegistry([cluster("a"), cluster("b"), cluster("c")])
    var new = old
    new.remove("c")
    new.upsert(cluster("b", labels: ["env": "prod"]))
    new.upsert(cluster("d"))
    let changes = new.changes(from: old)
    #expect(changes.created == ["d"])
    #expect(changes.updated == ["b"])
    #expect(changes.unchanged == ["a"])
    #expect(changes.deleted == ["c"])
    #expect(ClusterRegistry([cluster("a")]).changes(from: ClusterRegistry([cluster("a")])).isEmpty)
}

/// Credentials: paired cert and key, PEM shape, no CA with insecure, and never shown in descriptions.
@Test func credentialRules() {
    let pemCert = Data("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8)
    let pemKey = Data("-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n".utf8)
    #expect(ClusterCredentials(certData: pemCert, keyData: pemKey).problems(field: "auth").isEmpty)
    #expect(ClusterCredentials(certData: pemCert, keyData: pemKey).kind == .clientCertificate)
    #expect(ClusterCredentials(certData: pemCert).problems(field: "auth").map(\.description)
        == ["auth.keyFile: a client certificate and a client key must be given together"])
    #expect(ClusterCredentials(caData: Data("not pem".utf8)).problems(field: "auth").first?.message.contains("CA data is not a PEM certificate") == true)
    #expect(ClusterCredentials(caData: pemCert, insecureSkipTLSVerify: true).problems(field: "auth").first?.message.contains("cannot be used together") == true)
    #expect(ClusterCredentials(bearerToken: "abc def").problems(field: "auth").first?.message.contains("whitespace") == true)
    #expect(ClusterCredentials(username: "admin").problems(field: "auth").first?.message.contains("both a username and a password") == true)

    let secret = ClusterCredentials(bearerToken: "s3cr3t-token-value", password: "pw-value", keyData: pemKey)
    let c = Cluster(name: "a", server: "https://a", credentials: secret)
    for text in ["\(secret)", String(reflecting: secret), "\(c)", String(reflecting: c)] {
        #expect(!text.contains("s3cr3t-token-value"))
        #expect(!text.contains("pw-value"))
        #expect(!text.contains("PRIVATE KEY"))
    }
    var dumped = ""
    dump(c, to: &dumped)
    #expect(!dumped.contains("s3cr3t-token-value"))
    #expect(secret.kind == .token)
}

/// JSON output keeps key order and escapes control characters.
@Test func jsonValueSerialisation() {
    let value = JSONValue.object([("name", .string("a\"b\n")), ("n", .int(3)), ("ok", .bool(true)), ("none", .null), ("list", .array([]))])
    #expect(value.serialized(pretty: false) == #"{"name":"a\"b\n","n":3,"ok":true,"none":null,"list":[]}"#)
    #expect(JSONValue.string("\u{01}").serialized() == #""\u0001""#)
    #expect(JSONValue.sortedObject(["b": "2", "a": "1"]).serialized(pretty: false) == #"{"a":"1","b":"2"}"#)
}

/// Timestamps match Foundation's ISO 8601 formatting, with and without milliseconds.
@Test func timestampsAreRFC3339() {
    let date = Date(timeIntervalSince1970: 1_795_466_980.25)
    #expect(Timestamp.rfc3339(date) == ISO8601DateFormatter().string(from: date))
    #expect(Timestamp.rfc3339(date, milliseconds: true) == "2026-11-23T20:49:40.250Z")
    #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
}

/// One API server is one cluster: a second name for the same server URL (in any case of the host, with or
/// without a trailing slash) is refused, naming both.
@Test(arguments: [
    ("https://k8s.example.com:6443", "https://k8s.example.com:6443", true),
    ("https://K8S.example.com:6443/", "https://k8s.example.com:6443", true),
    ("https://k8s.example.com:6443", "https://k8s.example.com:6444", false),
    ("https://k8s.example.com/a", "https://k8s.example.com/b", false),
    ("https://k8s.example.com/Path", "https://k8s.example.com/path", false),
])
func aServerIsRegisteredOnce(first: String, second: String, clash: Bool) {
    let registry = ClusterRegistry([Cluster(name: "prod-eu", server: first), Cluster(name: "prod-eu-2", server: second)])
    let problems = registry.problems().filter { $0.message.contains("same server URL") }
    #expect(problems.count == (clash ? 1 : 0), "\(problems)")
    if clash {
        #expect(problems.first?.message == "clusters 'prod-eu' and 'prod-eu-2' have the same server URL: a cluster is registered once")
        #expect(problems.first?.field == "clusters.prod-eu-2.server")
    }
}
