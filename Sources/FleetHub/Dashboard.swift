import FleetAPI
import FleetDashboard
import FleetModel
import FleetServing
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

/// The web dashboard (docs/dashboard.md): server-rendered pages under `/ui/`, served by the hub beside its API.
///
/// A page accepts the API's `Authorization: Bearer` header, or the session cookie a person gets by logging in
/// with an API token. RBAC is the API's: a page shows what the viewer may get, a button appears only when the
/// viewer may do what it does, and every post is checked again. Posts from a cookie session carry the session's
/// CSRF token; posts with a `Bearer` header need none (no browser adds that header by itself).
extension HubAPI {
    static let renderer = Renderer()

    /// Whether the dashboard answers this path.
    static func isDashboard(_ r: APIRequest) -> Bool { r.path == "/" || r.path == "/ui" || r.path.hasPrefix("/ui/") }

    /// The viewer of a page: from the `Authorization` header (a bad one is an error), else from the session
    /// cookie (a bad one is no viewer). `session` is the token the CSRF token derives from; `cookie` whether it
    /// came from the cookie (then posts must carry it).
    struct PageViewer {
        let caller: Caller
        let token: String
        let cookie: Bool

        var viewer: Viewer { Viewer(account: caller.account, role: caller.role, csrf: Session.csrfToken(session: token)) }
    }

