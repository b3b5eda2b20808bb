import Foundation
import Testing

private let policy = """
apiVersion: flotilla.io/v1
kind: Policy
metadata: {name: registries}
spec:
  rules:
    images: {allowedRegistries: ["registry.example.com/*"], forbidLatest: true}
---
apiVersion: flotilla.io/v1
kind: Policy
metadata: {name: replicas}
spec:
  enforcement: warn
  match: {clusterSelector: {matchLabels: {env: prod}}}
  rules: {minReplicas: 2}
"""

private let manifests = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: 'docker.io/evil/miner:1'}, {name: side, image: 'registry.example.com/side:1'}]
"""

/// `policy test` lists each violation with its object, field, policy and rule; a deny fails the command, a policy
/// that needs cluster labels it does not have is named as not applied; a bad policy names its field.
@Test func policyTestChecksManifests() throws {
    let cli = CLI()
    let p = cli.write("policies/p.yaml", policy)
    let m = cli.write("m.yaml", manifests)
    let denied = try cli.run(["policy", "test", "-f", p, m])
    #expect(denied.status == 1, "\(denied.stderr)")
    #expect(denied.stdout.contains("Deployment shop/web") && denied.stdout.contains("spec.template.spec.containers[0].image")
            && denied.stdout.contains("registries") && denied.stdout.contains("allowedRegistries"), "\(denied.stdout)")
    #expect(!denied.stdout.contains("containers[1]"))
    #expect(denied.stderr.contains("1 denied") && denied.stderr.contains("not applied (cluster labels unknown: pass --clusters): replicas"), "\(denied.stderr)")
    let fine = try cli.run(["policy", "test", "-f", p, "-o", "json", "-"], stdin: manifests.replacingOccurrences(of: "docker.io/evil/miner:1", with: "registry.example.com/web:2"))
    #expect(fine.status == 0, "\(fine.stderr)")
    #expect(fine.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    let bad = cli.write("bad.yaml", "kind: Policy\nmetadata: {name: b}\nspec: {rules: {minReplicas: lots}}\n")
    let refused = try cli.run(["policy", "test", "-f", bad, m])
    #expect(refused.status != 0 && refused.stderr.contains("spec.rules.minReplicas") && refused.stderr.contains("bad.yaml"), "\(refused.stderr)")
}
