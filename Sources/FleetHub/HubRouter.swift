import FleetAPI
import FleetDashboard
import FleetGenerators
import FleetKube
import FleetModel
import FleetServing
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Where a route's blocking work runs (SQLite, git, clusters): never on Swift's cooperative pool.
public protocol RouteRunner: Sendable {
    /// Ordinary work (authentication, reads, writes that answer at once). Throws `HubError(.unavailable)` once
    /// the hub stops taking work.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T
    /// Work bounded only by its input (previews, diffs, ApplicationSet writes): behind an admission gate, so no
    /// account can take every thread. A refusal (busy, stopping, the client left) is an answer of its own.
    func admit(_ request: APIRequest, _ body: @escaping @Sendable (APIRequest) -> APIResponse) async -> APIResponse
}

/// What the hub's router knows of a request beyond Hummingbird's: where the client is, whether it left, where
/// blocking work runs.
public struct HubRequestSource: RequestContextSource, Sendable {
    public let logger: Logger
    let remoteAddress: String?
    let isCancelled: @Sendable () -> Bool
    let runner: any RouteRunner

    public init(logger: Logger, remoteAddress: String?, isCancelled: @escaping @Sendable () -> Bool = { false }, runner: any RouteRunner) {
        self.logger = logger
        self.remoteAddress = remoteAddress
        self.isCancelled = isCancelled
        self.runner = runner
    }
}

/// The request context of the hub's one router (API and dashboard): what the middlewares found out (the
/// request as handlers read it, the authenticated caller, a page's viewer) travels to the handler in it.
public struct HubRequestContext: RequestContext {
    public typealias Source = HubRequestSource
    public var coreContext: CoreRequestContextStorage
    let source: HubRequestSource
    /// The request with its body read (`ReadRequest`); empty before.
    var request = APIRequest(method: "", path: "")
    /// The caller a route's `AuthorizeRoute` authenticated; nil on open routes.
    var caller: Caller?
    /// The values of the route's `*` segments (and a prefix route's rest), read once by `AuthorizeRoute`.
    var values: [String] = []
    /// The viewer a page's `DashboardSession` found.
    var viewer: HubAPI.PageViewer?

    public init(source: HubRequestSource) {
        coreContext = .init(source: source)
        self.source = source
    }

    public var maxUploadSize: Int { HubAPI.maxBody }
    var runner: any RouteRunner { source.runner }
}

/// An error the router answers as it is: a JSON body in the API's shape (or a dashboard page).
struct APIAnswer: HTTPResponseError {
    let answer: APIResponse
    var status: HTTPResponse.Status { .init(code: answer.status) }
    var headers: HTTPFields { [:] }
    func response(from request: Request, context: some RequestContext) throws -> Response { HubAPI.response(answer) }
}

// MARK: The router

