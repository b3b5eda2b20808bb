import Foundation

/// A Kubernetes cluster registered with the hub.
///
/// ```swift
/// let prod = Cluster(name: "prod-eu", server: "https://10.0.0.1:6443",
///                    labels: ["env": "prod", "region": "eu"], secondary: "prod-us")
/// ```
public struct Cluster: Sendable, Hashable, Codable {
    /// Unique in the registry. Free text, as in Argo CD (`arn:aws:eks:…:cluster/prod`,
    /// `gke_project_zone_name`, `mycluster.example.com`); `normalizedName` is its DNS-safe form.
    public var name: String
    /// API server URL: https, or http for local simulators. Kept without a trailing slash.
    public var server: String
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Name of the cluster that takes this cluster's applications when it fails.
    public var secondary: String?
    public var credentials: ClusterCredentials
    /// Argo CD's `project`: the project the cluster belongs to (the cluster generator's `project`).
    public var project: String?
    /// Argo CD's `namespaces`: when set, only objects in these namespaces may be applied to the cluster.
    public var namespaces: [String]?
    /// Argo CD's `clusterResources`: with `namespaces` set, whether cluster-scoped objects may be applied.
    public var clusterResources: Bool

    public init(
        name: String, server: String, labels: [String: String] = [:], annotations: [String: String] = [:],
        secondary: String? = nil, credentials: ClusterCredentials = .none, project: String? = nil,
        namespaces: [String]? = nil, clusterResources: Bool = false
    ) {
        self.name = name
        self.server = Cluster.normalizeServer(server)
        self.labels = labels
        self.annotations = annotations
        self.secondary = secondary
        self.credentials = credentials
        self.project = project
        self.namespaces = namespaces
        self.clusterResources = clusterResources
    }

    /// Argo CD's in-cluster destination: the API server of the cluster the hub runs in.
    public static let inClusterServer = "https://kubernetes.default.svc"
    public static let inClusterName = "in-cluster"

    /// The label Argo CD's cluster generator sees on every cluster (all its clusters come from Secrets
    /// with it). Flotilla adds it to what generators see; it is not stored.
    public static let argoSecretTypeLabel = "argocd.argoproj.io/secret-type"

    /// The labels generators see: the stored ones plus `argocd.argoproj.io/secret-type: cluster`, except on
    /// the local cluster (`https://kubernetes.default.svc`), which Argo CD does not keep in a Secret: there,
    /// only the labels stored (a Secret made for it has the label, and `cluster apply` keeps it).
    public var generatorLabels: [String: String] {
        if server == Cluster.inClusterServer { return labels }
        var l = labels
        if l[Cluster.argoSecretTypeLabel] == nil { l[Cluster.argoSecretTypeLabel] = "cluster" }
        return l
    }

    /// A server URL as Argo CD compares them: without a trailing slash.
    public static func normalizeServer(_ server: String) -> String {
        var s = server
        while s.hasSuffix("/") && !s.hasSuffix("://") { s.removeLast() }
        return s
    }

    /// Argo CD's rule for a free-text cluster name (`SanitizeName`): lower case, characters outside
    /// `[-a-z0-9.]` as `-`, at most 253 characters, no leading or trailing `-` or `.`.
    public var normalizedName: String { Cluster.normalize(name) }

    public static func normalize(_ name: String) -> String { KubernetesNames.argoNormalized(name) }

    /// Why this cluster refuses an object of `group`/`kind` in `namespace` (nil: cluster-scoped), or nil. A
    /// cluster registered with `namespaces` (Argo CD's namespace-scoped cluster) takes namespaced objects only in
    /// those namespaces, and cluster-scoped objects only with `clusterResources: true`. The words are Argo CD's.
    public func scopeProblem(group: String, kind: String, namespace: String?) -> String? {
        guard let allowed = namespaces else { return nil }
        let groupKind = group.isEmpty ? kind : "\(kind).\(group)"
        if let namespace {
            return allowed.contains(namespace) ? nil : "namespace \(namespace) is not managed: cluster \(name) manages only \(allowed.joined(separator: ", "))"
        }
        return clusterResources ? nil : "cluster level \(groupKind) can not be managed when in namespaced mode (cluster \(name) has clusterResources: false)"
    }

    /// Problems with a cluster name: free text, but not empty, without control characters or surrounding
    /// spaces, and at most 253 characters.
    public static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "cluster name must not be empty" }
        if name.unicodeScalars.count > 253 { return "cluster name must be at most 253 characters" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "cluster name must not contain control characters" }
        if name.first!.isWhitespace || name.last!.isWhitespace { return "cluster name must not start or end with a space" }
        return nil
    }

    /// Problems with this cluster on its own (not against the rest of the registry).
    public func problems(field: String = "") -> [FieldProblem] {
        func path(_ leaf: String) -> String { field.isEmpty ? leaf : "\(field).\(leaf)" }
        var problems: [FieldProblem] = []
        if let p = Self.nameProblem(name) {
            problems.append(.init(field: path("name"), message: p))
        }
        if let p = Self.serverProblem(server) {
            problems.append(.init(field: path("server"), message: p))
        }
        problems += KubernetesNames.labelProblems(labels, field: path("labels"))
        problems += KubernetesNames.annotationProblems(annotations, field: path("annotations"))
        if let secondary {
            if let p = Self.nameProblem(secondary) {
                problems.append(.init(field: path("secondary"), message: p))
            } else if secondary == name {
                problems.append(.init(field: path("secondary"), message: "cluster '\(name)' cannot be its own secondary"))
            }
        }
        problems += credentials.problems(field: path("auth"))
        for (i, ns) in (namespaces ?? []).enumerated() {
            if let p = KubernetesNames.dns1123LabelProblem(ns) { problems.append(.init(field: path("namespaces[\(i)]"), message: p)) }
        }
        if let project, !project.isEmpty, let p = KubernetesNames.dns1123SubdomainProblem(project) {
            problems.append(.init(field: path("project"), message: p))
        }
        return problems
    }

    /// Checks an API server URL. Never echoes user info, which may hold a password.
    public static func serverProblem(_ server: String) -> String? {
        if server.isEmpty { return "server URL must not be empty" }
        if !server.contains("://") { return "'\(server)' has no scheme; write it as https://\(server)" }
        guard let url = URLComponents(string: server), let scheme = url.scheme?.lowercased() else {
            return "'\(server)' is not a valid URL (expected https://HOST[:PORT])"
        }
        if url.user != nil || url.password != nil {
            return "server URL must not contain credentials; use the auth fields"
        }
        guard scheme == "https" || scheme == "http" else {
            return "'\(server)' must use https (or http for a local simulator), not '\(scheme)'"
        }
        guard let host = url.host, !host.isEmpty else {
            return "'\(server)' has no host"
        }
        if let port = url.port, !(1...65535).contains(port) {
            return "'\(server)' has an invalid port \(port)"
        }
        if url.query != nil || url.fragment != nil {
            return "'\(server)' must not have a query or fragment"
        }
        return nil
    }
}
