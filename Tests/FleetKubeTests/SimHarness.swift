import FleetKube
import FleetModel
import FleetSim
import Foundation

/// A simulated cluster served in-process on a free loopback port.
final class SimHarness: @unchecked Sendable {
    let cluster: SimCluster
    let port: Int
    let scheme: String
    private let running: SimServer.Running

    init(token: String? = nil, readOnlyToken: String? = nil, readyAfter: Double = 0.2, failImage: String? = nil, latency: Duration = .zero,
         tls: SimServer.TLSFiles? = nil) async throws {
        var options = SimCluster.Options(name: "test", token: token, readyAfter: readyAfter, failImage: failImage)
        options.readOnlyToken = readOnlyToken
        let cluster = SimCluster(options: options)
        self.cluster = cluster
        let server = SimServer(listeners: [.init(host: "127.0.0.1", port: 0, cluster: cluster, tls: tls)], latency: latency, logLevel: .critical)
        self.scheme = tls == nil ? "http" : "https"
        running = try await server.start()
        port = running.ports["test"]!
    }

    func stop() async { await running.stop() }

    func client(token: String? = nil, name: String = "test", credentials: ClusterCredentials? = nil, host: String = "127.0.0.1") -> KubeClient {
        var creds = credentials ?? ClusterCredentials()
        if let token { creds.bearerToken = token }
        return KubeClient(cluster: Cluster(name: name, server: "\(scheme)://\(host):\(port)", credentials: creds), timeout: 5)
    }
}

func configMap(_ name: String, namespace: String? = nil, data: [String: String]) -> JSONValue {
    var meta: [(String, JSONValue)] = [("name", .string(name))]
    if let namespace { meta.append(("namespace", .string(namespace))) }
    return .object([("apiVersion", "v1"), ("kind", "ConfigMap"), ("metadata", .object(meta)), ("data", .sortedObject(data))])
}

func deployment(_ name: String, namespace: String, image: String = "nginx:1.27", replicas: Int = 2) -> JSONValue {
    .object([("apiVersion", "apps/v1"), ("kind", "Deployment"),
             ("metadata", .object([("name", .string(name)), ("namespace", .string(namespace))])),
             ("spec", .object([("replicas", .int(replicas)), ("selector", .object([("matchLabels", .object([("app", .string(name))]))])),
                               ("template", .object([("metadata", .object([("labels", .object([("app", .string(name))]))])),
                                                     ("spec", .object([("containers", .array([.object([("name", "main"), ("image", .string(image))])]))]))]))]))])
}

