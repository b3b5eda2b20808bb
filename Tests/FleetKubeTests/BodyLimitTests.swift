import FleetKube
import FleetModel
import Foundation
import Testing

/// A server that answers more than the transport's body limit fails the request, naming the limit; nothing
/// larger is held in memory.
@Test func responsesOverTheBodyLimitFail() async throws {
    let sim = try await SimHarness()
    let server = "http://127.0.0.1:\(sim.port)"
    try await ConcurrentRunner.blocking { () throws -> Void in
        let small = HTTPTransport(server: server, credentials: ClusterCredentials(), maxBodyBytes: 64)
        #expect { try small.request("GET", "/api/v1") } throws: { "\($0)".contains("larger than 64 bytes") }
        let roomy = HTTPTransport(server: server, credentials: ClusterCredentials())
        #expect(try roomy.request("GET", "/api/v1").status == 200)
    }
    await sim.stop()
}
