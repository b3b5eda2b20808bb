import FleetAuth
import FleetConfig
import FleetDiff
import FleetGenerators
import FleetModel
import FleetReconcile
import FleetStore
import FleetSync
import Foundation

/// One HTTP request as the API sees it.
public typealias APIRequest = ServerRequest

public struct APIResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String
    /// Seconds after which a refused request may be retried (503, 429).
    public var retryAfter: Int?

    public init(status: Int, contentType: String, body: String, retryAfter: Int? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.retryAfter = retryAfter
    }

    static func json(_ value: JSONValue, status: Int = 200) -> APIResponse {
        APIResponse(status: status, contentType: "application/json", body: value.serialized(pretty: false) + "\n")
    }

    static func error(_ status: Int, _ message: String) -> APIResponse {
        json(.object([("error", .string(message)), ("code", .int(status))]), status: status)
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
            guard let n = Int(text), n >= 1 else { throw HubError(400, "limit must be a positive integer, not '\(text)'") }
            limit = min(n, Self.maxLimit)
        } else {
            limit = Self.defaultLimit
        }
        if let token = r.query["continue"], !token.isEmpty {
            guard let name = Self.decode(token) else { throw HubError(400, "continue token '\(token)' is not one this hub issued") }
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

    func answer(_ items: [JSONValue], next: String?) -> JSONValue {
        var json: JSONValue = .object([("items", .array(items))])
        if let next { json.set("continue", .string(Self.encode(next))) }
        return json
    }
}

/// Split route patterns, by their text. `lock` guards `split`.
final class PatternCache: @unchecked Sendable {
    private let lock = NSLock()
    private var split: [Int: [Substring]] = [:]

    func segments(_ pattern: StaticString) -> [Substring] {
        // A pattern is a literal: its address in the binary identifies it.
        let key = Int(bitPattern: pattern.utf8Start)
        if let hit = lock.withLock({ split[key] }) { return hit }
        let parts = pattern.description.split(separator: "/")
        lock.withLock { split[key] = parts }
        return parts
    }
}

/// The hub's HTTP API (documented in docs/api.md), independent of the HTTP server: a request in, a response
/// out. Handlers block (SQLite, git, clusters): the server calls them off Swift's cooperative pool.
public struct HubAPI: Sendable {
    public let hub: Hub
    /// Largest accepted request body.
    public static let maxBody = 8 << 20

    public init(hub: Hub) { self.hub = hub }

    public func handle(_ request: APIRequest) -> APIResponse {
        if request.body.count > Self.maxBody { return .error(413, "request body exceeds \(Self.maxBody >> 20) MiB") }
        var caller: Caller?
        var response = respond(request, caller: &caller)
        // Compact JSON, as Kubernetes answers; `?pretty=true` indents it for people.
        if request.query["pretty"] == "true", response.contentType == "application/json", let value = try? JSONParser.parse(response.body) {
            response.body = value.serialized(pretty: true) + "\n"
        }
        // Every call that could change something is audited: who, what, when (the event's time), the outcome.
        if request.method != "GET" && !Self.isPublic(request) {
            let who = caller?.account ?? "anonymous"
            try? hub.store.appendEvent(HubEvent(type: "Audit", message: "\(who) \(request.method) \(request.path) → \(response.status)"))
        }
        return response
    }

    /// Routes whose work is bounded only by their input (templates, git, clusters): they run behind the
    /// admission gate, with a deadline, and stop when the client leaves.
    public static func isExpensive(_ r: APIRequest) -> Bool {
        if r.method == "POST" && (r.path == "/api/v1/applicationsets/preview" || r.path == "/api/v1/applicationsets") { return true }
        return r.method == "GET" && r.path.hasPrefix("/api/v1/applications/") && r.path.hasSuffix("/diff")
    }

    /// Routes that answer without a token: liveness, readiness, and the git webhook (its own signature).
    static func isPublic(_ r: APIRequest) -> Bool {
        (r.method == "GET" && ["/healthz", "/readyz"].contains(r.path)) || (r.method == "POST" && r.path == "/api/v1/webhook/git")
    }

