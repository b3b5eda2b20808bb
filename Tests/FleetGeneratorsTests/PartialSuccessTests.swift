import FleetGenerators
import FleetModel
import Testing

private func listSet(_ elements: String, destination: String = "{server: '{{url}}', namespace: default}") -> String {
    """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: mixed}
    spec:
      generators:
        - list:
            elements: \(elements)
      template:
        metadata: {name: '{{app}}'}
        spec:
          project: default
          source: {repoURL: 'https://github.com/acme/apps.git', path: guestbook}
          destination: \(destination)
    """
}

struct PartialCase: Sendable, CustomTestStringConvertible {
    let name: String
    let elements: String
    /// The Applications kept, in order.
    let kept: [String]
    /// Each skipped Application's reason and a word of its message.
    let skipped: [(ApplicationProblem.Reason, String)]
    var testDescription: String { name }
}

/// Argo CD's partial success: each invalid Application is skipped with its reason, the rest are generated.
@Test(arguments: [
    PartialCase(name: "bad name", elements: "[{app: ok, url: 'https://staging.example.com'}, {app: Bad_Name, url: 'https://staging.example.com'}]",
                kept: ["ok"], skipped: [(.invalidName, "not a valid Kubernetes name")]),
    PartialCase(name: "empty name", elements: "[{app: '', url: 'https://staging.example.com'}, {app: b, url: 'https://staging.example.com'}]",
                kept: ["b"], skipped: [(.invalidName, "empty name")]),
    // Argo CD keys its validation errors by name: a duplicate skips every Application of that name, the first too.
    PartialCase(name: "a duplicate name skips every Application of that name", elements: "[{app: a, url: 'https://staging.example.com'}, {app: b, url: 'https://staging.example.com'}, {app: a, url: 'https://prod-us.example.com'}]",
                kept: ["b"], skipped: [(.duplicateName, "duplicate name: a")]),
    PartialCase(name: "a problem of one skips the others of its name", elements: "[{app: a, url: 'https://staging.example.com'}, {app: a, url: 'https://nowhere.example.com'}, {app: c, url: 'https://staging.example.com'}]",
                kept: ["c"], skipped: [(.duplicateName, "duplicate name: a")]),
    PartialCase(name: "unregistered destination", elements: "[{app: a, url: 'https://staging.example.com'}, {app: b, url: 'https://nowhere.example.com'}]",
                kept: ["a"], skipped: [(.invalidDestination, "server 'https://nowhere.example.com' is not a registered cluster")]),
    PartialCase(name: "a trailing slash is no problem", elements: "[{app: a, url: 'https://staging.example.com/'}]",
                kept: ["a"], skipped: []),
    PartialCase(name: "all invalid", elements: "[{app: x, url: 'https://nowhere'}, {app: y, url: 'https://nowhere'}]",
                kept: [], skipped: [(.invalidDestination, "nowhere"), (.invalidDestination, "nowhere")]),
])
func partialSuccess(_ c: PartialCase) throws {
    let context = GeneratorContext(clusters: testClusters, git: MemoryGit(repos: [:]))
    let (apps, result) = try Generation.outcome(for: try appSet(listSet(c.elements)), context: context)
    #expect(names(apps) == c.kept)
    #expect(result.count == c.kept.count)
    #expect(result.problems.count == c.skipped.count, "\(result.problems)")
    for (problem, (reason, words)) in zip(result.problems, c.skipped) {
        #expect(problem.reason == reason)
        #expect(problem.message.contains(words), "\(problem.message)")
    }
    // The strict form refuses the whole set when anything was skipped.
    if !c.skipped.isEmpty {
        #expect(throws: GenerationError.self) { try Generation.applications(for: try appSet(listSet(c.elements)), context: context) }
    }
}

/// An existing Application whose new render was skipped is kept; one the generators no longer produce is deleted.
@Test func skippedApplicationsAreNeverDeleted() {
    func app(_ name: String) -> Application {
        Application(object: .object([("metadata", .object([("name", .string(name))]))]), origin: .item(generator: "list", detail: name))
    }
    let existing = ["a": app("a").object, "b": app("b").object, "c": app("c").object]
    let plan = ApplicationsSyncPlan(existing: existing, generated: [app("a")], policy: "sync", preserveResourcesOnDeletion: false, skipped: ["b"])
    #expect(plan.delete == ["c"])
    #expect(plan.retained == ["b"])
}

/// Argo CD's CRD requires the template's project; merge needs unique keys in every child, the base too.
@Test func specRulesArgoEnforces() throws {
    let noProject = listSet("[{app: a, url: 'https://staging.example.com'}]").replacingOccurrences(of: "      project: default\n", with: "")
    #expect { try appSet(noProject) } throws: { "\($0)".contains("spec.template.spec.project: required field is missing") }

    let merge = """
    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: m}
    spec:
      generators:
        - merge:
            mergeKeys: [name]
            generators:
              - list: {elements: [{name: a}, {name: a}]}
              - list: {elements: [{name: a, x: '1'}]}
      template:
        metadata: {name: '{{name}}'}
        spec: {project: default, destination: {server: 'https://staging.example.com'}}
    """
    #expect { try generate(merge) } throws: {
        "\($0)".contains("spec.generators[0].merge.generators[0]") && "\($0)".contains("were not unique by the given mergeKeys")
    }
}

/// The cluster generator as Argo CD's: selectors on the secret-type label match every cluster but the local
/// one; `project` and `nameNormalized` come from the cluster.
@Test func clusterGeneratorArgoRules() throws {
    let clusters = testClusters + [
        Cluster(name: "arn:aws:eks:eu-west-1:1:cluster/x", server: "https://eks.example.com", project: "team-a"),
        Cluster(name: "in-cluster", server: Cluster.inClusterServer),
    ]
    let yaml = spec("- clusters: {selector: {matchLabels: {argocd.argoproj.io/secret-type: cluster}}}",
                    template: "name: '{{nameNormalized}}'\n      labels: {project: '{{project}}'}")
    let apps = try generate(yaml, clusters: clusters)
    #expect(names(apps) == ["arn-aws-eks-eu-west-1-1-cluster-x", "prod-us", "prod-eu", "staging"])
    #expect(apps[0].object.value(at: ["metadata", "labels", "project"])?.stringValue == "team-a")
    // Go templates: .metadata.labels always exists on a remote cluster.
    let go = spec("- clusters: {}", template: "name: '{{ .nameNormalized }}-{{ len .metadata.labels }}'", goTemplate: true)
    #expect(names(try generate(go, clusters: [Cluster(name: "bare", server: "https://b")])) == ["bare-1"])
}

/// A destination namespace that is not a DNS label (rendered from hostile parameters) is refused with its
/// reason; the other Applications are generated.
@Test func destinationNamespacesAreDNSLabels() throws {
    let context = GeneratorContext(clusters: testClusters, git: MemoryGit(repos: [:]))
    let set = listSet(#"[{app: a, url: 'https://staging.example.com', ns: shop}, {app: b, url: 'https://staging.example.com', ns: '"><svg onload=alert(1)>'}]"#,
                      destination: "{server: '{{url}}', namespace: '{{ns}}'}")
    let (apps, result) = try Generation.outcome(for: try appSet(set), context: context)
    #expect(names(apps) == ["a"])
    #expect(result.problems.map(\.reason) == [.invalidDestination])
    #expect(result.problems.first?.message.contains("is not a valid namespace name") == true, "\(result.problems)")
}
