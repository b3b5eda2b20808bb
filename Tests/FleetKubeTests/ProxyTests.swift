import FleetKube
import FleetModel
import Foundation
import Testing

/// A cluster registered with Argo CD's `proxyUrl` is reached through the proxy: its own host does not resolve,
/// so only the proxy (a simulator taking absolute-form requests, as an HTTP proxy does) can answer.
@Test func clustersAreReachedThroughTheirProxy() async throws {
    let sim = try await SimHarness()
    let unreachable = Cluster(name: "behind-proxy", server: "http://cluster.invalid")
    let direct = KubeClient(cluster: unreachable, timeout: 3)
    let viaProxy = KubeClient(cluster: Cluster(name: "behind-proxy", server: "http://cluster.invalid",
                                               credentials: ClusterCredentials(proxyURL: "http://127.0.0.1:\(sim.port)")), timeout: 5)
    let results = try await ConcurrentRunner.blocking { () -> (Bool, Bool) in
        let withoutProxy = (try? direct.ready()) ?? false
        let withProxy = try viaProxy.ready()
        return (withoutProxy, withProxy)
    }
    #expect(!results.0, "the host itself does not resolve")
    #expect(results.1, "the proxy answered")
    let namespaces = try await ConcurrentRunner.blocking { try viaProxy.list(try viaProxy.resource(apiVersion: "v1", kind: "Namespace")) }
    #expect(namespaces.contains { $0.value(at: ["metadata", "name"])?.stringValue == "default" })
    await sim.stop()
}
