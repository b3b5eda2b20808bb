import FleetConfig
import FleetKube
import FleetModel
import FleetServing
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HTTPTypes
import NIOSSL
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Serves `HubAPI` over HTTP with Hummingbird. Handlers run on Dispatch (they block on SQLite, git and
/// clusters); the server's own tasks run on an executor of their own.
public struct HubServer: Sendable {
    public let api: HubAPI
    public let host: String
    public let port: Int
    public let logger: Logger
    /// PEM certificate chain and key: HTTPS instead of HTTP.
    public let tls: TLSFiles?

    public init(api: HubAPI, listen: String, logger: Logger, tls: TLSFiles? = nil) {
        self.api = api
        self.tls = tls
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        host = parts.dropLast().joined(separator: ":")
        port = Int(parts.last ?? "") ?? 8080
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT (or cancellation); `onListening` gets the bound port. `onShutdown` runs
    /// when a graceful shutdown starts, before the server stops taking requests.
    public func run(onListening: @escaping @Sendable (Int) -> Void, onShutdown: @escaping @Sendable () -> Void = {}) async throws {
        // Services stop in reverse order: the watcher hears of the shutdown first and cancels running renders.
        let group = ServiceGroup(configuration: .init(services: [.init(service: try service(onListening: onListening)),
                                                                 .init(service: ShutdownWatcher(onShutdown: onShutdown))],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The HTTP server as a service (for a `ServiceGroup` of the caller's).
    public func service(onListening: @escaping @Sendable (Int) -> Void) throws -> some Service {
        let api = self.api
        let logger = self.logger
        let limits = api.hub.config.limits
        let pools = RequestPools(renders: limits.concurrentRenders, queue: limits.renderQueue)
        let router = api.responder
        let responder = CallbackResponder<ConnectionContext> { request, context in
            // Liveness and readiness answer at once, whatever the handlers are doing.
            if request.method == .get, request.uri.path == "/healthz" || request.uri.path == "/readyz" {
                let ok = request.uri.path == "/healthz" || api.hub.isReady
                return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: ok ? "ok\n" : "loading\n")))
            }
            let channel = context.channel
            let source = HubRequestSource(logger: logger, remoteAddress: context.remoteAddress?.ipAddress,
                                          isCancelled: { HubServer.peerClosed(channel) }, runner: pools)
            let response = try await router.respond(to: request, context: HubRequestContext(source: source))
            if response.status.code >= 500 { logger.error("\(request.method) \(request.uri.path): \(response.status.code)") } else {
                logger.debug("\(request.method) \(request.uri.path): \(response.status.code)")
            }
            return response
        }
        // A connection that sends nothing (or never finishes its headers) for 30 s is closed.
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(30)))
        var server = http1
        if let tls {
            let chain: [NIOSSLCertificateSource]
            let key: NIOSSLPrivateKey
            do {
                chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) }
                key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            } catch {
                throw HubError(.badRequest, "cannot read the TLS certificate or key (\(tls.certificate), \(tls.key)): \(error)")
            }
            server = try .tls(http1, tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        }
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        return PoolsService(pools: pools, app: app)
    }
}

/// Runs the HTTP application with its handler pools: started before it, shut down after it.
struct PoolsService<Inner: Service>: Service {
    let pools: RequestPools
    let app: Inner

    func run() async throws {
        pools.start()
        defer { pools.shutdown() }
        try await app.run()
    }
}

extension HubServer {
    /// True once the client closed its connection. While a request is being handled the server reads nothing
    /// more from it, so a closed connection is seen in the socket's TCP state (CLOSE_WAIT), not by the channel.
    /// Called from handler threads, never from the event loop.
    static func peerClosed(_ channel: any Channel) -> Bool {
        if !channel.isActive { return true }
        #if os(Linux)
        // try? is right here: no TCP info: the peer is taken as still there.
        guard let provider = channel as? any SocketOptionProvider, let info = try? provider.getTCPInfo().wait() else { return false }
        return info.tcpi_state != 1   // TCP_ESTABLISHED
        #else
        return false
        #endif
    }

    /// Starts the server on an executor of its own and returns once it listens.
    public func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let task = Task(executorPreference: QueueTaskExecutor(label: "flotilla.hub.http")) {
            defer { continuation.finish() }
            try await run(onListening: { continuation.yield($0) }, onShutdown: { [api] in api.hub.beginStopping() })
        }
        for await port in stream { return (port, task) }
        _ = try await task.value
        throw CancellationError()
    }
}