extension HubAPI {
    /// The hub's router: every API route of `HubRoutes` and every dashboard page, with their middlewares.
    static func makeRouter(_ api: HubAPI) -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self)
        router.add(middleware: AnswerEdge(api: api))
        router.add(middleware: ReadRequest())
        router.addRoutes(apiRoutes(api))
        router.addRoutes(dashboardRoutes(api))
        return router
    }

    /// The API's routes: each one's `AuthorizeRoute` reads its access rule before its handler runs.
    static func apiRoutes(_ api: HubAPI) -> RouteCollection<HubRequestContext> {
        let routes = RouteCollection(context: HubRequestContext.self)
        for (route, segments) in zip(HubRoutes.all, HubRoutes.segments) {
            var index = 0
            var path = segments.map { segment -> String in
                guard segment == "*" else { return String(segment) }
                defer { index += 1 }
                return ":v\(index)"
            }.joined(separator: "/")
            if route.prefix { path += "/**" }
            let endpoint = RouteEndpoint(middleware: AuthorizeRoute(api: api, route: route, parameters: index, depth: segments.count),
                                         handler: RouteHandler(api: api, route: route))
            _ = routes.on(RouterPath(path), method: HTTPRequest.Method(rawValue: route.method)!, responder: endpoint)
        }
        return routes
    }

    /// The values of a route's `*` segments (decoded: cluster names are free text, `arn:aws:eks:…:cluster/prod`)
    /// and, for a prefix route, the rest of the path as it came, with a leading slash.
    static func values(_ context: HubRequestContext, parameters: Int, depth: Int, prefix: Bool) -> [String] {
        var values = (0..<parameters).map { i in
            let raw = context.coreContext.parameters.get("v\(i)") ?? ""
            return raw.removingPercentEncoding ?? raw
        }
        if prefix { values.append("/" + context.request.segments.dropFirst(depth).joined(separator: "/")) }
        return values
    }

    /// An answer as Hummingbird sends it: headers, a body or a stream of server-sent events.
    static func response(_ answer: APIResponse) -> Response {
        var headers: HTTPFields = [.contentType: answer.contentType]
        if let retry = answer.retryAfter { headers[.retryAfter] = String(retry) }
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        if let stream = answer.stream {
            // Each event written (and flushed) as it comes, until the stream ends or the client leaves.
            return Response(status: .init(code: answer.status), headers: headers, body: ResponseBody { writer in
                for await chunk in stream { try await writer.write(ByteBuffer(string: chunk)) }
                try await writer.finish(nil)
            })
        }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// A handler's error as the API answers it.
    func answer(for error: any Error, _ request: APIRequest) -> APIResponse {
        switch error {
        case let error as HubError:
            return .error(error.status, error.message)
        case let error as InputError:
            return .json(APIErrorBody(error: "\(error)", code: 422, reason: HubError.Code.invalid.rawValue,
                                      problems: error.problems.map { .init(field: $0.field, message: $0.message) }), status: 422)
        case let error as GenerationError:
            switch error.code {
            case .cancelled: return .error(503, "\(error) (limits.renderTimeout)")
            default: return .error(422, "\(error)")
            }
        case let error as APIAnswer:
            return error.answer
        case is CancellationError:
            // The server stops with this request in flight.
            return .error(503, "the hub is stopping")
        default:
            // The detail (SQL, paths) goes to the hub's log, never to the caller.
            hub.logger.error("\(request.method) \(request.path): \(error)")
            return .error(500, "internal error: the hub's log has the details")
        }
    }

    /// `?pretty=true` indents a JSON answer for people; the API answers compact JSON, as Kubernetes does.
    static func finished(_ answer: APIResponse, _ request: APIRequest) -> APIResponse {
        // try? is right here: pretty-printing only; the compact body is sent otherwise.
        guard request.query["pretty"] == "true", answer.contentType == "application/json", let value = try? JSONParser.parse(answer.body) else { return answer }
        var pretty = answer
        pretty.body = value.serialized(pretty: true) + "\n"
        return pretty
    }

    /// Every call that could change something is audited: who, what, when (the event's time), the outcome.
    func audit(_ request: APIRequest, caller: Caller?, status: Int) {
        hub.events.record(.audit, "\(caller?.account ?? "anonymous") \(request.method) \(request.path) → \(status)")
    }

    /// `audit` from a middleware: on the runner (the event log writes to the store).
    func record(_ request: APIRequest, caller: Caller?, status: Int, on runner: any RouteRunner) async {
        do { try await runner.run { [self] in audit(request, caller: caller, status: status) } } catch {
            hub.logger.error("cannot audit \(request.method) \(request.path): \(error)")
        }
    }
}

// MARK: Middlewares

/// The router's outer edge: a request no route takes is answered here — after authentication, so a client
/// without a token learns nothing of the routes: 405 when the path has routes for other methods, else 404 (a
/// dashboard path gets the dashboard's page). An error no inner layer answered becomes the API's error body.
struct AnswerEdge: RouterMiddleware {
    typealias Context = HubRequestContext
    let api: HubAPI

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.coreContext.endpointPath.value == "NotFound" {
            let incoming = ReadRequest.apiRequest(request, context: context, body: [])
            let runner = context.runner
            let answer: APIResponse
            do {
                answer = try await runner.run { [api] in api.unrouted(incoming) }
            } catch {
                answer = api.answer(for: error, incoming)
            }
            return HubAPI.response(answer)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            return HubAPI.response(api.answer(for: error, context.request))
        }
    }
}

