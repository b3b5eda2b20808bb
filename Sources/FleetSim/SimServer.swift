import FleetModel
import FleetServing
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ServiceLifecycle

/// Serves simulated clusters over HTTP, one listener each, in one process, until SIGTERM or SIGINT.
public struct SimServer: Sendable {
    public struct Listener: Sendable {
        public let host: String
        public let port: Int
        public let cluster: SimCluster
        /// PEM certificate (chain) and key files: serve HTTPS.
        public let tls: TLSFiles?

        public init(host: String, port: Int, cluster: SimCluster, tls: TLSFiles? = nil) {
            self.host = host
            self.port = port
            self.cluster = cluster
            self.tls = tls
        }
    }

    public typealias TLSFiles = FleetServing.TLSFiles

    public let listeners: [Listener]
    /// Added before every answer, to simulate a remote API server.
    public let latency: Duration

    /// Server log level (`.warning` by default; `.critical` silences shutdown chatter in benchmarks).
    public let logLevel: Logger.Level

    public init(listeners: [Listener], latency: Duration = .zero, logLevel: Logger.Level = .warning) {
        self.listeners = listeners
        self.latency = latency
        self.logLevel = logLevel
    }

    /// Runs every listener; `onListening` is called with each cluster's name and bound port.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        try await run(onListening: onListening, onGroup: { _ in })
    }

    /// As `run(onListening:)`; `onGroup` gets the service group before it runs (to stop it gracefully).
    func run(onListening: @escaping @Sendable (String, Int) -> Void, onGroup: @Sendable (ServiceGroup) -> Void) async throws {
        var logger = Logger(label: "flotilla.sim")
        logger.logLevel = logLevel
        let latency = self.latency
        var services: [any Service] = []
        for listener in listeners {
            let cluster = listener.cluster
            let responder = CallbackResponder<BasicRequestContext> { request, _ in
                var req = request
                let body = try await req.collectBody(upTo: 64 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
                let sim = SimRequest(method: request.method.rawValue, path: request.uri.path,
                                     query: Self.parseQuery(request.uri.query), headers: headers,
                                     body: Array(body.readableBytesView))
                let answer = cluster.handle(sim)
                if latency > .zero { try await Task.sleep(for: latency) }
                if let events = answer.events {
                    // A watch: each event written (and flushed) as it comes, until the watch ends or the client leaves.
                    return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                                     body: ResponseBody { writer in
                                         for await line in events { try await writer.write(ByteBuffer(string: line)) }
                                         try await writer.finish(nil)
                                     })
                }
                return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                                body: .init(byteBuffer: ByteBuffer(string: answer.body)))
            }
            var server: HTTPServerBuilder = .http1()
            if let tls = listener.tls {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
                server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
            }
            let app = Application(
                responder: responder,
                server: server,
                configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: nil),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? listener.port
                    cluster.address = "\(listener.host):\(port)"
                    onListening(cluster.options.name, port)
                },
                logger: logger
            )
            services.append(app)
        }
        // Shut down first (services stop in reverse order): open watches end, so the servers can close.
        services.append(WatchCloser(clusters: listeners.map(\.cluster)))
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        onGroup(group)
        try await group.run()
    }

    /// Query strings as Go clients encode them: `+` is a space, then percent-decoding.
    public static func parseQuery(_ query: String?) -> [String: String] { QueryString.parse(query) }
}

/// The running service group of a server started in the background, once it exists.
final class GroupHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var group: ServiceGroup?
    var value: ServiceGroup? {
        get { lock.withLock { group } }
        set { lock.withLock { group = newValue } }
    }
}

/// Ends every watch when the server begins to stop.
struct WatchCloser: Service {
    let clusters: [SimCluster]

    func run() async throws {
        try? await gracefulShutdown()
        for cluster in clusters { cluster.endWatches() }
    }
}

extension SimServer {
    /// A server running in the background of this process, on an executor of its own.
    public final class Running: Sendable {
        /// Bound port of each cluster, by name.
        public let ports: [String: Int]
        private let task: Task<Void, any Error>
        private let group: GroupHolder

        init(ports: [String: Int], task: Task<Void, any Error>, group: GroupHolder) {
            self.ports = ports
            self.task = task
            self.group = group
        }

        /// Stops every listener and waits for them to close: a graceful shutdown (watches end, requests in
        /// flight are answered), cancelled after 5 s. Cancelling at once can trap in NIO when a connection is
        /// accepted at that moment (a channel that is never served deinitialises its writer unfinished).
        public func stop() async {
            if let group = group.value {
                await group.triggerGracefulShutdown()
                let task = self.task
                let deadline = Task {
                    try await Task.sleep(for: .seconds(5))
                    task.cancel()
                }
                _ = await task.result
                deadline.cancel()
            } else {
                task.cancel()
                _ = await task.result
            }
        }
    }

    /// Starts the listeners in the background and returns once each is bound. Handlers run on a
    /// `QueueTaskExecutor`, so callers that block cooperative threads cannot starve the server.
    public func start() async throws -> Running {
        // No listener: nothing to serve (a group of no servers would only wait for a signal).
        if listeners.isEmpty { return Running(ports: [:], task: Task {}, group: GroupHolder()) }
        let (stream, continuation) = AsyncStream<(String, Int)>.makeStream()
        let group = GroupHolder()
        let task = Task(executorPreference: QueueTaskExecutor(label: "flotilla.sim")) {
            defer { continuation.finish() }
            try await run(onListening: { continuation.yield(($0, $1)) }, onGroup: { group.value = $0 })
        }
        var ports: [String: Int] = [:]
        for await (name, port) in stream {
            ports[name] = port
            if ports.count == listeners.count { break }
        }
        guard ports.count == listeners.count else {
            _ = await task.result
            throw CancellationError()
        }
        return Running(ports: ports, task: task, group: group)
    }
}
