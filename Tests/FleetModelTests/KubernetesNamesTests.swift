import FleetModel
import Testing

struct NameCase: Sendable, CustomTestStringConvertible {
    let value: String
    let problem: String?  // a fragment of the expected message; nil = valid
    var testDescription: String { "'\(value)'" }
}

/// Cluster names follow RFC 1123 labels.
@Test(arguments: [
    NameCase(value: "prod-eu", problem: nil),
    NameCase(value: "a", problem: nil),
    NameCase(value: "0abc9", problem: nil),
    NameCase(value: "", problem: "must not be empty"),
    NameCase(value: "Prod", problem: "lower case alphanumeric characters or '-' (found 'P')"),
    NameCase(value: "prod_eu", problem: "found '_'"),
    NameCase(value: "-prod", problem: "must start and end"),
    NameCase(value: "prod-", problem: "must start and end"),
    NameCase(value: "prod.eu", problem: "found '.'"),
    NameCase(value: String(repeating: "a", count: 64), problem: "no more than 63 characters"),
])
func dns1123Label(_ c: NameCase) {
    let problem = KubernetesNames.dns1123LabelProblem(c.value)
    if let expected = c.problem {
        #expect(problem?.contains(expected) == true, "got \(problem ?? "nil")")
    } else {
        #expect(problem == nil)
    }
}

/// Label keys: optional DNS-subdomain prefix, '/', and a qualified name.
@Test(arguments: [
    NameCase(value: "env", problem: nil),
    NameCase(value: "app.kubernetes.io/name", problem: nil),
    NameCase(value: "Env_Name.x", problem: nil),
    NameCase(value: "", problem: "must not be empty"),
    NameCase(value: "/env", problem: "prefix part must not be empty"),
    NameCase(value: "Example.com/env", problem: "prefix part"),
    NameCase(value: "a/b/c", problem: "optional DNS subdomain prefix"),
    NameCase(value: "bad key", problem: "name part must consist"),
    NameCase(value: "-env", problem: "start and end with an alphanumeric"),
    NameCase(value: "example.com/", problem: "name part must not be empty"),
    NameCase(value: String(repeating: "k", count: 64), problem: "name part must be no more than 63"),
])
func labelKeys(_ c: NameCase) {
    let problem = KubernetesNames.qualifiedNameProblem(c.value)
    if let expected = c.problem {
        #expect(problem?.contains(expected) == true, "got \(problem ?? "nil")")
    } else {
        #expect(problem == nil)
    }
}

/// Label values may be empty; otherwise alphanumerics and '-', '_', '.', at most 63.
@Test(arguments: [
    NameCase(value: "", problem: nil),
    NameCase(value: "prod", problem: nil),
    NameCase(value: "v1.2_3-x", problem: nil),
    NameCase(value: "prod!", problem: "must consist of alphanumeric"),
    NameCase(value: "_x", problem: "start and end"),
    NameCase(value: "has space", problem: "must consist"),
    NameCase(value: String(repeating: "v", count: 64), problem: "no more than 63"),
])
func labelValues(_ c: NameCase) {
    let problem = KubernetesNames.labelValueProblem(c.value)
    if let expected = c.problem {
        #expect(problem?.contains(expected) == true, "got \(problem ?? "nil")")
    } else {
        #expect(problem == nil)
    }
}

/// Annotation values are free text but limited to 256 KiB in total.
@Test func annotationSizeLimit() {
    let big = String(repeating: "x", count: 256 * 1024)
    let problems = KubernetesNames.annotationProblems(["note": big], field: "annotations")
    #expect(problems.map(\.message).contains { $0.contains("256 KiB in total") })
    #expect(KubernetesNames.annotationProblems(["note": "any text: ✓ / \n"], field: "a").isEmpty)
}

/// The data directory: flag, then environment, then ~/.flotilla.
@Test func dataDirectoryPrecedence() {
    #expect(DataDirectory.resolve(flag: "/x", environment: ["FLOTILLA_DATA_DIR": "/y"], home: "/h") == "/x")
    #expect(DataDirectory.resolve(flag: nil, environment: ["FLOTILLA_DATA_DIR": "/y"], home: "/h") == "/y")
    #expect(DataDirectory.resolve(flag: nil, environment: [:], home: "/h") == "/h/.flotilla")
    // The home is $HOME when set, as shells read it; the account's home otherwise.
    #expect(DataDirectory.home(environment: ["HOME": "/tmp/h"], fallback: "/root") == "/tmp/h")
    #expect(DataDirectory.home(environment: ["HOME": ""], fallback: "/root") == "/root")
    #expect(DataDirectory.home(environment: [:], fallback: "/root") == "/root")
    #expect(DataDirectory.resolve(flag: "~/state", environment: [:], home: "/h") == "/h/state")
}

/// Object names (Applications, namespaces' objects) follow RFC 1123 subdomains: dot-separated labels.
@Test(arguments: [
    NameCase(value: "web-prod-eu", problem: nil),
    NameCase(value: "a.b.c", problem: nil),
    NameCase(value: "a..b", problem: "each part between dots"),
    NameCase(value: "a.-b", problem: "each part between dots"),
    NameCase(value: "a-.b", problem: "each part between dots"),
    NameCase(value: ".a", problem: "must start and end"),
    NameCase(value: "a_b", problem: "lower case alphanumeric characters, '-' or '.'"),
])
func dns1123Subdomain(_ c: NameCase) {
    let problem = KubernetesNames.dns1123SubdomainProblem(c.value)
    if let expected = c.problem {
        #expect(problem?.contains(expected) == true, "got \(problem ?? "nil")")
    } else {
        #expect(problem == nil)
    }
}