extension HubAPI {
    /// The answer to a request no route takes.
    func unrouted(_ r: APIRequest) -> APIResponse {
        if Self.isDashboard(r) { return dashboardNotFound(r) }
        var caller: Caller?
        let answer: APIResponse
        do {
            caller = try hub.authenticate(r.headers["authorization"], from: r.remoteAddress)
            answer = HubRoutes.knowsPath(r) ? .error(405, "\(r.method) is not allowed on \(r.path)") : .error(404, "no route for \(r.method) \(r.path)")
        } catch {
            answer = self.answer(for: error, r)
        }
        if r.method != "GET" { audit(r, caller: caller, status: answer.status) }
        return answer
    }
}

/// Reads the body (up to `HubAPI.maxBody`; more is a 413) and puts the request as handlers read it into the
/// context.
struct ReadRequest: RouterMiddleware {
    typealias Context = HubRequestContext

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: HubAPI.maxBody) } catch {
            return HubAPI.response(.error(413, "request body exceeds \(HubAPI.maxBody >> 20) MiB"))
        }
        var context = context
        context.request = Self.apiRequest(request, context: context, body: Array(body.readableBytesView))
        return try await next(request, context)
    }

    static func apiRequest(_ request: Request, context: HubRequestContext, body: [UInt8]) -> APIRequest {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // HTTP/1's Host header arrives as the request's authority, not as a field: the dashboard compares it with
        // a post's Origin.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        var incoming = APIRequest(method: request.method.rawValue, path: request.uri.path, query: QueryString.parse(request.uri.query),
                                  headers: headers, body: body, remoteAddress: context.source.remoteAddress)
        incoming.isCancelled = context.source.isCancelled
        return incoming
    }
}

/// A route's access rule, checked before its handler: authentication (on the runner: it reads the token
/// store) and RBAC on the object the path names. Calls that could change something are audited with their
/// outcome, refused ones too.
struct AuthorizeRoute: RouterMiddleware {
    typealias Context = HubRequestContext
    let api: HubAPI
    let route: Route
    /// How many `*` segments the pattern has, and how many segments in all.
    let parameters: Int
    let depth: Int

    var audited: Bool {
        if case .open = route.access { return false }
        return route.method != "GET"
    }

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let r = context.request
        let values = HubAPI.values(context, parameters: parameters, depth: depth, prefix: route.prefix)
        context.values = values
        if case .open = route.access {} else {
            // The caller, once known, is audited with a refusal of RBAC.
            let (caller, refusal): (Caller?, APIResponse?)
            do {
                (caller, refusal) = try await context.runner.run { [api, route] in
                    let caller: Caller
                    do { caller = try api.hub.authenticate(r.headers["authorization"], from: r.remoteAddress) } catch {
                        return (nil, api.answer(for: error, r))
                    }
                    do { try api.authorize(route.access, values: values, caller: caller) } catch { return (caller, api.answer(for: error, r)) }
                    return (caller, nil)
                }
            } catch {
                (caller, refusal) = (nil, api.answer(for: error, r))
            }
            if let refusal {
                if audited { await api.record(r, caller: caller, status: refusal.status, on: context.runner) }
                throw APIAnswer(answer: refusal)
            }
            context.caller = caller
        }
        let response = try await next(request, context)
        if audited { await api.record(r, caller: context.caller, status: Int(response.status.code), on: context.runner) }
        return response
    }
}

/// A route's handler: on the runner (behind the admission gate when the route is expensive), its errors as the
/// API's answers.
struct RouteHandler: HTTPResponder {
    typealias Context = HubRequestContext
    let api: HubAPI
    let route: Route

    func respond(to request: Request, context: HubRequestContext) async throws -> Response {
        let r = context.request
        let call = RouteCall(request: r, values: context.values, caller: context.caller)
        let work: @Sendable (APIRequest) -> APIResponse = { [api, route] r in
            do { return try route.handle(api, call) } catch { return api.answer(for: error, r) }
        }
        let answer: APIResponse
        if route.expensive {
            answer = await context.runner.admit(r, work)
        } else {
            do { answer = try await context.runner.run { work(r) } } catch { answer = api.answer(for: error, r) }
        }
        return HubAPI.response(HubAPI.finished(answer, r))
    }
}

