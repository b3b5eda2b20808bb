import FleetModel
import Foundation

/// The cluster a process runs in, as Kubernetes tells a pod: the service-account token and CA under
/// `/var/run/secrets/kubernetes.io/serviceaccount`, and the API server at `https://kubernetes.default.svc`
/// (Argo CD's `in-cluster`). Outside a pod there is none: Flotilla never invents one.
public enum InCluster {
    public static let defaultDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"
    /// Set on an `in-cluster` the hub registered by itself (it keeps its token fresh).
    public static let annotation = "flotilla.io/in-cluster"

    /// The in-cluster cluster when `directory` holds a service-account token, else nil.
    public static func cluster(directory: String = defaultDirectory, name: String = Cluster.inClusterName) -> Cluster? {
        guard let token = credentials(directory: directory) else { return nil }
        return Cluster(name: name, server: Cluster.inClusterServer, annotations: [annotation: "auto"], credentials: token)
    }

    /// The service account's token and CA, read now (projected tokens are rotated: read them again later).
    public static func credentials(directory: String = defaultDirectory) -> ClusterCredentials? {
        let dir = URL(fileURLWithPath: directory)
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("token").path) else { return nil }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { return nil }
        var creds = ClusterCredentials(bearerToken: token)
        creds.caData = FileManager.default.contents(atPath: dir.appendingPathComponent("ca.crt").path)
        return creds
    }
}