    func respond(_ request: APIRequest, caller: inout Caller?) -> APIResponse {
        do {
            if !Self.isPublic(request) {
                let who = try hub.authenticate(request.headers["authorization"], from: request.remoteAddress)
                caller = who
                try check(request, who)
            }
            return try route(request, caller: caller)
        } catch let error as HubError {
            return .error(error.status, error.message)
        } catch let error as InputError {
            return .json(.object([("error", .string("\(error)")), ("code", 422),
                                  ("problems", .array(error.problems.map { p in .object([("field", .string(p.field)), ("message", .string(p.message))]) }))]),
                         status: 422)
        } catch let error as GenerationError {
            switch error.code {
            case .cancelled: return .error(503, "\(error) (limits.renderTimeout)")
            default: return .error(422, "\(error)")
            }
        } catch {
            // The detail (SQL, paths) goes to the hub's log, never to the caller.
            hub.logger.error("\(request.method) \(request.path): \(error)")
            return .error(500, "internal error: the hub's log has the details")
        }
    }

    /// The path's `*` segments when `r` is `method pattern`, else nil.
    func match(_ r: APIRequest, _ method: String, _ pattern: StaticString) -> [String]? {
        guard method == "*" || r.method == method else { return nil }
        let parts = r.segments
        let want = Self.patternSegments(pattern)
        guard parts.count == want.count else { return nil }
        var values: [String] = []
        for (part, w) in zip(parts, want) {
            // Names arrive percent-encoded: cluster names are free text (`arn:aws:eks:…:cluster/prod`).
            if w == "*" { values.append(String(part).removingPercentEncoding ?? String(part)) } else if part != w { return nil }
        }
        return values
    }

    /// Route patterns split once: routing compares segments, without splitting strings on every request.
    private static let patterns = PatternCache()

    static func patternSegments(_ pattern: StaticString) -> [Substring] { patterns.segments(pattern) }

    /// RBAC of every route, in one place: a route not listed here needs no more than authentication
    /// (metrics, can-i, whoami, tokens of one's own account, checked in the handler).
    func check(_ r: APIRequest, _ caller: Caller) throws {
        func need(_ action: String, _ resource: String, _ object: String) throws { try hub.authorize(caller, action, resource, object) }
        if match(r, "GET", "api/v1/clusters") != nil { return try need("get", "clusters", "*") }
        // Upserts check per cluster in the handler: create for a new one, update for one that exists, delete for
        // each one a prune removes.
        if match(r, "POST", "api/v1/clusters") != nil || match(r, "PUT", "api/v1/clusters/*") != nil {
            let object = match(r, "PUT", "api/v1/clusters/*")?.first ?? "*"
            if !["create", "update", "delete"].contains(where: { hub.can(caller, $0, "clusters", object) }) {
                throw HubError(403, "permission denied: \(caller.account) may not create, update or delete clusters \(object)")
            }
            return
        }
        if let v = match(r, "GET", "api/v1/clusters/*") { return try need("get", "clusters", v[0]) }
        if let v = match(r, "PUT", "api/v1/clusters/*") { return try need("update", "clusters", v[0]) }
        if let v = match(r, "DELETE", "api/v1/clusters/*") { return try need("delete", "clusters", v[0]) }
        if let v = match(r, "POST", "api/v1/clusters/*/*") { return try need("update", "clusters", v[0]) }
        if match(r, "GET", "api/v1/applicationsets") != nil { return try need("get", "applicationsets", "*") }
        // Checked per ApplicationSet in the handler: create for a new one, update for one that exists.
        if match(r, "POST", "api/v1/applicationsets") != nil {
            if !["create", "update"].contains(where: { hub.can(caller, $0, "applicationsets", "*") }) {
                throw HubError(403, "permission denied: \(caller.account) may not create or update applicationsets")
            }
            return
        }
        if match(r, "POST", "api/v1/applicationsets/preview") != nil { return try need("get", "applicationsets", "*") }
        if let v = match(r, "GET", "api/v1/applicationsets/*") { return try need("get", "applicationsets", v[0]) }
        if let v = match(r, "DELETE", "api/v1/applicationsets/*") { return try need("delete", "applicationsets", v[0]) }
        if match(r, "GET", "api/v1/applications") != nil { return }   // filtered per item
        if let v = match(r, "GET", "api/v1/applications/*") ?? match(r, "GET", "api/v1/applications/*/*") {
            return try need("get", "applications", hub.rbacObject(application: v[0]))
        }
        if let v = match(r, "POST", "api/v1/applications/*/*") {
            let action = ["sync", "refresh"].contains(v[1]) ? "sync" : "rollback"
            return try need(action, "applications", hub.rbacObject(application: v[0]))
        }
        if match(r, "GET", "api/v1/events") != nil { return try need("get", "events", "*") }
        if match(r, "GET", "api/v1/projects") != nil { return try need("get", "projects", "*") }
        if match(r, "GET", "api/v1/accounts") != nil { return try need("get", "accounts", "*") }
        if match(r, "POST", "api/v1/accounts") != nil { return try need("create", "accounts", "*") }
        if let v = match(r, "DELETE", "api/v1/accounts/*") { return try need("delete", "accounts", v[0]) }
        if let v = match(r, "POST", "api/v1/accounts/*/tokens"), v[0] != caller.account { return try need("update", "accounts", v[0]) }
    }

