import FleetConfig
import FleetModel
import Foundation
import Testing

private func secret(_ stringData: String, labels: String = "argocd.argoproj.io/secret-type: cluster") -> String {
    """
    apiVersion: v1
    kind: Secret
    metadata:
      name: s
      labels: {\(labels)}
    stringData:
    \(stringData.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    """
}

/// Argo CD cluster Secrets in the shapes its users write, and the cluster each becomes: rows are the
/// Secret's stringData and the (name, server) kept.
@Test(arguments: [
    ("name: arn:aws:eks:eu-west-1:123456789012:cluster/prod\nserver: https://ABC.gr7.eu-west-1.eks.amazonaws.com",
     "arn:aws:eks:eu-west-1:123456789012:cluster/prod", "https://ABC.gr7.eu-west-1.eks.amazonaws.com"),
    ("name: gke_my-project_europe-west1_prod\nserver: https://34.9.8.7", "gke_my-project_europe-west1_prod", "https://34.9.8.7"),
    ("name: mycluster.example.com\nserver: https://mycluster.example.com", "mycluster.example.com", "https://mycluster.example.com"),
    ("name: Prod EU\nserver: https://10.0.12.1:6443", "Prod EU", "https://10.0.12.1:6443"),
    ("server: https://10.0.11.1:6443/", "https://10.0.11.1:6443", "https://10.0.11.1:6443"),
])
func argoClusterNames(_ data: String, _ name: String, _ server: String) throws {
    let cluster = try #require(try ClustersFile.parse(secret(data), file: "s.yaml", files: MemoryFiles(files: [:])).first?.cluster)
    #expect(cluster.name == name)
    #expect(cluster.server == server)
}

/// project, namespaces, clusterResources and the config's proxyUrl are kept, and written back by `entry`.
@Test func argoClusterScopeFields() throws {
    let data = """
    name: scoped
    server: https://10.0.6.1:6443
    project: team-a
    namespaces: "my, managed,namespaces"
    clusterResources: "true"
    config: '{"bearerToken": "t", "proxyUrl": "http://proxy.internal:3128"}'
    """
    let cluster = try #require(try ClustersFile.parse(secret(data), file: "s.yaml", files: MemoryFiles(files: [:])).first?.cluster)
    #expect(cluster.project == "team-a")
    #expect(cluster.namespaces == ["my", "managed", "namespaces"])
    #expect(cluster.clusterResources)
    #expect(cluster.credentials.proxyURL == "http://proxy.internal:3128")
    #expect("\(cluster.credentials)".contains("proxy") == false, "credentials never print their values")
    // Round trip through Flotilla's own format.
    let again = try ClustersFile.parse("clusters:\n  - " + YAMLOutput.render(ClustersFile.entry(cluster)).replacingOccurrences(of: "\n", with: "\n    "),
                                       file: "c.yaml", files: MemoryFiles(files: [:]))
    #expect(again.first?.cluster == cluster)
    let bad = secret("name: x\nserver: https://x\nclusterResources: maybe")
    #expect { try ClustersFile.parse(bad, file: "s.yaml", files: MemoryFiles(files: [:])) } throws: {
        "\($0)".contains("clusterResources: must be \"true\" or \"false\"")
    }
}

/// A Secret for the local cluster keeps its secret-type label (generators see it, as Argo CD's do); others drop it.
@Test func localClusterSecretKeepsItsLabel() throws {
    let local = try ClustersFile.parse(secret("name: hub\nserver: https://kubernetes.default.svc"), file: "s.yaml", files: MemoryFiles(files: [:]))
    #expect(local.first?.cluster.labels == ["argocd.argoproj.io/secret-type": "cluster"])
    let remote = try ClustersFile.parse(secret("name: r\nserver: https://r"), file: "s.yaml", files: MemoryFiles(files: [:]))
    #expect(remote.first?.cluster.labels.isEmpty == true)
}

/// In a pod, the service account makes the in-cluster cluster; outside one there is none.
@Test func inClusterFromServiceAccount() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(InCluster.cluster(directory: dir.path) == nil)
    try "pod-token\n".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
    try pemCert.write(to: dir.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
    let cluster = try #require(InCluster.cluster(directory: dir.path))
    #expect(cluster.name == "in-cluster" && cluster.server == "https://kubernetes.default.svc")
    #expect(cluster.credentials.bearerToken == "pod-token")
    #expect(cluster.credentials.caData == Data(pemCert.utf8))
}
