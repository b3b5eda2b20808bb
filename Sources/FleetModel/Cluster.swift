import Foundation

/// A Kubernetes cluster registered with the hub.
///
/// ```swift
/// let prod = Cluster(name: "prod-eu", server: "https://10.0.0.1:6443",
///                    labels: ["env": "prod", "region": "eu"], secondary: "prod-us")
/// ```
public struct Cluster: Sendable, Hashable, Codable {
    /// DNS-1123 label, unique in the registry.
    public var name: String
    /// API server URL: https, or http for local simulators.
    public var server: String
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Name of the cluster that takes this cluster's applications when it fails.
    public var secondary: String?
    public var credentials: ClusterCredentials

    public init(
        name: String, server: String, labels: [String: String] = [:], annotations: [String: String] = [:],
        secondary: String? = nil, credentials: ClusterCredentials = .none
    ) {
        self.name = name
        self.server = server
        self.labels = labels
        self.annotations = annotations
        self.secondary = secondary
        self.credentials = credentials
    }

    /// Problems with this cluster on its own (not against the rest of the registry).
    public func problems(field: String = "") -> [FieldProblem] {
        func path(_ leaf: String) -> String { field.isEmpty ? leaf : "\(field).\(leaf)" }
        var problems: [FieldProblem] = []
        if let p = KubernetesNames.dns1123LabelProblem(name) {
            problems.append(.init(field: path("name"), message: p))
        }
        if let p = Self.serverProblem(server) {
            problems.append(.init(field: path("server"), message: p))
        }
        problems += KubernetesNames.labelProblems(labels, field: path("labels"))
        problems += KubernetesNames.annotationProblems(annotations, field: path("annotations"))
        if let secondary {
            if let p = KubernetesNames.dns1123LabelProblem(secondary) {
                problems.append(.init(field: path("secondary"), message: p))
            } else if secondary == name {
                problems.append(.init(field: path("secondary"), message: "cluster '\(name)' cannot be its own secondary"))
            }
        }
        problems += credentials.problems(field: path("auth"))
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