extension Hub {
    /// Runs a hub until SIGTERM or SIGINT, as one `ServiceGroup`: the event log, the controllers, the loading
    /// of the hub, the HTTP API and a shutdown watcher. `/healthz` answers while the hub loads; `/readyz`
    /// answers 200 once it has loaded. On a signal the services stop in reverse order: renders are cancelled,
    /// the API stops taking requests, the controllers stop their timers, running reconciles get up to
    /// `drainTimeout` seconds to finish, queued notifications are sent.
    public static func serve(config: HubConfiguration, dataDir: URL, logger: Logger, kubectl: String = "kubectl", drainTimeout: Double = 30,
                             onListening: @escaping @Sendable (Int) -> Void, onReady: @escaping @Sendable (Hub) -> Void = { _ in }) async throws {
        let hub = try await ConcurrentRunner.blocking {
            try Hub(config: config, dataDir: dataDir, logger: logger, kubectl: kubectl, drainTimeout: drainTimeout)
        }
        let tls = config.tlsCert.flatMap { cert in config.tlsKey.map { TLSFiles(certificate: cert, key: $0) } }
        let server = HubServer(api: HubAPI(hub: hub), listen: config.listen, logger: logger, tls: tls)
        // The hub loads once the API listens, so `/healthz` answers during a long load.
        let (listening, listened) = AsyncStream<Int>.makeStream()
        let http = try server.service(onListening: { port in
            onListening(port)
            listened.yield(port)
            listened.finish()
        })
        let services: [any Service] = hub.services + [
            HubLoader(hub: hub, listening: listening, onReady: onReady), http,
            ShutdownWatcher(onShutdown: { hub.beginStopping() }),
        ]
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Loads the hub (clusters, ApplicationSets, repositories, the first generation) off the cooperative pool, then
/// marks it ready and runs until the shutdown. A hub that cannot load ends the group with the error.
struct HubLoader: Service {
    let hub: Hub
    let listening: AsyncStream<Int>
    let onReady: @Sendable (Hub) -> Void

    func run() async throws {
        let listened = await cancelWhenGracefulShutdown { () async -> Bool in
            for await _ in listening { return true }
            return false
        }
        guard listened else { return }
        try await ConcurrentRunner.blocking { [hub] in try hub.load() }
        hub.markReady()
        onReady(hub)
        await untilShutdown()
    }
}

/// The request context of the hub's server connections: Hummingbird's basic one, plus the client's address
/// (for the failed-authentication limit) and its connection. The router's own context is built from it.
struct ConnectionContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The client's connection: once it closes, work for its request stops.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

/// Runs `onShutdown` once a graceful shutdown starts.
struct ShutdownWatcher: Service {
    let onShutdown: @Sendable () -> Void
    func run() async throws {
        await untilShutdown()
        onShutdown()
    }
}

/// Where the API's handlers run, off Swift's cooperative pool: ordinary requests on a pool of threads of their
/// own (they block briefly on SQLite), and the expensive ones (previews, diffs, ApplicationSet writes: templates,
/// git, clusters) on a small pool behind an admission gate, so no account can take every thread: beyond the
/// running renders plus a bounded queue, the API answers 503 with Retry-After.
final class RequestPools: RouteRunner {
    let api: NIOThreadPool
    private let renders: NIOThreadPool
    private let capacity: Int
    /// Renders admitted (running or waiting).
    private let admitted = NIOLockedValueBox(0)

    /// Handlers mostly compute (cached reads, JSON) and block only briefly on SQLite: a few threads per core serve
    /// more requests than many, which would spend the cores switching between them.
    init(renders: Int, queue: Int, apiThreads: Int = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)) {
        api = NIOThreadPool(numberOfThreads: apiThreads)
        self.renders = NIOThreadPool(numberOfThreads: max(1, renders))
        capacity = max(1, renders) + max(0, queue)
    }

    func start() {
        api.start()
        renders.start()
    }

    func shutdown() {
        api.shutdownGracefully { _ in }
        renders.shutdownGracefully { _ in }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await api.runIfActive(body) } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw HubError(.unavailable, "the hub is stopping")
        }
    }

    func admit(_ request: APIRequest, _ body: @escaping @Sendable (APIRequest) -> APIResponse) async -> APIResponse {
        let entered = admitted.withLockedValue { count -> Bool in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard entered else {
            var busy = APIResponse.error(503, "too many previews and diffs are running; try again shortly (limits.concurrentRenders, limits.renderQueue)")
            busy.retryAfter = 1
            return busy
        }
        defer { admitted.withLockedValue { $0 -= 1 } }
        // try? is right here: the gate refuses work only when the hub stops: 503.
        return (try? await renders.runIfActive {
            // A client that left while its request waited gets nothing done.
            if request.isCancelled() { return APIResponse.error(499, "the client closed the connection") }
            return body(request)
        }) ?? APIResponse.error(503, "the hub is stopping")
    }
}
