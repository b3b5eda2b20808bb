import FleetKube
import FleetModel
import FleetSim
import Foundation
import Testing

private let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].contains { FileManager.default.isExecutableFile(atPath: $0) }

/// HTTPS: the cluster's CA data verifies the server; without it the error says TLS; insecure skips the check;
/// a TLS server name is verified while connecting to the URL's address. The bearer token travels over TLS.
@Test(.enabled(if: openssl, "needs the openssl command to make a test certificate"))
func tlsWithCADataAndServerName() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-tls-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let files = try SelfSignedCertificate.make(in: dir)
    let sim = try await SimHarness(token: "tls-token", tls: .init(certificate: files.certificate, key: files.key))
    defer { Task { await sim.stop() } }
    let ca = try Data(contentsOf: URL(fileURLWithPath: files.certificate))
    try await ConcurrentRunner.blocking { () throws -> Void in
        let trusted = sim.client(token: "tls-token", credentials: ClusterCredentials(caData: ca))
        #expect(try trusted.ready())
        #expect(try trusted.discover().contains { $0.kind == "Deployment" })

        #expect { try sim.client(token: "tls-token").discover() } throws: { ($0 as? KubeError)?.code == .tls && "\($0)".contains("cluster test") }
        #expect(try sim.client(token: "tls-token", credentials: ClusterCredentials(insecureSkipTLSVerify: true)).ready())
        #expect { try sim.client(token: "wrong", credentials: ClusterCredentials(caData: ca)).discover() } throws: { ($0 as? KubeError)?.code == .unauthorized }

        // The certificate names localhost and 127.0.0.1; a server name that it does not carry must fail.
        #expect(try sim.client(token: "tls-token", credentials: ClusterCredentials(caData: ca, tlsServerName: "localhost")).ready())
        #expect { try sim.client(token: "tls-token", credentials: ClusterCredentials(caData: ca, tlsServerName: "other.example")).discover() } throws: {
            ($0 as? KubeError)?.code == .tls
        }
    }
}