    func route(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        if match(r, "GET", "healthz") != nil { return APIResponse(status: 200, contentType: "text/plain", body: "ok\n") }
        if match(r, "GET", "readyz") != nil {
            return hub.isReady ? APIResponse(status: 200, contentType: "text/plain", body: "ok\n")
                : APIResponse(status: 503, contentType: "text/plain", body: "loading\n")
        }
        if match(r, "GET", "metrics") != nil { return APIResponse(status: 200, contentType: "text/plain; version=0.0.4", body: hub.prometheus()) }
        if match(r, "POST", "api/v1/webhook/git") != nil { return webhook(r) }

        if match(r, "GET", "api/v1/clusters") != nil { return try listClusters(r) }
        if match(r, "POST", "api/v1/clusters") != nil { return try putClusters(r, name: nil, caller: caller) }
        if let v = match(r, "GET", "api/v1/clusters/*") { return try getCluster(v[0]) }
        if let v = match(r, "PUT", "api/v1/clusters/*") { return try putClusters(r, name: v[0], caller: caller) }
        if let v = match(r, "DELETE", "api/v1/clusters/*") { return try deleteCluster(v[0]) }
        if let v = match(r, "POST", "api/v1/clusters/*/labels") { return try labelCluster(v[0], r) }
        if let v = match(r, "POST", "api/v1/clusters/*/cordon") { try hub.cordon(v[0]); return try getCluster(v[0]) }
        if let v = match(r, "POST", "api/v1/clusters/*/uncordon") { try hub.uncordon(v[0]); return try getCluster(v[0]) }
        if let v = match(r, "POST", "api/v1/clusters/*/drain") { try hub.drain(v[0]); return try getCluster(v[0]) }
        if let v = match(r, "POST", "api/v1/clusters/*/failback") {
            let n = try hub.failback(v[0])
            return .json(.object([("cluster", .string(v[0])), ("failingBack", .int(n))]), status: 202)
        }
        if match(r, "GET", "api/v1/events") != nil { return try events(r) }
        if match(r, "GET", "api/v1/projects") != nil {
            return .json(.object([("items", .array(hub.projectList().map { p in
                .object([("name", .string(p.name)), ("sourceRepos", .array(p.sourceRepos.map(JSONValue.string))),
                         ("destinations", .array(p.destinations.map { d in
                             .object([("server", d.server.map(JSONValue.string) ?? .null), ("name", d.name.map(JSONValue.string) ?? .null),
                                      ("namespace", .string(d.namespace))]) })),
                         ("syncWindows", .int(p.syncWindows.count))])
            }))]))
        }
        if let caller, let answer = try accountRoutes(r, caller) { return answer }

        if match(r, "GET", "api/v1/applicationsets") != nil { return try listApplicationSets(r) }
        if match(r, "POST", "api/v1/applicationsets") != nil { return try applyApplicationSets(r, caller: caller) }
        if match(r, "POST", "api/v1/applicationsets/preview") != nil { return try preview(r) }
        if let v = match(r, "GET", "api/v1/applicationsets/*") { return try getApplicationSet(v[0]) }
        if let v = match(r, "DELETE", "api/v1/applicationsets/*") {
            try hub.deleteApplicationSet(v[0])
            return .json(.object([("deleted", .string(v[0]))]))
        }

        if match(r, "GET", "api/v1/applications") != nil { return try listApplications(r, caller: caller) }
        if let v = match(r, "GET", "api/v1/applications/*") { return try getApplication(v[0]) }
        if let v = match(r, "GET", "api/v1/applications/*/diff") { return try diff(v[0]) }
        if let v = match(r, "GET", "api/v1/applications/*/history") { return try history(v[0]) }
        if let v = match(r, "POST", "api/v1/applications/*/sync") {
            let body = try jsonBody(r)
            try hub.sync(v[0], prune: body?["prune"]?.boolValue ?? true, by: caller?.account ?? "api")
            return .json(.object([("application", .string(v[0])), ("queued", true)]), status: 202)
        }
        if let v = match(r, "POST", "api/v1/applications/*/refresh") {
            try hub.refresh(v[0])
            return .json(.object([("application", .string(v[0])), ("queued", true)]), status: 202)
        }
        if let v = match(r, "POST", "api/v1/applications/*/rollback") {
            guard let body = try jsonBody(r), case .int(let id)? = body["id"] else { throw HubError(400, "body must be {\"id\": N}: a history entry id") }
            let revision = try hub.rollback(v[0], to: id)
            return .json(.object([("application", .string(v[0])), ("pinnedRevision", .string(revision)), ("queued", true)]), status: 202)
        }
        if let v = match(r, "POST", "api/v1/applications/*/unpin") {
            try hub.unpin(v[0])
            return .json(.object([("application", .string(v[0])), ("pinnedRevision", .null), ("queued", true)]), status: 202)
        }
        // A known path with another method: 405.
        let paths = ["healthz", "readyz", "metrics", "api/v1/webhook/git", "api/v1/clusters", "api/v1/clusters/*", "api/v1/clusters/*/labels", "api/v1/clusters/*/cordon", "api/v1/clusters/*/uncordon", "api/v1/clusters/*/drain", "api/v1/clusters/*/failback", "api/v1/events", "api/v1/accounts", "api/v1/accounts/*", "api/v1/accounts/*/tokens",
                     "api/v1/tokens", "api/v1/tokens/*", "api/v1/can-i", "api/v1/whoami", "api/v1/projects",
                     "api/v1/applicationsets", "api/v1/applicationsets/*", "api/v1/applications", "api/v1/applications/*",
                     "api/v1/applications/*/diff", "api/v1/applications/*/history", "api/v1/applications/*/sync",
                     "api/v1/applications/*/refresh", "api/v1/applications/*/rollback", "api/v1/applications/*/unpin"]
        if paths.contains(where: { pattern in
            let want = pattern.split(separator: "/")
            return want.count == r.segments.count && zip(r.segments, want).allSatisfy { $1 == "*" || $0 == $1 }
        }) { return .error(405, "\(r.method) is not allowed on \(r.path)") }
        return .error(404, "no route for \(r.method) \(r.path)")
    }

    func text(_ r: APIRequest) throws -> String {
        guard let text = String(validating: r.body, as: UTF8.self) else { throw HubError(400, "request body is not UTF-8") }
        return text
    }

    func jsonBody(_ r: APIRequest) throws -> JSONValue? {
        if r.body.isEmpty { return nil }
        do { return try JSONParser.parse(try text(r)) } catch { throw HubError(400, "request body is not valid JSON: \(error)") }
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
