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

    private func respond(_ request: APIRequest, caller: inout Caller?) -> APIResponse {
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
    private func match(_ r: APIRequest, _ method: String, _ pattern: StaticString) -> [String]? {
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

    private static func patternSegments(_ pattern: StaticString) -> [Substring] { patterns.segments(pattern) }

    /// RBAC of every route, in one place: a route not listed here needs no more than authentication
    /// (metrics, can-i, whoami, tokens of one's own account, checked in the handler).
    private func check(_ r: APIRequest, _ caller: Caller) throws {
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

    private func route(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
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

    private func text(_ r: APIRequest) throws -> String {
        guard let text = String(validating: r.body, as: UTF8.self) else { throw HubError(400, "request body is not UTF-8") }
        return text
    }

    private func jsonBody(_ r: APIRequest) throws -> JSONValue? {
        if r.body.isEmpty { return nil }
        do { return try JSONParser.parse(try text(r)) } catch { throw HubError(400, "request body is not valid JSON: \(error)") }
    }

    // MARK: Webhook

    private func webhook(_ r: APIRequest) -> APIResponse {
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

    // MARK: Clusters

    // MARK: Accounts, tokens, can-i

    private func accountRoutes(_ r: APIRequest, _ caller: Caller) throws -> APIResponse? {
        if match(r, "GET", "api/v1/whoami") != nil {
            return .json(.object([("account", .string(caller.account)), ("role", .string(caller.role)), ("token", .string(caller.tokenID))]))
        }
        if match(r, "GET", "api/v1/can-i") != nil {
            guard let action = r.query["action"], let resource = r.query["resource"] else { throw HubError(400, "query needs action, resource and object") }
            let object = r.query["object"] ?? "*"
            return .json(.object([("allowed", .bool(hub.can(caller, action, resource, object)))]))
        }
        if match(r, "GET", "api/v1/accounts") != nil {
            let page = try Page(r)
            let accounts = page.slice(try hub.authStore.accounts(), name: \.name)
            return .json(page.answer(accounts.items.map { a in
                .object([("name", .string(a.name)), ("role", .string(a.role)), ("createdAt", .string(a.createdAt))])
            }, next: accounts.next))
        }
        if match(r, "POST", "api/v1/accounts") != nil {
            guard let body = try jsonBody(r), let name = body["name"]?.stringValue, let role = body["role"]?.stringValue else {
                throw HubError(400, "body must be {\"name\": NAME, \"role\": \"role:…\"}")
            }
            try hub.createAccount(name, role: role)
            return .json(.object([("name", .string(name)), ("role", .string(role))]), status: 201)
        }
        if let v = match(r, "DELETE", "api/v1/accounts/*") {
            try hub.deleteAccount(v[0])
            return .json(.object([("deleted", .string(v[0]))]))
        }
        if let v = match(r, "POST", "api/v1/accounts/*/tokens") {
            let body = try jsonBody(r)
            let expiresIn: Double?
            if let text = body?["expiresIn"]?.stringValue {
                guard let seconds = HubConfiguration.parseDuration(text) else { throw HubError(422, "expiresIn '\(text)' is not a duration (e.g. 24h)") }
                expiresIn = seconds
            } else { expiresIn = nil }
            let made = try hub.createToken(account: v[0], seconds: expiresIn, description: body?["description"]?.stringValue ?? "", by: caller)
            return .json(.object([("id", .string(made.id)), ("account", .string(v[0])), ("token", .string(made.token)),
                                  ("expiresAt", made.expiresAt.map(JSONValue.string) ?? .null)]), status: 201)
        }
        if match(r, "GET", "api/v1/tokens") != nil {
            let all = hub.can(caller, "get", "accounts", "*")
            let page = try Page(r)
            let tokens = page.slice(try hub.authStore.tokens(account: all ? r.query["account"] : caller.account).sorted { $0.id < $1.id }, name: \.id)
            return .json(page.answer(tokens.items.map(Hub.tokenJSON), next: tokens.next))
        }
        if let v = match(r, "DELETE", "api/v1/tokens/*") {
            guard let token = try hub.authStore.token(id: v[0]),
                  token.account == caller.account || hub.can(caller, "update", "accounts", token.account) else {
                throw HubError(404, "token '\(v[0])' not found")
            }
            guard try hub.authStore.revoke(id: v[0]) else { throw HubError(409, "token '\(v[0])' is already revoked") }
            return .json(.object([("revoked", .string(v[0]))]))
        }
        return nil
    }

    private func events(_ r: APIRequest) throws -> APIResponse {
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let text = r.query[key] else { return fallback }
            guard let n = Int(text), n >= 0 else { throw HubError(400, "\(key) must be a non-negative integer, not '\(text)'") }
            return n
        }
        let items = try hub.store.events(cluster: r.query["cluster"], application: r.query["application"] ?? r.query["app"],
                                         after: try int("after", 0), limit: min(10_000, try int("limit", 1000)))
        return .json(.object([("items", .array(items.map { Hub.eventJSON($0) }))]))
    }

    private func clusterJSON(_ c: Cluster) -> JSONValue {
        var json = ClusterView.json(c)
        let state = hub.clusterState(c.name)
        json.set("state", .string(state.health.state.rawValue))
        json.set("stateSince", state.health.since > 0 ? .string(Hub.timestamp(Date(timeIntervalSince1970: state.health.since))) : .null)
        json.set("lastError", state.health.lastError.map(JSONValue.string) ?? .null)
        json.set("cordoned", .bool(state.cordoned))
        json.set("drained", .bool(state.drained))
        if let down = hub.unreachableClusters()[c.name] {
            json.set("reachable", false)
            json.set("unreachableSince", .string(Hub.timestamp(down.since)))
            json.set("lastError", .string(down.error))
        } else {
            json.set("reachable", true)
        }
        return json
    }

    private func listClusters(_ r: APIRequest) throws -> APIResponse {
        let selector = try r.query["selector"].map { text -> LabelSelector in
            do { return try LabelSelector(parsing: text) } catch { throw HubError(400, "selector: \(error)") }
        } ?? .everything
        let page = try Page(r)
        let clusters = page.slice(try hub.clusterStore.clusters().filter { selector.matches($0.labels) }, name: \.name)
        return .json(page.answer(clusters.items.map(clusterJSON), next: clusters.next))
    }

    private func getCluster(_ name: String) throws -> APIResponse {
        guard let c = try hub.clusterStore.cluster(named: name) else { throw HubError(404, "cluster '\(name)' not found") }
        return .json(clusterJSON(c))
    }

    /// POST: a clusters file body (Flotilla format or Argo CD Secrets), or one cluster; upserts them.
    /// Query: `prune=true` removes clusters the body does not list, `dryRun=true` only reports,
    /// `mode=create` refuses a name that exists. PUT /clusters/NAME: one cluster, whose name must match.
    private func putClusters(_ r: APIRequest, name: String?, caller: Caller?) throws -> APIResponse {
        var body = try text(r)
        let parsed = try YAMLValue.parse(body, file: "request body")
        if parsed["clusters"] == nil && parsed["kind"] == nil {
            // One cluster: wrap it as a clusters file.
            body = "clusters:\n" + body.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .map { $0.offset == 0 ? "  - " + $0.element : "    " + $0.element }.joined(separator: "\n")
        }
        // Credentials only by value: `tokenFile: /any/path` would make the hub read its own files for the caller.
        let entries = try ClustersFile.parse(body, file: "request body", files: NoFiles())
        if let name, entries.map(\.cluster.name) != [name] {
            throw HubError(400, "the body must describe exactly the cluster '\(name)' (got \(entries.map(\.cluster.name)))")
        }
        let prune = r.query["prune"] == "true", dryRun = r.query["dryRun"] == "true", create = r.query["mode"] == "create"
        let apply: (inout ClusterRegistry) throws -> Void = { registry in
            if create, let taken = entries.first(where: { registry[$0.cluster.name] != nil }) {
                throw HubError(409, "cluster '\(taken.cluster.name)' already exists")
            }
            if prune {
                let listed = Set(entries.map(\.cluster.name))
                for name in registry.names where !listed.contains(name) {
                    if let caller { try hub.authorize(caller, "delete", "clusters", name) }
                    registry.remove(name)
                }
            }
            for entry in entries {
                let existing = registry[entry.cluster.name]
                if let caller, existing != entry.cluster {
                    try hub.authorize(caller, existing == nil ? "create" : "update", "clusters", entry.cluster.name)
                }
                registry.upsert(entry.cluster)
            }
        }
        let changes: ClusterChanges
        if dryRun {
            let before = ClusterRegistry(try hub.clusterStore.clusters())
            var after = before
            try apply(&after)
            try after.validate()
            changes = after.changes(from: before)
        } else {
            changes = try hub.clusterStore.update(apply)
            if !changes.isEmpty { hub.clustersChanged() }
        }
        return .json(changesJSON(changes), status: changes.created.isEmpty || dryRun ? 200 : 201)
    }

    private func changesJSON(_ changes: ClusterChanges) -> JSONValue {
        .object([("created", .array(changes.created.map(JSONValue.string))), ("updated", .array(changes.updated.map(JSONValue.string))),
                 ("unchanged", .array(changes.unchanged.map(JSONValue.string))), ("deleted", .array(changes.deleted.map(JSONValue.string)))])
    }

    private func deleteCluster(_ name: String) throws -> APIResponse {
        guard try hub.clusterStore.cluster(named: name) != nil else { throw HubError(404, "cluster '\(name)' not found") }
        let changes = try hub.clusterStore.update { registry in _ = registry.remove(name) }
        hub.clustersChanged()
        return .json(changesJSON(changes))
    }

    /// Body: `{"set": {"k": "v"}, "remove": ["k2"], "overwrite": false}`. Changing an existing label's value
    /// needs `overwrite` (409 otherwise); removing a label the cluster lacks is a 400.
    private func labelCluster(_ name: String, _ r: APIRequest) throws -> APIResponse {
        guard let body = try jsonBody(r) else { throw HubError(400, "body must be {\"set\": {...}, \"remove\": [...]}") }
        guard try hub.clusterStore.cluster(named: name) != nil else { throw HubError(404, "cluster '\(name)' not found") }
        let set = body["set"]?.objectValue ?? []
        let remove = body["remove"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let overwrite = body["overwrite"]?.boolValue ?? true
        let changes = try hub.clusterStore.update { registry in
            guard var cluster = registry[name] else { return }
            for k in remove where cluster.labels.removeValue(forKey: k) == nil {
                throw HubError(400, "cluster '\(name)' has no label '\(k)' to remove")
            }
            for (k, v) in set {
                guard let value = v.stringValue else { throw HubError(400, "set.\(k): label values are strings") }
                if let old = cluster.labels[k], old != value, !overwrite {
                    throw HubError(409, "cluster '\(name)' already has label \(k)=\(old); use --overwrite to change it")
                }
                cluster.labels[k] = value
            }
            registry.upsert(cluster)
        }
        if !changes.isEmpty { hub.clustersChanged() }
        return try getCluster(name)
    }

    // MARK: ApplicationSets

    private func appSetJSON(_ set: ApplicationSet, full: Bool) -> JSONValue {
        let status = hub.status(ofApplicationSet: set.name)
        var json: JSONValue = .object([
            ("name", .string(set.name)),
            ("source", .string(hub.applicationSetFile(set.name) ?? "api")),
            ("applications", .int(status?.applications ?? 0)),
            ("generatedAt", status?.generatedAt.map { .string(Hub.timestamp($0)) } ?? .null),
            ("error", status?.error.map(JSONValue.string) ?? .null),
            // Applications skipped at the last generation (Argo CD's ErrorOccurred condition).
            ("problems", .array((status?.problems ?? []).map(JSONValue.string))),
        ])
        if full { json.set("object", set.object) }
        return json
    }

    private func listApplicationSets(_ r: APIRequest) throws -> APIResponse {
        let page = try Page(r)
        let sets = page.slice(hub.applicationSets(), name: \.name)
        return .json(page.answer(sets.items.map { appSetJSON($0, full: false) }, next: sets.next))
    }

    private func getApplicationSet(_ name: String) throws -> APIResponse {
        guard let set = hub.applicationSet(named: name) else { throw HubError(404, "ApplicationSet '\(name)' not found") }
        return .json(appSetJSON(set, full: true))
    }

    private func parseApplicationSets(_ r: APIRequest) throws -> [ApplicationSet] {
        let sets = try ApplicationSet.parse(try text(r), file: "request body")
        if sets.isEmpty { throw HubError(400, "the body holds no ApplicationSet") }
        return sets
    }

    private func planJSON(_ plan: ApplicationsSyncPlan) -> JSONValue {
        .object([("created", .array(plan.create.map { .string($0.name) })), ("updated", .array(plan.update.map { .string($0.name) })),
                 ("deleted", .array(plan.delete.map(JSONValue.string))), ("unchanged", .int(plan.unchanged.count)),
                 ("retained", .array(plan.retained.map(JSONValue.string)))])
    }

    private func applyApplicationSets(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        if let caller {
            for set in sets { try hub.authorize(caller, hub.applicationSet(named: set.name) == nil ? "create" : "update", "applicationsets", set.name) }
        }
        var results: [JSONValue] = []
        for set in sets {
            let plan = try hub.putApplicationSet(set, isCancelled: r.isCancelled)
            let problems = hub.status(ofApplicationSet: set.name)?.problems ?? []
            results.append(.object([("name", .string(set.name)), ("plan", planJSON(plan)), ("problems", .array(problems.map(JSONValue.string)))]))
        }
        return .json(.object([("items", .array(results))]))
    }

    /// What applying the body would do: Applications created, updated and deleted, each created or updated
    /// one with its rendered manifests and its diff against the live cluster. Changes nothing.
    private func preview(_ r: APIRequest) throws -> APIResponse {
        let sets = try parseApplicationSets(r)
        var results: [JSONValue] = []
        for set in sets {
            let limits = hub.renderLimits(isCancelled: r.isCancelled)
            let (plan, _, problems) = try hub.plan(set, isCancelled: r.isCancelled, fromAPI: true)
            let existing = Dictionary(try hub.store.applications(appSet: set.name).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            func detail(_ app: Application, change: String) throws -> JSONValue {
                // One cluster round trip per Application: stop between them once the deadline passes or the client leaves.
                do { try limits.checkpoint() } catch { throw HubError(503, "preview stopped: \(error) (limits.renderTimeout)") }
                let result = hub.preview(app)
                var json: JSONValue = .object([
                    ("name", .string(app.name)), ("change", .string(change)),
                    ("cluster", Hub.cluster(of: app.object, in: (try? hub.clusterStore.clusters()) ?? []).map(JSONValue.string) ?? .null),
                    ("application", app.object),
                    ("sync", .string(result.syncStatus.rawValue)),
                    ("resources", .array(result.resources.map { res in
                        .object([("kind", .string(res.ref.kind)), ("namespace", res.ref.namespace.map(JSONValue.string) ?? .null),
                                 ("name", .string(res.ref.name)), ("status", .string(res.inSync ? "Synced" : "OutOfSync")),
                                 ("diff", res.diff.map(JSONValue.string) ?? .null)])
                    })),
                ])
                if !result.message.isEmpty { json.set("message", .string(result.message)) }
                if change == "update", let old = existing[app.name]?.object {
                    json.set("applicationDiff", .string(Differ.compare(desired: app.object, live: old).unified(label: "Application \(app.name)")))
                }
                return json
            }
            let details = try plan.create.map { try detail($0, change: "create") } + plan.update.map { try detail($0, change: "update") }
            let deletes = plan.delete.map { name in
                JSONValue.object([("name", .string(name)), ("change", "delete"), ("cluster", existing[name]?.cluster.map(JSONValue.string) ?? .null),
                                  ("prune", .bool(plan.pruneOnDelete))])
            }
            results.append(.object([("name", .string(set.name)), ("plan", planJSON(plan)), ("applications", .array(details + deletes)),
                                    ("problems", .array(problems.map { .object([("application", .string($0.application)),
                                                                                 ("reason", .string($0.reason.rawValue)),
                                                                                 ("message", .string($0.message))]) }))]))
        }
        return .json(.object([("items", .array(results))]))
    }

    // MARK: Applications

    static func summary(_ app: StoredApplication) -> JSONValue {
        let s = app.status
        return .object([
            ("name", .string(app.name)), ("appSet", .string(app.appSet)), ("cluster", app.cluster.map(JSONValue.string) ?? .null),
            ("namespace", app.object.value(at: ["spec", "destination", "namespace"]) ?? .null),
            ("sync", s.value(at: ["sync", "status"]) ?? "Unknown"), ("health", s.value(at: ["health", "status"]) ?? "Unknown"),
            ("revision", s.value(at: ["sync", "revisions"])?.arrayValue?.first ?? .null),
            ("pinnedRevision", app.pinnedRevision.map(JSONValue.string) ?? .null),
            ("operation", s.value(at: ["operationState", "phase"]) ?? .null),
            ("reconciledAt", s["reconciledAt"] ?? .null),
            ("conditions", s["conditions"] ?? .array([])),
            ("activeCluster", app.activeCluster.map(JSONValue.string) ?? .null),
            ("placement", Hub.placementJSON(app.placement)),
        ])
    }

    private func listApplications(_ r: APIRequest, caller: Caller?) throws -> APIResponse {
        let selector = try r.query["selector"].map { text -> LabelSelector in
            do { return try LabelSelector(parsing: text) } catch { throw HubError(400, "selector: \(error)") }
        } ?? .everything
        let page = try Page(r)
        // Rows are read in batches after the cursor and filtered until the page is full: a page costs about its
        // size, whatever the number of Applications.
        var body: [UInt8] = []
        var shown = 0
        var cursor = page.after
        var more = true
        // The caller's roles, once for every item's RBAC check.
        let roles = caller.map { hub.policy.roles(of: $0.account, extra: [$0.role]) }
        let filtered = !selector.isEmpty || r.query["sync"] != nil || r.query["health"] != nil || caller.map { !hub.can($0, "get", "applications", "*/*") } ?? false
        // Unfiltered, a page reads one row more than it shows (to know whether more follow); filtered, more.
        let batch = filtered ? min(5000, max(page.limit * 2, 100)) : page.limit + 1
        scan: while more {
            let rows = try hub.store.applicationVersions(appSet: r.query["appSet"], cluster: r.query["cluster"], after: cursor, limit: batch)
            more = rows.count == batch
            // Decode only what changed since it was last listed.
            let readAt = hub.summaries.tick
            var entries = rows.map { hub.summaries.get($0.name, updatedAt: $0.updatedAt) }
            let missing = rows.indices.filter { entries[$0] == nil }
            if !missing.isEmpty {
                var position: [String: Int] = [:]
                for i in missing { position[rows[i].name] = i }
                for app in try hub.store.applications(named: missing.map { rows[$0].name }) {
                    guard let i = position[app.name] else { continue }
                    let entry = SummaryCache.entry(app, updatedAt: rows[i].updatedAt, summary: Self.summary(app))
                    hub.summaries.put(app.name, entry, readAt: readAt)
                    entries[i] = entry
                }
            }
            for (index, row) in rows.enumerated() {
                cursor = row.name
                guard let entry = entries[index] else { continue }   // deleted meanwhile
                if !selector.isEmpty && !selector.matches(entry.labels) { continue }
                if let roles, !hub.policy.allows(roles: roles, "get", "applications", "\(entry.project)/\(row.name)") { continue }
                if let sync = r.query["sync"], entry.sync != sync { continue }
                if let health = r.query["health"], entry.health != health { continue }
                if !body.isEmpty { body.append(UInt8(ascii: ",")) }
                hub.summaries.write(entry, reconciledAt: hub.lastReconciled(row.name), into: &body)
                shown += 1
                if shown == page.limit {
                    // More follow if this batch has rows left or another batch may: the next page starts after
                    // this one's last name.
                    more = more || index < rows.count - 1
                    break scan
                }
            }
        }
        // The items are written from cached bytes: `{"items":[…],"continue":…}`.
        var out = Array(#"{"items":["#.utf8)
        out.append(contentsOf: body)
        out.append(UInt8(ascii: "]"))
        if more, let cursor { out.append(contentsOf: (#","continue":"# + JSONValue.string(Page.encode(cursor)).serialized(pretty: false)).utf8) }
        out.append(contentsOf: "}\n".utf8)
        return APIResponse(status: 200, contentType: "application/json", body: String(decoding: out, as: UTF8.self))
    }

    private func stored(_ name: String) throws -> StoredApplication {
        guard let app = try hub.store.application(named: name) else { throw HubError(404, "Application '\(name)' not found") }
        return app
    }

    private func getApplication(_ name: String) throws -> APIResponse {
        let app = try stored(name)
        var json = Self.summary(app)
        if let at = hub.lastReconciled(name) { json.set("reconciledAt", .string(at)) }
        json.set("object", app.object)
        json.set("status", app.status)
        json.set("history", historyJSON(try hub.store.history(name)))
        return .json(json)
    }

    private func historyJSON(_ records: [SyncRecord]) -> JSONValue {
        .array(records.map { h in
            .object([("id", .int(h.id)), ("revision", .string(h.revision)), ("startedAt", .string(h.startedAt)),
                     ("finishedAt", .string(h.finishedAt)), ("result", .string(h.result)), ("resources", h.resources)])
        })
    }

    private func history(_ name: String) throws -> APIResponse {
        _ = try stored(name)
        return .json(.object([("items", historyJSON(try hub.store.history(name)))]))
    }

    private func diff(_ name: String) throws -> APIResponse {
        let result = try hub.diff(name)
        return .json(.object([
            ("name", .string(name)), ("sync", .string(result.syncStatus.rawValue)), ("message", .string(result.message)),
            ("resources", .array(result.resources.map { res in
                .object([("kind", .string(res.ref.kind)), ("namespace", res.ref.namespace.map(JSONValue.string) ?? .null),
                         ("name", .string(res.ref.name)), ("status", .string(res.inSync ? "Synced" : "OutOfSync")),
                         ("diff", res.diff.map(JSONValue.string) ?? .null)])
            })),
        ]))
    }
}
