import FleetConfig
import FleetKube
import FleetModel
import FleetSim
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ServiceLifecycle

/// Serves `HubAPI` over HTTP with Hummingbird. Handlers run on Dispatch (they block on SQLite, git and
/// clusters); the server's own tasks run on an executor of their own.
public struct HubServer: Sendable {
    public let api: HubAPI
    public let host: String
    public let port: Int
    public let logger: Logger
    /// PEM certificate chain and key: HTTPS instead of HTTP.
    public let tls: SimServer.TLSFiles?

    public init(api: HubAPI, listen: String, logger: Logger, tls: SimServer.TLSFiles? = nil) {
        self.api = api
        self.tls = tls
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        host = parts.dropLast().joined(separator: ":")
        port = Int(parts.last ?? "") ?? 8080
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT (or cancellation); `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        let api = self.api
        let logger = self.logger
        let responder = CallbackResponder<HubRequestContext> { request, context in
            var req = request
            let body: ByteBuffer
            do { body = try await req.collectBody(upTo: HubAPI.maxBody) } catch {
                return Response(status: .contentTooLarge, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: "{\"error\": \"request body exceeds \(HubAPI.maxBody >> 20) MiB\", \"code\": 413}\n")))
            }
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let apiRequest = APIRequest(method: request.method.rawValue, path: request.uri.path, query: SimServer.parseQuery(request.uri.query),
                                        headers: headers, body: Array(body.readableBytesView), remoteAddress: context.remoteAddress?.ipAddress)
            let answer = (try? await ConcurrentRunner.blocking { api.handle(apiRequest) }) ?? APIResponse.error(500, "internal error")
            if answer.status >= 500 { logger.error("\(apiRequest.method) \(apiRequest.path): \(answer.status)") } else {
                logger.debug("\(apiRequest.method) \(apiRequest.path): \(answer.status)")
            }
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        var server: HTTPServerBuilder = .http1()
        if let tls {
            let chain: [NIOSSLCertificateSource]
            let key: NIOSSLPrivateKey
            do {
                chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) }
                key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            } catch {
                throw HubError(400, "cannot read the TLS certificate or key (\(tls.certificate), \(tls.key)): \(error)")
            }
            server = try .tls(.http1(), tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension HubServer {
    /// Starts the server on an executor of its own and returns once it listens.
    public func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let task = Task(executorPreference: QueueTaskExecutor(label: "flotilla.hub.http")) {
            defer { continuation.finish() }
            try await run { continuation.yield($0) }
        }
        for await port in stream { return (port, task) }
        _ = try await task.value
        throw CancellationError()
    }
}

extension Hub {
    /// Runs a hub until SIGTERM or SIGINT: the HTTP API first (so `/healthz` answers while the hub loads), then
    /// the engine (`/readyz` answers 200 once it has loaded). On a signal, the API stops, then running reconciles
    /// get up to `drainTimeout` seconds to finish.
    public static func serve(config: HubConfiguration, dataDir: URL, logger: Logger, kubectl: String = "kubectl", drainTimeout: Double = 30,
                             onListening: @escaping @Sendable (Int) -> Void, onReady: @escaping @Sendable (Hub) -> Void = { _ in }) async throws {
        let hub = try await ConcurrentRunner.blocking { try Hub(config: config, dataDir: dataDir, logger: logger, kubectl: kubectl) }
        let tls = config.tlsCert.flatMap { cert in config.tlsKey.map { SimServer.TLSFiles(certificate: cert, key: $0) } }
        let server = HubServer(api: HubAPI(hub: hub), listen: config.listen, logger: logger, tls: tls)
        let (port, task) = try await server.start()
        onListening(port)
        do {
            try await ConcurrentRunner.blocking { try hub.start() }
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
        hub.markReady()
        onReady(hub)
        let result = await task.result
        logger.info("stopping: waiting up to \(Int(drainTimeout)) s for running syncs")
        let drained = (try? await ConcurrentRunner.blocking { hub.stop(timeout: drainTimeout) }) ?? false
        if !drained { logger.warning("some syncs were still running; they resume on the next start") }
        try result.get()
    }
}

/// The request context of the hub's server: Hummingbird's basic one, plus the client's address (for the
/// failed-authentication limit).
struct HubRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
