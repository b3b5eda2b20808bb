import FleetAPI
import FleetAuth
import FleetConfig
import FleetDiff
import FleetGenerators
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation
import Hummingbird

/// One HTTP request as the API sees it.
public typealias APIRequest = ServerRequest

public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String
    /// Seconds after which a refused request may be retried (503, 429).
    public var retryAfter: Int?
    /// More header fields (the dashboard's cookies, security headers, redirects).
    public var headers: [(String, String)] = []
    /// A streamed body (server-sent events): each string written as it comes, until the stream ends or the
    /// client leaves. `body` is not sent.
    public var stream: AsyncStream<String>?

    public init(status: Int, contentType: String, body: String, retryAfter: Int? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.retryAfter = retryAfter
    }

    static func json(_ value: JSONValue, status: Int = 200) -> APIResponse {
        APIResponse(status: status, contentType: "application/json", body: value.serialized(pretty: false) + "\n")
    }

    /// An answer of the API's types (FleetAPI): fields in their declared order, absent ones as null.
    static func json<T: Encodable>(_ value: T, status: Int = 200) -> APIResponse { json(APIJSON.value(value), status: status) }

    /// `{"error": MESSAGE, "code": STATUS, "reason": REASON}`, with Kubernetes' reason names.
    static func error(_ status: Int, _ message: String) -> APIResponse {
        let reason = HubError.Code.allCases.first { $0.httpStatus == status }?.rawValue
            ?? (status == 413 ? "RequestEntityTooLarge" : status == 499 ? "ClientClosedRequest" : "Unknown")
        return json(APIErrorBody(error: message, code: status, reason: reason), status: status)
    }
}

/// One page of a list route: `limit` (default 500, at most 5,000) items after the `continue` token of the page
/// before. The answer has `continue` when more items follow. Items are ordered by name.
struct Page {
    static let defaultLimit = 500, maxLimit = 5000
    let limit: Int
    let after: String?

    init(_ r: APIRequest) throws {
        if let text = r.query["limit"] {
            guard let n = Int(text), n >= 1 else { throw HubError(.badRequest, "limit must be a positive integer, not '\(text)'") }
            limit = min(n, Self.maxLimit)
        } else {
            limit = Self.defaultLimit
        }
        if let token = r.query["continue"], !token.isEmpty {
            guard let name = Self.decode(token) else { throw HubError(.badRequest, "continue token '\(token)' is not one this hub issued") }
            after = name
        } else {
            after = nil
        }
    }

    /// The opaque token for the page after `name`.
    static func encode(_ name: String) -> String {
        Data(name.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> String? {
        var text = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// This page of `all` (sorted by `name`).
    func slice<T>(_ all: [T], name: (T) -> String) -> (items: [T], next: String?) {
        let rest = after.map { cursor in all.filter { name($0) > cursor } } ?? all
        let items = Array(rest.prefix(limit))
        return (items, rest.count > limit ? items.last.map(name) : nil)
    }

    func answer<Item: Codable & Sendable>(_ items: [Item], next: String?) -> ListPage<Item> {
        ListPage(items: items, continue: next.map(Self.encode))
    }
}

/// The hub's HTTP API (documented in docs/api.md), independent of the HTTP server: a request in, a response
/// out. Handlers block (SQLite, git, clusters): the server calls them off Swift's cooperative pool.
public struct HubAPI: Sendable {
    public let hub: Hub
    /// Largest accepted request body.
    public static let maxBody = 8 << 20
    /// The hub's router (API and dashboard), as the server and in-process callers drive it.
    let responder: RouterResponder<HubRequestContext>

    public init(hub: Hub) {
        self.hub = hub
        responder = Self.makeRouter(HubAPI(handlersOf: hub)).buildResponder()
    }

    /// The API the routes' handlers hold: the same hub, no router of its own.
    private init(handlersOf hub: Hub) {
        self.hub = hub
        responder = Router(context: HubRequestContext.self).buildResponder()
    }

    /// RBAC of a route, before its handler runs.
    func authorize(_ access: RouteAccess, values: [String], caller: Caller) throws {
        func object(_ o: RBACObject) -> String {
            switch o {
            case .all: "*"
            case .segment(let i): values[i]
            case .application(let i): hub.rbacObject(application: values[i])
            }
        }
        switch access {
        case .open, .authenticated:
            return
        case .rbac(let action, let resource, let o):
            try hub.authorize(caller, action, resource, object(o))
        case .anyOf(let actions, let resource, let o):
            let name = object(o)
            if !actions.contains(where: { hub.can(caller, $0, resource, name) }) {
                let list = actions.count < 2 ? actions.joined() : actions.dropLast().joined(separator: ", ") + " or " + actions.last!
                throw HubError(.forbidden, "permission denied: \(caller.account) may not \(list) \(resource)\(name == "*" ? "" : " " + name)")
            }
        case .ownAccountOr(let action, let resource):
            if values[0] != caller.account { try hub.authorize(caller, action, resource, values[0]) }
        }
    }

    func text(_ r: APIRequest) throws -> String {
        guard let text = String(validating: r.body, as: UTF8.self) else { throw HubError(.badRequest, "request body is not UTF-8") }
        return text
    }

    func jsonBody(_ r: APIRequest) throws -> JSONValue? {
        if r.body.isEmpty { return nil }
        do { return try JSONParser.parse(try text(r)) } catch { throw HubError(.badRequest, "request body is not valid JSON: \(error)") }
    }

    /// The body as one of the API's request types; nil when empty. A body that does not fit is a 400 naming the field.
    func body<T: Decodable>(_ type: T.Type, _ r: APIRequest) throws -> T? {
        guard let json = try jsonBody(r) else { return nil }
        do { return try APIJSON.decode(type, from: json) } catch { throw HubError(.badRequest, "request body: \(error)") }
    }

    // MARK: Webhook

    func webhook(_ r: APIRequest) -> APIResponse {
        guard let secret = hub.config.webhookSecret else {
            hub.metrics.observeWebhook(status: 404)
            return .error(404, "the git webhook is disabled: set git.webhookSecret in the hub configuration")
        }
        do {
            let hook = try GitWebhook.parse(headers: r.headers, body: r.body, secret: secret)
            let repos = hub.handlePush(hook)
            hub.metrics.observeWebhook(status: 202)
            return .json(.object([("provider", .string(hook.provider.rawValue)), ("refreshing", .array(repos.map(JSONValue.string)))]), status: 202)
        } catch let rejection as GitWebhook.Rejection {
            hub.metrics.observeWebhook(status: rejection.status)
            return .error(rejection.status, rejection.message)
        } catch {
            hub.metrics.observeWebhook(status: 400)
            return .error(400, "\(error)")
        }
    }
}
