import FleetModel
import Testing

/// Cluster names are free text, as in Argo CD; each row: the name, whether it is accepted, its DNS-safe form.
@Test(arguments: [
    ("arn:aws:eks:eu-west-1:123456789012:cluster/prod", true, "arn-aws-eks-eu-west-1-123456789012-cluster-prod"),
    ("gke_my-project_europe-west1_prod", true, "gke-my-project-europe-west1-prod"),
    ("mycluster.example.com", true, "mycluster.example.com"),
    ("Prod EU", true, "prod-eu"),
    ("in-cluster", true, "in-cluster"),
    ("", false, ""),
    (" prod", false, "prod"),
    ("bad\u{7}name", false, "bad-name"),
    (String(repeating: "a", count: 254), false, String(repeating: "a", count: 253)),
])
func clusterNames(_ name: String, _ accepted: Bool, _ normalized: String) {
    #expect((Cluster.nameProblem(name) == nil) == accepted, "\(name)")
    #expect(Cluster(name: name, server: "https://x").normalizedName == normalized)
}

@Test(arguments: [
    ("https://10.0.9.1:6443/", "https://10.0.9.1:6443"),
    ("https://10.0.9.1:6443//", "https://10.0.9.1:6443"),
    ("https://kubernetes.default.svc", "https://kubernetes.default.svc"),
    ("https://h/path/", "https://h/path"),
])
func serversLoseTrailingSlashes(_ given: String, _ kept: String) {
    #expect(Cluster.normalizeServer(given) == kept)
    #expect(Cluster(name: "c", server: given).server == kept)
}

/// Generators see Argo CD's secret-type label on every cluster but the local one (Argo keeps that one in no Secret).
@Test func generatorLabels() {
    let remote = Cluster(name: "a", server: "https://a", labels: ["env": "prod"])
    #expect(remote.generatorLabels == ["env": "prod", "argocd.argoproj.io/secret-type": "cluster"])
    #expect(remote.labels == ["env": "prod"], "the label is not stored")
    let local = Cluster(name: "in-cluster", server: Cluster.inClusterServer)
    #expect(local.generatorLabels.isEmpty)
    let localFromSecret = Cluster(name: "hub", server: Cluster.inClusterServer, labels: ["argocd.argoproj.io/secret-type": "cluster"])
    #expect(localFromSecret.generatorLabels == ["argocd.argoproj.io/secret-type": "cluster"])
}

/// A namespace-scoped cluster (Argo CD's `namespaces` + `clusterResources`): rows are group, kind, namespace
/// (nil: cluster-scoped), clusterResources, and the start of the refusal (nil: allowed).
@Test(arguments: [
    ("apps", "Deployment", "team-a", false, nil),
    ("apps", "Deployment", "other", false, "namespace other is not managed"),
    ("", "Namespace", nil, false, "cluster level Namespace can not be managed"),
    ("rbac.authorization.k8s.io", "ClusterRole", nil, false, "cluster level ClusterRole.rbac.authorization.k8s.io can not"),
    ("", "Namespace", nil, true, nil),
] as [(String, String, String?, Bool, String?)])
func namespaceScopedClusters(_ group: String, _ kind: String, _ namespace: String?, _ clusterResources: Bool, _ refusal: String?) {
    let scoped = Cluster(name: "scoped", server: "https://s", namespaces: ["team-a", "team-b"], clusterResources: clusterResources)
    let problem = scoped.scopeProblem(group: group, kind: kind, namespace: namespace)
    if let refusal { #expect(problem?.hasPrefix(refusal) == true, "\(problem ?? "nil")") } else { #expect(problem == nil) }
    // A cluster without `namespaces` takes everything.
    #expect(Cluster(name: "all", server: "https://a").scopeProblem(group: group, kind: kind, namespace: namespace) == nil)
}
