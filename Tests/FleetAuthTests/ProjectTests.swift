import FleetAuth
import FleetConfig
import FleetModel
import Foundation
import Testing

private func project(_ yaml: String) throws -> Project {
    try Project(object: try YAMLValue.parse(yaml, file: "project.yaml"), file: "project.yaml")
}

private let teamA = """
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team-a, namespace: argocd}
spec:
  sourceRepos: ['https://github.com/acme/*']
  destinations:
    - {server: 'https://10.0.0.*', namespace: 'team-a-*'}
    - {name: 'dr-*', namespace: 'team-a-*'}
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
  namespaceResourceBlacklist: [{group: '', kind: ResourceQuota}]
  syncWindows:
    - {kind: deny, schedule: '0 22 * * *', duration: 8h, applications: ['*'], manualSync: true}
"""

@Test func projectRules() throws {
    let p = try project(teamA)
    #expect(p.sourceProblem("https://github.com/acme/apps.git") == nil)
    #expect(p.sourceProblem("https://github.com/evil/apps.git")?.contains("sourceRepos") == true)
    #expect(p.destinationProblem(server: "https://10.0.0.5:6443", name: "prod-eu", namespace: "team-a-web") == nil)
    #expect(p.destinationProblem(server: "https://10.9.0.5", name: "dr-eu", namespace: "team-a-web") == nil)
    #expect(p.destinationProblem(server: "https://10.0.0.5", name: "prod-eu", namespace: "kube-system")?.contains("destinations") == true)
    #expect(p.resourceProblem(group: "", kind: "Namespace", namespaced: false) == nil)
    #expect(p.resourceProblem(group: "rbac.authorization.k8s.io", kind: "ClusterRole", namespaced: false)?.contains("clusterResourceWhitelist") == true)
    #expect(p.resourceProblem(group: "", kind: "ResourceQuota", namespaced: true)?.contains("namespaceResourceBlacklist") == true)
    #expect(p.resourceProblem(group: "apps", kind: "Deployment", namespaced: true) == nil)
}

@Test func syncWindows() throws {
    let p = try project(teamA)
    func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    #expect(p.syncWindowProblem(application: "web", namespace: "team-a-web", cluster: "c", manual: false, at: at("2026-11-24T23:30:00Z"))?.contains("deny") == true)
    #expect(p.syncWindowProblem(application: "web", namespace: "team-a-web", cluster: "c", manual: false, at: at("2026-11-25T05:59:00Z")) != nil)
    #expect(p.syncWindowProblem(application: "web", namespace: "team-a-web", cluster: "c", manual: false, at: at("2026-11-25T06:00:00Z")) == nil)
    #expect(p.syncWindowProblem(application: "web", namespace: "team-a-web", cluster: "c", manual: true, at: at("2026-11-24T23:30:00Z")) == nil, "manualSync")
    let allowOnly = try project(teamA.replacingOccurrences(of: "{kind: deny, schedule: '0 22 * * *', duration: 8h, applications: ['*'], manualSync: true}",
                                                           with: "{kind: allow, schedule: '0 9 * * 1-5', duration: 8h, clusters: ['*']}"))
    #expect(allowOnly.syncWindowProblem(application: "a", namespace: "n", cluster: "c", manual: false, at: at("2026-11-24T10:00:00Z")) == nil)   // Tuesday
    #expect(allowOnly.syncWindowProblem(application: "a", namespace: "n", cluster: "c", manual: false, at: at("2026-11-29T10:00:00Z")) != nil)   // Sunday
}

@Test func badProjectsNameTheField() throws {
    #expect { try project(teamA.replacingOccurrences(of: "'0 22 * * *'", with: "'every night'").replacingOccurrences(of: "duration: 8h", with: "duration: long")) } throws: {
        "\($0)".contains("spec.syncWindows[0].schedule")
    }
    // A project that requires signed commits is refused: the hub does not verify signatures.
    #expect { try project(teamA.replacingOccurrences(of: "spec:\n", with: "spec:\n  signatureKeys: [{keyID: 4AEE18F83AFDEB23}]\n")) } throws: {
        "\($0)".contains("spec.signatureKeys") && "\($0)".contains("not supported")
    }
    #expect(throws: (any Error).self) { try CronSchedule("61 * * * *") }
    #expect(try CronSchedule("*/15 9-17 * * 1-5").fires(at: ISO8601DateFormatter().date(from: "2026-11-24T09:45:00Z")!))
}
