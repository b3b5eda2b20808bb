import FleetConfig
import FleetHub
import FleetKube
import FleetModel
import Foundation
import Testing

private func deployment(_ name: String, image: String, labels: String = "{team: shop}") -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: \(name), labels: \(labels)}
    spec:
      replicas: 1
      selector: {matchLabels: {app: \(name)}}
      template:
        metadata: {labels: {app: \(name)}}
        spec:
          containers: [{name: app, image: '\(image)'}]
    """
}

private let policies = """
apiVersion: flotilla.io/v1
kind: Policy
metadata: {name: registries}
spec:
  rules:
    images: {allowedRegistries: ["registry.example.com/*"]}
---
apiVersion: flotilla.io/v1
kind: Policy
metadata: {name: labels}
spec:
  enforcement: warn
  rules:
    requiredLabels: [team]
"""

/// An image from an unapproved registry is refused before anything reaches the cluster, with a condition that
/// names the object, the field and the rule; compliant Applications sync; a `warn` policy reports and lets the
/// sync run.
@Test func policyGateBlocksUnapprovedRegistries() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-policies-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try policies.write(to: dir.appendingPathComponent("policies.yaml"), atomically: true, encoding: .utf8)
    let fixture = try await InProcessHub(clusters: ["a": true], files: [
        "apps/good/deploy.yaml": deployment("good", image: "registry.example.com/shop/good:1.0"),
        "apps/bad/deploy.yaml": deployment("bad", image: "docker.io/evil/miner:1.0"),
        "apps/nolabel/deploy.yaml": deployment("nolabel", image: "registry.example.com/shop/nolabel:1.0", labels: "{}"),
    ], appSet: perCluster) { config in
        config.policies = [dir.path]
    }
    defer { Task { await fixture.stop() } }
    let hub = fixture.hub
    @Sendable func status(_ name: String) throws -> JSONValue { try hub.store.application(named: name)?.status ?? .null }
    @Sendable func condition(_ name: String, _ type: String) throws -> String? {
        try status(name)["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }?["message"]?.stringValue
    }
    try await eventually("good-a Synced and Healthy, bad-a refused, nolabel-a synced with a warning", timeout: 20) {
        try status("good-a").value(at: ["health", "status"]) == "Healthy" && condition("bad-a", "PolicyViolation") != nil
            && status("nolabel-a").value(at: ["sync", "status"]) == "Synced" && condition("nolabel-a", "PolicyWarning") != nil
    }
    let refused = try #require(try condition("bad-a", "PolicyViolation"))
    #expect(refused.contains("Deployment bad/bad spec.template.spec.containers[0].image"), "\(refused)")
    #expect(refused.contains("image docker.io/evil/miner:1.0 is not from an approved registry") && refused.contains("policy registries, rule allowedRegistries"))
    #expect(try status("bad-a").value(at: ["sync", "status"]) == "OutOfSync")
    #expect(try status("bad-a").value(at: ["operationState", "phase"]) == "Failed")
    #expect(try condition("good-a", "PolicyViolation") == nil && condition("good-a", "PolicyWarning") == nil)
    #expect(try condition("nolabel-a", "PolicyWarning")?.contains("no label team") == true)
    // Nothing of the refused Application reached the cluster.
    let live = try await ConcurrentRunner.blocking { () -> (JSONValue?, JSONValue?) in
        let client = KubeClient(cluster: try hub.clusterStore.cluster(named: "a")!, timeout: 5)
        let deploy = try client.resource(apiVersion: "apps/v1", kind: "Deployment")
        return (try client.get(deploy, namespace: "bad", name: "bad"), try client.get(deploy, namespace: "good", name: "good"))
    }
    #expect(live.0 == nil, "the refused Deployment was not applied")
    #expect(live.1 != nil)
    // The hub's diff (a dry run) still compares, and names the refusal.
    let diff = try await fixture.call("GET", "/api/v1/applications/bad-a/diff")
    #expect(diff.status == 200)

    // The compliance report: per cluster and team, the objects that pass, the violations; a daily snapshot.
    try await ConcurrentRunner.blocking { hub.recordComplianceSnapshot() }
    try await ConcurrentRunner.blocking { hub.recordComplianceSnapshot() }   // once a day
    let report = try JSONParser.parse(try await fixture.call("GET", "/api/v1/reports/compliance?by=team").body)
    #expect(report.value(at: ["total", "checked"])?.intValue == 3 && report.value(at: ["total", "passing"])?.intValue == 1, "\(report.serialized())")
    #expect(report["clusters"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["a"])
    let findings = report["violations"]?.arrayValue?.compactMap { $0["finding"]?.stringValue } ?? []
    #expect(findings.contains("registries/allowedRegistries: Deployment bad/bad spec.template.spec.containers[0].image"), "\(findings)")
    #expect(findings.contains("labels/requiredLabels: Deployment nolabel/nolabel metadata.labels.team"))
    #expect(report["history"]?.arrayValue?.count == 1)
    #expect(try await fixture.call("GET", "/api/v1/reports/compliance?staleDays=-1").status == 400)

    // The policy files change while the hub runs: read again, every Application checked again — the registry
    // now allowed, bad-a syncs. A file that no longer parses keeps the policies read before, and says so.
    try policies.replacingOccurrences(of: #"allowedRegistries: ["registry.example.com/*"]"#, with: #"allowedRegistries: ["registry.example.com/*", "docker.io/evil/*"]"#)
        .write(to: dir.appendingPathComponent("policies.yaml"), atomically: true, encoding: .utf8)
    try await eventually("bad-a synced under the new policy", timeout: 20) {
        try status("bad-a").value(at: ["sync", "status"]) == "Synced" && condition("bad-a", "PolicyViolation") == nil
    }
    let errorsBefore = hub.metrics.errorCount(.file)
    try "kind: Policy\nmetadata: {name: broken}\nspec: {rules: {images: {allowedRegistries: 7}}}\n"
        .write(to: dir.appendingPathComponent("policies.yaml"), atomically: true, encoding: .utf8)
    try await eventually("the broken file reported", timeout: 10) { hub.metrics.errorCount(.file) > errorsBefore }
    #expect(hub.context.policies.map(\.name).sorted() == ["labels", "registries"], "the policies read before are kept")
}

@Test func badPolicyFilesStopTheStart() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-policies-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try "kind: Policy\nmetadata: {name: p}\nspec: {rules: {minReplicas: many}}\n".write(to: dir.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
    do {
        _ = try HubContext.loadPolicies([dir.path])
        Issue.record("a bad policy file was accepted")
    } catch {
        #expect("\(error)".contains("spec.rules.minReplicas") && "\(error)".contains("p.yaml"), "\(error)")
    }
    try "kind: Policy\nmetadata: {name: p}\nspec: {rules: {minReplicas: 1}}\n".write(to: dir.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
    try "kind: Policy\nmetadata: {name: p}\nspec: {rules: {minReplicas: 2}}\n".write(to: dir.appendingPathComponent("q.yaml"), atomically: true, encoding: .utf8)
    #expect(throws: (any Error).self) { try HubContext.loadPolicies([dir.path]) }
    #expect(throws: (any Error).self) { try HubContext.loadPolicies([dir.appendingPathComponent("missing.yaml").path]) }
}

@Test func badPromotionFilesStopTheStart() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-promotions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("p.yaml")
    try "kind: Promotion\nmetadata: {name: p}\nspec: {applicationSet: a, stages: [{name: dev, selector: {matchLabels: {env: dev}}}, {name: prod, selector: {matchLabels: {env: prod}}, healthyFor: soon}]}\n"
        .write(to: file, atomically: true, encoding: .utf8)
    #expect {
        try HubContext.loadPromotions([dir.path])
    } throws: { "\($0)".contains("spec.stages[1].healthyFor") && "\($0)".contains("p.yaml") }
    try "kind: Promotion\nmetadata: {name: p}\nspec: {applicationSet: a, stages: [{name: dev, selector: {matchLabels: {env: dev}}}, {name: prod, selector: {matchLabels: {env: prod}}}]}\n"
        .write(to: file, atomically: true, encoding: .utf8)
    #expect(try HubContext.loadPromotions([dir.path]).map(\.name) == ["p"])
    try "kind: Promotion\nmetadata: {name: q}\nspec: {applicationSet: a, stages: [{name: dev, selector: {matchLabels: {env: dev}}}, {name: prod, selector: {matchLabels: {env: prod}}}]}\n"
        .write(to: dir.appendingPathComponent("q.yaml"), atomically: true, encoding: .utf8)
    #expect(throws: (any Error).self) { try HubContext.loadPromotions([dir.path]) }
    try FileManager.default.removeItem(at: dir.appendingPathComponent("q.yaml"))
    try "kind: Promotion\nmetadata: {name: p}\nspec: {applicationSet: a, stages: [{name: dev, selector: {matchLabels: {env: dev}}}, {name: prod, selector: {matchLabels: {env: prod}}, window: {schedule: 'every monday', duration: 8h}}]}\n"
        .write(to: file, atomically: true, encoding: .utf8)
    #expect {
        try HubContext.loadPromotions([dir.path])
    } throws: { "\($0)".contains("spec.stages[1].window.schedule") }
}