    func pageViewer(_ r: APIRequest) throws -> PageViewer? {
        if let header = r.headers["authorization"] {
            let caller = try hub.authenticate(header, from: r.remoteAddress)
            return PageViewer(caller: caller, token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), cookie: false)
        }
        guard let token = Session.cookies(r.headers["cookie"])[Session.cookie], !token.isEmpty,
              // try? is right here: a bad or expired session cookie is no viewer: the page asks to log in.
              let caller = try? hub.authenticate("Bearer " + token, from: r.remoteAddress) else { return nil }
        return PageViewer(caller: caller, token: token, cookie: true)
    }

    /// Cookies are `Secure` when the hub serves HTTPS, or a proxy in front of it says the browser used HTTPS.
    func secureCookies(_ r: APIRequest) -> Bool { hub.config.tlsCert != nil || r.headers["x-forwarded-proto"]?.lowercased() == "https" }

    static func page(_ html: String, status: Int = 200, headers: [(String, String)] = []) -> APIResponse {
        var response = APIResponse(status: status, contentType: "text/html; charset=utf-8", body: html)
        response.headers = Session.securityHeaders + headers
        return response
    }

    static func redirect(_ location: String, headers: [(String, String)] = []) -> APIResponse {
        var response = APIResponse(status: 303, contentType: "text/plain; charset=utf-8", body: "See \(location)\n")
        response.headers = Session.securityHeaders + [("Location", location)] + headers
        return response
    }

    func errorPage(_ status: Int, _ message: String, viewer: PageViewer?) -> APIResponse {
        Self.page(Self.renderer.error(status: status, message: message, viewer: viewer?.viewer), status: status)
    }

    /// The dashboard's pages as routes of the hub's router. Every page but the login form and the assets sits
    /// behind `DashboardSession`; a page's work runs on the runner, the live diff and the preview behind the
    /// admission gate, as the API's previews and diffs do.
    static func dashboardRoutes(_ api: HubAPI) -> RouteCollection<HubRequestContext> {
        let open = RouteCollection(context: HubRequestContext.self)
        func anyone(_ body: @escaping @Sendable (HubAPI, APIRequest, [String], PageViewer?) throws -> APIResponse) -> PageRoute {
            PageRoute(api: api, expensive: false, page: body)
        }
        for path: RouterPath in ["/", "/ui"] {
            _ = open.on(path, method: .get, responder: anyone { _, _, _, _ in redirect("/ui/fleet") })
        }
        _ = open.on("/ui/static/:file", method: .get, responder: anyone { api, _, parts, _ in
            guard let asset = Assets.files[parts[2]] else { return api.errorPage(404, "no such file", viewer: nil) }
            var response = APIResponse(status: 200, contentType: asset.contentType, body: asset.body)
            response.headers = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "max-age=300")]
            return response
        })
        _ = open.on("/ui/login", method: .get, responder: anyone { api, r, _, _ in api.loginForm(r, problem: nil, status: 200) })
        _ = open.on("/ui/login", method: .post, responder: anyone { api, r, _, _ in api.login(r) })

        let pages = RouteCollection(context: HubRequestContext.self)
        pages.add(middleware: DashboardSession(api: api))
        func viewing(_ method: HTTPRequest.Method, _ path: RouterPath, expensive: Bool = false,
                     _ body: @escaping @Sendable (HubAPI, APIRequest, [String], PageViewer) throws -> APIResponse) {
            _ = pages.on(path, method: method, responder: PageRoute(api: api, expensive: expensive) { api, r, parts, viewer in
                guard let viewer else { throw HubError(.unauthorized, "log in first") }
                return try body(api, r, parts, viewer)
            })
        }
        viewing(.post, "/ui/logout") { api, r, _, viewer in api.logout(r, viewer: viewer) }
        viewing(.get, "/ui/fleet") { api, r, _, viewer in try api.fleetPage(r, viewer: viewer) }
        viewing(.get, "/ui/applications") { api, r, _, viewer in try api.applicationsPage(r, viewer: viewer) }
        viewing(.get, "/ui/applications/:name", expensive: true) { api, r, parts, viewer in try api.applicationPage(parts[2], r, viewer: viewer) }
        viewing(.post, "/ui/applications/:name/:action") { api, r, parts, viewer in
            try api.applicationAction(parts[2], parts[3], form: Self.form(r), viewer: viewer)
        }
        viewing(.get, "/ui/preview") { api, _, _, viewer in
            try api.hub.authorize(viewer.caller, "get", "applicationsets", "*")
            return Self.page(Self.renderer.preview(input: "", sets: [], problem: nil, viewer: viewer.viewer))
        }
        viewing(.post, "/ui/preview", expensive: true) { api, r, _, viewer in try api.previewPage(r, form: Self.form(r), viewer: viewer) }
        viewing(.get, "/ui/events") { api, r, _, viewer in try api.eventsPage(r, viewer: viewer) }
        viewing(.get, "/ui/live") { api, r, _, viewer in api.liveStream(r, viewer: viewer) }
        let all = RouteCollection(context: HubRequestContext.self)
        all.addRoutes(open)
        all.addRoutes(pages)
        return all
    }

    static func form(_ r: APIRequest) -> [String: String] { QueryString.parse(String(decoding: r.body, as: UTF8.self)) }

    /// Who is looking at a page, or the answer instead of the page: the login form for a browser without a
    /// session, 401 for anything else, 403 for a post from another origin or without its CSRF token (audited).
    func session(_ r: APIRequest) -> (PageViewer?, APIResponse?) {
        let viewer: PageViewer?
        do { viewer = try pageViewer(r) } catch let error as HubError { return (nil, errorPage(error.status, error.message, viewer: nil)) } catch {
            return (nil, errorPage(500, "internal error", viewer: nil))
        }
        guard let viewer else { return (nil, Self.loginFirst(r)) }
        if r.method == "POST", let refused = refusePost(r, form: Self.form(r), viewer: viewer) {
            audit(r, caller: viewer.caller, status: refused.status)
            return (viewer, refused)
        }
        return (viewer, nil)
    }

    /// A browser without a session is sent to the login form (and back after it); anything else gets 401.
    static func loginFirst(_ r: APIRequest) -> APIResponse {
        if r.method == "GET" && r.path != "/ui/live" {
            let next = r.path + (r.query.isEmpty ? "" : "?" + r.query.sorted { $0.key < $1.key }.map { "\($0.key)=\(urlEncode($0.value))" }.joined(separator: "&"))
            return redirect("/ui/login?next=\(urlEncode(next))")
        }
        return page(renderer.error(status: 401, message: "log in first: your session has ended or was never started", viewer: nil), status: 401)
    }

    /// A dashboard path no page has.
    func dashboardNotFound(_ r: APIRequest) -> APIResponse {
        if r.segments.isEmpty || r.segments == ["ui"] { return Self.redirect("/ui/fleet") }
        // try? is right here: a bad session is no viewer: the browser is asked to log in.
        guard let viewer = (try? pageViewer(r)) ?? nil else { return Self.loginFirst(r) }
        return errorPage(404, "no page at \(r.path)", viewer: viewer)
    }

    /// Ends a session: the session's own token is revoked here, on every replica — a copied cookie is worth
    /// nothing after logout.
    func logout(_ r: APIRequest, viewer: PageViewer) -> APIResponse {
        if viewer.cookie {
            do { _ = try hub.authStore.revoke(id: viewer.caller.tokenID) } catch {
                hub.logger.error("logout: cannot revoke the session token", metadata: ["account": "\(viewer.caller.account)", "error": "\(error)"])
            }
        }
        return Self.redirect("/ui/login", headers: [("Set-Cookie", Session.clearCookie(secure: secureCookies(r)))])
    }

    /// A post from another origin, or from a cookie session without its CSRF token, is refused.
    func refusePost(_ r: APIRequest, form: [String: String], viewer: PageViewer?) -> APIResponse? {
        if let problem = Self.foreignOrigin(r) { return errorPage(403, problem, viewer: viewer) }
        guard let viewer else { return nil }
        if viewer.cookie && !Session.verify(csrf: form[Session.csrfField], session: viewer.token) {
            return errorPage(403, "the form's CSRF token is missing or wrong: reload the page and try again", viewer: viewer)
        }
        return nil
    }

    /// Why a post's `Origin` is not the hub's own (nil when it is, or when the browser sent none): another
    /// site, `null` (a sandboxed frame, a file), or an Origin with no Host to compare it with.
    static func foreignOrigin(_ r: APIRequest) -> String? {
        guard let origin = r.headers["origin"] else { return nil }
        guard let host = r.headers["host"]?.lowercased() else { return "this form was posted with an Origin (\(origin)) but no Host to check it against: refused" }
        let originHost = URLComponents(string: origin).flatMap { c in c.host.map { $0.lowercased() + (c.port.map { ":\($0)" } ?? "") } }
        return originHost == host ? nil : "this form was posted from another site (\(origin)): refused"
    }

    // MARK: Login

    func loginForm(_ r: APIRequest, problem: String?, status: Int) -> APIResponse {
        let nonce = Session.nonce()
        let next = Self.safeNext(r.query["next"] ?? QueryString.parse(String(decoding: r.body, as: UTF8.self))["next"])
        return Self.page(Self.renderer.login(nonce: nonce, next: next, problem: problem), status: status,
                         headers: [("Set-Cookie", Session.loginNonceCookie(nonce, secure: secureCookies(r)))])
    }

    /// Where to go after logging in: a dashboard path only (never another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui/"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/ui/login") else { return "/ui/fleet" }
        return next
    }

    func login(_ r: APIRequest) -> APIResponse {
        if let refused = refusePost(r, form: [:], viewer: nil) { return refused }
        let form = QueryString.parse(String(decoding: r.body, as: UTF8.self))
        guard Session.verify(loginNonce: form["nonce"], cookie: Session.cookies(r.headers["cookie"])[Session.loginCookie]) else {
            return loginForm(r, problem: "the login form expired or came from elsewhere: try again", status: 403)
        }
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let caller = try hub.authenticate("Bearer " + token, from: r.remoteAddress)
            // The cookie holds a session token of its own (derived from the one typed, never the one typed):
            // it expires with the session or sooner with its parent, and logout revokes it.
            var seconds = Double(Session.maxAge)
            if let parentExpiry = try hub.authStore.token(id: caller.tokenID)?.expiresAt, let at = Timestamp.seconds(parentExpiry) {
                seconds = min(seconds, at - Date().timeIntervalSince1970)
            }
            guard seconds >= 1 else { return loginForm(r, problem: "that token expires now: log in with another one", status: 401) }
            let session = try hub.createToken(account: caller.account, seconds: seconds.rounded(.down), description: "dashboard session", by: caller)
            hub.events.record(.audit, "\(caller.account) logged in to the dashboard with token \(caller.tokenID) (session token \(session.id))")
            return Self.redirect(Self.safeNext(form["next"]), headers: [("Set-Cookie", Session.setCookie(session.token, secure: secureCookies(r)))])
        } catch let error as HubError where error.status == 429 {
            return loginForm(r, problem: error.message, status: 429)
        } catch {
            return loginForm(r, problem: "that token is not valid (unknown, revoked or expired)", status: 401)
        }
    }

    // MARK: Pages

    /// Which Applications the viewer may see: nil (all) with `get` on `*/*`, else per project and name.
    func visibility(_ caller: Caller) -> Visibility {
        if hub.can(caller, "get", "applications", "*/*") { return nil }
        let roles = hub.policy.roles(of: caller.account, extra: [caller.role])
        let policy = hub.policy
        return { policy.allows(roles: roles, "get", "applications", "\($0.project)/\($0.name)") }
    }

    /// The typed selector; nil and the problem when it does not parse (the page then lists nothing, rather than
    /// everything under an error).
    static func selector(_ text: String?) -> (LabelSelector?, String?) {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return (.everything, nil) }
        do { return (try LabelSelector(parsing: text), nil) } catch { return (nil, "label selector '\(text)': \(error)") }
    }

    func fleetPage(_ r: APIRequest, viewer: PageViewer) throws -> APIResponse {
        try hub.authorize(viewer.caller, "get", "clusters", "*")
        let (selector, problem) = Self.selector(r.query["selector"])
        let group = (r.query["group"] ?? "").trimmingCharacters(in: .whitespaces)
        let cards = try selector.map { s in try clusterCards().filter { s.matches($0.labels) } } ?? []
        let visible = visibility(viewer.caller)
        let live = hub.context.board
        let html = try live.read(hub.store) { board, version in
            let (counts, moved) = live.aggregate("clusters", board: board, version: version, shared: visible == nil) {
                ($0.countsByCluster(visible: visible), $0.moved(visible: visible))
            }
            return Self.renderer.fleet(cards: cards, counts: counts, moved: moved, groupBy: group.isEmpty ? "env" : group,
                                       selector: r.query["selector"] ?? "", problem: problem, viewer: viewer.viewer)
        }
        return Self.page(html, status: problem == nil ? 200 : 400)
    }

    func clusterCards() throws -> [ClusterCard] {
        let failover = hub.config.failover
        let now = hub.context.seconds
        return try hub.clusterStore.clusters().map { c in
            let state = hub.clusterState(c.name)
            let down = hub.unreachableClusters()[c.name] != nil
            // Healthy again: its moved Applications come back after the hold-down (when failback is automatic).
            let failbackIn = failover.failback == .auto && state.health.state == .healthy
                ? max(0, Int((failover.holdDown - (now - state.health.since)).rounded(.up))) : nil
            return ClusterCard(name: c.name, labels: c.labels, secondary: c.secondary,
                               state: down ? ClusterState.unreachable.rawValue : state.health.state.rawValue, cordoned: state.cordoned,
                               failbackIn: failbackIn)
        }
    }

    func applicationsPage(_ r: APIRequest, viewer: PageViewer) throws -> APIResponse {
        var q = ApplicationsQuery()
        var problems: [String] = []
        if let rows = r.query["rows"], !rows.isEmpty {
            if let parsed = GridRows(query: rows) { q.rows = parsed } else { problems.append("rows: '\(rows)' is neither appset nor label:KEY") }
        }
        func value(_ key: String) -> String? {
            guard let v = r.query[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let (selector, selectorProblem) = Self.selector(r.query["selector"])
        if let selectorProblem { problems.append(selectorProblem) }
        q.filter = BoardFilter(search: value("q") ?? "", appSet: value("appSet"), cluster: value("cluster"), sync: value("sync"),
                               health: value("health"), selector: selector ?? .everything)
        q.selectorText = r.query["selector"] ?? ""
        q.after = value("after")
        if let limit = value("limit") {
            if let n = Int(limit), (1...500).contains(n) { q.limit = n } else { problems.append("limit must be between 1 and 500, not '\(limit)'") }
        }
        let visible = visibility(viewer.caller)
        let problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
        let live = hub.context.board
        let html = try live.read(hub.store) { full, version in
            let board = problem == nil ? full : Board()
            let grid = live.aggregate("grid \(q.rows.query)", board: board, version: version, shared: visible == nil && problem == nil) {
                $0.grid(rows: q.rows, visible: visible)
            }
            return Self.renderer.applications(board: board, grid: grid, request: q, problem: problem, viewer: viewer.viewer, visible: visible)
        }
        return Self.page(html, status: problem == nil ? 200 : 400)
    }

    func applicationPage(_ name: String, _ r: APIRequest, viewer: PageViewer) throws -> APIResponse {
        let object = hub.rbacObject(application: name)
        try hub.authorize(viewer.caller, "get", "applications", object)
        let app = try stored(name)
        var summary = ApplicationSummary(app)
        if let at = hub.lastReconciled(name) { summary.reconciledAt = .string(at) }
        let detail = ApplicationDetail(summary: summary, object: app.object, status: app.status, history: try hub.store.history(name))
        let (diff, diffProblem) = liveDiff(app)
        let input = ApplicationPageInput(detail: detail, diff: diff, diffProblem: diffProblem,
                                         canSync: hub.can(viewer.caller, "sync", "applications", object),
                                         canRollback: hub.can(viewer.caller, "rollback", "applications", object))
        let flash = r.query["done"].flatMap(Self.flash)
        return Self.page(Self.renderer.application(input, viewer: viewer.viewer, flash: flash))
    }

    /// The live diff of an Application, or why there is none. Not asked of a cluster that is not Healthy: it
    /// would hold the page for the client's whole timeout.
    func liveDiff(_ app: StoredApplication) -> (DiffInfo?, String?) {
        let target = app.cluster ?? ""
        let state = hub.unreachableClusters()[target] != nil ? ClusterState.unreachable : hub.clusterState(target).health.state
        if !target.isEmpty && state != .healthy { return (nil, "no live diff: cluster \(target) is \(state.rawValue)") }
        do {
            let result = try hub.diff(app.name)
            return (DiffInfo(name: app.name, sync: result.syncStatus.rawValue, message: result.message, resources: result.resources.map(Self.resourceDiff)), nil)
        } catch let error as HubError {
            return (nil, "no live diff: \(error.message)")
        } catch {
            return (nil, "no live diff: \(error)")
        }
    }

    static func flash(_ done: String) -> Flash? {
        switch done {
        case "sync": Flash("Sync queued: the status below follows it.")
        case "refresh": Flash("Refresh queued: git and the cluster are read again.")
        case "rollback": Flash("Rolled back: the Application is pinned to that revision until unpinned.")
        case "unpin": Flash("Unpinned: the Application follows its source's revision again.")
        default: nil
        }
    }

    func applicationAction(_ name: String, _ action: String, form: [String: String], viewer: PageViewer) throws -> APIResponse {
        let object = hub.rbacObject(application: name)
        let caller = viewer.caller
        switch action {
        case "sync":
            try hub.authorize(caller, "sync", "applications", object)
            try hub.sync(name, prune: true, by: caller.account)
        case "refresh":
            try hub.authorize(caller, "sync", "applications", object)
            try hub.refresh(name)
        case "rollback":
            try hub.authorize(caller, "rollback", "applications", object)
            guard let text = form["id"], let id = Int(text) else { throw HubError(.badRequest, "rollback needs the id of a history entry") }
            _ = try hub.rollback(name, to: id)
        case "unpin":
            try hub.authorize(caller, "rollback", "applications", object)
            try hub.unpin(name)
        default:
            throw HubError(.notFound, "no action '\(action)' on Applications")
        }
        return Self.redirect(applicationPath(name) + "?done=\(action)")
    }

    func previewPage(_ r: APIRequest, form: [String: String], viewer: PageViewer) throws -> APIResponse {
        try hub.authorize(viewer.caller, "get", "applicationsets", "*")
        let input = form["appset"] ?? ""
        var request = r
        request.body = Array(input.utf8)
        request.headers["content-type"] = "application/yaml"
        var problem: String?
        var sets: [PreviewedApplicationSet] = []
        if input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problem = "paste an ApplicationSet first"
        } else {
            let answer = previewAnswer(request)
            // try? is right here: the API answered; an answer that does not parse shows as the failure below.
            if answer.status == 200, let json = try? JSONParser.parse(answer.body) {
                // try? is right here: as above.
                sets = (try? APIJSON.decode(Items<PreviewedApplicationSet>.self, from: json).items) ?? []
            } else {
                // try? is right here: the error text when the answer has one, a generic one otherwise.
                problem = (try? JSONParser.parse(answer.body))?["error"]?.stringValue ?? "the preview failed (\(answer.status))"
            }
        }
        return Self.page(Self.renderer.preview(input: input, sets: sets, problem: problem, viewer: viewer.viewer), status: problem == nil ? 200 : 422)
    }

    /// The API's preview of a body, with its errors as answers.
    func previewAnswer(_ request: APIRequest) -> APIResponse {
        do { return try preview(request) } catch let error as HubError { return .error(error.status, error.message) } catch {
            return .error(422, "\(error)")
        }
    }

    func eventsPage(_ r: APIRequest, viewer: PageViewer) throws -> APIResponse {
        try hub.authorize(viewer.caller, "get", "events", "*")
        func value(_ key: String) -> String? {
            guard let v = r.query[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let type = value("type")
        let events = try hub.store.events(cluster: value("cluster"), application: value("application"), after: 0, limit: type == nil ? 300 : 2000)
        let shown = Array(events.filter { type == nil || $0.type == type || $0.kind == .clusterStateChanged || $0.kind == .failedOver || $0.kind == .failedBack }.suffix(1000))
        return Self.page(Self.renderer.events(shown, type: type, cluster: value("cluster") ?? "", application: value("application") ?? "", viewer: viewer.viewer))
    }
}

/// Resolves a page's viewer before the page: no session, a foreign post or a missing CSRF token is answered
/// here; every post is audited with its outcome, refused ones too.
struct DashboardSession: RouterMiddleware {
    typealias Context = HubRequestContext
    let api: HubAPI

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        let r = context.request
        let (viewer, answer): (HubAPI.PageViewer?, APIResponse?)
        do { (viewer, answer) = try await context.runner.run { [api] in api.session(r) } } catch {
            return HubAPI.response(api.errorPage(503, "the hub is stopping", viewer: nil))
        }
        if let answer { return HubAPI.response(answer) }
        var context = context
        context.viewer = viewer
        let response = try await next(request, context)
        if r.method == "POST", let caller = viewer?.caller {
            await api.record(r, caller: caller, status: Int(response.status.code), on: context.runner)
        }
        return response
    }
}

/// A dashboard page: on the runner (behind the admission gate when it is expensive), its errors as error pages.
struct PageRoute: HTTPResponder {
    typealias Context = HubRequestContext
    let api: HubAPI
    let expensive: Bool
    let page: @Sendable (HubAPI, APIRequest, [String], HubAPI.PageViewer?) throws -> APIResponse

    func respond(to request: Request, context: HubRequestContext) async throws -> Response {
        let viewer = context.viewer
        let work: @Sendable (APIRequest) -> APIResponse = { [api, page] r in
            do { return try page(api, r, r.segments.map(String.init), viewer) } catch let error as HubError {
                return api.errorPage(error.status, error.message, viewer: viewer)
            } catch {
                api.hub.logger.error("\(r.method) \(r.path): \(error)")
                return api.errorPage(500, "internal error: the hub's log has the details", viewer: viewer)
            }
        }
        let r = context.request
        if expensive { return HubAPI.response(await context.runner.admit(r, work)) }
        do { return HubAPI.response(try await context.runner.run { work(r) }) } catch {
            return HubAPI.response(api.errorPage(503, "the hub is stopping", viewer: viewer))
        }
    }
}
