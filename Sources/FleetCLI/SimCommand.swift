import ArgumentParser
import FleetCLIKit
import FleetConfig
import FleetModel
import FleetSim
import Foundation

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Serve simulated Kubernetes clusters (an in-memory API server that kubectl accepts).",
        discussion: """
        One cluster:        flotilla sim --listen 127.0.0.1:7101 --name dev --latency 20ms
        The example fleet:  flotilla sim --fleet fleet/clusters.yaml
        With --fleet, every cluster whose server is a loopback http URL is served on its port, with its bearer
        token (if any) required. Runs until SIGTERM or SIGINT.
        """
    )

    @Option(help: "Address to listen on (port 0 picks a free port).") var listen: String = "127.0.0.1:7101"
    @Option(help: "Cluster name.") var name: String = "sim"
    @Option(help: "Delay added to every answer, e.g. 20ms.") var latency: String = "0ms"
    @Option(help: "Bearer token clients must send.") var token: String?
    @Option(help: "A bearer token that may only read (any write is 403 Forbidden), to try a view-only account.") var readOnlyToken: String?
    @Option(help: "Serve every loopback cluster of this clusters file.") var fleet: String?
    @Option(help: ArgumentHelp("With --fleet: serve only these clusters (comma-separated).", valueName: "names")) var only: String?
    @Option(help: "How long workloads take to become ready, e.g. 1s.") var readyAfter: String = "1s"
    @Option(help: "Pods whose image contains this text never become ready.") var failImage: String?
    @Flag(help: "Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost (its path is printed).") var tls = false
    @Option(help: "Directory for the self-signed certificate (default: a new temporary directory).") var tlsDir: String?
    @Option(help: "PEM certificate to serve HTTPS with (with --tls-key).") var tlsCert: String?
    @Option(help: "PEM private key to serve HTTPS with (with --tls-cert).") var tlsKey: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("Please give --tls-cert and --tls-key together.") }
        if only != nil && fleet == nil { throw ValidationError("--only selects clusters of --fleet; give --fleet too.") }
        _ = try parseDuration(latency, flag: "--latency")
        _ = try parseDuration(readyAfter, flag: "--ready-after")
    }

    func run() async throws {
        let latency = try parseDuration(latency, flag: "--latency")
        let ready = try parseDuration(readyAfter, flag: "--ready-after")
        var listeners: [SimServer.Listener] = []
        var tlsFiles: SimServer.TLSFiles?
        func certificate() throws -> SimServer.TLSFiles {
            if let tlsFiles { return tlsFiles }
            if let tlsCert, let tlsKey { tlsFiles = .init(certificate: tlsCert, key: tlsKey); return tlsFiles! }
            let dir = tlsDir.map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-sim-tls-\(ProcessInfo.processInfo.processIdentifier)")
            let made = try SelfSignedCertificate.make(in: dir)
            FileHandle.standardOutput.write(Data("CA certificate: \(made.certificate)\n".utf8))
            tlsFiles = .init(certificate: made.certificate, key: made.key)
            return tlsFiles!
        }
        if let fleet {
            listeners = try fleetListeners(fleet, readyAfter: ready.seconds, failImage: failImage, tls: tls ? try certificate() : nil, certificate: certificate)
            if let only {
                let wanted = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                let served = Set(listeners.map(\.cluster.options.name))
                if let unknown = wanted.subtracting(served).sorted().first {
                    throw CLIError("--only: \(fleet) has no loopback cluster named '\(unknown)' (it has \(served.sorted().joined(separator: ", ")))")
                }
                listeners = listeners.filter { wanted.contains($0.cluster.options.name) }
            }
        } else {
            let parts = listen.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port) else {
                throw CLIError("--listen '\(listen)': expected HOST:PORT, e.g. 127.0.0.1:7101")
            }
            var options = SimCluster.Options(name: name, token: token, readyAfter: ready.seconds, failImage: failImage)
            options.readOnlyToken = readOnlyToken
            let secure = tls || tlsCert != nil
            listeners.append(.init(host: String(parts[0]), port: port, cluster: SimCluster(options: options), tls: secure ? try certificate() : nil))
        }
        let server = SimServer(listeners: listeners, latency: latency)
        let hosts = Dictionary(listeners.map { ($0.cluster.options.name, ($0.tls == nil ? "http" : "https") + "://" + $0.host) }, uniquingKeysWith: { a, _ in a })
        try await server.run { name, port in
            // One write per line, so that a reader of a pipe sees whole lines as soon as each listener is up.
            FileHandle.standardOutput.write(Data("cluster \(name) listening on \(hosts[name] ?? "http://127.0.0.1"):\(port)\n".utf8))
        }
    }
}

/// One simulated cluster for every cluster of a clusters file whose server is a loopback URL, with its token.
/// https servers (or `tls`) get a certificate from `certificate`.
func fleetListeners(_ fleet: String, readyAfter: Double, failImage: String?, tls: SimServer.TLSFiles?,
                    certificate: () throws -> SimServer.TLSFiles) throws -> [SimServer.Listener] {
    var listeners: [SimServer.Listener] = []
    let entries = try ClustersFile.parse(try readText(fleet), file: fleet)
    for entry in entries {
        guard let url = URLComponents(string: entry.cluster.server), let scheme = url.scheme,
              let host = url.host, ["127.0.0.1", "localhost", "::1"].contains(host) || host.hasPrefix("127.") else { continue }
        let options = SimCluster.Options(name: entry.cluster.name, token: entry.cluster.credentials.bearerToken,
                                         readyAfter: readyAfter, failImage: failImage)
        let secure = scheme == "https"
        listeners.append(.init(host: host == "localhost" ? "127.0.0.1" : host, port: url.port ?? (secure ? 443 : 80),
                               cluster: SimCluster(options: options), tls: secure ? try certificate() : tls))
    }
    if listeners.isEmpty { throw CLIError("\(fleet): no cluster has a loopback http server URL to simulate") }
    return listeners
}


