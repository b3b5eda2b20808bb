import FleetModel
import Foundation
import FleetPolicy
import Testing

private func yaml(_ text: String) -> JSONValue { try! JSONParser.parse(text) }

/// A Deployment that passes every rule of `strict` below.
private let good = """
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "shop", "tier": "front"}},
 "spec": {"replicas": 3, "template": {"spec": {"securityContext": {"runAsNonRoot": true},
   "containers": [{"name": "app", "image": "registry.example.com/shop/web:1.4.2",
                   "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}}]}}}}
"""

private let strict = Policy(name: "strict", rules: [
    .requiredLabels(["team", "tier=front"]), .resources(requests: ["cpu", "memory"], limits: ["memory"], max: ["memory": Quantity("1Gi")!]),
    .allowedRegistries(["registry.example.com/*"]), .forbidLatestTag, .runAsNonRoot, .noPrivileged, .noHostPath,
    .allowedKinds([(namespace: "kube-*", kinds: []), (namespace: "*", kinds: ["Deployment", "Service", "ConfigMap"])]), .minReplicas(2),
])

private let target = PolicyTarget(project: "default", clusterLabels: ["env": "prod"], namespace: "shop")

/// Each rule: the good Deployment passes; one change breaks exactly that rule, at that field.
@Test(arguments: [
    (RuleID.requiredLabels, "metadata.labels", #"{"team": "shop"}"#, "metadata.labels.tier"),
    (.requiredLabels, "metadata.labels", #"{"team": "shop", "tier": "back"}"#, "metadata.labels.tier"),
    (.resources, "spec.template.spec.containers.0.resources", #"{"requests": {"memory": "128Mi"}, "limits": {"memory": "512Mi"}}"#, "spec.template.spec.containers[0].resources.requests.cpu"),
    (.resources, "spec.template.spec.containers.0.resources.limits", #"{"memory": "2Gi"}"#, "spec.template.spec.containers[0].resources.limits.memory"),
    (.allowedRegistries, "spec.template.spec.containers.0.image", #""docker.io/evil/miner:1.0""#, "spec.template.spec.containers[0].image"),
    (.allowedRegistries, "spec.template.spec.containers.0.image", #""registry.example.com.evil.io/shop/web:1""#, "spec.template.spec.containers[0].image"),
    (.forbidLatestTag, "spec.template.spec.containers.0.image", #""registry.example.com/shop/web:latest""#, "spec.template.spec.containers[0].image"),
    (.forbidLatestTag, "spec.template.spec.containers.0.image", #""registry.example.com/shop/web""#, "spec.template.spec.containers[0].image"),
    (.runAsNonRoot, "spec.template.spec.securityContext", #"{}"#, "spec.template.spec.securityContext.runAsNonRoot"),
    (.noPrivileged, "spec.template.spec.containers.0.securityContext", #"{"privileged": true}"#, "spec.template.spec.containers[0].securityContext.privileged"),
    (.noHostPath, "spec.template.spec.volumes", #"[{"name": "root", "hostPath": {"path": "/"}}]"#, "spec.template.spec.volumes[0].hostPath"),
    (.allowedKinds, "metadata.namespace", #""kube-system""#, "kind"),
    (.minReplicas, "spec.replicas", "1", "spec.replicas"),
])
func eachRuleFailsAtItsField(rule: RuleID, path: String, value: String, field: String) throws {
    #expect(PolicyEngine.evaluate([strict], objects: [yaml(good)], target: target).violations.isEmpty)
    var object = yaml(good)
    let keys = path.split(separator: ".").map(String.init)
    object.setPath(keys, yaml(value))
    let violations = PolicyEngine.evaluate([strict], objects: [object], target: target).violations
    #expect(violations.map(\.rule) == [rule], "\(violations)")
    #expect(violations.first?.field == field)
    #expect(violations.first?.object.hasPrefix("Deployment ") == true)
    #expect(violations.first?.enforcement == .deny)
}

@Test func digestPinnedImagesAndTagsWithPorts() {
    #expect(ImageReference("nginx") == ImageReference("docker.io/library/nginx"))
    #expect(ImageReference("nginx").tag == nil)
    #expect(ImageReference("localhost:5000/app:1.0").repository == "localhost:5000/app")
    #expect(ImageReference("localhost:5000/app:1.0").tag == "1.0")
    #expect(ImageReference("registry.example.com:443/a/b@sha256:abc").digest == "sha256:abc")
    #expect(ImageReference("acme/tool:2").repository == "docker.io/acme/tool")
    let pinned = yaml(#"{"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "registry.example.com/x@sha256:abc"}]}}"#)
    #expect(PolicyEngine.evaluate([Policy(name: "p", rules: [.forbidLatestTag])], objects: [pinned], target: target).violations.isEmpty)
}

@Test(arguments: [("500m", 0.5), ("2", 2.0), ("1.5", 1.5), ("512Mi", 536_870_912.0), ("1Gi", 1_073_741_824.0), ("4G", 4e9), ("1e3", 1000.0), ("100k", 1e5)])
func quantities(text: String, value: Double) {
    #expect(Quantity(text)?.value == value)
}

@Test func quantitiesRefused() {
    for text in ["", "abc", "1.2.3Mi", "Mi", "12x"] { #expect(Quantity(text) == nil, "\(text)") }
}

@Test func matchByProjectClusterAndNamespaceAndWarn() {
    var prodOnly = Policy(name: "prod", enforcement: .warn, rules: [.minReplicas(3)])
    prodOnly.match.clusterSelector = try! LabelSelector(parsing: "env=prod")
    prodOnly.match.projects = ["pay*"]
    let single = yaml(#"{"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}}"#)
    let pay = PolicyTarget(project: "payments", clusterLabels: ["env": "prod"], namespace: "pay")
    let outcome = PolicyEngine.evaluate([prodOnly], objects: [single], target: pay)
    #expect(outcome.warnings.count == 1 && outcome.denied.isEmpty)
    #expect(PolicyEngine.evaluate([prodOnly], objects: [single], target: PolicyTarget(project: "payments", clusterLabels: ["env": "dev"], namespace: "pay")).violations.isEmpty)
    #expect(PolicyEngine.evaluate([prodOnly], objects: [single], target: PolicyTarget(project: "shop", clusterLabels: ["env": "prod"], namespace: "pay")).violations.isEmpty)
    // Without the cluster's labels the policy is not applied, and that is said.
    let unknown = PolicyEngine.evaluate([prodOnly], objects: [single], target: PolicyTarget(project: "payments", clusterLabels: nil, namespace: "pay"))
    #expect(unknown.violations.isEmpty && unknown.skipped == ["prod"])
    var nsOnly = Policy(name: "ns", rules: [.minReplicas(3)])
    nsOnly.match.namespaces = ["team-*"]
    #expect(PolicyEngine.evaluate([nsOnly], objects: [single], target: pay).violations.isEmpty)
    #expect(PolicyEngine.evaluate([nsOnly], objects: [single], target: PolicyTarget(project: "x", clusterLabels: [:], namespace: "team-a")).violations.count == 1)
}

@Test func policiesParseFromYAML() throws {
    let policies = try Policy.parse("""
    apiVersion: flotilla.io/v1
    kind: Policy
    metadata: {name: baseline}
    spec:
      enforcement: warn
      match: {projects: [payments], clusterSelector: {matchLabels: {env: prod}}, namespaces: ["pay-*"]}
      rules:
        requiredLabels: [team]
        resources: {requests: [cpu], limits: [memory], max: {memory: 2Gi}}
        images: {allowedRegistries: ["registry.example.com/*"], forbidLatest: true}
        security: {runAsNonRoot: true, privileged: false, hostPath: false}
        allowedKinds: {"kube-*": [], "*": [Deployment]}
        minReplicas: 2
    """, file: "policy.yaml")
    #expect(policies.count == 1)
    let p = try #require(policies.first)
    #expect(p.name == "baseline" && p.enforcement == .warn && p.match.projects == ["payments"] && p.match.namespaces == ["pay-*"])
    #expect(p.rules.map(\.id) == [.requiredLabels, .resources, .allowedRegistries, .forbidLatestTag, .runAsNonRoot, .noPrivileged, .noHostPath, .allowedKinds, .minReplicas])
}

@Test(arguments: [
    ("kind: Policy\nmetadata: {name: p}\nspec: {rules: {minReplicas: -1}}", "spec.rules.minReplicas"),
    ("kind: Policy\nmetadata: {name: p}\nspec: {rules: {colour: red}}", "spec.rules.colour"),
    ("kind: Policy\nmetadata: {name: p}\nspec: {enforcement: maybe, rules: {minReplicas: 1}}", "spec.enforcement"),
    ("kind: Policy\nmetadata: {name: p}\nspec: {rules: {resources: {max: {memory: lots}}}}", "spec.rules.resources.max.memory"),
    ("kind: Policy\nmetadata: {name: p}\nspec: {rules: {images: {allowedRegistries: registry.example.com}}}", "spec.rules.images.allowedRegistries"),
    ("kind: Policy\nmetadata: {name: p}\nspec: {}", "spec.rules"),
    ("kind: ConfigMap\nmetadata: {name: p}\nspec: {rules: {minReplicas: 1}}", "kind"),
    ("kind: Policy\nmetadata: {name: Bad_Name}\nspec: {rules: {minReplicas: 1}}", "metadata.name"),
])
func badPoliciesNameTheField(text: String, field: String) {
    do {
        _ = try Policy.parse(text, file: "p.yaml")
        Issue.record("accepted: \(text)")
    } catch let error as InputError {
        #expect(error.problems.contains { $0.field.hasSuffix(field) }, "\(error)")
    } catch {
        Issue.record("\(error)")
    }
}

extension JSONValue {
    /// Sets the value at a path whose numeric parts index arrays.
    mutating func setPath(_ keys: [String], _ value: JSONValue) {
        guard let first = keys.first else {
            self = value
            return
        }
        if let i = Int(first), case .array(var items) = self {
            items[i].setPath(Array(keys.dropFirst()), value)
            self = .array(items)
            return
        }
        var child = self[first] ?? .object([])
        child.setPath(Array(keys.dropFirst()), value)
        set(first, child)
    }
}

@Test func complianceReportGroupsAndFlagsStaleRevisions() {
    let day = 86400.0, now = 100 * day
    func result(_ checked: Int, _ failing: Int, _ counts: [(String, Int)]) -> ApplicationStatus.PolicyResult {
        ApplicationStatus.PolicyResult(checked: checked, failing: failing, violating: counts.map { .init(policy: $0.0, objects: $0.1) },
                                       findings: counts.filter { $0.1 > 0 }.map { "\($0.0)/rule: object" })
    }
    let rows = [
        ComplianceReport.Row(application: "a-eu", cluster: "eu", group: "shop", sync: "Synced", health: "Healthy",
                             policy: result(4, 1, [("registries", 1), ("labels", 0)]), lastSuccess: "1970-04-10T00:00:00Z", revisionSince: Timestamp.rfc3339(Date(timeIntervalSince1970: now - 40 * day))),
        ComplianceReport.Row(application: "a-us", cluster: "us", group: "shop", sync: "OutOfSync", health: "Healthy",
                             policy: result(4, 0, [("registries", 0), ("labels", 0)]), lastSuccess: "1970-04-09T00:00:00Z", revisionSince: Timestamp.rfc3339(Date(timeIntervalSince1970: now - 2 * day))),
        ComplianceReport.Row(application: "b-eu", cluster: "eu", group: "(none)", sync: "Synced", health: "Healthy", policy: nil, lastSuccess: nil, revisionSince: nil),
    ]
    let r = ComplianceReport.build(rows, groupedBy: "team", staleDays: 30, now: now, history: [.init(date: "1970-04-10", compliance: 87.5, checked: 8)], generatedAt: "t")
    #expect(r.total.checked == 8 && r.total.passing == 7 && r.total.compliance == 87.5)
    #expect(r.clusters.map(\.name) == ["eu", "us"] && r.clusters[0].passing == 3 && r.clusters[1].compliance == 100 && r.clusters[1].outOfSync == 1)
    #expect(r.groups.map(\.name) == ["(none)", "shop"] && r.groups[0].compliance == 100 && r.groups[0].checked == 0)
    #expect(r.groups[1].policies.map { "\($0.policy) \($0.checked) \($0.violating)" } == ["labels 8 0", "registries 8 1"])
    #expect(r.staleApplications.map(\.application) == ["a-eu"] && r.staleApplications.first?.days == 40)
    #expect(r.violations.map { "\($0.application): \($0.finding)" } == ["a-eu: registries/rule: object"])
    #expect(r.clusters[0].lastSuccessfulSync == "1970-04-10T00:00:00Z")
    let point = ComplianceReport.Point(date: "2026-12-02", compliance: 97.54, checked: 120)
    #expect(point.message == "2026-12-02 97.5% of 120 objects pass")
    #expect(ComplianceReport.Point(message: point.message) == ComplianceReport.Point(date: "2026-12-02", compliance: 97.5, checked: 120))
    #expect(ComplianceReport.Point(message: "garbage") == nil)
}

/// Pod specs are checked wherever they sit: an Argo Rollout's and a PodTemplate's, ephemeral containers;
/// containers at a path no rule can read are reported as not checked, never passed.
@Test(arguments: [
    (#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "docker.io/evil/miner:1", "securityContext": {"privileged": true}}], "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}}}"#,
     ["spec.template.spec.containers[0].image", "spec.template.spec.containers[0].securityContext.privileged", "spec.template.spec.volumes[0].hostPath"]),
    (#"{"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": {"containers": [{"name": "c", "image": "docker.io/evil/miner:1"}]}}}"#,
     ["template.spec.containers[0].image"]),
    (#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [], "ephemeralContainers": [{"name": "debug", "image": "docker.io/evil/miner:1", "securityContext": {"privileged": true}}]}}"#,
     ["spec.ephemeralContainers[0].image", "spec.ephemeralContainers[0].securityContext.privileged"]),
    (#"{"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "t"}, "spec": {"steps": [{"name": "s", "image": "x"}], "sidecars": {"containers": [{"name": "c", "image": "docker.io/evil/miner:1"}]}}}"#,
     ["spec.sidecars.containers"]),
])
func podSpecsAreCheckedWhereverTheySit(_ json: String, _ fields: [String]) {
    let policy = Policy(name: "pods", rules: [.allowedRegistries(["registry.example.com/*"]), .noPrivileged, .noHostPath])
    let violations = PolicyEngine.evaluate([policy], objects: [yaml(json)], target: target).violations
    #expect(Set(violations.map(\.field)) == Set(fields), "\(violations)")
    if fields == ["spec.sidecars.containers"] {
        #expect(violations.allSatisfy { $0.message.contains("kind Task not checked") }, "\(violations)")
    }
}