/// One route: its middleware, then its handler.
struct RouteEndpoint<Middleware: RouterMiddleware, Handler: HTTPResponder>: HTTPResponder
where Middleware.Context == HubRequestContext, Handler.Context == HubRequestContext {
    typealias Context = HubRequestContext
    let middleware: Middleware
    let handler: Handler

    func respond(to request: Request, context: HubRequestContext) async throws -> Response {
        try await middleware.handle(request, context: context) { request, context in
            try await handler.respond(to: request, context: context)
        }
    }
}

// MARK: Serving in process

/// Runs a route's work where the caller is, off the cooperative pool, with no admission gate: for callers in the
/// same process (tests, benchmarks).
struct InProcessRunner: RouteRunner {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await ConcurrentRunner.blocking(body)
    }

    func admit(_ request: APIRequest, _ body: @escaping @Sendable (APIRequest) -> APIResponse) async -> APIResponse {
        await ConcurrentRunner.blocking { body(request) }
    }
}

/// Collects a response body written in process.
private final class CollectedBody: @unchecked Sendable {
    private let lock = NIOLock()
    private var buffer = ByteBuffer()
    func append(_ more: ByteBuffer) { lock.withLock { var more = more; buffer.writeBuffer(&more) } }
    var text: String { lock.withLock { String(buffer: buffer) } }
}

private struct CollectingWriter: ResponseBodyWriter {
    let into: CollectedBody
    mutating func write(_ buffer: ByteBuffer) async throws { into.append(buffer) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Passes each chunk of a streamed body on as a server-sent events string, until the reader stops.
private struct StreamingWriter: ResponseBodyWriter {
    let out: AsyncStream<String>.Continuation
    mutating func write(_ buffer: ByteBuffer) async throws {
        if case .terminated = out.yield(String(buffer: buffer)) { throw CancellationError() }
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws { out.finish() }
}

extension HubAPI {
    /// A request answered in process by the same router the server uses (middlewares, RBAC, audit, errors).
    /// A server-sent events answer comes back as `stream`.
    public func handle(_ r: APIRequest) async -> APIResponse {
        var fields = HTTPFields()
        for (name, value) in r.headers where name != "host" {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        let query = r.query.sorted { $0.key < $1.key }.map { "\(urlEncode($0.key))=\(urlEncode($0.value))" }.joined(separator: "&")
        let head = HTTPRequest(method: HTTPRequest.Method(rawValue: r.method) ?? .get, scheme: nil, authority: r.headers["host"],
                               path: r.path + (query.isEmpty ? "" : "?" + query), headerFields: fields)
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: r.body)))
        let context = HubRequestContext(source: HubRequestSource(logger: hub.logger, remoteAddress: r.remoteAddress, isCancelled: r.isCancelled,
                                                                 runner: InProcessRunner()))
        let response: Response
        do { response = try await responder.respond(to: request, context: context) } catch {
            return answer(for: error, r)
        }
        var answer = APIResponse(status: Int(response.status.code), contentType: response.headers[.contentType] ?? "", body: "",
                                 retryAfter: response.headers[.retryAfter].flatMap { Int($0) })
        answer.headers = response.headers.filter { $0.name != .contentType && $0.name != .retryAfter }.map { ($0.name.rawName, $0.value) }
        if answer.contentType.hasPrefix("text/event-stream") {
            let (stream, out) = AsyncStream<String>.makeStream()
            let writing = Task { try await response.body.write(StreamingWriter(out: out)) }
            out.onTermination = { _ in writing.cancel() }
            answer.stream = stream
        } else {
            let collected = CollectedBody()
            do { try await response.body.write(CollectingWriter(into: collected)) } catch { return self.answer(for: error, r) }
            answer.body = collected.text
        }
        return answer
    }

    /// `handle` for a caller that is not async and not on Swift's cooperative pool (a benchmark's loop).
    public func handleBlocking(_ r: APIRequest) -> APIResponse {
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<APIResponse?>(nil)
        Task {
            let answer = await handle(r)
            result.withLockedValue { $0 = answer }
            done.signal()
        }
        done.wait()
        return result.withLockedValue { $0! }
    }
}
