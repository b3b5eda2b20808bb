import FleetModel

/// What users see of a cluster, in the CLI and the API. Credentials are described, never shown.
public enum ClusterView {
    public static func json(_ c: Cluster) -> JSONValue {
        var tls: [(String, JSONValue)] = [
            ("caData", .bool(c.credentials.caData != nil)),
            ("insecureSkipTLSVerify", .bool(c.credentials.insecureSkipTLSVerify)),
        ]
        if let serverName = c.credentials.tlsServerName { tls.append(("serverName", .string(serverName))) }
        return .object([
            ("name", .string(c.name)),
            ("server", .string(c.server)),
            ("labels", .sortedObject(c.labels)),
            ("annotations", .sortedObject(c.annotations)),
            ("secondary", c.secondary.map(JSONValue.string) ?? .null),
            ("auth", .string(c.credentials.kind.rawValue)),
            ("tls", .object(tls)),
            ("nameNormalized", .string(c.normalizedName)),
            ("project", c.project.map(JSONValue.string) ?? .null),
            ("namespaces", c.namespaces.map { .array($0.map(JSONValue.string)) } ?? .null),
            ("clusterResources", .bool(c.clusterResources)),
            // Whether a proxy is used, never its URL (it may carry a password).
            ("proxy", .bool(c.credentials.proxyURL != nil)),
        ])
    }
}
